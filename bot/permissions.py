"""Who may see and change what. One set of checks, used by every read and write path.

Roles: admins come from ADMIN_USER_IDS; managers and their reps from the team table (managed by
admins with `/followup team`); everyone else is a rep of no one. A rep sees and changes their own
customers and follow-ups; a manager also those of their reps; an admin everything.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy.orm import Session

from bot.settings import Settings
from storage import team

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")

Role = Literal["admin", "manager", "rep"]


class NotAllowedError(Exception):
    """The actor may not touch this record; `owner_id` is whose it is."""

    def __init__(self, owner_id: str) -> None:
        super().__init__(owner_id)
        self.owner_id = owner_id


def role_of(session: Session, settings: Settings, user_id: str) -> Role:
    if user_id in settings.admins:
        return "admin"
    return "manager" if team.is_manager(session, user_id) else "rep"


def may_act_on(session: Session, settings: Settings, *, actor_id: str, owner_id: str) -> bool:
    """The owner, the owner's manager, or an admin."""
    if actor_id == owner_id or actor_id in settings.admins:
        return True
    return team.manager_of(session, owner_id) == actor_id and team.is_manager(session, actor_id)


def require_may_act_on(
    session: Session, settings: Settings, *, actor_id: str, owner_id: str
) -> None:
    if not may_act_on(session, settings, actor_id=actor_id, owner_id=owner_id):
        raise NotAllowedError(owner_id)


def visible_owners(session: Session, settings: Settings, viewer_id: str) -> frozenset[str] | None:
    """Whose records the viewer may see in full: None means everyone's (an admin)."""
    if viewer_id in settings.admins:
        return None
    return frozenset({viewer_id, *team.reps_of(session, viewer_id)})


def escalation_recipients(session: Session, settings: Settings, owner_id: str) -> list[str]:
    """Who hears about an owner's overdue follow-up: their manager, else the admins."""
    manager = team.manager_of(session, owner_id)
    if manager and team.is_manager(session, manager):
        return [manager]
    return sorted(settings.admins - {owner_id})
