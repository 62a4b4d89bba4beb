"""The morning summary and the weekly chart in each channel's language (SUMMARY_LANG): one run
posts a Chinese summary to one channel and an English one to another, with the same numbers,
both valid for Slack, contact details masked in both, and a chart uploaded to each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from matplotlib.text import Text as TextArtist

import bot.summary
from bot import charts
from bot.i18n import Language, translator
from bot.summary import Conversion, DuplicatePair, OwnerDay, SummaryData, UrgentItem
from handlers.summary_blocks import MAX_OWNER_SECTIONS, SummaryBlocks
from tests.conftest import REP, REP_NY, Bot, running_bot
from tests.fake_slack import Call, FakeSlack, validate_message
from tests.test_reminders_e2e import log_followup
from tests.test_summary_e2e import SUMMARY_AT, rendered, seed_team

ZH_CHANNEL = "C0TEAMZH01"
EN_CHANNEL = "C0TEAMEN01"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Mon 30 Nov, 09:00 Shanghai: chart day

# Fixed English wording of the summary; none of it may reach the Chinese channel (the customers'
# own names, companies and next steps are data, and stay as typed).
ENGLISH_WORDING = [
    "overdue",
    "due today",
    "Today:",
    "Since the last summary",
    "new customer",
    "logged",
    "Status changes",
    "Pipeline",
    "Last 30 days",
    "Data quality",
    "Possible duplicate",
    "All clean",
    "Home tab",
    "follow-up",
    "Prospect",
    "Interested",
    "Existing",
    " of ",
    "late",
]
ENGLISH_DATES = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Nov|Dec)\b")


@pytest.fixture
def two_channels(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    with running_bot(
        slack,
        database_url,
        summary_channels=f"{ZH_CHANNEL},{EN_CHANNEL}",
        summary_lang=f"{ZH_CHANNEL}:zh",
        summary_tz="Asia/Shanghai",
    ) as running:
        yield running


def posts(slack: FakeSlack, channel: str) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.ok and c.args["channel"] == channel]


def only_post(slack: FakeSlack, channel: str) -> str:
    (post,) = posts(slack, channel)
    assert not validate_message(post.args)[0]
    return rendered(post)


def owner_counts(text: str, language: Language) -> dict[str, tuple[int, int]]:
    """Owner → (overdue, due today), read back from the rendered owner lines."""
    if language == "zh":
        pattern = r"<@(\w+)> — \*(?:逾期 (\d+) 条)?(?: · )?(?:今天到期 (\d+) 条)?\*"
    else:
        pattern = r"<@(\w+)> — \*(?:(\d+) overdue)?(?: · )?(?:(\d+) due today)?\*"
    return {
        owner: (int(overdue or 0), int(due or 0))
        for owner, overdue, due in re.findall(pattern, text)
    }


def pipeline_counts(text: str, language: Language) -> list[int]:
    """The customers per status, in pipeline order."""
    t = translator(language)
    labels = [
        t.gettext(label) for label in ("Prospect", "Interested", "Won", "Existing customer", "Lost")
    ]
    separator = " " if language == "zh" else ": "
    found = []
    for label in labels:
        match = re.search(re.escape(label + separator) + r"\*(\d+)\*", text)
        assert match, (label, text)
        found.append(int(match.group(1)))
    return found


def assert_no_english_wording(text: str) -> None:
    leaked = [words for words in ENGLISH_WORDING if words in text]
    assert not leaked, leaked
    assert not ENGLISH_DATES.search(text), ENGLISH_DATES.findall(text)


def seed_with_duplicate(bot: Bot) -> None:
    """REP: Sat's overdue, Mon 15:00 due, Wed's later; REP_NY: Sat's overdue; and a likely
    duplicate of Wang Lei, so masked contact details are shown."""
    seed_team(bot)
    log_followup(
        bot,
        customer_name="赵六",
        company="广州某某贸易",
        phone="+86 136 0013 6000",
        email=None,
        next_at="30 Nov 3pm",
    )
    log_followup(
        bot,
        customer_name="wang lei",
        company="Shanghai Mingde Technology",
        phone="+86 137 0013 7000",
        email=None,
        confirm=["new_customer"],
    )


# --- through the running app ------------------------------------------------------------------


def test_one_run_posts_chinese_and_english_summaries_with_the_same_numbers(
    two_channels: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_with_duplicate(two_channels)
    drawn: dict[str, dict[str, Any]] = {}

    def spy(**kwargs: Any) -> bytes:
        drawn[kwargs["t"].language] = kwargs
        return charts.weekly_chart_png(**kwargs)

    monkeypatch.setattr(bot.summary, "weekly_chart_png", spy)
    two_channels.clock.now = MONDAY

    results = two_channels.services.summary.run_due(MONDAY)

    assert [(r.channel_id, r.outcome) for r in results] == [
        (ZH_CHANNEL, "posted"),
        (EN_CHANNEL, "posted"),
    ]
    slack = two_channels.slack
    assert slack.validation_errors == []
    zh, en = only_post(slack, ZH_CHANNEL), only_post(slack, EN_CHANNEL)

    # The same summary, worded per language.
    assert owner_counts(zh, "zh") == owner_counts(en, "en") == {REP: (1, 1), REP_NY: (1, 0)}
    assert pipeline_counts(zh, "zh") == pipeline_counts(en, "en")
    assert f"<@{REP}> — *逾期 1 条 · 今天到期 1 条*" in zh
    assert f"<@{REP}> — *1 overdue · 1 due today*" in en
    assert "*今天：* 1 条跟进到期，2 条逾期，涉及 2 人。" in zh
    assert "*Today:* 1 follow-up due, 2 overdue, across 2 people." in en
    # Dates and weekdays in the channel's language, in SUMMARY_TZ.
    assert "跟进汇总 · 11月30日 周一" in zh
    assert "Follow-ups · Mon 30 Nov" in en
    assert "11月28日 周六 10:00 (Asia/Shanghai)" in zh
    assert "Sat 28 Nov 10:00 (Asia/Shanghai)" in en
    assert "*自上次汇总以来* （11月29日 周日 09:00 (Asia/Shanghai)）" in zh
    assert "*Since the last summary* (Sun 29 Nov 09:00 (Asia/Shanghai))" in en
    assert "*销售管道：*" in zh
    assert "近 30 天转化：" in zh
    assert "*数据质量：*" in zh
    assert_no_english_wording(zh)
    # Contact details masked in both languages, and never in the clear in any channel.
    assert "疑似重复客户" in zh
    assert "Possible duplicate" in en
    for text in (zh, en):
        assert "+86 138****8000" in text or "+86 137****7000" in text
    for call in slack.calls:
        channel = str(call.args.get("channel") or call.args.get("channel_id") or "")
        if channel.startswith("C") and call.method.startswith(("chat.", "files.")):
            body = str(call.args)
            assert not re.search(r"1[3-9]\d{9}", body), body
            assert "wang.lei@" not in body
            assert "john@acme.com" not in body

    # The weekly chart went to both channels, titled and described in each one's language.
    uploads = {c.args["channel_id"]: c for c in slack.calls_to("files.completeUploadExternal")}
    assert set(uploads) == {ZH_CHANNEL, EN_CHANNEL}
    assert uploads[ZH_CHANNEL].args["files"][0]["title"] == "销售管道周报 · 2026年11月30日 周一"
    assert uploads[EN_CHANNEL].args["files"][0]["title"] == "Pipeline · week of Mon 30 Nov 2026"
    assert uploads[ZH_CHANNEL].args["initial_comment"].startswith("各状态的客户数")
    assert uploads[EN_CHANNEL].args["initial_comment"].startswith("Customers by status")
    pngs = {r.channel_id: slack.uploaded(str(r.chart_file_id)) for r in results}
    for png in pngs.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert 5_000 < len(png) < 400_000
    # The chart's own words: Chinese where the server has a CJK font, else English.
    chart_language = charts.chart_language("zh")
    assert set(drawn) == {chart_language, "en"}
    assert drawn["en"]["week_labels"] == ["2 Nov", "9 Nov", "16 Nov", "23 Nov"]
    if chart_language == "zh":
        assert drawn["zh"]["week_labels"] == [
            "11月2日",
            "11月9日",
            "11月16日",
            "11月23日",
        ]
        assert drawn["zh"]["title"] == "销售管道周报 · 2026年11月30日 周一"
        assert pngs[ZH_CHANNEL] != pngs[EN_CHANNEL]


def test_late_summary_and_movement_since_the_last_one_in_chinese(two_channels: Bot) -> None:
    seed_team(two_channels)
    two_channels.services.summary.run_due(SUMMARY_AT)
    two_channels.clock.now = SUMMARY_AT + timedelta(hours=3)
    log_followup(two_channels, status="won", feedback="Signed the 200-seat contract at ¥80.")
    log_followup(
        two_channels,
        customer_name="赵六",
        company="广州某某贸易",
        phone="+86 136 0013 6000",
        email=None,
    )
    late = SUMMARY_AT + timedelta(days=1, hours=2)  # Thu 3 Dec, 11:00 Shanghai

    two_channels.services.summary.run_due(late)

    slack = two_channels.slack
    assert slack.validation_errors == []
    zh_post, en_post = posts(slack, ZH_CHANNEL)[-1], posts(slack, EN_CHANNEL)[-1]
    zh, en = rendered(zh_post), rendered(en_post)
    assert zh_post.args["text"].startswith("跟进汇总 · 12月3日 周四（补发）：")
    assert en_post.args["text"].startswith("Follow-ups · Thu 3 Dec (late): ")
    assert "补发：机器人在平时的发送时间没有运行。" in zh
    assert "Posted late: the bot was not running at the usual time." in en
    # Since Wednesday's summary (09:00): one new customer, two follow-ups, one moved to won.
    assert "（12月2日 周三 09:00 (Asia/Shanghai)）：1 位新客户，记录了 2 条跟进。" in zh
    assert "(Wed 2 Dec 09:00 (Asia/Shanghai)): 1 new customer, 2 follow-ups logged." in en
    assert "状态变化：意向客户 → 已成交 1 位。" in zh
    assert "Status changes: 1 Interested → Won." in en
    assert_no_english_wording(zh)


# --- the blocks themselves ---------------------------------------------------------------------


def crowded_day(late: bool) -> SummaryData:
    """Sixty owners with long, markup-heavy customer names: the 25-people cut must keep the
    message within Slack's limits in every language."""
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    long = "客户 & <Co> " * 30
    owners = tuple(
        OwnerDay(
            owner_id=f"U0OWNER{n:04d}",
            due_today=n,
            overdue=1000 + n,
            urgent=tuple(
                UrgentItem(
                    long, long, "Call back about the revised quote " * 10, now - timedelta(days=k)
                )
                for k in range(3)
            ),
        )
        for n in range(60)
    )
    return SummaryData(
        channel_id=ZH_CHANNEL,
        as_of=now,
        local_date=date(2026, 12, 2),
        zone=SHANGHAI,
        since=now - timedelta(days=3),
        late=late,
        owners=owners,
        new_customers=12_345,
        followups_logged=1,
        status_changes=tuple(
            (old, new, 1000 + i)
            for i, (old, new) in enumerate(
                [
                    (a, b)
                    for a in ("prospect", "interested", "won")
                    for b in ("lost", "existing", "won")
                ]
            )
        ),
        pipeline={"prospect": 12_000, "interested": 3, "won": 0, "existing": 7, "lost": 1},
        conversions=(
            Conversion("prospect", "interested", 3, 7),
            Conversion("interested", "won", 0, 0),
        ),
        open_past_due=1,
        stale=0,
        undeliverable=2,
        duplicates=tuple(DuplicatePair(long, long, ("U1", "U2")) for _ in range(3)),
    )


