"""The App Home, `/followup list`, lookups, customer cards, history and edit conflicts in the
reader's language — English and Chinese — through signed requests and the fake Slack."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import COLLEAGUE, REP, Bot, running_bot
from tests.fake_slack import FakeSlack, validate_message
from tests.slack_requests import block_actions
from tests.test_edit_history_e2e import (
    confirmation_with_edit_button,
    edit_values,
    open_edit,
    saved,
)
from tests.test_followup_e2e import errors_of
from tests.test_home_lookup_e2e import home_publishes, open_home
from tests.test_reminders_e2e import log_followup

SATURDAY_NOON = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # Sat 28 Nov 12:00 in Shanghai
# Fixed words of each surface that must never reach a Chinese reader in English.
ENGLISH_HOME = (
    "Overdue",
    "Due today",
    "Next 7 days",
    "Log follow-up",
    "Recently done",
    "Nothing here",
    "Nothing closed",
    "time zone",
    "Done",
    "Snooze",
    "Reassign",
)
ENGLISH_CARD = ("owner <@", "Discussed", "They said", "Next:", "Edited by", "Log follow-up", "Won")
ENGLISH_HISTORY = ("History of", "created", "edited", "summary", "newest first", "status")


def texts_of(node: Any) -> str:
    """Every text a person reads in a view or message, one per line."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str) and value.get("type") in (
                "plain_text",
                "mrkdwn",
            ):
                found.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return "\n".join(found)


def without_user_data(text: str) -> str:
    """What the bot wrote itself: drop mentions and the test's customer data."""
    text = re.sub(r"<@U[0-9A-Z]+>", "", text)
    for data in ("Wang Lei", "Shanghai Mingde Technology Co., Ltd.", "Asia/Shanghai", "Quoted"):
        text = text.replace(data, "")
    return text


def assert_no_english(text: str, words: tuple[str, ...]) -> None:
    leaked = [word for word in words if word in without_user_data(text)]
    assert not leaked, f"English left in a Chinese rendering: {leaked}\n{text}"


def assert_valid_message(message: dict[str, Any]) -> None:
    errors, _warnings, too_long = validate_message({"channel": "C0SALES01", **message})
    assert not errors, errors
    assert not too_long


def speak_chinese(bot: Bot, user_id: str) -> None:
    """The user switches Slack to 简体中文: Slack sends `user_change`, users.info says so too."""
    bot.slack.set_user(user_id, tz="Asia/Shanghai", locale="zh-CN")
    event = {
        "type": "user_change",
        "user": {"id": user_id, "tz": "Asia/Shanghai", "locale": "zh-CN"},
    }
    assert bot.requests.event(event).status == 200
    for _ in range(100):
        if bot.services.users.language(user_id) == "zh":
            return
        time.sleep(0.05)
    raise AssertionError("the user's language did not change")


@pytest.fixture
def zh_admin_bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    """COLLEAGUE reads Chinese (Slack locale zh-CN) and is an admin, so sees REP's customers."""
    slack.set_user(COLLEAGUE, tz="Asia/Shanghai", locale="zh-CN")
    with running_bot(slack, database_url, admin_user_ids=COLLEAGUE) as running:
        yield running


def three_windows(bot: Bot) -> None:
    log_followup(bot)  # Tue 1 Dec 15:00 Shanghai
    log_followup(
        bot, customer_name="李娜", phone="+86 139 0013 9000", email=None, next_at="明天上午10点"
    )
    log_followup(
        bot, customer_name="赵六", phone="+86 136 0013 6000", email=None, next_at="明天下午6点"
    )
    bot.clock.now = SATURDAY_NOON


# --- App Home --------------------------------------------------------------------------------


def test_home_in_english_and_in_chinese_for_the_same_list(bot: Bot) -> None:
    three_windows(bot)

    english = texts_of(open_home(bot)["blocks"])
    speak_chinese(bot, REP)
    chinese_view = open_home(bot)
    chinese = texts_of(chinese_view["blocks"])

    assert all(call.ok for call in home_publishes(bot))  # the fake Slack accepted both
    assert not bot.slack.validation_errors
    for words in ("Overdue (1)", "Due today (1)", "Next 7 days (1)", "Log follow-up"):
        assert words in english
    assert "Tue 1 Dec 15:00 (Asia/Shanghai), in 3 days" in english
    assert "Nothing closed yet." in english
    for words in ("逾期（1）", "今天到期（1）", "未来 7 天（1）", "记录跟进", "最近完成"):
        assert words in chinese
    assert "12月1日 周二 15:00 (Asia/Shanghai)，3天后" in chinese
    assert "还没有已完成的跟进。" in chinese
    assert "你的跟进，按你的时区（Asia/Shanghai）显示。" in chinese
    assert "李娜" in chinese
    assert "赵六" in chinese
    assert "Wang Lei" in chinese
    assert_no_english(chinese, ENGLISH_HOME)
    # Same list, same buttons: only the words differ.
    assert [b["type"] for b in chinese_view["blocks"]] == [
        b["type"] for b in home_publishes(bot)[-2].args["view"]["blocks"]
    ]


