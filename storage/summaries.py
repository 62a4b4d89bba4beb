"""Queries behind the morning summary, and the per-channel, per-day record that makes it post
exactly once however many bot processes are running."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ChangeLog, Customer, FollowUp, ReminderDelivery, SummaryRun


@dataclass(frozen=True)
class DueRow:
    owner_id: str
    overdue: int
    due_today: int


@dataclass(frozen=True)
class UrgentRow:
    owner_id: str
    customer_name: str
    company: str
    next_action: str
    next_at: datetime


def due_by_owner(
    session: Session, *, start_of_today: datetime, end_of_today: datetime
) -> list[DueRow]:
    """Open follow-ups per owner due before today (overdue) and during today."""
    overdue = func.sum(case((FollowUp.next_at < start_of_today, 1), else_=0))
    today = func.sum(case((FollowUp.next_at >= start_of_today, 1), else_=0))
    rows = session.execute(
        select(FollowUp.owner_id, overdue, today)
        .where(FollowUp.state == "open", FollowUp.next_at < end_of_today)
        .group_by(FollowUp.owner_id)
    ).all()
    return [DueRow(owner, int(late or 0), int(due or 0)) for owner, late, due in rows]


def most_urgent(session: Session, *, end_of_today: datetime, per_owner: int) -> list[UrgentRow]:
    """Each owner's `per_owner` oldest open follow-ups due by the end of today."""
    rank = (
        func.row_number()
        .over(partition_by=FollowUp.owner_id, order_by=(FollowUp.next_at, FollowUp.id))
        .label("rank")
    )
    # The ranked rows carry what is shown, so only the few kept are joined to their customer
    # (joining back to follow-ups by id made PostgreSQL scan the whole table: bench/summary.py).
    ranked = (
        select(
            FollowUp.owner_id,
            FollowUp.customer_id,
            FollowUp.next_action,
            FollowUp.next_at,
            rank,
        )
        .where(FollowUp.state == "open", FollowUp.next_at < end_of_today)
        .subquery()
    )
    rows = session.execute(
        select(
            ranked.c.owner_id,
            Customer.name,
            Customer.company,
            ranked.c.next_action,
            ranked.c.next_at,
        )
        .join(Customer, Customer.id == ranked.c.customer_id)
        .where(ranked.c.rank <= per_owner)
        .order_by(ranked.c.owner_id, ranked.c.next_at)
    ).all()
    return [UrgentRow(*row) for row in rows]


def count_new_customers(session: Session, *, since: datetime, until: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.created_at >= since, Customer.created_at < until)
        )
        or 0
    )


def count_followups_logged(session: Session, *, since: datetime, until: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(FollowUp.created_at >= since, FollowUp.created_at < until)
        )
        or 0
    )


def status_transitions(
    session: Session, *, since: datetime, until: datetime
) -> list[tuple[int, str, str]]:
    """(customer id, from, to) for every customer status change in the window, oldest first."""
    rows = session.execute(
        select(ChangeLog.entity_id, ChangeLog.before, ChangeLog.after)
        .where(
            ChangeLog.entity == "customer",
            ChangeLog.action == "update",
            ChangeLog.at >= since,
            ChangeLog.at < until,
        )
        .order_by(ChangeLog.id)
    ).all()
    found: list[tuple[int, str, str]] = []
    for customer_id, before, after in rows:
        old = (before or {}).get("status")
        new = (after or {}).get("status")
        if customer_id is not None and isinstance(old, str) and isinstance(new, str):
            found.append((int(customer_id), old, new))
    return found


def customers_per_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Customer.status, func.count()).group_by(Customer.status)).all()
    return {status: int(n) for status, n in rows}


def customer_ids_with_status(session: Session, status: str, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        session.scalars(select(Customer.id).where(Customer.id.in_(ids), Customer.status == status))
    )


def count_open_past_due(session: Session, *, before: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(FollowUp.state == "open", FollowUp.next_at < before)
        )
        or 0
    )


def count_undeliverable(session: Session, *, since: datetime, until: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ReminderDelivery)
            .where(
                ReminderDelivery.status == "undeliverable",
                ReminderDelivery.at >= since,
                ReminderDelivery.at < until,
            )
        )
        or 0
    )


