"""Opening the follow-up modal — shared by /followup and, later, buttons that log the next one."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.followups import CustomerSnapshot
from bot.services import Services
from handlers.blocks import ModalMetadata, ModalPrefill, followup_modal

logger = logging.getLogger(__name__)


def prefill_from(snapshot: CustomerSnapshot | None, typed_name: str) -> ModalPrefill:
    if snapshot is None:
        return ModalPrefill(customer_name=typed_name)
    return ModalPrefill(
        customer_name=snapshot.name,
        company=snapshot.company,
        phone=snapshot.phone_e164 or "",
        email=snapshot.email or "",
        owner_id=snapshot.owner_id,
        status=snapshot.status,
        existing_note=(
            f"Existing customer · owner <@{snapshot.owner_id}> · "
            f"{snapshot.followup_count} follow-up(s) so far"
        ),
    )


def open_followup_modal(
    services: Services,
    client: WebClient,
    *,
    trigger_id: str,
    user_id: str,
    channel_id: str | None,
    prefill: ModalPrefill,
) -> bool:
    """Open the form; False (and a log line) if Slack refused, e.g. an expired trigger."""
    settings = services.settings
    zone = services.users.zone(user_id)
    view = followup_modal(
        prefill=prefill,
        submitter_id=user_id,
        zone_name=zone.key,
        default_hour=settings.default_remind_hour.strftime("%H:%M"),
        phone_region=settings.default_phone_region,
        now=services.clock(),
        metadata=ModalMetadata(channel_id=channel_id),
    )
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        logger.warning("views.open failed: %s", error.response.get("error"))
        return False
    return True
