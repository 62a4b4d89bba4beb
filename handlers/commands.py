"""The /followup slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.followups import find_customer_by_name
from bot.services import services_from
from handlers.blocks import help_message
from handlers.modal import open_followup_modal, prefill_from

HELP_WORDS = frozenset({"help", "?", "帮助"})


def register(app: App) -> None:
    app.command("/followup")(handle_followup_command)


def handle_followup_command(
    ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    text = str(command.get("text") or "").strip()
    if text.lower() in HELP_WORDS:
        ack(**help_message())
        return
    ack()
    services = services_from(context)
    snapshot = find_customer_by_name(services.db, text) if text else None
    opened = open_followup_modal(
        services,
        client,
        trigger_id=str(command.get("trigger_id") or ""),
        user_id=str(command.get("user_id") or ""),
        channel_id=command.get("channel_id"),
        prefill=prefill_from(snapshot, text[:100]),
    )
    if not opened:
        respond(
            text="Couldn't open the follow-up form just now — please run /followup again.",
            response_type="ephemeral",
        )