def test_home_done_items_and_empty_groups_in_chinese(bot: Bot) -> None:
    log_followup(bot)
    speak_chinese(bot, REP)
    bot.clock.now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # an hour after it was due
    view = open_home(bot)
    before = len(home_publishes(bot))

    response = bot.requests.interactive(block_actions("reminder_done", view=view, user_id=REP))

    assert response.status == 200
    redrawn = bot.slack.wait_for(
        "views.publish", lambda c: c.args["user_id"] == REP, count=before + 1
    )[-1]
    assert redrawn.ok
    chinese = texts_of(redrawn.args["view"]["blocks"])
    assert "逾期（0）" in chinese
    assert "暂无。" in chinese
    assert "• *Wang Lei* · Shanghai Mingde Technology Co., Ltd. — 12月1日 周二 16:00" in chinese
    assert_no_english(chinese, ENGLISH_HOME)


# --- /followup list --------------------------------------------------------------------------


def test_list_in_chinese(bot: Bot) -> None:
    three_windows(bot)
    speak_chinese(bot, REP)

    body = bot.requests.command("list", user_id=REP).json()

    assert_valid_message(body)
    assert body["text"] == "你未完成的跟进：3 条"
    text = texts_of(body["blocks"])
    assert "*逾期（1）*" in text
    assert "*未来 7 天（1）*" in text
    assert "12月1日 周二 15:00 (Asia/Shanghai)，3天后" in text
    assert "打开应用的“主页”标签" in text
    assert_no_english(text, ("Overdue", "Due today", "Next 7 days", "Home tab", " in 3 days"))


# --- lookups and cards -----------------------------------------------------------------------


def test_a_card_for_a_chinese_reader(zh_admin_bot: Bot) -> None:
    bot = zh_admin_bot
    log_followup(bot)
    log_followup(bot, status="won", feedback="Signed the 200-seat contract: SSO decided it.")
    view = open_edit(bot)
    saved(bot.submit(view, edit_values(view, summary="Quoted 250 seats at ¥78 after a call.")))

    english = bot.requests.command("find Wang Lei", user_id=REP).json()
    chinese = bot.requests.command("find Wang Lei", user_id=COLLEAGUE).json()

    assert_valid_message(english)
    assert_valid_message(chinese)
    en_text, zh_text = texts_of(english["blocks"]), texts_of(chinese["blocks"])
    assert f"Won — owner <@{REP}>" in en_text
    assert "*Discussed:* Quoted 250 seats" in en_text
    assert f"_Edited by <@{REP}>, Fri 27 Nov 10:00 (Asia/Shanghai)_" in en_text
    assert f"已成交 — 负责人 <@{REP}>" in zh_text
    assert "*沟通内容：* Quoted 250 seats" in zh_text
    assert "*客户反馈：* Signed the 200-seat contract" in zh_text
    assert "*下一步：*" in zh_text
    assert "11月27日 周五 10:00 (Asia/Shanghai)" in zh_text
    assert f"_由 <@{REP}> 编辑于 11月27日 周五 10:00 (Asia/Shanghai)_" in zh_text
    assert "电话" in zh_text  # the method of the entries, translated
    assert chinese["blocks"][0]["accessory"]["text"]["text"] == "记录跟进"
    assert_no_english(zh_text, ENGLISH_CARD)


def test_no_match_and_several_matches_for_a_chinese_reader(zh_admin_bot: Bot) -> None:
    bot = zh_admin_bot
    for n, company in enumerate(["Acme Trading", "Acme Logistics"]):
        log_followup(
            bot,
            customer_name=f"Buyer {n}",
            company=company,
            phone=f"+86 138 0013 80{n:02d}",
            email=None,
        )

    none = bot.requests.command("find Zebra", user_id=COLLEAGUE).json()
    several = bot.requests.command("find Acme", user_id=COLLEAGUE).json()
    english = bot.requests.command("find Acme", user_id=REP).json()

    for body in (none, several, english):
        assert_valid_message(body)
    assert none["text"].startswith("没有找到与“Zebra”匹配的客户。")
    assert "有 2 位客户与“Acme”匹配" in texts_of(several["blocks"])
    assert "潜在客户" in texts_of(several["blocks"]) or "意向客户" in texts_of(several["blocks"])
    assert {b["accessory"]["text"]["text"] for b in several["blocks"] if "accessory" in b} == {
        "查看"
    }
    assert "2 customers match “Acme”, best first:" in texts_of(english["blocks"])
    assert "Open" in {b["accessory"]["text"]["text"] for b in english["blocks"] if "accessory" in b}


