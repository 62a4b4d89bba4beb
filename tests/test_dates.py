"""Tests for bot.dates.parse_when: English and Chinese phrases, resolved in the user's zone.

Every `now` is fixed; nothing depends on the real clock. Expected values are naive local
wall-clock datetimes in the zone under test.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.dates import ParsedWhen, parse_when, warm_up

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
ALL_ZONES = [
    pytest.param(SHANGHAI, id="Shanghai"),
    pytest.param(NEW_YORK, id="New_York"),
    pytest.param(LOS_ANGELES, id="Los_Angeles"),
]

NINE_AM = time(9, 0)
# Wednesday 25 November 2026, 10:00 local: no DST change nearby in any of the three zones.


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """Naive on purpose: a wall-clock time that each test places in its own zone."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001


WEDNESDAY_10AM = local(2026, 11, 25, 10)


def parse(text: str, tz: ZoneInfo, now_local: datetime) -> ParsedWhen | None:
    return parse_when(text, tz, now_local.replace(tzinfo=tz), NINE_AM)


def assert_consistent(parsed: ParsedWhen, tz: ZoneInfo) -> None:
    """Both datetimes aware, in the right zones, and naming the same instant."""
    assert parsed.at_utc.tzinfo is UTC
    assert parsed.local.tzinfo is tz
    # Not `at_utc == local`: Python never reports an ambiguous (fall-back) local time as equal
    # to anything in another zone (PEP 495), so compare in UTC.
    assert parsed.local.astimezone(UTC) == parsed.at_utc
    assert parsed.local.timestamp() == parsed.at_utc.timestamp()


def assert_reads_as(
    text: str, tz: ZoneInfo, now_local: datetime, expected: datetime, has_time: bool
) -> ParsedWhen:
    parsed = parse(text, tz, now_local)
    assert parsed is not None, f"{text!r} was not read"
    assert_consistent(parsed, tz)
    assert (parsed.local.replace(tzinfo=None), parsed.has_time) == (expected, has_time)
    return parsed


# Relative to WEDNESDAY_10AM, default time 09:00. Run in all three zones.
ENGLISH_ON_WEDNESDAY_MORNING = [
    ("next Tue 3pm", local(2026, 12, 1, 15), True),
    ("in 2 weeks", local(2026, 12, 9), False),
    ("Friday", local(2026, 11, 27), False),
    ("Fri", local(2026, 11, 27), False),
    ("on Friday at 2pm", local(2026, 11, 27, 14), True),
    ("tomorrow 10am", local(2026, 11, 26, 10), True),
    ("tomorrow at 10:30", local(2026, 11, 26, 10, 30), True),
    ("3pm tomorrow", local(2026, 11, 26, 15), True),
    ("today 5pm", local(2026, 11, 25, 17), True),
    ("Dec 3", local(2026, 12, 3), False),
    ("3 Dec 2pm", local(2026, 12, 3, 14), True),
    ("2026-12-01", local(2026, 12, 1), False),
    ("2026-12-01 15:00", local(2026, 12, 1, 15), True),
    ("2026-12-01T15:00", local(2026, 12, 1, 15), True),
    ("2026/12/1", local(2026, 12, 1), False),
    ("2026/12/1 3:30pm", local(2026, 12, 1, 15, 30), True),
    ("in 3 days", local(2026, 11, 28), False),
    ("in 3 hours", local(2026, 11, 25, 13), True),
    ("in 30 minutes", local(2026, 11, 25, 10, 30), True),
    ("in half an hour", local(2026, 11, 25, 10, 30), True),
    ("90 minutes from now", local(2026, 11, 25, 11, 30), True),
    ("next week", local(2026, 12, 2), False),
    ("next month", local(2026, 12, 25), False),
    ("3pm", local(2026, 11, 25, 15), True),
    ("9am", local(2026, 11, 26, 9), True),  # already past today: tomorrow
    ("at noon", local(2026, 11, 25, 12), True),
    # Decision: "next Friday" on a Wednesday is this coming Friday, two days away.
    ("next Friday", local(2026, 11, 27), False),
    ("next Wednesday", local(2026, 12, 2), False),  # strictly after today
    ("Friday next week", local(2026, 12, 4), False),  # the other meaning, said explicitly
    ("next week Friday", local(2026, 12, 4), False),
    # An hour without am/pm is read in working hours: "at 3" is 15:00, "at 8" is 08:00.
    ("tomorrow at 3", local(2026, 11, 26, 15), True),
    ("tomorrow at 8", local(2026, 11, 26, 8), True),
    ("  TOMORROW   10AM ", local(2026, 11, 26, 10), True),
    ("２０２６-１２-０１", local(2026, 12, 1), False),  # full-width digits from an IME
]

