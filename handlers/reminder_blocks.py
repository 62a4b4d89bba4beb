"""Block Kit for reminder DMs: one follow-up, a digest of many, escalations, and the line that
replaces an item's buttons once someone has acted on it (so no stale buttons remain)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from bot.followup_actions import SNOOZE_CHOICES, SnoozeChoice
from bot.i18n import Text, Translator, _
from bot.reminders import ReminderItem
from handlers.blocks import escape, mrkdwn, option, plain
from handlers.form import parse_id

ACTIONS_BLOCK_PREFIX: Final = "fu:"
DONE: Final = "reminder_done"
SNOOZE: Final = "reminder_snooze"
LOG_NEXT: Final = "reminder_log_next"
REASSIGN: Final = "reminder_reassign"
SNOOZE_LABELS: Final[Mapping[SnoozeChoice, Text]] = {
    "1h": _("1 hour"),
    "tomorrow": _("Tomorrow morning"),
    "monday": _("Next Monday"),
}
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


def _names(item: ReminderItem) -> dict[str, str]:
    """The customer and company, escaped for mrkdwn, as message parameters."""
    return {"customer": escape(item.customer_name), "company": escape(item.company)}


def item_actions(followup_id: int, t: Translator) -> dict[str, Any]:
    """Done / Log next / Snooze / Reassign for one follow-up, labelled for the reader."""
    value = str(followup_id)
    return {
        "type": "actions",
        "block_id": actions_block_id(followup_id),
        "elements": [
            {
                "type": "button",
                "action_id": DONE,
                "text": plain(t.gettext("Done")),
                "style": "primary",
                "value": value,
            },
            {
                "type": "button",
                "action_id": LOG_NEXT,
                "text": plain(t.gettext("Log next")),
                "value": value,
            },
            {
                "type": "static_select",
                "action_id": SNOOZE,
                "placeholder": plain(t.gettext("Snooze")),
                "options": [
                    option(f"{followup_id}:{choice}", t.render(SNOOZE_LABELS[choice]))
                    for choice in SNOOZE_CHOICES
                ],
            },
            {
                "type": "users_select",
                "action_id": REASSIGN,
                "placeholder": plain(t.gettext("Reassign")),
            },
        ],
    }


def _details(t: Translator, item: ReminderItem) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [
            mrkdwn(t.gettext("*Last time:*\n{summary}", summary=escape(_clip(item.summary)))),
            mrkdwn(t.gettext("*They said:*\n{feedback}", feedback=escape(_clip(item.feedback)))),
        ],
    }


class ReminderBlocks:
    """The app's ReminderMessages: what an owner (or their manager) sees in their DMs, in the
    reader's language and time zone."""

    # Header + 2 blocks per item must stay within Slack's 50 blocks per message.
    digest_page_size = 24

    def due(
        self, t: Translator, item: ReminderItem, zone: ZoneInfo, now: datetime
    ) -> dict[str, Any]:
        when = t.when(item.due_at, zone, now)
        headline = t.gettext(
            ":bell: Follow up with *{customer}* · {company} — due {when}",
            **_names(item),
            when=when,
        )
        next_step = t.gettext(
            "*Next step:* {next_action}", next_action=escape(_clip(item.next_action))
        )
        return {
            "text": t.gettext(
                "Follow-up due: {customer} ({company}) — {when}", **_names(item), when=when
            ),
            "blocks": [
                {"type": "section", "text": mrkdwn(headline)},
                _details(t, item),
                {"type": "section", "text": mrkdwn(next_step)},
                item_actions(item.followup_id, t),
            ],
        }

    def digest(
        self,
        t: Translator,
        items: Sequence[ReminderItem],
        zone: ZoneInfo,
        now: datetime,
        *,
        total: int,
    ) -> dict[str, Any]:
        heading = t.ngettext(
            ":bell: *{count} follow-up is due.* Oldest first:",
            ":bell: *{count} follow-ups are due.* Oldest first:",
            total,
        )
        blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(heading)}]
        for item in items:
            line = t.gettext(
                "*{customer}* · {company}\n{next_action} — due {when}",
                **_names(item),
                next_action=escape(_clip(item.next_action)),
                when=t.when(item.due_at, zone, now),
            )
            blocks += [
                {"type": "section", "text": mrkdwn(line)},
                item_actions(item.followup_id, t),
            ]
        text = t.ngettext("{count} follow-up is due", "{count} follow-ups are due", total)
        return {"text": text, "blocks": blocks}

    def escalation(
        self, t: Translator, item: ReminderItem, zone: ZoneInfo, now: datetime
    ) -> dict[str, Any]:
        when = t.when(item.due_at, zone, now)
        headline = t.gettext(
            ":warning: *Overdue:* *{customer}* · {company} was due {when}. "
            "Please follow up today, snooze it to a real date, or hand it over.",
            **_names(item),
            when=when,
        )
        return {
            "text": t.gettext(
                "Overdue: {customer} ({company}), due {when}", **_names(item), when=when
            ),
            "blocks": [
                {"type": "section", "text": mrkdwn(headline)},
                _details(t, item),
                item_actions(item.followup_id, t),
            ],
        }

    def manager_escalation(
        self, t: Translator, item: ReminderItem, zone: ZoneInfo, now: datetime
    ) -> dict[str, Any]:
        text = t.gettext(
            ":warning: <@{owner}>'s follow-up with *{customer}* · {company} is overdue "
            "(due {when}). Next step: {next_action}",
            owner=item.owner_id,
            **_names(item),
            when=t.when(item.due_at, zone, now),
            next_action=escape(_clip(item.next_action)),
        )
        return {
            "text": t.gettext("Overdue follow-up for {customer} ({company})", **_names(item)),
            "blocks": [{"type": "section", "text": mrkdwn(text)}],
        }


def reassigned_notice(
    t: Translator,
    *,
    actor_id: str,
    customer_name: str,
    company: str,
    next_at: datetime,
    zone: ZoneInfo,
    now: datetime,
) -> dict[str, Any]:
    """The DM to someone who was just handed a customer, in their language and zone."""
    names = {"customer": escape(customer_name), "company": escape(company)}
    text = t.gettext(
        ":arrow_right: <@{actor}> handed *{customer}* · {company} to you. Next contact: {when}.",
        actor=actor_id,
        **names,
        when=t.when(next_at, zone, now),
    )
    return {
        "text": t.gettext("{customer} ({company}) was handed to you", **names),
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
        # The message comes back from the client: a block that isn't an object is dropped.
        if isinstance(block, dict)
    ]
