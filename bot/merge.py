"""Merging two customers into one, and undoing it from the change log.

Duplicates happen (a rep saves "Wang Lei" with a new mobile number instead of finding the old
record), and every later follow-up then splits between two cards. A merge moves every follow-up
of one customer onto the other, lets the kept customer take the phone or email it lacks (never
overwriting), and removes the other row.

Everything an undo needs is in the merge's own change_log row — a full snapshot of the removed
customer, the ids of the follow-ups moved and the contact fields filled in — so undo reads no
other table and works for as long as the removed customer's id is still free.

Only admins and managers merge: a merge rewrites two customers' histories at once, which is a
team lead's call, so a rep is refused even for their own customers. A manager must be allowed
to act on both customers' owners (see bot.permissions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeGuard

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from bot.followups import FormError
from bot.i18n import _
from bot.permissions import NotAllowedError, require_may_act_on, role_of
from bot.settings import Settings
from storage import queries
from storage.db import Database
from storage.models import CONTACT_HASHES, ChangeLog, Customer, FollowUp, UTCDateTime

# FormError keys: the merge modal's block ids, and the undo button's action id.
KEEP_BLOCK: Final = "merge_keep"
AWAY_BLOCK: Final = "merge_away"
UNDO_KEY: Final = "merge_undo"

CONTACT_FIELDS: Final = ("phone_e164", "email")
LOOKUP_HASHES: Final = frozenset(hashed for _, hashed in CONTACT_HASHES)
MERGE_ACTION: Final = "merge"
UNMERGE_ACTION: Final = "unmerge"
CUSTOMER_ENTITY: Final = "customer"

NOT_A_MERGE: Final = _("That isn't a merge the bot can undo.")


@dataclass(frozen=True)
class MergeResult:
    """For a merge, `log_id` is the merge's change_log row; for an undo, the unmerge row."""

    kept_id: int
    merged_id: int
    moved_followups: int
    log_id: int


class MergeNotAllowedError(NotAllowedError):
    """The actor is a rep: reps may not merge at all, whoever owns the customers."""


class AlreadyUndoneError(FormError):
    """The merge was undone before; undoing it again changes nothing."""

    def __init__(self, merge_log_id: int) -> None:
        super().__init__({UNDO_KEY: _("This merge was already undone — nothing changed.")})
        self.merge_log_id = merge_log_id


@dataclass(frozen=True)
class _MergeRecord:
    """A merge's change_log row, read back and checked: what undo has to put back."""

    log_id: int
    kept_id: int
    merged_id: int
    snapshot: dict[str, Any]
    followup_ids: tuple[int, ...]
    filled: dict[str, str]


# --- merge -----------------------------------------------------------------------------------


def merge_customers(
    db: Database,
    settings: Settings,
    *,
    actor_id: str,
    keep_id: int,
    merge_id: int,
    now: datetime,
) -> MergeResult:
    """Merge customer `merge_id` into `keep_id` in one transaction; raise before changing anything
    if the ids are bad (FormError, keyed by the modal's block ids) or the actor may not."""
    if keep_id == merge_id:
        raise FormError(
            {AWAY_BLOCK: _("That's the same customer twice — pick two different ones.")}
        )
    with db.transaction() as session:
        found = _lock_customers(session, (keep_id, merge_id))
        missing = {
            block: _("That customer no longer exists — pick again.")
            for block, customer_id in ((KEEP_BLOCK, keep_id), (AWAY_BLOCK, merge_id))
            if customer_id not in found
        }
        if missing:
            raise FormError(missing)
        kept, away = found[keep_id], found[merge_id]
        _require_may_merge(session, settings, actor_id, (away.owner_id, kept.owner_id))
        snapshot = customer_snapshot(away)
        filled = {
            field: value
            for field in CONTACT_FIELDS
            if getattr(kept, field) is None and (value := getattr(away, field)) is not None
        }
        moved = _move_followups(
            session,
            _followups_of(session, away.id),
            to_id=kept.id,
            actor_id=actor_id,
            action=MERGE_ACTION,
            now=now,
        )
        # The row must be gone before its phone and email can be given to the kept customer:
        # both are unique, and the has_contact check forbids blanking them on the row instead.
        session.delete(away)
        session.flush()
        for field, value in filled.items():
            setattr(kept, field, value)
        queries.record_change(
            session,
            kept,
            actor_id=actor_id,
            action=MERGE_ACTION,
            before=snapshot,
            after={"into": kept.id, "followups": moved, "filled": filled},
            at=now,
        )
        session.flush()
        log_id = _latest_log_id(session, kept.id, MERGE_ACTION)
        return MergeResult(kept.id, merge_id, len(moved), log_id)


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    """Every column of the row (its id included), datetimes as ISO strings: JSON for the log."""
    snapshot: dict[str, Any] = {}
    for attribute in inspect(Customer).column_attrs:
        if attribute.key in LOOKUP_HASHES:
            continue  # derived from phone and email, with whatever key is current at the time
        value = getattr(customer, attribute.key)
        snapshot[attribute.key] = value.isoformat() if isinstance(value, datetime) else value
    return snapshot


