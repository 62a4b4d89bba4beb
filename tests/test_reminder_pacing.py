"""The sweep paces DMs to Slack's per-conversation limit (bot/reminders.py, Pacer): an owner with
more reminders due than the burst gets them all, a second apart, with nothing refused and
nobody else held up; what would wait too long is left, unharmed, to the next sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import followup_actions
from bot.reminders import PACING_HORIZON, Pacer, ReminderService
from handlers.reminder_blocks import ReminderBlocks
from storage.models import FollowUp
from tests.conftest import COLLEAGUE, REP, Bot, running_bot
from tests.fake_slack import FakeSlack
from tests.test_reminders_e2e import DUE, dms, log_followup


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_pacer_allows_a_burst_then_one_a_second_per_recipient() -> None:
    clock = ManualClock()
    pacer = Pacer(per_second=1.0, burst=3, clock=clock)

    for _ in range(3):
        assert pacer.wait("U1") == 0.0
        pacer.record("U1")
    assert pacer.wait("U1") == 1.0  # the fourth waits a second
    assert pacer.wait("U2") == 0.0  # another conversation has its own burst
    clock.now += 0.25
    assert pacer.wait("U1") == 0.75
    clock.now += 0.75
    assert pacer.wait("U1") == 0.0
    pacer.record("U1")
    assert pacer.wait("U1") == 1.0


def test_the_pacer_counts_a_message_when_slack_answered_it() -> None:
    clock = ManualClock()
    pacer = Pacer(per_second=1.0, burst=1, clock=clock)
    assert pacer.wait("U1") == 0.0
    clock.now += 0.2  # opening the conversation, then posting, took this long
    pacer.record("U1")
    clock.now += 0.9
    assert abs(pacer.wait("U1") - 0.1) < 1e-9  # a second after the answer, not the decision


def _paced(
    bot: Bot, pacer: Pacer, sleep: Callable[[float], None], monotonic: Callable[[], float]
) -> ReminderService:
    """The app's reminder service, pacing on the given clock."""
    services = bot.services
    return ReminderService(
        db=services.db,
        client=services.client,
        users=services.users,
        settings=services.settings,
        messages=ReminderBlocks(),
        pacer=pacer,
        sleep=sleep,
        monotonic=monotonic,
    )


def _log(bot: Bot, count: int, *, user_id: str, first_phone: int) -> None:
    for n in range(count):
        log_followup(
            bot,
            user_id=user_id,
            customer_name=f"Customer {user_id} {n}",
            phone=f"+86 138 0013 {first_phone + n:04d}",
            email=None,
        )


def test_an_owner_with_more_due_than_the_burst_gets_every_one_in_one_sweep_unrefused(
    bot: Bot,
) -> None:
    # The sweep takes owners in id order: the colleague first, with 5 due (each its own DM;
    # digests start at 6), then the rep with 2.
    _log(bot, 5, user_id=COLLEAGUE, first_phone=1000)
    _log(bot, 2, user_id=REP, first_phone=2000)
    # Slack's limit on the fake and the sweep's pacing on one clock that moves only when the
    # sweep waits: the bot's own work takes no time, so any mismatch would show as a 429.
    clock = ManualClock()
    bot.slack.limit_posts_per_channel(per_second=1, burst=3, clock=clock)
    sweep = _paced(bot, Pacer(clock=clock), clock.sleep, clock)

    bot.clock.now = DUE
    report = sweep.sweep(DUE)

    assert len(report.sent) == 7
    posts = bot.slack.calls_to("chat.postMessage")
    assert [call.status for call in posts] == [200] * 7  # nothing refused: it waited its turn
    assert sum(clock.slept) == pytest.approx(2.0)  # the colleague's 4th and 5th, a second apart
    colleague = [posts.index(call) for call in dms(bot, COLLEAGUE)]
    rep = [posts.index(call) for call in dms(bot, REP)]
    assert len(colleague) == 5
    assert len(rep) == 2
    # The rep wasn't held up behind the colleague's paced reminders.
    assert max(rep) < colleague[3]


def test_what_would_wait_past_the_horizon_is_left_to_the_next_sweep_with_no_attempt_spent(
    bot: Bot,
) -> None:
    _log(bot, 3, user_id=REP, first_phone=3000)
    clock = ManualClock()
    wait = PACING_HORIZON.total_seconds() * 2
    sweep = _paced(bot, Pacer(per_second=1 / wait, burst=1, clock=clock), clock.sleep, clock)

    bot.clock.now = DUE
    first = sweep.sweep(DUE)

    assert len(first.sent) == 1
    assert clock.slept == []  # a minute is too long to wait inside a sweep
    with bot.db.reader() as session:
        waiting = session.scalars(
            select(FollowUp).where(FollowUp.remind_at.is_not(None)).order_by(FollowUp.id)
        ).all()
    assert len(waiting) == 2
    assert all(f.remind_attempts == 0 and f.claim_token is None for f in waiting)
    assert all(f.remind_at == DUE + timedelta(seconds=wait) for f in waiting)

    clock.now += wait
    later = DUE + timedelta(seconds=wait)
    bot.clock.now = later
    second = sweep.sweep(later)

    assert len(second.sent) == 1  # the next one; the last waits its turn again
    assert len(dms(bot, REP)) == 2


