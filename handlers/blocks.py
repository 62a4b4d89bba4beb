"""Block Kit builders: plain data in, Slack JSON out. No database or Web API calls in here.

The modal's block_ids are a public contract (documented in the README): integrations and tests
address fields by them, so renaming one is a breaking change. Each input's action_id equals its
block_id, which keeps reading the submitted state to one rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

FOLLOWUP_CALLBACK: Final = "followup_modal"

STATUS_LABELS: Final = {
    "prospect": "Prospect · 潜在客户",
    "interested": "Interested · 意向客户",
    "won": "Won · 已成交",
    "existing": "Existing · 老客户",
    "lost": "Lost · 已流失",
}
METHOD_LABELS: Final = {
    "phone": "Phone call · 电话",
    "wechat": "WeChat · 微信",
    "email": "Email · 邮件",
    "visit": "Visit · 拜访",
    "meeting": "Meeting · 会议",
    "message": "Message · 短信",
}


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


@dataclass(frozen=True)
class ModalMetadata:
    """Round-tripped through Slack in private_metadata: where to confirm, nothing to trust."""

    channel_id: str | None = None

    def encode(self) -> str:
        return json.dumps({"channel": self.channel_id}, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: object) -> ModalMetadata:
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
        except ValueError:
            data = {}
        channel = data.get("channel") if isinstance(data, dict) else None
        return cls(channel_id=channel if isinstance(channel, str) and channel else None)


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": block_id},
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


def followup_modal(
    *,
    prefill: ModalPrefill,
    submitter_id: str,
    zone_name: str,
    default_hour: str,
    phone_region: str,
    now: datetime,
    metadata: ModalMetadata,
) -> dict[str, Any]:
    """The /followup form. Placeholders show a good entry, so the form teaches the standard."""
    blocks: list[dict[str, Any]] = []
    if prefill.existing_note:
        blocks.append({"type": "context", "elements": [mrkdwn(prefill.existing_note)]})
    blocks += [
        _input(
            "customer_name",
            "Customer",
            _text("e.g. Wang Lei · 王磊", initial=prefill.customer_name, max_length=100),
        ),
        _input(
            "company",
            "Company",
            _text("e.g. Shanghai Mingde Technology Co., Ltd.", initial=prefill.company),
        ),
        _input(
            "phone",
            "Phone",
            _text("e.g. +86 138 0013 8000", initial=prefill.phone, max_length=40),
            optional=True,
            hint=(
                "Required unless you give an email. "
                f"Without a country code it's read as {phone_region}."
            ),
        ),
        _input(
            "email",
            "Email",
            _email(prefill.email),
            optional=True,
        ),
        _input(
            "contacted_at",
            "When was this contact?",
            {"type": "datetimepicker", "initial_date_time": int(now.timestamp())},
        ),
        _input("method", "How", _select("Phone, WeChat, visit…", METHOD_LABELS)),
        _input(
            "summary",
            "What was discussed",
            _text(
                "e.g. Quoted 200 seats at ¥80; they compare us with Acme on SSO.",
                multiline=True,
                max_length=3000,
            ),
        ),
        _input(
            "feedback",
            "What the customer said or wants",
            _text(
                "e.g. Needs CFO sign-off; budget is decided in December.",
                multiline=True,
                max_length=3000,
            ),
        ),
        _input(
            "owner",
            "Owner",
            {"type": "users_select", "initial_user": prefill.owner_id or submitter_id},
            hint="Who is responsible for this customer and gets the reminders.",
        ),
        _input(
            "next_at",
            "Next contact",
            _text("e.g. next Tue 3pm · 下周三下午3点 · in 2 weeks · 2026-12-01"),
            hint=(
                f"Read in your time zone ({zone_name}). A date without a time means {default_hour}."
            ),
        ),
        _input(
            "next_action",
            "Next step",
            _text("e.g. Send the revised quote with a 3-year discount", max_length=500),
        ),
        _input(
            "status",
            "Customer status after this contact",
            _select("Pick one", STATUS_LABELS, prefill.status),
        ),
        _input(
            "notes",
            "Notes",
            _text("Anything else worth knowing", multiline=True, max_length=3000),
            optional=True,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": FOLLOWUP_CALLBACK,
        "title": plain("Log a follow-up"),
        "submit": plain("Save"),
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


def confirmation_message(confirmation: Confirmation) -> dict[str, Any]:
    """The echo after saving: who, and — above all — when the next contact was read as."""
    who = f"*{escape(confirmation.customer_name)}* ({escape(confirmation.company)})"
    headline = f":white_check_mark: Logged a follow-up with {who}."
    if confirmation.customer_created:
        headline += " New customer added."
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
            {"type": "section", "text": mrkdwn(headline)},
            {"type": "section", "text": mrkdwn(details)},
            {"type": "context", "elements": [mrkdwn(context)]},
        ],
    }


HELP_TEXT: Final = "\n".join(
    [
        "*/followup* — log a follow-up with a customer (opens a form).",
        "*/followup <customer name>* — the same, with the name filled in"
        " (and the customer's details, if they are already known).",
        "*/followup find <name | company | phone | email>* — look a customer up: who owns them,"
        " their status and every follow-up so far.",
        "*/followup list* — your open follow-ups: overdue, today and the next 7 days.",
        "*/followup help* — this help.",
        "Your own list, with buttons, is always in the app's *Home* tab. Reminders arrive by DM"
        " when a follow-up is due.",
    ]
)


def help_message() -> dict[str, Any]:
    return {"text": HELP_TEXT, "blocks": [{"type": "section", "text": mrkdwn(HELP_TEXT)}]}
