"""Customers an earlier import left without a lookup hash (it gave a known customer a phone or
email and wrote only the value) get it back when the bot starts, so they are found by it again;
a value another customer already holds is reported, not forced. SQLite and PostgreSQL, with and
without a field encryption key."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from bot.matching import normalize_company, normalize_person
from storage import crypto, queries
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Customer
from storage.rotation import ensure_key_matches
from tests.conftest import running_bot
from tests.fake_slack import FakeSlack
from tests.test_encryption_e2e import KEY_A

PHONE = "+8613800138000"
EMAIL = "wang.lei@mingde.cn"


def _customer(db: Database, name: str, *, phone: str | None, email: str | None) -> int:
    with db.transaction() as session:
        customer = Customer(
            name=name,
            company="Mingde Trading",
            phone_e164=phone,
            email=email,
            owner_id="U0REP0001",
            status="prospect",
            created_by="U0REP0001",
            name_key=normalize_person(name),
            company_key=normalize_company("Mingde Trading"),
        )
        session.add(customer)
        session.flush()
        return customer.id


def _forget_hashes(db: Database, customer_id: int) -> None:
    """What the import did before the fix: the value stored, its hash not."""
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE customers SET phone_hash = NULL, email_hash = NULL WHERE id = :id"),
            {"id": customer_id},
        )


def _found_by_phone(db: Database) -> int | None:
    with db.reader() as session:
        found = queries.find_customer_by_contact(session, phone_e164=PHONE, email=None)
        return found.id if found else None


@pytest.mark.parametrize("key", [None, KEY_A], ids=["clear", "encrypted"])
def test_a_contact_left_without_its_hash_is_found_again_after_a_restart(
    slack: FakeSlack, database_url: str, key: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(database_url)
    try:
        if key is not None:
            cipher = FieldCipher.from_keys(key)
            crypto.configure(cipher)
            ensure_key_matches(db, cipher)  # an empty database takes the key
        wang = _customer(db, "Wang Lei", phone=PHONE, email=None)
        li = _customer(db, "Li Na", phone=None, email="li.na@mingde.cn")
        _forget_hashes(db, wang)
        # A second customer with Li's email and no hash: the unique index forbids a second
        # holder, so that one is reported for a merge instead.
        twin = _customer(db, "Li Na (2)", phone="+8613900139000", email=None)
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE customers SET email = (SELECT email FROM customers WHERE id = :li) "
                    "WHERE id = :twin"
                ),
                {"li": li, "twin": twin},
            )
        assert _found_by_phone(db) is None  # the bug: the phone finds no one

        overrides = {"field_encryption_key": key} if key else {}
        with caplog.at_level(logging.WARNING), running_bot(slack, database_url, **overrides):
            pass

        assert _found_by_phone(db) == wang
        with db.engine.connect() as connection:
            twin_hash = connection.execute(
                text("SELECT email_hash FROM customers WHERE id = :id"), {"id": twin}
            ).scalar()
        assert twin_hash is None
        assert f"customers {li} and {twin} have the same email" in caplog.text
        with db.reader() as session:
            found = queries.find_customer_by_contact(
                session, phone_e164=None, email="li.na@mingde.cn"
            )
        assert found is not None
        assert found.id == li
    finally:
        db.dispose()
