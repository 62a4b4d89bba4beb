"""Block Kit for reminder DMs: one follow-up, a digest of many, escalations, and the line that
replaces an item's buttons once someone has acted on it (so no stale buttons remain)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from bot.followup_actions import SNOOZE_CHOICES
from bot.reminders import ReminderItem
from bot.timefmt import describe_moment
from handlers.blocks import escape, mrkdwn, option, plain
from handlers.form import parse_id

ACTIONS_BLOCK_PREFIX: Final = "fu:"
DONE: Final = "reminder_done"
SNOOZE: Final = "reminder_snooze"
LOG_NEXT: Final = "reminder_log_next"
REASSIGN: Final = "reminder_reassign"
SNOOZE_LABELS: Final = {"1h": "1 hour", "tomorrow": "Tomorrow morning", "monday": "Next Monday"}
PREVIEW_CHARS: Final = 300


def actions_block_id(followup_id: int) -> str:
    return f"{ACTIONS_BLOCK_PREFIX}{followup_id}"


def followup_id_from_block(block_id: object) -> int | None:
    if not isinstance(block_id, str) or not block_id.startswith(ACTIONS_BLOCK_PREFIX):
        return None
    digits = block_id.removeprefix(ACTIONS_BLOCK_PREFIX)
    return parse_id(digits)


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _who(item: ReminderItem) -> str:
    return f"*{escape(item.customer_name)}* · {escape(item.company)}"


def _plain_who(item: ReminderItem) -> str:
    return f"{escape(item.customer_name)} ({escape(item.company)})"


def item_actions(followup_id: int) -> dict[str, Any]:
    value = str(followup_id)
    return {
        "type": "actions",
        "block_id": actions_block_id(followup_id),
        "elements": [
            {
                "type": "button",
                "action_id": DONE,
                "text": plain("Done"),
                "style": "primary",
                "value": value,
            },
            {"type": "button", "action_id": LOG_NEXT, "text": plain("Log next"), "value": value},
            {
                "type": "static_select",
                "action_id": SNOOZE,
                "placeholder": plain("Snooze"),
                "options": [
                    option(f"{followup_id}:{choice}", SNOOZE_LABELS[choice])
                    for choice in SNOOZE_CHOICES
                ],
            },
            {"type": "users_select", "action_id": REASSIGN, "placeholder": plain("Reassign")},
        ],
    }


def _details(item: ReminderItem) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [
            mrkdwn(f"*Last time:*\n{escape(_clip(item.summary))}"),
            mrkdwn(f"*They said:*\n{escape(_clip(item.feedback))}"),
        ],
    }


class ReminderBlocks:
    """The app's ReminderMessages: what an owner sees in their DMs."""

    # Header + 2 blocks per item must stay within Slack's 50 blocks per message.
    digest_page_size = 24

    def due(self, item: ReminderItem, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
        when = describe_moment(item.due_at, zone, now)
        headline = f":bell: Follow up with {_who(item)} — due {when}"
        return {
            "text": f"Follow-up due: {_plain_who(item)} — {when}",
            "blocks": [
                {"type": "section", "text": mrkdwn(headline)},
                _details(item),
                {
                    "type": "section",
                    "text": mrkdwn(f"*Next step:* {escape(_clip(item.next_action))}"),
                },
                item_actions(item.followup_id),
            ],
        }

    def digest(
        self, items: Sequence[ReminderItem], zone: ZoneInfo, now: datetime, *, total: int
    ) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {
                "type": "section",
                "text": mrkdwn(f":bell: *{total} follow-ups are due.* Oldest first:"),
            }
        ]
        for item in items:
            when = describe_moment(item.due_at, zone, now)
            line = f"{_who(item)}\n{escape(_clip(item.next_action))} — due {when}"
            blocks += [{"type": "section", "text": mrkdwn(line)}, item_actions(item.followup_id)]
        return {"text": f"{total} follow-ups are due", "blocks": blocks}

    def escalation(self, item: ReminderItem, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
        when = describe_moment(item.due_at, zone, now)
        headline = (
            f":warning: *Overdue:* {_who(item)} was due {when}. "
            "Please follow up today, snooze it to a real date, or hand it over."
        )
        return {
            "text": f"Overdue: {escape(item.customer_name)} ({escape(item.company)}), due {when}",
            "blocks": [
                {"type": "section", "text": mrkdwn(headline)},
                _details(item),
                item_actions(item.followup_id),
            ],
        }

    def manager_escalation(
        self, item: ReminderItem, zone: ZoneInfo, now: datetime
    ) -> dict[str, Any]:
        when = describe_moment(item.due_at, zone, now)
        text = (
            f":warning: <@{item.owner_id}>'s follow-up with {_who(item)} is overdue "
            f"(due {when}). Next step: {escape(_clip(item.next_action))}"
        )
        return {
            "text": f"Overdue follow-up for {escape(item.customer_name)} ({escape(item.company)})",
            "blocks": [{"type": "section", "text": mrkdwn(text)}],
        }


def reassigned_notice(
    *, actor_id: str, customer_name: str, company: str, next_when: str
) -> dict[str, Any]:
    text = (
        f":arrow_right: <@{actor_id}> handed *{escape(customer_name)}* · {escape(company)} "
        f"to you. Next contact: {next_when}."
    )
    return {
        "text": f"{escape(customer_name)} ({escape(company)}) was handed to you",
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


def replace_item_actions(
    blocks: Sequence[dict[str, Any]], followup_id: int, outcome: str
) -> list[dict[str, Any]]:
    """The same message with this item's buttons swapped for what happened to it."""
    wanted = actions_block_id(followup_id)
    return [
        {"type": "context", "block_id": wanted, "elements": [mrkdwn(outcome)]}
        if block.get("block_id") == wanted
        else dict(block)
        for block in blocks
    ]
