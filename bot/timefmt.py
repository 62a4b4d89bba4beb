"""How the bot shows a moment to a person: in their zone, with the zone named, and how far away.

Echoing "Tue 1 Dec 15:00 (Asia/Shanghai), in 4 days" back after every entry is what makes a
misread date visible at once.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta


def local_label(at: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """'Tue 1 Dec 15:00 (Asia/Shanghai)'; the year is named only when it isn't this year."""
    local = at.astimezone(zone)
    day = f"{local:%a} {local.day} {local:%b}"
    if now is None or now.astimezone(zone).year != local.year:
        day += f" {local.year}"
    return f"{day} {local:%H:%M} ({zone.key})"


def relative_label(at: datetime, now: datetime) -> str:
    return str(format_timedelta(at - now, add_direction=True, locale="en", threshold=1.0))


def describe_moment(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    return f"{local_label(at, zone, now)}, {relative_label(at, now)}"
