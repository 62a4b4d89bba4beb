"""Removing personal data: one customer on request, and closed follow-ups past retention.

What stays is anonymous: the customer row's status, owner and dates (so pipeline counts hold) and
each follow-up's dates, method and status — never a name, contact, or anything a rep typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, null, or_, select, update
from sqlalchemy.orm import Session

from storage.models import ChangeLog, Customer, FollowUp, ImportedRow


@dataclass(frozen=True)
class ScrubCounts:
    followups: int
    log_entries: int
    imported_rows: int


def scrub_customer(session: Session, customer: Customer, now: datetime) -> ScrubCounts:
    """Blank every personal field of a customer and their follow-ups, and the change log's copies
    of them. Open follow-ups are closed: nobody should be reminded about an erased customer."""
    customer.name = ""
    customer.company = ""
    customer.name_key = ""
    customer.company_key = ""
    customer.phone_e164 = None
    customer.email = None
    customer.erased_at = now
    followup_ids = session.scalars(
        select(FollowUp.id).where(FollowUp.customer_id == customer.id)
    ).all()
    session.execute(
        update(FollowUp)
        .where(FollowUp.customer_id == customer.id)
        .values(
            summary="",
            feedback="",
            next_action="",
            notes=None,
            remind_at=None,
            claimed_until=None,
            claim_token=None,
            version=FollowUp.version + 1,
        )
    )
    session.execute(
        update(FollowUp)
        .where(FollowUp.customer_id == customer.id, FollowUp.state == "open")
        .values(state="done", done_at=now, version=FollowUp.version + 1)
    )
    log_entries = _scrub_log(session, customer_id=customer.id, followup_ids=followup_ids)
    imported = _forget_imports(session, followup_ids)
    return ScrubCounts(len(followup_ids), log_entries, imported)


def closed_followups_before(session: Session, cutoff: datetime, *, limit: int) -> Sequence[int]:
    """Ids of follow-ups closed before `cutoff`, oldest first, at most `limit`."""
    return session.scalars(
        select(FollowUp.id)
        .where(FollowUp.state == "done", FollowUp.done_at < cutoff)
        .order_by(FollowUp.done_at, FollowUp.id)
        .limit(limit)
    ).all()


def delete_followups(session: Session, followup_ids: Sequence[int]) -> int:
    """Delete follow-ups with their change-log text and import fingerprints (deliveries cascade)."""
    if not followup_ids:
        return 0
    _scrub_log(session, customer_id=None, followup_ids=followup_ids)
    _forget_imports(session, followup_ids)
    result = session.execute(delete(FollowUp).where(FollowUp.id.in_(followup_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _scrub_log(session: Session, *, customer_id: int | None, followup_ids: Sequence[int]) -> int:
    """Keep the fact that something happened (who, when, what kind), drop what it said."""
    about = [and_(ChangeLog.entity == "followup", ChangeLog.entity_id.in_(followup_ids))]
    if customer_id is not None:
        about.append(and_(ChangeLog.entity == "customer", ChangeLog.entity_id == customer_id))
    result = session.execute(
        update(ChangeLog)
        .where(or_(*about))
        # SQL NULL, not JSON null: "nothing recorded here" either way, but unambiguous.
        .values(before=null(), after=null())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _forget_imports(session: Session, followup_ids: Sequence[int]) -> int:
    # A fingerprint is a hash of the spreadsheet row: personal data in another form.
    if not followup_ids:
        return 0
    result = session.execute(delete(ImportedRow).where(ImportedRow.followup_id.in_(followup_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]
