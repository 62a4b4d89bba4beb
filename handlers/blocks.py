"""Block Kit builders: plain data in, Slack JSON out. No database or Web API calls in here.

The modal's block_ids are a public contract (documented in the README): integrations and tests
address fields by them, so renaming one is a breaking change. Each input's action_id equals its
block_id, which keeps reading the submitted state to one rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bot.i18n import Territory, Text, Translator, _

FOLLOWUP_CALLBACK: Final = "followup_modal"

# Stored values are fixed English codes; what a person reads is translated.
STATUS_LABELS: Final[Mapping[str, Text]] = {
    "prospect": _("Prospect"),
    "interested": _("Interested"),
    "won": _("Won"),
    "existing": _("Existing customer"),
    "lost": _("Lost"),
}
METHOD_LABELS: Final[Mapping[str, Text]] = {
    "phone": _("Phone call"),
    "wechat": _("WeChat"),
    "email": _("Email"),
    "visit": _("Visit"),
    "meeting": _("Meeting"),
    "message": _("Text message"),
}


def status_label(t: Translator, status: str) -> str:
    """A status code in the reader's language; an unknown code is shown as stored."""
    label = STATUS_LABELS.get(status)
    return t.render(label) if label else status


def method_label(t: Translator, method: str) -> str:
    label = METHOD_LABELS.get(method)
    return t.render(label) if label else method


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def escape(text: str) -> str:
    """Escape user text for mrkdwn, so a customer named '<!channel>' can't ping a channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


@dataclass(frozen=True)
class ModalPrefill:
    """What the modal starts with; every field optional."""

    customer_name: str = ""
    company: str = ""
    phone: str = ""
    email: str = ""
    owner_id: str | None = None
    status: str | None = None
    existing_note: str | None = None
    customer_id: int | None = None
    customer_label: str | None = None
    # When editing an existing follow-up, its values:
    contacted_at: datetime | None = None
    method: str | None = None
    summary: str = ""
    feedback: str = ""
    next_at_text: str = ""
    next_action: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ModalMetadata:
    """Round-tripped through Slack in private_metadata (≤ 3,000 characters): where to confirm,
    how often the form was refilled, and — when editing — which versions it was opened at.
    Nothing here is trusted for permission: every submission is checked again."""

    channel_id: str | None = None
    refill: int = 0
    edit_followup_id: int | None = None
    followup_version: int | None = None
    customer_version: int | None = None

    def encode(self) -> str:
        data = {
            "c": self.channel_id,
            "r": self.refill,
            "e": self.edit_followup_id,
            "fv": self.followup_version,
            "cv": self.customer_version,
        }
        return json.dumps({k: v for k, v in data.items() if v}, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: object) -> ModalMetadata:
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
        except (ValueError, RecursionError):  # "[[[[…" nested past Python's recursion limit
            data = {}
        if not isinstance(data, dict):
            data = {}
        channel = data.get("c")
        return cls(
            channel_id=channel if isinstance(channel, str) and channel else None,
            refill=_small_int(data.get("r")) or 0,
            edit_followup_id=_small_int(data.get("e")),
            followup_version=_small_int(data.get("fv")),
            customer_version=_small_int(data.get("cv")),
        )


def _small_int(value: object) -> int | None:
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31
        else None
    )


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
    refill: int = 0,
) -> dict[str, Any]:
    # A refilled form gets new action_ids: Slack keeps a typed value under an unchanged one.
    action_id = f"{block_id}.{refill}" if refill else block_id
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": action_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def _text(
    placeholder: str, *, initial: str = "", multiline: bool = False, max_length: int = 200
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "placeholder": plain(placeholder),
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial
    return element


def _email(t: Translator, initial: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "email_text_input",
        "placeholder": plain(t.gettext("e.g. {example}", example="wang.lei@mingde.cn")),
    }
    if initial:
        element["initial_value"] = initial
    return element


def _select(placeholder: str, labels: dict[str, str], initial: str | None = None) -> dict[str, Any]:
    options = [option(value, label) for value, label in labels.items()]
    element: dict[str, Any] = {
        "type": "static_select",
        "placeholder": plain(placeholder),
        "options": options,
    }
    if initial in labels:
        element["initial_option"] = option(initial, labels[initial])
    return element


EXISTING_CUSTOMER: Final = "existing_customer"
CONFIRM_LABELS: Final[Mapping[str, Text]] = {
    "new_customer": _("Add as a new customer, even though a similar one exists"),
    "close_open": _("Customer lost: close their open follow-ups"),
}


@dataclass(frozen=True)
class ModalContext:
    """Who the form is for, how to read what they type, and the language to ask them in."""

    submitter_id: str
    zone_name: str
    default_hour: str
    phone_region: str
    now: datetime
    t: Translator


def _customer_picker(prefill: ModalPrefill, t: Translator) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "external_select",
        "placeholder": plain(t.gettext("Search by name, company, phone or email")),
        "min_query_length": 1,
    }
    if prefill.customer_id is not None and prefill.customer_label:
        element["initial_option"] = option(str(prefill.customer_id), prefill.customer_label[:75])
    block = _input(
        EXISTING_CUSTOMER,
        # Not "Existing customer": that is a status, and the two must not read alike.
        t.gettext("Find an existing customer"),
        element,
        optional=True,
        hint=t.gettext("Pick one to fill in their details. Leave empty for a new customer."),
    )
    block["dispatch_action"] = True
    return block


def _customer_fields(
    prefill: ModalPrefill, context: ModalContext, refill: int
) -> list[dict[str, Any]]:
    t = context.t
    return [
        _input(
            "customer_name",
            t.gettext("Customer"),
            _text(
                t.gettext("e.g. {example}", example="Wang Lei · 王磊"),
                initial=prefill.customer_name,
                max_length=100,
            ),
            refill=refill,
        ),
        _input(
            "company",
            t.gettext("Company"),
            _text(t.gettext("e.g. Shanghai Mingde Technology Co., Ltd."), initial=prefill.company),
            refill=refill,
        ),
        _input(
            "phone",
            t.gettext("Phone"),
            _text(
                t.gettext("e.g. {example}", example="+86 138 0013 8000"),
                initial=prefill.phone,
                max_length=40,
            ),
            optional=True,
            hint=t.gettext(
                "Required for a new customer unless you give an email. Without a country code "
                "it's read as {region}.",
                region=Territory(context.phone_region),
            ),
            refill=refill,
        ),
        _input(
            "email",
            t.gettext("Email address"),
            _email(t, prefill.email),
            optional=True,
            refill=refill,
        ),
    ]


def _contact_fields(prefill: ModalPrefill, context: ModalContext) -> list[dict[str, Any]]:
    t = context.t
    contacted = prefill.contacted_at or context.now
    return [
        _input(
            "contacted_at",
            t.gettext("When was this contact?"),
            {"type": "datetimepicker", "initial_date_time": int(contacted.timestamp())},
        ),
        _input(
            "method",
            t.gettext("How"),
            _select(
                t.gettext("Phone, WeChat, visit…"),
                {code: t.render(label) for code, label in METHOD_LABELS.items()},
                prefill.method,
            ),
        ),
        _input(
            "summary",
            t.gettext("What was discussed"),
            _text(
                t.gettext("e.g. Quoted 200 seats at ¥80; they compare us with Acme on SSO."),
                initial=prefill.summary,
                multiline=True,
                max_length=3000,
            ),
        ),
        _input(
            "feedback",
            t.gettext("What the customer said or wants"),
            _text(
                t.gettext("e.g. Needs CFO sign-off; budget is decided in December."),
                initial=prefill.feedback,
                multiline=True,
                max_length=3000,
            ),
            hint=t.gettext("For won or lost, say why."),
        ),
    ]


def _next_fields(prefill: ModalPrefill, context: ModalContext, refill: int) -> list[dict[str, Any]]:
    t = context.t
    return [
        _input(
            "owner",
            t.gettext("Owner"),
            {"type": "users_select", "initial_user": prefill.owner_id or context.submitter_id},
            hint=t.gettext("Who is responsible for this customer and gets the reminders."),
            refill=refill,
        ),
        _input(
            "next_at",
            t.gettext("Next contact"),
            _text(
                # Both languages are read whatever the reader's: the examples show one of each.
                t.gettext("e.g. next Tue 3pm · 下周三下午3点 · in 2 weeks · 2026-12-01"),
                initial=prefill.next_at_text,
            ),
            # Optional in the form only so a lost customer needs none; the server requires it
            # for every other status.
            optional=True,
            hint=t.gettext(
                "Required unless the customer is lost. Read in your time zone ({zone}); a date "
                "without a time means {time}.",
                zone=context.zone_name,
                time=context.default_hour,
            ),
        ),
        _input(
            "next_action",
            t.gettext("Next step"),
            _text(
                t.gettext("e.g. Send the revised quote with a 3-year discount"),
                initial=prefill.next_action,
                max_length=500,
            ),
            optional=True,
            hint=t.gettext("Required unless the customer is lost."),
        ),
        _input(
            "status",
            t.gettext("Customer status after this contact"),
            _select(
                t.gettext("Pick one"),
                {code: t.render(label) for code, label in STATUS_LABELS.items()},
                prefill.status,
            ),
            refill=refill,
        ),
        _input(
            "notes",
            t.gettext("Notes"),
            _text(
                t.gettext("Anything else worth knowing"),
                initial=prefill.notes,
                multiline=True,
                max_length=3000,
            ),
            optional=True,
        ),
    ]


def _confirmations(t: Translator) -> dict[str, Any]:
    return _input(
        "confirm",
        t.gettext("Confirm"),
        {
            "type": "checkboxes",
            "options": [option(value, t.render(label)) for value, label in CONFIRM_LABELS.items()],
        },
        optional=True,
        hint=t.gettext("Only needed when the form asks you to confirm."),
    )


def followup_modal(
    *, prefill: ModalPrefill, context: ModalContext, metadata: ModalMetadata
) -> dict[str, Any]:
    """The /followup form (also used to edit one), in the language of `context.t`. Placeholders
    show a good entry, so the form teaches the standard; block_ids are the public contract
    listed in the README."""
    t = context.t
    editing = metadata.edit_followup_id is not None
    blocks: list[dict[str, Any]] = [] if editing else [_customer_picker(prefill, t)]
    if prefill.existing_note:
        blocks.append({"type": "context", "elements": [mrkdwn(prefill.existing_note)]})
    blocks += _customer_fields(prefill, context, metadata.refill)
    blocks += _contact_fields(prefill, context)
    blocks += _next_fields(prefill, context, metadata.refill)
    if not editing:
        blocks.append(_confirmations(t))
    return {
        "type": "modal",
        "callback_id": FOLLOWUP_CALLBACK,
        "title": plain(t.gettext("Edit follow-up") if editing else t.gettext("Log a follow-up")),
        "submit": plain(t.gettext("Save changes") if editing else t.gettext("Save")),
        "close": plain(t.gettext("Cancel")),
        "private_metadata": metadata.encode(),
        "blocks": blocks,
    }


@dataclass(frozen=True)
class Confirmation:
    customer_name: str
    company: str
    next_when: str
    next_action: str
    owner_id: str
    author_id: str
    customer_created: bool
    closed_open: int = 0
    followup_id: int | None = None


EDIT_FOLLOWUP: Final = "followup_edit"


def sentences(t: Translator, parts: list[str]) -> str:
    """Whole sentences as one paragraph: English separates them with a space, while a Chinese
    full stop needs none (and a space after "。" reads as a typo)."""
    return ("" if t.language == "zh" else " ").join(part for part in parts if part)


def confirmation_message(t: Translator, confirmation: Confirmation) -> dict[str, Any]:
    """The echo after saving: who, and — above all — when the next contact was read as
    (`next_when` is already in the reader's language and zone)."""
    name, company = escape(confirmation.customer_name), escape(confirmation.company)
    parts = [
        t.gettext(
            ":white_check_mark: Logged a follow-up with *{name}* ({company}).",
            name=name,
            company=company,
        )
    ]
    if confirmation.customer_created:
        parts.append(t.gettext("New customer added."))
    if confirmation.closed_open:
        parts.append(
            t.ngettext(
                "Marked lost; {count} open follow-up closed.",
                "Marked lost; {count} open follow-ups closed.",
                confirmation.closed_open,
            )
        )
    details = t.gettext(
        "*Next contact:* {when}\n*Next step:* {action}",
        when=confirmation.next_when,
        action=escape(confirmation.next_action),
    )
    owner = "<@" + confirmation.owner_id + ">"
    context = t.gettext("Owner: {owner}", owner=owner)
    text = t.gettext(
        "Logged a follow-up with {name} ({company}). Next contact: {when}.",
        name=name,
        company=company,
        when=confirmation.next_when,
    )
    return {
        "text": text,
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(sentences(t, parts)),
                **(
                    {
                        "accessory": {
                            "type": "button",
                            "action_id": EDIT_FOLLOWUP,
                            "text": plain(t.gettext("Edit")),
                            "value": str(confirmation.followup_id),
                        }
                    }
                    if confirmation.followup_id
                    else {}
                ),
            },
            {"type": "section", "text": mrkdwn(details)},
            {"type": "context", "elements": [mrkdwn(context)]},
        ],
    }


