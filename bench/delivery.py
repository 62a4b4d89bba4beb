"""Deliver due reminders through Slack's per-channel rate limit: `python -m bench.delivery
[--reminders 5000] [--owners 500] [--burst 3] [--second 1] [--digest-over 1000]`.

Seeds `--reminders` due follow-ups spread evenly over `--owners` owners (bench/seed.py), then runs
the app's own reminder sweep (`services.reminders.sweep`, as the scheduler does) against the fake
Slack Web API three times from the same starting state:

1. unlimited (the sweep not pacing itself either), to warm the caches (users.info,
   conversations.open);
2. unlimited again, timed: how fast the bot delivers when Slack never pushes back;
3. with the fake enforcing Slack's limit on chat.postMessage — about one message a second per
   conversation after a short burst, 429 `ratelimited` with Retry-After beyond it.

The ideal is what the limit allows: the unlimited time, or the busiest conversation's
(messages - burst) seconds if that is longer. Reminders a sweep leaves for a later retry are
delivered by further sweeps at their retry time (the clock jumps; no waiting), and counted.
Each follow-up must be in exactly one delivered DM: duplicates and misses are counted.

Time can be scaled (by default it isn't): a Slack second lasts `--second` real seconds, in the
fake's limit, in the sweep's own pacing (one DM a second per recipient after a burst of 3; see
bot/reminders.py, Pacer) and in slack_sdk's Retry-After sleeps. The bot's own work is not
scaled, so scaling flatters a sweep that sleeps; the full-scale estimate puts the sleeps back at
one second per Slack second.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from slack_sdk.http_retry import builtin_handlers
from sqlalchemy import delete, select, update

from bench.seed import NOW, add_database_arguments, bench_database, owner_id, seed
from bot.app import create_app
from bot.reminders import CLAIM_BATCH, Pacer, ReminderService
from bot.services import Services
from bot.settings import Settings
from handlers.reminder_blocks import ReminderBlocks, followup_id_from_block
from storage.db import Database
from storage.models import FollowUp, ReminderDelivery
from tests.fake_slack import Call, FakeSlack

MAX_PASSES = 20
TARGET_RATIO = 1.10
DEFAULT_LEASE = Settings.model_fields["remind_lease_seconds"].default


class TimedFakeSlack(FakeSlack):
    """The tests' fake, noting when each call was answered (time.monotonic())."""

    def __init__(self) -> None:
        super().__init__()
        self.answered_at: list[tuple[float, Call]] = []

    def _answer(self, call: Call, parse_error: str | None) -> Any:
        answer = super()._answer(call, parse_error)
        self.answered_at.append((time.monotonic(), call))
        return answer


@dataclass
class Sleeps:
    """The Retry-After sleeps slack_sdk's retry handlers asked for."""

    second: float
    slack_seconds: float = 0.0
    real_seconds: float = 0.0
    count: int = 0

    def sleep(self, seconds: float) -> None:
        self.slack_seconds += seconds
        self.count += 1
        started = time.perf_counter()
        time.sleep(seconds * self.second)
        self.real_seconds += time.perf_counter() - started


@contextmanager
def scaled_retry_sleeps(second: float) -> Iterator[Sleeps]:
    """Make slack_sdk's retry handlers sleep `second` real seconds per second they ask for."""
    sleeps = Sleeps(second)

    class _ScaledTime:
        @staticmethod
        def sleep(seconds: float) -> None:
            sleeps.sleep(seconds)

    with mock.patch.object(builtin_handlers, "time", _ScaledTime):
        yield sleeps


