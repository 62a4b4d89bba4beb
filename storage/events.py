"""Which Slack events were handled already (see `ProcessedEvent`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import ProcessedEvent


def first_sighting(session: Session, event_id: str, now: datetime) -> bool:
    """Record an event id; True only for the first delivery, however many instances race."""
    values = {"event_id": event_id, "received_at": now}
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedEvent)
        .values(**values)
        .on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for an ORM-executed INSERT … ON CONFLICT.
        .returning(ProcessedEvent.event_id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def forget_events_before(session: Session, cutoff: datetime) -> int:
    """Slack gives up retrying within hours; older ids only take space."""
    result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
