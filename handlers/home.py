"""The App Home tab: a rep's own list, one click from anywhere in Slack."""

from __future__ import annotations

import logging
from typing import Any, Final

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.home import HomeData, ItemGroup, home_data
from bot.i18n import Translator, translator
from bot.permissions import SLACK_USER_ID
from bot.services import Services, services_from
from handlers.blocks import ModalPrefill, escape, mrkdwn, plain
from handlers.lookup_blocks import english, group_title, groups_of, more_line
from handlers.modal import open_followup_modal
from handlers.reminder_blocks import item_actions

logger = logging.getLogger(__name__)

LOG_FOLLOWUP: Final = "home_log_followup"


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)
    app.action(LOG_FOLLOWUP)(on_log_followup)


def on_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab") not in (None, "home"):
        return
    user_id = event.get("user")
    if isinstance(user_id, str):
        publish_home(services_from(context), client, user_id)


def on_log_followup(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    user = body.get("user")
    user_id = str(user.get("id") or "") if isinstance(user, dict) else ""
    open_followup_modal(
        services_from(context),
        client,
        trigger_id=str(body.get("trigger_id") or ""),
        user_id=user_id,
        channel_id=None,
        prefill=ModalPrefill(),
    )


def publish_home(services: Services, client: WebClient, user_id: str) -> None:
    """(Re)draw a user's Home tab, in their language and time zone; called on open and after
    anything that changes their list."""
    if not SLACK_USER_ID.match(user_id):
        return  # not a Slack user (a forged event): nobody's Home to draw
    prefs = services.users.prefs(user_id)
    data = home_data(services.db, user_id, zone=prefs.zone, now=services.clock())
    try:
        client.views_publish(user_id=user_id, view=home_view(data, t=translator(prefs.language)))
    except SlackApiError as error:
        logger.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))


def _group_blocks(
    t: Translator, key: str, group: ItemGroup, data: HomeData
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(group_title(t, key, group))}]
    if not group.items:
        blocks.append({"type": "context", "elements": [mrkdwn(t.gettext("Nothing here."))]})
        return blocks
    for item in group.items:
        line = (
            f"*{escape(item.customer_name)}* · {escape(item.company)}\n"
            f"{escape(item.next_action[:200])} — {t.when(item.due_at, data.zone, data.now)}"
        )
        blocks += [{"type": "section", "text": mrkdwn(line)}, item_actions(item.followup_id, t)]
    more = more_line(t, group)
    if more:
        blocks.append({"type": "context", "elements": [mrkdwn(more)]})
    return blocks


def home_view(data: HomeData, *, t: Translator | None = None) -> dict[str, Any]:
    t = english(t)
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(
                t.gettext("Your follow-ups, in your time zone ({zone}).", zone=data.zone.key)
            ),
            "accessory": {
                "type": "button",
                "action_id": LOG_FOLLOWUP,
                "text": plain(t.gettext("Log follow-up")),
                "style": "primary",
            },
        }
    ]
    for key, group in groups_of(data):
        blocks += _group_blocks(t, key, group, data)
    blocks.append({"type": "header", "text": plain(t.gettext("Recently done"))})
    done_lines = [
        f"• *{escape(d.customer_name)}* · {escape(d.company)} — "
        f"{t.moment(d.done_at, data.zone, data.now)}"
        for d in data.done
    ]
    blocks.append(
        {
            "type": "section",
            "text": mrkdwn("\n".join(done_lines) or t.gettext("Nothing closed yet.")),
        }
    )
    return {"type": "home", "blocks": blocks}