@dataclass
class Run:
    """One delivery run from the seeded state."""

    seconds: float  # wall time of the first sweep
    sent_first_pass: int
    later_passes: int
    last_retry_after: timedelta  # how late (app clock) the last later pass ran
    posts: int  # chat.postMessage calls, refused ones included
    refused: int  # 429 answers
    messages: int  # delivered DMs
    per_channel: Counter[str]
    delivered: Counter[int]  # follow-up id -> delivered DMs naming it
    waiting: float  # seconds of the first sweep with no post going out (long gaps)
    sleeps: Sleeps | None = None  # slack_sdk's Retry-After sleeps
    pacing: Sleeps | None = None  # the sweep's own waits for a recipient's next slot

    def missing(self, due_ids: frozenset[int]) -> int:
        return len(due_ids - set(self.delivered))

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.delivered.values() if n > 1)


@dataclass(frozen=True)
class DeliveryResult:
    reminders: int
    owners: int
    burst: int
    second: float
    digest_over: int
    unlimited: Run
    limited: Run
    due_ids: frozenset[int]

    @property
    def limit_bound(self) -> float:
        """Real seconds the limit itself forces: the busiest conversation's extra messages."""
        busiest = max(self.limited.per_channel.values(), default=0)
        return max(0, busiest - self.burst) * self.second

    @property
    def work(self) -> float:
        """What the sweep takes when nothing makes it wait: the unlimited run, less any time
        it spent waiting anyway (a sweep that paces itself waits even when Slack wouldn't)."""
        return self.unlimited.seconds - self.unlimited.waiting

    @property
    def ideal(self) -> float:
        return max(self.work, self.limit_bound)

    @property
    def ratio(self) -> float:
        return self.limited.seconds / self.ideal

    @property
    def full_scale_seconds(self) -> float:
        """The first sweep with its sleeps (Retry-After and pacing) at one real second per
        Slack second."""
        seconds = self.limited.seconds
        for sleeps in (self.limited.sleeps, self.limited.pacing):
            if sleeps is not None:
                seconds += sleeps.slack_seconds - sleeps.real_seconds
        return seconds

    @property
    def full_scale_ideal(self) -> float:
        busiest = max(self.limited.per_channel.values(), default=0)
        return max(self.work, max(0, busiest - self.burst) * 1.0)

    @property
    def duplicates(self) -> int:
        """DMs naming a follow-up that an earlier DM of the same run already named."""
        return self.unlimited.duplicates + self.limited.duplicates

    @property
    def missing(self) -> int:
        """Due follow-ups that no DM of a run named (both runs)."""
        return self.unlimited.missing(self.due_ids) + self.limited.missing(self.due_ids)


def _settings(slack: FakeSlack, url: str, digest_over: int) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-bench",  # the fake accepts any bot token
        "slack_signing_secret": "bench",
        "slack_api_url": slack.base_url,
        "database_url": url,
        "default_tz": "Asia/Shanghai",
        "remind_digest_over": digest_over,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _due_state(db: Database) -> dict[int, datetime]:
    with db.reader() as session:
        rows = session.execute(
            select(FollowUp.id, FollowUp.remind_at).where(FollowUp.remind_at.is_not(None))
        ).all()
    return {row.id: row.remind_at for row in rows if row.remind_at <= NOW}


def _restore(db: Database, due: dict[int, datetime]) -> None:
    """Back to the seeded state: the same follow-ups due, nothing delivered."""
    with db.transaction() as session:
        session.execute(delete(ReminderDelivery))
        for followup_id, remind_at in due.items():
            session.execute(
                update(FollowUp)
                .where(FollowUp.id == followup_id)
                .values(
                    remind_at=remind_at, remind_attempts=0, claimed_until=None, claim_token=None
                )
                .execution_options(synchronize_session=False)
            )


def _next_retry(db: Database) -> datetime | None:
    with db.reader() as session:
        found: datetime | None = session.scalar(
            select(FollowUp.remind_at)
            .where(FollowUp.remind_at.is_not(None))
            .order_by(FollowUp.remind_at)
            .limit(1)
        )
    return found


