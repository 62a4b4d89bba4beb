"""Reminder delivery: find due follow-ups in the database, DM their owners, record the outcome.

The database is the only schedule. A sweep claims due rows with a lease, sends, and records each
delivery under a unique key (follow-up, due time, kind, recipient); nothing is marked delivered
unless Slack answered ok. A sweep that dies mid-way leaves leases that run out, and the next
sweep sends what was never confirmed.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any, Final, Literal, Protocol
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.i18n import Translator, translator
from bot.permissions import escalation_recipients
from bot.settings import Settings
from bot.users import UserDirectory, UserPrefs
from storage import reminders as store
from storage.db import Database
from storage.models import FollowUp, ReminderDelivery

logger = logging.getLogger(__name__)

# Slack errors that no retry will fix: the person or conversation is gone or closed to the bot.
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "invalid_user",
        "user_is_restricted",
    }
)
CLAIM_BATCH = 100
# Slack lets an app post about one message a second in a conversation, after a short burst, and
# answers 429 beyond that. The sweep paces itself per recipient and, when one recipient's DM has
# to wait, puts their remaining reminders off for that long and goes on with everyone else's;
# sleeping through Retry-After instead would hold up every owner after them.
POSTS_PER_SECOND: Final = 1.0
POST_BURST: Final = 3
# A sweep waits this long at most for a recipient to be ready again; longer, a later sweep sends.
PACING_HORIZON: Final = timedelta(seconds=30)
Outcome = Literal["sent", "retry", "undeliverable"]
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class ReminderItem:
    """What a reminder DM shows about one follow-up."""

    followup_id: int
    owner_id: str
    customer_name: str
    company: str
    summary: str
    feedback: str
    next_action: str
    due_at: datetime

    @classmethod
    def of(cls, followup: FollowUp) -> ReminderItem:
        return cls(
            followup_id=followup.id,
            owner_id=followup.owner_id,
            customer_name=followup.customer.name,
            company=followup.customer.company,
            summary=followup.summary,
            feedback=followup.feedback,
            next_action=followup.next_action,
            due_at=followup.next_at,
        )


Message = dict[str, Any]


class ReminderMessages(Protocol):
    """Renders reminder DMs (Block Kit lives in handlers/; the app factory wires it in), each in
    the language and time zone of the person who reads it."""

    digest_page_size: int

    def due(self, t: Translator, item: ReminderItem, zone: ZoneInfo, now: datetime) -> Message: ...

    def digest(
        self,
        t: Translator,
        items: Sequence[ReminderItem],
        zone: ZoneInfo,
        now: datetime,
        *,
        total: int,
    ) -> Message: ...

    def escalation(
        self, t: Translator, item: ReminderItem, zone: ZoneInfo, now: datetime
    ) -> Message: ...

    def manager_escalation(
        self, t: Translator, item: ReminderItem, zone: ZoneInfo, now: datetime
    ) -> Message: ...


class Readers:
    """Each recipient's zone and language, looked up once per sweep however many items they get.

    `UserDirectory.prefs` reads the database (and at most once a day asks Slack); a sweep over
    thousands of due items must not repeat that per item.
    """

    def __init__(self, users: UserDirectory) -> None:
        self._users = users
        self._known: dict[str, UserPrefs] = {}

    def prefs(self, user_id: str) -> UserPrefs:
        found = self._known.get(user_id)
        if found is None:
            found = self._known[user_id] = self._users.prefs(user_id)
        return found

    def translator(self, user_id: str) -> Translator:
        return translator(self.prefs(user_id).language)


class Pacer:
    """A token bucket per recipient (each recipient's DM is one conversation).

    A message is counted when Slack has answered it (`record`), not when it was decided to send
    it: Slack counts it on arrival, somewhere in between, so counting at the answer keeps the
    sweep's idea of the limit behind Slack's, never ahead — a first DM also opens the
    conversation before posting, which would otherwise let the next one arrive too early."""

    def __init__(
        self,
        *,
        per_second: float = POSTS_PER_SECOND,
        burst: int = POST_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 1.0 / per_second
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # recipient -> (tokens, at)

    def _tokens(self, recipient_id: str, now: float) -> float:
        tokens, at = self._buckets.get(recipient_id, (self._burst, now))
        return min(self._burst, tokens + (now - at) / self._interval)

    def wait(self, recipient_id: str) -> float:
        """Seconds until a message to `recipient_id` may go; 0.0 if it may go now."""
        if self._interval == 0.0:  # per_second=math.inf: no limit (benchmarks measure without)
            return 0.0
        return max(0.0, 1.0 - self._tokens(recipient_id, self._clock())) * self._interval

    def record(self, recipient_id: str) -> None:
        """A message to `recipient_id` was just answered by Slack."""
        if self._interval == 0.0:
            return
        now = self._clock()
        self._buckets[recipient_id] = (self._tokens(recipient_id, now) - 1.0, now)


def _due_as_claimed(item: ReminderItem, due: dict[int, datetime], turn: _Waiting) -> bool:
    at = due.get(item.followup_id)
    return at is not None and at <= turn.claimed_at


@dataclass(frozen=True)
class _Waiting:
    """An owner's reminders this sweep claimed and could not send yet: Slack takes about one
    message a second per conversation, so they wait, still claimed, for their DM's turn."""

    until: datetime  # when the owner's DM may take the next message
    owner_id: str
    pages: list[list[ReminderItem]]  # one reminder each, or digest pages
    digest_total: int | None  # all the owner had due, when sent as a digest
    claimed_at: datetime  # the claim's lease runs from here

    def lease_half(self, lease: timedelta) -> datetime:
        return self.claimed_at + lease / 2


@dataclass
class SweepReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)
    # Set when Slack looked down: the rest of the sweep stops calling it (see _post).
    slack_unavailable: str | None = None

    def lines(self) -> list[str]:
        return (
            [f"sent: {line}" for line in self.sent]
            + [f"will retry: {line}" for line in self.retrying]
            + [f"undeliverable: {line}" for line in self.undeliverable]
        )


