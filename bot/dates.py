"""Read a "next contact" moment typed in English or Chinese, in the user's own time zone.

English goes through dateparser (restricted to English, so it never pays for language
detection), wrapped in a few readers of our own for the shapes dateparser gets wrong or makes
slow: weekdays, times of day, hour/minute offsets and ISO timestamps. dateparser does not
understand compound Chinese phrases ("下周三下午3点"), so Chinese has its own small regex parser.

Every reader produces a *naive local wall-clock* moment; only at the end do we attach the zone
with zoneinfo. dateparser's own TIMEZONE/TO_TIMEZONE conversion is never used (its DST offsets
are wrong). The exceptions are hour/minute offsets ("in 3 hours", "2小时后") and ISO strings with
an explicit offset, which name an exact instant and are computed on aware datetimes.

Decisions worth knowing (each is tested in tests/test_dates.py):

* Bare weekdays ("Friday", "周五") mean the next such day; today counts only while the resolved
  time of day is still ahead.
* English "next Friday" means the first Friday strictly after today: said on a Wednesday it is
  two days away ("this coming Friday"), which is what sales teams usually mean. "Friday next
  week" / "next week Friday" names the Friday of the next calendar week instead.
* Chinese "下周五" is Friday of the next calendar week (weeks start on Monday), "本周五/这周五"
  Friday of this week, even if that has passed (the caller rejects past moments).
* Day-granular phrases ("tomorrow", "in 2 weeks", "下个月5号") get `default_time`; only a named
  time of day or an hour/minute offset sets `has_time`.
* An hour with no am/pm or period word ("at 3", "明天3点") is read in working hours: 1-6 are
  afternoon hours (15:00 for "3"), 7-12 morning/noon, 0 and 13-23 literal.
* Chinese periods alone: 上午/早上 = default_time (no time named), 中午 = 12:00, 下午 = 14:00,
  傍晚 = 18:00, 晚上 = 20:00; 凌晨 alone is unreadable.
* "next week" / "下周" is the same weekday seven days on, "next month" / "下个月" the same day
  of next month (clamped to its last day), both at default_time.
* Slash dates follow dateparser's English order, month first: "1/12/2026" is 12 January.
* A bare month or year ("December", "2027") is unreadable: it does not pick a day.
"""

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from dateparser.date import DateData, DateDataParser

__all__ = ["ParsedWhen", "parse_when", "warm_up"]

# Longer input is not a date phrase; capping it also bounds regex and dateparser work.
_MAX_TEXT_LENGTH: Final = 200
_ONE_DAY: Final = timedelta(days=1)
_ONE_WEEK: Final = timedelta(days=7)


@dataclass(frozen=True)
class ParsedWhen:
    at_utc: datetime  # timezone-aware, UTC
    local: datetime  # timezone-aware, in the user's zone (same instant)
    has_time: bool  # False when default_time was applied


