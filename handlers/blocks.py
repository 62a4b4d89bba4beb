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

from bot.i18n import Text, Translator, _

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
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**62
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


def _email(initial: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "email_text_input",
        "placeholder": plain("e.g. wang.lei@mingde.cn"),
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
CONFIRM_LABELS: Final = {
    "new_customer": "Add as a new customer, even though a similar one exists",
    "close_open": "Customer lost: close their open follow-ups",
}


@dataclass(frozen=True)
class ModalContext:
    """Who the form is for and how to read what they type."""

    submitter_id: str
    zone_name: str
    default_hour: str
    phone_region: str
    now: datetime


def _customer_picker(prefill: ModalPrefill) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "external_select",
        "placeholder": plain("Search by name, company, phone or email"),
        "min_query_length": 1,
    }
    if prefill.customer_id is not None and prefill.customer_label:
        element["initial_option"] = option(str(prefill.customer_id), prefill.customer_label[:75])
    block = _input(
        EXISTING_CUSTOMER,
        "Existing customer",
        element,
        optional=True,
        hint="Pick one to fill in their details. Leave empty for a new customer.",
    )
    block["dispatch_action"] = True
    return block


def _customer_fields(
    prefill: ModalPrefill, context: ModalContext, refill: int
) -> list[dict[str, Any]]:
    return [
        _input(
            "customer_name",
            "Customer",
            _text("e.g. Wang Lei · 王磊", initial=prefill.customer_name, max_length=100),
            refill=refill,
        ),
        _input(
            "company",
            "Company",
            _text("e.g. Shanghai Mingde Technology Co., Ltd.", initial=prefill.company),
            refill=refill,
        ),
        _input(
            "phone",
            "Phone",
            _text("e.g. +86 138 0013 8000", initial=prefill.phone, max_length=40),
            optional=True,
            hint=(
                "Required for a new customer unless you give an email. "
                f"Without a country code it's read as {context.phone_region}."
            ),
            refill=refill,
        ),
        _input("email", "Email", _email(prefill.email), optional=True, refill=refill),
    ]


def _contact_fields(prefill: ModalPrefill, context: ModalContext) -> list[dict[str, Any]]:
    contacted = prefill.contacted_at or context.now
    return [
        _input(
            "contacted_at",
            "When was this contact?",
            {"type": "datetimepicker", "initial_date_time": int(contacted.timestamp())},
        ),
        _input(
            "method",
            "How",
            _select(
                "Phone, WeChat, visit…",
                {k: str(v) for k, v in METHOD_LABELS.items()},
                prefill.method,
            ),
        ),
        _input(
            "summary",
            "What was discussed",
            _text(
                "e.g. Quoted 200 seats at ¥80; they compare us with Acme on SSO.",
                initial=prefill.summary,
                multiline=True,
                max_length=3000,
            ),
        ),
        _input(
            "feedback",
            "What the customer said or wants",
            _text(
                "e.g. Needs CFO sign-off; budget is decided in December.",
                initial=prefill.feedback,
                multiline=True,
                max_length=3000,
            ),
            hint="For won or lost, say why.",
        ),
    ]


def _next_fields(prefill: ModalPrefill, context: ModalContext, refill: int) -> list[dict[str, Any]]:
    return [
        _input(
            "owner",
            "Owner",
            {"type": "users_select", "initial_user": prefill.owner_id or context.submitter_id},
            hint="Who is responsible for this customer and gets the reminders.",
            refill=refill,
        ),
        _input(
            "next_at",
            "Next contact",
            _text(
                "e.g. next Tue 3pm · 下周三下午3点 · in 2 weeks · 2026-12-01",
                initial=prefill.next_at_text,
            ),
            # Optional in the form only so a lost customer needs none; the server requires it
            # for every other status.
            optional=True,
            hint=(
                f"Required unless the customer is lost. Read in your time zone "
                f"({context.zone_name}); a date without a time means {context.default_hour}."
            ),
        ),
        _input(
            "next_action",
            "Next step",
            _text(
                "e.g. Send the revised quote with a 3-year discount",
                initial=prefill.next_action,
                max_length=500,
            ),
            optional=True,
            hint="Required unless the customer is lost.",
        ),
        _input(
            "status",
            "Customer status after this contact",
            _select("Pick one", {k: str(v) for k, v in STATUS_LABELS.items()}, prefill.status),
            refill=refill,
        ),
        _input(
            "notes",
            "Notes",
            _text(
                "Anything else worth knowing",
                initial=prefill.notes,
                multiline=True,
                max_length=3000,
            ),
            optional=True,
        ),
    ]


