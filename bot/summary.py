"""The morning summary: what each owner must do today, how the pipeline moved, what needs
cleaning up — built from the database, posted once per channel per day, in the channel's
language (SUMMARY_LANG).

Data is gathered here; Block Kit lives in handlers/ and is wired in by the app factory. Contact
details are masked before they ever leave this module for a channel.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.i18n import DEFAULT_LANGUAGE, Language, Translator, translator
from bot.matching import likely_same_customer
from bot.settings import Settings
from bot.users import UserDirectory
from bot.validation import mask_email, mask_phone
from storage import summaries as store
from storage.db import Database
from storage.models import STATUSES

logger = logging.getLogger(__name__)

URGENT_PER_OWNER = 3
LATE_AFTER = timedelta(minutes=10)
SUMMARY_LEASE = timedelta(minutes=5)
CONVERSION_WINDOW = timedelta(days=30)
STALE_AFTER = timedelta(days=7)
FUNNEL = (("prospect", "interested"), ("interested", "won"))
DUPLICATE_SCORE = 85.0
CHART_WEEKS = 4
PERMANENT_CHANNEL_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)
# Duplicate detection compares pairs within a company; a catch-all company name ("个人",
# "Individual") can hold thousands of customers, so the work is bounded.
DUPLICATE_GROUP_LIMIT = 60
DUPLICATE_COMPARISONS = 20_000


# bot.charts loads matplotlib, numpy and Pillow: imported by the first chart drawn, not by every
# process at start-up (~45 MB less resident memory while serving). Tests replace these names.
def weekly_chart_png(
    *,
    status_counts: Mapping[str, int],
    logged_per_owner: Mapping[str, Sequence[int]],
    week_labels: Sequence[str],
    title: str,
    t: Translator | None = None,
) -> bytes:
    from bot import charts

    return charts.weekly_chart_png(
        status_counts=status_counts,
        logged_per_owner=logged_per_owner,
        week_labels=week_labels,
        title=title,
        t=t,
    )


def chart_language(language: Language) -> Language:
    from bot import charts

    return charts.chart_language(language)


@dataclass(frozen=True)
class UrgentItem:
    customer_name: str
    company: str
    next_action: str
    next_at: datetime


@dataclass(frozen=True)
class OwnerDay:
    owner_id: str
    due_today: int
    overdue: int
    urgent: tuple[UrgentItem, ...]


@dataclass(frozen=True)
class Conversion:
    from_status: str
    to_status: str
    moved: int
    base: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.moved / self.base) if self.base else None


@dataclass(frozen=True)
class DuplicatePair:
    first: str  # "name · company · masked contact"
    second: str
    owners: tuple[str, str]


@dataclass(frozen=True)
class SummaryData:
    channel_id: str
    as_of: datetime
    local_date: date
    zone: ZoneInfo
    since: datetime
    late: bool
    owners: tuple[OwnerDay, ...]
    new_customers: int
    followups_logged: int
    status_changes: tuple[tuple[str, str, int], ...]
    pipeline: dict[str, int]
    conversions: tuple[Conversion, ...]
    open_past_due: int
    stale: int
    undeliverable: int
    duplicates: tuple[DuplicatePair, ...]


Message = dict[str, Any]


class SummaryMessages(Protocol):
    def summary(self, data: SummaryData, t: Translator) -> Message: ...


@dataclass(frozen=True)
class RunResult:
    channel_id: str
    outcome: str  # "posted", "already posted", "not due", "held by another process"
    message_ts: str | None = None
    chart_file_id: str | None = None


def day_bounds(local_date: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(local_date, time(0), tzinfo=zone)
    end = datetime.combine(local_date + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def masked_contact(phone: str | None, email: str | None) -> str:
    return mask_phone(phone) if phone else mask_email(email) if email else ""


class SummaryService:
    def __init__(
        self,
        *,
        db: Database,
        client: WebClient,
        users: UserDirectory,
        settings: Settings,
        messages: SummaryMessages,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._client = client
        self._users = users
        self._settings = settings
        self._messages = messages
        self._clock = clock

    # --- when ---------------------------------------------------------------------------------

    def scheduled_at(self, local_date: date) -> datetime:
        zone = self._settings.summary_zone
        return datetime.combine(local_date, self._settings.summary_time, tzinfo=zone)

    def is_due(self, now: datetime) -> bool:
        """Today is a summary day in the summary zone, and its time has come."""
        local = now.astimezone(self._settings.summary_zone)
        return local.weekday() in self._settings.summary_weekdays and now >= self.scheduled_at(
            local.date()
        )

    # --- what ---------------------------------------------------------------------------------

    def build(self, channel_id: str, now: datetime, *, late: bool = False) -> SummaryData:
        zone = self._settings.summary_zone
        local_date = now.astimezone(zone).date()
        start, end = day_bounds(local_date, zone)
        with self._db.reader() as session:
            previous = store.previous_run_as_of(session, channel_id=channel_id, before=local_date)
            since = previous or now - timedelta(days=1)
            return SummaryData(
                channel_id=channel_id,
                as_of=now,
                local_date=local_date,
                zone=zone,
                since=since,
                late=late,
                owners=_owner_days(session, start, end),
                new_customers=store.count_new_customers(session, since=since, until=now),
                followups_logged=store.count_followups_logged(session, since=since, until=now),
                status_changes=_status_changes(session, since, now),
                pipeline=_pipeline(session),
                conversions=_conversions(session, now),
                open_past_due=store.count_open_past_due(session, before=now),
                stale=store.count_open_past_due(session, before=now - STALE_AFTER),
                undeliverable=store.count_undeliverable(session, since=since, until=now),
                duplicates=_likely_duplicates(session),
            )

    def translator(self, channel_id: str) -> Translator:
        """The channel's language (SUMMARY_LANG): everyone there reads the same message."""
        return translator(self._settings.summary_language(channel_id))

    def render(self, data: SummaryData) -> Message:
        return self._messages.summary(data, self.translator(data.channel_id))

    # --- posting, exactly once ----------------------------------------------------------------

    def run_due(self, now: datetime) -> list[RunResult]:
        """The scheduler's tick: post today's summary to every channel that hasn't had it.
        One channel's failure never keeps the others from getting theirs."""
        if not self._settings.summary_channel_ids or not self.is_due(now):
            return []
        results = []
        for channel in self._settings.summary_channel_ids:
            try:
                results.append(self.post(channel, now))
            except Exception:
                logger.exception("summary for %s failed; the next tick tries again", channel)
                results.append(RunResult(channel, "failed"))
        return results

    def post(self, channel_id: str, now: datetime) -> RunResult:
        local_date = now.astimezone(self._settings.summary_zone).date()
        late = now - self.scheduled_at(local_date) > LATE_AFTER
        token = str(uuid.uuid4())
        with self._db.transaction() as session:
            run = store.claim_run(
                session,
                channel_id=channel_id,
                local_date=local_date,
                as_of=now,
                now=now,
                lease_until=now + SUMMARY_LEASE,
                token=token,
                late=late,
            )
            run_id = run.id if run is not None else None
        if run_id is None:
            with self._db.reader() as session:
                done = store.posted_on(session, channel_id=channel_id, local_date=local_date)
            return RunResult(channel_id, "already posted" if done else "held by another process")
        message = self.render(self.build(channel_id, now, late=late))
        try:
            response = self._client.chat_postMessage(channel=channel_id, **message)
        except (SlackApiError, SlackClientError, OSError) as error:
            # Refused, unreachable or timed out: the claim is freed (or held, if permanent).
            return self._post_failed(channel_id, run_id, token, local_date, now, error)
        ts = str(response.get("ts") or "")
        # Recorded the moment Slack accepted it: whatever happens next (the chart, a crash),
        # no other process may post this day's summary again.
        with self._db.transaction() as session:
            if not store.mark_posted(
                session,
                run_id=run_id,
                token=token,
                message_ts=ts,
                posted_at=now,
                chart_file_id=None,
            ):
                logger.warning("summary for %s posted after its lease ran out", channel_id)
        chart_id = self._weekly_chart(channel_id, local_date, now)
        if chart_id:
            with self._db.transaction() as session:
                store.set_chart(session, run_id=run_id, chart_file_id=chart_id)
        return RunResult(channel_id, "posted", ts, chart_id)

    def _post_failed(
        self,
        channel_id: str,
        run_id: int,
        token: str,
        local_date: date,
        now: datetime,
        error: SlackApiError | SlackClientError | OSError,
    ) -> RunResult:
        """Transient: free the claim so the next tick retries. Permanent (the bot isn't in the
        channel, it's gone or archived): hold the claim until the day ends, so the failure is
        logged once instead of every minute — and say what to do about it."""
        code = (
            str(error.response.get("error") or "unknown_error")
            if isinstance(error, SlackApiError)
            else type(error).__name__
        )
        permanent = code in PERMANENT_CHANNEL_ERRORS
        until = day_bounds(local_date, self._settings.summary_zone)[1] if permanent else now
        with self._db.transaction() as session:
            store.hold_claim(session, run_id=run_id, token=token, until=until)
        if permanent:
            logger.error(
                "summary for %s can't be posted (%s): invite the bot to the channel or fix "
                "SUMMARY_CHANNELS",
                channel_id,
                code,
            )
        else:
            logger.warning(
                "summary for %s failed (%s); retrying at the next tick", channel_id, code
            )
        return RunResult(channel_id, f"failed: {code}")

    def _weekly_chart(self, channel_id: str, local_date: date, now: datetime) -> str | None:
        """Once a week — whichever days the team's summaries run — the pipeline chart too. A
        failed chart never blocks the summary itself: it's logged and the text stands alone."""
        with self._db.reader() as session:
            if store.chart_since(
                session, channel_id=channel_id, first=local_date - timedelta(days=6)
            ):
                return None
        t = self.translator(channel_id)
        try:
            png = self.chart(now, t)
            # Slack writes the upload's title and comment, so they are in the channel's
            # language even when the chart itself had to be drawn in English.
            comment = t.ngettext(
                "Customers by status, and the follow-ups each person logged in the last "
                "{count} week.",
                "Customers by status, and the follow-ups each person logged in the last "
                "{count} weeks.",
                CHART_WEEKS,
            )
            uploaded = self._client.files_upload_v2(
                channel=channel_id,
                file=png,
                filename=f"pipeline-{local_date.isoformat()}.png",
                title=self.chart_title(now, t),
                initial_comment=comment,
                alt_txt=comment,
            )
        except Exception:
            logger.exception(
                "weekly chart for %s failed; the summary was posted without it", channel_id
            )
            return None
        files = uploaded.get("files") or [uploaded.get("file") or {}]
        return str(files[0].get("id") or "") or None

    def chart_title(self, now: datetime, t: Translator) -> str:
        """'Pipeline · week of Mon 30 Nov 2026' / '销售管道周报 · 2026年11月30日 周一'."""
        this_monday = _monday(now.astimezone(self._settings.summary_zone).date())
        return t.gettext("Pipeline · week of {day}", day=t.calendar_day(this_monday))

    def chart(self, now: datetime, t: Translator | None = None) -> bytes:
        """The weekly chart as a PNG, in ``t``'s language (English by default) — or in English
        when the fonts here can't write that language."""
        zone = self._settings.summary_zone
        drawn = translator(chart_language(t.language if t else DEFAULT_LANGUAGE))
        today = now.astimezone(zone).date()
        this_monday = _monday(today)
        week_starts = [this_monday - timedelta(weeks=CHART_WEEKS - n) for n in range(CHART_WEEKS)]
        since = day_bounds(week_starts[0], zone)[0]
        until = day_bounds(this_monday, zone)[0]
        with self._db.reader() as session:
            pipeline = store.customers_per_status(session)
            logged = store.followups_logged_by_owner(session, since=since, until=until)
        per_owner: dict[str, list[int]] = defaultdict(lambda: [0] * CHART_WEEKS)
        for owner_id, created in logged:
            week = (created.astimezone(zone).date() - week_starts[0]).days // 7
            if 0 <= week < CHART_WEEKS:
                per_owner[owner_id][week] += 1
        names = self._users.names(sorted(per_owner))
        return weekly_chart_png(
            status_counts=pipeline,
            logged_per_owner={names[owner]: counts for owner, counts in per_owner.items()},
            week_labels=[_week_label(drawn, d) for d in week_starts],
            title=self.chart_title(now, drawn),
            t=drawn,
        )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_label(t: Translator, monday: date) -> str:
    """'2 Nov' / '11月2日': the legend says these are the weeks' Mondays, so no weekday (four
    of them with weekdays don't fit across the chart in Chinese)."""
    return str(format_skeleton("MMMd", monday, locale=t.locale))


