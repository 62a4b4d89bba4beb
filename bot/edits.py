"""Editing a follow-up (and its customer) without lost updates.

The form carries the versions it was opened at. Saving is a conditional UPDATE on those
versions — not read-then-write — so two people (or two bot processes) saving at once can't both
win: the second finds the version moved and is told who changed what, and nothing is
overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.followups import FormError, ValidFollowup, check_phone_free
from bot.i18n import Text, _, _n
from bot.matching import normalize_company, normalize_person
from bot.permissions import NotAllowedError, may_act_on
from bot.settings import Settings
from storage import queries
from storage.db import Database
from storage.models import ChangeLog, Customer, FollowUp

CONFLICT_BLOCK = "customer_name"
# How the edit form shows the next contact: unambiguous, and read back by the same parser.
NEXT_AT_FORMAT = "%Y-%m-%d %H:%M"

# What a person calls each stored field, wherever a change is reported (a conflict, the history,
# "saved your changes"). Bookkeeping fields (state, merge markers) have no label and aren't shown.
FIELD_LABELS: Final[Mapping[str, Text]] = {
    "name": _("name"),
    "company": _("company"),
    "phone_e164": _("phone"),
    "email": _("email"),
    "owner_id": _("owner"),
    "status": _("status"),
    "status_after": _("status"),
    "contacted_at": _("contact time"),
    "method": _("method"),
    "summary": _("summary"),
    "feedback": _("feedback"),
    "next_at": _("next contact"),
    "next_action": _("next step"),
    "notes": _("notes"),
}


def field_label(field: str) -> Text | str:
    """A stored field's name for people; an unknown one as stored (never hidden)."""
    return FIELD_LABELS.get(field, field)


def field_list(fields: Sequence[str]) -> Text | str:
    """ "summary, feedback and notes" as one message, each name and separator translated."""
    # Text isn't hashable (its params are a dict): "status" and "status_after" read the same.
    by_name = {str(field_label(f)): field_label(f) for f in fields}
    labels = list(by_name.values()) or ["—"]
    listed: Text | str = labels[0]
    for label in labels[1:]:
        listed = _("{earlier}, {later}", earlier=listed, later=label)
    return listed


@dataclass(frozen=True)
class Editable:
    """A follow-up as the edit form shows it, with the versions it was read at."""

    followup: FollowUp
    customer: Customer
    followup_version: int
    customer_version: int
    may_change_customer: bool


def may_edit(session: Session, settings: Settings, actor_id: str, followup: FollowUp) -> bool:
    """Whoever may act on its owner — and the rep who wrote the entry."""
    return actor_id == followup.author_id or may_act_on(
        session, settings, actor_id=actor_id, owner_id=followup.owner_id
    )


def may_change_customer(
    session: Session, settings: Settings, actor_id: str, customer: Customer
) -> bool:
    """The customer's own details (and contacts) are the owner's, their manager's and admins':
    the author of one entry on a colleague's customer edits that entry only."""
    return may_act_on(session, settings, actor_id=actor_id, owner_id=customer.owner_id)


def _check_edit_rules(followup: FollowUp, entry: ValidFollowup) -> None:
    problems: dict[str, Text] = {}
    if entry.owner_id != followup.owner_id:
        problems["owner"] = _(
            "To hand this follow-up to someone else, use Reassign on its reminder or in your "
            "Home tab — it tells the new owner."
        )
    if entry.status == "lost" and followup.status_after != "lost":
        problems["status"] = _(
            "To mark the customer lost, log a new follow-up: it closes their open follow-ups "
            "once you confirm."
        )
    if problems:
        raise FormError(problems)


def load_editable(
    db: Database, settings: Settings, *, actor_id: str, followup_id: int | None
) -> Editable | None:
    """The follow-up to edit: the one asked for, else the actor's latest. None if there is none;
    NotAllowedError if it isn't theirs to edit."""
    with db.reader() as session:
        followup = (
            queries.get_followup(session, followup_id)
            if followup_id is not None
            else queries.latest_followup_by(session, actor_id)
        )
        if followup is None:
            return None
        if not may_edit(session, settings, actor_id, followup):
            raise NotAllowedError(followup.owner_id)
        customer = followup.customer
        return Editable(
            followup,
            customer,
            followup.version,
            customer.version,
            may_change_customer(session, settings, actor_id, customer),
        )


def original_next_at_text(db: Database, followup_id: int, zone: ZoneInfo) -> str | None:
    """The next-contact text an edit form for this follow-up was filled with."""
    with db.reader() as session:
        followup = queries.get_followup(session, followup_id)
        return followup.next_at.astimezone(zone).strftime(NEXT_AT_FORMAT) if followup else None


def save_edit(
    db: Database,
    settings: Settings,
    entry: ValidFollowup,
    *,
    actor_id: str,
    followup_id: int,
    followup_version: int,
    customer_version: int,
    now: datetime,
) -> list[str]:
    """Apply the edit if nobody changed the record since the form was opened; returns the names
    of the fields that changed. Raises FormError describing the conflict otherwise."""
    with db.transaction() as session:
        followup = queries.get_followup(session, followup_id)
        if followup is None:
            raise FormError({CONFLICT_BLOCK: _("This follow-up no longer exists.")})
        if not may_edit(session, settings, actor_id, followup):
            raise NotAllowedError(followup.owner_id)
        _check_edit_rules(followup, entry)
        # The customer change is decided before the follow-up's status_after moves.
        customer_changes = may_change_customer(session, settings, actor_id, followup.customer)
        status_before = followup.status_after
        changed = _save_followup(session, followup, entry, followup_version, actor_id, now)
        if customer_changes:
            changed += _save_customer(
                session, followup, entry, customer_version, actor_id, now, status_before
            )
        return changed


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in wanted.items() if current.get(key) != value}


