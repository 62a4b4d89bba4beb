"""Modal submissions: validate on the server, store, then echo what was understood."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.edits import field_label, original_next_at_text, save_edit
from bot.followups import (
    FormContext,
    FormError,
    Recorded,
    ValidFollowup,
    record_followup,
    validate_followup,
)
from bot.i18n import Message, Text, Translator, _, translator
from bot.permissions import SLACK_USER_ID, NotAllowedError
from bot.services import Services, services_from
from handlers.blocks import (
    FOLLOWUP_CALLBACK,
    Confirmation,
    ModalMetadata,
    confirmation_message,
    mrkdwn,
    owner_notice,
)
from handlers.form import read_followup_form
from handlers.home import publish_home

logger = logging.getLogger(__name__)

SAVE_FAILED: Final = _("Couldn't save just now — your entry is still here, press Save again.")


def register(app: App) -> None:
    app.view(FOLLOWUP_CALLBACK)(handle_followup_submission)


def _user_id(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def render_errors(
    t: Translator, errors: Mapping[str, Message], zone: ZoneInfo, now: datetime
) -> dict[str, str]:
    """Errors for `response_action: errors`, in the submitter's language; a moment named in a
    message (a datetime parameter) is shown in their zone and language."""
    return {block_id: _render(t, message, zone, now) for block_id, message in errors.items()}


def _render(t: Translator, message: Message, zone: ZoneInfo, now: datetime) -> str:
    if isinstance(message, Text) and any(isinstance(v, datetime) for v in message.params.values()):
        params = {
            name: t.clock(value, zone, now) if isinstance(value, datetime) else value
            for name, value in message.params.items()
        }
        message = Text(message.msgid, params, message.plural, message.count)
    return t.render(message)


# Ack, or a wrapper that remembers it was called.
Answer = Callable[..., None]


def handle_followup_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    services = services_from(context)
    user_id = _user_id(body)
    if not SLACK_USER_ID.match(user_id):
        # Slack always says who submitted; without it nothing can be attributed, so save nothing.
        logger.warning("view_submission without a valid user id; ignored")
        # Nobody to ask for a language: English, said explicitly.
        failed = translator("en").render(SAVE_FAILED)
        ack(response_action="errors", errors={"customer_name": failed})
        return
    metadata = ModalMetadata.decode(view.get("private_metadata"))
    acked: list[bool] = []

    def answer(**response: Any) -> None:
        acked.append(True)
        ack(**response)

    zone, t, now = services.settings.zone, translator("en"), services.clock()
    try:
        prefs = services.users.prefs(user_id)
        zone, t = prefs.zone, translator(prefs.language)
        entry = validate_followup(
            read_followup_form(view), _form_context(services, metadata, zone, now)
        )
        if metadata.edit_followup_id is not None:
            _save_edit(answer, services, client, entry, metadata, user_id=user_id, now=now)
        else:
            _save_new(answer, services, client, entry, view, user_id=user_id, now=now)
    except FormError as problems:
        answer(response_action="errors", errors=render_errors(t, problems.errors, zone, now))
    except NotAllowedError as refused:
        answer(response_action="errors", errors={"customer_name": _refusal(services, t, refused)})
    except SQLAlchemyError:
        if acked:
            # Saved and confirmed to Slack; only what came after (a notice) failed.
            logger.exception("after saving a follow-up")
            return
        logger.exception("saving a follow-up failed; the modal stays open")
        answer(response_action="errors", errors={"customer_name": t.render(SAVE_FAILED)})


def _form_context(
    services: Services, metadata: ModalMetadata, zone: ZoneInfo, now: datetime
) -> FormContext:
    return FormContext(
        zone=zone,
        now=now,
        phone_region=services.settings.default_phone_region,
        default_time=services.settings.default_remind_hour,
        contacts_on_record=metadata.edit_followup_id is not None,
        unchanged_next_at=(
            original_next_at_text(services.db, metadata.edit_followup_id, zone)
            if metadata.edit_followup_id is not None
            else None
        ),
    )


def _refusal(services: Services, t: Translator, refused: NotAllowedError) -> str:
    """A modal error is plain text, where `<@U…>` shows as it is typed: name the owner by their
    (cached) display name, or just "the owner" when Slack never told us one."""
    owner_id = refused.owner_id
    try:
        name = services.users.names([owner_id]).get(owner_id, owner_id) if owner_id else ""
    except SQLAlchemyError:
        logger.exception("couldn't look up the name of %s", owner_id)
        name = ""
    if name and name != owner_id:
        return t.gettext(
            "Only the owner ({owner}), their manager or an admin can change this follow-up.",
            owner=name,
        )
    return t.gettext("Only the owner, their manager or an admin can change this follow-up.")


def _save_new(
    ack: Answer,
    services: Services,
    client: WebClient,
    entry: ValidFollowup,
    view: dict[str, Any],
    *,
    user_id: str,
    now: datetime,
) -> None:
    view_id = view.get("id")
    recorded = record_followup(
        services.db,
        services.settings,
        entry,
        author_id=user_id,
        submission_key=f"view:{view_id}" if isinstance(view_id, str) and view_id else None,
        now=now,
    )
    ack()
    if recorded.already_recorded:
        return  # the first delivery of this submission already confirmed it
    if recorded.notify_owner:
        tell_owner(services, client, recorded, author_id=user_id, now=now)
    prefs = services.users.prefs(user_id)
    t = translator(prefs.language)
    message = confirmation_message(
        t,
        Confirmation(
            customer_name=recorded.customer.name,
            company=recorded.customer.company,
            next_when=(
                t.when(recorded.followup.next_at, prefs.zone, now)
                if recorded.followup.state == "open"
                else t.gettext("none — customer marked lost")
            ),
            next_action=recorded.followup.next_action,
            owner_id=recorded.followup.owner_id,
            author_id=user_id,
            customer_created=recorded.customer_created,
            closed_open=recorded.closed_open if recorded.followup.status_after == "lost" else 0,
            followup_id=recorded.followup.id,
        ),
    )
    channel_id = ModalMetadata.decode(view.get("private_metadata")).channel_id
    send_private(services, client, user_id=user_id, channel_id=channel_id, message=message)
    for affected in dict.fromkeys((recorded.followup.owner_id, user_id)):
        publish_home(services, client, affected)


def _save_edit(
    ack: Answer,
    services: Services,
    client: WebClient,
    entry: ValidFollowup,
    metadata: ModalMetadata,
    *,
    user_id: str,
    now: datetime,
) -> None:
    if metadata.followup_version is None or metadata.customer_version is None:
        raise FormError({"customer_name": _("This form is out of date — press Edit again.")})
    changed = save_edit(
        services.db,
        services.settings,
        entry,
        actor_id=user_id,
        followup_id=metadata.edit_followup_id or 0,
        followup_version=metadata.followup_version,
        customer_version=metadata.customer_version,
        now=now,
    )
    ack()
    t = services.users.translator(user_id)
    # One name per field, in the reader's language ("status" covers two columns).
    names = dict.fromkeys(t.render(field_label(key)) for key in changed)
    text = (
        t.gettext("Saved your changes ({fields}).", fields=t.join(names))
        if changed
        else t.gettext("Nothing changed.")
    )
    send_private(
        services,
        client,
        user_id=user_id,
        channel_id=metadata.channel_id,
        message={"text": text, "blocks": [{"type": "section", "text": mrkdwn(text)}]},
    )
    publish_home(services, client, entry.owner_id)
    if entry.owner_id != user_id:
        publish_home(services, client, user_id)


def tell_owner(
    services: Services, client: WebClient, recorded: Recorded, *, author_id: str, now: datetime
) -> None:
    """Someone logged a follow-up with your customer: the owner hears of it at once."""
    owner = recorded.customer.owner_id
    prefs = services.users.prefs(owner)
    t = translator(prefs.language)
    message = owner_notice(
        t,
        author_id=author_id,
        customer_name=recorded.customer.name,
        company=recorded.customer.company,
        summary=recorded.followup.summary,
        next_when=(
            t.when(recorded.followup.next_at, prefs.zone, now)
            if recorded.followup.state == "open"
            else t.gettext("none — customer marked lost")
        ),
    )
    try:
        client.chat_postMessage(channel=services.users.dm_channel(owner), **message)
    except SlackApiError as error:
        logger.warning("couldn't tell %s about a follow-up on their customer: %s", owner, error)


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
