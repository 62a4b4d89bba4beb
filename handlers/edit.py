"""Editing a logged follow-up: `/followup edit`, and the Edit button on a confirmation."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.edits import NEXT_AT_FORMAT, Editable, load_editable
from bot.i18n import Translator, translator
from bot.permissions import NotAllowedError
from bot.services import Services, services_from
from handlers.blocks import EDIT_FOLLOWUP, ModalMetadata, ModalPrefill
from handlers.form import parse_id
from handlers.modal import open_followup_modal

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(EDIT_FOLLOWUP)(on_edit_button)


def edit_prefill(
    services: Services, editable: Editable, user_id: str, *, t: Translator | None = None
) -> ModalPrefill:
    followup, customer = editable.followup, editable.customer
    prefs = services.users.prefs(user_id)
    zone, t = prefs.zone, t or translator(prefs.language)
    return ModalPrefill(
        customer_name=customer.name,
        company=customer.company,
        # A colleague's customer: contacts stay hidden (blank means "unchanged" on save).
        phone=(customer.phone_e164 or "") if editable.may_change_customer else "",
        email=(customer.email or "") if editable.may_change_customer else "",
        owner_id=followup.owner_id,
        status=followup.status_after,
        existing_note=t.gettext(
            "Editing the follow-up of {day} (#{id}).",
            day=t.day(followup.contacted_at, zone, services.clock()),
            id=str(followup.id),
        ),
        contacted_at=followup.contacted_at,
        method=followup.method,
        summary=followup.summary,
        feedback=followup.feedback,
        next_at_text=followup.next_at.astimezone(zone).strftime(NEXT_AT_FORMAT),
        next_action=followup.next_action,
        notes=followup.notes or "",
    )


def open_edit(
    services: Services,
    client: WebClient,
    *,
    trigger_id: str,
    user_id: str,
    channel_id: str | None,
    followup_id: int | None,
    t: Translator | None = None,
) -> str | None:
    """Open the edit form; a sentence for the user (in `t`'s language, by default theirs) when it
    can't be opened."""
    t = t or services.users.translator(user_id)
    try:
        editable = load_editable(
            services.db, services.settings, actor_id=user_id, followup_id=followup_id
        )
    except NotAllowedError as refused:
        return t.gettext(
            "That follow-up belongs to <@{owner}> — only they, their manager or an admin can edit "
            "it.",
            owner=refused.owner_id,
        )
    if editable is None:
        return t.gettext("You haven't logged a follow-up yet — /followup logs one.")
    metadata = ModalMetadata(
        channel_id=channel_id,
        edit_followup_id=editable.followup.id,
        followup_version=editable.followup_version,
        customer_version=editable.customer_version,
    )
    opened = open_followup_modal(
        services,
        client,
        trigger_id=trigger_id,
        user_id=user_id,
        channel_id=channel_id,
        prefill=edit_prefill(services, editable, user_id, t=t),
        metadata=metadata,
    )
    return None if opened else t.gettext("Couldn't open the edit form just now — please try again.")


def on_edit_button(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    user = body.get("user")
    user_id = str(user.get("id") or "") if isinstance(user, dict) else ""
    t = services.users.translator(user_id)
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    value = action.get("value") if isinstance(action, dict) else None
    if parse_id(value) is None or not isinstance(value, str):
        respond(
            text=t.gettext("That button doesn't point at a follow-up."), response_type="ephemeral"
        )
        return
    channel = body.get("channel")
    problem = open_edit(
        services,
        client,
        trigger_id=str(body.get("trigger_id") or ""),
        user_id=user_id,
        channel_id=channel.get("id") if isinstance(channel, dict) else None,
        followup_id=int(value),
        t=t,
    )
    if problem:
        respond(text=problem, response_type="ephemeral", replace_original=False)
