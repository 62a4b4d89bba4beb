"""Events: keep each user's time zone fresh when they change it in Slack."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.permissions import SLACK_USER_ID
from bot.services import services_from


def register(app: App) -> None:
    app.event("user_change")(on_user_change)


def on_user_change(event: dict[str, Any], context: BoltContext) -> None:
    user = event.get("user")
    if not isinstance(user, dict) or not SLACK_USER_ID.match(str(user.get("id") or "")):
        return
    tz, locale = user.get("tz"), user.get("locale")
    services_from(context).users.remember_profile(
        user["id"],
        tz=tz if isinstance(tz, str) else None,
        locale=locale if isinstance(locale, str) else None,
    )
