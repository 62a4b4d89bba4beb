"""Review fixes for English and Chinese: words that mean the right thing in each language,
region names, "now", the export's Chinese values, modal errors, a Home tab without repeats."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.exporter import (
    SHEET_TITLES,
    ZH_METHOD_WORDS,
    ZH_STATUS_WORDS,
    CountedRows,
    ExportFilter,
    export_rows,
    write_export,
)
from bot.home import ItemGroup, distinct_groups, home_data
from bot.i18n import Territory, _, parse_language, translator
from bot.import_rules import method_from, status_from
from bot.reminders import ReminderItem
from bot.validation import FieldError, normalize_email, normalize_phone
from handlers.blocks import (
    METHOD_LABELS,
    STATUS_LABELS,
    ModalContext,
    ModalMetadata,
    ModalPrefill,
    followup_modal,
)
from handlers.export import parse_export_args
from handlers.home import home_view
from handlers.reminder_blocks import actions_block_id
from storage import queries
from storage.models import METHODS, STATUSES, FollowUp
from tests.conftest import COLLEAGUE, FIXED_NOW, REP, Bot
from tests.fake_slack import validate_view
from tests.test_edit_history_e2e import edit_values, open_edit
from tests.test_export_backup import (
    customers_of,
    empty_database,
    export_via_slack,
    followups_of,
    seed,
    uploaded_rows,
)
from tests.test_followup_e2e import errors_of, good_values
from tests.test_reminders_e2e import log_followup

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def form(language: str, *, region: str = "CN") -> dict[str, dict[str, Any]]:
    t = translator(language)
    view = followup_modal(
        prefill=ModalPrefill(),
        context=ModalContext(REP, "Asia/Shanghai", "09:00", region, FIXED_NOW, t),
        metadata=ModalMetadata(),
    )
    validate_view(view)
    return {block["block_id"]: block for block in view["blocks"] if "block_id" in block}


# --- 1, 2: the customer picker isn't a status; the contact method isn't contact details --------


@pytest.mark.parametrize(
    ("language", "picker", "method"),
    [("en", "Find an existing customer", "How"), ("zh", "选择已有客户", "跟进方式")],
)
def test_the_picker_and_the_method_say_what_they_are(
    language: str, picker: str, method: str
) -> None:
    blocks = form(language)
    statuses = [o["text"]["text"] for o in blocks["status"]["element"]["options"]]

    assert blocks["existing_customer"]["label"]["text"] == picker
    assert picker not in statuses
    assert blocks["method"]["label"]["text"] == method


# --- 7: a region is named, in the reader's language --------------------------------------------


def test_the_phone_hint_names_the_default_region() -> None:
    assert "it's read as China." in form("en")["phone"]["hint"]["text"]
    assert "未写国家代码时按中国号码处理。" in form("zh")["phone"]["hint"]["text"]
    assert "United States" in form("en", region="US")["phone"]["hint"]["text"]
    assert "按美国号码处理" in form("zh", region="US")["phone"]["hint"]["text"]


@pytest.mark.parametrize(
    ("raw", "region", "english", "chinese"),
    [
        ("12345", "CN", "for a phone number in China", "不是完整的中国电话号码"),
        ("138001380001", "CN", "valid phone number for China", "不是有效的中国电话号码"),
        ("(999) 555-0100", "US", "valid phone number for United States", "不是有效的美国电话号码"),
    ],
)
def test_phone_errors_name_the_country(raw: str, region: str, english: str, chinese: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalize_phone(raw, region)

    assert english in translator("en").render(caught.value.message)
    assert chinese in translator("zh").render(caught.value.message)


def test_an_unknown_region_code_is_shown_as_it_is() -> None:
    message = _("Without a country code it's read as {region}.", region=Territory("XX"))
    assert translator("en").territory("XX") == "XX"
    assert translator("zh").territory("cn") == "中国"
    assert message.params["region"] == Territory("XX")


# --- 4: email errors in our own words, never the library's English -----------------------------

EMAIL_CASES = [
    ("jane..doe@acme.com", "two periods in a row", "有两个连续的点"),
    ("jane@acme..com", "two periods in a row", "有两个连续的点"),
    ("jane@@acme.com", "more than one @", "含有多个 @"),
    (".jane@acme.com", "The name before the @ can't start or end", "@ 前面的用户名不能以点"),
    ("jane@localhost.", "The part after the @ can't start or end", "@ 后面的域名不能以点"),
    ('jane"doe@acme.com', "This character can't be in an address: \"", '不能有这些字符："'),
    ("jane(x)@acme.com", "These characters can't be in an address: ( )", "不能有这些字符：( )"),
    ("jane@test.invalid", "Check it, e.g. jane@acme.com", "请检查，例如 jane@acme.com"),
]


@pytest.mark.parametrize(("raw", "english", "chinese"), EMAIL_CASES)
def test_a_rejected_email_is_explained_in_the_readers_language(
    raw: str, english: str, chinese: str
) -> None:
    with pytest.raises(FieldError) as caught:
        normalize_email(raw)
    en = translator("en").render(caught.value.message)
    zh = translator("zh").render(caught.value.message)

    assert en.startswith(f"'{raw}' isn't a valid email address. ")
    assert english in en
    assert zh.startswith(f"“{raw}”不是有效的邮箱地址")
    assert chinese in zh
    # Nothing of email_validator's English wording reaches a Chinese reader.
    without_address = zh.replace(raw, "")
    assert not re.search(r"[A-Za-z]{3,}", without_address.replace("jane@acme.com", ""))


# --- 8: "now" rather than "in 0 seconds" ---------------------------------------------------------


@pytest.mark.parametrize("seconds", [0, 1, 30, 59, -1, -59])
def test_within_a_minute_is_now(seconds: int) -> None:
    at = FIXED_NOW + timedelta(seconds=seconds)

    assert translator("en").relative(at, FIXED_NOW) == "now"
    assert translator("zh").relative(at, FIXED_NOW) == "现在"
    assert translator("zh").when(at, SHANGHAI, FIXED_NOW).endswith("，现在")


def test_a_minute_or_more_away_is_relative_again() -> None:
    assert translator("en").relative(FIXED_NOW + timedelta(minutes=1), FIXED_NOW) == "in 1 minute"
    assert translator("zh").relative(FIXED_NOW - timedelta(minutes=2), FIXED_NOW) == "2分钟前"


# --- 11: every way of naming a language ----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("zh-TW", "zh"),
        ("zh-Hans", "zh"),
        ("zh_CN", "zh"),
        ("繁体中文", "zh"),
        ("汉语", "zh"),
        ("Chinese", "zh"),
        ("en-GB", "en"),
        ("en_us", "en"),
        ("EN-AU", "en"),
        ("英语", "en"),
        ("fr", None),
        ("zhx", None),
        ("auto", None),
    ],
)
def test_language_names_and_tags(typed: str, expected: str | None) -> None:
    assert parse_language(typed) == expected
    if expected is not None:
        assert parse_export_args(f"lang={typed}").lang == expected


def test_lang_accepts_traditional_chinese_tags(bot: Bot) -> None:
    response = bot.requests.command("lang zh-TW", user_id=REP)

    assert response.text == translator("zh").gettext("OK — I'll write to you in English.")
    assert bot.services.users.language(REP) == "zh"


# --- 3: the export speaks Chinese all through --------------------------------------------------


def test_chinese_export_words_are_the_form_labels_and_import_back_as_codes() -> None:
    zh = translator("zh")
    assert set(ZH_STATUS_WORDS) == set(STATUSES)
    assert set(ZH_METHOD_WORDS) == set(METHODS)
    for code, word in ZH_STATUS_WORDS.items():
        assert status_from(word) == code
        assert zh.render(STATUS_LABELS[code]) == word
    for code, word in ZH_METHOD_WORDS.items():
        assert method_from(word) == code
        assert zh.render(METHOD_LABELS[code]) == word


def test_a_chinese_export_with_a_filter_names_the_status_in_chinese(bot: Bot) -> None:
    bot.slack.set_user(REP, tz="Asia/Shanghai", locale="zh-CN")
    seed(bot)

    _ack, final = export_via_slack(bot, "export status=interested lang=zh-Hans", REP)

    assert final.args["text"] == "已通过私信发给你：1 条跟进记录。"
    (complete,) = bot.slack.calls_to("files.completeUploadExternal")
    assert complete.args["initial_comment"] == "你的跟进：1 条跟进（状态为意向客户）。"
    ((*_, method, _summary, _feedback, _owner, _next, _action, status, _notes, state),) = (
        uploaded_rows(bot.slack, REP)[1:]
    )
    assert (method, status, state) == ("微信", "意向客户", "open")

    nothing = export_via_slack(bot, "export status=won", REP)[1]
    assert nothing.args["text"] == "没有可导出的跟进记录（状态为已成交），未发送任何内容。"


def test_an_english_export_names_the_status_as_the_form_does(bot: Bot) -> None:
    _ack, final = export_via_slack(bot, "export status=existing", REP)

    assert final.args["text"] == (
        "No follow-ups to export (status Existing customer) — nothing was sent."
    )


def test_a_chinese_export_imports_back_as_the_same_customers_and_followups(
    bot: Bot, tmp_path: Path
) -> None:
    from bot.importer import ImportOptions, run_import

    seed(bot)
    exported = tmp_path / "export.xlsx"
    rows = CountedRows(
        export_rows(bot.db, bot.services.settings, viewer_id=None, filt=ExportFilter(), lang="zh")
    )
    write_export(rows, exported, "xlsx", lang="zh")
    customers, followups = customers_of(bot.db), followups_of(bot.db)
    empty_database(bot.db)

    summary = run_import(
        bot.services,
        ImportOptions(
            path=exported,
            sheet=None,
            dry_run=False,
            owner_map=None,
            report=None,
            date_order="mdy",
            actor_id="import",
        ),
        progress=False,
    )

    assert (summary.rows, summary.rejected, summary.unmapped_headers) == (5, 0, ("跟进状态",))
    assert customers_of(bot.db) == customers
    # Status and method come back as codes; only notes differ (the unread State column lands
    # there until the importer maps it — see test_export_backup).
    notes = 11
    again = [row[:notes] + row[notes + 1 :] for row in followups_of(bot.db)]
    assert again == [row[:notes] + row[notes + 1 :] for row in followups]


def test_the_chinese_sheet_is_named_in_chinese() -> None:
    assert SHEET_TITLES == {"en": "Follow-ups", "zh": "跟进记录"}


# --- 9: modal errors in plain text -------------------------------------------------------------


def test_an_edit_refusal_names_the_owner_not_their_user_id(bot: Bot) -> None:
    bot.slack.set_user(REP, tz="Asia/Shanghai", name="Li Na")
    bot.slack.set_user(COLLEAGUE, tz="Asia/Shanghai", locale="zh-CN")
    log_followup(bot)
    view = open_edit(bot)

    errors = errors_of(bot.submit(view, edit_values(view), user_id=COLLEAGUE))

    assert errors == {"customer_name": "只有负责人（Li Na）、其主管或管理员可以修改这条跟进。"}


def test_an_edit_refusal_says_the_owner_when_slack_gave_no_name(bot: Bot) -> None:
    log_followup(bot)
    view = open_edit(bot)

    errors = errors_of(bot.submit(view, edit_values(view), user_id=COLLEAGUE))

    assert errors == {
        "customer_name": "Only the owner, their manager or an admin can change this follow-up."
    }
    assert REP not in errors["customer_name"]


def test_a_submission_without_a_user_is_refused_in_english(bot: Bot) -> None:
    view = bot.open_modal(user_id=REP)

    errors = errors_of(bot.submit(view, good_values(), user_id="not a user"))

    assert errors == {
        "customer_name": "Couldn't save just now — your entry is still here, press Save again."
    }


# --- 12: the slash command explains itself in both languages -----------------------------------


def test_the_slash_command_is_described_in_english_and_chinese() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text("utf-8"))
    (command,) = manifest["features"]["slash_commands"]
    for text in (command["description"], command["usage_hint"]):
        assert CJK.search(text)
        assert re.search(r"[A-Za-z]{4,}", text)
        assert len(text) <= 100  # what Slack's command settings page takes


# --- 13: one follow-up, one place on the Home tab ----------------------------------------------


def item(followup_id: int, due: datetime) -> ReminderItem:
    return ReminderItem(followup_id, REP, f"Customer {followup_id}", "Acme", "", "", "Call", due)


def test_a_followup_in_two_groups_stays_in_the_most_urgent_one() -> None:
    a, b, c = item(1, FIXED_NOW), item(2, FIXED_NOW), item(3, FIXED_NOW)

    overdue, today, week = distinct_groups(
        ItemGroup((a, b), 2), ItemGroup((b,), 1), ItemGroup((a, c), 12)
    )

    assert overdue == ItemGroup((a, b), 2)
    assert today == ItemGroup((), 0)
    assert week == ItemGroup((c,), 11)


def test_home_never_repeats_a_followup_read_twice_in_a_race(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snooze between the overdue and the week query shows one follow-up in both."""
    followup = log_followup(bot)
    with bot.db.reader() as session:
        row = session.get(FollowUp, followup.id)
        assert row is not None
        row.customer.name  # noqa: B018 - loaded now, read after the session ends
        session.expunge_all()

    def racing(*_args: Any, **_kwargs: Any) -> list[FollowUp]:
        return [row]

    monkeypatch.setattr(queries, "open_followups_of", racing)
    monkeypatch.setattr(queries, "count_open_of", lambda *_a, **_k: 1)

    data = home_data(bot.db, REP, zone=SHANGHAI, now=FIXED_NOW)
    view = home_view(data, t=translator("zh"))

    assert [len(g.items) for g in (data.overdue, data.today, data.week)] == [1, 0, 0]
    block_ids = [block["block_id"] for block in view["blocks"] if "block_id" in block]
    assert block_ids.count(actions_block_id(followup.id)) == 1
    validate_view(view)
