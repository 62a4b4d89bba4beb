"""Every query the bot runs, in one place. Callers pass a Session and get model objects back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, literal, null, select, text, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from storage.crypto import lookup_hash
from storage.models import ChangeLog, Customer, FollowUp, ImportedRow, SlackUser, utcnow


def find_customer_by_contact(
    session: Session, *, phone_e164: str | None, email: str | None, lock: bool = False
) -> Customer | None:
    """The customer with this exact phone, else this exact email: the strongest identity we have.

    Phone wins over email because reps share company mailboxes more often than mobile numbers.
    With `lock`, the row stays locked until the transaction ends (PostgreSQL; SQLite writers
    are already serialised), so two saves for one customer can't interleave.
    """
    for column, value in ((Customer.phone_hash, phone_e164), (Customer.email_hash, email)):
        if not value:
            continue
        # By lookup hash: the values themselves may be encrypted (storage/crypto.py).
        query = select(Customer).where(column == lookup_hash(value)).limit(1)
        found = session.scalars(query.with_for_update() if lock else query).first()
        if found is not None:
            return found
    return None


def email_taken_by_other(session: Session, email: str, customer_id: int) -> bool:
    other = session.scalar(
        select(Customer.id)
        .where(Customer.email_hash == lookup_hash(email), Customer.id != customer_id)
        .limit(1)
    )
    return other is not None


def find_customers_by_name_key(
    session: Session, name_key: str, *, limit: int = 5
) -> Sequence[Customer]:
    """Customers whose normalised name is exactly this (any script, any case)."""
    if not name_key:
        return []
    return session.scalars(
        select(Customer)
        .where(Customer.name_key == name_key, Customer.erased_at.is_(None))
        .order_by(Customer.updated_at.desc())
        .limit(limit)
    ).all()


def get_customer(session: Session, customer_id: int, *, lock: bool = False) -> Customer | None:
    return session.get(Customer, customer_id, with_for_update=lock or None)


def company_keys_in_use(session: Session) -> tuple[Sequence[str], datetime | None]:
    """Every distinct company key (erased customers' included: they match no one), and the
    newest `updated_at`, read together so company_keys_changed_since can continue from it."""
    newest = session.scalar(select(func.max(Customer.updated_at)))
    return session.scalars(select(Customer.company_key).distinct()).all(), newest


def company_keys_changed_since(session: Session, since: datetime) -> Sequence[tuple[str, datetime]]:
    """Company keys of customers saved at or after `since`, with when (a covering index)."""
    rows = session.execute(
        select(Customer.company_key, Customer.updated_at).where(Customer.updated_at >= since)
    )
    return [(key, changed_at) for key, changed_at in rows]


def customers_with_company_keys(session: Session, keys: Sequence[str]) -> Sequence[Customer]:
    wanted = [key for key in dict.fromkeys(keys) if key]
    if not wanted:
        return []
    return session.scalars(
        select(Customer)
        .where(Customer.company_key.in_(wanted), Customer.erased_at.is_(None))
        .order_by(Customer.id)
        .limit(500)
    ).all()


def find_followup_by_submission(session: Session, submission_key: str) -> FollowUp | None:
    return session.scalars(
        select(FollowUp).where(FollowUp.submission_key == submission_key)
    ).first()


def open_followups_for_customer(session: Session, customer_id: int) -> Sequence[FollowUp]:
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.customer_id == customer_id, FollowUp.state == "open")
        .order_by(FollowUp.id)
    ).all()


def count_followups(session: Session, customer_id: int) -> int:
    counted = session.scalar(
        select(func.count()).select_from(FollowUp).where(FollowUp.customer_id == customer_id)
    )
    return int(counted or 0)


def latest_followup(session: Session, customer_id: int) -> FollowUp | None:
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.customer_id == customer_id)
        .order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
        .limit(1)
    ).first()


def log_change(
    session: Session,
    *,
    actor_id: str,
    entity: str,
    entity_id: int | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime | None = None,
) -> ChangeLog:
    row = ChangeLog(
        at=at or utcnow(),
        actor_id=actor_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        before=before,
        after=after,
    )
    session.add(row)
    return row


def record_change(
    session: Session,
    record: Customer | FollowUp,
    *,
    actor_id: str,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    at: datetime | None = None,
) -> None:
    """Every edit of a customer or follow-up is logged. (Its version moves on by itself: the
    models map `version` as SQLAlchemy's version counter, checked on every UPDATE.)"""
    if isinstance(record, Customer):
        record.updated_at = at or utcnow()
    log_change(
        session,
        actor_id=actor_id,
        entity="customer" if isinstance(record, Customer) else "followup",
        entity_id=record.id,
        action=action,
        before=before,
        after=after,
        at=at,
    )


def changes_for(session: Session, entity: str, entity_id: int) -> Sequence[ChangeLog]:
    return session.scalars(
        select(ChangeLog)
        .where(ChangeLog.entity == entity, ChangeLog.entity_id == entity_id)
        .order_by(ChangeLog.id)
    ).all()


def get_slack_user(session: Session, user_id: str) -> SlackUser | None:
    return session.get(SlackUser, user_id)


def upsert_slack_user(
    session: Session,
    *,
    user_id: str,
    tz: str | None,
    locale: str | None,
    fetched_at: datetime,
    name: str | None = None,
) -> None:
    """Insert or refresh a cached user in one statement, so two threads can't collide on the key."""
    values = {
        "user_id": user_id,
        "tz": tz,
        "locale": locale,
        "fetched_at": fetched_at,
        "name": name,
    }
    changed = {"tz": tz, "locale": locale, "fetched_at": fetched_at}
    if name:
        changed["name"] = name
    if session.get_bind().dialect.name == "postgresql":
        pg_insert = postgresql_insert(SlackUser).values(**values)
        session.execute(pg_insert.on_conflict_do_update(index_elements=["user_id"], set_=changed))
    else:
        lite_insert = sqlite_insert(SlackUser).values(**values)
        session.execute(lite_insert.on_conflict_do_update(index_elements=["user_id"], set_=changed))


def save_language_choice(
    session: Session, user_id: str, language: str | None, fetched_at: datetime
) -> None:
    """Remember (or, with None, forget) the language a user picked; keeps what else is cached.

    `fetched_at` only applies to a user never looked up before, so pass a stale moment: their
    zone and locale are then fetched the next time they are needed.
    """
    values = {"user_id": user_id, "fetched_at": fetched_at, "language_choice": language}
    changed = {"language_choice": language}
    if session.get_bind().dialect.name == "postgresql":
        pg_insert = postgresql_insert(SlackUser).values(**values)
        session.execute(pg_insert.on_conflict_do_update(index_elements=["user_id"], set_=changed))
    else:
        lite_insert = sqlite_insert(SlackUser).values(**values)
        session.execute(lite_insert.on_conflict_do_update(index_elements=["user_id"], set_=changed))


def get_dm_channel(session: Session, user_id: str) -> str | None:
    row = session.get(SlackUser, user_id)
    return row.dm_channel if row else None


def save_dm_channel(session: Session, user_id: str, channel_id: str, now: datetime) -> None:
    row = session.get(SlackUser, user_id)
    if row is None:
        session.add(SlackUser(user_id=user_id, fetched_at=now - timedelta(days=365)))
        session.flush()
        row = session.get(SlackUser, user_id)
    if row is not None:
        row.dm_channel = channel_id


def user_names(session: Session, user_ids: Sequence[str]) -> dict[str, str]:
    rows = session.execute(
        select(SlackUser.user_id, SlackUser.name).where(
            SlackUser.user_id.in_(user_ids), SlackUser.name.is_not(None)
        )
    ).all()
    return {user_id: name for user_id, name in rows if name}


def get_followup(session: Session, followup_id: int) -> FollowUp | None:
    return session.get(FollowUp, followup_id)


def open_followups_of(
    session: Session, owner_id: str, *, since: datetime | None, before: datetime, limit: int
) -> Sequence[FollowUp]:
    """An owner's open follow-ups due in [since, before), soonest (most overdue) first."""
    lower = FollowUp.next_at >= since if since is not None else FollowUp.next_at.is_not(None)
    return session.scalars(
        select(FollowUp)
        .where(
            FollowUp.owner_id == owner_id,
            FollowUp.state == "open",
            lower,
            FollowUp.next_at < before,
        )
        .options(joinedload(FollowUp.customer))  # every item shows its customer: one query
        .order_by(FollowUp.next_at, FollowUp.id)
        .limit(limit)
    ).all()


def count_open_of(
    session: Session, owner_id: str, *, since: datetime | None, before: datetime
) -> int:
    lower = FollowUp.next_at >= since if since is not None else FollowUp.next_at.is_not(None)
    counted = session.scalar(
        select(func.count())
        .select_from(FollowUp)
        .where(
            FollowUp.owner_id == owner_id,
            FollowUp.state == "open",
            lower,
            FollowUp.next_at < before,
        )
    )
    return int(counted or 0)


def recently_done_of(session: Session, owner_id: str, *, limit: int) -> Sequence[FollowUp]:
    return session.scalars(
        select(FollowUp)
        .where(
            FollowUp.owner_id == owner_id, FollowUp.state == "done", FollowUp.done_at.is_not(None)
        )
        .options(joinedload(FollowUp.customer))
        .order_by(FollowUp.done_at.desc(), FollowUp.id.desc())
        .limit(limit)
    ).all()


def followups_of_customer(session: Session, customer_id: int, *, limit: int) -> Sequence[FollowUp]:
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.customer_id == customer_id)
        .order_by(FollowUp.contacted_at.desc(), FollowUp.id.desc())
        .limit(limit)
    ).all()