# --- undo ------------------------------------------------------------------------------------


def undo_merge(
    db: Database, settings: Settings, *, actor_id: str, log_id: int, now: datetime
) -> MergeResult:
    """Put back what the merge logged as `log_id` changed, in one transaction.

    Raises AlreadyUndoneError (a FormError) if it was undone before, FormError if it can't be
    undone any more, NotAllowedError if the actor may not merge these customers' owners.
    """
    with db.transaction() as session:
        record = _read_merge_log(session.get(ChangeLog, log_id))
        # Locking the kept row first serialises two presses of Undo: the second one waits here
        # and then sees the first one's unmerge row.
        kept = _lock_customers(session, (record.kept_id,)).get(record.kept_id)
        if _was_undone(session, record):
            raise AlreadyUndoneError(record.log_id)
        if kept is None:
            raise FormError(
                {
                    UNDO_KEY: _(
                        "The customer this was merged into (#{id}) no longer exists — "
                        "undo the later merge first.",
                        id=str(record.kept_id),
                    )
                }
            )
        merged_owner = str(record.snapshot.get("owner_id") or "")
        _require_may_merge(session, settings, actor_id, (merged_owner, kept.owner_id))
        if session.get(Customer, record.merged_id) is not None:
            raise FormError(
                {
                    UNDO_KEY: _(
                        "Customer id #{id} has been given to another customer since, "
                        "so this merge can't be undone.",
                        id=str(record.merged_id),
                    )
                }
            )
        cleared = _clear_filled(session, kept, record.filled)
        restored = _restore(record.snapshot)
        _require_contacts_free(session, restored)
        session.add(restored)
        session.flush()
        moved = _move_followups(
            session,
            _followups_among(session, record.followup_ids, customer_id=kept.id),
            to_id=restored.id,
            actor_id=actor_id,
            action=UNMERGE_ACTION,
            now=now,
        )
        marker = {"merge_log_id": record.log_id}
        queries.record_change(
            session,
            restored,
            actor_id=actor_id,
            action=UNMERGE_ACTION,
            before=marker,
            after={"restored": restored.id, "from": kept.id, "followups": moved},
            at=now,
        )
        queries.record_change(
            session,
            kept,
            actor_id=actor_id,
            action=UNMERGE_ACTION,
            before={**marker, "cleared": cleared},
            after={"restored": restored.id, "followups": moved, "cleared": sorted(cleared)},
            at=now,
        )
        session.flush()
        unmerge_log_id = _latest_log_id(session, kept.id, UNMERGE_ACTION)
        return MergeResult(kept.id, restored.id, len(moved), unmerge_log_id)


