"""`/followup merge`: the merge form, its two type-ahead customer pickers, and the Undo button.

The form only collects two customer ids; bot.merge decides whether the merge may happen and
does it. Everything Slack sends is read defensively — a picker can arrive empty or with a value
it never offered — and a bad payload gets a refusal, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.followups import FormError
from bot.i18n import DEFAULT_LANGUAGE, Translator, translator
from bot.lookup import CustomerHit, find_customers
from bot.merge import (
    AWAY_BLOCK,
    KEEP_BLOCK,
    UNDO_KEY,
    AlreadyUndoneError,
    MergeNotAllowedError,
    MergeResult,
    MergeSummary,
    cached_names,
    merge_customers,
    merge_summary,
    undo_merge,
)
from bot.permissions import SLACK_USER_ID, NotAllowedError
from bot.services import Services, services_from
from handlers.blocks import escape, mrkdwn, option, plain, sentences
from handlers.form import parse_id
from handlers.home import publish_home

logger = logging.getLogger(__name__)

MERGE_CALLBACK: Final = "merge_modal"
MERGE_KEEP: Final = KEEP_BLOCK
MERGE_AWAY: Final = AWAY_BLOCK
MERGE_UNDO: Final = UNDO_KEY

OPTION_LABEL_MAX: Final = 75  # Slack's limit for an option's text
OWNER_LABEL_MAX: Final = 24
MAX_DB_ID: Final = 2**31 - 1  # customers.id and change_log.id are 32-bit integers


def register(app: App) -> None:
    app.view(MERGE_CALLBACK)(on_merge_submitted)
    app.options(MERGE_KEEP)(on_customer_suggestion)
    app.options(MERGE_AWAY)(on_customer_suggestion)
    app.action(MERGE_UNDO)(on_undo)


# --- Block Kit -------------------------------------------------------------------------------


def _picker(block_id: str, label: str, hint: str, t: Translator) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "hint": plain(hint),
        "element": {
            "type": "external_select",
            "action_id": block_id,
            "placeholder": plain(t.gettext("Type a name, company, phone or email")),
            "min_query_length": 1,
        },
    }


def merge_modal(t: Translator) -> dict[str, Any]:
    explainer = t.gettext(
        "Every follow-up of the *second* customer moves to the *first*. The first takes the "
        "second's phone or email only where it has none — nothing is overwritten — and the "
        "second customer is removed. You'll get a DM with an *Undo merge* button.\n"
        "Only admins, and managers of both customers' owners, can merge."
    )
    return {
        "type": "modal",
        "callback_id": MERGE_CALLBACK,
        "title": plain(t.gettext("Merge customers")),
        "submit": plain(t.gettext("Merge")),
        "close": plain(t.gettext("Cancel")),
        "blocks": [
            _picker(
                MERGE_KEEP,
                t.gettext("Keep this customer"),
                t.gettext("It stays, with every follow-up of both."),
                t,
            ),
            _picker(
                MERGE_AWAY,
                t.gettext("Merge this one into it"),
                t.gettext("It is removed after the merge."),
                t,
            ),
            {"type": "context", "elements": [mrkdwn(explainer)]},
        ],
    }


def option_label(hit: CustomerHit, owner_name: str) -> str:
    """'Name · Company · owner', cut to Slack's 75 characters; the owner is always shown, since
    it is what tells two same-named customers apart."""
    owner = owner_name if len(owner_name) <= OWNER_LABEL_MAX else owner_name[:23] + "…"
    tail = f" · {owner}"
    head = f"{hit.name} · {hit.company}"
    room = OPTION_LABEL_MAX - len(tail)
    if len(head) > room:
        head = head[: room - 1] + "…"
    return head + tail


def _customer(name: str | None, company: str | None, customer_id: int, t: Translator) -> str:
    if name is None:
        return t.gettext("customer #{id}", id=str(customer_id))
    return f"*{escape(name)}* · {escape(company or '')}"


def _filled(fields: tuple[str, ...], t: Translator) -> str:
    """What the kept customer took from the removed one; one whole sentence per case."""
    if set(fields) == {"phone_e164", "email"}:
        return t.gettext("The kept customer took the phone and email it was missing.")
    if "phone_e164" in fields:
        return t.gettext("The kept customer took the phone it was missing.")
    if "email" in fields:
        return t.gettext("The kept customer took the email it was missing.")
    return ""


def merged_message(summary: MergeSummary, t: Translator) -> dict[str, Any]:
    away = _customer(summary.merged_name, summary.merged_company, summary.merged_id, t)
    kept = _customer(summary.kept_name, summary.kept_company, summary.kept_id, t)
    moved = summary.moved_followups
    text = t.ngettext(
        "Merged {away} into {kept}. {count} follow-up moved.",
        "Merged {away} into {kept}. {count} follow-ups moved.",
        moved,
        away=away,
        kept=kept,
    )
    text = sentences(t, [text, _filled(summary.filled_fields, t)])
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": mrkdwn(f":twisted_rightwards_arrows: {text}")},
            {
                "type": "actions",
                "block_id": f"merge:{summary.log_id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": MERGE_UNDO,
                        "text": plain(t.gettext("Undo merge")),
                        "value": str(summary.log_id),
                        "confirm": {
                            "title": plain(t.gettext("Undo this merge?")),
                            # Plain and name-free: Slack caps a confirm's text at 300.
                            "text": plain(
                                t.ngettext(
                                    "The removed customer comes back with its {count} "
                                    "follow-up; what the kept customer took from it is given "
                                    "back unless changed since.",
                                    "The removed customer comes back with its {count} "
                                    "follow-ups; what the kept customer took from it is given "
                                    "back unless changed since.",
                                    moved,
                                )
                            ),
                            "confirm": plain(t.gettext("Undo merge")),
                            "deny": plain(t.gettext("Keep merged")),
                        },
                    }
                ],
            },
        ],
    }


def undone_message(
    summary: MergeSummary | None, t: Translator, *, actor_id: str, moved: int
) -> dict[str, Any]:
    if summary is None:
        text = t.gettext("Merge undone by <@{actor}>.", actor=actor_id)
    else:
        text = t.ngettext(
            "Merge undone by <@{actor}>: {away} is back, separate from {kept}, "
            "with its {count} follow-up.",
            "Merge undone by <@{actor}>: {away} is back, separate from {kept}, "
            "with its {count} follow-ups.",
            moved,
            actor=actor_id,
            away=_customer(summary.merged_name, summary.merged_company, summary.merged_id, t),
            kept=_customer(summary.kept_name, summary.kept_company, summary.kept_id, t),
        )
    return _note_message(f":leftwards_arrow_with_hook: {text}", text)


def _note_message(markdown: str, text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(markdown)}]}


# --- opening the form ------------------------------------------------------------------------


def open_merge_modal(
    services: Services, client: WebClient, *, trigger_id: str, user_id: str
) -> bool:
    """Open the merge form; False (and a log line) if Slack refused, e.g. an expired trigger.

    Anyone may open it: who may merge is decided on submit, on the server, with the customers
    known — a rep is refused there.
    """
    view = merge_modal(services.users.translator(user_id))
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        logger.warning(
            "views.open of the merge form for %s failed: %s", user_id, error.response.get("error")
        )
        return False
    return True


# --- payload reading -------------------------------------------------------------------------


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _actor(body: dict[str, Any]) -> str:
    user_id = _dict(body.get("user")).get("id")
    return user_id if isinstance(user_id, str) and SLACK_USER_ID.match(user_id) else ""


def _db_id(value: object) -> int | None:
    """A positive id that fits the database's integer columns, else None."""
    if parse_id(value) is None or not isinstance(value, str) or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= MAX_DB_ID else None


