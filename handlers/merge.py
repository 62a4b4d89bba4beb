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
from handlers.blocks import escape, mrkdwn, option, plain
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

MERGE_FAILED = "Couldn't merge just now — nothing was changed. Press Merge again."
REPS_REFUSED = "Only managers and admins can merge customers."
EXPLAINER = (
    "Every follow-up of the *second* customer moves to the *first*. The first takes the "
    "second's phone or email only where it has none — nothing is overwritten — and the second "
    "customer is removed. You'll get a DM with an *Undo merge* button.\n"
    "Only admins, and managers of both customers' owners, can merge."
)


def register(app: App) -> None:
    app.view(MERGE_CALLBACK)(on_merge_submitted)
    app.options(MERGE_KEEP)(on_customer_suggestion)
    app.options(MERGE_AWAY)(on_customer_suggestion)
    app.action(MERGE_UNDO)(on_undo)


# --- Block Kit -------------------------------------------------------------------------------


def _picker(block_id: str, label: str, hint: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "hint": plain(hint),
        "element": {
            "type": "external_select",
            "action_id": block_id,
            "placeholder": plain("Type a name, company, phone or email"),
            "min_query_length": 1,
        },
    }


def merge_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": MERGE_CALLBACK,
        "title": plain("Merge customers"),
        "submit": plain("Merge"),
        "close": plain("Cancel"),
        "blocks": [
            _picker(MERGE_KEEP, "Keep this customer", "It stays, with every follow-up of both."),
            _picker(MERGE_AWAY, "Merge this one into it", "It is removed after the merge."),
            {"type": "context", "elements": [mrkdwn(EXPLAINER)]},
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


def _customer(name: str | None, company: str | None, customer_id: int) -> str:
    if name is None:
        return f"customer #{customer_id}"
    return f"*{escape(name)}* · {escape(company or '')}"


def merged_message(summary: MergeSummary) -> dict[str, Any]:
    away = _customer(summary.merged_name, summary.merged_company, summary.merged_id)
    kept = _customer(summary.kept_name, summary.kept_company, summary.kept_id)
    moved = _followups(summary.moved_followups)
    details = f"{moved} moved."
    if summary.filled_fields:
        fields = " and ".join(_FIELD_NAMES.get(f, f) for f in summary.filled_fields)
        details += f" The kept customer took the {fields} it was missing."
    text = f"Merged {away} into {kept}. {details}"
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
                        "text": plain("Undo merge"),
                        "value": str(summary.log_id),
                        "confirm": {
                            "title": plain("Undo this merge?"),
                            # Plain and name-free: Slack caps a confirm's text at 300.
                            "text": plain(
                                f"The removed customer comes back with its {moved}; what the "
                                "kept customer took from it is given back unless changed since."
                            ),
                            "confirm": plain("Undo merge"),
                            "deny": plain("Keep merged"),
                        },
                    }
                ],
            },
        ],
    }


def undone_message(summary: MergeSummary | None, *, actor_id: str, moved: int) -> dict[str, Any]:
    if summary is None:
        text = f"Merge undone by <@{actor_id}>."
    else:
        away = _customer(summary.merged_name, summary.merged_company, summary.merged_id)
        kept = _customer(summary.kept_name, summary.kept_company, summary.kept_id)
        text = (
            f"Merge undone by <@{actor_id}>: {away} is back, separate from {kept}, "
            f"with its {_followups(moved)}."
        )
    return _note_message(f":leftwards_arrow_with_hook: {text}", text)


def _note_message(markdown: str, text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(markdown)}]}


_FIELD_NAMES: Final = {"phone_e164": "phone", "email": "email"}


def _followups(count: int) -> str:
    return f"{count} follow-up" + ("" if count == 1 else "s")


# --- opening the form ------------------------------------------------------------------------


def open_merge_modal(
    services: Services, client: WebClient, *, trigger_id: str, user_id: str
) -> bool:
    """Open the merge form; False (and a log line) if Slack refused, e.g. an expired trigger.

    Anyone may open it: who may merge is decided on submit, on the server, with the customers
    known — a rep is refused there.
    """
    del services  # nothing per-user in the form yet; the same signature as the other openers
    try:
        client.views_open(trigger_id=trigger_id, view=merge_modal())
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
    view = _dict(body.get("view"))
    keep_id, away_id = _picked(view, MERGE_KEEP), _picked(view, MERGE_AWAY)
    problems = {
        block_id: "Pick a customer from the list."
        for block_id, picked in ((MERGE_KEEP, keep_id), (MERGE_AWAY, away_id))
        if picked is None
    }
    if not actor:
        # Slack always says who submitted; without it nothing can be checked, so merge nothing.
        problems = {MERGE_AWAY: MERGE_FAILED}
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
        ack(response_action="errors", errors=invalid.errors)
        return
    except NotAllowedError as refused:
        ack(response_action="errors", errors={MERGE_AWAY: _refusal(refused)})
        return
    except SQLAlchemyError:
        logger.exception("merging customers %s into %s failed", away_id, keep_id)
        ack(response_action="errors", errors={MERGE_AWAY: MERGE_FAILED})
        return
    ack()
    _after_merge(services, client, actor, result)


def _refusal(refused: NotAllowedError) -> str:
    if isinstance(refused, MergeNotAllowedError):
        return REPS_REFUSED
    return (
        f"<@{refused.owner_id}>'s customers aren't in your team — only their manager or an "
        "admin can merge them."
    )


def _after_merge(services: Services, client: WebClient, actor: str, result: MergeResult) -> None:
    """Redraw the Home tabs that list the moved follow-ups, then DM the actor the outcome with
    the Undo button (last, so it is the sign that everything is done)."""
    summary = merge_summary(services.db, result.log_id)
    if summary is None:  # only if the log row vanished, which the append-only log never does
        logger.error("merge %s has no readable log row", result.log_id)
        return
    for owner in summary.followup_owners:
        publish_home(services, client, owner)
    try:
        client.chat_postMessage(channel=services.users.dm_channel(actor), **merged_message(summary))
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
    if log_id is None or not actor:
        _refuse(respond, "That button doesn't point at a merge any more.")
        return
    summary = merge_summary(services.db, log_id)
    try:
        result = undo_merge(
            services.db, services.settings, actor_id=actor, log_id=log_id, now=services.clock()
        )
    except AlreadyUndoneError as done:
        note = done.errors[UNDO_KEY]
        _update_message(client, body, _note_message(f":leftwards_arrow_with_hook: {note}", note))
        _refuse(respond, note)
        return
    except FormError as invalid:
        _refuse(respond, next(iter(invalid.errors.values()), "This merge can't be undone."))
        return
    except NotAllowedError as refused:
        _refuse(respond, _refusal(refused))
        return
    except SQLAlchemyError:
        logger.exception("undoing merge %s failed", log_id)
        _refuse(respond, "Couldn't undo just now — nothing was changed. Press Undo again.")
        return
    for owner in summary.followup_owners if summary else ():
        publish_home(services, client, owner)
    _update_message(
        client, body, undone_message(summary, actor_id=actor, moved=result.moved_followups)
    )