def _read_merge_log(entry: ChangeLog | None) -> _MergeRecord:
    """The merge row's contents, checked field by field: the log is JSON and outlives the code
    that wrote it, so a row that doesn't look like a merge is refused rather than half-undone."""
    if (
        entry is None
        or entry.entity != CUSTOMER_ENTITY
        or entry.action != MERGE_ACTION
        or entry.entity_id is None
    ):
        raise FormError({UNDO_KEY: NOT_A_MERGE})
    before, after = entry.before or {}, entry.after or {}
    merged_id, kept_id = before.get("id"), after.get("into")
    followups, filled = after.get("followups"), after.get("filled")
    if not _is_id(merged_id) or not (
        kept_id == entry.entity_id
        and isinstance(followups, list)
        and all(_is_id(f) for f in followups)
        and isinstance(filled, dict)
        and all(k in CONTACT_FIELDS and isinstance(v, str) for k, v in filled.items())
    ):
        raise FormError({UNDO_KEY: NOT_A_MERGE})
    return _MergeRecord(
        log_id=entry.id,
        kept_id=entry.entity_id,
        merged_id=merged_id,
        snapshot=dict(before),
        followup_ids=tuple(followups),
        filled=dict(filled),
    )


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _was_undone(session: Session, record: _MergeRecord) -> bool:
    unmerges = session.scalars(
        select(ChangeLog).where(
            ChangeLog.entity == CUSTOMER_ENTITY,
            ChangeLog.entity_id == record.kept_id,
            ChangeLog.action == UNMERGE_ACTION,
        )
    )
    return any((row.before or {}).get("merge_log_id") == record.log_id for row in unmerges)


def _clear_filled(session: Session, kept: Customer, filled: dict[str, str]) -> dict[str, str]:
    """Take back the contact fields the merge gave `kept`, unless someone has changed them since
    (then they are the kept customer's own now). Returns what was cleared."""
    cleared = {field: value for field, value in filled.items() if getattr(kept, field) == value}
    if cleared and all(
        field in cleared or getattr(kept, field) is None for field in CONTACT_FIELDS
    ):
        raise FormError(
            {
                UNDO_KEY: _(
                    "Undoing would leave the kept customer with no phone or email — "
                    "add one to them first."
                )
            }
        )
    for field in cleared:
        setattr(kept, field, None)
    # Flushed before the restored row is inserted, which takes these values back (unique).
    session.flush()
    return cleared


def _restore(snapshot: dict[str, Any]) -> Customer:
    """The removed customer as the snapshot shows it; columns added since get their defaults."""
    values: dict[str, Any] = {}
    for attribute in inspect(Customer).column_attrs:
        if attribute.key not in snapshot:
            continue
        raw = snapshot[attribute.key]
        is_moment = isinstance(attribute.columns[0].type, UTCDateTime)
        values[attribute.key] = (
            datetime.fromisoformat(raw) if is_moment and isinstance(raw, str) else raw
        )
    return Customer(**values)


def _require_contacts_free(session: Session, restored: Customer) -> None:
    """The removed customer's phone or email may have been given to someone else since."""
    for field in CONTACT_FIELDS:
        value = getattr(restored, field)
        if value is None:
            continue
        holder = queries.find_customer_by_contact(
            session,
            phone_e164=value if field == "phone_e164" else None,
            email=value if field == "email" else None,
        )
        if holder is not None:
            raise FormError(
                {
                    UNDO_KEY: _(
                        "{contact} now belongs to {name} · {company} (#{id}), "
                        "so this merge can't be undone.",
                        contact=value,
                        name=holder.name,
                        company=holder.company,
                        id=str(holder.id),
                    )
                }
            )


# --- shared ----------------------------------------------------------------------------------


def _require_may_merge(
    session: Session, settings: Settings, actor_id: str, owners: Sequence[str]
) -> None:
    if role_of(session, settings, actor_id) == "rep":
        raise MergeNotAllowedError(owners[0])
    for owner_id in dict.fromkeys(owners):
        require_may_act_on(session, settings, actor_id=actor_id, owner_id=owner_id)


