"""Every word a user reads comes from a message catalog, in the reader's language.

The catalogs are gettext .po files under `bot/locale/<language>/LC_MESSAGES/`; English message
ids are the source text. Rules in `bot/` don't know who will read their messages (an error may be
shown to a rep in Shanghai and logged for an admin in New York), so they return `Text` — a message
id with its parameters — and the Slack surface renders it with the reader's `Translator`.

Placeholders use str.format names (`{name}`), never positions, so a translation can reorder them.
Numbers are formatted per locale; a parameter that is itself a `Text` is translated too, which is
how a status label ends up in Chinese inside a Chinese sentence.
"""

from __future__ import annotations

import gettext
import io
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Final, Literal, TypeAlias, get_args
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

logger = logging.getLogger(__name__)

Language: TypeAlias = Literal["en", "zh"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
DEFAULT_LANGUAGE: Final[Language] = "en"
LOCALE_DIR: Final = Path(__file__).parent / "locale"

# The Babel locale each language formats dates and numbers with.
BABEL_LOCALES: Final[Mapping[Language, str]] = {"en": "en_GB", "zh": "zh_Hans_CN"}
# How a moment is written: weekday and day first, 24-hour clock, the year only when it isn't this
# year. English reads "Tue 1 Dec 15:00", Chinese "12月1日 周二 15:00".
_MOMENT_PATTERNS: Final[Mapping[Language, tuple[str, str]]] = {
    "en": ("EEE d MMM HH:mm", "EEE d MMM y HH:mm"),
    "zh": ("M月d日 EEE HH:mm", "y年M月d日 EEE HH:mm"),
}
_DAY_PATTERNS: Final[Mapping[Language, tuple[str, str]]] = {
    "en": ("EEE d MMM", "EEE d MMM y"),
    "zh": ("M月d日 EEE", "y年M月d日 EEE"),
}
# How a language words a list of names: "a, b and c" / "a、b和c".
_LIST_SEPARATORS: Final[Mapping[Language, str]] = {"en": ", ", "zh": "、"}
# A moment closer than this to now, either way, is "now" rather than "in 12 seconds".
NOW_WINDOW: Final = timedelta(minutes=1)


def language_of(slack_locale: str | None) -> Language:
    """Slack's user locale ('zh-CN', 'zh-TW', 'en-US', 'fr-FR') → the language we speak to them.

    Traditional-Chinese readers get Simplified rather than English: closer to what they asked for.
    """
    if slack_locale and slack_locale.strip().lower().replace("_", "-").startswith("zh"):
        return "zh"
    return DEFAULT_LANGUAGE


# What people type for a language besides its code: `/followup lang 繁体中文` means Chinese too.
_ZH_WORDS: Final = frozenset(
    {"cn", "chinese", "中文", "简体", "简体中文", "繁体", "繁體", "繁体中文", "繁體中文",
     "汉语", "漢語", "华语", "華語", "普通话", "國語"}
)  # fmt: skip
_EN_WORDS: Final = frozenset({"english", "英文", "英语", "英語"})


def parse_language(value: str | None) -> Language | None:
    """A language a person typed or configured, or None.

    Any Chinese tag ('zh', 'zh-TW', 'zh_Hans') or name ('中文', '繁体中文', '汉语') is Chinese,
    since Simplified is the Chinese we have; any English tag ('en', 'en-GB') or name is English.
    """
    if value is None:
        return None
    word = value.strip().lower().replace("_", "-")
    if word in _ZH_WORDS or word == "zh" or word.startswith("zh-"):
        return "zh"
    if word in _EN_WORDS or word == "en" or word.startswith("en-"):
        return "en"
    return None


# ---------------------------------------------------------------------------------------------
# Deferred messages
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A message to show someone, translated only when we know who reads it."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def __str__(self) -> str:
        # Logs and exceptions read in English; users never see this path.
        return translator(DEFAULT_LANGUAGE).render(self)


@dataclass(frozen=True)
class Territory:
    """A region code as a message parameter ('CN'), shown as its name in the reader's language:
    'China' / '中国'. An unknown code is shown as it is."""

    code: str


def _(msgid: str, /, **params: object) -> Text:
    """Mark a message for translation and defer it (extracted by `python -m bot.i18n_catalog`)."""
    return Text(msgid, params)


def _n(singular: str, plural: str, count: int, /, **params: object) -> Text:
    """A message whose wording depends on a count; `{count}` is available to both forms."""
    return Text(singular, {"count": count, **params}, plural=plural, count=count)


Message: TypeAlias = Text | str


# ---------------------------------------------------------------------------------------------
# Catalogs
# ---------------------------------------------------------------------------------------------


class _MissingLog:
    """Message ids a catalog lacked, so tests can fail on any untranslated text shown to a user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[Language, str]] = set()

    def add(self, language: Language, msgid: str) -> None:
        with self._lock:
            if (language, msgid) not in self._seen:
                logger.warning("no %s translation for %r", language, msgid)
            self._seen.add((language, msgid))

    def drain(self) -> set[tuple[Language, str]]:
        with self._lock:
            seen, self._seen = self._seen, set()
        return seen


MISSING: Final = _MissingLog()


def catalog_files(language: str) -> list[Path]:
    return sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))


def load_catalog(language: Language) -> Catalog:
    """Every .po file of a language merged into one catalog (the files split it by surface)."""
    merged = Catalog(locale=BABEL_LOCALES[language], domain="messages")
    for path in catalog_files(language):
        with path.open("rb") as handle:
            part = read_po(handle, locale=BABEL_LOCALES[language])
        for message in part:
            if message.id and message.string and not message.fuzzy:
                merged[message.id] = message
    return merged


def _compiled(catalog: Catalog) -> gettext.GNUTranslations:
    # gettext, not a dict lookup: it evaluates the catalog's own plural rule.
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """Messages, dates, durations and numbers in one language."""

    def __init__(self, language: Language) -> None:
        self.language: Language = language
        self.locale = Locale.parse(BABEL_LOCALES[language])
        catalog = load_catalog(language)
        self._translations = _compiled(catalog)
        self._known = frozenset(_singular(message.id) for message in catalog if message.id)

    # -- messages -------------------------------------------------------------------------

    def gettext(self, msgid: str, /, **params: object) -> str:
        self._note_missing(msgid)
        return self._format(self._translations.gettext(msgid), params)

    def ngettext(self, singular: str, plural: str, count: int, /, **params: object) -> str:
        self._note_missing(singular)
        template = self._translations.ngettext(singular, plural, count)
        return self._format(template, {"count": count, **params})

    def render(self, message: Message) -> str:
        if isinstance(message, str):
            return message
        if message.plural is not None and message.count is not None:
            return self.ngettext(message.msgid, message.plural, message.count, **message.params)
        return self.gettext(message.msgid, **message.params)

    __call__ = render

    def join(self, items: Iterable[str]) -> str:
        return _LIST_SEPARATORS[self.language].join(items)

    def _note_missing(self, msgid: str) -> None:
        if msgid not in self._known:
            MISSING.add(self.language, msgid)

    def _format(self, template: str, params: Mapping[str, object]) -> str:
        if not params:
            return template
        shown = {name: self._param(value) for name, value in params.items()}
        try:
            return template.format_map(shown)
        except (KeyError, IndexError, ValueError):
            # A broken translation must not break the reply; the catalog test catches it.
            logger.exception("cannot format %r", template)
            return template

    def _param(self, value: object) -> object:
        if isinstance(value, Text):
            return self.render(value)
        if isinstance(value, Territory):
            return self.territory(value.code)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.number(value)
        return value

    # -- numbers, dates, durations -------------------------------------------------------------

    def territory(self, code: str) -> str:
        """A region code ('CN', 'US') as its name: 'China' / '中国'."""
        return str(self.locale.territories.get(code.upper(), code))

    def number(self, value: int | float) -> str:
        return str(format_decimal(value, locale=self.locale))

    def moment(self, at: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
        """'Tue 1 Dec 15:00 (Asia/Shanghai)'; the year only when it isn't this year."""
        return f"{self.clock(at, zone, now)} ({zone.key})"

    def clock(self, at: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
        """'Tue 1 Dec 15:00' without naming the zone, for lists that name it once."""
        this_year, other_year = _MOMENT_PATTERNS[self.language]
        pattern = this_year if now and _same_year(at, now, zone) else other_year
        return str(format_datetime(at, pattern, tzinfo=zone, locale=self.locale))

    def day(self, at: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
        """'Tue 1 Dec' / '12月1日 周二', the day `at` falls on in `zone`."""
        this_year, other_year = _DAY_PATTERNS[self.language]
        pattern = this_year if now and _same_year(at, now, zone) else other_year
        return str(format_datetime(at, pattern, tzinfo=zone, locale=self.locale))

    def calendar_day(self, day: date, today: date | None = None) -> str:
        """A date with no time of day (an export's 'since', a week in a chart)."""
        this_year, other_year = _DAY_PATTERNS[self.language]
        pattern = this_year if today and today.year == day.year else other_year
        return str(format_date(day, pattern, locale=self.locale))

    def relative(self, at: datetime, now: datetime) -> str:
        """'in 4 days' / '4天后', '2 hours ago' / '2小时前'; 'now' / '现在' within a minute."""
        return self.duration(at - now, direction=True)

    def duration(self, delta: timedelta, *, direction: bool = False) -> str:
        if direction and abs(delta) < NOW_WINDOW:
            # Babel would say "in 0 seconds" / "0秒钟后": a form saved a moment ago isn't news.
            return self.gettext("now")
        return str(
            format_timedelta(delta, add_direction=direction, locale=self.locale, threshold=1.0)
        )

    def when(self, at: datetime, zone: ZoneInfo, now: datetime) -> str:
        """The echo after every entry: 'Tue 1 Dec 15:00 (Asia/Shanghai), in 4 days'."""
        return self.gettext(
            "{moment}, {relative}",
            moment=self.moment(at, zone, now),
            relative=self.relative(at, now),
        )


def _singular(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _same_year(at: datetime, now: datetime, zone: ZoneInfo) -> bool:
    return at.astimezone(zone).year == now.astimezone(zone).year


@cache
def translator(language: Language | str) -> Translator:
    """The (cached, thread-safe to read) translator for a language; unknown codes get English."""
    for known in LANGUAGES:
        if known == language:
            return Translator(known)
    return translator(DEFAULT_LANGUAGE)
