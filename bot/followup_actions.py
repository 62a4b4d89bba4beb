"""What the reminder buttons do: close, snooze, reassign. Permission is checked here, on the
server, for every click; repeating a click changes nothing the second time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.followups import close_followup
from bot.permissions import require_may_act_on
from bot.settings import Settings
from storage import queries
from storage.db import Database
from storage.models import Customer, FollowUp

SnoozeChoice = Literal["1h", "tomorrow", "monday"]
SNOOZE_CHOICES: Final[tuple[SnoozeChoice, ...]] = ("1h", "tomorrow", "monday")


class UnknownFollowupError(LookupError):
    pass


@dataclass(frozen=True)
class Outcome:
    """The follow-up after an action, and whether this action changed it."""

    followup_id: int
    customer_id: int
    customer_name: str
    company: str
    owner_id: str
    state: str
    next_at: datetime
    changed: bool
    previous_owner_id: str | None = None


def _outcome(followup: FollowUp, *, changed: bool, previous_owner: str | None = None) -> Outcome:
    return Outcome(
        followup_id=followup.id,
        customer_id=followup.customer_id,
        customer_name=followup.customer.name,
        company=followup.customer.company,
        owner_id=followup.owner_id,
        state=followup.state,
        next_at=followup.next_at,
        changed=changed,
        previous_owner_id=previous_owner,
    )


def _load(session: Session, followup_id: int) -> FollowUp:
    followup = queries.get_followup(session, followup_id)
    if followup is None:
        raise UnknownFollowupError(followup_id)
    return followup


def peek(db: Database, followup_id: int) -> Outcome:
    with db.reader() as session:
        return _outcome(_load(session, followup_id), changed=False)


def complete(
    db: Database, settings: Settings, *, followup_id: int, actor_id: str, now: datetime
) -> Outcome:
    with db.transaction() as session:
        followup = _load(session, followup_id)
        require_may_act_on(session, settings, actor_id=actor_id, owner_id=followup.owner_id)
        if followup.state == "done":
            return _outcome(followup, changed=False)
        close_followup(session, followup, actor_id=actor_id, at=now, action="done")
        return _outcome(followup, changed=True)


def snooze_until(choice: SnoozeChoice, *, zone: ZoneInfo, now: datetime, hour: time) -> datetime:
    """1 hour from now; tomorrow at the default hour; or next Monday at it — in `zone`."""
    if choice == "1h":
        return now + timedelta(hours=1)
    today = now.astimezone(zone).date()
    if choice == "tomorrow":
        day = today + timedelta(days=1)
    else:
        day = today + timedelta(days=7 - today.weekday())
    local = datetime.combine(day, hour, tzinfo=zone)
    return local.astimezone(now.tzinfo)


def snooze(
    db: Database,
    settings: Settings,
    *,
    followup_id: int,
    actor_id: str,
    until: datetime,
    now: datetime,
) -> Outcome:
    with db.transaction() as session:
        followup = _load(session, followup_id)
        require_may_act_on(session, settings, actor_id=actor_id, owner_id=followup.owner_id)
        if followup.state != "open" or followup.next_at == until:
            return _outcome(followup, changed=False)
        before = followup.next_at.isoformat()
        followup.next_at, followup.remind_at, followup.escalated = until, until, False
        queries.record_change(
            session,
            followup,
            actor_id=actor_id,
            action="snooze",
            before={"next_at": before},
            after={"next_at": until.isoformat()},
            at=now,
        )
        return _outcome(followup, changed=True)


def reassign(
    db: Database,
    settings: Settings,
    *,
    followup_id: int,
    actor_id: str,
    new_owner_id: str,
    now: datetime,
) -> Outcome:
    """Give the customer and this follow-up to someone else; a due item is reminded to them."""
    with db.transaction() as session:
        followup = _load(session, followup_id)
        require_may_act_on(session, settings, actor_id=actor_id, owner_id=followup.owner_id)
        previous = followup.owner_id
        if followup.state != "open" or previous == new_owner_id:
            return _outcome(followup, changed=False)
        followup.owner_id, followup.escalated = new_owner_id, False
        if followup.next_at <= now:
            followup.remind_at = now  # the new owner gets their own reminder at the next sweep
        handed_over: list[Customer | FollowUp] = [followup]
        if followup.customer.owner_id == previous:
            followup.customer.owner_id = new_owner_id
            followup.customer.owner_since = now
            handed_over.append(followup.customer)
        for record in handed_over:
            queries.record_change(
                session,
                record,
                actor_id=actor_id,
                action="reassign",
                before={"owner_id": previous},
                after={"owner_id": new_owner_id},
                at=now,
            )
        return _outcome(followup, changed=True, previous_owner=previous)