def parse_when(text: str, tz: ZoneInfo, now: datetime, default_time: time) -> ParsedWhen | None:
    """Read `text` as a moment in zone `tz`, relative to `now` (an aware datetime, any zone).

    Returns None when the text can't be read; never raises for user input. Ambiguous phrases
    prefer the future, but the result is not checked against past/future limits (the caller does).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    context = _Context.build(now, tz, default_time)
    try:
        reading = _read(text, context)
        return None if reading is None else _to_parsed_when(reading, tz)
    except (ValueError, OverflowError):
        # Out-of-range arithmetic such as "9999年12月31日晚上12点" or "99999天后".
        return None


def warm_up() -> None:
    """Pay dateparser's one-off start-up cost so the first real request is fast.

    The first parse loads the English locale data and compiles dateparser's regexes; each phrase
    below exercises a different dateparser path (relative, month names, numeric dates).
    """
    now = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
    for phrase in ("in 2 weeks", "tomorrow", "3 Dec", "Dec 3 2026", "2026/12/1", "next month"):
        parse_when(phrase, ZoneInfo("UTC"), now, time(9, 0))


# --- shared plumbing -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    now: datetime  # naive wall clock in the user's zone
    now_utc: datetime
    default_clock: timedelta  # default_time as an offset from midnight

    @classmethod
    def build(cls, now: datetime, tz: ZoneInfo, default_time: time) -> "_Context":
        default_clock = timedelta(
            hours=default_time.hour, minutes=default_time.minute, seconds=default_time.second
        )
        return cls(
            now=now.astimezone(tz).replace(tzinfo=None),
            now_utc=now.astimezone(UTC),
            default_clock=default_clock,
        )

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True)
class _Reading:
    """What a reader understood.

    `when` is naive local wall-clock time, or aware when the phrase named an exact instant.
    """

    when: datetime
    has_time: bool


@dataclass(frozen=True)
class _DayChoice:
    """A day, and how far to move it if the time of day on it has already passed.

    Bare weekdays roll a week and bare times of day a day; explicit dates never roll.
    """

    day: date
    roll_if_passed: timedelta | None = None


# A time of day as an offset from midnight, so that "晚上12点" can be 24:00.
_Clock = timedelta


def _at_clock(choice: _DayChoice, clock: _Clock, has_time: bool, context: _Context) -> _Reading:
    when = datetime.combine(choice.day, time.min) + clock
    if choice.roll_if_passed is not None and when <= context.now:
        when += choice.roll_if_passed
    return _Reading(when, has_time)


def _at_named_or_default_clock(
    choice: _DayChoice, clock: _Clock | None, context: _Context
) -> _Reading:
    if clock is None:
        return _at_clock(choice, context.default_clock, False, context)
    return _at_clock(choice, clock, True, context)


def _upcoming_weekday(weekday: int, context: _Context) -> _DayChoice:
    """The next `weekday` (Monday=0); today, if the time of day will still be ahead."""
    days_ahead = (weekday - context.today.weekday()) % 7
    return _DayChoice(context.today + timedelta(days=days_ahead), roll_if_passed=_ONE_WEEK)


def _weekday_in_week(weekday: int, weeks_from_now: int, context: _Context) -> _DayChoice:
    """`weekday` in the calendar week `weeks_from_now` weeks away (weeks start on Monday)."""
    monday = context.today - timedelta(days=context.today.weekday())
    return _DayChoice(monday + timedelta(weeks=weeks_from_now, days=weekday))


def _next_occurrence_today_or_tomorrow(context: _Context) -> _DayChoice:
    return _DayChoice(context.today, roll_if_passed=_ONE_DAY)


def _add_months(day: date, months: int) -> date:
    """Same day of month `months` later, clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    return _clamped_date(year, month + 1, day.day)


