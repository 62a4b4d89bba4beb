"""Opening the follow-up form, offering existing customers as you type, and refilling the form
when one is picked — shared by /followup, the reminder and Home buttons, and lookups."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Final

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.followups import CustomerSnapshot, find_customer_by_id
from bot.i18n import translator
from bot.lookup import find_customers
from bot.services import Services, services_from
from handlers.blocks import (
    EXISTING_CUSTOMER,
    ModalContext,
    ModalMetadata,
    ModalPrefill,
    followup_modal,
    plain,
    status_label,
)
from handlers.form import parse_id, selected_id, state_values

logger = logging.getLogger(__name__)

MAX_OPTIONS: Final = 20


def register(app: App) -> None:
    app.options(EXISTING_CUSTOMER)(on_customer_options)
    app.action(EXISTING_CUSTOMER)(on_customer_picked)


def customer_label(snapshot: CustomerSnapshot) -> str:
    return f"{snapshot.name} · {snapshot.company}"[:75]


def prefill_from(
    snapshot: CustomerSnapshot | None, typed_name: str, *, services: Services, viewer_id: str
) -> ModalPrefill:
    if snapshot is None:
        return ModalPrefill(customer_name=typed_name)
    return ModalPrefill(
        customer_name=snapshot.name,
        company=snapshot.company,
        phone=snapshot.phone_e164 or "",
        email=snapshot.email or "",
        owner_id=snapshot.owner_id,
        status=snapshot.status,
        existing_note=_ownership_note(snapshot, services=services, viewer_id=viewer_id),
        customer_id=snapshot.id,
        customer_label=customer_label(snapshot),
    )


def _ownership_note(snapshot: CustomerSnapshot, *, services: Services, viewer_id: str) -> str:
    """Whose customer this is, in the viewer's language: parts joined by " · ", each a whole
    phrase, so no translation depends on another's word order."""
    prefs = services.users.prefs(viewer_id)
    t = translator(prefs.language)
    status = status_label(t, snapshot.status)
    if snapshot.owner_id == viewer_id:
        return t.ngettext(
            "Your customer · {status} · {count} follow-up so far",
            "Your customer · {status} · {count} follow-ups so far",
            snapshot.followup_count,
            status=status,
        )
    owner = f"<@{snapshot.owner_id}>"
    if snapshot.owner_since is not None:
        owned = t.gettext(
            "Owned by {owner} since {day} — your follow-up will be added to their record and "
            "they will be told.",
            owner=owner,
            day=t.day(snapshot.owner_since, prefs.zone, services.clock()),
        )
    else:
        owned = t.gettext(
            "Owned by {owner} — your follow-up will be added to their record and they will be "
            "told.",
            owner=owner,
        )
    parts = [owned, status]
    if not snapshot.contact_visible:
        parts.append(t.gettext("Their contact details stay hidden; leave phone and email empty."))
    return " · ".join(parts)


def modal_context(services: Services, user_id: str) -> ModalContext:
    """How the form speaks to `user_id`: their zone and language come from one (cached) look-up."""
    settings = services.settings
    prefs = services.users.prefs(user_id)
    return ModalContext(
        submitter_id=user_id,
        zone_name=prefs.zone.key,
        default_hour=settings.default_remind_hour.strftime("%H:%M"),
        phone_region=settings.default_phone_region,
        now=services.clock(),
        t=translator(prefs.language),
    )


def open_followup_modal(
    services: Services,
    client: WebClient,
    *,
    trigger_id: str,
    user_id: str,
    channel_id: str | None,
    prefill: ModalPrefill,
    metadata: ModalMetadata | None = None,
) -> bool:
    """Open the form; False (and a log line) if Slack refused, e.g. an expired trigger."""
    view = followup_modal(
        prefill=prefill,
        context=modal_context(services, user_id),
        metadata=metadata or ModalMetadata(channel_id=channel_id),
    )
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        logger.warning("views.open failed: %s", error.response.get("error"))
        return False
    return True


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def on_customer_options(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """Type-ahead for the Existing customer picker: the best matches for what was typed."""
    services = services_from(context)
    query = str(body.get("value") or "").strip()[:100]
    hits = (
        find_customers(services.db, services.settings, query, viewer_id=_user(body))
        if query
        else []
    )
    options = [
        {"text": plain(f"{hit.name} · {hit.company}"[:75]), "value": str(hit.id)}
        for hit in hits[:MAX_OPTIONS]
    ]
    ack(options=options)


def _picked_id(body: dict[str, Any]) -> int | None:
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    selected = action.get("selected_option") if isinstance(action, dict) else None
    value = selected.get("value") if isinstance(selected, dict) else None
    return parse_id(value)


def on_customer_picked(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Refill the customer fields (and owner, status) from the picked customer."""
    ack()
    services = services_from(context)
    view = body.get("view")
    if not isinstance(view, dict):
        return
    customer_id = _picked_id(body) or selected_id(state_values(view), EXISTING_CUSTOMER)
    user_id = _user(body)
    snapshot = (
        find_customer_by_id(services.db, services.settings, customer_id, viewer_id=user_id)
        if customer_id is not None
        else None
    )
    if snapshot is None:
        return
    metadata = ModalMetadata.decode(view.get("private_metadata"))
    refilled = followup_modal(
        prefill=prefill_from(snapshot, "", services=services, viewer_id=user_id),
        context=modal_context(services, user_id),
        metadata=replace(metadata, refill=metadata.refill + 1),
    )
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=refilled)
    except SlackApiError as error:
        # hash_conflict: the rep changed something meanwhile; their next pick refills again.
        logger.info("views.update after a pick failed: %s", error.response.get("error"))