def _waiting(post_times: Sequence[float]) -> float:
    """Time between posts beyond ten times the usual gap: the sweep waiting, not working."""
    gaps = [b - a for a, b in itertools.pairwise(sorted(post_times))]
    if not gaps:
        return 0.0
    usual = statistics.median(gaps)
    return sum(gap - usual for gap in gaps if gap > 10 * usual)


def _deliver(services: Services, slack: TimedFakeSlack, due_ids: frozenset[int]) -> Run:
    slack.reset()
    slack.answered_at.clear()
    started_at = time.monotonic()
    started = time.perf_counter()
    report = services.reminders.sweep(NOW)
    seconds = time.perf_counter() - started
    later, when = 0, NOW
    while later < MAX_PASSES:
        retry_at = _next_retry(services.db)
        if retry_at is None or retry_at > NOW + timedelta(days=1):
            break  # nothing left of this run (seeded follow-ups not yet due don't count)
        later, when = later + 1, retry_at
        services.reminders.sweep(retry_at)
    posts = [(at, c) for at, c in slack.answered_at if c.method == "chat.postMessage"]
    delivered: Counter[int] = Counter()
    per_channel: Counter[str] = Counter()
    for _, call in posts:
        if call.status != 200 or not call.response.get("ok"):
            continue
        per_channel[str(call.response.get("channel"))] += 1
        for block in call.args.get("blocks") or []:
            followup_id = followup_id_from_block(block.get("block_id"))
            if followup_id is not None and followup_id in due_ids:
                delivered[followup_id] += 1
    return Run(
        seconds=seconds,
        waiting=_waiting([at for at, c in posts if at <= started_at + seconds]),
        sent_first_pass=len(report.sent),
        later_passes=later,
        last_retry_after=when - NOW,
        posts=len(posts),
        refused=sum(1 for _, c in posts if c.status == 429),
        messages=sum(per_channel.values()),
        per_channel=per_channel,
        delivered=delivered,
    )


@contextmanager
def _app(settings: Settings, pacing: Sleeps | None = None) -> Iterator[Services]:
    """The app's services, its sweep pacing itself on the bench's clock (a Slack second lasts
    `pacing.second` real seconds, as in the fake's limit), or not at all without `pacing`."""
    _, services = create_app(settings, clock=lambda: NOW, check_token=False)
    try:
        yield replace(services, reminders=_paced_reminders(services, pacing))
    finally:
        services.listeners.shutdown(wait=True)
        services.db.dispose()


def _paced_reminders(services: Services, pacing: Sleeps | None) -> ReminderService:
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    pacer = Pacer(per_second=math.inf)
    if pacing is not None:
        second = pacing.second

        def slack_clock() -> float:
            return time.monotonic() / second

        pacer, sleep, clock = Pacer(clock=slack_clock), pacing.sleep, slack_clock
    return ReminderService(
        db=services.db,
        client=services.client,
        users=services.users,
        settings=services.settings,
        messages=ReminderBlocks(),
        pacer=pacer,
        sleep=sleep,
        monotonic=clock,
    )


def run(
    url: str,
    *,
    reminders: int,
    owners: int,
    burst: int = 3,
    second: float = 1.0,
    digest_over: int = 1000,
) -> DeliveryResult:
    seed(
        url,
        customers=reminders,
        followups=reminders,
        due=reminders,
        owners=owners,
        open_followups=reminders,
        now=NOW,
        change_log=False,
    )
    slack = TimedFakeSlack()
    slack.start()
    try:
        for n in range(owners):
            slack.set_user(owner_id(n), tz="Asia/Shanghai")
        settings = _settings(slack, url, digest_over)
        with _app(settings) as services:  # warms users.info and DM channel caches
            due = _due_state(services.db)
            due_ids = frozenset(due)
            _deliver(services, slack, due_ids)
            _restore(services.db, due)
        with _app(settings) as services:  # each run starts as a freshly started bot would
            unlimited = _deliver(services, slack, due_ids)
            _restore(services.db, due)
        slack.limit_posts_per_channel(per_second=1.0, burst=burst, second=second)
        pacing = Sleeps(second)
        with _app(settings, pacing) as services, scaled_retry_sleeps(second) as sleeps:
            limited = _deliver(services, slack, due_ids)
        limited.sleeps, limited.pacing = sleeps, pacing
        slack.assert_all_valid()
    finally:
        slack.stop()
    return DeliveryResult(
        reminders=reminders,
        owners=owners,
        burst=burst,
        second=second,
        digest_over=digest_over,
        unlimited=unlimited,
        limited=limited,
        due_ids=due_ids,
    )


