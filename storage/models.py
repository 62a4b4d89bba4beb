"""Typed SQLAlchemy models: customers, follow-ups, the change log and a cache of Slack user facts.

Nothing here knows about Slack payloads; Slack user ids are plain strings. Every timestamp is stored
in UTC and read back timezone-aware (see `UTCDateTime`), on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.crypto import EncryptedJSON, EncryptedText, lookup_hash

STATUSES: Final = ("prospect", "interested", "won", "existing", "lost")
METHODS: Final = ("phone", "wechat", "email", "visit", "meeting", "message")
FOLLOWUP_STATES: Final = ("open", "done")
DELIVERY_KINDS: Final = ("due", "escalation", "escalation_manager", "reassigned")
DELIVERY_STATUSES: Final = ("sent", "undeliverable")
SUMMARY_STATUSES: Final = ("claimed", "posted")
TEAM_ROLES: Final = ("manager", "rep")

# Stable constraint names make Alembic batch migrations on SQLite (which rebuild tables) reliable.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC.

    SQLite has no time zone type and hands back naive values; PostgreSQL's timestamptz hands back
    aware ones in the session zone. Normalising both ways means callers always get aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in_set(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _hash_of(source: str) -> Callable[[DefaultExecutionContext], str | None]:
    """A column default: the lookup hash of `source` in the row being inserted. Covers inserts
    that bypass the ORM's events (bulk `insert(Customer)` with a list of rows)."""

    def default(context: DefaultExecutionContext) -> str | None:
        value = context.get_current_parameters().get(source)  # type: ignore[no-untyped-call]
        return None if value is None else lookup_hash(value)

    return default


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(_in_set("status", STATUSES), name="status_known"),
        # An erased customer keeps only an anonymous stub (see bot/erasure.py).
        CheckConstraint(
            "phone_e164 IS NOT NULL OR email IS NOT NULL OR erased_at IS NOT NULL",
            name="has_contact",
        ),
        Index("ix_customers_owner_id_status", "owner_id", "status"),
        # What changed lately, with its company key: the look-alike check tops up its in-memory
        # list of company keys from this instead of reading every key (bot/company_keys.py).
        Index("ix_customers_updated_at_company_key", "updated_at", "company_key"),
        # One customer per phone and per email: two reps saving the same new customer at once
        # get one row, the second save finding the first. On the lookup hashes, since the
        # values themselves may be encrypted (storage/crypto.py).
        Index(
            "uq_customers_phone_hash",
            "phone_hash",
            unique=True,
            sqlite_where=text("phone_hash IS NOT NULL"),
            postgresql_where=text("phone_hash IS NOT NULL"),
        ),
        Index(
            "uq_customers_email_hash",
            "email_hash",
            unique=True,
            sqlite_where=text("email_hash IS NOT NULL"),
            postgresql_where=text("email_hash IS NOT NULL"),
        ),
        # Never hand a deleted (merged-away) customer's id to a new one: history is keyed by id.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    phone_e164: Mapped[str | None] = mapped_column(EncryptedText("customers.phone_e164"))
    email: Mapped[str | None] = mapped_column(EncryptedText("customers.email"))
    # Lookup hashes of phone and email (see storage/crypto.py): what exact lookups and the unique
    # indexes use. Filled on every insert and update, by any path (see _fill_lookup_hashes).
    phone_hash: Mapped[str | None] = mapped_column(String(64), default=_hash_of("phone_e164"))
    email_hash: Mapped[str | None] = mapped_column(String(64), default=_hash_of("email"))
    owner_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(32))
    # Comparable forms of name and company (casefolded, legal suffixes dropped…), kept beside
    # what was typed so lookups and duplicate checks can use an index, in any script.
    name_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    company_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    owner_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when the customer's personal data was erased on request; the row stays, anonymous, so
    # counts (pipeline, follow-ups per owner) stay true.
    erased_at: Mapped[datetime | None]

    followups: Mapped[list[FollowUp]] = relationship(back_populates="customer")

    # Every ORM write is "UPDATE … WHERE version = <the version read>": a change committed by
    # someone else meanwhile makes this one fail (StaleDataError) instead of overwriting it.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by the mapper


CONTACT_HASHES: Final = (("phone_e164", "phone_hash"), ("email", "email_hash"))


@event.listens_for(Customer, "before_insert")
@event.listens_for(Customer, "before_update")
def _fill_lookup_hashes(_mapper: Any, _connection: Any, customer: Customer) -> None:
    """Whatever changed a customer's phone or email (a save, an edit, a merge, an erasure),
    its lookup hash follows in the same statement."""
    state = inspect(customer)
    for source, hashed in CONTACT_HASHES:
        if state.has_identity and not state.attrs[source].history.has_changes():
            continue
        value = getattr(customer, source)
        wanted = None if value is None else lookup_hash(value)
        if getattr(customer, hashed) != wanted:
            setattr(customer, hashed, wanted)


