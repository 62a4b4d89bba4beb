"""Time building the morning summary: `python -m bench.summary [--open N] [--owners N]
[--database-url URL]`. Seeds N open follow-ups (a tenth of them overdue), then builds and renders
the summary as the scheduler would, and prints the median of several runs."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.sweep import NOW, seed
from bot.app import make_web_client
from bot.settings import Settings
from bot.summary import SummaryService
from bot.users import UserDirectory
from handlers.summary_blocks import SummaryBlocks
from storage.db import Database
from storage.migrate import upgrade

RUNS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    seed(db, open_count=args.open, due=args.open // 10, owners=args.owners)
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-bench",  # never sent anywhere: building makes no Slack call
        "slack_signing_secret": "bench",
        "slack_api_url": "http://127.0.0.1:9/api/",
        "database_url": url,
        "summary_tz": "Asia/Shanghai",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
    client = make_web_client(settings)
    users = UserDirectory(db, client, default_zone=settings.zone, clock=lambda: NOW)
    service = SummaryService(
        db=db,
        client=client,
        users=users,
        settings=settings,
        messages=SummaryBlocks(),
        clock=lambda: NOW,
    )
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        message = service.render(service.build("C0BENCH01", NOW))
        timings.append(time.perf_counter() - started)
    print(
        f"summary over {args.open:,} open follow-ups, {args.owners} owners: "
        f"median {statistics.median(timings) * 1000:.0f} ms, first {timings[0] * 1000:.0f} ms, "
        f"{len(message['blocks'])} blocks"
    )


if __name__ == "__main__":
    main()