def _picked(view: dict[str, Any], block_id: str) -> int | None:
    values = _dict(_dict(view.get("state")).get("values"))
    selected = _dict(_dict(values.get(block_id)).get(block_id)).get("selected_option")
    return _db_id(_dict(selected).get("value"))


# --- listeners -------------------------------------------------------------------------------


def on_customer_suggestion(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """Type-ahead for both pickers: the same fuzzy lookup as `/followup find`."""
    query = body.get("value")
    viewer = _actor(body)
    if not (isinstance(query, str) and query.strip() and viewer):
        ack(options=[])
        return
    services = services_from(context)
    hits = find_customers(services.db, services.settings, query.strip()[:200], viewer_id=viewer)
    names = cached_names(services.db, [hit.owner_id for hit in hits])
    ack(
        options=[
            option(str(hit.id), option_label(hit, names.get(hit.owner_id, hit.owner_id)))
            for hit in hits
        ]
    )


def on_merge_submitted(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    services = services_from(context)
    actor = _actor(body)
    t = services.users.translator(actor) if actor else translator(DEFAULT_LANGUAGE)
    view = _dict(body.get("view"))
    keep_id, away_id = _picked(view, MERGE_KEEP), _picked(view, MERGE_AWAY)
    problems = {
        block_id: t.gettext("Pick a customer from the list.")
        for block_id, picked in ((MERGE_KEEP, keep_id), (MERGE_AWAY, away_id))
        if picked is None
    }
    if not actor:
        # Slack always says who submitted; without it nothing can be checked, so merge nothing.
        problems = {MERGE_AWAY: _merge_failed(t)}
    if problems or keep_id is None or away_id is None:
        ack(response_action="errors", errors=problems)
        return
    try:
        result = merge_customers(
            services.db,
            services.settings,
            actor_id=actor,
            keep_id=keep_id,
            merge_id=away_id,
            now=services.clock(),
        )
    except FormError as invalid:
        ack(response_action="errors", errors=invalid.rendered(t))
        return
    except NotAllowedError as refused:
        ack(response_action="errors", errors={MERGE_AWAY: _refusal(refused, t)})
        return
    except SQLAlchemyError:
        logger.exception("merging customers %s into %s failed", away_id, keep_id)
        ack(response_action="errors", errors={MERGE_AWAY: _merge_failed(t)})
        return
    ack()
    _after_merge(services, client, actor, result, t)


def _merge_failed(t: Translator) -> str:
    return t.gettext("Couldn't merge just now — nothing was changed. Press Merge again.")


def _refusal(refused: NotAllowedError, t: Translator) -> str:
    if isinstance(refused, MergeNotAllowedError):
        return t.gettext("Only managers and admins can merge customers.")
    return t.gettext(
        "<@{owner}>'s customers aren't in your team — only their manager or an admin can "
        "merge them.",
        owner=refused.owner_id,
    )


def _after_merge(
    services: Services, client: WebClient, actor: str, result: MergeResult, t: Translator
) -> None:
    """Redraw the Home tabs that list the moved follow-ups, then DM the actor the outcome with
    the Undo button (last, so it is the sign that everything is done)."""
    summary = merge_summary(services.db, result.log_id)
    if summary is None:  # only if the log row vanished, which the append-only log never does
        logger.error("merge %s has no readable log row", result.log_id)
        return
    for owner in summary.followup_owners:
        publish_home(services, client, owner)
    try:
        channel = services.users.dm_channel(actor)
        client.chat_postMessage(channel=channel, **merged_message(summary, t))
    except SlackApiError as error:
        logger.warning("couldn't DM %s about merge %s: %s", actor, result.log_id, error)


def _refuse(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _update_message(client: WebClient, body: dict[str, Any], message: dict[str, Any]) -> None:
    """Replace the DM in place, so the Undo button can't be pressed again by mistake."""
    container = _dict(body.get("container"))
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not (isinstance(channel, str) and isinstance(ts, str) and channel and ts):
        return
    try:
        client.chat_update(channel=channel, ts=ts, **message)
    except SlackApiError as error:
        logger.warning("chat.update after undoing a merge failed: %s", error.response.get("error"))


def on_undo(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    actor = _actor(body)
    actions = body.get("actions")
    action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    log_id = _db_id(action.get("value"))
    t = services.users.translator(actor) if actor else translator(DEFAULT_LANGUAGE)
    if log_id is None or not actor:
        _refuse(respond, t.gettext("That button doesn't point at a merge any more."))
        return
    summary = merge_summary(services.db, log_id)
    try:
        result = undo_merge(
            services.db, services.settings, actor_id=actor, log_id=log_id, now=services.clock()
        )
    except AlreadyUndoneError as done:
        note = t.render(done.errors[UNDO_KEY])
        _update_message(client, body, _note_message(f":leftwards_arrow_with_hook: {note}", note))
        _refuse(respond, note)
        return
    except FormError as invalid:
        problem = next(iter(invalid.errors.values()), None)
        if problem is None:
            _refuse(respond, t.gettext("This merge can't be undone."))
        else:
            _refuse(respond, t.render(problem))
        return
    except NotAllowedError as refused:
        _refuse(respond, _refusal(refused, t))
        return
    except SQLAlchemyError:
        logger.exception("undoing merge %s failed", log_id)
        _refuse(
            respond, t.gettext("Couldn't undo just now — nothing was changed. Press Undo again.")
        )
        return
    for owner in summary.followup_owners if summary else ():
        publish_home(services, client, owner)
    _update_message(
        client, body, undone_message(summary, t, actor_id=actor, moved=result.moved_followups)
    )
