"""The team form, the merge form and `/followup export` in each reader's language, end to end:
an admin whose Slack is in Chinese and one whose Slack is in English type the same commands,
over signed requests to the running app, and each gets what the fake Slack accepts, worded in
their own language — the Chinese one with no English left in the fixed parts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.i18n import translator
from bot.team import TeamView
from handlers.merge import MERGE_CALLBACK
from handlers.team import TEAM_CALLBACK, team_confirmation, team_modal
from tests.conftest import COLLEAGUE, REP, REP_NY, Bot, running_bot
from tests.fake_slack import Call, FakeSlack, validate_message, validate_view
from tests.slack_requests import Response
from tests.test_export_backup import EN_HEADERS, ZH_HEADERS, export_via_slack, uploaded_rows
from tests.test_merge_e2e import errors_of, submit_merge, two_customers
from tests.test_reminders_e2e import log_followup, press

ZH_ADMIN = "U0ADMINZH"
EN_ADMIN = "U0ADMINEN"
MANAGER = "U0MGR0001"
# A second customer, so two people's follow-ups are exported.
OTHER: dict[str, Any] = {
    "customer_name": "John Smith",
    "company": "Acme Co., Ltd.",
    "phone": "+1 212 555 0100",
    "email": "john@acme.com",
    "status": "interested",
}

MENTION = re.compile(r"<@[A-Z0-9]+>")
EMOJI = re.compile(r":[a-z_]+:")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def admins_bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    """Two admins (one reads Chinese, one English) and a Chinese-speaking rep, COLLEAGUE."""
    slack.set_user(ZH_ADMIN, tz="Asia/Shanghai", locale="zh-CN")
    slack.set_user(EN_ADMIN, tz="America/New_York", locale="en-US")
    slack.set_user(MANAGER, tz="Asia/Shanghai")
    slack.set_user(COLLEAGUE, tz="Asia/Shanghai", locale="zh-CN")
    slack.set_user(REP, tz="Asia/Shanghai", name="Wang Fang")
    with running_bot(slack, database_url, admin_user_ids=f"{ZH_ADMIN},{EN_ADMIN}") as bot:
        yield bot


# --- helpers ---------------------------------------------------------------------------------


def texts(node: object) -> list[str]:
    """Every text a person reads in a view or message: the plain_text and mrkdwn objects."""
    if isinstance(node, list):
        return [text for item in node for text in texts(item)]
    if not isinstance(node, dict):
        return []
    found = []
    if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
        found.append(node["text"])
    for value in node.values():
        found += texts(value)
    return found


def english_left(text: str, *allowed: str) -> list[str]:
    """The English words in a text once mentions, emoji and the allowed names are taken out."""
    for name in allowed:
        text = text.replace(name, "")
    text = EMOJI.sub("", MENTION.sub("", text))
    return re.findall(r"[A-Za-z]{2,}", text)


def assert_chinese(node: object, *allowed: str) -> None:
    for text in texts(node):
        assert not english_left(text, *allowed), f"English in a Chinese rendering: {text!r}"


def open_by_command(bot: Bot, word: str, user_id: str) -> dict[str, Any]:
    """Type `/followup <word>`; the view the bot sent to views.open (checked by the fake)."""
    before = len(bot.slack.calls_to("views.open"))
    response = bot.requests.command(word, user_id=user_id)
    assert response.status == 200, response.text
    call = bot.slack.wait_for("views.open", count=before + 1)[before]
    assert call.ok, call.response
    view: dict[str, Any] = call.args["view"]
    assert validate_view(view) == []
    assert len(view["title"]["text"]) <= 24
    return view


def opened_view(bot: Bot, user_id: str, callback_id: str) -> dict[str, Any]:
    """The last view opened for this callback, as Slack holds it (with its id), to submit."""
    calls = [
        c
        for c in bot.slack.calls_to("views.open")
        if c.ok and c.args["view"]["callback_id"] == callback_id
    ]
    view: dict[str, Any] = calls[-1].response["view"]
    return view


def dm_to(bot: Bot, user_id: str, count: int = 1) -> Call:
    return bot.slack.wait_for(
        "chat.postMessage", lambda c: c.ok and c.args["channel"] == f"D{user_id}", count=count
    )[-1]


def submit_team(bot: Bot, user_id: str, **values: Any) -> Response:
    open_by_command(bot, "team", user_id)
    state = {"managers": [], "assign_manager": None, "assign_reps": [], **values}
    return bot.submit(opened_view(bot, user_id, TEAM_CALLBACK), state, user_id=user_id)


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


# --- the team form ---------------------------------------------------------------------------


def test_the_team_form_opens_in_each_admins_language(admins_bot: Bot) -> None:
    saved = submit_team(
        admins_bot, EN_ADMIN, managers=[MANAGER, REP_NY], assign_manager=MANAGER, assign_reps=[REP]
    )
    assert saved.body in (b"", b"{}"), saved.text
    dm_to(admins_bot, EN_ADMIN)

    zh = open_by_command(admins_bot, "team", ZH_ADMIN)
    en = open_by_command(admins_bot, "团队", EN_ADMIN)

    assert (zh["title"]["text"], zh["submit"]["text"], zh["close"]["text"]) == (
        "团队",
        "保存",
        "取消",
    )
    assert (en["title"]["text"], en["submit"]["text"], en["close"]["text"]) == (
        "Team",
        "Save",
        "Cancel",
    )
    labels = {key: block["label"]["text"] for key, block in inputs(zh).items()}
    assert labels == {"managers": "主管", "assign_manager": "将组员分配给", "assign_reps": "组员"}
    assert [block["label"]["text"] for block in inputs(en).values()] == [
        "Managers",
        "Assign reps to",
        "Reps",
    ]
    listing = str(zh["blocks"][:3])
    assert "*当前团队*" in listing
    assert f"*<@{MANAGER}>* ：<@{REP}>" in listing
    assert f"*<@{REP_NY}>* ： _还没有组员_" in listing
    assert "*Current team*" in str(en["blocks"])
    assert "_no reps yet_" in str(en["blocks"])
    assert_chinese(zh, "ADMIN_USER_IDS")
    assert not set(texts(zh)) & set(texts(en))


def test_team_errors_refusal_and_confirmation_in_chinese(admins_bot: Bot) -> None:
    refused = admins_bot.requests.command("team", user_id=COLLEAGUE)
    assert refused.json()["text"].startswith("只有管理员可以管理团队")
    assert_chinese(refused.json()["blocks"], "ADMIN_USER_IDS")

    no_manager = errors_of(submit_team(admins_bot, ZH_ADMIN, managers=[MANAGER], assign_reps=[REP]))
    assert no_manager == {"assign_manager": "请选择这些组员归属的主管。"}
    clash = errors_of(
        submit_team(
            admins_bot,
            ZH_ADMIN,
            managers=[MANAGER, REP, REP_NY],
            assign_manager=MANAGER,
            assign_reps=[REP, REP_NY],
        )
    )
    assert clash["assign_reps"].startswith(f"<@{REP}>、<@{REP_NY}> 已被设为主管")
    # The same mistake, made by the English-speaking admin, is explained in English.
    english = errors_of(submit_team(admins_bot, EN_ADMIN, managers=[MANAGER], assign_reps=[REP]))
    assert english == {"assign_manager": "Pick the manager these reps report to."}

    saved = submit_team(
        admins_bot, ZH_ADMIN, managers=[MANAGER], assign_manager=MANAGER, assign_reps=[REP]
    )

    assert saved.body in (b"", b"{}"), saved.text
    dm = dm_to(admins_bot, ZH_ADMIN)
    errors, _warnings, too_long = validate_message(
        {"text": dm.args["text"], "blocks": dm.args["blocks"]}
    )
    assert errors == []
    assert not too_long
    assert dm.args["text"] == "团队已更新，共 2 项变更。"
    body = dm.args["blocks"][0]["text"]["text"]
    assert f"<@{MANAGER}> 已成为主管。" in body
    assert f"<@{REP}> 现归属 <@{MANAGER}>。" in body
    assert_chinese(dm.args["blocks"])


def test_a_big_team_fits_slacks_limits_in_chinese() -> None:
    zh = translator("zh")
    managers = tuple(f"U0MGR{n:04d}" for n in range(60))
    reps = {m: tuple(f"U0R{i:03d}{n:04d}" for i in range(300)) for n, m in enumerate(managers)}

    view = team_modal(TeamView(managers=managers, reps_by_manager=reps), zh)

    assert validate_view(view) == []
    listing = str(view["blocks"])
    assert "另有 20 位主管" in listing
    assert "名组员" in listing
    changes = [f"<@{rep}> 现归属 <@{managers[0]}>。" for rep in reps[managers[0]]]
    message = team_confirmation(changes, zh)
    errors, _warnings, too_long = validate_message(message)
    assert errors == []
    assert not too_long
    assert "……另有" in message["blocks"][0]["text"]["text"]


# --- the merge form --------------------------------------------------------------------------


def test_the_merge_form_opens_in_each_admins_language(admins_bot: Bot) -> None:
    zh = open_by_command(admins_bot, "合并", ZH_ADMIN)
    en = open_by_command(admins_bot, "merge", EN_ADMIN)

    assert zh["callback_id"] == en["callback_id"] == MERGE_CALLBACK
    assert (zh["title"]["text"], zh["submit"]["text"]) == ("合并客户", "合并")
    assert (en["title"]["text"], en["submit"]["text"]) == ("Merge customers", "Merge")
    pickers = inputs(zh)
    assert pickers["merge_keep"]["label"]["text"] == "保留此客户"
    assert pickers["merge_away"]["element"]["placeholder"]["text"] == "输入姓名、公司、电话或邮箱"
    assert inputs(en)["merge_keep"]["label"]["text"] == "Keep this customer"
    assert_chinese(zh)
    assert not set(texts(zh)) & set(texts(en))


def test_merge_errors_dm_and_undo_in_chinese(admins_bot: Bot) -> None:
    kept, away = two_customers(admins_bot)

    twice = submit_merge(admins_bot, keep=kept, away=kept, user_id=ZH_ADMIN)
    assert errors_of(twice) == {"merge_away": "两处选的是同一个客户，请选择两个不同的客户。"}
    by_rep = submit_merge(admins_bot, keep=kept, away=away, user_id=COLLEAGUE)
    assert errors_of(by_rep) == {"merge_away": "只有主管和管理员可以合并客户。"}

    merged = submit_merge(admins_bot, keep=kept, away=away, user_id=ZH_ADMIN)

    assert merged.body in (b"", b"{}"), merged.text
    dm = dm_to(admins_bot, ZH_ADMIN)
    assert dm.args["text"] == (
        "已将 *John Smith* · Acme Co., Ltd. 合并到 *Wang Lei* · Shanghai Mingde Technology "
        "Co., Ltd.，移过来 2 条跟进记录。保留的客户补上了原先缺少的邮箱。"
    )
    (button,) = dm.args["blocks"][-1]["elements"]
    assert button["text"]["text"] == "撤销合并"
    assert button["confirm"]["title"]["text"] == "撤销这次合并？"
    names = ("John Smith", "Acme Co., Ltd.", "Wang Lei", "Shanghai Mingde Technology Co., Ltd.")
    assert_chinese(dm.args["blocks"], *names)

    press(admins_bot, dm, "merge_undo", user_id=ZH_ADMIN)

    (update,) = admins_bot.slack.wait_for("chat.update")
    assert update.args["text"].startswith(f"<@{ZH_ADMIN}> 已撤销合并： *John Smith*")
    assert update.args["text"].endswith("并带回其 2 条跟进记录。")

    press(admins_bot, dm, "merge_undo", user_id=ZH_ADMIN)

    (notice,) = admins_bot.slack.wait_for("response_url")
    assert notice.args["text"] == "这次合并已经撤销过了，未做任何更改。"
    admins_bot.slack.wait_for("chat.update", count=2)


# --- /followup export ------------------------------------------------------------------------


def upload_of(bot: Bot, user_id: str) -> Call:
    (complete,) = [
        call
        for call in bot.slack.calls_to("files.completeUploadExternal")
        if call.args.get("channel_id") == f"D{user_id}"
    ]
    return complete


def test_a_chinese_admins_export_is_in_chinese_with_chinese_headers(admins_bot: Bot) -> None:
    log_followup(admins_bot)
    log_followup(admins_bot, user_id=REP_NY, **OTHER)

    ack, final = export_via_slack(admins_bot, "export", ZH_ADMIN)

    assert ack["text"] == "正在准备导出，文件会通过私信发给你。"
    assert final.args["text"] == "已通过私信发给你：2 条跟进记录。"
    assert uploaded_rows(admins_bot.slack, ZH_ADMIN)[0] == ZH_HEADERS
    complete = upload_of(admins_bot, ZH_ADMIN)
    assert complete.args["initial_comment"] == "所有人的跟进：2 条跟进。"
    (shared,) = complete.response["files"]
    assert shared["title"] == "跟进记录导出 2026年11月27日 周五"

    nothing = export_via_slack(admins_bot, "export status=won since=2026-11-26", ZH_ADMIN)[1]
    assert nothing.args["text"] == (
        "没有可导出的跟进记录（状态为已成交，自 11月26日 周四 起），未发送任何内容。"
    )
    bad = admins_bot.requests.command("导出 status=maybe", user_id=ZH_ADMIN).json()
    assert bad["text"].startswith("“maybe” 不是有效的状态。用法：`/followup export")


def test_an_english_admin_asking_for_chinese_headers_still_reads_english(admins_bot: Bot) -> None:
    log_followup(admins_bot)

    ack, final = export_via_slack(admins_bot, "export lang=zh", EN_ADMIN)

    assert "Preparing" in ack["text"]
    assert final.args["text"] == "Sent to your DM: 1 follow-up."
    assert uploaded_rows(admins_bot.slack, EN_ADMIN)[0] == ZH_HEADERS
    complete = upload_of(admins_bot, EN_ADMIN)
    assert complete.args["initial_comment"] == "Everyone's follow-ups: 1 follow-up."
    # New York's evening of Thursday 26th is the export's day for this admin.
    (shared,) = complete.response["files"]
    assert shared["title"] == "Follow-ups export Thu 26 Nov 2026"
    assert shared["name"] == "followups-2026-11-26.xlsx"


def test_a_chinese_admin_can_still_ask_for_english_headers(admins_bot: Bot) -> None:
    log_followup(admins_bot)

    _ack, final = export_via_slack(admins_bot, "export lang=en", ZH_ADMIN)

    assert final.args["text"] == "已通过私信发给你：1 条跟进记录。"
    assert uploaded_rows(admins_bot.slack, ZH_ADMIN)[0] == EN_HEADERS