# --- history ---------------------------------------------------------------------------------


def test_history_for_a_chinese_reader(zh_admin_bot: Bot) -> None:
    bot = zh_admin_bot
    followup = log_followup(bot)
    view = open_edit(bot)
    saved(
        bot.submit(
            view,
            edit_values(view, summary="Quoted 250 seats at ¥78 after a call.", status="prospect"),
        )
    )

    english = bot.requests.command("history Wang Lei", user_id=REP).json()
    chinese = bot.requests.command("history Wang Lei", user_id=COLLEAGUE).json()

    assert_valid_message(english)
    assert_valid_message(chinese)
    en_text, zh_text = texts_of(english["blocks"]), texts_of(chinese["blocks"])
    assert f"<@{REP}> edited follow-up #{followup.id}" in en_text
    assert "status: Interested → Prospect" in en_text
    assert f"<@{REP}> created customer" in en_text
    assert chinese["text"] == "Wang Lei 的变更记录"
    assert "（最新在前，时间为 Asia/Shanghai）" in zh_text
    assert f"11月27日 周五 10:00 · <@{REP}> 编辑了跟进 #{followup.id}" in zh_text
    assert "沟通内容：Quoted 200 seats" in zh_text
    assert "状态：意向客户 → 潜在客户" in zh_text  # status codes shown as their labels
    assert f"<@{REP}> 创建了客户" in zh_text
    assert f"<@{REP}> 创建了跟进 #{followup.id}" in zh_text
    assert f"<@{REP}> 编辑了客户信息" in zh_text
    assert_no_english(zh_text, (*ENGLISH_HISTORY, "prospect", "interested", "Prospect"))


def test_history_shows_a_snooze_and_a_reassign_in_chinese(zh_admin_bot: Bot) -> None:
    bot = zh_admin_bot
    followup = log_followup(bot)
    home = open_home(bot)
    before = len(home_publishes(bot))
    snooze = block_actions(
        "reminder_snooze", view=home, user_id=REP, selected_option_value=f"{followup.id}:1h"
    )
    assert bot.requests.interactive(snooze).status == 200
    home = bot.slack.wait_for(
        "views.publish", lambda c: c.args["user_id"] == REP, count=before + 1
    )[-1].args["view"]
    reassign = block_actions("reminder_reassign", view=home, user_id=REP, selected_user=COLLEAGUE)
    assert bot.requests.interactive(reassign).status == 200
    bot.slack.wait_for("views.publish", lambda c: c.args["user_id"] == COLLEAGUE)

    chinese = bot.requests.command("history Wang Lei", user_id=COLLEAGUE).json()

    assert_valid_message(chinese)
    zh_text = texts_of(chinese["blocks"])
    assert (
        f"<@{REP}> 推迟了跟进 #{followup.id} — "
        "下次联系时间：12月1日 周二 15:00 → 11月27日 周五 11:00" in zh_text
    )
    assert f"<@{REP}> 转交了跟进 #{followup.id} — 负责人：<@{REP}> → <@{COLLEAGUE}>" in zh_text
    assert f"<@{REP}> 转交了客户 — 负责人：<@{REP}> → <@{COLLEAGUE}>" in zh_text


# --- editing ---------------------------------------------------------------------------------


def test_an_edit_conflict_is_explained_in_chinese(bot: Bot) -> None:
    log_followup(bot)
    first, second = open_edit(bot), open_edit(bot)
    saved(bot.submit(first, edit_values(first, feedback="Needs CFO and CTO sign-off now.")))
    speak_chinese(bot, REP)

    errors = errors_of(bot.submit(second, edit_values(second, summary="Quoted 300 seats today.")))

    message = errors["customer_name"]
    assert "刚刚修改了这条跟进（客户反馈），当时你已打开表单（版本 1）" in message
    assert "本次没有保存任何内容" in message
    assert "changed" not in message
    assert "feedback" not in message


def test_an_edit_refusal_and_an_empty_edit_in_chinese(zh_admin_bot: Bot, slack: FakeSlack) -> None:
    bot = zh_admin_bot
    zh_rep = "U0ZHREP01"
    slack.set_user(zh_rep, tz="Asia/Shanghai", locale="zh-CN")
    followup = log_followup(bot)

    response = bot.requests.command("edit", user_id=zh_rep)
    assert response.status == 200
    (empty,) = bot.slack.wait_for("response_url")
    pressed = block_actions(
        "followup_edit", message=confirmation_with_edit_button(followup.id), user_id=zh_rep
    )
    assert bot.requests.interactive(pressed).status == 200
    refusal = bot.slack.wait_for("response_url", count=2)[-1]

    assert empty.args["text"] == "你还没有记录过跟进——输入 /followup 即可记录。"
    assert refusal.args["text"] == (f"这条跟进属于 <@{REP}>——只有本人、其主管或管理员可以编辑。")
