"""Which language each reader gets, and that the catalogs cover everything the code says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.i18n import LANGUAGES, Text, _, _n, language_of, parse_language, translator
from bot.i18n_catalog import placeholders, problems, used_messages
from bot.settings import parse_summary_languages
from storage import queries
from tests.conftest import REP, Bot, make_settings, running_bot
from tests.fake_slack import FakeSlack

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


# --- catalogs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_the_code_uses_is_translated(language: str) -> None:
    assert problems(language) == []


def test_the_code_uses_messages_at_all() -> None:
    # Guards the test above against an extractor that silently finds nothing.
    used = used_messages()
    assert len(used) > 100
    assert "Prospect" in used


def test_placeholder_names_are_read_from_a_message() -> None:
    assert placeholders("{count} follow-ups for {owner}") == {"count", "owner"}
    assert placeholders("no placeholders") == set()


# --- which language a reader gets ------------------------------------------------------------


@pytest.mark.parametrize(
    ("slack_locale", "expected"),
    [
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh_HK", "zh"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("fr-FR", "en"),
        ("ja-JP", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_slack_locale_maps_to_a_language_with_english_as_fallback(
    slack_locale: str | None, expected: str
) -> None:
    assert language_of(slack_locale) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("zh", "zh"), ("ZH", "zh"), ("中文", "zh"), ("en", "en"), ("English", "en"), ("fr", None)],
)
def test_a_typed_language_is_understood(typed: str, expected: str | None) -> None:
    assert parse_language(typed) == expected


def test_summary_language_per_channel_with_a_default() -> None:
    assert parse_summary_languages("") == ("en", {})
    assert parse_summary_languages("zh") == ("zh", {})
    assert parse_summary_languages("C0SALES01:zh, C0TEAM002:en") == (
        "en",
        {"C0SALES01": "zh", "C0TEAM002": "en"},
    )
    assert parse_summary_languages("zh,C0TEAM002:en") == ("zh", {"C0TEAM002": "en"})


@pytest.mark.parametrize("bad", ["fr", "C0SALES01:fr", "#sales:zh"])
def test_a_bad_summary_language_is_refused_at_start_up(slack: FakeSlack, bad: str) -> None:
    with pytest.raises(ValidationError, match="summary_lang"):
        make_settings(slack, "sqlite://", summary_lang=bad)


def test_settings_give_each_channel_its_language(slack: FakeSlack) -> None:
    settings = make_settings(slack, "sqlite://", summary_lang="C0SALES01:zh")
    assert settings.summary_language("C0SALES01") == "zh"
    assert settings.summary_language("C0OTHER01") == "en"


# --- formatting --------------------------------------------------------------------------------


def test_moments_and_durations_are_written_per_language() -> None:
    due = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert translator("en").when(due, SHANGHAI, NOW) == "Tue 1 Dec 15:00 (Asia/Shanghai), in 4 days"
    assert translator("zh").when(due, SHANGHAI, NOW) == "12月1日 周二 15:00 (Asia/Shanghai)，4天后"
    next_year = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)
    assert (
        translator("en").moment(next_year, SHANGHAI, NOW) == "Tue 5 Jan 2027 09:00 (Asia/Shanghai)"
    )
    assert (
        translator("zh").moment(next_year, SHANGHAI, NOW)
        == "2027年1月5日 周二 09:00 (Asia/Shanghai)"
    )
    assert translator("en").relative(NOW - timedelta(hours=2), NOW) == "2 hours ago"
    assert translator("zh").relative(NOW - timedelta(hours=2), NOW) == "2小时前"
    assert translator("en").number(12345) == "12,345"


def test_deferred_text_renders_in_each_language_with_nested_labels() -> None:
    status: Text = _("Won")
    message = _n(
        "{count} customer is {status}.", "{count} customers are {status}.", 3, status=status
    )
    # These ids are not in the catalogs (they exist only in this test), so the fallback is
    # the English id itself — recorded as missing, which this test expects and clears.
    assert translator("en").render(message) == "3 customers are Won."
    assert translator("zh").gettext("Won") == "已成交"
    from bot.i18n import MISSING

    assert {msgid for _language, msgid in MISSING.drain()} == {"{count} customer is {status}."}


def test_an_unknown_language_code_falls_back_to_english() -> None:
    assert translator("fr").language == "en"


# --- the /followup lang override ---------------------------------------------------------------


def lang(bot: Bot, text: str, user_id: str = REP) -> str:
    response = bot.requests.command(f"lang {text}".strip(), user_id=user_id)
    assert response.status == 200, response.text
    # Bolt answers an ack with only text as a plain-text body, which Slack shows to the user.
    return response.text


def test_a_french_slack_user_gets_english_until_they_choose_chinese(
    bot: Bot, slack: FakeSlack
) -> None:
    slack.set_user(REP, tz="Europe/Paris", locale="fr-FR")
    assert "Choose a language" in lang(bot, "")
    assert bot.services.users.language(REP) == "en"

    assert lang(bot, "zh") == "好的，以后用中文和你交流。"
    assert bot.services.users.language(REP) == "zh"
    assert "请选择语言" in lang(bot, "klingon")

    assert lang(bot, "en") == "OK — I'll write to you in English."
    assert bot.services.users.language(REP) == "en"


def test_the_choice_outlives_the_daily_profile_refresh_and_auto_undoes_it(
    bot: Bot, slack: FakeSlack
) -> None:
    slack.set_user(REP, tz="Asia/Shanghai", locale="en-US")
    lang(bot, "中文")
    bot.clock.advance(timedelta(days=2))  # the cached profile is stale: users.info is asked again
    before = len(slack.calls_to("users.info"))
    assert bot.services.users.language(REP) == "zh"
    assert len(slack.calls_to("users.info")) == before + 1

    slack.set_user(REP, tz="Asia/Shanghai", locale="zh-CN")
    bot.clock.advance(timedelta(days=2))
    assert lang(bot, "auto") == "好的，以后跟随你的 Slack 语言设置。"
    slack.set_user(REP, tz="Asia/Shanghai", locale="en-GB")
    bot.clock.advance(timedelta(days=2))
    assert bot.services.users.language(REP) == "en"
    with bot.db.reader() as session:
        cached = queries.get_slack_user(session, REP)
        assert cached is not None
        assert cached.language_choice is None


def test_the_language_follows_a_slack_locale_change_event(
    slack: FakeSlack, database_url: str
) -> None:
    slack.set_user(REP, tz="Asia/Shanghai", locale="en-US")
    with running_bot(slack, database_url) as bot:
        assert bot.services.users.language(REP) == "en"
        response = bot.requests.event(
            {"type": "user_change", "user": {"id": REP, "tz": "Asia/Shanghai", "locale": "zh-CN"}}
        )
        assert response.status == 200
    # Leaving the block drains the listener that handled the event.
    assert bot.services.users.language(REP) == "zh"