@pytest.mark.parametrize("late", [False, True])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_block_stays_within_slacks_limits_in_both_languages(
    language: Language, late: bool
) -> None:
    data = crowded_day(late)
    message = SummaryBlocks().summary(data, translator(language))

    errors, _warnings, too_long = validate_message({"channel": ZH_CHANNEL, **message})
    assert errors == []
    assert not too_long
    blocks = message["blocks"]
    assert len(blocks) <= 50
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == MAX_OWNER_SECTIONS + 4  # today, owners, movement, pipeline, quality
    for block in blocks:
        texts = [block.get("text") or {}, *block.get("elements", [])]
        for text in texts:
            assert len(text.get("text", "")) <= (150 if block["type"] == "header" else 3000)
    (header,) = [b for b in blocks if b["type"] == "header"]
    hidden = blocks[-5]["elements"][0]["text"]  # the "+N more people" note before the divider
    if language == "zh":
        assert header["text"]["text"] == (
            "跟进汇总 · 12月2日 周三（补发）" if late else "跟进汇总 · 12月2日 周三"
        )
        assert hidden.startswith("另有 35 人，共 ")
        assert "12,000" in str(blocks)
        assert "潜在客户 → 意向客户（7 位中 3 位，43%）" in str(blocks)
        assert_no_english_wording(
            str(blocks)
            .replace("Call back about the revised quote", "")
            .replace("Asia/Shanghai", "")
        )
    else:
        assert header["text"]["text"] == (
            "Follow-ups · Wed 2 Dec (late)" if late else "Follow-ups · Wed 2 Dec"
        )
        assert hidden.startswith("+35 more people with ")
        assert "Prospect → Interested: 3 of 7 (43%)" in str(blocks)
    assert "&lt;Co&gt;" in str(blocks)
    assert "<Co>" not in str(blocks)