def _clamped_date(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _month_day_on_or_after(today: date, month: int, day: int) -> date | None:
    """First `month`/`day` that is today or later; Feb 29 waits for a leap year."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _day_of_month_on_or_after(today: date, day: int) -> date | None:
    """First month (this one or later) whose `day` is today or later; skips short months."""
    for months_ahead in range(13):
        first = _add_months(today.replace(day=1), months_ahead)
        try:
            candidate = first.replace(day=day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _working_hours_hour(hour: int) -> int | None:
    """Hour with no am/pm: nobody books a sales call at 3 a.m., so 1-6 are afternoon hours."""
    if 1 <= hour <= 6:
        return hour + 12
    return hour if 0 <= hour <= 23 else None


def _clock(hour: int, minute: int) -> _Clock | None:
    if not (0 <= hour <= 24 and 0 <= minute <= 59) or (hour == 24 and minute):
        return None
    return timedelta(hours=hour, minutes=minute)


def _attach_zone(naive: datetime, tz: ZoneInfo) -> datetime:
    """Wall-clock time in `tz`, normalised through UTC.

    fold=0 takes the first of two ambiguous times (autumn fall-back). A time inside a
    spring-forward gap is read with the pre-gap offset, so the UTC round trip moves it forward
    by the gap (02:30 -> 03:30), which is what someone asking for 02:30 would expect.
    """
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def _to_parsed_when(reading: _Reading, tz: ZoneInfo) -> ParsedWhen:
    if reading.when.tzinfo is None:
        local = _attach_zone(reading.when, tz)
    else:
        local = reading.when.astimezone(tz)
    return ParsedWhen(at_utc=local.astimezone(UTC), local=local, has_time=reading.has_time)


_CJK_RE: Final = re.compile(r"[\u3400-\u9fff]")


def _read(text: str, context: _Context) -> _Reading | None:
    # NFKC turns full-width digits, colons and spaces typed with a Chinese IME into ASCII.
    normalised = unicodedata.normalize("NFKC", text).strip().lower()
    if not normalised or len(normalised) > _MAX_TEXT_LENGTH:
        return None
    if _CJK_RE.search(normalised):
        return _read_chinese(normalised, context)
    return _read_english(normalised, context)


# --- English -----------------------------------------------------------------------------------

_EN_NUMBER_WORDS: Final = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_EN_WEEKDAYS: Final = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_EN_WEEKDAY: Final = "|".join(sorted(_EN_WEEKDAYS, key=len, reverse=True))

_EN_AMOUNT: Final = r"(?P<amount>\d{1,5}|" + "|".join(_EN_NUMBER_WORDS) + r"|half an?)"
_EN_SHORT_UNIT: Final = r"(?P<unit>hours?|hrs?|h|minutes?|mins?|m)"
_EN_SHORT_OFFSET_RE: Final = re.compile(
    rf"(?P<in>in\s+)?{_EN_AMOUNT}\s*{_EN_SHORT_UNIT}(?P<later>\s+(?:from\s+now|later))?"
)
_EN_ISO_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?P<time>[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"
)
_EN_CLOCK: Final = r"\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?|\d{1,2}:\d{2}|noon|midday|midnight"
_EN_AT: Final = r"(?:at\s+|@\s*)"
_EN_TRAILING_CLOCK_RE: Final = re.compile(
    rf"(?:(?P<date>.+?)\s+)??(?:{_EN_AT}?(?P<clock>{_EN_CLOCK})|{_EN_AT}(?P<hour>\d{{1,2}}))"
)
_EN_LEADING_CLOCK_RE: Final = re.compile(
    rf"{_EN_AT}?(?P<clock>{_EN_CLOCK})\s+(?:on\s+)?(?P<date>.+)"
)
_EN_NAMED_CLOCKS: Final = {
    "noon": timedelta(hours=12),
    "midday": timedelta(hours=12),
    "midnight": timedelta(0),
}
_EN_CLOCK_PARTS_RE: Final = re.compile(r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?(?P<half>[ap]m)?")
_EN_WEEKDAY_RE: Final = re.compile(
    rf"(?:(?P<which>next|this coming|this|coming|on)\s+)?(?P<weekday>{_EN_WEEKDAY})\.?"
)
_EN_WEEKDAY_NEXT_WEEK_RE: Final = re.compile(
    rf"(?P<weekday>{_EN_WEEKDAY})\.?\s+next\s+week|next\s+week\s+(?P<weekday2>{_EN_WEEKDAY})\.?"
)
# dateparser fills a missing day from today, so a bare month or year ("December", "2027") is
# only meaningful when it is relative ("next month", "in 2 years").
_EN_RELATIVE_MONTH_OR_YEAR_RE: Final = re.compile(r"\b(?:months?|years?)\b")

_DATEPARSER_SETTINGS: Final[dict[str, Any]] = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": False,
    # Only used as a fallback for dateparser versions whose DateData has no `parts`.
    "RETURN_TIME_AS_PERIOD": True,
    # No timestamp or "no-spaces-time" parsers: they turn a phone number or "20261201" into
    # nonsense dates (2000-01-07, 2026-01-02 00:01).
    "PARSERS": ["relative-time", "absolute-time"],
}


def _read_english(text: str, context: _Context) -> _Reading | None:
    text = text.rstrip("!?,;")
    return (
        _read_english_short_offset(text, context)
        or _read_iso(text, context)
        or _read_english_dated(text, context)
    )


def _read_english_short_offset(text: str, context: _Context) -> _Reading | None:
    """ "in 3 hours", "in half an hour", "90 minutes from now": an exact instant."""
    match = _EN_SHORT_OFFSET_RE.fullmatch(text)
    if match is None or not (match["in"] or match["later"]):
        return None
    amount = match["amount"]
    count = 0.5 if amount.startswith("half") else float(_EN_NUMBER_WORDS.get(amount) or amount)
    unit = timedelta(hours=1) if match["unit"].startswith("h") else timedelta(minutes=1)
    return _Reading(context.now_utc + count * unit, has_time=True)


def _read_iso(text: str, context: _Context) -> _Reading | None:
    """ISO 8601 dates and timestamps, read exactly; an explicit offset names an instant."""
    match = _EN_ISO_RE.fullmatch(text)
    if match is None:
        return None
    parsed = datetime.fromisoformat(text.upper())
    if match["time"] is None:
        return _at_clock(_DayChoice(parsed.date()), context.default_clock, False, context)
    return _Reading(parsed, has_time=True)


def _read_english_dated(text: str, context: _Context) -> _Reading | None:
    split = _split_english_clock(text)
    if split is None:
        return None
    date_text, clock = split
    if not date_text:
        if clock is None:
            return None
        return _at_clock(_next_occurrence_today_or_tomorrow(context), clock, True, context)
    choice = _read_english_weekday(date_text, context)
    if choice is not None:
        return _at_named_or_default_clock(choice, clock, context)
    return _read_with_dateparser(date_text, clock, context)


def _split_english_clock(text: str) -> tuple[str, _Clock | None] | None:
    """Separate a trailing or leading time of day ("tomorrow at 10:30", "3pm Friday").

    Returns (rest, None) when there is no time of day, and None when one is malformed ("13pm").
    """
    trailing = _EN_TRAILING_CLOCK_RE.fullmatch(text)
    if trailing is not None:
        date_text = trailing["date"] or ""
        if trailing["clock"] is not None:
            return _with_clock(date_text, _english_clock(trailing["clock"]))
        return _with_clock(date_text, _bare_hour_clock(int(trailing["hour"])))
    leading = _EN_LEADING_CLOCK_RE.fullmatch(text)
    if leading is not None:
        return _with_clock(leading["date"], _english_clock(leading["clock"]))
    return text, None


def _with_clock(date_text: str, clock: _Clock | None) -> tuple[str, _Clock | None] | None:
    return None if clock is None else (date_text, clock)


def _bare_hour_clock(hour: int) -> _Clock | None:
    hour_24 = _working_hours_hour(hour)
    return None if hour_24 is None else _clock(hour_24, 0)


def _english_clock(text: str) -> _Clock | None:
    """ "3pm", "3 p.m.", "10:30", "10:30am", "noon", "midnight"."""
    compact = text.replace(".", "").replace(" ", "")
    named = _EN_NAMED_CLOCKS.get(compact)
    if named is not None:
        return named
    match = _EN_CLOCK_PARTS_RE.fullmatch(compact)
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["half"] is None:
        return _clock(hour, minute) if hour <= 23 else None
    if not 1 <= hour <= 12:
        return None
    return _clock(hour % 12 + (12 if match["half"] == "pm" else 0), minute)


def _read_english_weekday(text: str, context: _Context) -> _DayChoice | None:
    next_week = _EN_WEEKDAY_NEXT_WEEK_RE.fullmatch(text)
    if next_week is not None:
        weekday = _EN_WEEKDAYS[next_week["weekday"] or next_week["weekday2"]]
        return _weekday_in_week(weekday, 1, context)
    match = _EN_WEEKDAY_RE.fullmatch(text)
    if match is None:
        return None
    weekday = _EN_WEEKDAYS[match["weekday"]]
    if match["which"] == "next":
        # First such day strictly after today: "next Friday" on a Wednesday is in two days.
        days_ahead = (weekday - context.today.weekday() - 1) % 7 + 1
        return _DayChoice(context.today + timedelta(days=days_ahead))
    return _upcoming_weekday(weekday, context)


def _read_with_dateparser(text: str, clock: _Clock | None, context: _Context) -> _Reading | None:
    data = _dateparser_date_data(text, context.now)
    if data is None or data.date_obj is None:
        return None
    parts = _dateparser_parts(data)
    if "day" not in parts and not _EN_RELATIVE_MONTH_OR_YEAR_RE.search(text):
        return None
    day = _undo_next_year_for_today(data.date_obj.date(), parts, context.today)
    if clock is not None:
        return _at_clock(_DayChoice(day), clock, True, context)
    if "time" in parts:
        return _Reading(datetime.combine(day, data.date_obj.time()), has_time=True)
    return _at_clock(_DayChoice(day), context.default_clock, False, context)


def _dateparser_date_data(text: str, relative_base: datetime) -> DateData | None:
    # RELATIVE_BASE is a constructor setting, so one shared parser cannot serve different `now`
    # values without mutating it under other threads' feet. A parser costs ~15 µs to build; the
    # expensive state (locale data, compiled regexes) is cached at class/module level by
    # dateparser and guarded by its own locks.
    parser = DateDataParser(
        languages=["en"], settings={**_DATEPARSER_SETTINGS, "RELATIVE_BASE": relative_base}
    )
    try:
        return parser.get_date_data(text)
    except Exception:
        # dateparser raises assorted errors on odd input; any of them means "unreadable".
        return None


def _dateparser_parts(data: DateData) -> frozenset[str]:
    """Which of year/month/day/time the text named (dateparser >= 1.5; stubs lack `parts`)."""
    parts: tuple[str, ...] | None = getattr(data, "parts", None)
    if parts is not None:
        return frozenset(parts)
    by_period = {"time": {"day", "time"}, "day": {"day"}, "week": {"day"}, "month": {"month"}}
    return frozenset(by_period.get(data.period or "", {"year"}))


def _undo_next_year_for_today(day: date, parts: frozenset[str], today: date) -> date:
    """dateparser pushes "Dec 3" said on Dec 3 after midnight to next year; we mean today."""
    if "year" not in parts and (day.month, day.day) == (today.month, today.day):
        return today
    return day


# --- Chinese -----------------------------------------------------------------------------------

_ZH_NUM: Final = r"[0-9零〇一二两三四五六七八九十]+"
_ZH_DIGITS: Final = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_ZH_WEEKDAYS: Final = {
    "一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
    "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6,
}  # fmt: skip
_ZH_WEEK_OFFSETS: Final = {"上": -1, "这": 0, "本": 0, "下": 1, "下下": 2}
_ZH_RELATIVE_DAYS: Final = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
# "明早9点" is "明天" + "早9点": expand the fused forms before splitting date from time.
_ZH_FUSED_DAY_PERIODS: Final = (
    ("明早", "明天早"),
    ("明晚", "明天晚"),
    ("今早", "今天早"),
    ("今晚", "今天晚"),
)
_ZH_MORNING: Final = frozenset({"早上", "早晨", "上午", "早"})
_ZH_AFTERNOON: Final = frozenset({"下午", "傍晚"})
_ZH_EVENING: Final = frozenset({"晚上", "夜里", "晚"})
_ZH_PERIOD_ALONE: Final[dict[str, _Clock]] = {
    "中午": timedelta(hours=12),
    "下午": timedelta(hours=14),
    "傍晚": timedelta(hours=18),
    "晚上": timedelta(hours=20),
    "夜里": timedelta(hours=20),
    "晚": timedelta(hours=20),
}
_ZH_MINUTE_WORDS: Final = {"半": 30, "一刻": 15, "三刻": 45, "整": 0}

_ZH_SHORT_OFFSET_RE: Final = re.compile(
    rf"过?(?P<amount>{_ZH_NUM})?(?P<half>个?半)?(?P<unit>个?小时|个?钟头|分钟|分)(?:以后|之后|后)"
)
_ZH_CLOCK_RE: Final = re.compile(
    r"(?P<period>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|早|晚)?"
    rf"(?:(?P<hour>{_ZH_NUM})(?:点钟?|时|:)(?:(?P<minute>半|一刻|三刻|整)|(?P<minutes>{_ZH_NUM})分?)?)?"
)
_ZH_DAY_OFFSET_RE: Final = re.compile(
    rf"(?P<amount>{_ZH_NUM})(?P<unit>天|日|个?星期|个?礼拜|周|个?月|年)(?:以后|之后|后)"
)
_ZH_RELATIVE_DAY_RE: Final = re.compile("|".join(sorted(_ZH_RELATIVE_DAYS, key=len, reverse=True)))
_ZH_WEEKDAY_RE: Final = re.compile(
    r"(?:(?P<which>下下|下|这|本|上)个?)?(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天七1-7])"
)
_ZH_RELATIVE_WEEK_OR_MONTH_RE: Final = re.compile(
    rf"(?P<which>下下|下|这|本)个?(?P<unit>周|星期|礼拜|月)(?:(?P<day>{_ZH_NUM})(?:日|号))?"
)
_ZH_CALENDAR_DATE_RE: Final = re.compile(
    rf"(?:(?P<year>{_ZH_NUM})年)?(?P<month>{_ZH_NUM})月(?P<day>{_ZH_NUM})(?:日|号)?"
)
_ZH_DAY_OF_MONTH_RE: Final = re.compile(rf"(?P<day>{_ZH_NUM})(?:日|号)")
# Spaces only matter between two numbers ("12月3 15:00"); elsewhere they are noise.
_ZH_NOISE_SPACE_RE: Final = re.compile(r"(?<!\d)\s+|\s+(?!\d)")


def _read_chinese(text: str, context: _Context) -> _Reading | None:
    text = _normalise_chinese(text)
    return (
        _read_chinese_short_offset(text, context)
        or _read_chinese_dated(text, context)
        or _read_chinese_clock_alone(text, context)
    )


def _normalise_chinese(text: str) -> str:
    text = _ZH_NOISE_SPACE_RE.sub("", text).replace("的", "").rstrip("。!?,")
    for fused, expanded in _ZH_FUSED_DAY_PERIODS:
        text = text.replace(fused, expanded)
    return text


def _chinese_int(text: str) -> int | None:
    """ "12", "十二", "二十三", "两", "二〇二六" -> int; None when it is not a number."""
    if text.isascii():
        return int(text) if text.isdigit() else None
    tens_text, has_ten, ones_text = text.partition("十")
    if not has_ten:
        digits = [_chinese_digit(char) for char in text]
        if any(digit is None for digit in digits):
            return None
        return int("".join(str(digit) for digit in digits))
    tens = 1 if not tens_text else _chinese_digit(tens_text)
    ones = 0 if not ones_text else _chinese_digit(ones_text)
    return None if tens is None or ones is None else tens * 10 + ones


def _chinese_digit(text: str) -> int | None:
    if len(text) != 1:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    return _ZH_DIGITS.get(text)


def _read_chinese_short_offset(text: str, context: _Context) -> _Reading | None:
    """ "2小时后", "半小时后", "一个半小时后", "30分钟后": an exact instant."""
    match = _ZH_SHORT_OFFSET_RE.fullmatch(text)
    if match is None or not (match["amount"] or match["half"]):
        return None
    amount = 0 if match["amount"] is None else _chinese_int(match["amount"])
    if amount is None:
        return None
    is_hours = match["unit"].endswith(("小时", "钟头"))
    if match["half"] and not is_hours:
        return None
    minutes = amount * 60 + (30 if match["half"] else 0) if is_hours else amount
    return _Reading(context.now_utc + timedelta(minutes=minutes), has_time=True)


_ChineseDayReader = Callable[[str, _Context], tuple[_DayChoice, str] | None]


def _read_chinese_dated(text: str, context: _Context) -> _Reading | None:
    """A day phrase at the start, optionally followed by a time of day."""
    for read_day in _CHINESE_DAY_READERS:
        found = read_day(text, context)
        if found is None:
            continue
        choice, rest = found
        rest = rest.strip()
        if not rest:
            return _at_clock(choice, context.default_clock, False, context)
        clock = _chinese_clock(rest, context)
        if clock is not None:
            return _at_clock(choice, *clock, context)
    return None


def _read_chinese_clock_alone(text: str, context: _Context) -> _Reading | None:
    """ "晚上8点", "下午3:30": the next time that time of day comes round."""
    clock = _chinese_clock(text, context)
    if clock is None:
        return None
    return _at_clock(_next_occurrence_today_or_tomorrow(context), *clock, context)


def _chinese_clock(text: str, context: _Context) -> tuple[_Clock, bool] | None:
    """Time of day and whether it was named (False for 上午 alone, which means default_time)."""
    match = _ZH_CLOCK_RE.fullmatch(text)
    if match is None or not (match["period"] or match["hour"]):
        return None
    period = match["period"]
    if match["hour"] is None:
        if period in _ZH_MORNING:
            return context.default_clock, False
        clock = _ZH_PERIOD_ALONE.get(period)
        return None if clock is None else (clock, True)
    hour = _chinese_int(match["hour"])
    minute = _chinese_minute(match["minute"], match["minutes"])
    hour_24 = None if hour is None else _chinese_hour_24(hour, period)
    if hour_24 is None or minute is None:
        return None
    clock = _clock(hour_24, minute)
    return None if clock is None else (clock, True)


def _chinese_minute(word: str | None, number: str | None) -> int | None:
    if word is not None:
        return _ZH_MINUTE_WORDS[word]
    return 0 if number is None else _chinese_int(number)


def _chinese_hour_24(hour: int, period: str | None) -> int | None:
    """下午3点 = 15, 晚上8点 = 20, 晚上12点 = 24 (midnight ending the day), 凌晨2点 = 2."""
    if period is None:
        return _working_hours_hour(hour)
    if period == "凌晨":
        return hour % 12 if hour <= 12 else None
    if period in _ZH_MORNING:
        return hour if hour <= 12 else None
    if period == "中午":
        return hour + 12 if 1 <= hour <= 3 else hour if 11 <= hour <= 13 else None
    if period in _ZH_AFTERNOON:
        return hour + 12 if 1 <= hour <= 11 else hour if 12 <= hour <= 23 else None
    if period in _ZH_EVENING:
        # 晚上1点 would be after midnight, i.e. tomorrow: too ambiguous to guess.
        return hour + 12 if 6 <= hour <= 12 else hour if 18 <= hour <= 23 else None
    return None


def _read_chinese_day_offset(text: str, context: _Context) -> tuple[_DayChoice, str] | None:
    """ "3天后", "两周后", "一个月后", "1年后" (day-granular: default_time applies)."""
    match = _ZH_DAY_OFFSET_RE.match(text)
    amount = None if match is None else _chinese_int(match["amount"])
    if match is None or amount is None:
        return None
    unit = match["unit"]
    if unit.endswith("月"):
        day = _add_months(context.today, amount)
    elif unit == "年":
        day = _add_months(context.today, 12 * amount)
    elif unit in ("天", "日"):
        day = context.today + timedelta(days=amount)
    else:
        day = context.today + timedelta(weeks=amount)
    return _DayChoice(day), text[match.end() :]


def _read_chinese_relative_day(text: str, context: _Context) -> tuple[_DayChoice, str] | None:
    """今天, 明天, 后天, 大后天."""
    match = _ZH_RELATIVE_DAY_RE.match(text)
    if match is None:
        return None
    day = context.today + timedelta(days=_ZH_RELATIVE_DAYS[match[0]])
    return _DayChoice(day), text[match.end() :]


def _read_chinese_weekday(text: str, context: _Context) -> tuple[_DayChoice, str] | None:
    """周五 (upcoming), 下周三 / 下星期二 (next calendar week), 本周三 / 这周三 (this week)."""
    match = _ZH_WEEKDAY_RE.match(text)
    if match is None:
        return None
    weekday = _ZH_WEEKDAYS[match["weekday"]]
    which = match["which"]
    if which is None:
        choice = _upcoming_weekday(weekday, context)
    else:
        choice = _weekday_in_week(weekday, _ZH_WEEK_OFFSETS[which], context)
    return choice, text[match.end() :]


def _read_chinese_relative_week_or_month(
    text: str, context: _Context
) -> tuple[_DayChoice, str] | None:
    """下周 (+7 days), 下个月 (same day next month), 下个月5号, 本月20号."""
    match = _ZH_RELATIVE_WEEK_OR_MONTH_RE.match(text)
    if match is None:
        return None
    offset = _ZH_WEEK_OFFSETS[match["which"]]
    is_month = match["unit"] == "月"
    if match["day"] is not None:
        day_of_month = _chinese_int(match["day"])
        if not is_month or day_of_month is None:
            return None
        month_start = _add_months(context.today.replace(day=1), offset)
        day = month_start.replace(day=day_of_month)
    elif offset <= 0:
        return None  # "这周" / "本月" alone do not pick a day
    elif is_month:
        day = _add_months(context.today, offset)
    else:
        day = context.today + timedelta(weeks=offset)
    return _DayChoice(day), text[match.end() :]


def _read_chinese_calendar_date(text: str, context: _Context) -> tuple[_DayChoice, str] | None:
    """12月3日, 12月3号, 2026年12月1日; without a year, the next such date from today."""
    match = _ZH_CALENDAR_DATE_RE.match(text)
    if match is None:
        return None
    month, day_of_month = _chinese_int(match["month"]), _chinese_int(match["day"])
    if month is None or day_of_month is None:
        return None
    if match["year"] is None:
        day = _month_day_on_or_after(context.today, month, day_of_month)
    else:
        year = _chinese_int(match["year"])
        day = None if year is None else date(year, month, day_of_month)
    return None if day is None else (_DayChoice(day), text[match.end() :])


def _read_chinese_day_of_month(text: str, context: _Context) -> tuple[_DayChoice, str] | None:
    """5号: this month's 5th, or next month's once it has passed."""
    match = _ZH_DAY_OF_MONTH_RE.match(text)
    day_of_month = None if match is None else _chinese_int(match["day"])
    if match is None or day_of_month is None:
        return None
    day = _day_of_month_on_or_after(context.today, day_of_month)
    return None if day is None else (_DayChoice(day), text[match.end() :])


# Order matters: "3天后" must be an offset before "3日" can be a day of the month, and "下周一"
# a weekday before "下周" alone is a week offset.
_CHINESE_DAY_READERS: Final[tuple[_ChineseDayReader, ...]] = (
    _read_chinese_day_offset,
    _read_chinese_relative_day,
    _read_chinese_weekday,
    _read_chinese_relative_week_or_month,
    _read_chinese_calendar_date,
    _read_chinese_day_of_month,
)
