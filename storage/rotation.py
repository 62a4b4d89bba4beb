"""Which key the data is under, checked at start-up; and `rotate-key`, which moves it to another.

The `crypto_state` row names the key every encrypted column and lookup hash was written with.
A process whose FIELD_ENCRYPTION_KEY differs must not start: it could read nothing, and the
hashes it wrote would never match the ones already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Column,
    Select,
    Table,
    Text,
    bindparam,
    exists,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from storage.crypto import EncryptedJSON, EncryptedText, FieldCipher, is_current, lookup_hash
from storage.db import Database
from storage.models import CONTACT_HASHES, Base, ChangeLog, CryptoState, Customer, FollowUp

ROTATE_HINT: Final = "run `followup-bot rotate-key`"
BATCH_SIZE: Final = 500


class KeyMismatchError(Exception):
    """FIELD_ENCRYPTION_KEY is not the key the database is under; one line saying what to do."""


def _now() -> datetime:
    return datetime.now(UTC)


def _state(session: Session) -> CryptoState:
    state = session.get(CryptoState, 1)
    if state is None:  # the row the migration made was deleted (or the tables truncated)
        state = CryptoState(id=1, key_id=None)
        session.add(state)
        session.flush()
    return state


def _holds_data(session: Session) -> bool:
    return any(
        session.scalar(select(exists().select_from(model)))
        for model in (Customer, FollowUp, ChangeLog)
    )


def _mismatch(stored: str | None, cipher: FieldCipher) -> str:
    configured = cipher.key_id
    if stored is None:
        return (
            f"FIELD_ENCRYPTION_KEY is set (key id {configured}) but the data in the database is "
            f"not encrypted yet — {ROTATE_HINT} once to encrypt it"
        )
    if configured is None:
        return (
            f"the database is encrypted (key id {stored}) but FIELD_ENCRYPTION_KEY is not set — "
            f"set that key, or put it in FIELD_ENCRYPTION_OLD_KEYS and {ROTATE_HINT} to decrypt"
        )
    if stored in cipher.known_key_ids:
        return (
            f"the database is still encrypted with an old key (id {stored}), not "
            f"FIELD_ENCRYPTION_KEY (id {configured}) — {ROTATE_HINT} to re-encrypt it"
        )
    return (
        f"FIELD_ENCRYPTION_KEY (key id {configured}) is not the key the database is encrypted "
        f"with (key id {stored}) — set that key, or put it in FIELD_ENCRYPTION_OLD_KEYS and "
        f"{ROTATE_HINT}"
    )


def ensure_key_matches(db: Database, cipher: FieldCipher) -> None:
    """Raise KeyMismatchError unless the database's data is under `cipher`'s key. A database
    holding no data yet simply takes the configured key."""
    with db.reader() as session:
        _check(session, cipher)
        state = session.get(CryptoState, 1)
        if state is not None and state.key_id == cipher.key_id:
            return
    with db.transaction() as session:
        _check(session, cipher)
        state = _state(session)
        if state.key_id != cipher.key_id:
            state.key_id = cipher.key_id
            state.updated_at = _now()


def _check(session: Session, cipher: FieldCipher) -> None:
    state = session.get(CryptoState, 1)
    stored = state.key_id if state is not None else None
    if state is not None and state.rotation_started_at is not None:
        raise KeyMismatchError(
            "a key rotation was started and not finished — run `followup-bot rotate-key` "
            "again with the same keys to finish it"
        )
    if stored != cipher.key_id and _holds_data(session):
        raise KeyMismatchError(_mismatch(stored, cipher))


# --- missing lookup hashes -------------------------------------------------------------------


def _missing(source: str, hashed: str) -> Select[int]:
    """Customers with a `source` value (phone or email) but no `hashed` lookup hash."""
    return select(Customer.id).where(
        getattr(Customer, source).is_not(None), getattr(Customer, hashed).is_(None)
    )


def fill_missing_lookup_hashes(db: Database) -> list[str]:
    """Give every stored phone and email its lookup hash, where an import before 28 Nov 2026
    left it empty (an imported row adding a contact to a known customer wrote the value only),
    so those customers are found by it again. Run at start-up, after the key check: the hash
    needs the key. A value another customer already holds is left without a hash (the unique
    index forbids it) and returned as a line saying which two customers to merge."""
    clashes: list[str] = []
    with db.reader() as session:  # nearly always nothing to do: no write lock for that
        if not any(session.scalar(select(_missing(*pair).exists())) for pair in CONTACT_HASHES):
            return clashes
    with db.transaction() as session:
        for source, hashed in CONTACT_HASHES:
            value_column, hash_column = getattr(Customer, source), getattr(Customer, hashed)
            missing = session.execute(_missing(source, hashed).add_columns(value_column)).all()
            for customer_id, value in missing:
                wanted = lookup_hash(value)
                holder = session.scalar(select(Customer.id).where(hash_column == wanted))
                if holder is not None:
                    clashes.append(
                        f"customers {holder} and {customer_id} have the same {source}: "
                        "merge them (/followup merge)"
                    )
                    continue
                customers = Base.metadata.tables["customers"]  # not the ORM: no version bump
                session.execute(
                    update(customers).where(customers.c.id == customer_id).values({hashed: wanted})
                )
    return clashes


# --- rotate-key ------------------------------------------------------------------------------


@dataclass
class TableCount:
    table: str
    checked: int = 0
    rewritten: int = 0


@dataclass
class RotationReport:
    key_id: str | None
    tables: list[TableCount] = field(default_factory=list)

    def lines(self) -> list[str]:
        target = f"key id {self.key_id}" if self.key_id else "clear text (no key)"
        return [
            *(
                f"{count.table}: {count.checked} rows checked, {count.rewritten} rewritten"
                for count in self.tables
            ),
            f"Every encrypted column and lookup hash is now under {target}.",
        ]


def encrypted_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, EncryptedText | EncryptedJSON)]


def _tables() -> Iterator[tuple[Table, list[Column[Any]]]]:
    for table in Base.metadata.sorted_tables:
        columns = encrypted_columns(table)
        if columns:
            yield table, columns


def _raw(column: Column[Any]) -> Any:
    """The column as stored, bypassing decryption."""
    stored_as = JSON() if isinstance(column.type, EncryptedJSON) else Text()
    return type_coerce(column, stored_as).label(column.name)


def _write_type(column: Column[Any]) -> Any:
    # SQL NULL stays SQL NULL in a JSON column (JSON's default would write the JSON null).
    return JSON(none_as_null=True) if isinstance(column.type, EncryptedJSON) else Text()


def _rewrite(
    row: Any, columns: Sequence[Column[Any]], hashes: Sequence[tuple[str, str]], cipher: FieldCipher
) -> dict[str, Any] | None:
    """The row's new stored values (every column named), or None when nothing has to change."""
    values: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    changed = False
    for column in columns:
        kind: EncryptedText | EncryptedJSON = column.type  # type: ignore[assignment]
        stored = getattr(row, column.name)
        plain[column.name] = kind.from_stored(stored, cipher)
        if is_current(stored, cipher):
            values[column.name] = stored
        else:
            values[column.name] = kind.to_stored(plain[column.name], cipher)
            changed = True
    for source, hashed in hashes:
        value = plain[source]
        values[hashed] = None if value is None else cipher.lookup_hash(value)
        changed = changed or values[hashed] != getattr(row, hashed)
    return values if changed else None