def report(result: DeliveryResult) -> str:
    unlimited, limited = result.unlimited, result.limited
    sleeps = limited.sleeps or Sleeps(result.second)
    pacing = limited.pacing or Sleeps(result.second)
    verdict = "met" if result.ratio <= TARGET_RATIO else "MISSED"
    lines = [
        f"{result.reminders:,} due reminders to {result.owners:,} owners "
        f"(REMIND_DIGEST_OVER={result.digest_over}); limit: 1 chat.postMessage/s per "
        f"conversation after a burst of {result.burst}; 1 Slack second = {result.second} s",
        f"unlimited: {unlimited.messages:,} DMs in {unlimited.seconds:.2f} s "
        f"({unlimited.seconds / max(unlimited.messages, 1) * 1000:.2f} ms per DM)",
        f"limited, first sweep: {limited.seconds:.2f} s, {limited.sent_first_pass:,} reminders "
        f"sent, {limited.posts:,} posts of which {limited.refused:,} refused (429); "
        f"{sleeps.count:,} Retry-After sleeps = {sleeps.slack_seconds:.0f} Slack seconds; "
        f"{pacing.count:,} waits for a recipient's next slot = "
        f"{pacing.slack_seconds:.1f} Slack seconds",
        f"later sweeps for reminders left to retry: {limited.later_passes} "
        f"(the last {limited.last_retry_after} after the first, on the app's clock)",
        f"ideal (scaled): {result.ideal:.2f} s = max(unlimited {result.work:.2f} s, "
        f"limit {result.limit_bound:.2f} s); first sweep / ideal = {result.ratio:.2f}x "
        f"(target <= {TARGET_RATIO:.2f}x: {verdict})",
        f"at full scale (1 Slack second = 1 s): first sweep >= {result.full_scale_seconds:,.1f} s "
        f"vs ideal {result.full_scale_ideal:.1f} s "
        f"({result.full_scale_seconds / result.full_scale_ideal:.1f}x; a lower bound: at full "
        "scale the bot's own work refills fewer tokens between posts, so more are refused)",
        f"  so one claimed batch of {CLAIM_BATCH} is held ~ "
        f"{result.full_scale_seconds * CLAIM_BATCH / result.reminders:.0f} s "
        f"(the claim's lease is {DEFAULT_LEASE} s)",
        f"duplicates: {result.duplicates}, never delivered: {result.missing}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> DeliveryResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--reminders", type=int, default=5_000)
    parser.add_argument("--owners", type=int, default=500)
    parser.add_argument("--burst", type=int, default=3)
    parser.add_argument(
        "--second", type=float, default=1.0, help="real seconds per Slack second (1 = real time)"
    )
    parser.add_argument(
        "--digest-over",
        type=int,
        default=1000,
        help="REMIND_DIGEST_OVER; the default 1000 sends every reminder as its own DM "
        "(the app's default, 5, sends owners with more than 5 due one digest)",
    )
    args = parser.parse_args(argv)
    with bench_database(args) as url:
        result = run(
            url,
            reminders=args.reminders,
            owners=args.owners,
            burst=args.burst,
            second=args.second,
            digest_over=args.digest_over,
        )
    print(report(result))
    return result


if __name__ == "__main__":
    main()
