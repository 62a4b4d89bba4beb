"""The follow-up form in English and Chinese, end to end: what each rep reads follows their
language (Slack locale or `/followup lang`), while what is stored is the same whoever typed it.
SQLite and PostgreSQL, through signed requests into the running app and the fake Slack."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.i18n import translator
from handlers.blocks import help_message
from storage.models import Base, ChangeLog, Customer, FollowUp
from tests.conftest import COLLEAGUE, REP, Bot
from tests.fake_slack import FakeSlack, validate_message
from tests.slack_requests import block_actions
from tests.test_followup_e2e import count, errors_of, good_values

REP_ZH = "U0REPZH01"  # Shanghai, Slack set to Simplified Chinese
REP_FR = "U0REPFR01"  # a language we don't speak: English
REP_TW = "U0REPTW01"  # Traditional Chinese: Simplified is closer than English

CJK = re.compile(r"[\u4e00-\u9fff]")
SHANGHAI_TUE_3PM = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _users(slack: FakeSlack) -> None:
    slack.set_user(REP_ZH, tz="Asia/Shanghai", locale="zh-CN")
    slack.set_user(REP_FR, tz="Asia/Shanghai", locale="fr-FR")
    slack.set_user(REP_TW, tz="Asia/Shanghai", locale="zh-TW")


def saved(response: Any) -> None:
    assert response.body in (b"", b"{}"), response.text


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if "block_id" in block}


def fixed_texts(view: dict[str, Any]) -> list[str]:
    """Every word of the form the bot wrote itself (not what a rep typed), in order."""
    texts = [view["title"]["text"], view["submit"]["text"], view["close"]["text"]]
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        texts.append(block["label"]["text"])
        if "hint" in block:
            texts.append(block["hint"]["text"])
        element = block["element"]
        if "placeholder" in element:
            texts.append(element["placeholder"]["text"])
        texts += [option["text"]["text"] for option in element.get("options", [])]
    return texts


def assert_within_slack_limits(view: dict[str, Any]) -> None:
    assert len(view["title"]["text"]) <= 24
    assert len(view["submit"]["text"]) <= 24
    assert len(view["close"]["text"]) <= 24
    for block in view["blocks"]:
        element = block.get("element", {})
        if "placeholder" in element:
            assert len(element["placeholder"]["text"]) <= 150, element["placeholder"]
        for option in element.get("options", []):
            assert len(option["text"]["text"]) <= 75, option
        if "label" in block:
            assert len(block["label"]["text"]) <= 2000
        if "hint" in block:
            assert len(block["hint"]["text"]) <= 2000


def option_labels(block: dict[str, Any]) -> list[str]:
    return [option["text"]["text"] for option in block["element"]["options"]]


# --- (a) the form in the opener's language ---------------------------------------------------


def test_the_form_is_in_english_for_an_english_rep_and_in_chinese_for_a_chinese_rep(
    bot: Bot,
) -> None:
    english = bot.open_modal(user_id=REP)
    chinese = bot.open_modal(user_id=REP_ZH)

    assert bot.slack.validation_errors == []
    for view in (english, chinese):
        assert_within_slack_limits(view)
    assert english["title"]["text"] == "Log a follow-up"
    assert chinese["title"]["text"] == "记录跟进"
    assert chinese["submit"]["text"] == "保存"
    assert chinese["close"]["text"] == "取消"

    en, zh = blocks_by_id(english), blocks_by_id(chinese)
    assert en["customer_name"]["label"]["text"] == "Customer"
    assert zh["customer_name"]["label"]["text"] == "客户"
    assert zh["customer_name"]["element"]["placeholder"]["text"] == "例如：Wang Lei · 王磊"
    assert zh["existing_customer"]["label"]["text"] == "选择已有客户"
    assert en["existing_customer"]["label"]["text"] == "Find an existing customer"
    assert option_labels(en["status"]) == [
        "Prospect",
        "Interested",
        "Won",
        "Existing customer",
        "Lost",
    ]
    assert option_labels(zh["status"]) == ["潜在客户", "意向客户", "已成交", "老客户", "已流失"]
    assert option_labels(zh["method"]) == ["电话", "微信", "邮件", "拜访", "会议", "短信"]
    assert option_labels(zh["confirm"]) == [
        "仍作为新客户添加（尽管已有相似客户）",
        "客户已流失：关闭其未完成的跟进",
    ]
    # The option values (what is stored) don't depend on the language.
    for block_id in ("status", "method", "confirm"):
        assert [o["value"] for o in en[block_id]["element"]["options"]] == [
            o["value"] for o in zh[block_id]["element"]["options"]
        ]
    hint = zh["next_at"]["hint"]["text"]
    assert "时区（Asia/Shanghai）" in hint
    assert "09:00" in hint
    assert "Read in your time zone (Asia/Shanghai)" in en["next_at"]["hint"]["text"]

    # Every fixed word of the Chinese form is translated: none is the English text, each has
    # Chinese in it (examples like "Wang Lei" may stay, but never alone).
    en_texts, zh_texts = fixed_texts(english), fixed_texts(chinese)
    assert len(en_texts) == len(zh_texts)
    for en_text, zh_text in zip(en_texts, zh_texts, strict=True):
        assert zh_text != en_text
        assert CJK.search(zh_text), zh_text


def test_picking_a_customer_refills_the_form_in_the_pickers_language(bot: Bot) -> None:
    saved(
        bot.submit(
            bot.open_modal(user_id=COLLEAGUE), good_values(owner=COLLEAGUE), user_id=COLLEAGUE
        )
    )
    with bot.db.reader() as session:
        customer_id = session.scalars(select(Customer.id)).one()

    view = bot.open_modal(user_id=REP_ZH)
    pick = block_actions(
        "existing_customer", view=view, user_id=REP_ZH, selected_option_value=str(customer_id)
    )
    assert bot.requests.interactive(pick).status == 200
    (update,) = bot.slack.wait_for("views.update")
    refilled = update.response["view"]

    assert refilled["title"]["text"] == "记录跟进"
    assert_within_slack_limits(refilled)
    note = next(b for b in refilled["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert note.startswith(f"负责人：<@{COLLEAGUE}>（自 11月27日 周五 起）")
    assert "意向客户" in note
    assert "对方的联系方式不对你显示" in note
    assert blocks_by_id(refilled)["customer_name"]["label"]["text"] == "客户"


def test_the_edit_form_is_titled_in_the_editors_language(bot: Bot) -> None:
    saved(bot.submit(bot.open_modal(user_id=REP_ZH), good_values(owner=REP_ZH), user_id=REP_ZH))
    bot.slack.wait_for("chat.postEphemeral")

    response = bot.requests.command("edit", user_id=REP_ZH)
    assert response.status == 200
    (_, edit) = bot.slack.wait_for("views.open", count=2)
    view = edit.args["view"]

    assert view["title"]["text"] == "编辑跟进"
    assert view["submit"]["text"] == "保存修改"
    assert "existing_customer" not in blocks_by_id(view)
    assert "confirm" not in blocks_by_id(view)
    assert_within_slack_limits(view)


def test_a_rep_who_chose_chinese_gets_the_chinese_form(bot: Bot) -> None:
    assert bot.requests.command("lang zh", user_id=REP).status == 200

    assert bot.open_modal(user_id=REP)["title"]["text"] == "记录跟进"


# --- (b) every validation error in the submitter's language ----------------------------------


ERROR_CASES = [
    # (field, value, English words, Chinese words)
    ("phone", "12345", ["'12345' has too few digits", "e.g. +86 138 0013 8000"], ["位数太少"]),
    (
        "email",
        "wang.lei@mingde",
        ["'wang.lei@mingde' is missing a domain ending like .com"],
        ["“wang.lei@mingde”缺少域名后缀"],
    ),
    ("summary", "called, interested", ["Too vague", "e.g."], ["内容太笼统", "例如"]),
    (
        "next_at",
        "whenever",
        ["Couldn't read 'whenever' as a date", "'next Tue 3pm'", "'1 Dec'", "'in 2 weeks'"],
        ["无法识别日期“whenever”", "“下周二下午3点”", "“12月1日”", "“两周后”"],
    ),
    (
        "next_at",
        "yesterday",
        ["'yesterday' is Thu 26 Nov 09:00, which has already passed"],
        ["“yesterday”是 11月26日 周四 09:00，这个时间已经过去了"],
    ),
    (
        "next_at",
        "2028-03-01",
        ["'2028-03-01' is Wed 1 Mar 2028 09:00, more than a year away"],
        ["“2028-03-01”是 2028年3月1日 周三 09:00，已超过一年"],
    ),
    ("next_action", None, ["Please fill in what you will do next."], ["请填写下一步计划。"]),
]


@pytest.mark.parametrize(("block_id", "value", "english", "chinese"), ERROR_CASES)
def test_each_validation_error_is_in_the_submitters_language(
    bot: Bot, block_id: str, value: str | None, english: list[str], chinese: list[str]
) -> None:
    en = errors_of(bot.submit(bot.open_modal(user_id=REP), good_values(**{block_id: value})))
    zh = errors_of(
        bot.submit(
            bot.open_modal(user_id=REP_ZH),
            good_values(owner=REP_ZH, **{block_id: value}),
            user_id=REP_ZH,
        )
    )

    assert list(en) == list(zh) == [block_id]
    for words in english:
        assert words in en[block_id]
    for words in chinese:
        assert words in zh[block_id]
    assert not CJK.search(en[block_id])
    assert count(bot, FollowUp) == 0


def test_missing_contact_and_selects_are_reported_in_chinese(bot: Bot) -> None:
    values = good_values(owner=REP_ZH, phone=None, email=None, method=None, company=None)
    errors = errors_of(bot.submit(bot.open_modal(user_id=REP_ZH), values, user_id=REP_ZH))

    assert errors == {
        "company": "请填写公司名称。",
        "phone": "请填写电话或邮箱，方便团队里任何人都能联系到这位客户。",
        "method": "请选择跟进方式。",
    }


def test_the_team_rules_speak_chinese_to_a_chinese_rep(bot: Bot) -> None:
    saved(
        bot.submit(
            bot.open_modal(user_id=COLLEAGUE), good_values(owner=COLLEAGUE), user_id=COLLEAGUE
        )
    )
    # A look-alike of a colleague's customer, with a new phone: a likely duplicate.
    look_alike = good_values(owner=REP_ZH, phone="+86 137 0013 7000", email=None)
    errors = errors_of(bot.submit(bot.open_modal(user_id=REP_ZH), look_alike, user_id=REP_ZH))
    assert list(errors) == ["customer_name"]
    assert errors["customer_name"].startswith("这位看起来是已有客户 Wang Lei · ")
    assert "“选择已有客户”" in errors["customer_name"]
    assert "“仍作为新客户添加”" in errors["customer_name"]

    # The colleague's customer by phone: pick them first.
    same_phone = good_values(owner=REP_ZH, customer_name="王磊", company="明德", email=None)
    errors = errors_of(bot.submit(bot.open_modal(user_id=REP_ZH), same_phone, user_id=REP_ZH))
    assert list(errors) == ["phone"]
    assert "的客户 Wang Lei · " in errors["phone"]

    # Marking one's own customer lost asks to confirm closing its open follow-ups.
    own = good_values(
        owner=REP_ZH, customer_name="李娜", company="杭州某某贸易", phone="13900139000", email=None
    )
    saved(bot.submit(bot.open_modal(user_id=REP_ZH), own, user_id=REP_ZH))
    lost = {
        **own,
        "status": "lost",
        "next_at": None,
        "next_action": None,
        "feedback": "not interested",
    }
    lost = {key: value for key, value in lost.items() if value is not None}
    errors = errors_of(bot.submit(bot.open_modal(user_id=REP_ZH), lost, user_id=REP_ZH))
    assert errors["feedback"].startswith("请写明客户流失的原因")
    lost["feedback"] = "选了 Acme：便宜 20%，也不需要 SSO。"
    errors = errors_of(bot.submit(bot.open_modal(user_id=REP_ZH), lost, user_id=REP_ZH))
    assert errors == {
        "status": "将 李娜 标记为流失会关闭其 1 条未完成的跟进。请勾选底部的“客户已流失：关闭其"
        "未完成的跟进”以确认。"
    }
    saved(
        bot.submit(
            bot.open_modal(user_id=REP_ZH), {**lost, "confirm": ["close_open"]}, user_id=REP_ZH
        )
    )
    (confirmation,) = bot.slack.wait_for(
        "chat.postEphemeral", lambda c: "已标记为流失" in str(c.args["blocks"])
    )
    assert "已标记为流失，并关闭了 1 条未完成的跟进。" in str(confirmation.args["blocks"])
    assert "无（客户已标记为流失）" in confirmation.args["text"]


# --- dates: either language is read, whatever the form's -------------------------------------


def test_dates_are_read_in_either_language_whatever_the_reps_language(bot: Bot) -> None:
    saved(
        bot.submit(
            bot.open_modal(user_id=REP_ZH),
            good_values(owner=REP_ZH, next_at="next Friday 3pm"),
            user_id=REP_ZH,
        )
    )
    saved(
        bot.submit(
            bot.open_modal(user_id=REP),
            good_values(
                customer_name="李娜",
                company="杭州某某贸易",
                phone="13900139000",
                email=None,
                next_at="下周五下午3点",
            ),
        )
    )

    with bot.db.reader() as session:
        next_ats = session.scalars(select(FollowUp.next_at).order_by(FollowUp.id)).all()
    friday_3pm_shanghai = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    assert [at.astimezone(UTC) for at in next_ats] == [friday_3pm_shanghai] * 2


# --- (c) the same entry in two languages stores the same data --------------------------------


def _stored(bot: Bot) -> dict[str, Any]:
    """Everything stored about the entry, less ids and who typed it (which legitimately differ)."""
    with bot.db.reader() as session:
        customers = [
            {
                column.key: getattr(row, column.key)
                for column in Customer.__table__.columns
                if column.key not in ("id", "owner_id", "created_by")
            }
            for row in session.scalars(select(Customer))
        ]
        followups = [
            {
                column.key: getattr(row, column.key)
                for column in FollowUp.__table__.columns
                if column.key
                not in ("id", "customer_id", "author_id", "owner_id", "done_by", "submission_key")
            }
            for row in session.scalars(select(FollowUp))
        ]
        changes = [
            (
                row.entity,
                row.action,
                {
                    key: value
                    for key, value in (row.after or {}).items()
                    if key not in ("owner_id", "customer_id")
                },
            )
            for row in session.scalars(select(ChangeLog).order_by(ChangeLog.id))
        ]
    return {"customers": customers, "followups": followups, "changes": changes}


def _wipe(bot: Bot) -> None:
    with bot.db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


def test_the_same_entry_in_chinese_and_english_stores_identical_rows(bot: Bot) -> None:
    entry = good_values(next_at="下周二下午3点", status="interested", method="wechat")

    saved(bot.submit(bot.open_modal(user_id=REP_ZH), {**entry, "owner": REP_ZH}, user_id=REP_ZH))
    (zh_reply,) = bot.slack.wait_for("chat.postEphemeral")
    bot.slack.wait_for("views.publish")
    chinese = _stored(bot)

    _wipe(bot)
    saved(bot.submit(bot.open_modal(user_id=REP), {**entry, "owner": REP}, user_id=REP))
    (_, en_reply) = bot.slack.wait_for("chat.postEphemeral", count=2)
    english = _stored(bot)

    assert chinese == english
    (followup,) = english["followups"]
    assert followup["next_at"].astimezone(UTC) == SHANGHAI_TUE_3PM
    assert (followup["method"], followup["status_after"], followup["state"]) == (
        "wechat",
        "interested",
        "open",
    )
    assert english["customers"][0]["status"] == "interested"

    # Each rep read the confirmation in their own language, the moment in their zone.
    assert zh_reply.args["user"] == REP_ZH
    assert zh_reply.args["text"] == (
        "已记录与 Wang Lei（Shanghai Mingde Technology Co., Ltd.）的跟进。"
        "下次联系：12月1日 周二 15:00 (Asia/Shanghai)，4天后。"
    )
    zh_blocks = str(zh_reply.args["blocks"])
    assert "已新建客户。" in zh_blocks
    assert "*下次联系：* 12月1日 周二 15:00 (Asia/Shanghai)，4天后" in zh_blocks
    assert f"负责人：<@{REP_ZH}>" in zh_blocks
    assert "'text': '编辑'" in zh_blocks
    assert en_reply.args["text"] == (
        "Logged a follow-up with Wang Lei (Shanghai Mingde Technology Co., Ltd.). "
        "Next contact: Tue 1 Dec 15:00 (Asia/Shanghai), in 4 days."
    )
    assert "New customer added." in str(en_reply.args["blocks"])
    assert not CJK.search(str(en_reply.args["blocks"]))


def test_the_owner_is_told_in_their_language_and_the_author_confirmed_in_theirs(
    bot: Bot,
) -> None:
    bot.slack.set_user(COLLEAGUE, tz="America/New_York", locale="zh-CN")
    saved(
        bot.submit(
            bot.open_modal(user_id=COLLEAGUE), good_values(owner=COLLEAGUE), user_id=COLLEAGUE
        )
    )
    with bot.db.reader() as session:
        customer_id = session.scalars(select(Customer.id)).one()
    view = bot.open_modal(user_id=REP)
    values = good_values(summary="Met their CTO; SSO is the last blocker.", phone=None, email=None)
    values["existing_customer"] = {
        "text": {"type": "plain_text", "text": "Wang Lei"},
        "value": str(customer_id),
    }
    saved(bot.submit(view, values))

    (notice,) = bot.slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == f"D{COLLEAGUE}"
    )
    assert notice.args["text"] == "你的客户 Wang Lei 有新的跟进"
    text = notice.args["blocks"][0]["text"]["text"]
    assert text.startswith(f":memo: <@{REP}> 记录了你的客户 *Wang Lei* · ")
    # The owner reads the moment in their own zone (New York) and language.
    assert "下次联系：12月1日 周二 02:00 (America/New_York)" in text
    (reply,) = bot.slack.wait_for("chat.postEphemeral", lambda c: c.args["user"] == REP)
    assert "Next contact: Tue 1 Dec 15:00 (Asia/Shanghai), in 4 days." in reply.args["text"]


# --- (d) which language a Slack locale gets --------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "title", "confirmation"),
    [
        (REP_FR, "Log a follow-up", "Logged a follow-up with Wang Lei"),
        (REP_TW, "记录跟进", "已记录与 Wang Lei"),
    ],
)
def test_a_locale_we_dont_speak_falls_back_sensibly(
    bot: Bot, user_id: str, title: str, confirmation: str
) -> None:
    view = bot.open_modal(user_id=user_id)
    assert view["title"]["text"] == title

    saved(bot.submit(view, good_values(owner=user_id), user_id=user_id))
    (reply,) = bot.slack.wait_for("chat.postEphemeral")
    assert reply.args["text"].startswith(confirmation)


# --- help ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "*/followup lang zh|en|auto* — choose your language (default: your Slack language)"),
        ("zh", "*/followup lang zh|en|auto* — 选择语言（默认跟随你的 Slack 语言）"),
    ],
)
def test_help_lists_every_command_in_the_readers_language(language: str, words: str) -> None:
    message = help_message(translator(language))
    errors, _warnings, _too_long = validate_message(message)

    assert errors == []
    assert words in message["text"]
    assert message["text"].count("*/followup") == 11
    if language == "zh":
        assert "跟进到期时会通过私信提醒你" in message["text"]
