"""Claiming due reminders with a lease, and recording what became of each delivery.

Several bot processes may sweep the same database at once. A claim is one UPDATE that takes rows
nobody holds (or whose holder's lease ran out) and stamps them with this sweep's token:
PostgreSQL skips rows another sweep has locked (FOR UPDATE SKIP LOCKED); SQLite serialises
writers, so the conditional UPDATE alone is atomic. Only the token holder may release a claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from storage.models import FollowUp, ReminderDelivery


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(FollowUp.claimed_until.is_(None), FollowUp.claimed_until < now)


def _claim(
    session: Session,
    candidates: Select[Any],
    *,
    now: datetime,
    lease_until: datetime,
    token: str,
) -> Sequence[FollowUp]:
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed_ids = session.scalars(
        update(FollowUp)
        .where(FollowUp.id.in_(candidates.scalar_subquery()), _unclaimed(now))
        .values(claimed_until=lease_until, claim_token=token)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed_ids:
        return []
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.id.in_(claimed_ids))
        # Every reminder shows its customer: load them in this query, not one query per row.
        .options(joinedload(FollowUp.customer, innerjoin=True))
        .order_by(FollowUp.owner_id, FollowUp.remind_at, FollowUp.id)
    ).all()


def claim_due_reminders(
    session: Session, *, now: datetime, lease_until: datetime, token: str, limit: int
) -> Sequence[FollowUp]:
    """Up to `limit` open follow-ups whose reminder time has come, grouped by owner."""
    candidates = (
        select(FollowUp.id)
        # No state filter: the remind_only_open constraint guarantees it, and leaving it out
        # keeps the planner on the partial remind_at index instead of scanning every open row.
        .where(FollowUp.remind_at <= now, _unclaimed(now))
        .order_by(FollowUp.owner_id, FollowUp.remind_at)
        .limit(limit)
    )
    return _claim(session, candidates, now=now, lease_until=lease_until, token=token)


def claim_due_escalations(
    session: Session,
    *,
    overdue_before: datetime,
    now: datetime,
    lease_until: datetime,
    token: str,
    limit: int,
) -> Sequence[FollowUp]:
    """Open follow-ups due before `overdue_before`, reminded already, and not yet escalated."""
    candidates = (
        select(FollowUp.id)
        .where(
            FollowUp.state == "open",
            FollowUp.next_at <= overdue_before,
            FollowUp.escalated.is_(False),
            FollowUp.remind_at.is_(None),
            _unclaimed(now),
        )
        .order_by(FollowUp.owner_id, FollowUp.next_at)
        .limit(limit)
    )
    return _claim(session, candidates, now=now, lease_until=lease_until, token=token)


def due_without_claiming(session: Session, *, now: datetime, limit: int) -> Sequence[FollowUp]:
    """What a sweep at `now` would deliver, for previews (`remind --dry-run`)."""
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.remind_at <= now)
        .order_by(FollowUp.owner_id, FollowUp.remind_at)
        .limit(limit)
    ).all()


def _held(followup_id: int, token: str) -> ColumnElement[bool]:
    return and_(FollowUp.id == followup_id, FollowUp.claim_token == token)


def record_delivery(session: Session, delivery: ReminderDelivery) -> bool:
    """Insert the delivery row; False if this exact delivery was already recorded."""
    try:
        with session.begin_nested():
            session.add(delivery)
        return True
    except IntegrityError:
        return False


def finish_reminder(session: Session, followup_id: int, token: str) -> bool:
    """The reminder for the current due time is settled (sent or undeliverable): stop trying."""
    result = session.execute(
        update(FollowUp)
        .where(_held(followup_id, token))
        .values(remind_at=None, remind_attempts=0, claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_escalation(session: Session, followup_id: int, token: str) -> bool:
    result = session.execute(
        update(FollowUp)
        .where(_held(followup_id, token))
        .values(escalated=True, claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry_later(session: Session, followup_id: int, token: str, retry_at: datetime) -> None:
    session.execute(
        update(FollowUp)
        .where(_held(followup_id, token))
        .values(
            remind_at=retry_at,
            remind_attempts=FollowUp.remind_attempts + 1,
            claimed_until=None,
            claim_token=None,
        )
        .execution_options(synchronize_session=False)
    )


def release(session: Session, followup_id: int, token: str) -> None:
    session.execute(
        update(FollowUp)
        .where(_held(followup_id, token))
        .values(claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )


def claimed_reminders_due(
    session: Session, followup_ids: Sequence[int], token: str, *, now: datetime
) -> dict[int, datetime]:
    """Of these follow-ups, those still claimed with `token` (a lease not run out at `now`) and
    open, with their due time."""
    if not followup_ids:
        return {}
    rows = session.execute(
        select(FollowUp.id, FollowUp.remind_at).where(
            FollowUp.id.in_(followup_ids),
            FollowUp.claim_token == token,
            FollowUp.claimed_until > now,
            FollowUp.state == "open",
            FollowUp.remind_at.is_not(None),
        )
    )
    return {followup_id: due for followup_id, due in rows if due is not None}


def release_all(session: Session, followup_ids: Sequence[int], token: str) -> None:
    if followup_ids:
        session.execute(
            update(FollowUp)
            .where(FollowUp.id.in_(followup_ids), FollowUp.claim_token == token)
            .values(claimed_until=None, claim_token=None)
            .execution_options(synchronize_session=False)
        )


def put_off(
    session: Session, followup_ids: Sequence[int], token: str, until: datetime, *, due_by: datetime
) -> None:
    """Release these claims and come back at `until`: not a failure, so no attempt counts.

    Only where the reminder is still the one claimed (open, due by `due_by`, when the claim was
    taken): the owner may have snoozed it, marked it done or edited it meanwhile, and that
    wins — those claims are just released."""
    held = (FollowUp.id.in_(followup_ids), FollowUp.claim_token == token)
    session.execute(
        update(FollowUp)
        .where(*held, FollowUp.state == "open", FollowUp.remind_at <= due_by)
        .values(remind_at=until, claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(FollowUp)
        .where(*held)
        .values(claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )


def attempts(session: Session, followup_id: int) -> int:
    count = session.scalar(select(FollowUp.remind_attempts).where(FollowUp.id == followup_id))
    return int(count or 0)


def dm_recipient(
    session: Session, followup_id: int, channel_id: str, message_ts: str
) -> str | None:
    """Whom a delivered reminder message was sent to (the unique key starts with followup_id)."""
    return session.scalars(
        select(ReminderDelivery.recipient_id)
        .where(
            ReminderDelivery.followup_id == followup_id,
            ReminderDelivery.channel_id == channel_id,
            ReminderDelivery.message_ts == message_ts,
        )
        .limit(1)
    ).first()