def owner_notice(
    t: Translator,
    *,
    author_id: str,
    customer_name: str,
    company: str,
    summary: str,
    next_when: str,
) -> dict[str, Any]:
    """To a customer's owner when a colleague logs a follow-up with them, in the owner's words."""
    text = t.gettext(
        ":memo: <@{author}> logged a follow-up with your customer *{name}* · {company}:\n"
        "> {summary}\nNext contact: {when}",
        author=author_id,
        name=escape(customer_name),
        company=escape(company),
        summary=escape(summary[:500]),
        when=next_when,
    )
    return {
        "text": t.gettext("New follow-up on your customer {name}", name=escape(customer_name)),
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


def help_message(t: Translator) -> dict[str, Any]:
    """`/followup help` in the reader's language; the commands themselves stay as typed."""
    lines = [
        t.gettext("*/followup* — log a follow-up with a customer (opens a form)."),
        t.gettext(
            "*/followup <customer name>* — the same, with the name filled in (and the "
            "customer's details, if they are already known)."
        ),
        t.gettext(
            "*/followup find <name | company | phone | email>* — look a customer up: who owns "
            "them, their status and every follow-up so far."
        ),
        t.gettext("*/followup list* — your open follow-ups: overdue, today and the next 7 days."),
        t.gettext(
            "*/followup edit* — edit the follow-up you logged last (or press Edit on a "
            "confirmation)."
        ),
        t.gettext(
            "*/followup history <customer>* — every change to a customer and their follow-ups "
            "(owner, their manager, admins)."
        ),
        t.gettext(
            "*/followup merge* — merge two records of one customer (managers and admins; undoable)."
        ),
        t.gettext("*/followup team* — choose managers and assign reps to them (admins)."),
        t.gettext(
            "*/followup export [status=won] [since=2026-01-01] [lang=zh]* — your follow-ups (a "
            "manager's: their team's; an admin's: everyone's) as a spreadsheet, sent to your DM."
        ),
        t.gettext(
            "*/followup lang zh|en|auto* — choose your language (default: your Slack language)."
        ),
        t.gettext("*/followup help* — this help."),
        t.gettext(
            "Your own list, with buttons, is always in the app's *Home* tab. Reminders arrive by "
            "DM when a follow-up is due."
        ),
    ]
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(text)}]}
