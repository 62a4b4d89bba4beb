"""App Home and customer lookup, through signed requests and the fake Slack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.models import FollowUp
from tests.conftest import COLLEAGUE, REP, REP_NY, Bot, running_bot
from tests.fake_slack import Call, FakeSlack
from tests.slack_requests import block_actions
from tests.test_reminders_e2e import DUE, log_followup


def home_publishes(bot: Bot, user_id: str = REP) -> list[Call]:
    return [c for c in bot.slack.calls_to("views.publish") if c.args["user_id"] == user_id]


def open_home(bot: Bot, user_id: str = REP) -> dict[str, Any]:
    before = len(home_publishes(bot, user_id))
    response = bot.requests.event(
        {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home"}
    )
    assert response.status == 200
    calls = bot.slack.wait_for(
        "views.publish", lambda c: c.args["user_id"] == user_id, count=before + 1
    )
    view: dict[str, Any] = calls[-1].response["view"]
    return view


def find(bot: Bot, query: str, *, user_id: str = REP) -> dict[str, Any]:
    response = bot.requests.command(f"find {query}", user_id=user_id)
    assert response.status == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- App Home ------------------------------------------------------------------------------


def test_home_shows_overdue_today_and_this_week(bot: Bot) -> None:
    log_followup(bot)  # Tue 1 Dec 15:00
    log_followup(
        bot, customer_name="李娜", phone="+86 139 0013 9000", email=None, next_at="明天上午10点"
    )
    log_followup(
        bot, customer_name="赵六", phone="+86 136 0013 6000", email=None, next_at="明天下午6点"
    )
    bot.clock.now = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # Sat 28 Nov 12:00 Shanghai

    view = open_home(bot)

    texts = [b["text"]["text"] for b in view["blocks"] if isinstance(b.get("text"), dict)]
    order = "\n".join(texts)
    assert order.index("Overdue (1)") < order.index("李娜") < order.index("Due today (1)")
    assert order.index("Due today (1)") < order.index("赵六") < order.index("Next 7 days (1)")
    assert order.index("Next 7 days (1)") < order.index("Wang Lei")
    actions = [b for b in view["blocks"] if b["type"] == "actions"]
    assert len(actions) == 3
    assert next(e["action_id"] for e in actions[0]["elements"]) == "reminder_done"
    assert view["blocks"][0]["accessory"]["action_id"] == "home_log_followup"


def test_home_is_redrawn_after_a_button_and_after_a_new_followup(bot: Bot) -> None:
    followup = log_followup(bot)
    bot.clock.now = DUE + timedelta(hours=1)
    view = open_home(bot)
    before = len(home_publishes(bot))

    payload = block_actions("reminder_done", view=view, user_id=REP)
    assert bot.requests.interactive(payload).status == 200

    calls = bot.slack.wait_for(
        "views.publish", lambda c: c.args["user_id"] == REP, count=before + 1
    )
    assert "Overdue (0)" in str(calls[-1].args["view"]["blocks"])
    with bot.db.reader() as session:
        done = session.get(FollowUp, followup.id)
        assert done is not None
        assert done.state == "done"
    assert "Wang Lei" in str(calls[-1].args["view"]["blocks"])  # under "Recently done"


def test_logging_a_followup_redraws_the_owners_home(bot: Bot) -> None:
    log_followup(bot)
    calls = bot.slack.wait_for("views.publish", lambda c: c.args["user_id"] == REP)
    assert "Wang Lei" in str(calls[-1].args["view"]["blocks"])


def test_home_log_followup_button_opens_the_form(bot: Bot) -> None:
    view = open_home(bot)
    payload = block_actions("home_log_followup", view=view, user_id=REP)
    assert bot.requests.interactive(payload).status == 200
    (opened,) = bot.slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "followup_modal"


# --- lookup --------------------------------------------------------------------------------


def test_find_by_phone_in_another_format_shows_the_card_with_its_timeline(bot: Bot) -> None:
    log_followup(bot)
    log_followup(bot, summary="Demoed the SSO setup to their IT lead.")

    body = find(bot, "138-0013-8000")

    text = str(body["blocks"])
    assert "Wang Lei" in text
    assert "+8613800138000" in text
    assert text.index("Demoed the SSO") < text.index("Quoted 200 seats")  # newest first
    assert "lookup_log_followup" in text


def test_find_fuzzy_company_and_chinese_names(bot: Bot) -> None:
    log_followup(
        bot,
        customer_name="John Smith",
        company="Acme Co., Ltd.",
        phone="+1 212 555 0100",
        email=None,
    )
    log_followup(
        bot,
        customer_name="李娜",
        company="上海某某科技有限公司",
        phone="+86 139 0013 9000",
        email=None,
    )

    assert "John Smith" in str(find(bot, "ACME")["blocks"])
    assert "李娜" in str(find(bot, "某某科技")["blocks"])
    assert "上海某某科技有限公司" in str(find(bot, "李娜")["blocks"])


def test_find_with_no_match_says_so(bot: Bot) -> None:
    log_followup(bot)
    body = find(bot, "Zebra Logistics")
    assert "No customer matches" in body["text"]


def test_find_with_many_matches_lists_them_and_opens_a_card(bot: Bot) -> None:
    for n, name in enumerate(["Acme Trading", "Acme Logistics", "Acme Foods"]):
        log_followup(
            bot,
            customer_name=f"Buyer {n}",
            company=name,
            phone=f"+86 138 0013 80{n:02d}",
            email=None,
        )

    body = find(bot, "Acme")

    buttons = [b["accessory"] for b in body["blocks"] if b.get("accessory")]
    assert len(buttons) == 3
    message = {"blocks": body["blocks"], "text": body["text"], "ts": "1.2", "channel": "C0SALES01"}
    payload = block_actions(
        "lookup_open_card", value=buttons[0]["value"], message=message, user_id=REP
    )
    assert bot.requests.interactive(payload).status == 200
    (reply,) = bot.slack.wait_for("response_url")
    assert reply.args["replace_original"] is True
    assert "Quoted 200 seats" in str(reply.args["blocks"])


def test_contact_details_are_masked_for_anyone_but_the_owner_and_admins(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url, admin_user_ids=REP_NY) as bot:
        log_followup(bot)

        own = str(find(bot, "Wang Lei", user_id=REP)["blocks"])
        colleague = str(find(bot, "Wang Lei", user_id=COLLEAGUE)["blocks"])
        admin = str(find(bot, "Wang Lei", user_id=REP_NY)["blocks"])

    assert "+8613800138000" in own
    assert "wang.lei@mingde.cn" in own
    assert "+8613800138000" not in colleague
    assert "wang.lei@mingde.cn" not in colleague
    assert "+86 138****8000" in colleague
    assert "w***@mingde.cn" in colleague
    assert "masked" in colleague
    assert "+8613800138000" in admin


def test_list_shows_my_open_followups(bot: Bot) -> None:
    log_followup(bot)
    bot.clock.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # Mon 20:00 Shanghai

    response = bot.requests.command("list", user_id=REP)

    body = response.json()
    assert "Your open follow-ups: 1" in body["text"]
    assert "*Next 7 days (1)*" in str(body["blocks"])
    assert "Wang Lei" in str(body["blocks"])
    with bot.db.reader() as session:
        assert session.scalars(select(FollowUp)).one().state == "open"


def test_log_followup_from_a_colleagues_card_does_not_reveal_their_contacts(bot: Bot) -> None:
    log_followup(bot)
    card = find(bot, "Wang Lei", user_id=COLLEAGUE)
    button = card["blocks"][0]["accessory"]
    message = {"blocks": card["blocks"], "text": card["text"], "ts": "1.2", "channel": "C0SALES01"}

    before = len(bot.slack.calls_to("views.open"))
    payload = block_actions(
        button["action_id"], value=button["value"], message=message, user_id=COLLEAGUE
    )
    assert bot.requests.interactive(payload).status == 200

    opened = bot.slack.wait_for("views.open", count=before + 1)[-1]
    by_id = {b.get("block_id"): b for b in opened.args["view"]["blocks"]}
    assert "initial_value" not in by_id["phone"]["element"]
    assert "initial_value" not in by_id["email"]["element"]
    assert "+8613800138000" not in str(opened.args["view"])
    assert f"Owned by <@{REP}>" in str(opened.args["view"])


def test_when_an_admin_acts_the_owners_home_is_redrawn_too(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url, admin_user_ids=REP_NY) as bot:
        followup = log_followup(bot)
        bot.clock.now = DUE + timedelta(hours=1)
        admin_home = open_home(bot, REP_NY)
        before = len(home_publishes(bot, REP))
        assert "Wang Lei" not in str(admin_home["blocks"])  # not on the admin's own list
        # Press Done as on REP's reminder DM.
        message = {
            "blocks": [
                {
                    "type": "actions",
                    "block_id": f"fu:{followup.id}",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "reminder_done",
                            "text": {"type": "plain_text", "text": "Done"},
                            "value": str(followup.id),
                        }
                    ],
                }
            ],
            "ts": "1.2",
            "channel": f"D{REP}",
            "text": "due",
        }
        payload = block_actions(
            "reminder_done", value=str(followup.id), message=message, user_id=REP_NY
        )
        assert bot.requests.interactive(payload).status == 200
        bot.slack.wait_for("views.publish", lambda c: c.args["user_id"] == REP, count=before + 1)
