"""Field encryption at rest: with FIELD_ENCRYPTION_KEY, phone, email, what reps wrote and the
change log hold ciphertext; lookups and duplicate checks work on keyed hashes; a process with the
wrong key refuses to start; `followup-bot rotate-key` turns encryption on, moves it to a new key
and turns it off, resumably. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from bot.cli import main
from bot.erasure import erase_customer
from bot.merge import merge_customers, undo_merge
from bot.settings import Settings, describe_error
from storage import crypto, queries, rotation
from storage.crypto import FieldCipher, FieldCryptoError, FieldKey, lookup_hash
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import Customer, FollowUp
from storage.rotation import KeyMismatchError, ensure_key_matches, rotate_key
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, Bot, running_bot
from tests.fake_slack import FakeSlack
from tests.test_cli import run
from tests.test_followup_e2e import good_values
from tests.test_home_lookup_e2e import find
from tests.test_reminders_e2e import log_followup

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
ID_A = FieldKey.from_text(KEY_A).key_id
ID_B = FieldKey.from_text(KEY_B).key_id

PHONE = "+8613800138000"
EMAIL = "wang.lei@mingde.cn"
NEW_EMAIL = "lei.wang@mingde.cn"
NOTES = "WeChat wx_wanglei; prefers calls after 2pm"
# What the rep typed (tests.test_followup_e2e.good_values) and must not be readable at rest.
SECRETS = (
    PHONE,
    "8613800138000",
    EMAIL,
    NEW_EMAIL,
    "wx_wanglei",
    "Quoted 200 seats",
    "CFO sign-off",
    "revised quote",
)


@pytest.fixture
def keyed_bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    with running_bot(slack, database_url, field_encryption_key=KEY_A) as running:
        yield running


# --- helpers ---------------------------------------------------------------------------------


def raw_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The personal columns exactly as stored: raw SQL, no ORM types, no decryption."""
    queries = {
        "customers": "SELECT phone_e164, email, phone_hash, email_hash FROM customers",
        "followups": "SELECT summary, feedback, next_action, notes FROM followups",
        "change_log": "SELECT CAST(before AS TEXT), CAST(after AS TEXT) FROM change_log",
    }
    with db.engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(sql))]
            for table, sql in queries.items()
        }


def stored_text(db: Database) -> str:
    return repr(raw_rows(db))


def assert_nothing_in_clear(db: Database) -> None:
    stored = stored_text(db)
    for secret in SECRETS:
        assert secret not in stored, secret


def assert_all_under(db: Database, key_id: str) -> None:
    """Every non-empty encrypted value is ciphertext under `key_id`."""
    rows = raw_rows(db)
    values = [v for row in rows["customers"] for v in row[:2] if v]
    values += [v for row in rows["followups"] for v in row if v]
    values += [v.strip('"') for row in rows["change_log"] for v in row if v and v != "null"]
    assert values
    assert all(crypto.key_id_of(value) == key_id for value in values), values


