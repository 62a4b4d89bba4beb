"""The /followup slash command and its subcommands: find, list, help — else open the form."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.followups import find_customer_by_id, find_customer_by_name
from bot.history import customer_history
from bot.home import home_data
from bot.i18n import parse_language, translator
from bot.lookup import customer_card, find_customers
from bot.permissions import NotAllowedError
from bot.services import Services, services_from
from handlers.blocks import escape, help_message
from handlers.edit import open_edit
from handlers.erase import erase_command
from handlers.export import run_export_command
from handlers.form import parse_id
from handlers.lookup_blocks import (
    LOG_FOR_CUSTOMER,
    OPEN_CARD,
    card_message,
    history_message,
    list_message,
    no_match_message,
    results_message,
)
from handlers.merge import open_merge_modal
from handlers.modal import open_followup_modal, prefill_from
from handlers.replies import tell_privately
from handlers.team import run_team_command

logger = logging.getLogger(__name__)

HELP_WORDS = frozenset({"help", "?", "帮助"})
FIND_WORDS = frozenset({"find", "search", "查找", "查询"})
LIST_WORDS = frozenset({"list", "mine", "列表"})
EDIT_WORDS = frozenset({"edit", "修改", "编辑"})
HISTORY_WORDS = frozenset({"history", "log", "历史", "记录"})
TEAM_WORDS = frozenset({"team", "团队"})
MERGE_WORDS = frozenset({"merge", "合并"})
EXPORT_WORDS = frozenset({"export", "导出"})
ERASE_WORDS = frozenset({"erase", "forget", "删除", "抹除"})
LANGUAGE_WORDS = frozenset({"lang", "language", "语言"})
FOLLOW_SLACK_WORDS = frozenset({"auto", "slack", "default", "自动"})


def register(app: App) -> None:
    app.command("/followup")(handle_followup_command)
    app.action(OPEN_CARD)(on_open_card)
    app.action(LOG_FOR_CUSTOMER)(on_log_for_customer)


def handle_followup_command(
    ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    text = str(command.get("text") or "").strip()
    # split(), not partition(" "): a Chinese IME types a full-width space between words.
    word, rest = [*text.split(maxsplit=1), "", ""][:2]
    services = services_from(context)
    user_id = str(command.get("user_id") or "")
    if word.lower() in LANGUAGE_WORDS:
        ack(**_choose_language(services, user_id, rest.strip()))
    elif word.lower() in ERASE_WORDS:
        ack(**erase_command(services, user_id, rest.strip()))
    elif word.lower() in HELP_WORDS:
        ack(**help_message(services.users.translator(user_id)))
    elif word.lower() in FIND_WORDS:
        ack(**_find(services, rest.strip(), user_id))
    elif word.lower() in HISTORY_WORDS:
        ack(**_history(services, rest.strip(), user_id))
    elif word.lower() in TEAM_WORDS and not rest:
        run_team_command(ack, respond, services, client, command=command)
    elif word.lower() in EXPORT_WORDS:
        run_export_command(ack, respond, services, client, command=command, args=rest)
    elif word.lower() in MERGE_WORDS and not rest:
        ack()
        opened = open_merge_modal(
            services, client, trigger_id=str(command.get("trigger_id") or ""), user_id=user_id
        )
        if not opened:
            t = services.users.translator(user_id)
            tell_privately(
                services,
                client,
                command,
                respond,
                t.gettext("Couldn't open the merge form just now — please try again."),
            )
    elif word.lower() in EDIT_WORDS and not rest:
        ack()
        problem = open_edit(
            services,
            client,
            trigger_id=str(command.get("trigger_id") or ""),
            user_id=user_id,
            channel_id=command.get("channel_id"),
            followup_id=None,
            t=services.users.translator(user_id),
        )
        if problem:
            tell_privately(services, client, command, respond, problem)
    elif word.lower() in LIST_WORDS and not rest:
        prefs = services.users.prefs(user_id)
        data = home_data(services.db, user_id, zone=prefs.zone, now=services.clock())
        ack(**list_message(data, t=translator(prefs.language)))
    else:
        ack()
        _open_form(services, client, respond, command, text)


def _choose_language(services: Services, user_id: str, wanted: str) -> dict[str, Any]:
    """`/followup lang zh|en|auto`: answered in the language just chosen, so it shows at once."""
    if wanted.lower() in FOLLOW_SLACK_WORDS:
        services.users.choose_language(user_id, None)
        t = services.users.translator(user_id)
        return {"text": t.gettext("OK — I'll follow your Slack language setting again.")}
    language = parse_language(wanted)
    if language is None:
        t = services.users.translator(user_id)
        text = t.gettext(
            "Choose a language: `/followup lang zh` (中文), `/followup lang en` (English),"
            " or `/followup lang auto` to follow your Slack setting."
        )
        return {"text": text}
    services.users.choose_language(user_id, language)
    return {"text": translator(language).gettext("OK — I'll write to you in English.")}


def _find(services: Services, query: str, viewer_id: str) -> dict[str, Any]:
    t = services.users.translator(viewer_id)
    if not query:
        return help_message(t)
    hits = find_customers(services.db, services.settings, query, viewer_id=viewer_id)
    if not hits:
        return no_match_message(query, t=t)
    if len(hits) == 1:
        return _card(services, hits[0].id, viewer_id) or no_match_message(query, t=t)
    return results_message(query, hits, t=t)


def _history(services: Services, query: str, viewer_id: str) -> dict[str, Any]:
    prefs = services.users.prefs(viewer_id)
    t = translator(prefs.language)
    if not query:
        return help_message(t)
    hits = find_customers(services.db, services.settings, query, viewer_id=viewer_id)
    if not hits:
        return no_match_message(query, t=t)
    if len(hits) > 1 and hits[0].name != query:
        return results_message(query, hits, t=t)
    try:
        history = customer_history(services.db, services.settings, hits[0].id, viewer_id=viewer_id)
    except NotAllowedError as refused:
        text = t.gettext(
            "{customer}'s history is visible to their owner <@{owner_id}>, that owner's manager"
            " and admins.",
            customer=escape(hits[0].name),
            owner_id=refused.owner_id,
        )
        return {"text": text}
    if history is None:
        return no_match_message(query, t=t)
    return history_message(history, zone=prefs.zone, now=services.clock(), t=t)


def _card(services: Services, customer_id: int, viewer_id: str) -> dict[str, Any] | None:
    card = customer_card(services.db, services.settings, customer_id, viewer_id=viewer_id)
    if card is None:
        return None
    prefs = services.users.prefs(viewer_id)
    return card_message(card, zone=prefs.zone, now=services.clock(), t=translator(prefs.language))


def _open_form(
    services: Services,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    text: str,
) -> None:
    user_id = str(command.get("user_id") or "")
    try:
        t = services.users.translator(user_id)
        snapshot = (
            find_customer_by_name(services.db, services.settings, text, viewer_id=user_id)
            if text
            else None
        )
        opened = open_followup_modal(
            services,
            client,
            trigger_id=str(command.get("trigger_id") or ""),
            user_id=user_id,
            channel_id=command.get("channel_id"),
            prefill=prefill_from(snapshot, text[:100], services=services, viewer_id=user_id),
        )
    except SQLAlchemyError:
        # The database is down or locked: say so rather than leave /followup silent. Without
        # the database there is no language to look up either.
        logger.exception("opening the follow-up form failed")
        t, opened = translator("en"), False
    if not opened:
        tell_privately(
            services,
            client,
            command,
            respond,
            t.gettext("Couldn't open the follow-up form just now — please run /followup again."),
        )


def _action_customer_id(body: dict[str, Any]) -> int | None:
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    value = action.get("value") if isinstance(action, dict) else None
    return parse_id(value)


def _actor(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def on_open_card(ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    ack()
    services = services_from(context)
    customer_id = _action_customer_id(body)
    card = _card(services, customer_id, _actor(body)) if customer_id else None
    if card is None:
        t = services.users.translator(_actor(body))
        respond(text=t.gettext("That customer no longer exists."), response_type="ephemeral")
        return
    respond(replace_original=True, **card)


def on_log_for_customer(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    customer_id = _action_customer_id(body)
    actor = _actor(body)
    snapshot = (
        find_customer_by_id(services.db, services.settings, customer_id, viewer_id=actor)
        if customer_id
        else None
    )
    channel = body.get("channel")
    opened = open_followup_modal(
        services,
        client,
        trigger_id=str(body.get("trigger_id") or ""),
        user_id=actor,
        channel_id=channel.get("id") if isinstance(channel, dict) else None,
        prefill=prefill_from(snapshot, "", services=services, viewer_id=actor),
    )
    if not opened:
        t = services.users.translator(actor)
        tell_privately(
            services,
            client,
            body,
            respond,
            t.gettext("Couldn't open the form just now — please try again."),
        )
