"""Reminders in the reader's language, end to end: each DM, digest page, escalation, notice,
button outcome and refusal is written in the language (and time zone) of the person who reads it.

A Chinese rep (Slack locale zh-CN) and an English one log follow-ups through the modal; the sweep
DMs them through the fake Slack, which validates every message; buttons are pressed with signed
block_actions requests.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import FollowUp
from tests.conftest import COLLEAGUE, REP, REP_NY, Bot, running_bot
from tests.fake_slack import Call, FakeSlack
from tests.test_followup_e2e import good_values
from tests.test_reminders_e2e import DUE, dms, log_followup, press, sweep_at

ZH_PEER = "U0ZHPEER1"  # a second Chinese-speaking user, in Shanghai
DUE_NY = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # "next Tue 3pm" in New York, from FIXED_NOW
BOTH_DUE = DUE_NY + timedelta(minutes=1)
# What the reps typed: it is shown as typed, in any language.
TYPED = good_values()
USER_VALUES = [str(TYPED[key]) for key in ("customer_name", "company", "summary", "feedback")]
USER_VALUES.append(str(TYPED["next_action"]))

# The fixed parts of a reminder DM, in English: none may show in a Chinese one.
ENGLISH_DM_PARTS = ["Follow up with", "Last time", "They said", "Next step", "Log next", "Snooze"]


@pytest.fixture
def slack(slack: FakeSlack) -> FakeSlack:
    """REP reads Chinese (their Slack is set to zh-CN); REP_NY and COLLEAGUE read English."""
    slack.set_user(REP, tz="Asia/Shanghai", locale="zh-CN")
    slack.set_user(ZH_PEER, tz="Asia/Shanghai", locale="zh-CN")
    return slack


def visible_texts(message: dict[str, Any]) -> list[str]:
    """Every string a person reads in a message: its text, and every text object in its blocks."""
    found = [str(message.get("text") or "")]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks"))
    return found


def english_words(texts: list[str], *typed: str) -> list[str]:
    """Latin words left once what users typed, emoji codes, mentions and zone names are removed:
    in a Chinese message, any such word is an English message id that leaked through."""
    words: list[str] = []
    for text in texts:
        for value in [*USER_VALUES, *typed]:
            text = text.replace(value, "")
        text = re.sub(r":[a-z_]+:", "", text)
        text = re.sub(r"<@U[0-9A-Z]+>", "", text)
        text = re.sub(r"\([A-Za-z_]+/[A-Za-z_]+\)", "", text)
        words += re.findall(r"[A-Za-z]{2,}", text)
    return words


def rendered(call: Call) -> str:
    return "\n".join(visible_texts(call.args))


def assert_valid(bot: Bot, *calls: Call) -> None:
    assert all(call.ok for call in calls)
    assert bot.slack.validation_errors == []


def buttons_of(message: dict[str, Any], followup_id: int) -> dict[str, Any]:
    (block,) = [b for b in message["blocks"] if b.get("block_id") == f"fu:{followup_id}"]
    return {element["action_id"]: element for element in block["elements"]}


def log_for_ny(bot: Bot, **values: Any) -> FollowUp:
    return log_followup(
        bot,
        user_id=REP_NY,
        customer_name="Li Na",
        phone="+86 139 0013 9000",
        email="li.na@example.cn",
        **values,
    )


def the_update(bot: Bot, dm: Call) -> Call:
    """The chat.update that replaced the buttons on `dm`."""
    (update,) = bot.slack.wait_for("chat.update", lambda c: c.args["ts"] == dm.response["ts"])
    return update


# --- the DM itself ---------------------------------------------------------------------------


def test_each_owner_reads_their_due_reminder_in_their_language(bot: Bot) -> None:
    zh_followup = log_followup(bot)
    en_followup = log_for_ny(bot)

    assert len(sweep_at(bot, BOTH_DUE).sent) == 2

    (zh_dm,) = dms(bot, REP)
    (en_dm,) = dms(bot, REP_NY)
    assert_valid(bot, zh_dm, en_dm)

    zh = rendered(zh_dm)
    for expected in [
        "请跟进 *Wang Lei* · Shanghai Mingde Technology Co., Ltd.",
        "到期时间：12月1日 周二 15:00 (Asia/Shanghai)，13小时前",
        "*上次沟通：*\nQuoted 200 seats",
        "*客户反馈：*\nNeeds CFO sign-off",
        "*下一步：* Send the revised quote",
    ]:
        assert expected in zh
    assert zh_dm.args["text"].startswith("跟进到期：Wang Lei（Shanghai Mingde")
    zh_buttons = buttons_of(zh_dm.args, zh_followup.id)
    assert zh_buttons["reminder_done"]["text"]["text"] == "完成"
    assert zh_buttons["reminder_log_next"]["text"]["text"] == "记录下次跟进"
    assert zh_buttons["reminder_snooze"]["placeholder"]["text"] == "稍后提醒"
    assert zh_buttons["reminder_reassign"]["placeholder"]["text"] == "转交他人"
    options = [o["text"]["text"] for o in zh_buttons["reminder_snooze"]["options"]]
    assert options == ["1小时后", "明天上午", "下周一"]
    assert english_words(visible_texts(zh_dm.args)) == []
    assert not any(part in zh for part in ENGLISH_DM_PARTS)

    en = rendered(en_dm)
    assert "Follow up with *Li Na*" in en
    assert "due Tue 1 Dec 15:00 (America/New_York), 1 minute ago" in en
    assert "*Last time:*" in en
    assert "*Next step:*" in en
    en_buttons = buttons_of(en_dm.args, en_followup.id)
    assert en_buttons["reminder_done"]["text"]["text"] == "Done"
    en_options = [o["text"]["text"] for o in en_buttons["reminder_snooze"]["options"]]
    assert en_options == ["1 hour", "Tomorrow morning", "Next Monday"]
    assert not re.search(r"[\u4e00-\u9fff]", en.replace("Li Na", ""))


def test_a_digest_is_paged_in_the_owners_language(bot: Bot) -> None:
    first = log_followup(bot)
    with bot.db.transaction() as session:
        template = session.get(FollowUp, first.id)
        assert template is not None
        for n in range(29):
            session.add(
                FollowUp(
                    customer_id=template.customer_id,
                    author_id=REP,
                    owner_id=REP,
                    contacted_at=template.contacted_at,
                    method="phone",
                    summary=template.summary,
                    feedback=template.feedback,
                    status_after="interested",
                    next_at=DUE - timedelta(minutes=n),
                    next_action=f"Step {n}",
                    remind_at=DUE - timedelta(minutes=n),
                )
            )
    asked_before = len(bot.slack.calls_to("users.info"))

    assert len(sweep_at(bot, DUE).sent) == 30

    pages = dms(bot, REP)
    assert len(pages) == 2  # 24 + 6 items
    assert_valid(bot, *pages)
    for page in pages:
        assert page.args["text"] == "有 30 条跟进到期"
        assert (
            page.args["blocks"][0]["text"]["text"] == ":bell: *有 30 条跟进到期。* 最早到期的在前："
        )
        assert len(page.args["blocks"]) <= 50
        typed = [f"Step {n}" for n in range(29)]
        assert english_words(visible_texts(page.args), *sorted(typed, key=len, reverse=True)) == []
    assert "Send the revised quote with a 3-year discount（到期时间：12月1日 周二 15:00" in (
        rendered(pages[0]) + rendered(pages[1])
    )
    # One look-up of the owner's language and zone for the whole sweep, however many items.
    assert len(bot.slack.calls_to("users.info")) - asked_before <= 1


# --- the buttons -----------------------------------------------------------------------------

EXPECTED_NOTES = {
    "zh": {
        "done": f":white_check_mark: 已完成，由 <@{REP}> 于 12月2日 周三 04:01 (Asia/Shanghai)",
        "snooze": ":zzz: <@{user}> 已推迟到 12月3日 周四 09:00 (Asia/Shanghai)，1天后",
        "reassign": f":arrow_right: <@{{user}}> 已转交给 <@{COLLEAGUE}>",
        "log_next": ":memo: <@{user}> 正在记录下次跟进（保存后本条自动关闭）",
    },
    "en": {
        "done": f":white_check_mark: Done — marked by <@{REP_NY}>, Tue 1 Dec 15:01 "
        "(America/New_York)",
        "snooze": ":zzz: Snoozed by <@{user}> until Wed 2 Dec 09:00 (America/New_York), "
        "in 18 hours",
        "reassign": f":arrow_right: Reassigned by <@{{user}}> to <@{COLLEAGUE}>",
        "log_next": ":memo: <@{user}> is logging the next follow-up",
    },
}


@pytest.mark.parametrize(("owner", "language"), [(REP, "zh"), (REP_NY, "en")])
def test_each_button_says_what_happened_in_the_owners_language(
    bot: Bot, owner: str, language: str
) -> None:
    expected = {key: note.format(user=owner) for key, note in EXPECTED_NOTES[language].items()}
    logged = {}
    for n, key in enumerate(["done", "snooze", "reassign", "log_next"]):
        values: dict[str, Any] = {
            "customer_name": f"Customer {n}",
            "phone": f"+86 138 0013 80{n:02d}",
            "email": None,
        }
        logged[key] = log_followup(bot, user_id=owner, **values)
    sweep_at(bot, BOTH_DUE)
    by_id = {}
    for dm in dms(bot, owner):
        (actions,) = [b for b in dm.args["blocks"] if b["type"] == "actions"]
        by_id[int(actions["block_id"].removeprefix("fu:"))] = dm
    assert len(by_id) == 4

    press(bot, by_id[logged["done"].id], "reminder_done", user_id=owner)
    assert expected["done"] in str(the_update(bot, by_id[logged["done"].id]).args["blocks"])

    snooze_dm = by_id[logged["snooze"].id]
    press(
        bot,
        snooze_dm,
        "reminder_snooze",
        user_id=owner,
        selected_option_value=f"{logged['snooze'].id}:tomorrow",
    )
    assert expected["snooze"] in str(the_update(bot, snooze_dm).args["blocks"])

    reassign_dm = by_id[logged["reassign"].id]
    press(bot, reassign_dm, "reminder_reassign", user_id=owner, selected_user=COLLEAGUE)
    assert expected["reassign"] in str(the_update(bot, reassign_dm).args["blocks"])
    # COLLEAGUE reads English: the notice is in English, in their zone, whoever handed it over.
    (notice,) = bot.slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == f"D{COLLEAGUE}"
    )
    assert (
        notice.args["text"] == "Customer 2 (Shanghai Mingde Technology Co., Ltd.) was handed to you"
    )
    assert (
        f":arrow_right: <@{owner}> handed *Customer 2* · Shanghai Mingde Technology Co., Ltd. to "
        "you. Next contact: "
    ) in rendered(notice)
    assert re.search(
        r"Next contact: \w{3} \d Dec 0?\d+:00 \(Asia/Shanghai\), \d+ \w+ ago\.", rendered(notice)
    )

    log_dm = by_id[logged["log_next"].id]
    opened_before = len(bot.slack.calls_to("views.open"))
    press(bot, log_dm, "reminder_log_next", user_id=owner)
    bot.slack.wait_for("views.open", count=opened_before + 1)
    assert expected["log_next"] in str(the_update(bot, log_dm).args["blocks"])

    updates = bot.slack.calls_to("chat.update")
    assert_valid(bot, notice, *updates)
    if language == "zh":
        outcomes = [str(u.args["blocks"][-1]) for u in updates]
        assert all(re.search(r"[\u4e00-\u9fff]", outcome) for outcome in outcomes)
        for update in updates:
            context = update.args["blocks"][-1]["elements"][0]["text"]
            assert english_words([context]) == []


def test_the_updated_dm_stays_in_its_owners_language_when_an_admin_acts(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url, admin_user_ids=COLLEAGUE) as bot:
        log_followup(bot)
        sweep_at(bot, DUE)
        (dm,) = dms(bot, REP)

        press(bot, dm, "reminder_done", user_id=COLLEAGUE)

        note = str(the_update(bot, dm).args["blocks"])
        assert f":white_check_mark: 已完成，由 <@{COLLEAGUE}> 于 12月1日 周二 15:00" in note
        assert bot.slack.calls_to("response_url") == []


def test_someone_else_pressing_is_refused_in_their_own_language(bot: Bot) -> None:
    followup = log_for_ny(bot)
    sweep_at(bot, BOTH_DUE)
    (dm,) = dms(bot, REP_NY)

    press(bot, dm, "reminder_done", user_id=ZH_PEER)

    (refusal,) = bot.slack.wait_for("response_url")
    assert refusal.args["text"] == (f"这条跟进属于 <@{REP_NY}>，只有负责人本人或管理员可以操作。")
    assert refusal.args.get("response_type") == "ephemeral"
    assert bot.slack.calls_to("chat.update") == []
    with bot.db.reader() as session:
        assert session.scalars(select(FollowUp.state).where(FollowUp.id == followup.id)).one() == (
            "open"
        )

    press(bot, dm, "reminder_done", user_id=COLLEAGUE)  # an English colleague: English
    refusals = bot.slack.wait_for("response_url", count=2)
    assert refusals[1].args["text"].startswith(f"This follow-up belongs to <@{REP_NY}>")


# --- escalation ------------------------------------------------------------------------------


def test_one_escalation_goes_out_in_each_readers_language(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url, admin_user_ids=f"{COLLEAGUE},{ZH_PEER}") as bot:
        log_followup(bot)  # REP, Chinese
        log_for_ny(bot)  # REP_NY, English
        sweep_at(bot, BOTH_DUE)

        report = sweep_at(bot, DUE_NY + timedelta(hours=48, minutes=1))

        kinds = sorted(line.split()[0] for line in report.sent)
        assert kinds == ["escalation"] * 2 + ["escalation_manager"] * 4
        (zh_owner,) = dms(bot, REP)[1:]
        (en_owner,) = dms(bot, REP_NY)[1:]
        en_admin = {c.args["text"]: c for c in dms(bot, COLLEAGUE)}
        zh_admin = {c.args["text"]: c for c in dms(bot, ZH_PEER)}
        assert_valid(bot, zh_owner, en_owner, *en_admin.values(), *zh_admin.values())

        assert ":warning: *已逾期：* *Wang Lei* · Shanghai Mingde" in rendered(zh_owner)
        assert "请今天跟进，或推迟到确定的日期，或转交他人。" in rendered(zh_owner)
        assert re.search(r"12月1日 周二 15:00 \(Asia/Shanghai\)，\d天前", rendered(zh_owner))
        assert english_words(visible_texts(zh_owner.args)) == []
        assert ":warning: *Overdue:* *Li Na* · Shanghai Mingde" in rendered(en_owner)
        assert "Tue 1 Dec 15:00 (America/New_York), 2 days ago" in rendered(en_owner)
        assert not re.search(r"[\u4e00-\u9fff]", rendered(en_owner))

        # The same two items, to an English admin and to a Chinese one.
        assert set(en_admin) == {
            "Overdue follow-up for Wang Lei (Shanghai Mingde Technology Co., Ltd.)",
            "Overdue follow-up for Li Na (Shanghai Mingde Technology Co., Ltd.)",
        }
        assert set(zh_admin) == {
            "逾期跟进：Wang Lei（Shanghai Mingde Technology Co., Ltd.）",
            "逾期跟进：Li Na（Shanghai Mingde Technology Co., Ltd.）",
        }
        en_note = rendered(en_admin[next(k for k in en_admin if "Wang Lei" in k)])
        assert f"<@{REP}>'s follow-up with *Wang Lei*" in en_note
        assert re.search(
            r"is overdue \(due Tue 1 Dec 15:00 \(Asia/Shanghai\), \d days ago\)", en_note
        )
        zh_note = rendered(zh_admin[next(k for k in zh_admin if "Li Na" in k)])
        assert f"<@{REP_NY}> 负责的 *Li Na* · Shanghai Mingde" in zh_note
        assert "跟进已逾期（到期时间：12月2日 周三 04:00 (Asia/Shanghai)，2天前）" in zh_note
        for note in zh_admin.values():
            assert english_words(visible_texts(note.args), "Li Na") == []
