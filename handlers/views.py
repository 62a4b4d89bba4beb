"""Modal submissions: validate on the server, store, then echo what was understood."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.followups import FormContext, FormError, record_followup, validate_followup
from bot.permissions import SLACK_USER_ID
from bot.services import Services, services_from
from bot.timefmt import describe_moment
from handlers.blocks import FOLLOWUP_CALLBACK, Confirmation, ModalMetadata, confirmation_message
from handlers.form import read_followup_form
from handlers.home import publish_home

logger = logging.getLogger(__name__)

SAVE_FAILED = "Couldn't save just now — your entry is still here, press Save again."


def register(app: App) -> None:
    app.view(FOLLOWUP_CALLBACK)(handle_followup_submission)


def _user_id(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def handle_followup_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    services = services_from(context)
    user_id = _user_id(body)
    if not SLACK_USER_ID.match(user_id):
        # Slack always says who submitted; without it nothing can be attributed, so save nothing.
        logger.warning("view_submission without a valid user id; ignored")
        ack(response_action="errors", errors={"customer_name": SAVE_FAILED})
        return
    prefs = services.users.prefs(user_id)
    now = services.clock()
    form_context = FormContext(
        zone=prefs.zone,
        now=now,
        phone_region=services.settings.default_phone_region,
        default_time=services.settings.default_remind_hour,
    )
    try:
        entry = validate_followup(read_followup_form(view), form_context)
    except FormError as problems:
        ack(response_action="errors", errors=problems.errors)
        return
    view_id = view.get("id")
    try:
        recorded = record_followup(
            services.db,
            entry,
            author_id=user_id,
            submission_key=f"view:{view_id}" if isinstance(view_id, str) and view_id else None,
            now=now,
        )
    except SQLAlchemyError:
        logger.exception("saving a follow-up failed; the modal stays open")
        ack(response_action="errors", errors={"customer_name": SAVE_FAILED})
        return
    ack()
    if recorded.already_recorded:
        return  # the first delivery of this submission already confirmed it
    message = confirmation_message(
        Confirmation(
            customer_name=recorded.customer.name,
            company=recorded.customer.company,
            next_when=describe_moment(recorded.followup.next_at, prefs.zone, now),
            next_action=recorded.followup.next_action,
            owner_id=recorded.followup.owner_id,
            author_id=user_id,
            customer_created=recorded.customer_created,
        )
    )
    channel_id = ModalMetadata.decode(view.get("private_metadata")).channel_id
    send_private(services, client, user_id=user_id, channel_id=channel_id, message=message)
    for affected in dict.fromkeys((recorded.followup.owner_id, user_id)):
        publish_home(services, client, affected)


def send_private(
    services: Services,
    client: WebClient,
    *,
    user_id: str,
    channel_id: str | None,
    message: dict[str, Any],
) -> None:
    """Ephemeral in the channel the rep worked in; a DM when that isn't possible."""
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, **message)
            return
        except SlackApiError as error:
            logger.info("ephemeral reply failed (%s); sending a DM", error.response.get("error"))
    try:
        dm = client.conversations_open(users=user_id)
        client.chat_postMessage(channel=dm["channel"]["id"], **message)
    except SlackApiError as error:
        logger.warning("could not confirm to %s: %s", user_id, error.response.get("error"))