def customer_candidates(session: Session) -> Sequence[Any]:
    """(id, name, company, phone, email) of every customer not erased, for fuzzy lookup."""
    return session.execute(
        select(
            Customer.id, Customer.name, Customer.company, Customer.phone_e164, Customer.email
        ).where(Customer.erased_at.is_(None))
    ).all()


def customers_by_ids(session: Session, ids: Sequence[int]) -> Sequence[Customer]:
    if not ids:
        return []
    return session.scalars(select(Customer).where(Customer.id.in_(ids))).all()


def latest_followup_by(session: Session, user_id: str) -> FollowUp | None:
    """The newest follow-up this user wrote or owns."""
    return session.scalars(
        select(FollowUp)
        .where((FollowUp.author_id == user_id) | (FollowUp.owner_id == user_id))
        .order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
        .limit(1)
    ).first()


def latest_change(
    session: Session, entity: str, entity_id: int, *, action: str | None = None
) -> ChangeLog | None:
    query = select(ChangeLog).where(ChangeLog.entity == entity, ChangeLog.entity_id == entity_id)
    if action is not None:
        query = query.where(ChangeLog.action == action)
    return session.scalars(query.order_by(ChangeLog.id.desc()).limit(1)).first()


def history_of_customer(session: Session, customer_id: int, *, limit: int) -> Sequence[ChangeLog]:
    """Every change to a customer and to its follow-ups, newest first."""
    followup_ids = select(FollowUp.id).where(FollowUp.customer_id == customer_id)
    return session.scalars(
        select(ChangeLog)
        .where(
            ((ChangeLog.entity == "customer") & (ChangeLog.entity_id == customer_id))
            | ((ChangeLog.entity == "followup") & ChangeLog.entity_id.in_(followup_ids))
        )
        .order_by(ChangeLog.id.desc())
        .limit(limit)
    ).all()