def _ago(at: datetime, now: datetime) -> Text:
    """How long ago a change was made, in words any reader's language has (no zone needed)."""
    elapsed = max(now - at, timedelta(0))
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return _n("{count} minute ago", "{count} minutes ago", minutes)
    if minutes < 48 * 60:
        return _n("{count} hour ago", "{count} hours ago", minutes // 60)
    return _n("{count} day ago", "{count} days ago", minutes // (24 * 60))


def _conflict(
    session: Session, entity: str, entity_id: int, since_version: int, now: datetime
) -> FormError:
    latest: ChangeLog | None = queries.latest_change(session, entity, entity_id)
    if latest is None:
        message = (
            _(
                "Someone changed this follow-up after you opened the form (version {version}). "
                "Nothing was saved — close the form and press Edit again to see their change.",
                version=str(since_version),
            )
            if entity == "followup"
            else _(
                "Someone changed this customer after you opened the form (version {version}). "
                "Nothing was saved — close the form and press Edit again to see their change.",
                version=str(since_version),
            )
        )
        return FormError({CONFLICT_BLOCK: message})
    params: dict[str, object] = {
        "who": queries.user_names(session, [latest.actor_id]).get(latest.actor_id, latest.actor_id),
        "fields": field_list(sorted((latest.after or {}).keys())),
        "ago": _ago(latest.at, now),
        "version": str(since_version),
    }
    message = (
        _(
            "{who} changed this follow-up ({fields}) {ago}, after you opened the form "
            "(version {version}). Nothing was saved — close the form and press Edit again to "
            "see their change.",
            **params,
        )
        if entity == "followup"
        else _(
            "{who} changed this customer ({fields}) {ago}, after you opened the form "
            "(version {version}). Nothing was saved — close the form and press Edit again to "
            "see their change.",
            **params,
        )
    )
    return FormError({CONFLICT_BLOCK: message})


def _conditional_update(
    session: Session,
    model: type[FollowUp] | type[Customer],
    row_id: int,
    version: int,
    values: dict[str, Any],
) -> bool:
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.version == version)
        .values(**values, version=model.version + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _save_followup(
    session: Session,
    followup: FollowUp,
    entry: ValidFollowup,
    version: int,
    actor_id: str,
    now: datetime,
) -> list[str]:
    wanted: dict[str, Any] = {
        "contacted_at": entry.contacted_at,
        "method": entry.method,
        "summary": entry.summary,
        "feedback": entry.feedback,
        "status_after": entry.status,
        "owner_id": entry.owner_id,
        "next_action": entry.next_action or followup.next_action,
        "notes": entry.notes,
    }
    if entry.next_at is not None:
        wanted["next_at"] = entry.next_at.at_utc
    before = {key: getattr(followup, key) for key in wanted}
    changes = _diff(before, wanted)
    if followup.version != version:
        raise _conflict(session, "followup", followup.id, version, now)
    if not changes:
        return []
    if "next_at" in changes and followup.state == "open":
        changes.update(remind_at=changes["next_at"], escalated=False)
    if not _conditional_update(session, FollowUp, followup.id, version, changes):
        raise _conflict(session, "followup", followup.id, version, now)
    session.refresh(followup)
    _log_edit(session, "followup", followup.id, before, changes, actor_id, now)
    return [key for key in changes if key not in ("remind_at", "escalated")]


def _save_customer(
    session: Session,
    followup: FollowUp,
    entry: ValidFollowup,
    version: int,
    actor_id: str,
    now: datetime,
    status_before: str,
) -> list[str]:
    customer = followup.customer
    wanted: dict[str, Any] = {
        "name": entry.customer_name,
        "company": entry.company,
        "phone_e164": entry.phone_e164 or customer.phone_e164,
        "email": entry.email or customer.email,
    }
    # The form shows this entry's status; only a change made in it moves the customer's status
    # (fixing a typo in an old entry must not undo a later "won").
    if entry.status != status_before:
        wanted["status"] = entry.status
    before = {key: getattr(customer, key) for key in wanted}
    changes = _diff(before, wanted)
    if customer.version != version:
        raise _conflict(session, "customer", customer.id, version, now)
    if not changes:
        return []
    check_phone_free(session, changes.get("phone_e164"), customer)
    if changes.get("email") and queries.email_taken_by_other(
        session, changes["email"], customer.id
    ):
        raise FormError({"email": _("This email already belongs to another customer.")})
    changes.update(
        name_key=normalize_person(wanted["name"]),
        company_key=normalize_company(wanted["company"]),
        updated_at=now,
    )
    if not _conditional_update(session, Customer, customer.id, version, changes):
        raise _conflict(session, "customer", customer.id, version, now)
    session.refresh(customer)
    visible = {k: v for k, v in changes.items() if k in wanted}
    _log_edit(session, "customer", customer.id, before, visible, actor_id, now)
    return list(visible)


def _log_edit(
    session: Session,
    entity: str,
    entity_id: int,
    before: dict[str, Any],
    changes: dict[str, Any],
    actor_id: str,
    now: datetime,
) -> None:
    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    fields: Sequence[str] = [k for k in changes if k in before]
    queries.log_change(
        session,
        actor_id=actor_id,
        entity=entity,
        entity_id=entity_id,
        action="edit",
        before={k: plain(before[k]) for k in fields},
        after={k: plain(changes[k]) for k in fields},
        at=now,
    )
