"""Block Kit for lookups: a list of matching customers, one customer's card, a rep's own list,
and a customer's change history — each in the reader's language and time zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from bot.edits import FIELD_LABELS
from bot.history import CustomerHistory, HistoryLine
from bot.home import HomeData, ItemGroup
from bot.i18n import DEFAULT_LANGUAGE, Text, Translator, _, translator
from bot.lookup import CustomerCard, CustomerHit, TimelineEntry
from handlers.blocks import escape, method_label, mrkdwn, plain, status_label

OPEN_CARD: Final = "lookup_open_card"
LOG_FOR_CUSTOMER: Final = "lookup_log_followup"
CLIP: Final = 400


def english(t: Translator | None) -> Translator:
    """Until every caller passes the reader's translator, English (the old behaviour)."""
    return t or translator(DEFAULT_LANGUAGE)


def _clip(text: str, limit: int = CLIP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _contact(hit: CustomerHit) -> str:
    return " · ".join(escape(part) for part in (hit.phone, hit.email) if part)


def _hit_line(hit: CustomerHit, t: Translator) -> str:
    parts = [
        f"*{escape(hit.name)}* · {escape(hit.company)}",
        status_label(t, hit.status),
        t.gettext("owner <@{owner}>", owner=hit.owner_id),
    ]
    contact = _contact(hit)
    if contact:
        parts.append(contact)
    return " — ".join(parts)


def no_match_message(query: str, *, t: Translator | None = None) -> dict[str, Any]:
    t = english(t)
    text = t.gettext(
        "No customer matches “{query}”. Try part of the name or company, a phone number or an "
        "email.",
        query=escape(query),
    )
    return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(text)}]}


def results_message(
    query: str, hits: Sequence[CustomerHit], *, t: Translator | None = None
) -> dict[str, Any]:
    t = english(t)
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(
                t.ngettext(
                    "{count} customer matches “{query}”:",
                    "{count} customers match “{query}”, best first:",
                    len(hits),
                    query=escape(query),
                )
            ),
        }
    ]
    for hit in hits:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(_hit_line(hit, t)),
                "accessory": {
                    "type": "button",
                    "action_id": OPEN_CARD,
                    "text": plain(t.gettext("Open")),
                    "value": str(hit.id),
                },
            }
        )
    text = t.ngettext(
        "{count} customer matches {query}",
        "{count} customers match {query}",
        len(hits),
        query=escape(query),
    )
    return {"text": text, "blocks": blocks}


def _timeline_entry(
    entry: TimelineEntry, t: Translator, zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    when = t.moment(entry.contacted_at, zone, now)
    next_when = t.moment(entry.next_at, zone, now)
    next_action = escape(_clip(entry.next_action, 200))
    lines = [
        f"*{when}* · <@{entry.author_id}> · {method_label(t, entry.method)}",
        t.gettext("*Discussed:* {summary}", summary=escape(_clip(entry.summary))),
        t.gettext("*They said:* {feedback}", feedback=escape(_clip(entry.feedback))),
        (
            t.gettext("*Next:* {action} — {when} (done)", action=next_action, when=next_when)
            if entry.state == "done"
            else t.gettext("*Next:* {action} — {when}", action=next_action, when=next_when)
        ),
    ]
    if entry.edited_by and entry.edited_at:
        lines.append(
            t.gettext(
                "_Edited by <@{editor}>, {when}_",
                editor=entry.edited_by,
                when=t.moment(entry.edited_at, zone, now),
            )
        )
    return {"type": "section", "text": mrkdwn("\n".join(lines))}


def card_message(
    card: CustomerCard, *, zone: ZoneInfo, now: datetime, t: Translator | None = None
) -> dict[str, Any]:
    t = english(t)
    hit = card.customer
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(_hit_line(hit, t)),
            "accessory": {
                "type": "button",
                "action_id": LOG_FOR_CUSTOMER,
                "text": plain(t.gettext("Log follow-up")),
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
                    mrkdwn(
                        t.gettext("Contact details are masked: only the owner and admins see them.")
                    )
                ],
            }
        )
    if not card.timeline:
        blocks.append({"type": "context", "elements": [mrkdwn(t.gettext("No follow-ups yet."))]})
    blocks.append({"type": "divider"})
    blocks += [_timeline_entry(entry, t, zone, now) for entry in card.timeline]
    # The top-level text is mrkdwn too (notifications, fallback): escaped like everything else.
    return {"text": f"{escape(hit.name)} ({escape(hit.company)})", "blocks": blocks}


# The three windows of a rep's open follow-ups, as the Home tab and `/followup list` title them.
GROUP_TITLES: Final[Mapping[str, Text]] = {
    "overdue": _("Overdue ({count})"),
    "today": _("Due today ({count})"),
    "week": _("Next 7 days ({count})"),
}


def group_title(t: Translator, key: str, group: ItemGroup) -> str:
    return t.render(replace(GROUP_TITLES[key], params={"count": group.total}))


def groups_of(data: HomeData) -> tuple[tuple[str, ItemGroup], ...]:
    return (("overdue", data.overdue), ("today", data.today), ("week", data.week))


def more_line(t: Translator, group: ItemGroup) -> str | None:
    hidden = group.total - len(group.items)
    return t.gettext("+{count} more", count=hidden) if hidden > 0 else None