def state_key(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT key_id FROM crypto_state")).scalar()


def log_two_saves(bot: Bot) -> None:
    """A new customer, then the same phone again with a new email: an update in the log."""
    log_followup(bot, notes=NOTES)
    log_followup(bot, email=NEW_EMAIL, summary="Demoed the SSO setup to their IT lead.")


def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, *args: str) -> int:
    """`followup-bot …` in this process, with the keys set in the environment beforehand."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return main(list(args))


def set_keys(monkeypatch: pytest.MonkeyPatch, current: str | None, old: str | None = None) -> None:
    for name, value in (("FIELD_ENCRYPTION_KEY", current), ("FIELD_ENCRYPTION_OLD_KEYS", old)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def start(slack: FakeSlack, database_url: str, **settings: Any) -> None:
    """Start the app (and stop it): what `serve` does before it listens."""
    with running_bot(slack, database_url, **settings):
        pass


def card_shows_contacts(slack: FakeSlack, database_url: str, **settings: Any) -> None:
    """A bot with these settings finds the customer by phone and by email and shows both."""
    with running_bot(slack, database_url, **settings) as bot:
        by_phone = str(find(bot, "138-0013-8000")["blocks"])
        assert PHONE in by_phone
        assert "Quoted 200 seats" in by_phone
        assert "Wang Lei" in str(find(bot, NEW_EMAIL)["blocks"])


# --- with a key ------------------------------------------------------------------------------


def test_with_a_key_nothing_personal_is_stored_in_clear(keyed_bot: Bot) -> None:
    log_two_saves(keyed_bot)

    assert_nothing_in_clear(keyed_bot.db)
    assert_all_under(keyed_bot.db, ID_A)
    rows = raw_rows(keyed_bot.db)
    (customer,) = rows["customers"]
    assert customer[2] == hmac_of(KEY_A, PHONE)
    assert customer[3] == hmac_of(KEY_A, NEW_EMAIL)
    assert len(rows["change_log"]) >= 2  # the creation and the email change, both encrypted
    # The app itself reads everything back.
    with keyed_bot.db.reader() as session:
        stored = session.scalars(select(Customer)).one()
        assert (stored.phone_e164, stored.email) == (PHONE, NEW_EMAIL)
        notes = session.scalars(select(FollowUp.notes).order_by(FollowUp.id)).all()
        assert notes[0] == NOTES
    assert state_key(keyed_bot.db) == ID_A


def hmac_of(key: str, value: str) -> str:
    return FieldCipher.from_keys(key).lookup_hash(value)


def test_with_a_key_lookup_and_duplicates_still_work(keyed_bot: Bot) -> None:
    log_two_saves(keyed_bot)
    # Same email, no phone: still the same customer (found by the email's hash).
    log_followup(keyed_bot, phone=None, email=NEW_EMAIL, customer_name="Wang Lei")

    with keyed_bot.db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 3
    by_phone = str(find(keyed_bot, "138-0013-8000")["blocks"])
    assert "Wang Lei" in by_phone
    assert PHONE in by_phone
    assert "Demoed the SSO setup" in by_phone
    assert "Wang Lei" in str(find(keyed_bot, NEW_EMAIL)["blocks"])


def test_with_a_key_concurrent_saves_of_one_new_customer_make_one_customer(keyed_bot: Bot) -> None:
    views = [keyed_bot.open_modal() for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda view: keyed_bot.submit(view, good_values()), views))

    assert all(r.body in (b"", b"{}") for r in responses), [r.text for r in responses]
    with keyed_bot.db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 4


def test_with_a_key_the_unique_index_still_holds_on_the_hash(keyed_bot: Bot) -> None:
    log_followup(keyed_bot)
    # Written straight to the table, past every check the app makes: the index refuses it,
    # though the two ciphertexts differ.
    twin = {"name": "Someone", "company": "Else", "owner_id": "U0X", "status": "prospect"}
    with pytest.raises(IntegrityError), keyed_bot.db.transaction() as session:
        session.add(Customer(**twin, phone_e164=PHONE, created_by="U0X"))
    with pytest.raises(IntegrityError), keyed_bot.db.transaction() as session:
        session.add(Customer(**twin, email=EMAIL, created_by="U0X"))


def test_a_value_is_bound_to_its_column(keyed_bot: Bot) -> None:
    cipher = FieldCipher.from_keys(KEY_A)
    sealed = cipher.encrypt("Quoted 200 seats", "followups.summary")
    assert cipher.decrypt(sealed, "followups.summary") == "Quoted 200 seats"
    with pytest.raises(FieldCryptoError, match="integrity"):
        cipher.decrypt(sealed, "followups.notes")
    with pytest.raises(FieldCryptoError, match="not configured"):
        FieldCipher.from_keys(KEY_B).decrypt(sealed, "followups.summary")

    # In the database: a summary copied into the notes column no longer reads.
    followup = log_followup(keyed_bot)
    with keyed_bot.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE followups SET notes = summary WHERE id = :id"), {"id": followup.id}
        )
    with pytest.raises(FieldCryptoError), keyed_bot.db.reader() as session:
        session.scalars(select(FollowUp.notes)).all()


def test_encrypted_columns_cannot_be_compared_in_sql() -> None:
    with pytest.raises(TypeError, match="lookup hash"):
        select(Customer).where(Customer.phone_e164 == PHONE)
    with pytest.raises(TypeError, match="lookup hash"):
        select(Customer).where(Customer.email.in_([EMAIL]))
    select(Customer).where(Customer.email.is_(None), Customer.phone_e164 == None)  # noqa: E711


def test_with_a_key_merge_undo_and_erase_work(slack: FakeSlack, database_url: str) -> None:
    admin = "U0ADMIN01"
    slack.set_user(admin, tz="Asia/Shanghai")
    with running_bot(slack, database_url, field_encryption_key=KEY_A, admin_user_ids=admin) as bot:
        kept = log_followup(bot, email=None).customer_id
        away = log_followup(
            bot, customer_name="John Smith", company="Acme", phone="+86 139 0013 9000", email=EMAIL
        ).customer_id
        settings, now = bot.services.settings, bot.clock.now

        merged = merge_customers(
            bot.db, settings, actor_id=admin, keep_id=kept, merge_id=away, now=now
        )
        with bot.db.reader() as session:
            assert queries.find_customer_by_contact(session, phone_e164=None, email=EMAIL)
            assert session.get(Customer, kept).email == EMAIL  # type: ignore[union-attr]
        undo_merge(bot.db, settings, actor_id=admin, log_id=merged.log_id, now=now)
        with bot.db.reader() as session:
            back = queries.find_customer_by_contact(session, phone_e164=None, email=EMAIL)
            assert back is not None
            assert (back.id, back.name) == (away, "John Smith")
        assert_nothing_in_clear(bot.db)
        assert_all_under(bot.db, ID_A)

        erase_customer(bot.db, settings, customer_id=kept, actor_id=admin, now=now)
        with bot.db.reader() as session:
            erased = session.get(Customer, kept)
            assert erased is not None
            assert (erased.phone_e164, erased.phone_hash, erased.name) == (None, None, "")
        # The number is free again: a new customer may have it.
        log_followup(bot, customer_name="New Person", email=None)
        with bot.db.reader() as session:
            holder = queries.find_customer_by_contact(session, phone_e164=PHONE, email=None)
            assert holder is not None
            assert holder.name == "New Person"


# --- the start-up check ----------------------------------------------------------------------


def test_the_wrong_key_or_no_key_is_refused_at_start(slack: FakeSlack, database_url: str) -> None:
    with running_bot(slack, database_url, field_encryption_key=KEY_A) as bot:
        log_followup(bot)

    with pytest.raises(KeyMismatchError, match=f"not set.*{ID_A}|{ID_A}.*not set"):
        start(slack, database_url)
    with pytest.raises(KeyMismatchError, match="not the key the database is encrypted with"):
        start(slack, database_url, field_encryption_key=KEY_B)
    # The old key named as such: the check says to rotate.
    with pytest.raises(KeyMismatchError, match="rotate-key"):
        start(slack, database_url, field_encryption_key=KEY_B, field_encryption_old_keys=KEY_A)


def test_serve_with_the_wrong_key_exits_2_with_one_line(
    tmp_path: Path, slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url, field_encryption_key=KEY_A) as bot:
        log_followup(bot)

    result = run(
        tmp_path,
        "serve",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=database_url,
        FIELD_ENCRYPTION_KEY=KEY_B,
        LOG_LEVEL="WARNING",  # no start-up chatter: the refusal alone
    )

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ID_A in lines[0]
    assert ID_B in lines[0]
    assert "rotate-key" in lines[0]
    assert KEY_B not in result.stderr


def test_a_key_set_over_clear_data_asks_for_rotate_key(slack: FakeSlack, database_url: str) -> None:
    with running_bot(slack, database_url) as bot:
        log_followup(bot)
    with pytest.raises(KeyMismatchError, match=r"not encrypted yet.*rotate-key"):
        start(slack, database_url, field_encryption_key=KEY_A)


def test_an_empty_database_takes_the_configured_key(database_url: str) -> None:
    db = Database(database_url)
    try:
        ensure_key_matches(db, FieldCipher.from_keys(KEY_A))
        assert state_key(db) == ID_A
        ensure_key_matches(db, FieldCipher())
        assert state_key(db) is None
    finally:
        db.dispose()


# --- rotate-key ------------------------------------------------------------------------------


def test_rotate_key_turns_encryption_on_moves_it_and_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    slack: FakeSlack,
    database_url: str,
) -> None:
    with running_bot(slack, database_url) as bot:
        log_two_saves(bot)
        db = bot.db
        assert PHONE in stored_text(db)  # no key: clear text, as the README says
        (customer,) = raw_rows(db)["customers"]
        assert customer[2] == hashlib.sha256(PHONE.encode()).hexdigest()

    # On: clear → key A.
    set_keys(monkeypatch, KEY_A)
    assert cli(monkeypatch, tmp_path, database_url, "rotate-key") == 0
    report = capsys.readouterr().out
    assert "customers: 1 rows checked, 1 rewritten" in report
    assert f"under key id {ID_A}" in report
    check = Database(database_url)
    try:
        assert_nothing_in_clear(check)
        assert_all_under(check, ID_A)
        assert state_key(check) == ID_A
        card_shows_contacts(slack, database_url, field_encryption_key=KEY_A)

        # Run again: nothing left to do.
        assert cli(monkeypatch, tmp_path, database_url, "rotate-key") == 0
        assert "customers: 1 rows checked, 0 rewritten" in capsys.readouterr().out

        # A → B, with A as the old key.
        set_keys(monkeypatch, KEY_B, old=KEY_A)
        assert cli(monkeypatch, tmp_path, database_url, "rotate-key") == 0
        assert_nothing_in_clear(check)
        assert_all_under(check, ID_B)
        card_shows_contacts(
            slack, database_url, field_encryption_key=KEY_B, field_encryption_old_keys=KEY_A
        )
        with pytest.raises(KeyMismatchError):
            start(slack, database_url, field_encryption_key=KEY_A)

        # Off: no key, B as the old key → clear text again.
        set_keys(monkeypatch, None, old=KEY_B)
        assert cli(monkeypatch, tmp_path, database_url, "rotate-key") == 0
        assert "now under clear text" in capsys.readouterr().out
        assert PHONE in stored_text(check)
        assert "enc1:" not in stored_text(check)
        assert state_key(check) is None
        (customer,) = raw_rows(check)["customers"]
        assert customer[2] == hashlib.sha256(PHONE.encode()).hexdigest()
        card_shows_contacts(slack, database_url)
    finally:
        check.dispose()


def test_rotate_key_refuses_when_the_databases_key_is_not_given(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    slack: FakeSlack,
    database_url: str,
) -> None:
    with running_bot(slack, database_url, field_encryption_key=KEY_A) as bot:
        log_followup(bot)
    capsys.readouterr()

    set_keys(monkeypatch, KEY_B)  # A forgotten: nothing could be decrypted
    assert cli(monkeypatch, tmp_path, database_url, "rotate-key") == 2
    error = capsys.readouterr().err
    assert ID_A in error
    assert "FIELD_ENCRYPTION_OLD_KEYS" in error
    db = Database(database_url)
    assert state_key(db) == ID_A
    db.dispose()


def test_an_interrupted_rotation_blocks_start_until_it_is_run_again(
    monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url, field_encryption_key=KEY_A) as bot:
        log_two_saves(bot)
    to_b = FieldCipher.from_keys(KEY_B, [KEY_A])
    real = rotation._rotate_table

    def crash_on_followups(db: Database, table: Any, *args: Any) -> rotation.TableCount:
        if table.name == "followups":
            raise RuntimeError("power cut")
        return real(db, table, *args)

    db = Database(database_url)
    try:
        monkeypatch.setattr(rotation, "_rotate_table", crash_on_followups)
        with pytest.raises(RuntimeError, match="power cut"):
            rotate_key(db, to_b, batch_size=1)
        monkeypatch.setattr(rotation, "_rotate_table", real)
        # Half moved: customers under B, follow-ups still under A. Nobody may start on that.
        assert {crypto.key_id_of(v) for v in raw_rows(db)["customers"][0][:2]} == {ID_B}
        for keys in ({}, {"field_encryption_old_keys": KEY_A}):
            with pytest.raises(KeyMismatchError, match="not finished"):
                start(slack, database_url, field_encryption_key=KEY_B, **keys)

        report = rotate_key(db, to_b, batch_size=1)

        assert {count.table: count.rewritten for count in report.tables}["customers"] == 0
        assert_all_under(db, ID_B)
        assert state_key(db) == ID_B
    finally:
        db.dispose()
    card_shows_contacts(slack, database_url, field_encryption_key=KEY_B)


# --- settings, keys and the migration --------------------------------------------------------


def settings_error(**values: Any) -> str:
    """The one line a person setting up the bot reads for these settings."""
    base: dict[str, Any] = {"slack_bot_token": BOT_TOKEN, "slack_signing_secret": SIGNING_SECRET}
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **base, **values)  # type: ignore[call-arg]
    return describe_error(caught.value)


def test_a_malformed_key_is_one_line_that_says_how_to_make_one() -> None:
    line = settings_error(field_encryption_key="not-a-key")
    assert line.startswith("FIELD_ENCRYPTION_KEY is invalid: must be 32 random bytes")
    assert "followup-bot new-key" in line
    assert "token_bytes(32)" in line
    assert "not-a-key" not in line

    line = settings_error(field_encryption_old_keys=f"{KEY_A}, nope")
    assert line.startswith("FIELD_ENCRYPTION_OLD_KEYS is invalid")
    assert KEY_A not in line


def test_new_key_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-key"]) == 0  # no Slack settings needed
    key = capsys.readouterr().out.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert FieldCipher.from_keys(key).key_id != ID_A


def test_the_migration_hashes_existing_contacts_without_a_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0012")
    with sqlite3.connect(tmp_path / "old.db") as connection:
        connection.executemany(
            "INSERT INTO customers (name, company, phone_e164, email, owner_id, status, version,"
            " created_by, created_at, updated_at, name_key, company_key)"
            " VALUES (?, 'Mingde', ?, ?, 'U0REP0001', 'prospect', 1, 'U0REP0001',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '', '')",
            [("Wang Lei", PHONE, None), ("Li Na", None, EMAIL)],
        )

    upgrade(url)

    db = Database(url)
    try:
        with db.engine.connect() as connection:
            hashes = connection.execute(
                text("SELECT phone_hash, email_hash FROM customers ORDER BY id")
            ).all()
        assert [tuple(row) for row in hashes] == [
            (hashlib.sha256(PHONE.encode()).hexdigest(), None),
            (None, hashlib.sha256(EMAIL.encode()).hexdigest()),
        ]
        assert lookup_hash(PHONE) == hashes[0][0]  # what lookups without a key compute
        assert state_key(db) is None
    finally:
        db.dispose()
    command.downgrade(alembic_config(url), "0012")  # clear data: the way back is open


def test_the_readme_says_what_is_and_is_not_encrypted() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Protecting data at rest", 1)[1].split("\n## ", 1)[0]
    assert "Without `FIELD_ENCRYPTION_KEY`, everything is stored in clear text" in section
    assert "names and companies" in section
    assert "rotate-key" in section
    assert "Losing the key loses the encrypted data" in section
    assert "| `FIELD_ENCRYPTION_KEY` |" in readme