def slack_is_down(error: Exception) -> bool:
    """Slack, or the way to it, failing for everyone — not this one person or message: a 5xx or
    a rate limit that outlasted the client's retries, or no answer at all."""
    if isinstance(error, SlackApiError):
        status = int(getattr(error.response, "status_code", 200) or 200)
        return status >= 500 or status == 429
    return isinstance(error, OSError | SlackClientError)  # refused, reset, timed out


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed try, at most an hour."""
    return min(timedelta(minutes=2 ** min(attempts, 10)), MAX_BACKOFF)


def _describe(item: ReminderItem) -> str:
    return f"follow-up {item.followup_id} ({item.customer_name} · {item.company}) → {item.owner_id}"


def _delivery(
    item: ReminderItem, kind: str, recipient_id: str, now: datetime, **outcome: str
) -> ReminderDelivery:
    """The record of one DM (or of why it couldn't be sent) about one item's due time."""
    return ReminderDelivery(
        followup_id=item.followup_id,
        due_at=item.due_at,
        kind=kind,
        recipient_id=recipient_id,
        at=now,
        **outcome,
    )


def _slack_error(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "unknown_error")
    return error.__class__.__name__


class ReminderService:
    def __init__(
        self,
        *,
        db: Database,
        client: WebClient,
        users: UserDirectory,
        settings: Settings,
        messages: ReminderMessages,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._client = client
        self._users = users
        self._settings = settings
        self._messages = messages
        self._pacer = pacer or Pacer(clock=monotonic)
        self._sleep = sleep
        self._monotonic = monotonic

    # --- the sweep ----------------------------------------------------------------------------

    def sweep(self, now: datetime) -> SweepReport:
        report = SweepReport()
        readers = Readers(self._users)
        token = str(uuid.uuid4())
        lease = timedelta(seconds=self._settings.remind_lease_seconds)
        started = self._monotonic()

        def current() -> datetime:
            """`now` moved on by the time this sweep has run: claims taken late in a long
            (paced) sweep must hold a lease from when they are taken, not from its start."""
            return now + timedelta(seconds=self._monotonic() - started)

        waiting: list[_Waiting] = []
        while self._remind_batch(current, lease, readers, token, report, waiting):
            pass
        self._send_waiting(waiting, current, lease, readers, token, report)
        moment = current()
        lease_until = moment + lease
        overdue_before = moment - timedelta(hours=self._settings.escalate_after_hours)
        while self._deliver_batch(
            lambda session: store.claim_due_escalations(
                session,
                overdue_before=overdue_before,
                now=moment,
                lease_until=lease_until,
                token=token,
                limit=CLAIM_BATCH,
            ),
            lambda owner, items: self._escalate(items, readers, token, moment, report),
        ):
            pass
        return report

    def _remind_batch(
        self,
        current: Callable[[], datetime],
        lease: timedelta,
        readers: Readers,
        token: str,
        report: SweepReport,
        waiting: list[_Waiting],
    ) -> bool:
        """Claim one batch and send what each owner's DM may take now; the rest waits in
        `waiting`, still claimed. False when nothing more was due."""
        now = current()

        def remind(owner_id: str, items: list[ReminderItem]) -> None:
            digest_total = len(items) if len(items) > self._settings.remind_digest_over else None
            turn = _Waiting(now, owner_id, self._pages(items, digest_total), digest_total, now)
            later = self._remind_owner(turn, readers, token, current, report)
            if later is not None:
                waiting.append(later)

        return self._deliver_batch(
            lambda session: store.claim_due_reminders(
                session, now=now, lease_until=now + lease, token=token, limit=CLAIM_BATCH
            ),
            remind,
        )

    def _pages(
        self, items: list[ReminderItem], digest_total: int | None
    ) -> list[list[ReminderItem]]:
        size = self._messages.digest_page_size if digest_total is not None else 1
        return [items[start : start + size] for start in range(0, len(items), size)]

    def _send_waiting(
        self,
        waiting: list[_Waiting],
        current: Callable[[], datetime],
        lease: timedelta,
        readers: Readers,
        token: str,
        report: SweepReport,
    ) -> None:
        """Send the reminders that waited for their DM's turn, earliest turn first, sleeping
        until it comes. Each is checked against the database first: the owner may have snoozed
        it, marked it done or edited it meanwhile, and that wins. What can't go within
        PACING_HORIZON, or whose turn comes after half its claim's lease, or once Slack looked
        down, is put off to a later sweep (no attempt counted)."""
        later: list[_Waiting] = []
        while waiting:
            moment = current()
            # A claim half gone by its turn: a later sweep sends it, well inside its own lease.
            late = [turn for turn in waiting if max(turn.until, moment) > turn.lease_half(lease)]
            later += late
            waiting[:] = [turn for turn in waiting if all(turn is not gone for gone in late)]
            waiting.sort(key=lambda turn: turn.until)
            if (
                not waiting
                or report.slack_unavailable is not None
                or waiting[0].until - moment > PACING_HORIZON
            ):
                break
            if waiting[0].until > moment:
                self._sleep((waiting[0].until - moment).total_seconds())
            moment = current()
            ready = [turn for turn in waiting if turn.until <= moment]
            waiting[:] = [turn for turn in waiting if turn.until > moment]
            for turn in self._still_claimed(ready, token, moment):
                again = self._remind_owner(turn, readers, token, current, report)
                if again is not None:
                    waiting.append(again)
        later += waiting
        if later:
            with self._db.transaction() as session:
                for turn in later:
                    ids = [item.followup_id for page in turn.pages for item in page]
                    store.put_off(session, ids, token, turn.until, due_by=turn.claimed_at)

    def _still_claimed(self, turns: list[_Waiting], token: str, now: datetime) -> list[_Waiting]:
        """These turns without the reminders no longer as this sweep claimed them (snoozed,
        done, edited, or their lease gone); their claims are released. A digest is paged
        again, and counts only what is still due."""
        with self._db.transaction() as session:
            ids = [item.followup_id for turn in turns for page in turn.pages for item in page]
            due = store.claimed_reminders_due(session, ids, token, now=now)
            kept = []
            for turn in turns:
                items = [item for page in turn.pages for item in page]
                still = [item for item in items if _due_as_claimed(item, due, turn)]
                if not still:
                    continue
                if turn.digest_total is None:
                    kept.append(replace(turn, pages=[[item] for item in still]))
                    continue
                total = turn.digest_total - (len(items) - len(still))
                kept.append(replace(turn, pages=self._pages(still, total), digest_total=total))
            sending = {item.followup_id for turn in kept for page in turn.pages for item in page}
            store.release_all(session, [i for i in ids if i not in sending], token)
        return kept

    def dm_recipient(self, followup_id: int, channel_id: str, message_ts: str) -> str | None:
        """Whom the reminder DM `message_ts` about `followup_id` was sent to, if it was one."""
        with self._db.reader() as session:
            return store.dm_recipient(session, followup_id, channel_id, message_ts)

    def preview(self, now: datetime) -> list[str]:
        with self._db.reader() as session:
            due = store.due_without_claiming(session, now=now, limit=10_000)
            return [_describe(ReminderItem.of(followup)) for followup in due]

    def _deliver_batch(
        self,
        claim: Callable[[Any], Sequence[FollowUp]],
        deliver: Callable[[str, list[ReminderItem]], None],
    ) -> bool:
        """Claim one batch and deliver it owner by owner; False when nothing was left."""
        with self._db.transaction() as session:
            items = [ReminderItem.of(followup) for followup in claim(session)]
        for owner_id, owned in groupby(items, key=lambda item: item.owner_id):
            deliver(owner_id, list(owned))
        return len(items) == CLAIM_BATCH

    # --- due reminders ------------------------------------------------------------------------

    def _remind_owner(
        self,
        turn: _Waiting,
        readers: Readers,
        token: str,
        current: Callable[[], datetime],
        report: SweepReport,
    ) -> _Waiting | None:
        """Send an owner's due reminders, as many pages as their DM may take now; what is left,
        with the moment its turn comes."""
        owner_id = turn.owner_id
        zone, t = readers.prefs(owner_id).zone, readers.translator(owner_id)
        for index, page in enumerate(turn.pages):
            now = current()
            wait = self._pacer.wait(owner_id)
            if wait:
                # Whole microseconds, rounded up: a turn that rounded down to now would come
                # back at once with the bucket still a hair short.
                until = now + timedelta(microseconds=math.ceil(wait * 1_000_000))
                return replace(turn, until=until, pages=turn.pages[index:])
            if turn.digest_total is not None:
                message = self._messages.digest(t, page, zone, now, total=turn.digest_total)
            else:
                message = self._messages.due(t, page[0], zone, now)
            self._post(owner_id, message, page, "due", token, now, report)
            self._pacer.record(owner_id)
        return None

    def _post(
        self,
        recipient_id: str,
        message: Message,
        items: list[ReminderItem],
        kind: str,
        token: str,
        now: datetime,
        report: SweepReport,
    ) -> Outcome:
        """Send one DM about `items`; settle or reschedule each according to Slack's answer.

        Once Slack looked down, the rest of the sweep reschedules its items without calling it:
        each call would wait out the client's retries (seconds), so a sweep of hundreds of
        items would run for many minutes — past its claims' lease, when another process may
        claim and send the same items again."""
        if report.slack_unavailable is not None:
            error = report.slack_unavailable
            return self._failed(items, kind, recipient_id, error, token, now, report)
        try:
            channel_id = self._users.dm_channel(recipient_id)
            response = self._client.chat_postMessage(channel=channel_id, **message)
        except Exception as error:  # any failure must reschedule, never drop the reminder
            if slack_is_down(error):
                report.slack_unavailable = _slack_error(error)
                logger.warning(
                    "Slack unavailable (%s): this sweep sends nothing more; the next tries again",
                    report.slack_unavailable,
                )
            return self._failed(items, kind, recipient_id, _slack_error(error), token, now, report)
        with self._db.transaction() as session:
            for item in items:
                recorded = store.record_delivery(
                    session,
                    _delivery(
                        item,
                        kind,
                        recipient_id,
                        now,
                        status="sent",
                        channel_id=str(response.get("channel") or channel_id),
                        message_ts=str(response.get("ts") or ""),
                    ),
                )
                if not recorded:
                    logger.warning("duplicate %s DM for follow-up %s", kind, item.followup_id)
                if kind == "due":
                    store.finish_reminder(session, item.followup_id, token)
                report.sent.append(f"{kind} {_describe(item)}")
        return "sent"

    def _failed(
        self,
        items: list[ReminderItem],
        kind: str,
        recipient_id: str,
        error: str,
        token: str,
        now: datetime,
        report: SweepReport,
    ) -> Outcome:
        permanent = error in PERMANENT_ERRORS
        with self._db.transaction() as session:
            for item in items:
                line = f"{kind} {_describe(item)}: {error}"
                if permanent:
                    logger.warning("undeliverable %s", line)
                    store.record_delivery(
                        session,
                        _delivery(
                            item, kind, recipient_id, now, status="undeliverable", error=error[:200]
                        ),
                    )
                    if kind == "due":
                        store.finish_reminder(session, item.followup_id, token)
                    report.undeliverable.append(line)
                    continue
                report.retrying.append(line)
                if kind == "due":
                    attempts = store.attempts(session, item.followup_id)
                    store.retry_later(session, item.followup_id, token, now + backoff(attempts))
                # An escalation keeps its lease: it is tried again once the lease runs out.
        return "undeliverable" if permanent else "retry"

    # --- escalation ---------------------------------------------------------------------------

    def _escalate(
        self,
        items: list[ReminderItem],
        readers: Readers,
        token: str,
        now: datetime,
        report: SweepReport,
    ) -> None:
        # Each person reads their own copy in their own language: one overdue item may go out
        # in Chinese to its owner and in English to an admin.
        for item in items:
            owner = readers.prefs(item.owner_id)
            message = self._messages.escalation(
                readers.translator(item.owner_id), item, owner.zone, now
            )
            outcome = self._post(item.owner_id, message, [item], "escalation", token, now, report)
            if outcome == "retry":
                continue
            with self._db.reader() as session:
                managers = escalation_recipients(session, self._settings, item.owner_id)
            for manager_id in managers:
                note = self._messages.manager_escalation(
                    readers.translator(manager_id), item, readers.prefs(manager_id).zone, now
                )
                self._post(manager_id, note, [item], "escalation_manager", token, now, report)
            with self._db.transaction() as session:
                store.finish_escalation(session, item.followup_id, token)
