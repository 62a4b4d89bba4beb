"""The `followup-bot` command line, run as a real process the way a user runs it."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BOT_TOKEN, REP, SIGNING_SECRET
from tests.fake_slack import FakeSlack
from tests.postgres import free_port
from tests.slack_requests import SlackRequests

EXECUTABLE = Path(sys.executable).with_name("followup-bot")


def command(*args: str) -> list[str]:
    if EXECUTABLE.exists():
        return [str(EXECUTABLE), *args]
    return [sys.executable, "-m", "bot.cli", *args]


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(values)
    return env


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_token_is_one_clear_line_and_exit_code_2(tmp_path: Path) -> None:
    result = run(tmp_path, "serve")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SLACK_BOT_TOKEN is missing" in lines[0]
    assert "README" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "http"), ("DEFAULT_TZ", "Mars/Olympus"), ("SLACK_BOT_TOKEN", "xoxp-user-token")],
)
def test_malformed_setting_names_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, variable: value}
    result = run(tmp_path, "migrate", **env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"followup-bot: {variable} is invalid")
    assert "Traceback" not in result.stderr


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_SIGNING_SECRET=s\n")
    result = run(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr


def test_migrate_creates_the_default_sqlite_file_in_the_working_directory(tmp_path: Path) -> None:
    result = run(
        tmp_path, "migrate", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "followup-bot.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"customers", "followups", "change_log", "alembic_version"} <= tables


@pytest.fixture
def served(tmp_path: Path, slack: FakeSlack) -> Iterator[tuple[SlackRequests, Path]]:
    """`followup-bot serve` in HTTP mode as its own process, talking to the fake Slack."""
    port = free_port()
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.base_url,
        PORT=str(port),
        HOST="127.0.0.1",
    )
    process = subprocess.Popen(
        command("serve"), cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr

    def forward_lines() -> None:
        for line in stderr:
            lines.put(line)

    threading.Thread(target=forward_lines, daemon=True).start()
    try:
        while "listening on" not in (line := lines.get(timeout=30)):
            assert "Traceback" not in line, line
        yield SlackRequests(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET), tmp_path
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def test_serve_answers_signed_requests_and_rejects_unsigned_ones(
    served: tuple[SlackRequests, Path], slack: FakeSlack
) -> None:
    requests, workdir = served
    assert requests.command("", user_id=REP).status == 200
    (call,) = slack.wait_for("views.open")
    assert call.args["view"]["callback_id"] == "followup_modal"

    unsigned = requests.send(
        b"command=%2Ffollowup", content_type="application/x-www-form-urlencoded", sign=False
    )
    assert unsigned.status == 401
    with sqlite3.connect(workdir / "followup-bot.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "followups" in tables  # serve applied the migrations itself
