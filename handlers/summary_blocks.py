"""Block Kit for the morning summary. It must always fit Slack's limits (50 blocks, 3,000
characters a section) however big the team: long lists are cut with "+N more" and a pointer
to the Home tab. Only masked contact details ever reach this module."""

from __future__ import annotations

from typing import Any, Final

from bot.summary import OwnerDay, SummaryData
from bot.timefmt import local_label
from handlers.blocks import STATUS_LABELS, escape, mrkdwn, plain

MAX_OWNER_SECTIONS: Final = 25
SECTION_LIMIT: Final = 3000


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 2] + " …"
    return {"type": "section", "text": mrkdwn(text)}


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _owner_section(day: OwnerDay, data: SummaryData) -> dict[str, Any]:
    counts = []
    if day.overdue:
        counts.append(f"{day.overdue} overdue")
    if day.due_today:
        counts.append(f"{day.due_today} due today")
    lines = [f"<@{day.owner_id}> — *{' · '.join(counts)}*"]
    for item in day.urgent:
        when = local_label(item.next_at, data.zone, data.as_of)
        lines.append(
            f"• *{escape(item.customer_name)}* · {escape(item.company)} — "
            f"{escape(item.next_action[:150])} — {when}"
        )
    shown = len(day.urgent)
    if day.overdue + day.due_today > shown:
        lines.append(f"  +{day.overdue + day.due_today - shown} more in their Home tab")
    return _section("\n".join(lines))


def _today(data: SummaryData) -> list[dict[str, Any]]:
    due = sum(day.due_today for day in data.owners)
    overdue = sum(day.overdue for day in data.owners)
    if not data.owners:
        return [_section("*Today:* nothing due and nothing overdue. :tada:")]
    blocks = [
        _section(
            f"*Today:* {_plural(due, 'follow-up')} due, {overdue} overdue, "
            f"across {_plural(len(data.owners), 'person', 'people')}."
        )
    ]
    blocks += [_owner_section(day, data) for day in data.owners[:MAX_OWNER_SECTIONS]]
    hidden = data.owners[MAX_OWNER_SECTIONS:]
    if hidden:
        rest = sum(day.due_today + day.overdue for day in hidden)
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f"+{_plural(len(hidden), 'more person', 'more people')} with "
                        f"{_plural(rest, 'follow-up')} — each sees their own list in the "
                        "app's Home tab."
                    )
                ],
            }
        )
    return blocks


def _movement(data: SummaryData) -> dict[str, Any]:
    since = local_label(data.since, data.zone, data.as_of)
    lines = [
        f"*Since the last summary* ({since}): {_plural(data.new_customers, 'new customer')}, "
        f"{_plural(data.followups_logged, 'follow-up')} logged."
    ]
    if data.status_changes:
        moves = ", ".join(f"{n} {old} → {new}" for old, new, n in data.status_changes[:8])
        lines.append(f"Status changes: {moves}.")
    return _section("\n".join(lines))


def _pipeline(data: SummaryData) -> dict[str, Any]:
    counts = " · ".join(f"{STATUS_LABELS[s]}: *{n}*" for s, n in data.pipeline.items())
    steps = []
    for step in data.conversions:
        rate = f" ({step.percent}%)" if step.percent is not None else ""
        steps.append(f"{step.from_status} → {step.to_status}: {step.moved} of {step.base}{rate}")
    return _section(f"*Pipeline:* {counts}\nLast 30 days: " + "; ".join(steps))


def _data_quality(data: SummaryData) -> dict[str, Any]:
    lines = []
    if data.open_past_due:
        lines.append(
            f"• {_plural(data.open_past_due, 'open follow-up')} past the next-contact date "
            f"({data.stale} more than 7 days) — log the contact, or snooze to a real date"
        )
    if data.undeliverable:
        lines.append(f"• {_plural(data.undeliverable, 'reminder')} couldn't be delivered")
    for pair in data.duplicates:
        lines.append(f"• Possible duplicate: {escape(pair.first)} ~ {escape(pair.second)}")
    if not lines:
        lines.append("• All clean. :sparkles:")
    return _section("*Data quality:*\n" + "\n".join(lines))


class SummaryBlocks:
    """The app's SummaryMessages."""

    def summary(self, data: SummaryData) -> dict[str, Any]:
        title = f"Follow-ups · {data.local_date:%a} {data.local_date.day} {data.local_date:%b}"
        if data.late:
            title += " (late)"
        blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(title)}]
        if data.late:
            blocks.append(
                {
                    "type": "context",
                    "elements": [mrkdwn("Posted late: the bot was not running at the usual time.")],
                }
            )
        blocks += _today(data)
        blocks += [{"type": "divider"}, _movement(data), _pipeline(data), _data_quality(data)]
        due = sum(day.due_today for day in data.owners)
        overdue = sum(day.overdue for day in data.owners)
        return {"text": f"{title}: {due} due today, {overdue} overdue", "blocks": blocks}