def _owner_days(session: Session, start: datetime, end: datetime) -> tuple[OwnerDay, ...]:
    urgent: dict[str, list[UrgentItem]] = defaultdict(list)
    for row in store.most_urgent(session, end_of_today=end, per_owner=URGENT_PER_OWNER):
        urgent[row.owner_id].append(
            UrgentItem(row.customer_name, row.company, row.next_action, row.next_at)
        )
    days = [
        OwnerDay(row.owner_id, row.due_today, row.overdue, tuple(urgent[row.owner_id]))
        for row in store.due_by_owner(session, start_of_today=start, end_of_today=end)
    ]
    # Most overdue first: that's who the manager needs to talk to.
    return tuple(sorted(days, key=lambda d: (-d.overdue, -d.due_today, d.owner_id)))


def _pipeline(session: Session) -> dict[str, int]:
    counts = store.customers_per_status(session)
    return {status: counts.get(status, 0) for status in STATUSES}


def _status_changes(
    session: Session, since: datetime, until: datetime
) -> tuple[tuple[str, str, int], ...]:
    moves = Counter(
        (old, new) for _, old, new in store.status_transitions(session, since=since, until=until)
    )
    return tuple((old, new, n) for (old, new), n in moves.most_common())


def _conversions(session: Session, now: datetime) -> tuple[Conversion, ...]:
    """For each funnel step A → B over the last 30 days: of the customers who were at A at some
    point in the window (still there, or moved on from it), how many moved to B."""
    moves = store.status_transitions(session, since=now - CONVERSION_WINDOW, until=now)
    counts = store.customers_per_status(session)
    result = []
    for from_status, to_status in FUNNEL:
        left = {cid for cid, old, _ in moves if old == from_status}
        moved = {cid for cid, old, new in moves if old == from_status and new == to_status}
        returned = store.customer_ids_with_status(session, from_status, sorted(left))
        base = counts.get(from_status, 0) + len(left) - len(returned)
        result.append(Conversion(from_status, to_status, len(moved), base))
    return tuple(result)


