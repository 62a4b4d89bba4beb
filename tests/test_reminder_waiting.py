"""Reminders waiting in memory for their DM's turn (bot/reminders.py, _send_waiting): never sent
on a lease that ran out, one late turn doesn't put off the others, a digest counts only what is
still due, and a turn a hair short of its time doesn't spin. Found by review; each test failed
before its fix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.reminders import Pacer, Readers, ReminderItem, ReminderService, SweepReport, _Waiting
from handlers.reminder_blocks import ReminderBlocks
from storage import reminders as store
from storage.models import FollowUp
from tests.conftest import COLLEAGUE, REP, running_bot
from tests.fake_slack import FakeSlack
from tests.test_reminder_pacing import ManualClock, _log, _paced
from tests.test_reminders_e2e import DUE, dms


class _SlowRepThenOtherSweep:
    """Opening REP's DM takes 12 s (slow Slack); the 2nd time COLLEAGUE's DM is opened, another
    process's sweep runs (its scheduler, on time)."""

    def __init__(self, users: Any, clock: ManualClock, other: Any) -> None:
        self._users, self._clock, self._other, self._colleague = users, clock, other, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._users, name)

    def dm_channel(self, user_id: str) -> str:
        if user_id == REP:
            self._clock.now += 12
        if user_id == COLLEAGUE:
            self._colleague += 1
            if self._colleague == 2:
                self._other(DUE + timedelta(seconds=self._clock.now - 1000.0))
        return str(self._users.dm_channel(user_id))


def test_a_waiting_reminder_is_not_sent_on_an_expired_lease_twice(
    slack: FakeSlack, database_url: str
) -> None:
    # Lease 10 s. The colleague's second reminder waits 1 s for its turn, but the batches take
    # 12 s (opening the rep's DM is slow): by then its lease has run out and another process
    # may have claimed it. It must not be sent on that claim.
    with running_bot(slack, database_url, remind_lease_seconds=10) as bot:
        _log(bot, 2, user_id=COLLEAGUE, first_phone=1000)
        _log(bot, 1, user_id=REP, first_phone=2000)
        clock = ManualClock()
        services = bot.services
        other = services.reminders  # a second process sharing the database
        paced = ReminderService(
            db=services.db,
            client=services.client,
            users=_SlowRepThenOtherSweep(services.users, clock, other.sweep),  # type: ignore[arg-type]
            settings=services.settings,
            messages=ReminderBlocks(),
            pacer=Pacer(per_second=1.0, burst=1, clock=clock),
            sleep=clock.sleep,
            monotonic=clock,
        )
        bot.clock.now = DUE
        paced.sweep(DUE)
        # Its lease half gone by its turn, the second was left to a later sweep, not sent…
        assert len(dms(bot, COLLEAGUE)) == 1
        later = DUE + timedelta(seconds=clock.now - 1000.0 + 1)
        bot.clock.now = later
        other.sweep(later)
        # …which sends it once.
        assert len(dms(bot, COLLEAGUE)) == 2


def test_one_turn_past_half_its_lease_does_not_put_off_turns_that_could_still_go(
    slack: FakeSlack, database_url: str
) -> None:
    # The `break` in _send_waiting: the earliest turn (claimed at t0, turn t0+6 > t0+lease/2)
    # puts off every turn, also REP's, claimed at t0+4 by a later batch, whose turn t0+7 is
    # well inside both PACING_HORIZON and its own half-lease (t0+9).
    with running_bot(slack, database_url, remind_lease_seconds=10) as bot:
        _log(bot, 1, user_id=COLLEAGUE, first_phone=1000)
        _log(bot, 1, user_id=REP, first_phone=2000)
        later = DUE + timedelta(seconds=4)
        with bot.db.transaction() as session:
            session.execute(
                update(FollowUp).where(FollowUp.owner_id == REP).values(remind_at=later)
            )
        clock = ManualClock()
        services = bot.services
        service = _paced(bot, Pacer(per_second=1.0, burst=1, clock=clock), clock.sleep, clock)
        token, lease = "t-r9", timedelta(seconds=10)
        with bot.db.transaction() as session:
            mine = [
                ReminderItem.of(f)
                for f in store.claim_due_reminders(
                    session, now=DUE, lease_until=DUE + lease, token=token, limit=10
                )
            ]
        with bot.db.transaction() as session:
            reps = [
                ReminderItem.of(f)
                for f in store.claim_due_reminders(
                    session, now=later, lease_until=later + lease, token=token, limit=10
                )
            ]
        assert [i.owner_id for i in mine] == [COLLEAGUE]
        assert [i.owner_id for i in reps] == [REP]
        waiting = [
            _Waiting(DUE + timedelta(seconds=6), COLLEAGUE, [mine], None, DUE),
            _Waiting(DUE + timedelta(seconds=7), REP, [reps], None, later),
        ]
        clock.now += 4  # the batches took 4 s
        report = SweepReport()

        service._send_waiting(
            waiting,
            lambda: DUE + timedelta(seconds=clock.now - 1000.0),
            lease,
            Readers(services.users),
            token,
            report,
        )
        assert len(dms(bot, REP)) == 1  # not put off with the colleague's