def customers_sharing_a_company(
    session: Session,
) -> list[tuple[int, str, str, str | None, str | None, str, str]]:
    """(id, name, company, phone, email, owner, company_key) of every customer whose normalised
    company has another customer too — the only ones that can be duplicates of each other. The
    grouping happens in SQL: at 100,000 customers, most companies have one customer."""
    shared = (
        select(Customer.company_key)
        .where(Customer.erased_at.is_(None), Customer.company_key != "")
        .group_by(Customer.company_key)
        .having(func.count() > 1)
    )
    rows = session.execute(
        select(
            Customer.id,
            Customer.name,
            Customer.company,
            Customer.phone_e164,
            Customer.email,
            Customer.owner_id,
            Customer.company_key,
        )
        .where(Customer.erased_at.is_(None), Customer.company_key.in_(shared))
        .order_by(Customer.id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def followups_logged_by_owner(
    session: Session, *, since: datetime, until: datetime
) -> list[tuple[str, datetime]]:
    rows = session.execute(
        select(FollowUp.owner_id, FollowUp.created_at).where(
            FollowUp.created_at >= since, FollowUp.created_at < until
        )
    ).all()
    return [(owner, created) for owner, created in rows]


# --- exactly one summary per channel per day -----------------------------------------------


def claim_run(
    session: Session,
    *,
    channel_id: str,
    local_date: date,
    as_of: datetime,
    now: datetime,
    lease_until: datetime,
    token: str,
    late: bool,
) -> SummaryRun | None:
    """Today's run for this channel, if this caller gets to post it; None if it's posted or held."""
    try:
        with session.begin_nested():
            run = SummaryRun(
                channel_id=channel_id,
                local_date=local_date,
                status="claimed",
                claimed_until=lease_until,
                claim_token=token,
                as_of=as_of,
                late=late,
            )
            session.add(run)
        return run
    except IntegrityError:
        pass
    # A run exists: take it over only if its holder's lease ran out before it posted.
    taken = session.scalars(
        update(SummaryRun)
        .where(
            SummaryRun.channel_id == channel_id,
            SummaryRun.local_date == local_date,
            SummaryRun.status == "claimed",
            or_(SummaryRun.claimed_until.is_(None), SummaryRun.claimed_until < now),
        )
        .values(claimed_until=lease_until, claim_token=token, as_of=as_of, late=late)
        .returning(SummaryRun.id)
        .execution_options(synchronize_session=False)
    ).all()
    return session.get(SummaryRun, taken[0], populate_existing=True) if taken else None


def mark_posted(
    session: Session,
    *,
    run_id: int,
    token: str,
    message_ts: str,
    posted_at: datetime,
    chart_file_id: str | None,
) -> bool:
    result = session.execute(
        update(SummaryRun)
        .where(SummaryRun.id == run_id, SummaryRun.claim_token == token)
        .values(
            status="posted",
            message_ts=message_ts,
            posted_at=posted_at,
            chart_file_id=chart_file_id,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_chart(session: Session, *, run_id: int, chart_file_id: str) -> None:
    session.execute(
        update(SummaryRun)
        .where(SummaryRun.id == run_id)
        .values(chart_file_id=chart_file_id)
        .execution_options(synchronize_session=False)
    )


def hold_claim(session: Session, *, run_id: int, token: str, until: datetime) -> None:
    """Keep (or, with `until` = now, give up) a claim that couldn't be posted."""
    session.execute(
        update(SummaryRun)
        .where(SummaryRun.id == run_id, SummaryRun.claim_token == token)
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )


def chart_since(session: Session, *, channel_id: str, first: date) -> bool:
    """Was a chart uploaded to this channel on or after `first`?"""
    found = session.scalar(
        select(func.count())
        .select_from(SummaryRun)
        .where(
            SummaryRun.channel_id == channel_id,
            SummaryRun.chart_file_id.is_not(None),
            SummaryRun.local_date >= first,
        )
    )
    return bool(found)


def previous_run_as_of(session: Session, *, channel_id: str, before: date) -> datetime | None:
    return session.scalar(
        select(SummaryRun.as_of)
        .where(
            SummaryRun.channel_id == channel_id,
            SummaryRun.status == "posted",
            SummaryRun.local_date < before,
        )
        .order_by(SummaryRun.local_date.desc())
        .limit(1)
    )


def posted_on(session: Session, *, channel_id: str, local_date: date) -> Any:
    return session.scalar(
        select(SummaryRun.id).where(
            SummaryRun.channel_id == channel_id,
            SummaryRun.local_date == local_date,
            SummaryRun.status == "posted",
        )
    )
