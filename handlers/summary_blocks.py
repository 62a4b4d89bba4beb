"""Block Kit for the morning summary, in the channel's language. It must always fit Slack's
limits (50 blocks, 3,000 characters a section) however big the team and whichever the language:
long lists are cut with "+N more" and a pointer to the Home tab. Only masked contact details ever
reach this module."""

from __future__ import annotations

from typing import Any, Final

from bot.i18n import Translator
from bot.summary import OwnerDay, SummaryData
from handlers.blocks import escape, mrkdwn, plain, status_label

MAX_OWNER_SECTIONS: Final = 25
MAX_STATUS_CHANGES: Final = 8
SECTION_LIMIT: Final = 3000


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 2] + " …"
    return {"type": "section", "text": mrkdwn(text)}


def _followups(t: Translator, count: int) -> str:
    return t.ngettext("{count} follow-up", "{count} follow-ups", count)


def _owner_counts(t: Translator, day: OwnerDay) -> str:
    owner = f"<@{day.owner_id}>"
    if day.overdue and day.due_today:
        return t.gettext(
            "{owner} — *{overdue} overdue · {due} due today*",
            owner=owner,
            overdue=day.overdue,
            due=day.due_today,
        )
    if day.overdue:
        return t.gettext("{owner} — *{overdue} overdue*", owner=owner, overdue=day.overdue)
    return t.gettext("{owner} — *{due} due today*", owner=owner, due=day.due_today)


def _owner_section(t: Translator, day: OwnerDay, data: SummaryData) -> dict[str, Any]:
    lines = [_owner_counts(t, day)]
    for item in day.urgent:
        lines.append(
            t.gettext(
                "• *{customer}* · {company} — {action} — {when}",
                customer=escape(item.customer_name),
                company=escape(item.company),
                action=escape(item.next_action[:150]),
                when=t.moment(item.next_at, data.zone, data.as_of),
            )
        )
    hidden = day.overdue + day.due_today - len(day.urgent)
    if hidden > 0:
        lines.append("  " + t.gettext("+{count} more in their Home tab", count=hidden))
    return _section("\n".join(lines))


def _today(t: Translator, data: SummaryData) -> list[dict[str, Any]]:
    if not data.owners:
        return [_section(t.gettext("*Today:* nothing due and nothing overdue. :tada:"))]
    due = sum(day.due_today for day in data.owners)
    overdue = sum(day.overdue for day in data.owners)
    blocks = [
        _section(
            t.ngettext(
                "*Today:* {followups} due, {overdue} overdue, across {count} person.",
                "*Today:* {followups} due, {overdue} overdue, across {count} people.",
                len(data.owners),
                followups=_followups(t, due),
                overdue=overdue,
            )
        )
    ]
    blocks += [_owner_section(t, day, data) for day in data.owners[:MAX_OWNER_SECTIONS]]
    hidden = data.owners[MAX_OWNER_SECTIONS:]
    if hidden:
        rest = sum(day.due_today + day.overdue for day in hidden)
        more = t.ngettext(
            "+{count} more person with {followups} — each sees their own list in the app's "
            "Home tab.",
            "+{count} more people with {followups} — each sees their own list in the app's "
            "Home tab.",
            len(hidden),
            followups=_followups(t, rest),
        )
        blocks.append({"type": "context", "elements": [mrkdwn(more)]})
    return blocks


def _movement(t: Translator, data: SummaryData) -> dict[str, Any]:
    lines = [
        t.gettext(
            "*Since the last summary* ({since}): {customers}, {followups} logged.",
            since=t.moment(data.since, data.zone, data.as_of),
            customers=t.ngettext(
                "{count} new customer", "{count} new customers", data.new_customers
            ),
            followups=_followups(t, data.followups_logged),
        )
    ]
    if data.status_changes:
        moves = [
            t.gettext(
                "{count} {old} → {new}",
                count=n,
                old=status_label(t, old),
                new=status_label(t, new),
            )
            for old, new, n in data.status_changes[:MAX_STATUS_CHANGES]
        ]
        lines.append(t.gettext("Status changes: {moves}.", moves=t.join(moves)))
    return _section("\n".join(lines))


def _pipeline(t: Translator, data: SummaryData) -> dict[str, Any]:
    counts = " · ".join(
        t.gettext("{status}: *{count}*", status=status_label(t, status), count=n)
        for status, n in data.pipeline.items()
    )
    steps = []
    for step in data.conversions:
        names = {"old": status_label(t, step.from_status), "new": status_label(t, step.to_status)}
        if step.percent is None:
            steps.append(
                t.gettext(
                    "{old} → {new}: {moved} of {base}", moved=step.moved, base=step.base, **names
                )
            )
        else:
            steps.append(
                t.gettext(
                    "{old} → {new}: {moved} of {base} ({percent}%)",
                    moved=step.moved,
                    base=step.base,
                    percent=step.percent,
                    **names,
                )
            )
    return _section(
        t.gettext("*Pipeline:* {counts}", counts=counts)
        + "\n"
        + t.gettext("Last 30 days: {steps}", steps=t.join(steps))
    )


def _data_quality(t: Translator, data: SummaryData) -> dict[str, Any]:
    lines = []
    if data.open_past_due:
        lines.append(
            t.ngettext(
                "• {count} open follow-up past the next-contact date ({stale} more than 7 days) "
                "— log the contact, or snooze to a real date",
                "• {count} open follow-ups past the next-contact date ({stale} more than 7 days) "
                "— log the contact, or snooze to a real date",
                data.open_past_due,
                stale=data.stale,
            )
        )
    if data.undeliverable:
        lines.append(
            t.ngettext(
                "• {count} reminder couldn't be delivered",
                "• {count} reminders couldn't be delivered",
                data.undeliverable,
            )
        )
    for pair in data.duplicates:
        lines.append(
            t.gettext(
                "• Possible duplicate: {first} ~ {second}",
                first=escape(pair.first),
                second=escape(pair.second),
            )
        )
    if not lines:
        lines.append(t.gettext("• All clean. :sparkles:"))
    return _section(t.gettext("*Data quality:*") + "\n" + "\n".join(lines))


def summary_title(t: Translator, data: SummaryData) -> str:
    """'Follow-ups · Wed 2 Dec' / '跟进汇总 · 12月2日 周三', marked when posted late."""
    day = t.calendar_day(data.local_date, data.local_date)
    if data.late:
        return t.gettext("Follow-ups · {day} (late)", day=day)
    return t.gettext("Follow-ups · {day}", day=day)


class SummaryBlocks:
    """The app's SummaryMessages."""

    def summary(self, data: SummaryData, t: Translator) -> dict[str, Any]:
        title = summary_title(t, data)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(title)}]
        if data.late:
            late = t.gettext("Posted late: the bot was not running at the usual time.")
            blocks.append({"type": "context", "elements": [mrkdwn(late)]})
        blocks += _today(t, data)
        blocks += [
            {"type": "divider"},
            _movement(t, data),
            _pipeline(t, data),
            _data_quality(t, data),
        ]
        due = sum(day.due_today for day in data.owners)
        overdue = sum(day.overdue for day in data.owners)
        text = t.gettext(
            "{title}: {due} due today, {overdue} overdue", title=title, due=due, overdue=overdue
        )
        return {"text": text, "blocks": blocks}