def _bulk(bot: Any, user_id: str, count: int) -> list[int]:
    """`count` more due follow-ups for `user_id`, copies of one logged the usual way."""
    from tests.test_reminders_e2e import log_followup

    first = log_followup(bot, user_id=user_id)
    ids = [first.id]
    with bot.db.transaction() as session:
        template = session.get(FollowUp, first.id)
        for n in range(count - 1):
            row = FollowUp(
                customer_id=template.customer_id,
                author_id=user_id,
                owner_id=user_id,
                contacted_at=template.contacted_at,
                method="phone",
                summary=template.summary,
                feedback=template.feedback,
                status_after="interested",
                next_at=DUE - timedelta(minutes=n + 1),
                next_action=f"Step {n}",
                remind_at=DUE - timedelta(minutes=n + 1),
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def test_a_waiting_digest_page_counts_only_what_is_still_due(bot: Any) -> None:
    # REP has 60 due: 3 digest pages (24, 24, 12), one a turn (burst 1). While page 1 goes,
    # REP closes 35 of the 36 on pages 2 and 3; _still_claimed drops them but keeps
    # digest_total=60, so the last DM, about 1 follow-up, says "60 follow-ups are due".
    from bot import followup_actions
    from tests.test_reminder_pacing import _acting_sweep

    ids = _bulk(bot, REP, 60)
    with bot.db.reader() as session:
        oldest_first = session.scalars(
            select(FollowUp.id).where(FollowUp.id.in_(ids)).order_by(FollowUp.remind_at)
        ).all()
    later_pages = list(oldest_first[24:])

    def close_most() -> None:
        for followup_id in later_pages[:-1]:
            followup_actions.complete(
                bot.db, bot.services.settings, followup_id=followup_id, actor_id=REP, now=DUE
            )

    bot.clock.now = DUE
    _acting_sweep(bot, close_most, burst=1).sweep(DUE)
    pages = dms(bot, REP)
    assert len(pages) == 2
    assert "60 follow-ups" not in pages[-1].args["text"]  # it shows 1


def test_a_sub_microsecond_wait_does_not_spin(bot: Any) -> None:
    # Pacer.wait is a float; `until = now + timedelta(seconds=wait)` rounds it to whole
    # microseconds, so after sleeping to `until` the pacer can still say 3e-7 s: `if wait:`
    # returns a turn whose until is `now` (timedelta(seconds=3e-7) == 0), _send_waiting does
    # not sleep, and loops (one _still_claimed transaction per turn) until the clock moves —
    # forever on a clock that moves only when slept on.
    import signal

    _log(bot, 2, user_id=REP, first_phone=2000)
    clock = ManualClock()
    service = _paced(bot, Pacer(per_second=3.0, burst=1, clock=clock), clock.sleep, clock)

    def stuck(*_: Any) -> None:
        raise AssertionError("sweep still spinning after 5 s")

    signal.signal(signal.SIGALRM, stuck)
    signal.alarm(5)
    try:
        bot.clock.now = DUE
        report = service.sweep(DUE)
    finally:
        signal.alarm(0)
    assert len(report.sent) == 2
