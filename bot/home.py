"""What a rep's App Home shows: their overdue, today's and this week's follow-ups, and what
they closed recently — each item with the same buttons as a reminder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.reminders import ReminderItem
from storage import queries
from storage.db import Database

ITEMS_PER_GROUP = 10
RECENTLY_DONE = 5


@dataclass(frozen=True)
class ItemGroup:
    items: tuple[ReminderItem, ...]
    total: int


@dataclass(frozen=True)
class DoneItem:
    customer_name: str
    company: str
    done_at: datetime


@dataclass(frozen=True)
class HomeData:
    user_id: str
    zone: ZoneInfo
    now: datetime
    overdue: ItemGroup
    today: ItemGroup
    week: ItemGroup
    done: tuple[DoneItem, ...]


def distinct_groups(*groups: ItemGroup) -> tuple[ItemGroup, ...]:
    """Each follow-up in one group only: the first, most urgent one it appears in.

    The windows are read by separate queries, and a follow-up snoozed, or reassigned back, by a
    reminder or the digest between two of them is seen in both (overdue, then next week). Slack
    refuses a view whose buttons repeat a block_id, so a duplicate would blank the whole Home tab.
    """
    seen: set[int] = set()
    distinct: list[ItemGroup] = []
    for group in groups:
        items = tuple(item for item in group.items if item.followup_id not in seen)
        seen.update(item.followup_id for item in items)
        dropped = len(group.items) - len(items)
        distinct.append(ItemGroup(items, max(group.total - dropped, len(items))))
    return tuple(distinct)


def home_data(db: Database, user_id: str, *, zone: ZoneInfo, now: datetime) -> HomeData:
    """ "Overdue" is before now; "today" is the rest of the user's local day; "week" the next 7."""
    local_today = now.astimezone(zone).date()
    tomorrow = datetime.combine(local_today + timedelta(days=1), time(0), tzinfo=zone)
    week_end = tomorrow + timedelta(days=7)
    with db.reader() as session:

        def window(since: datetime | None, before: datetime) -> ItemGroup:
            rows = queries.open_followups_of(
                session, user_id, since=since, before=before, limit=ITEMS_PER_GROUP
            )
            total = queries.count_open_of(session, user_id, since=since, before=before)
            return ItemGroup(tuple(ReminderItem.of(f) for f in rows), total)

        overdue, today, week = distinct_groups(
            window(None, now), window(now, tomorrow), window(tomorrow, week_end)
        )
        done = tuple(
            DoneItem(f.customer.name, f.customer.company, f.done_at or now)
            for f in queries.recently_done_of(session, user_id, limit=RECENTLY_DONE)
        )
    return HomeData(user_id, zone, now, overdue, today, week, done)
