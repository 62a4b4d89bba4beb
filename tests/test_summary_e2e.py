"""The morning summary, through the running app and the fake Slack: counts, mentions, masking,
Slack's limits, exactly-once across instances, lateness, and the weekly chart."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from storage.models import Customer, FollowUp
from tests.conftest import REP, REP_NY, Bot, running_bot
from tests.fake_slack import Call, FakeSlack
from tests.test_reminders_e2e import log_followup

TEAM = "C0TEAM0001"
# Wed 2 Dec 2026, 09:00 in Shanghai: the summary time.
SUMMARY_AT = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def team_bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    with running_bot(slack, database_url, summary_channels=TEAM, summary_tz="Asia/Shanghai") as bot:
        yield bot


def channel_posts(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.ok and c.args["channel"] == TEAM]


def rendered(call: Call) -> str:
    return str(call.args["text"]) + str(call.args.get("blocks"))


def seed_team(bot: Bot) -> None:
    """REP: one overdue (Sat) and one due today (Wed 15:00); REP_NY: one overdue."""
    log_followup(bot, next_at="明天上午10点")
    log_followup(
        bot,
        customer_name="李娜",
        company="北京某某科技有限公司",
        phone="+86 139 0013 9000",
        email="li.na@mouke.cn",
        next_at="下周三下午3点",
    )
    log_followup(
        bot,
        user_id=REP_NY,
        customer_name="John Smith",
        company="Acme Co., Ltd.",
        phone="+1 212 555 0100",
        email="john@acme.com",
        next_at="tomorrow 10am",
    )


def test_summary_counts_mentions_and_masks_contact_details(team_bot: Bot) -> None:
    seed_team(team_bot)
    # A likely duplicate: the same person at the same company, typed differently.
    log_followup(
        team_bot,
        customer_name="wang lei",
        company="Shanghai Mingde Technology",
        phone="+86 137 0013 7000",
        email=None,
        confirm=["new_customer"],  # the form warns about the likely duplicate; say it's new
    )
    team_bot.clock.now = SUMMARY_AT

    (result,) = team_bot.services.summary.run_due(SUMMARY_AT)

    assert result.outcome == "posted"
    (post,) = channel_posts(team_bot.slack)
    text = rendered(post)
    # REP: Sat's and Tue's are overdue, Wed 15:00 is due today; REP_NY: Fri's is overdue.
    assert f"<@{REP}> — *2 overdue · 1 due today*" in text
    assert f"<@{REP_NY}> — *1 overdue*" in text
    assert "Wang Lei" in text
    assert "John Smith" in text
    assert "Possible duplicate" in text
    assert "+86 138****8000" in text or "+86 137****7000" in text
    for secret in ["13800138000", "13700137000", "13900139000", "2125550100", "john@acme.com"]:
        assert secret not in text


def test_no_contact_detail_ever_reaches_a_channel(team_bot: Bot) -> None:
    seed_team(team_bot)
    # A likely duplicate makes the summary show contact details (masked) — the case to catch.
    log_followup(
        team_bot,
        customer_name="John  Smith",
        company="ACME",
        phone="+1 212 555 0123",
        email="jsmith@acme.com",
        confirm=["new_customer"],
    )
    team_bot.services.summary.run_due(SUMMARY_AT)
    (post,) = channel_posts(team_bot.slack)
    assert "Possible duplicate" in rendered(post)
    assert "j***@acme.com" in rendered(post) or "+1 212***" in rendered(post)
    for call in team_bot.slack.calls:
        channel = str(call.args.get("channel") or call.args.get("channel_id") or "")
        if channel.startswith("C") and call.method.startswith(("chat.", "files.")):
            body = str(call.args)
            assert not re.search(r"1[3-9]\d{9}", body), body
            # Masked emails keep the domain ("w***@mingde.cn"); the person's part never shows.
            assert "wang.lei@" not in body
            assert "john@acme.com" not in body
            assert "jsmith@acme.com" not in body
            assert "2125550123" not in body


def test_exactly_one_summary_per_channel_per_day_across_restarts(team_bot: Bot) -> None:
    seed_team(team_bot)
    assert team_bot.services.summary.run_due(SUMMARY_AT - timedelta(minutes=1)) == []

    first = team_bot.services.summary.run_due(SUMMARY_AT)
    again = team_bot.services.summary.run_due(SUMMARY_AT + timedelta(hours=1))

    assert [r.outcome for r in first] == ["posted"]
    assert [r.outcome for r in again] == ["already posted"]
    assert len(channel_posts(team_bot.slack)) == 1


def test_two_instances_at_summary_time_post_once(
    slack: FakeSlack, database_url: str, team_bot: Bot
) -> None:
    seed_team(team_bot)
    with running_bot(
        slack, database_url, summary_channels=TEAM, summary_tz="Asia/Shanghai"
    ) as other:
        outcomes: list[str] = []
        start = threading.Barrier(2)

        def run(bot: Bot) -> None:
            start.wait()
            outcomes.extend(r.outcome for r in bot.services.summary.run_due(SUMMARY_AT))

        threads = [threading.Thread(target=run, args=(b,)) for b in (team_bot, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert sorted(outcomes)[-1] == "posted"
    assert outcomes.count("posted") == 1
    assert len(channel_posts(slack)) == 1


def test_missed_summary_is_posted_late_the_same_day_only(team_bot: Bot) -> None:
    seed_team(team_bot)
    late = SUMMARY_AT + timedelta(hours=2)

    (result,) = team_bot.services.summary.run_due(late)

    assert result.outcome == "posted"
    (post,) = channel_posts(team_bot.slack)
    assert "(late)" in post.args["text"]
    # Saturday is not a summary day (Mon-Fri), so nothing is owed then.
    saturday = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    assert team_bot.services.summary.run_due(saturday) == []


def test_five_hundred_due_items_stay_within_slacks_limits(team_bot: Bot) -> None:
    owners = [f"U0OWNER{n:04d}" for n in range(60)]
    with team_bot.db.transaction() as session:
        session.execute(
            insert(Customer),
            [
                {
                    "id": 1000 + n,
                    "name": f"客户{n} " + "很长的名字" * 20,
                    "company": f"Company {n} " + "Ltd " * 30,
                    "phone_e164": f"+86138{n:08d}",
                    "owner_id": owners[n % 60],
                    "status": "interested",
                    "created_by": owners[n % 60],
                }
                for n in range(500)
            ],
        )
        session.execute(
            insert(FollowUp),
            [
                {
                    "customer_id": 1000 + n,
                    "author_id": owners[n % 60],
                    "owner_id": owners[n % 60],
                    "contacted_at": SUMMARY_AT - timedelta(days=9),
                    "method": "phone",
                    "summary": "Quoted 200 seats",
                    "feedback": "Needs sign-off",
                    "status_after": "interested",
                    "next_at": SUMMARY_AT - timedelta(hours=n),
                    "next_action": "Call back about the revised quote " * 10,
                    "remind_at": None,
                }
                for n in range(500)
            ],
        )

    (result,) = team_bot.services.summary.run_due(SUMMARY_AT)

    assert result.outcome == "posted"
    (post,) = channel_posts(team_bot.slack)
    assert len(post.args["blocks"]) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in post.args["blocks"])
    assert "more people" in rendered(post)
    assert team_bot.slack.validation_errors == []


def test_first_summary_of_the_week_uploads_the_chart(team_bot: Bot) -> None:
    seed_team(team_bot)
    monday = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Mon 30 Nov, 09:00 Shanghai

    (result,) = team_bot.services.summary.run_due(monday)

    assert result.chart_file_id
    (complete,) = team_bot.slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == TEAM
    png = team_bot.slack.uploaded(result.chart_file_id)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 5_000 < len(png) < 400_000

    tuesday = monday + timedelta(days=1)
    (next_day,) = team_bot.services.summary.run_due(tuesday)
    assert next_day.outcome == "posted"
    assert next_day.chart_file_id is None
    assert len(team_bot.slack.calls_to("files.completeUploadExternal")) == 1


def test_since_the_last_summary_counts_new_customers_and_status_changes(team_bot: Bot) -> None:
    seed_team(team_bot)
    team_bot.services.summary.run_due(SUMMARY_AT)
    # The next day, Wang Lei moves to won and a new customer arrives.
    team_bot.clock.now = SUMMARY_AT + timedelta(hours=3)
    log_followup(team_bot, status="won", feedback="Signed the 200-seat contract at ¥80 per seat.")
    log_followup(
        team_bot,
        customer_name="赵六",
        company="广州某某贸易",
        phone="+86 136 0013 6000",
        email=None,
    )
    next_day = SUMMARY_AT + timedelta(days=1)

    team_bot.services.summary.run_due(next_day)

    post = channel_posts(team_bot.slack)[-1]
    text = rendered(post)
    assert "1 new customer," in text
    assert "2 follow-ups logged" in text
    assert "1 Interested → Won" in text


def test_dry_run_cli_prints_block_kit_and_posts_nothing(
    team_bot: Bot, database_url: str, tmp_path: Any
) -> None:
    import json
    import subprocess

    from tests.conftest import BOT_TOKEN, SIGNING_SECRET
    from tests.test_cli import clean_env, command

    seed_team(team_bot)
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=team_bot.slack.base_url,
        DATABASE_URL=database_url,
        SUMMARY_TZ="Asia/Shanghai",
    )
    result = subprocess.run(
        command("summary", "--channel", TEAM, "--now", SUMMARY_AT.isoformat(), "--dry-run"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["channel"] == TEAM
    assert printed["blocks"][0]["type"] == "header"
    assert channel_posts(team_bot.slack) == []


def test_a_transient_slack_error_is_retried_at_the_next_tick(team_bot: Bot) -> None:
    seed_team(team_bot)
    team_bot.slack.fail_next("chat.postMessage", status=500, times=3)

    (first,) = team_bot.services.summary.run_due(SUMMARY_AT)
    (second,) = team_bot.services.summary.run_due(SUMMARY_AT + timedelta(minutes=1))

    assert first.outcome.startswith("failed")
    assert second.outcome == "posted"
    assert len(channel_posts(team_bot.slack)) == 1


def test_a_channel_the_bot_cant_post_in_doesnt_stop_the_others_and_isnt_retried(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(
        slack, database_url, summary_channels=f"C0GONE0001,{TEAM}", summary_tz="Asia/Shanghai"
    ) as bot:
        seed_team(bot)
        slack.fail_next("chat.postMessage", error="not_in_channel")

        first = bot.services.summary.run_due(SUMMARY_AT)
        later = bot.services.summary.run_due(SUMMARY_AT + timedelta(hours=2))

    assert [r.outcome for r in first] == ["failed: not_in_channel", "posted"]
    assert [r.outcome for r in later] == ["held by another process", "already posted"]
    attempts = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "C0GONE0001"]
    assert len(attempts) == 1


def test_a_crash_after_posting_never_posts_the_day_twice(team_bot: Bot) -> None:
    seed_team(team_bot)
    monday = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    team_bot.slack.fail_next("files.getUploadURLExternal", status=500, times=3)

    (first,) = team_bot.services.summary.run_due(monday)
    (again,) = team_bot.services.summary.run_due(monday + timedelta(minutes=10))

    assert first.outcome == "posted"
    assert first.chart_file_id is None  # the chart failed; the summary stands
    assert again.outcome == "already posted"
    assert len(channel_posts(team_bot.slack)) == 1


def test_the_chart_comes_once_a_week_whatever_the_summary_days(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(
        slack,
        database_url,
        summary_channels=TEAM,
        summary_tz="Asia/Shanghai",
        summary_days="Sun-Thu",
    ) as bot:
        seed_team(bot)
        charts = []
        for day in range(6, 15):  # Sun 6 Dec … Mon 14 Dec
            moment = datetime(2026, 12, day, 1, 0, tzinfo=UTC)
            for result in bot.services.summary.run_due(moment):
                charts.append((day, result.chart_file_id is not None))
    assert [day for day, chart in charts if chart] == [6, 13]