# (id, name, company, phone, email, owner, company_key)
Identity = tuple[int, str, str, str | None, str | None, str, str]


def _likely_duplicates(session: Session, limit: int = 3) -> tuple[DuplicatePair, ...]:
    """Customers at the same company (after normalising its name) whose names are alike."""
    by_company: dict[str, list[Identity]] = defaultdict(list)
    for row in store.customers_sharing_a_company(session):
        by_company[row[6]].append(row)
    pairs: list[DuplicatePair] = []
    budget = DUPLICATE_COMPARISONS
    for whole_group in by_company.values():
        group = whole_group[-DUPLICATE_GROUP_LIMIT:]  # the newest: most likely just typed twice
        budget -= len(group) * (len(group) - 1) // 2
        if budget < 0:
            break
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                score = likely_same_customer(first[1], first[2], second[1], second[2])
                if score >= DUPLICATE_SCORE:
                    pairs.append(
                        DuplicatePair(
                            first=_identity(first),
                            second=_identity(second),
                            owners=(first[5], second[5]),
                        )
                    )
                    if len(pairs) >= limit:
                        return tuple(pairs)
    return tuple(pairs)


def _identity(row: Identity) -> str:
    contact = masked_contact(row[3], row[4])
    return " · ".join(part for part in (row[1], row[2], contact) if part)
