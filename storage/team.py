"""The team table: who is a manager, and which manager each rep reports to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import TeamMember


def is_manager(session: Session, user_id: str) -> bool:
    member = session.get(TeamMember, user_id)
    return member is not None and member.role == "manager"


def manager_of(session: Session, user_id: str) -> str | None:
    member = session.get(TeamMember, user_id)
    return member.manager_id if member is not None else None


def reps_of(session: Session, manager_id: str) -> Sequence[str]:
    return session.scalars(
        select(TeamMember.user_id)
        .where(TeamMember.manager_id == manager_id)
        .order_by(TeamMember.user_id)
    ).all()


def managers(session: Session) -> Sequence[str]:
    return session.scalars(
        select(TeamMember.user_id).where(TeamMember.role == "manager").order_by(TeamMember.user_id)
    ).all()


def members(session: Session) -> Sequence[TeamMember]:
    return session.scalars(select(TeamMember).order_by(TeamMember.user_id)).all()


def set_member(
    session: Session, *, user_id: str, role: str, manager_id: str | None, by: str, at: datetime
) -> TeamMember:
    member = session.get(TeamMember, user_id)
    if member is None:
        member = TeamMember(
            user_id=user_id, role=role, manager_id=manager_id, updated_by=by, updated_at=at
        )
        session.add(member)
    else:
        member.role, member.manager_id, member.updated_by, member.updated_at = (
            role,
            manager_id,
            by,
            at,
        )
    return member


def unassign_reps_of(session: Session, manager_id: str, *, by: str, at: datetime) -> None:
    session.execute(
        update(TeamMember)
        .where(TeamMember.manager_id == manager_id)
        .values(manager_id=None, updated_by=by, updated_at=at)
        .execution_options(synchronize_session=False)
    )
