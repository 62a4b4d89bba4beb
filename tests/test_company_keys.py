"""The look-alike check's in-memory company keys (bot/company_keys.py): the pre-filter finds
exactly what comparing with every key finds, and the cache never hides a company saved since,
by this bot or another instance sharing the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from bot import company_keys as company_keys_module
from bot.company_keys import CompanyKeys, company_keys
from bot.followups import find_similar_customer
from bot.matching import (
    SAME_COMPANY_THRESHOLD,
    close_company_keys,
    normalize_company,
    normalize_person,
)
from storage.db import Database
from storage.models import Customer, utcnow


def every_key_compared(keys: list[str], key: str) -> list[str]:
    """What the check found before the pre-filter: partial_ratio over every key."""
    survivors = {
        candidate
        for candidate, _, _ in process.extract(
            key, keys, scorer=fuzz.partial_ratio, score_cutoff=SAME_COMPANY_THRESHOLD, limit=None
        )
        if candidate and candidate != key
    }
    return close_company_keys(survivors, key)


# Few letters, so random keys often share most of them and sit near the threshold.
LETTERS = st.sampled_from([*"abcde华信科技宏达", "xy", "上海"])
KEYS = st.lists(LETTERS, min_size=0, max_size=14).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(KEYS, min_size=1, max_size=40, unique=True), KEYS)
def test_the_prefilter_finds_what_comparing_every_key_finds(keys: list[str], key: str) -> None:
    assert CompanyKeys(keys).similar(key, limit=len(keys)) == every_key_compared(keys, key)


def test_the_prefilter_on_company_names_as_reps_type_them() -> None:
    names = [
        "上海华信科技有限公司",
        "华信科技",
        "深圳华信电子有限公司",
        "Northwind Trading Ltd",
        "Northwind Traders",
        "Northwind",
        "Bluepeak Consulting GmbH",
        "Blue Peak Consulting",
        "宏达贸易",
        "北京宏达贸易有限公司",
        "Acme",
        "Acme Consulting 12",
    ]
    keys = [normalize_company(name) for name in names]
    index = CompanyKeys(keys)
    for key in keys:
        assert index.similar(key, limit=len(keys)) == every_key_compared(keys, key)
    assert "华信科技" in index.similar(normalize_company("上海华信科技"))


def test_extending_keeps_every_key_in_order() -> None:
    index = CompanyKeys(["northwind", "acme"]).extended(["northwindtrading"])
    assert index.keys == ("northwind", "acme", "northwindtrading")
    assert index.similar("northwind") == ["northwindtrading"]


def _add_customer(db: Database, n: int, company: str) -> int:
    with db.transaction() as session:
        customer = Customer(
            name=f"Rep Customer {n}",
            company=company,
            email=f"c{n}@example.com",
            owner_id="U0OWNER",
            status="prospect",
            created_by="U0OWNER",
            name_key=normalize_person(f"Rep Customer {n}"),
            company_key=normalize_company(company),
        )
        session.add(customer)
        session.flush()
        return customer.id


def _similar_in(db: Database, name: str, company: str) -> int | None:
    with db.reader() as session:
        found = find_similar_customer(session, name, company)
        return found.id if found else None


@pytest.fixture
def two_instances(database_url: str) -> Iterator[tuple[Database, Database]]:
    """Two bots sharing one database, as with several instances on PostgreSQL."""
    first, second = Database(database_url), Database(database_url)
    yield first, second
    first.dispose()
    second.dispose()


def test_a_company_saved_by_another_instance_is_found_at_once(
    two_instances: tuple[Database, Database],
) -> None:
    first, second = two_instances
    _add_customer(first, 1, "Acme Consulting")
    assert _similar_in(second, "Rep Customer 2", "Northwind Trading Ltd") is None  # cache filled

    saved = _add_customer(first, 2, "Northwind Trading Ltd")

    # A misspelling: found through the fuzzy comparison, which reads the cached keys.
    assert _similar_in(second, "Rep Customer 2", "Northwind Tradng") == saved


def test_a_company_renamed_by_another_instance_is_found_at_once(
    two_instances: tuple[Database, Database],
) -> None:
    first, second = two_instances
    renamed = _add_customer(first, 1, "Acme Consulting")
    assert _similar_in(second, "Rep Customer 1", "Bluepeak Consultng") is None

    with first.transaction() as session:
        customer = session.get(Customer, renamed)
        assert customer is not None
        customer.company = "Bluepeak Consulting"
        customer.company_key = normalize_company("Bluepeak Consulting")

    assert _similar_in(second, "Rep Customer 1", "Bluepeak Consultng") == renamed


def test_a_company_stamped_long_before_it_was_committed_is_found_after_the_reload(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An import stamps every row with the time it started: older than the top-up looks back.
    _add_customer(db, 1, "Acme Consulting")
    assert _similar_in(db, "Rep Customer 2", "Northwind Tradng") is None
    imported = _add_customer(db, 2, "Northwind Trading Ltd")
    with db.transaction() as session:
        customer = session.get(Customer, imported)
        assert customer is not None
        customer.updated_at = utcnow() - timedelta(hours=1)
    assert _similar_in(db, "Rep Customer 2", "Northwind Tradng") is None  # not seen yet

    monkeypatch.setattr(company_keys_module, "RELOAD_SECONDS", 0.0)

    assert _similar_in(db, "Rep Customer 2", "Northwind Tradng") == imported


def test_each_database_has_its_own_keys(tmp_path_factory: pytest.TempPathFactory) -> None:
    from storage.migrate import upgrade

    urls = []
    for name in ("one", "two"):
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'followup.db'}"
        upgrade(url)
        urls.append(url)
    one, two = Database(urls[0]), Database(urls[1])
    try:
        _add_customer(one, 1, "Northwind Trading")
        _add_customer(two, 1, "Acme Consulting")
        with one.reader() as session:
            assert company_keys(session).keys == (normalize_company("Northwind Trading"),)
        with two.reader() as session:
            assert company_keys(session).keys == (normalize_company("Acme Consulting"),)
    finally:
        one.dispose()
        two.dispose()