def _list_group(t: Translator, key: str, group: ItemGroup, data: HomeData) -> str:
    lines = [f"*{group_title(t, key, group)}*"]
    for item in group.items:
        when = t.when(item.due_at, data.zone, data.now)
        lines.append(
            f"• *{escape(item.customer_name)}* · {escape(item.company)} — "
            f"{escape(_clip(item.next_action, 150))} — {when}"
        )
    more = more_line(t, group)
    if more:
        lines.append(f"  {more}")
    return "\n".join(lines)


def list_message(data: HomeData, *, t: Translator | None = None) -> dict[str, Any]:
    t = english(t)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(_list_group(t, key, group, data)[:3000])}
        for key, group in groups_of(data)
    ]
    blocks.append(
        {
            "type": "context",
            "elements": [mrkdwn(t.gettext("Open the app's Home tab for buttons on each item."))],
        }
    )
    total = data.overdue.total + data.today.total + data.week.total
    return {"text": t.gettext("Your open follow-ups: {count}", count=total), "blocks": blocks}


# --- history ---------------------------------------------------------------------------------

# One whole sentence per (entity, action), so a translation can order it as its language does.
FOLLOWUP_ACTIONS: Final[Mapping[str, Text]] = {
    "create": _("<@{actor}> created follow-up #{id}"),
    "update": _("<@{actor}> updated follow-up #{id}"),
    "edit": _("<@{actor}> edited follow-up #{id}"),
    "superseded": _("<@{actor}> closed follow-up #{id} (a newer follow-up was logged)"),
    "done": _("<@{actor}> marked follow-up #{id} done"),
    "snooze": _("<@{actor}> snoozed follow-up #{id}"),
    "reassign": _("<@{actor}> reassigned follow-up #{id}"),
    "merge": _("<@{actor}> moved follow-up #{id} here by merging customers"),
    "unmerge": _("<@{actor}> moved follow-up #{id} back by undoing a merge"),
}
CUSTOMER_ACTIONS: Final[Mapping[str, Text]] = {
    "create": _("<@{actor}> created customer"),
    "update": _("<@{actor}> updated customer"),
    "edit": _("<@{actor}> edited customer"),
    "reassign": _("<@{actor}> reassigned customer"),
    "merge": _("<@{actor}> merged another customer into this one"),
    "unmerge": _("<@{actor}> undid a merge of this customer"),
}
# Actions whose stored before/after is bookkeeping (snapshots, moved ids), not edits to show.
NO_CHANGES_SHOWN: Final = frozenset({"create", "merge", "unmerge", "superseded", "done"})
SHOWN_FIELDS: Final = 4


def _headline(t: Translator, line: HistoryLine) -> str:
    actions = FOLLOWUP_ACTIONS if line.entity == "followup" else CUSTOMER_ACTIONS
    params = {"actor": line.actor_id, "id": str(line.entity_id or "")}
    template = actions.get(line.action)
    if template is not None:
        return t.render(replace(template, params=params))
    if line.entity == "followup":
        return t.gettext(
            "<@{actor}> changed follow-up #{id} ({action})", action=line.action, **params
        )
    return t.gettext("<@{actor}> changed customer ({action})", action=line.action, **params)


def _moment_value(value: object, t: Translator, zone: ZoneInfo, now: datetime) -> str | None:
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return t.clock(at, zone, now) if at.tzinfo else None


def _value(field: str, value: Any, t: Translator, zone: ZoneInfo, now: datetime) -> str:
    if value in (None, ""):
        return "—"
    if field in ("status", "status_after"):
        return status_label(t, str(value))
    if field == "method":
        return method_label(t, str(value))
    if field == "owner_id":
        return f"<@{value}>"
    if field in ("contacted_at", "next_at"):
        moment = _moment_value(value, t, zone, now)
        if moment:
            return moment
    text = str(value)
    return escape(text if len(text) <= 60 else text[:59] + "…")


def _history_line(line: HistoryLine, t: Translator, zone: ZoneInfo, now: datetime) -> str:
    head = f"{t.clock(line.at, zone, now)} · {_headline(t, line)}"
    if line.action in NO_CHANGES_SHOWN:
        return head
    changes = [
        t.gettext(
            "{field}: {before} → {after}",
            field=FIELD_LABELS[field],
            before=_value(field, before, t, zone, now),
            after=_value(field, after, t, zone, now),
        )
        for field, before, after in line.changes
        if field in FIELD_LABELS and not isinstance(after, (dict, list))
    ][:SHOWN_FIELDS]
    if not changes:
        return head
    listed = changes[0]
    for change in changes[1:]:
        listed = t.gettext("{earlier}; {later}", earlier=listed, later=change)
    return f"{head} — {listed}"


def history_message(
    history: CustomerHistory, *, zone: ZoneInfo, now: datetime, t: Translator | None = None
) -> dict[str, Any]:
    t = english(t)
    title = t.gettext(
        "History of *{customer}* · {company} (newest first, times in {zone})",
        customer=escape(history.name),
        company=escape(history.company),
        zone=zone.key,
    )
    lines = [_history_line(line, t, zone, now) for line in history.lines] or [
        t.gettext("No changes yet.")
    ]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(title)}]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
            chunk = []
        chunk.append("• " + line)
    if chunk:
        blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
    text = t.gettext("History of {customer}", customer=escape(history.name))
    return {"text": text, "blocks": blocks[:50]}
