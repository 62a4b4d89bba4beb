"""Erasing a customer on request, and retention of closed follow-ups."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.erasure import ERASE_ACTION, purge_expired
from handlers.erase import ERASE_CONFIRMED
from storage.migrate import upgrade
from storage.models import ChangeLog, Customer, FollowUp
from tests.conftest import COLLEAGUE, REP, Bot, make_settings, running_bot
from tests.fake_slack import FakeSlack, validate_message
from tests.slack_requests import block_actions
from tests.test_reminders_e2e import log_followup

ADMIN = "U0ADMIN01"
SECRET_WORDS = ("Wang Lei", "Mingde", "8613800138000", "wang.lei@mingde.cn", "CFO", "Acme")


@pytest.fixture
def admin_bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    slack.set_user(ADMIN, tz="Asia/Shanghai")
    with running_bot(slack, database_url, admin_user_ids=ADMIN) as running:
        yield running


def command(bot: Bot, text: str, user_id: str = ADMIN) -> dict[str, Any]:
    response = bot.requests.command(text, user_id=user_id)
    assert response.status == 200, response.text
    body: dict[str, Any] = response.json()
    errors, _warnings, too_long = validate_message({"channel": "C0SALES01", **body})
    assert not errors, errors
    assert not too_long
    return body


def press_erase(bot: Bot, customer_id: int, user_id: str = ADMIN) -> dict[str, Any]:
    before = len(bot.slack.calls_to("response_url"))
    payload = block_actions(ERASE_CONFIRMED, str(customer_id), user_id=user_id)
    assert bot.requests.interactive(payload).status == 200
    calls = bot.slack.wait_for("response_url", count=before + 1)
    args: dict[str, Any] = calls[-1].args
    return args


def everything_stored(bot: Bot) -> str:
    """Every row of every table that can hold personal data, as one searchable text."""
    with bot.db.reader() as session:
        rows: list[Any] = [
            *session.scalars(select(Customer)),
            *session.scalars(select(FollowUp)),
        ]
        texts = [
            json.dumps({c.key: str(getattr(r, c.key)) for c in r.__table__.columns}) for r in rows
        ]
        texts += [
            json.dumps([log.before, log.after], ensure_ascii=False)
            for log in session.scalars(select(ChangeLog))
        ]
    return "\n".join(texts)


def test_an_admin_erases_a_customer_everywhere_and_counts_stay(admin_bot: Bot) -> None:
    first = log_followup(admin_bot)
    # A second follow-up (and a superseded first one) put the details in the log twice.
    log_followup(admin_bot, summary="Sent the 3-year quote; Acme is still cheaper on SSO.")
    assert all(word in everything_stored(admin_bot) for word in SECRET_WORDS)

    question = command(admin_bot, f"erase #{first.customer_id}")
    assert "Wang Lei" in question["text"]
    assert "2 follow-ups" in question["text"]
    done = press_erase(admin_bot, first.customer_id)

    assert f"Customer #{first.customer_id} is erased: 2 follow-ups" in done["text"]
    stored = everything_stored(admin_bot)
    assert not [word for word in SECRET_WORDS if word in stored]
    with admin_bot.db.reader() as session:
        customer = session.get(Customer, first.customer_id)
        assert customer is not None
        assert customer.erased_at is not None
        assert customer.status == "interested"  # the pipeline still counts them
        followups = session.scalars(select(FollowUp)).all()
        assert len(followups) == 2
        assert all(f.state == "done" and f.remind_at is None for f in followups)
        erasures = session.scalars(select(ChangeLog).where(ChangeLog.action == ERASE_ACTION)).all()
        assert [(e.actor_id, e.after) for e in erasures] == [(ADMIN, {"followups": 2})]
    # Nothing about them can be found any more, and nobody is reminded.
    assert "No customer" in command(admin_bot, "find Wang Lei")["text"]
    assert (
        admin_bot.services.reminders.sweep(admin_bot.clock.now + timedelta(days=30)).lines() == []
    )


def test_erasing_twice_is_harmless_and_says_so(admin_bot: Bot) -> None:
    followup = log_followup(admin_bot)
    press_erase(admin_bot, followup.customer_id)
    assert "was erased before" in press_erase(admin_bot, followup.customer_id)["text"]
    assert "was erased before" in command(admin_bot, f"erase {followup.customer_id}")["text"]


def test_only_admins_may_erase_even_by_forging_the_button(admin_bot: Bot) -> None:
    followup = log_followup(admin_bot, user_id=REP)
    assert "Only admins" in command(admin_bot, f"erase #{followup.customer_id}", REP)["text"]
    refused = press_erase(admin_bot, followup.customer_id, user_id=COLLEAGUE)
    assert "Only admins" in refused["text"]
    assert "Wang Lei" in everything_stored(admin_bot)


def test_erase_asks_for_an_id_when_a_name_is_ambiguous_or_unknown(admin_bot: Bot) -> None:
    assert "by id" in command(admin_bot, "erase")["text"]
    assert "There is no customer #999" in command(admin_bot, "erase #999")["text"]


def test_a_chinese_admin_is_asked_in_chinese(admin_bot: Bot, slack: FakeSlack) -> None:
    followup = log_followup(admin_bot)
    slack.set_user(ADMIN, tz="Asia/Shanghai", locale="zh-CN")
    admin_bot.clock.advance(timedelta(days=2))  # the cached profile is refreshed
    question = command(admin_bot, f"删除 #{followup.customer_id}")
    assert "确定删除" in question["text"]
    assert "永久删除" in json.dumps(question["blocks"], ensure_ascii=False)


def test_retention_deletes_only_old_closed_followups(
    admin_bot: Bot, slack: FakeSlack, database_url: str
) -> None:
    old = log_followup(admin_bot)
    recent = log_followup(admin_bot, customer_name="李娜", phone="+86 139 0013 9000", email=None)
    open_one = log_followup(admin_bot, customer_name="赵六", phone="+86 136 0013 6000", email=None)
    now = admin_bot.clock.now
    with admin_bot.db.transaction() as session:
        for followup_id, closed in ((old.id, now - timedelta(days=400)), (recent.id, now)):
            row = session.get(FollowUp, followup_id)
            assert row is not None
            row.state, row.done_at, row.remind_at = "done", closed, None
    settings = make_settings(slack, database_url, retention_days=365)
    assert purge_expired(admin_bot.db, settings, now) == 1
    with admin_bot.db.reader() as session:
        remaining = set(session.scalars(select(FollowUp.id)))
        old_logs = session.scalars(
            select(ChangeLog).where(ChangeLog.entity == "followup", ChangeLog.entity_id == old.id)
        ).all()
    assert remaining == {recent.id, open_one.id}
    assert all(log.before is None and log.after is None for log in old_logs)
    # Without RETENTION_DAYS nothing is ever deleted.
    keep_all = make_settings(slack, database_url)
    assert purge_expired(admin_bot.db, keep_all, now + timedelta(days=9999)) == 0


def test_the_command_line_erases_after_asking(tmp_path: Path, slack: FakeSlack) -> None:
    database_url = f"sqlite:///{tmp_path / 'erase.db'}"
    upgrade(database_url)
    with running_bot(slack, database_url) as bot:
        followup = log_followup(bot)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "not-used-by-erase",
        "DATABASE_URL": database_url,
        "PATH": "/usr/bin:/bin",
    }
    erase = [sys.executable, "-m", "bot.cli", "erase", "--customer", str(followup.customer_id)]
    declined = subprocess.run(
        erase, input="no\n", capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert declined.returncode != 0
    assert "Cancelled" in declined.stdout
    accepted = subprocess.run(
        erase, input="yes\n", capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "no longer hold personal data" in accepted.stdout
    missing = subprocess.run(
        [*erase[:-1], "999"], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert missing.returncode != 0
    assert "no customer #999" in missing.stderr