def _rotate_table(
    db: Database,
    table: Table,
    columns: Sequence[Column[Any]],
    cipher: FieldCipher,
    batch_size: int,
) -> TableCount:
    count = TableCount(table.name)
    hashes = [pair for pair in CONTACT_HASHES if table is Customer.__table__]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(
            {
                **{c.name: bindparam(f"new_{c.name}", type_=_write_type(c)) for c in columns},
                **{hashed: bindparam(f"new_{hashed}") for _, hashed in hashes},
                # A rewrite is not an edit: updated_at and friends keep their values.
                **{c.name: c for c in table.columns if c.onupdate is not None},
            }
        )
    )
    last = 0
    while True:
        # One transaction per batch: a crash loses at most one batch, and a re-run redoes
        # only what isn't under the current key yet.
        with db.transaction() as session:
            rows = session.execute(
                select(table.c.id, *(_raw(c) for c in columns), *(table.c[h] for _, h in hashes))
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return count
            updates = []
            for row in rows:
                values = _rewrite(row, columns, hashes, cipher)
                if values is not None:
                    updates.append({"row_id": row.id, **{f"new_{k}": v for k, v in values.items()}})
            if updates:
                session.execute(statement, updates)
            count.checked += len(rows)
            count.rewritten += len(updates)
            last = rows[-1].id


def rotate_key(
    db: Database,
    cipher: FieldCipher,
    *,
    batch_size: int = BATCH_SIZE,
    on_table: Callable[[TableCount], None] | None = None,
) -> RotationReport:
    """Re-encrypt every encrypted column with `cipher`'s current key (or write clear text when it
    has none) and recompute the lookup hashes, reading values under any key it knows. Resumable:
    after a crash, run it again with the same keys."""
    with db.transaction() as session:
        state = _state(session)
        if state.key_id is not None and state.key_id not in cipher.known_key_ids:
            raise KeyMismatchError(
                f"the database is encrypted with key id {state.key_id}, which is neither "
                "FIELD_ENCRYPTION_KEY nor in FIELD_ENCRYPTION_OLD_KEYS — add it there first"
            )
        if state.rotation_started_at is None:
            state.rotation_started_at = _now()
    report = RotationReport(cipher.key_id)
    for table, columns in _tables():
        count = _rotate_table(db, table, columns, cipher, batch_size)
        report.tables.append(count)
        if on_table is not None:
            on_table(count)
    with db.transaction() as session:
        state = _state(session)
        state.key_id = cipher.key_id
        state.rotation_started_at = None
        state.updated_at = _now()
    return report
