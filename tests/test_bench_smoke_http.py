"""The HTTP-side benchmarks (bench/latency.py, dates.py, delivery.py, memory.py) run end to end at
a tiny size, checking what they count — never how fast anything was."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bench import dates, delivery, latency, memory
from tests.fake_slack import FakeSlack


def test_the_fake_enforces_slacks_per_channel_limit_only_when_asked() -> None:
    with FakeSlack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        client.retry_handlers.clear()
        for _ in range(5):  # off by default
            assert client.chat_postMessage(channel="D0ONE", text="hi")["ok"]
        fake.limit_posts_per_channel(per_second=1, burst=2, second=0.2)
        assert client.chat_postMessage(channel="D0TWO", text="1")["ok"]
        assert client.chat_postMessage(channel="D0TWO", text="2")["ok"]
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="D0TWO", text="3")
        assert refused.value.response.status_code == 429
        assert refused.value.response["error"] == "ratelimited"
        assert refused.value.response.headers["retry-after"] == "1"  # whole Slack seconds
        assert client.chat_postMessage(channel="D0THREE", text="1")["ok"]  # per conversation
        time.sleep(0.25)  # a Slack second later, one more may go
        assert client.chat_postMessage(channel="D0TWO", text="3")["ok"]


def test_dates_bench_reads_every_phrase() -> None:
    result = dates.main(["--repeat", "2", "--every", "10", "--no-fresh"])
    assert result is not None
    assert result.app.read_count == len(result.app.rows) >= 10
    assert len(result.plain.rows) == len(result.app.rows)


def test_delivery_bench_delivers_each_reminder_once_through_the_limit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'delivery.db'}"
    result = delivery.main(
        ["--database-url", url, "--reminders", "24", "--owners", "3", "--second", "0.1"]
    )
    assert result.duplicates == 0
    assert result.missing == 0
    assert result.unlimited.messages == result.limited.messages == 24
    # The limit was in force: the sweep paced itself to it, or Slack refused what went over.
    pacing = result.limited.pacing
    assert result.limited.refused > 0 or (pacing is not None and pacing.count > 0)


def test_latency_bench_answers_every_request_and_stores_each_valid_submission(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'latency.db'}"
    result = latency.main(
        [
            *("--database-url", url, "--seed-followups", "500", "--requests", "8"),
            *("--concurrency", "1", "2", "--reps", "3", "--warm-up", "1"),
        ]
    )
    assert result.all_answered, [p.statuses for p in result.phases]
    assert len(result.phases) == 2 * len(latency.KINDS) * 2
    assert result.valid_sent == 8 * 2 + 1
    assert result.stored == result.valid_sent
    assert result.slack_calls.get("views.open 200", 0) >= 8 * 2


def test_memory_bench_reads_the_servers_memory_after_each_round(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    result = memory.main(
        ["--database-url", url, "--seed-followups", "500", "--requests", "8", "--settle", "0.3"]
    )
    assert set(result.statuses) <= {200, 299}
    assert sum(result.statuses.values()) == 16
    assert [n for n, _ in result.rounds] == [8, 16]
    assert result.idle_mb > 0
