"""`followup-bot remind` as real processes: a crash between claim and send, and three processes
sweeping one database at once. The fake Slack counts every DM."""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from storage.db import Database
from storage.models import Customer, FollowUp
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.fake_slack import Call, FakeSlack
from tests.test_cli import clean_env, command

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def seed_due(database_url: str, *, followups: int, owners: int) -> list[str]:
    """Bulk-insert due follow-ups, one customer each, spread over `owners` owners."""
    owner_ids = [f"U0OWNER{n:04d}" for n in range(owners)]
    db = Database(database_url)
    with db.transaction() as session:
        session.execute(
            insert(Customer),
            [
                {
                    "id": n + 1,
                    "name": f"Customer {n}",
                    "company": f"Company {n}",
                    "phone_e164": f"+86138{n:08d}",
                    "owner_id": owner_ids[n % owners],
                    "status": "interested",
                    "created_by": owner_ids[n % owners],
                }
                for n in range(followups)
            ],
        )
        session.execute(
            insert(FollowUp),
            [
                {
                    "customer_id": n + 1,
                    "author_id": owner_ids[n % owners],
                    "owner_id": owner_ids[n % owners],
                    "contacted_at": NOW - timedelta(days=7),
                    "method": "phone",
                    "summary": "Quoted 200 seats at ¥80; comparing with Acme.",
                    "feedback": "Needs CFO sign-off in December.",
                    "status_after": "interested",
                    "next_at": NOW - timedelta(minutes=n % 60),
                    "next_action": "Send the revised quote",
                    "remind_at": NOW - timedelta(minutes=n % 60),
                }
                for n in range(followups)
            ],
        )
    db.dispose()
    return owner_ids


def remind(slack: FakeSlack, database_url: str, workdir: Path, *args: str) -> subprocess.Popen[str]:
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=database_url,
        REMIND_LEASE_SECONDS="120",
    )
    return subprocess.Popen(
        command("remind", *args),
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def delivered_dms(slack: FakeSlack) -> list[Call]:
    return [call for call in slack.calls_to("chat.postMessage") if call.ok]


def test_dry_run_prints_what_is_due_and_sends_nothing(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    for owner in seed_due(database_url, followups=3, owners=1):
        slack.set_user(owner, tz="Asia/Shanghai")

    out = finished(remind(slack, database_url, tmp_path, "--now", NOW.isoformat(), "--dry-run"))

    assert out.count("would send:") == 3
    assert delivered_dms(slack) == []
    out = finished(remind(slack, database_url, tmp_path, "--now", NOW.isoformat()))
    assert out.count("sent:") == 3
    assert len(delivered_dms(slack)) == 3


def test_killed_between_claim_and_send_is_delivered_once_after_the_lease(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    (owner,) = seed_due(database_url, followups=1, owners=1)
    slack.set_user(owner, tz="Asia/Shanghai")
    reached_slack, release = threading.Event(), threading.Event()

    def stall_first_open(call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not reached_slack.is_set():
            reached_slack.set()
            release.wait(timeout=30)  # hold the request while the process is killed
        return 200, {"ok": True, "channel": {"id": "D" + call.args["users"]}}, {}

    slack.on("conversations.open", stall_first_open)
    doomed = remind(slack, database_url, tmp_path, "--now", NOW.isoformat())
    assert reached_slack.wait(timeout=60), "the sweep never reached Slack"
    doomed.kill()  # SIGKILL: no cleanup, the claim stays in the database
    doomed.wait(timeout=30)
    release.set()

    during_lease = finished(remind(slack, database_url, tmp_path, "--now", NOW.isoformat()))
    assert during_lease.strip() == "nothing due"
    after = (NOW + timedelta(seconds=121)).isoformat()
    assert finished(remind(slack, database_url, tmp_path, "--now", after)).count("sent:") == 1

    assert len(delivered_dms(slack)) == 1
    assert finished(remind(slack, database_url, tmp_path, "--now", after)).strip() == "nothing due"


def test_three_processes_deliver_each_reminder_exactly_once(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    owners = seed_due(database_url, followups=2000, owners=500)
    for owner in owners:
        slack.set_user(owner, tz="Asia/Shanghai")

    processes = [remind(slack, database_url, tmp_path, "--now", NOW.isoformat()) for _ in range(3)]
    outputs = [finished(process) for process in processes]

    sent = delivered_dms(slack)
    assert len(sent) == 2000
    per_item = Counter(
        block["block_id"]
        for call in sent
        for block in call.args["blocks"]
        if block["type"] == "actions"
    )
    assert len(per_item) == 2000
    assert set(per_item.values()) == {1}
    assert sum(out.count("sent:") for out in outputs) == 2000
    assert sum(1 for out in outputs if "sent:" in out) >= 2  # the work really was shared
