"""Block Kit for lookups: a list of matching customers, and one customer's card."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from bot.history import CustomerHistory, HistoryLine
from bot.home import HomeData, ItemGroup
from bot.lookup import CustomerCard, CustomerHit
from bot.timefmt import describe_moment, local_label
from handlers.blocks import METHOD_LABELS, STATUS_LABELS, escape, mrkdwn, plain

OPEN_CARD: Final = "lookup_open_card"
LOG_FOR_CUSTOMER: Final = "lookup_log_followup"
CLIP: Final = 400


def _clip(text: str, limit: int = CLIP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _contact(hit: CustomerHit) -> str:
    return " · ".join(escape(part) for part in (hit.phone, hit.email) if part)


def _hit_line(hit: CustomerHit) -> str:
    parts = [
        f"*{escape(hit.name)}* · {escape(hit.company)}",
        str(STATUS_LABELS.get(hit.status, hit.status)),
    ]
    parts.append(f"owner <@{hit.owner_id}>")
    contact = _contact(hit)
    if contact:
        parts.append(contact)
    return " — ".join(parts)


def no_match_message(query: str) -> dict[str, Any]:
    text = (
        f"No customer matches “{escape(query)}”. Try part of the name or company, "
        "a phone number or an email."
    )
    return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(text)}]}


def results_message(query: str, hits: Sequence[CustomerHit]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(f"{len(hits)} customers match “{escape(query)}”, best first:"),
        }
    ]
    for hit in hits:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(_hit_line(hit)),
                "accessory": {
                    "type": "button",
                    "action_id": OPEN_CARD,
                    "text": plain("Open"),
                    "value": str(hit.id),
                },
            }
        )
    return {"text": f"{len(hits)} customers match {escape(query)}", "blocks": blocks}


def _timeline_entry(entry: Any, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    when = local_label(entry.contacted_at, zone, now)
    method = METHOD_LABELS.get(entry.method, entry.method)
    lines = [
        f"*{when}* · <@{entry.author_id}> · {method}",
        f"*Discussed:* {escape(_clip(entry.summary))}",
        f"*They said:* {escape(_clip(entry.feedback))}",
        f"*Next:* {escape(_clip(entry.next_action, 200))} — {local_label(entry.next_at, zone, now)}"
        + (" (done)" if entry.state == "done" else ""),
    ]
    if entry.edited_by and entry.edited_at:
        lines.append(f"_Edited by <@{entry.edited_by}>, {local_label(entry.edited_at, zone, now)}_")
    return {"type": "section", "text": mrkdwn("\n".join(lines))}


def card_message(card: CustomerCard, *, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    hit = card.customer
    head = f"{_hit_line(hit)}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(head),
            "accessory": {
                "type": "button",
                "action_id": LOG_FOR_CUSTOMER,
                "text": plain("Log follow-up"),
                "value": str(hit.id),
                "style": "primary",
            },
        }
    ]
    if card.contact_masked:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn("Contact details are masked: only the owner and admins see them.")
                ],
            }
        )
    if not card.timeline:
        blocks.append({"type": "context", "elements": [mrkdwn("No follow-ups yet.")]})
    blocks.append({"type": "divider"})
    blocks += [_timeline_entry(entry, zone, now) for entry in card.timeline]
    return {"text": f"{hit.name} ({hit.company})", "blocks": blocks}


def _list_group(title: str, group: ItemGroup, data: HomeData) -> str:
    lines = [f"*{title}* ({group.total})"]
    for item in group.items:
        when = describe_moment(item.due_at, data.zone, data.now)
        lines.append(
            f"• *{escape(item.customer_name)}* · {escape(item.company)} — "
            f"{escape(_clip(item.next_action, 150))} — {when}"
        )
    if group.total > len(group.items):
        lines.append(f"  +{group.total - len(group.items)} more")
    return "\n".join(lines)


def list_message(data: HomeData) -> dict[str, Any]:
    sections = [
        _list_group("Overdue", data.overdue, data),
        _list_group("Due today", data.today, data),
        _list_group("Next 7 days", data.week, data),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(text[:3000])} for text in sections
    ]
    blocks.append(
        {
            "type": "context",
            "elements": [mrkdwn("Open the app's Home tab for buttons on each item.")],
        }
    )
    total = data.overdue.total + data.today.total + data.week.total
    return {"text": f"Your open follow-ups: {total}", "blocks": blocks}


ACTION_WORDS: Final = {
    "create": "created",
    "update": "updated",
    "edit": "edited",
    "superseded": "closed (a newer follow-up was logged)",
    "done": "marked done",
    "snooze": "snoozed",
    "reassign": "reassigned",
    "merge": "merged another customer into",
    "unmerge": "undid a merge of",
}
SHOWN_FIELDS: Final = 4


def _value(value: Any) -> str:
    text = "—" if value in (None, "") else str(value)
    return escape(text if len(text) <= 60 else text[:59] + "…")


def _history_line(line: HistoryLine, zone: ZoneInfo, now: datetime) -> str:
    what = "follow-up" if line.entity == "followup" else "customer"
    head = (
        f"{local_label(line.at, zone, now)} · <@{line.actor_id}> "
        f"{ACTION_WORDS.get(line.action, line.action)} {what}"
        + (f" #{line.entity_id}" if line.entity == "followup" else "")
    )
    if line.action == "create":
        return head
    changes = [
        f"{field}: {_value(before)} → {_value(after)}"
        for field, before, after in line.changes[:SHOWN_FIELDS]
        if not isinstance(after, (dict, list))
    ]
    return head + (" — " + "; ".join(changes) if changes else "")


def history_message(history: CustomerHistory, *, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    title = f"History of *{escape(history.name)}* · {escape(history.company)} (newest first)"
    lines = [_history_line(line, zone, now) for line in history.lines] or ["No changes yet."]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(title)}]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
            chunk = []
        chunk.append("• " + line)
    if chunk:
        blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
    return {"text": f"History of {escape(history.name)}", "blocks": blocks[:50]}
