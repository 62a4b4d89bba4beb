"""Looking customers up: `/followup find <name | company | phone | email>` and customer cards.

Anyone may find a customer (that's how a rep learns a colleague already owns them), but phone
and email are shown in full only to the owner and admins; everyone else sees them masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.matching import Candidate, classify_query, rank_customers
from bot.permissions import may_act_on
from bot.settings import Settings
from bot.validation import mask_email, mask_phone
from storage import queries
from storage.db import Database
from storage.models import Customer, FollowUp

MAX_RESULTS = 10
TIMELINE_LENGTH = 10


@dataclass(frozen=True)
class CustomerHit:
    id: int
    name: str
    company: str
    owner_id: str
    status: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class TimelineEntry:
    contacted_at: datetime
    author_id: str
    method: str
    summary: str
    feedback: str
    next_at: datetime
    next_action: str
    state: str
    edited_by: str | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True)
class CustomerCard:
    customer: CustomerHit
    timeline: tuple[TimelineEntry, ...]
    contact_masked: bool


def _hit(customer: Customer, *, masked: bool) -> CustomerHit:
    phone, email = customer.phone_e164, customer.email
    if masked:
        phone = mask_phone(phone) if phone else None
        email = mask_email(email) if email else None
    return CustomerHit(
        customer.id,
        customer.name,
        customer.company,
        customer.owner_id,
        customer.status,
        phone,
        email,
    )


def _masked_for(session: Session, settings: Settings, viewer_id: str, customer: Customer) -> bool:
    return not may_act_on(session, settings, actor_id=viewer_id, owner_id=customer.owner_id)


def find_customers(
    db: Database, settings: Settings, query: str, *, viewer_id: str
) -> list[CustomerHit]:
    """Best matches first: exact for phone and email, fuzzy for names and companies."""
    kind, value = classify_query(query, settings.default_phone_region)
    with db.reader() as session:
        if kind in ("phone", "email"):
            found = queries.find_customer_by_contact(
                session,
                phone_e164=value if kind == "phone" else None,
                email=value if kind == "email" else None,
            )
            customers = [found] if found is not None else []
        else:
            candidates = [Candidate(*row) for row in queries.customer_candidates(session)]
            ranked = rank_customers(
                value, candidates, default_region=settings.default_phone_region, limit=MAX_RESULTS
            )
            by_id = {
                c.id: c for c in queries.customers_by_ids(session, [m.candidate.id for m in ranked])
            }
            customers = [by_id[m.candidate.id] for m in ranked if m.candidate.id in by_id]
        return [_hit(c, masked=_masked_for(session, settings, viewer_id, c)) for c in customers]


def _entry(session: Session, followup: FollowUp) -> TimelineEntry:
    edited = queries.latest_change(session, "followup", followup.id, action="edit")
    return TimelineEntry(
        followup.contacted_at,
        followup.author_id,
        followup.method,
        followup.summary,
        followup.feedback,
        followup.next_at,
        followup.next_action,
        followup.state,
        edited_by=edited.actor_id if edited else None,
        edited_at=edited.at if edited else None,
    )


def customer_card(
    db: Database, settings: Settings, customer_id: int, *, viewer_id: str
) -> CustomerCard | None:
    with db.reader() as session:
        customer = queries.get_customer(session, customer_id)
        if customer is None:
            return None
        masked = _masked_for(session, settings, viewer_id, customer)
        # Someone else's customer: who owns it is shown (so nobody chases them twice), what
        # was said is not.
        timeline = (
            ()
            if masked
            else tuple(
                _entry(session, f)
                for f in queries.followups_of_customer(session, customer.id, limit=TIMELINE_LENGTH)
            )
        )
        return CustomerCard(_hit(customer, masked=masked), timeline, masked)