CHINESE_ON_WEDNESDAY_MORNING = [
    ("明天上午10点", local(2026, 11, 26, 10), True),
    ("下周三下午3点", local(2026, 12, 2, 15), True),
    ("3天后", local(2026, 11, 28), False),
    ("三天后", local(2026, 11, 28), False),
    ("3天后下午2点", local(2026, 11, 28, 14), True),
    ("下周一", local(2026, 11, 30), False),
    ("下个月5号", local(2026, 12, 5), False),
    ("下月5号", local(2026, 12, 5), False),
    ("两周后", local(2026, 12, 9), False),
    ("后天", local(2026, 11, 27), False),
    ("大后天", local(2026, 11, 28), False),
    ("今天下午5点", local(2026, 11, 25, 17), True),
    ("晚上8点", local(2026, 11, 25, 20), True),
    ("明天中午", local(2026, 11, 26, 12), True),
    ("12月3日", local(2026, 12, 3), False),
    ("十二月三日", local(2026, 12, 3), False),
    ("12月3号下午2点半", local(2026, 12, 3, 14, 30), True),
    ("12月3日下午三点一刻", local(2026, 12, 3, 15, 15), True),
    ("2026年12月1日", local(2026, 12, 1), False),
    ("2026年12月1日 15:00", local(2026, 12, 1, 15), True),
    ("２０２６年１２月１日", local(2026, 12, 1), False),
    ("11月20日", local(2027, 11, 20), False),  # already past this year: the next one
    ("周五", local(2026, 11, 27), False),
    ("星期五上午9点半", local(2026, 11, 27, 9, 30), True),
    ("礼拜五", local(2026, 11, 27), False),
    ("星期天", local(2026, 11, 29), False),
    ("下星期二", local(2026, 12, 1), False),
    ("下个星期二", local(2026, 12, 1), False),
    ("下礼拜二", local(2026, 12, 1), False),
    ("下周日", local(2026, 12, 6), False),
    ("下下周一", local(2026, 12, 7), False),
    ("本周五", local(2026, 11, 27), False),
    ("这周一", local(2026, 11, 23), False),  # this week's Monday, even though it has passed
    ("下周", local(2026, 12, 2), False),
    ("下个月", local(2026, 12, 25), False),
    ("一个月后", local(2026, 12, 25), False),
    ("2小时后", local(2026, 11, 25, 12), True),
    ("两个小时后", local(2026, 11, 25, 12), True),
    ("半小时后", local(2026, 11, 25, 10, 30), True),
    ("半个小时后", local(2026, 11, 25, 10, 30), True),
    ("一个半小时后", local(2026, 11, 25, 11, 30), True),
    ("30分钟后", local(2026, 11, 25, 10, 30), True),
    ("明早9点", local(2026, 11, 26, 9), True),
    ("明早", local(2026, 11, 26), False),
    ("明晚8点", local(2026, 11, 26, 20), True),
    ("今晚", local(2026, 11, 25, 20), True),
    ("下午3:30", local(2026, 11, 25, 15, 30), True),
    ("下午3：30", local(2026, 11, 25, 15, 30), True),  # full-width colon
    ("中午12点", local(2026, 11, 25, 12), True),
    ("中午", local(2026, 11, 25, 12), True),
    ("中午1点", local(2026, 11, 25, 13), True),
    ("凌晨2点", local(2026, 11, 26, 2), True),
    ("晚上12点", local(2026, 11, 26, 0), True),  # midnight at the end of today
    ("上午", local(2026, 11, 26), False),  # default time, already past today
    ("明天上午", local(2026, 11, 26), False),
    ("明天下午", local(2026, 11, 26, 14), True),
    ("早上8点", local(2026, 11, 26, 8), True),
    ("明天 10:30", local(2026, 11, 26, 10, 30), True),
    ("十点", local(2026, 11, 26, 10), True),  # 10:00 today has just passed
    ("3点15分", local(2026, 11, 25, 15, 15), True),  # working hours: 3 o'clock is 15:00
    ("明天3点", local(2026, 11, 26, 15), True),
    ("明天8点", local(2026, 11, 26, 8), True),
    ("明天15:00", local(2026, 11, 26, 15), True),
    ("28号", local(2026, 11, 28), False),
    ("5号", local(2026, 12, 5), False),  # this month's 5th has passed
    ("二十八号下午四点", local(2026, 11, 28, 16), True),
    ("下个月31号", local(2026, 12, 31), False),
    ("明天下午3点。", local(2026, 11, 26, 15), True),
    ("下周三的下午3点", local(2026, 12, 2, 15), True),
]


@pytest.mark.parametrize("tz", ALL_ZONES)
@pytest.mark.parametrize(
    ("text", "expected", "has_time"),
    ENGLISH_ON_WEDNESDAY_MORNING + CHINESE_ON_WEDNESDAY_MORNING,
)
def test_reads_phrase_on_wednesday_morning(
    text: str, expected: datetime, has_time: bool, tz: ZoneInfo
) -> None:
    assert_reads_as(text, tz, WEDNESDAY_10AM, expected, has_time)