# --- what owners do while their reminders are put off (found by review) ------------------------


class _ActsWhileOpeningRepsDm:
    """The user directory, but while the sweep opens REP's DM, `act` runs: a colleague acting
    on a follow-up the sweep has claimed and is about to put off, or another sweep."""

    def __init__(self, users: Any, act: Callable[[], None]) -> None:
        self._users, self._act, self._done = users, act, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._users, name)

    def dm_channel(self, user_id: str) -> str:
        if user_id == REP and not self._done:
            self._done = True
            self._act()
        return str(self._users.dm_channel(user_id))


def _acting_sweep(bot: Bot, act: Callable[[], None], **pacing: Any) -> ReminderService:
    clock = ManualClock()
    services = bot.services
    return ReminderService(
        db=services.db,
        client=services.client,
        users=_ActsWhileOpeningRepsDm(services.users, act),  # type: ignore[arg-type]
        settings=services.settings,
        messages=ReminderBlocks(),
        pacer=Pacer(clock=clock, **pacing),
        sleep=clock.sleep,
        monotonic=clock,
    )


def _colleagues_last(bot: Bot) -> int:
    with bot.db.reader() as session:
        newest = session.scalars(
            select(FollowUp.id).where(FollowUp.owner_id == COLLEAGUE).order_by(FollowUp.id.desc())
        ).first()
    assert newest is not None
    return newest


def test_a_snooze_made_while_the_reminder_was_put_off_is_kept(bot: Bot) -> None:
    _log(bot, 5, user_id=COLLEAGUE, first_phone=1000)  # 3 go at once, 2 are put off
    _log(bot, 1, user_id=REP, first_phone=2000)
    last = _colleagues_last(bot)
    tomorrow = DUE + timedelta(days=1)

    def snooze() -> None:
        followup_actions.snooze(
            bot.db,
            bot.services.settings,
            followup_id=last,
            actor_id=COLLEAGUE,
            until=tomorrow,
            now=DUE,
        )

    bot.clock.now = DUE
    _acting_sweep(bot, snooze).sweep(DUE)

    with bot.db.reader() as session:
        followup = session.get(FollowUp, last)
        assert followup is not None
        assert followup.remind_at == tomorrow  # still waiting for tomorrow's reminder
        assert followup.claim_token is None  # and free for the sweep that sends it
    assert len(dms(bot, COLLEAGUE)) == 4  # not sent a second after the snooze


def test_done_while_the_reminder_was_put_off_leaves_the_sweep_whole(bot: Bot) -> None:
    _log(bot, 5, user_id=COLLEAGUE, first_phone=1000)
    _log(bot, 1, user_id=REP, first_phone=2000)
    last = _colleagues_last(bot)

    def done() -> None:
        followup_actions.complete(
            bot.db, bot.services.settings, followup_id=last, actor_id=COLLEAGUE, now=DUE
        )

    bot.clock.now = DUE
    report = _acting_sweep(bot, done).sweep(DUE)

    assert len(report.sent) == 5  # the colleague's other 4, and the rep's one


def test_escalations_taken_after_a_long_paced_sweep_hold_a_live_lease(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url, remind_lease_seconds=10) as bot:
        fixed = bot.clock.now
        log_followup(bot)  # the rep's, due at DUE
        bot.clock.now = DUE
        bot.services.reminders.sweep(DUE)  # reminded; 48 h later it is escalated
        bot.clock.now = fixed
        _log(bot, 3, user_id=COLLEAGUE, first_phone=1000)  # due at DUE too, not yet reminded
        start = DUE + timedelta(hours=48)
        clock = ManualClock()
        began = clock.now
        other = _paced(bot, Pacer(clock=clock), clock.sleep, clock)

        def another_sweep_now() -> None:  # a second instance's scheduler, on time
            other.sweep(start + timedelta(seconds=clock.now - began))

        services = bot.services
        paced = ReminderService(
            db=services.db,
            client=services.client,
            users=_ActsWhileOpeningRepsDm(services.users, another_sweep_now),  # type: ignore[arg-type]
            settings=services.settings,
            messages=ReminderBlocks(),
            pacer=Pacer(per_second=1 / 6, burst=1, clock=clock),
            sleep=clock.sleep,
            monotonic=clock,
        )
        bot.clock.now = start
        paced.sweep(start)

        # The paced sweep stopped waiting before half its lease, leaving the rest for later…
        assert clock.now - began <= 5
        # …and the rep got one escalation, not one from each sweep.
        assert len(dms(bot, REP)) == 2
