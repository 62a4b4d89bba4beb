"""Telling the person who pressed or typed something why it didn't work, wherever they were."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services import Services

logger = logging.getLogger(__name__)


def tell_privately(
    services: Services, client: WebClient, body: dict[str, Any], respond: Respond, text: str
) -> None:
    """An ephemeral reply where Slack gave a response_url (messages, slash commands), else a DM:
    buttons on the Home tab and in modals come without one, and the person must still be told."""
    if respond.response_url:
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        logger.warning("nobody to tell: %s", text)
        return
    try:
        client.chat_postMessage(channel=services.users.dm_channel(user_id), text=text)
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("couldn't tell %s %r: %s", user_id, text, error)