@pytest.mark.parametrize(
    ("text", "tz", "now_local", "expected", "has_time"),
    [
        # New York, Wednesday 16:30: 3pm has gone, 5pm is still ahead.
        ("3pm", NEW_YORK, local(2026, 11, 25, 16, 30), local(2026, 11, 26, 15), True),
        ("5pm", NEW_YORK, local(2026, 11, 25, 16, 30), local(2026, 11, 25, 17), True),
        ("today 3pm", NEW_YORK, local(2026, 11, 25, 16, 30), local(2026, 11, 25, 15), True),
        ("下午3:30", NEW_YORK, local(2026, 11, 25, 16, 30), local(2026, 11, 26, 15, 30), True),
        ("晚上8点", NEW_YORK, local(2026, 11, 25, 21), local(2026, 11, 26, 20), True),
        ("in 3 hours", NEW_YORK, local(2026, 11, 25, 22), local(2026, 11, 26, 1), True),
        # A date without a year said on that very day is today, not next year.
        ("Dec 3", NEW_YORK, local(2026, 12, 3, 16), local(2026, 12, 3), False),
        ("Dec 3 2pm", NEW_YORK, local(2026, 12, 3, 16), local(2026, 12, 3, 14), True),
        ("12月3日", SHANGHAI, local(2026, 12, 3, 16), local(2026, 12, 3), False),
        ("Nov 20", SHANGHAI, local(2026, 11, 25, 10), local(2027, 11, 20), False),
        # Month arithmetic clamps to the end of a shorter month.
        ("一个月后", SHANGHAI, local(2027, 1, 31, 10), local(2027, 2, 28), False),
        ("next month", NEW_YORK, local(2027, 1, 31, 10), local(2027, 2, 28), False),
        # "N号" skips months that do not have that day.
        ("31号", SHANGHAI, local(2027, 4, 5, 10), local(2027, 5, 31), False),
    ],
)
def test_reads_phrase_relative_to_other_nows(
    text: str, tz: ZoneInfo, now_local: datetime, expected: datetime, has_time: bool
) -> None:
    assert_reads_as(text, tz, now_local, expected, has_time)


FRIDAY_8AM = local(2026, 11, 27, 8)
FRIDAY_10AM = local(2026, 11, 27, 10)


@pytest.mark.parametrize("tz", ALL_ZONES)
@pytest.mark.parametrize(
    ("text", "now_local", "expected", "has_time"),
    [
        # Today is Friday; the default 09:00 is still ahead at 08:00 but not at 10:00.
        ("Friday", FRIDAY_8AM, local(2026, 11, 27), False),
        ("周五", FRIDAY_8AM, local(2026, 11, 27), False),
        ("Friday", FRIDAY_10AM, local(2026, 12, 4), False),
        ("周五", FRIDAY_10AM, local(2026, 12, 4), False),
        ("星期五", FRIDAY_10AM, local(2026, 12, 4), False),
        ("Friday 3pm", FRIDAY_10AM, local(2026, 11, 27, 15), True),
        ("周五下午3点", FRIDAY_10AM, local(2026, 11, 27, 15), True),
        ("Friday 9am", FRIDAY_10AM, local(2026, 12, 4, 9), True),
        ("周五上午9点", FRIDAY_10AM, local(2026, 12, 4, 9), True),
        ("next Friday", FRIDAY_8AM, local(2026, 12, 4), False),  # strictly after today
        ("下周五", FRIDAY_8AM, local(2026, 12, 4), False),
        ("本周五", FRIDAY_10AM, local(2026, 11, 27), False),  # this week's: today, past
        ("这周三", FRIDAY_10AM, local(2026, 11, 25), False),
        ("Wednesday", FRIDAY_10AM, local(2026, 12, 2), False),
        ("周三", FRIDAY_10AM, local(2026, 12, 2), False),
        ("下周三", FRIDAY_10AM, local(2026, 12, 2), False),
    ],
)
def test_weekday_said_on_the_same_or_a_later_day(
    text: str, now_local: datetime, expected: datetime, has_time: bool, tz: ZoneInfo
) -> None:
    assert_reads_as(text, tz, now_local, expected, has_time)


@pytest.mark.parametrize(
    "text",
    [
        "whenever",
        "asap",
        "soon",
        "",
        "   ",
        "下次",
        "改天",
        "random text",
        "hello world",
        "32/13/2026",
        "13pm",
        "tomorrow 25:00",
        "December",
        "2027",
        "5",
        "1700000000",
        "20261201",
        "2月30日",
        "周末",
        "凌晨",
        "上午15点",
        "下个月32号",
        "9999年12月31日晚上12点",
        "in 99999999999 hours",
        "x" * 500,
        "明天" * 150,
    ],
)
@pytest.mark.parametrize("tz", ALL_ZONES)
def test_unreadable_text_is_none(text: str, tz: ZoneInfo) -> None:
    assert parse(text, tz, WEDNESDAY_10AM) is None


