"""What the bot knows about a Slack user: their time zone (and language), cached in the database.

users.info is a Web API round trip; a form submission must answer Slack within 3 seconds, so the
answer is cached for a day and refreshed on demand. If Slack can't be asked, a stale answer beats
none, and the workspace default beats failing the user's request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.i18n import DEFAULT_LANGUAGE, Language, Translator, language_of, parse_language, translator
from bot.permissions import SLACK_USER_ID
from storage import queries
from storage.db import Database

logger = logging.getLogger(__name__)

PROFILE_TTL = timedelta(hours=24)
ZONE_NAME_MAX = 64  # the slack_users columns' sizes
LOCALE_MAX = 16


@dataclass(frozen=True)
class UserPrefs:
    zone: ZoneInfo
    locale: str | None
    # What they read: their `/followup lang` choice, else their Slack locale (zh-* → zh).
    language: Language = DEFAULT_LANGUAGE


def zone_or_default(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,2}$")


def known_zone_name(name: object) -> str | None:
    """An IANA zone name the bot can use (and the column can hold), else None."""
    if not isinstance(name, str) or len(name) > ZONE_NAME_MAX:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def plausible_locale(locale: object) -> str | None:
    """'zh-CN', 'en-US'… else None."""
    if isinstance(locale, str) and len(locale) <= LOCALE_MAX and _LOCALE.match(locale):
        return locale
    return None


class UserDirectory:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        *,
        default_zone: ZoneInfo,
        clock: Callable[[], datetime],
        lookup_client: WebClient | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._lookup_client = lookup_client or client
        self._default_zone = default_zone
        self._clock = clock

    def prefs(self, user_id: str) -> UserPrefs:
        if not SLACK_USER_ID.match(user_id):
            # Not a Slack user id (a forged request): nothing to look up or cache.
            return UserPrefs(self._default_zone, None)
        with self._db.reader() as session:
            cached = queries.get_slack_user(session, user_id)
            cached_tz = cached.tz if cached else None
            cached_locale = cached.locale if cached else None
            choice = parse_language(cached.language_choice) if cached else None
            fresh = cached is not None and self._clock() - cached.fetched_at < PROFILE_TTL
        if not fresh:
            fetched = self._fetch(user_id)
            if fetched is not None:
                cached_tz, cached_locale = fetched
        return UserPrefs(
            zone_or_default(cached_tz, self._default_zone),
            cached_locale,
            choice or language_of(cached_locale),
        )

    def zone(self, user_id: str) -> ZoneInfo:
        return self.prefs(user_id).zone

    def language(self, user_id: str) -> Language:
        return self.prefs(user_id).language

    def translator(self, user_id: str) -> Translator:
        return translator(self.prefs(user_id).language)

    def choose_language(self, user_id: str, language: Language | None) -> None:
        """`/followup lang zh|en` (or None for 'follow my Slack setting again')."""
        with self._db.transaction() as session:
            queries.save_language_choice(
                session, user_id, language, fetched_at=self._clock() - PROFILE_TTL
            )

    def names(self, user_ids: list[str]) -> dict[str, str]:
        """Display names for charts; users never looked up yet are asked once, then cached."""
        with self._db.reader() as session:
            known = queries.user_names(session, user_ids)
        for user_id in user_ids:
            if user_id not in known:
                self._fetch(user_id)
        with self._db.reader() as session:
            known = queries.user_names(session, user_ids)
        return {user_id: known.get(user_id, user_id) for user_id in user_ids}

    def remember_profile(self, user_id: str, *, tz: str | None, locale: str | None) -> None:
        """Store what a `user_change` event says, so the next reminder uses the new zone.
        Values that aren't a real zone or locale are stored as unknown, never as typed."""
        with self._db.transaction() as session:
            queries.upsert_slack_user(
                session,
                user_id=user_id,
                tz=known_zone_name(tz),
                locale=plausible_locale(locale),
                fetched_at=self._clock(),
            )

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM conversation with a user; raises SlackApiError if Slack refuses."""
        with self._db.reader() as session:
            cached = queries.get_dm_channel(session, user_id)
        if cached:
            return cached
        response = self._client.conversations_open(users=user_id)
        channel_id = str(response["channel"]["id"])
        with self._db.transaction() as session:
            queries.save_dm_channel(session, user_id, channel_id, self._clock())
        return channel_id

    def _fetch(self, user_id: str) -> tuple[str | None, str | None] | None:
        """(tz, locale) from users.info, cached; None when Slack can't be asked."""
        try:
            response = self._lookup_client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, SlackClientError, OSError) as error:
            logger.warning("users.info failed for %s: %s", user_id, error)
            return None
        user = response.get("user") or {}
        tz_name, locale = known_zone_name(user.get("tz")), plausible_locale(user.get("locale"))
        profile = user.get("profile") or {}
        name = user.get("real_name") or profile.get("display_name") or user.get("name")
        with self._db.transaction() as session:
            queries.upsert_slack_user(
                session,
                user_id=user_id,
                tz=tz_name,
                locale=locale,
                fetched_at=self._clock(),
                name=str(name)[:120] if name else None,
            )
        return tz_name, locale
