"""Who may act on what. One check, used by every path that changes a follow-up."""

from __future__ import annotations

import re

from bot.settings import Settings

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class NotAllowedError(Exception):
    """The actor may not touch this record; `owner_id` is who may."""

    def __init__(self, owner_id: str) -> None:
        super().__init__(owner_id)
        self.owner_id = owner_id


def may_act_on(settings: Settings, *, actor_id: str, owner_id: str) -> bool:
    return actor_id == owner_id or actor_id in settings.admins


def require_may_act_on(settings: Settings, *, actor_id: str, owner_id: str) -> None:
    if not may_act_on(settings, actor_id=actor_id, owner_id=owner_id):
        raise NotAllowedError(owner_id)