def test_day_offset_keeps_wall_clock_time_across_spring_forward() -> None:
    # DST starts in Los Angeles on Sunday 14 March 2027.
    parsed = assert_reads_as(
        "in 2 weeks", LOS_ANGELES, local(2027, 3, 2, 10), local(2027, 3, 16, 9), False
    )
    assert parsed.local.utcoffset() == timedelta(hours=-7)
    assert parsed.at_utc == datetime(2027, 3, 16, 16, 0, tzinfo=UTC)


def test_chinese_day_offset_keeps_wall_clock_time_across_spring_forward() -> None:
    parsed = assert_reads_as(
        "3天后", LOS_ANGELES, local(2027, 3, 12, 10), local(2027, 3, 15, 9), False
    )
    assert parsed.at_utc == datetime(2027, 3, 15, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["in 3 hours", "3小时后"])
def test_hour_offset_is_exact_elapsed_time_across_spring_forward(text: str) -> None:
    # 00:30 PST + 3 hours of real time is 04:30 PDT: the 02:00-03:00 hour does not exist.
    before_gap, after_gap = local(2027, 3, 14, 0, 30), local(2027, 3, 14, 4, 30)
    parsed = assert_reads_as(text, LOS_ANGELES, before_gap, after_gap, True)
    assert parsed.at_utc == datetime(2027, 3, 14, 11, 30, tzinfo=UTC)


def test_time_in_spring_forward_gap_moves_forward() -> None:
    parsed = assert_reads_as(
        "2027-03-14 2:30am", LOS_ANGELES, local(2027, 3, 2, 10), local(2027, 3, 14, 3, 30), True
    )
    assert parsed.at_utc == datetime(2027, 3, 14, 10, 30, tzinfo=UTC)


def test_ambiguous_time_at_fall_back_takes_the_first_occurrence() -> None:
    # 01:30 happens twice on 7 November 2027 in Los Angeles; the first is still PDT (UTC-7).
    parsed = assert_reads_as(
        "2027-11-07 1:30am", LOS_ANGELES, local(2027, 11, 1, 10), local(2027, 11, 7, 1, 30), True
    )
    assert parsed.local.utcoffset() == timedelta(hours=-7)
    assert parsed.at_utc == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tz", "expected_utc"),
    [
        ("明天上午10点", SHANGHAI, datetime(2026, 11, 26, 2, 0, tzinfo=UTC)),
        ("下周三下午3点", SHANGHAI, datetime(2026, 12, 2, 7, 0, tzinfo=UTC)),
        ("tomorrow 10am", NEW_YORK, datetime(2026, 11, 26, 15, 0, tzinfo=UTC)),
        ("Dec 3", NEW_YORK, datetime(2026, 12, 3, 14, 0, tzinfo=UTC)),
        ("next Tue 3pm", LOS_ANGELES, datetime(2026, 12, 1, 23, 0, tzinfo=UTC)),
        ("2026-12-01T15:00Z", NEW_YORK, datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("2026-12-01T15:00+08:00", LOS_ANGELES, datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_utc_instant(text: str, tz: ZoneInfo, expected_utc: datetime) -> None:
    parsed = parse(text, tz, WEDNESDAY_10AM)
    assert parsed is not None
    assert_consistent(parsed, tz)
    assert parsed.at_utc == expected_utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [("明天", local(2026, 11, 26)), ("tomorrow 10am", local(2026, 11, 26, 10))],
)
def test_now_may_be_given_in_any_zone(text: str, expected: datetime) -> None:
    # 23:30 UTC on the 24th is already 07:30 on the 25th in Shanghai.
    now_utc = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    parsed = parse_when(text, SHANGHAI, now_utc, NINE_AM)
    assert parsed is not None
    assert parsed.local.replace(tzinfo=None) == expected


def test_default_time_is_used_for_date_only_phrases() -> None:
    now = WEDNESDAY_10AM.replace(tzinfo=NEW_YORK)
    for text in ("tomorrow", "明天", "in 2 weeks", "2026-12-01"):
        parsed = parse_when(text, NEW_YORK, now, time(14, 45))
        assert parsed is not None
        assert (parsed.local.hour, parsed.local.minute, parsed.has_time) == (14, 45, False)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_when("tomorrow", SHANGHAI, WEDNESDAY_10AM, NINE_AM)


def test_warm_up_then_parse() -> None:
    warm_up()
    assert_reads_as("tomorrow 10am", NEW_YORK, WEDNESDAY_10AM, local(2026, 11, 26, 10), True)