class FollowUp(Base):
    __tablename__ = "followups"
    __table_args__ = (
        CheckConstraint(_in_set("method", METHODS), name="method_known"),
        CheckConstraint(_in_set("status_after", STATUSES), name="status_after_known"),
        CheckConstraint(_in_set("state", FOLLOWUP_STATES), name="state_known"),
        # Only open follow-ups wait for a reminder: the sweep relies on this to read remind_at
        # alone, through its small partial index.
        CheckConstraint("state = 'open' OR remind_at IS NULL", name="remind_only_open"),
        Index("ix_followups_state_next_at", "state", "next_at"),
        Index("ix_followups_owner_id_state_next_at", "owner_id", "state", "next_at"),
        # The Home tab's "recently done": newest first without sorting all of an owner's history.
        Index("ix_followups_owner_id_state_done_at_id", "owner_id", "state", "done_at", "id"),
        # Only rows still waiting for a reminder are indexed, so the sweep stays fast however many
        # follow-ups have been delivered or closed.
        Index(
            "ix_followups_remind_at",
            "remind_at",
            sqlite_where=text("remind_at IS NOT NULL"),
            postgresql_where=text("remind_at IS NOT NULL"),
        ),
        # The same rows in the order a sweep claims them (owner, then due time): with many due
        # at once, the claim reads its batch in order instead of sorting every due row, and
        # PostgreSQL no longer walks all follow-ups by owner to find them (bench/sweep.py).
        Index(
            "ix_followups_owner_id_remind_at",
            "owner_id",
            "remind_at",
            sqlite_where=text("remind_at IS NOT NULL"),
            postgresql_where=text("remind_at IS NOT NULL"),
        ),
        # The morning summary counts follow-ups logged since the last one (bench/summary.py).
        Index("ix_followups_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    author_id: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(32))
    contacted_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(EncryptedText("followups.summary"))
    feedback: Mapped[str] = mapped_column(EncryptedText("followups.feedback"))
    status_after: Mapped[str] = mapped_column(String(16))
    next_at: Mapped[datetime]
    next_action: Mapped[str] = mapped_column(EncryptedText("followups.next_action"))
    notes: Mapped[str | None] = mapped_column(EncryptedText("followups.notes"))
    state: Mapped[str] = mapped_column(String(8), default="open")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Derived from the Slack view id: a double-clicked Submit stores one follow-up, not two.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(32))
    # When the owner should next be reminded: next_at, a retry time after a failed delivery, or
    # NULL once delivered (or undeliverable, or closed).
    remind_at: Mapped[datetime | None]
    remind_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A sweep's lease: whoever holds an unexpired claim is delivering; a crashed holder's lease
    # simply runs out and another sweep takes over.
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(36))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    customer: Mapped[Customer] = relationship(back_populates="followups")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by the mapper


class ReminderDelivery(Base):
    """One DM about one follow-up's due time. The unique key is what makes "exactly once" hold."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (
        UniqueConstraint("followup_id", "due_at", "kind", "recipient_id"),
        CheckConstraint(_in_set("kind", DELIVERY_KINDS), name="kind_known"),
        CheckConstraint(_in_set("status", DELIVERY_STATUSES), name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(24))
    recipient_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeLog(Base):
    """Append-only history: the app inserts rows and never updates or deletes them."""

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_entity_entity_id", "entity", "entity_id"),
        # The summary's status changes: customer updates within a time window.
        Index("ix_change_log_entity_action_at", "entity", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(32))
    # Copies of phones, emails and notes: encrypted like the columns they come from.
    before: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("change_log.before"))
    after: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("change_log.after"))


class SlackUser(Base):
    """What the bot last learned about a Slack user from users.info (time zone, language)."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tz: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    fetched_at: Mapped[datetime]
    # The bot's DM conversation with this user (conversations.open), so reminders skip that call.
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    # How the team knows them (real name), for charts, where a <@mention> can't be rendered.
    name: Mapped[str | None] = mapped_column(String(120))
    # The language picked with `/followup lang`; None follows their Slack locale.
    language_choice: Mapped[str | None] = mapped_column(String(8))


class TeamMember(Base):
    """A manager, or a rep and (optionally) their manager. Admins come from ADMIN_USER_IDS."""

    __tablename__ = "team_members"
    __table_args__ = (CheckConstraint(_in_set("role", TEAM_ROLES), name="role_known"),)

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    manager_id: Mapped[str | None] = mapped_column(String(32), index=True)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportedRow(Base):
    """One spreadsheet row that was imported, by fingerprint: importing the same file (or the
    same row from another export) again is a no-op for that row."""

    __tablename__ = "imported_rows"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(300))
    row_number: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(64))


class SummaryRun(Base):
    """One morning summary for one channel and local day. The unique key is the "exactly once"."""

    __tablename__ = "summary_runs"
    __table_args__ = (
        UniqueConstraint("channel_id", "local_date"),
        CheckConstraint(_in_set("status", SUMMARY_STATUSES), name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(36))
    as_of: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    chart_file_id: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime | None]


class ProcessedEvent(Base):
    """An Events API event already handled. Slack retries an event it thinks was missed and Socket
    Mode may redeliver after a reconnect; a row per event_id makes "handled once" hold across
    restarts and across bot instances sharing the database. Rows older than a day are purged."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class CryptoState(Base):
    """Which key the database's encrypted columns and lookup hashes were written with (one row).

    `serve` compares it with FIELD_ENCRYPTION_KEY and refuses to start on a mismatch, rather than
    fail on every read or, worse, write hashes no lookup will ever find again.
    """

    __tablename__ = "crypto_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The key id (storage/crypto.py); NULL: clear text, and plain SHA-256 lookup hashes.
    key_id: Mapped[str | None] = mapped_column(String(8))
    # Set while `followup-bot rotate-key` runs: rows are part old, part new until it finishes.
    rotation_started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