def lock_company_key(session: Session, company_key: str) -> None:
    """Serialise look-alike checks for one company until the transaction ends (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql" and company_key:
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": company_key})


def last_sqlite_row_id(session: Session, table: str) -> int:
    """The id SQLite's next insert into `table` would follow: the largest id in the table or, for
    an AUTOINCREMENT table, ever used in it. Only meaningful while this transaction holds the
    write lock (BEGIN IMMEDIATE), so a bulk insert can number its rows itself (SQLite can't
    return the ids of a multi-row insert in the rows' order)."""
    largest = session.execute(text(f'SELECT max(id) FROM "{table}"')).scalar()  # noqa: S608
    used = session.execute(
        text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": table}
    ).scalar()
    return max(int(largest or 0), int(used or 0))


def next_postgres_ids(session: Session, table: str, count: int) -> list[int]:
    """`count` new ids from the sequence behind `table`'s id column (PostgreSQL), in ascending
    order: one round trip, so a bulk load (COPY) can number its rows itself. Ids taken and not
    used are gaps, as after any rolled-back insert."""
    ids = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table, "n": count},
    ).scalars()
    return sorted(int(row_id) for row_id in ids)


def imported_before_and_contacts_in_use(
    session: Session, fingerprints: Sequence[str], phones: Sequence[str], emails: Sequence[str]
) -> tuple[dict[str, tuple[str, int]], set[str]]:
    """For a bulk import's group of rows, in one query: which of these row fingerprints were
    imported before (fingerprint → source and row number), and which of these phones and
    emails some customer already holds (by lookup hash: the values may be encrypted)."""
    by_hash = {lookup_hash(value): value for value in (*phones, *emails) if value}
    rows: Sequence[Any]
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            _IMPORT_LOOKUP_POSTGRES if by_hash else _IMPORTED_BEFORE_POSTGRES,
            {"fingerprints": list(fingerprints), "hashes": list(by_hash)},
        ).all()
    else:
        query = select(
            literal("row"), ImportedRow.fingerprint, ImportedRow.source, ImportedRow.row_number
        ).where(ImportedRow.fingerprint.in_(fingerprints))
        if by_hash:
            hashes = list(by_hash)
            contacts = select(
                literal("contact"), Customer.phone_hash, Customer.email_hash, null()
            ).where(Customer.phone_hash.in_(hashes) | Customer.email_hash.in_(hashes))
            rows = session.execute(union_all(query, contacts)).all()
        else:
            rows = session.execute(query).all()
    before: dict[str, tuple[str, int]] = {}
    in_use: set[str] = set()
    for kind, first, second, number in rows:
        if kind == "row":
            before[first] = (second, number)
        else:
            in_use.update(by_hash[h] for h in (first, second) if h in by_hash)
    return before, in_use


