"""The buttons on reminder DMs: Done, Log next, Snooze, Reassign.

Each click is checked on the server (only the owner or an admin may act), and afterwards the
message is updated in place so the item's buttons can't be pressed again by mistake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm.exc import StaleDataError

from bot import followup_actions as actions
from bot.followup_actions import SNOOZE_CHOICES, SnoozeChoice, UnknownFollowupError
from bot.followups import find_customer_by_id
from bot.i18n import Translator, translator
from bot.permissions import SLACK_USER_ID, NotAllowedError
from bot.services import Services, services_from
from bot.users import UserPrefs
from handlers.form import parse_id
from handlers.home import publish_home
from handlers.modal import open_followup_modal, prefill_from
from handlers.reminder_blocks import (
    DONE,
    LOG_NEXT,
    REASSIGN,
    SNOOZE,
    followup_id_from_block,
    reassigned_notice,
    replace_item_actions,
)
from handlers.replies import tell_privately

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(DONE)(on_done)
    app.action(LOG_NEXT)(on_log_next)
    app.action(SNOOZE)(on_snooze)
    app.action(REASSIGN)(on_reassign)


def _first_action(body: dict[str, Any]) -> dict[str, Any]:
    found = body.get("actions")
    first = found[0] if isinstance(found, list) and found else None
    return first if isinstance(first, dict) else {}


def _actor(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def _followup_id(action: dict[str, Any]) -> int | None:
    """From the button's value, else from the actions block's id ("fu:<id>")."""
    value = action.get("value")
    if parse_id(value) is not None:
        return parse_id(value)
    return followup_id_from_block(action.get("block_id"))


def _part(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _message_ref(body: dict[str, Any]) -> tuple[str, str, list[Any]] | None:
    """The channel, ts and blocks of the message the button was pressed on (None on Home)."""
    container, message = _part(body, "container"), _part(body, "message")
    channel, ts = container.get("channel_id"), container.get("message_ts")
    blocks = message.get("blocks")
    if not (isinstance(channel, str) and channel and ts and isinstance(blocks, list)):
        return None
    return channel, str(ts), blocks


def _reader(services: Services, body: dict[str, Any], followup_id: int) -> UserPrefs:
    """Whose language the message's replacement line is written in: the person the reminder DM
    was sent to (it stays in their language whoever pressed), else the presser."""
    ref = _message_ref(body)
    recipient = services.reminders.dm_recipient(followup_id, ref[0], ref[1]) if ref else None
    return services.users.prefs(recipient or _actor(body))


def _update_message(client: WebClient, body: dict[str, Any], followup_id: int, note: str) -> None:
    message, ref = _part(body, "message"), _message_ref(body)
    if ref is None:
        return
    channel, ts, blocks = ref
    try:
        client.chat_update(
            channel=channel,
            ts=ts,
            text=str(message.get("text") or note),
            blocks=replace_item_actions(blocks, followup_id, note),
        )
    except SlackApiError as error:
        logger.warning("chat.update after a reminder action failed: %s", error.response["error"])


def _refuse(
    services: Services, client: WebClient, body: dict[str, Any], respond: Respond, text: str
) -> None:
    tell_privately(services, client, body, respond, text)


def _presser(services: Services, body: dict[str, Any]) -> Translator:
    """Refusals and errors are read by whoever pressed the button."""
    return services.users.translator(_actor(body))


def _t(reader: UserPrefs) -> Translator:
    return translator(reader.language)


# What an action returns: the line that replaces the item's buttons, worded for the message's
# reader (their language and zone), or None to leave the message as it is.
Note = Callable[[UserPrefs], str]


def _run(
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
    followup_id: int | None,
    act: Callable[[int], Note | None],
    services: Services,
    also_redraw: tuple[str, ...] = (),
) -> None:
    """Run one action with the shared refusals; `act` returns how to word what happened.

    Afterwards the message (if any) shows what happened and the actor's Home tab is redrawn,
    whichever surface the button was pressed on.
    """
    if followup_id is None:
        t = _presser(services, body)
        _refuse(
            services,
            client,
            body,
            respond,
            t.gettext("That button doesn't point at a follow-up any more."),
        )
        return
    try:
        note = act(followup_id)
    except UnknownFollowupError:
        t = _presser(services, body)
        _refuse(services, client, body, respond, t.gettext("That follow-up no longer exists."))
        return
    except StaleDataError:
        t = _presser(services, body)
        _refuse(
            services,
            client,
            body,
            respond,
            t.gettext("This follow-up changed a moment ago — press the button again."),
        )
        return
    except NotAllowedError as refused:
        t = _presser(services, body)
        _refuse(
            services,
            client,
            body,
            respond,
            t.gettext(
                "This follow-up belongs to <@{owner}> — only they or an admin can act on it.",
                owner=refused.owner_id,
            ),
        )
        return
    if note is not None and _message_ref(body) is not None:
        _update_message(client, body, followup_id, note(_reader(services, body, followup_id)))
    # The actor's list changed, and so did the owner's if someone else (a manager, an admin)
    # acted on it — and, after a reassign, both the old and the new owner's.
    owner = actions.peek(services.db, followup_id).owner_id
    for user_id in dict.fromkeys((_actor(body), owner, *also_redraw)):
        publish_home(services, client, user_id)


def on_done(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    actor = _actor(body)

    def act(followup_id: int) -> Note:
        now = services.clock()
        outcome = actions.complete(
            services.db, services.settings, followup_id=followup_id, actor_id=actor, now=now
        )
        if not outcome.changed:
            return lambda reader: _t(reader).gettext(":white_check_mark: Already done.")
        return lambda reader: _t(reader).gettext(
            ":white_check_mark: Done — marked by <@{actor}>, {moment}",
            actor=actor,
            moment=_t(reader).moment(now, reader.zone, now),
        )

    _run(body, client, respond, _followup_id(_first_action(body)), act, services)


def _snooze_choice(action: dict[str, Any]) -> tuple[int | None, SnoozeChoice | None]:
    selected = action.get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else None
    if not isinstance(value, str) or ":" not in value:
        return None, None
    raw_id, raw_choice = value.split(":", 1)
    choice = next((c for c in SNOOZE_CHOICES if c == raw_choice), None)
    return parse_id(raw_id), choice


def on_snooze(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    actor = _actor(body)
    followup_id, choice = _snooze_choice(_first_action(body))
    if choice is None:
        _refuse(
            services,
            client,
            body,
            respond,
            _presser(services, body).gettext("Pick one of the snooze options."),
        )
        return

    def act(target: int) -> Note:
        now = services.clock()
        # "Tomorrow morning" is the owner's morning, wherever the presser is.
        owner_zone = services.users.zone(actions.peek(services.db, target).owner_id)
        until = actions.snooze_until(
            choice, zone=owner_zone, now=now, hour=services.settings.default_remind_hour
        )
        actions.snooze(
            services.db,
            services.settings,
            followup_id=target,
            actor_id=actor,
            until=until,
            now=now,
        )
        return lambda reader: _t(reader).gettext(
            ":zzz: Snoozed by <@{actor}> until {when}",
            actor=actor,
            when=_t(reader).when(until, reader.zone, now),
        )

    _run(body, client, respond, followup_id, act, services)


def on_reassign(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    actor = _actor(body)
    action = _first_action(body)
    new_owner = action.get("selected_user")
    if not isinstance(new_owner, str) or not SLACK_USER_ID.match(new_owner):
        t = _presser(services, body)
        _refuse(
            services, client, body, respond, t.gettext("Pick the person to hand this follow-up to.")
        )
        return

    def act(followup_id: int) -> Note:
        now = services.clock()
        outcome = actions.reassign(
            services.db,
            services.settings,
            followup_id=followup_id,
            actor_id=actor,
            new_owner_id=new_owner,
            now=now,
        )
        if outcome.changed:
            _tell_new_owner(services, client, actor, new_owner, outcome)
            if outcome.previous_owner_id:
                publish_home(services, client, outcome.previous_owner_id)
        return lambda reader: _t(reader).gettext(
            ":arrow_right: Reassigned by <@{actor}> to <@{new_owner}>",
            actor=actor,
            new_owner=new_owner,
        )

    _run(body, client, respond, _followup_id(action), act, services)


def _tell_new_owner(
    services: Services, client: WebClient, actor: str, new_owner: str, outcome: actions.Outcome
) -> None:
    """The new owner hears of it in their own language and zone."""
    reader = services.users.prefs(new_owner)
    notice = reassigned_notice(
        _t(reader),
        actor_id=actor,
        customer_name=outcome.customer_name,
        company=outcome.company,
        next_at=outcome.next_at,
        zone=reader.zone,
        now=services.clock(),
    )
    try:
        client.chat_postMessage(channel=services.users.dm_channel(new_owner), **notice)
    except SlackApiError as error:
        logger.warning("couldn't tell %s about a reassignment: %s", new_owner, error)


def on_log_next(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    actor = _actor(body)
    trigger_id = str(body.get("trigger_id") or "")

    def act(followup_id: int) -> Note | None:
        customer_id = actions.peek(services.db, followup_id).customer_id
        snapshot = find_customer_by_id(services.db, services.settings, customer_id, viewer_id=actor)
        container = _part(body, "container")
        opened = open_followup_modal(
            services,
            client,
            trigger_id=trigger_id,
            user_id=actor,
            channel_id=container.get("channel_id"),
            prefill=prefill_from(snapshot, "", services=services, viewer_id=actor),
        )
        if not opened:
            t = _presser(services, body)
            _refuse(
                services,
                client,
                body,
                respond,
                t.gettext("Couldn't open the form just now — please press the button again."),
            )
            return None
        return lambda reader: _t(reader).gettext(
            ":memo: <@{actor}> is logging the next follow-up (this one closes when it's saved)",
            actor=actor,
        )

    _run(body, client, respond, _followup_id(_first_action(body)), act, services)