def _lock_customers(session: Session, ids: Iterable[int]) -> dict[int, Customer]:
    """The customers with these ids, each row locked (PostgreSQL) one at a time in id order, so
    two merges of the same pair, whichever way round, can't deadlock."""
    found: dict[int, Customer] = {}
    for customer_id in sorted(set(ids)):
        customer = session.scalars(
            select(Customer).where(Customer.id == customer_id).with_for_update()
        ).first()
        if customer is not None:
            found[customer_id] = customer
    return found


def _followups_of(session: Session, customer_id: int) -> Sequence[FollowUp]:
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.customer_id == customer_id)
        .order_by(FollowUp.id)
        .with_for_update()
    ).all()


def _followups_among(
    session: Session, ids: Sequence[int], *, customer_id: int
) -> Sequence[FollowUp]:
    """Those of `ids` still on `customer_id`: undo moves back exactly what the merge moved."""
    if not ids:
        return []
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.id.in_(ids), FollowUp.customer_id == customer_id)
        .order_by(FollowUp.id)
        .with_for_update()
    ).all()


def _move_followups(
    session: Session,
    followups: Sequence[FollowUp],
    *,
    to_id: int,
    actor_id: str,
    action: str,
    now: datetime,
) -> list[int]:
    moved: list[int] = []
    for followup in followups:
        before = followup.customer_id
        followup.customer_id = to_id
        queries.record_change(
            session,
            followup,
            actor_id=actor_id,
            action=action,
            before={"customer_id": before},
            after={"customer_id": to_id},
            at=now,
        )
        moved.append(followup.id)
    # Written before the customer row they left is deleted (the foreign key restricts that).
    session.flush()
    return moved


def _latest_log_id(session: Session, customer_id: int, action: str) -> int:
    """The id of the row record_change just wrote (it doesn't return it). The customer's row is
    locked by this transaction, so no other merge or undo of it can have logged in between."""
    log_id = session.scalar(
        select(func.max(ChangeLog.id)).where(
            ChangeLog.entity == CUSTOMER_ENTITY,
            ChangeLog.entity_id == customer_id,
            ChangeLog.action == action,
        )
    )
    if log_id is None:
        raise AssertionError("record_change wrote no change_log row")
    return int(log_id)


# --- for the Slack side ----------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSummary:
    """A merge as people read it, from its log row: names, not just ids."""

    log_id: int
    kept_id: int
    kept_name: str | None  # None if the kept customer no longer exists
    kept_company: str | None
    merged_id: int
    merged_name: str
    merged_company: str
    moved_followups: int
    filled_fields: tuple[str, ...]
    followup_owners: tuple[str, ...]  # whose lists (Home tabs) show the moved follow-ups


def merge_summary(db: Database, log_id: int) -> MergeSummary | None:
    with db.reader() as session:
        try:
            record = _read_merge_log(session.get(ChangeLog, log_id))
        except FormError:
            return None
        kept = session.get(Customer, record.kept_id)
        owners = (
            session.scalars(
                select(FollowUp.owner_id)
                .where(FollowUp.id.in_(record.followup_ids))
                .distinct()
                .order_by(FollowUp.owner_id)
            ).all()
            if record.followup_ids
            else []
        )
        return MergeSummary(
            log_id=record.log_id,
            kept_id=record.kept_id,
            kept_name=kept.name if kept else None,
            kept_company=kept.company if kept else None,
            merged_id=record.merged_id,
            merged_name=str(record.snapshot.get("name") or ""),
            merged_company=str(record.snapshot.get("company") or ""),
            moved_followups=len(record.followup_ids),
            filled_fields=tuple(sorted(record.filled)),
            followup_owners=tuple(owners),
        )


def cached_names(db: Database, user_ids: Sequence[str]) -> dict[str, str]:
    """Names already cached from Slack. Type-ahead must answer within Slack's 3 seconds, so it
    never waits on users.info; an owner not cached yet is shown by id."""
    with db.reader() as session:
        return queries.user_names(session, list(dict.fromkeys(user_ids)))