# PostgreSQL: each list is one array parameter, so the statement is the same for every group
# (prepared once, no statement with a placeholder per value to parse), and each value is looked
# up in its index: for a list of hundreds the planner otherwise scans the whole table (and a
# partial index, as on the contact hashes, can't serve "= ANY(array)" at all).
_IMPORTED_BEFORE_POSTGRES: Final = text(
    "SELECT 'row', r.fingerprint, r.source, r.row_number "
    "FROM unnest(CAST(:fingerprints AS text[])) AS f(value) "
    "JOIN imported_rows AS r ON r.fingerprint = f.value"
)
_IMPORT_LOOKUP_POSTGRES: Final = text(
    "SELECT 'row', r.fingerprint, r.source, r.row_number "
    "FROM unnest(CAST(:fingerprints AS text[])) AS f(value) "
    "JOIN imported_rows AS r ON r.fingerprint = f.value "
    "UNION ALL "
    "SELECT 'contact', c.phone_hash, c.email_hash, NULL "
    "FROM unnest(CAST(:hashes AS text[])) AS h(value) CROSS JOIN LATERAL ("
    " SELECT phone_hash, email_hash FROM customers"
    " WHERE phone_hash = h.value AND phone_hash IS NOT NULL"
    " UNION ALL SELECT phone_hash, email_hash FROM customers"
    " WHERE email_hash = h.value AND email_hash IS NOT NULL"
    ") AS c"
)


def postgres_column_types(session: Session, table: str) -> dict[str, int]:
    """Each column of `table` (PostgreSQL) → the oid of its type as the database has it: what a
    binary COPY must send, whatever the models say."""
    rows = session.execute(
        text(
            "SELECT attname, atttypid::int FROM pg_attribute "
            "WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped"
        ),
        {"table": table},
    ).all()
    return {str(name): int(oid) for name, oid in rows}