def test_an_empty_day_reads_naturally_in_chinese() -> None:
    data = crowded_day(late=False)
    quiet = replace(
        data,
        owners=(),
        status_changes=(),
        open_past_due=0,
        undeliverable=0,
        duplicates=(),
        new_customers=1,
    )
    message = SummaryBlocks().summary(quiet, translator("zh"))
    text = str(message)
    assert "*今天：* 没有到期或逾期的跟进。:tada:" in text
    assert "• 一切正常。:sparkles:" in text
    assert "1 位新客户，记录了 1 条跟进。" in text
    assert message["text"] == "跟进汇总 · 12月2日 周三：今天到期 0 条，逾期 0 条"


# --- the chart's own words ---------------------------------------------------------------------


def chart_words(language: Language) -> list[str]:
    t = translator(language)
    with charts._render_lock:
        fig = charts._chart_figure(
            {"prospect": 4, "won": 2},
            {"王磊": [1, 2, 3, 4], "Alice": [0, 1, 0, 1]},
            [bot.summary._week_label(t, date(2026, 11, 2 + 7 * n)) for n in range(4)],
            t.gettext("Pipeline · week of {day}", day=t.calendar_day(date(2026, 11, 30))),
            t,
        )
        return [a.get_text() for a in fig.findobj(TextArtist) if a.get_text()]


def test_the_chart_is_drawn_in_the_channels_language() -> None:
    english = chart_words("en")
    for words in ["Customers by status · 6 in all", "Follow-ups logged · last 4 weeks", "Prospect"]:
        assert words in english
    assert "Existing customer" in english
    assert "Week of (oldest → latest)" in english
    if charts.chart_language("zh") != "zh":
        pytest.skip("no CJK font installed here (e.g. apt-get install fonts-wqy-microhei)")
    chinese = chart_words("zh")
    for words in ["各状态客户 · 共 6 位", "已记录的跟进 · 近 4 周", "潜在客户", "已成交", "老客户"]:
        assert words in chinese
    assert "每周起始日（由远及近）" in chinese
    assert "11月23日" in chinese
    assert not [w for w in chinese if re.search(r"[A-Za-z]{3,}", w) and w != "Alice"]


def test_without_a_cjk_font_a_chinese_chart_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(charts, "_font_cache", charts._latin_fonts())
    assert charts.chart_language("zh") == "en"
    words = chart_words("zh")
    assert "Customers by status · 6 in all" in words
    assert "Prospect" in words
    assert not [w for w in words if re.search(r"[\u4e00-\u9fff]", w)]
