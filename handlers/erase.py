"""`/followup erase <customer>`: an admin erases a customer's personal data, after confirming.

The command only shows what would be erased, with a button behind Slack's own confirmation
dialog; the button does the work. Both steps check on the server that the person is an admin.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from slack_bolt import Ack, App, BoltContext, Respond

from bot.erasure import AdminOnlyError, CustomerToErase, erase_customer, preview_erasure
from bot.i18n import Translator
from bot.lookup import find_customers
from bot.services import Services, services_from
from handlers.blocks import escape, mrkdwn, plain
from handlers.form import parse_id

logger = logging.getLogger(__name__)

ERASE_CONFIRMED: Final = "erase_customer_confirmed"


def register(app: App) -> None:
    app.action(ERASE_CONFIRMED)(on_erase_confirmed)


def erase_command(services: Services, user_id: str, query: str) -> dict[str, Any]:
    """The ephemeral answer to `/followup erase …`: a refusal, a question, or a confirmation."""
    t = services.users.translator(user_id)
    if user_id not in services.settings.admins:
        return _text(t.gettext("Only admins can erase a customer's data."))
    customer_id = _customer_id(services, user_id, query)
    if customer_id is None:
        return _text(
            t.gettext(
                "Say which customer by id, e.g. `/followup erase #12` (the id is on the"
                " customer's card, from `/followup find`)."
            )
        )
    target = preview_erasure(
        services.db, services.settings, customer_id=customer_id, actor_id=user_id
    )
    if target is None:
        return _text(t.gettext("There is no customer #{id}.", id=str(customer_id)))
    if target.already_erased:
        return _text(t.gettext("Customer #{id} was erased before.", id=str(customer_id)))
    return erase_question(t, target)


def _customer_id(services: Services, user_id: str, query: str) -> int | None:
    """'#12' or '12' is an id; otherwise a name that finds exactly one customer."""
    by_id = parse_id(query.removeprefix("#"))
    if by_id is not None or not query:
        return by_id
    hits = find_customers(services.db, services.settings, query, viewer_id=user_id)
    return hits[0].id if len(hits) == 1 else None


def erase_question(t: Translator, target: CustomerToErase) -> dict[str, Any]:
    question = t.ngettext(
        "Erase *#{id} {name}* ({company})? Their name, company, phone and email, the text of"
        " their {count} follow-up and every copy in the change log are removed for good.",
        "Erase *#{id} {name}* ({company})? Their name, company, phone and email, the text of"
        " their {count} follow-ups and every copy in the change log are removed for good.",
        target.followups,
        id=str(target.id),
        name=escape(target.name),
        company=escape(target.company),
    )
    button = {
        "type": "button",
        "action_id": ERASE_CONFIRMED,
        "style": "danger",
        "text": plain(t.gettext("Erase for good")),
        "value": str(target.id),
        "confirm": {
            "title": plain(t.gettext("Erase this customer?")),
            "text": plain(t.gettext("This can't be undone.")),
            "confirm": plain(t.gettext("Erase")),
            "deny": plain(t.gettext("Cancel")),
            "style": "danger",
        },
    }
    note = t.gettext(
        "Counts (pipeline, follow-ups per owner) keep an anonymous entry. Messages the bot"
        " already posted in Slack are not changed."
    )
    return {
        "text": question,
        "blocks": [
            {"type": "section", "text": mrkdwn(question), "accessory": button},
            {"type": "context", "elements": [mrkdwn(note)]},
        ],
    }


def on_erase_confirmed(
    ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_from(context)
    user = body.get("user")
    actor = str(user.get("id") or "") if isinstance(user, dict) else ""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    customer_id = parse_id(action.get("value") if isinstance(action, dict) else None)
    t = services.users.translator(actor)
    if customer_id is None:
        respond(text=t.gettext("That customer no longer exists."), response_type="ephemeral")
        return
    try:
        report = erase_customer(
            services.db,
            services.settings,
            customer_id=customer_id,
            actor_id=actor,
            now=services.clock(),
        )
    except AdminOnlyError:
        respond(
            text=t.gettext("Only admins can erase a customer's data."), response_type="ephemeral"
        )
        return
    if report is None:
        respond(text=t.gettext("That customer no longer exists."), response_type="ephemeral")
        return
    done = t.ngettext(
        "Customer #{id} is erased: {count} follow-up and {entries} change-log entries no longer"
        " hold personal data.",
        "Customer #{id} is erased: {count} follow-ups and {entries} change-log entries no longer"
        " hold personal data.",
        report.followups,
        id=str(report.customer_id),
        entries=report.log_entries,
    )
    if report.already_erased:
        done = t.gettext("Customer #{id} was erased before.", id=str(report.customer_id))
    respond(replace_original=True, text=done)


def _text(text: str) -> dict[str, Any]:
    return {"text": text, "response_type": "ephemeral"}