def _confirmations() -> dict[str, Any]:
    return _input(
        "confirm",
        "Confirm",
        {
            "type": "checkboxes",
            "options": [option(value, label) for value, label in CONFIRM_LABELS.items()],
        },
        optional=True,
        hint="Only needed when the form asks you to confirm.",
    )


def followup_modal(
    *, prefill: ModalPrefill, context: ModalContext, metadata: ModalMetadata
) -> dict[str, Any]:
    """The /followup form (also used to edit one). Placeholders show a good entry, so the form
    teaches the standard; block_ids are the public contract listed in the README."""
    editing = metadata.edit_followup_id is not None
    blocks: list[dict[str, Any]] = [] if editing else [_customer_picker(prefill)]
    if prefill.existing_note:
        blocks.append({"type": "context", "elements": [mrkdwn(prefill.existing_note)]})
    blocks += _customer_fields(prefill, context, metadata.refill)
    blocks += _contact_fields(prefill, context)
    blocks += _next_fields(prefill, context, metadata.refill)
    if not editing:
        blocks.append(_confirmations())
    return {
        "type": "modal",
        "callback_id": FOLLOWUP_CALLBACK,
        "title": plain("Edit follow-up" if editing else "Log a follow-up"),
        "submit": plain("Save changes" if editing else "Save"),
        "close": plain("Cancel"),
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


def confirmation_message(confirmation: Confirmation) -> dict[str, Any]:
    """The echo after saving: who, and — above all — when the next contact was read as."""
    who = f"*{escape(confirmation.customer_name)}* ({escape(confirmation.company)})"
    headline = f":white_check_mark: Logged a follow-up with {who}."
    if confirmation.customer_created:
        headline += " New customer added."
    if confirmation.closed_open:
        headline += f" Marked lost; {confirmation.closed_open} open follow-up(s) closed."
    details = (
        f"*Next contact:* {confirmation.next_when}\n*Next step:* {escape(confirmation.next_action)}"
    )
    context = f"Owner: <@{confirmation.owner_id}>"
    text = (
        f"Logged a follow-up with {escape(confirmation.customer_name)} "
        f"({escape(confirmation.company)}). Next contact: {confirmation.next_when}."
    )
    return {
        "text": text,
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(headline),
                **(
                    {
                        "accessory": {
                            "type": "button",
                            "action_id": EDIT_FOLLOWUP,
                            "text": plain("Edit"),
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
    *, author_id: str, customer_name: str, company: str, summary: str, next_when: str
) -> dict[str, Any]:
    text = (
        f":memo: <@{author_id}> logged a follow-up with your customer "
        f"*{escape(customer_name)}* · {escape(company)}:\n> {escape(summary[:500])}\n"
        f"Next contact: {next_when}"
    )
    return {
        "text": f"New follow-up on your customer {escape(customer_name)}",
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


HELP_TEXT: Final = "\n".join(
    [
        "*/followup* — log a follow-up with a customer (opens a form).",
        "*/followup <customer name>* — the same, with the name filled in"
        " (and the customer's details, if they are already known).",
        "*/followup find <name | company | phone | email>* — look a customer up: who owns them,"
        " their status and every follow-up so far.",
        "*/followup list* — your open follow-ups: overdue, today and the next 7 days.",
        "*/followup edit* — edit the follow-up you logged last (or press Edit on a confirmation).",
        "*/followup history <customer>* — every change to a customer and their follow-ups"
        " (owner, their manager, admins).",
        "*/followup merge* — merge two records of one customer (managers and admins; undoable).",
        "*/followup team* — choose managers and assign reps to them (admins).",
        "*/followup export [status=won] [since=2026-01-01] [lang=zh]* — your follow-ups (a"
        " manager's: their team's; an admin's: everyone's) as a spreadsheet, sent to your DM.",
        "*/followup help* — this help.",
        "Your own list, with buttons, is always in the app's *Home* tab. Reminders arrive by DM"
        " when a follow-up is due.",
    ]
)


def help_message() -> dict[str, Any]:
    return {"text": HELP_TEXT, "blocks": [{"type": "section", "text": mrkdwn(HELP_TEXT)}]}
