"""Reminders end to end: follow-ups logged through the modal come due, the sweep DMs their owner
through the fake Slack, and the buttons are pressed with signed block_actions requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.reminders import SweepReport
from storage.models import ChangeLog, FollowUp, ReminderDelivery
from tests.conftest import COLLEAGUE, REP, REP_NY, Bot
from tests.fake_slack import Call
from tests.slack_requests import block_actions
from tests.test_followup_e2e import good_values

DUE = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # "next Tue 3pm" in Shanghai, from FIXED_NOW


def log_followup(bot: Bot, *, user_id: str = REP, **values: Any) -> FollowUp:
    """Log a follow-up the way a rep does: /followup, fill the modal, submit."""
    view = bot.open_modal(user_id=user_id)
    published = len(bot.slack.calls_to("views.publish"))
    response = bot.submit(view, good_values(owner=user_id, **values), user_id=user_id)
    assert response.body in (b"", b"{}"), response.text
    # Saving ends (after the ack) with redrawing the owner's Home tab: wait for that, so the
    # test's next step never races the bot's last one.
    bot.slack.wait_for("views.publish", count=published + 1)
    with bot.db.reader() as session:
        newest = session.scalars(select(FollowUp).order_by(FollowUp.id.desc()).limit(1)).one()
        return newest


def sweep_at(bot: Bot, moment: datetime) -> SweepReport:
    bot.clock.now = moment
    return bot.services.reminders.sweep(moment)


def dms(bot: Bot, user_id: str = REP) -> list[Call]:
    return [
        call
        for call in bot.slack.calls_to("chat.postMessage")
        if call.ok and call.args["channel"] == f"D{user_id}"
    ]


def message_of(call: Call) -> dict[str, Any]:
    """The posted message as Slack would hand it back in a block_actions payload."""
    return {
        **call.response["message"],
        "ts": call.response["ts"],
        "channel": call.response["channel"],
    }


def press(bot: Bot, dm: Call, action_id: str, *, user_id: str = REP, **kwargs: Any) -> None:
    payload = block_actions(action_id, message=message_of(dm), user_id=user_id, **kwargs)
    response = bot.requests.interactive(payload)
    assert response.status == 200, response.text


def deliveries(bot: Bot) -> list[ReminderDelivery]:
    with bot.db.reader() as session:
        return list(session.scalars(select(ReminderDelivery).order_by(ReminderDelivery.id)))


def test_due_followup_is_dmed_once_with_its_details_and_buttons(bot: Bot) -> None:
    followup = log_followup(bot)
    assert sweep_at(bot, DUE - timedelta(minutes=1)).sent == []

    report = sweep_at(bot, DUE)

    assert len(report.sent) == 1
    (dm,) = dms(bot)
    rendered = str(dm.args["blocks"])
    for expected in [
        "Wang Lei",
        "Shanghai Mingde Technology",
        "Quoted 200 seats",
        "Needs CFO sign-off",
        "Send the revised quote",
        "Tue 1 Dec 15:00 (Asia/Shanghai)",
    ]:
        assert expected in rendered
    buttons = [e["action_id"] for e in dm.args["blocks"][-1]["elements"]]
    assert buttons == ["reminder_done", "reminder_log_next", "reminder_snooze", "reminder_reassign"]
    (delivery,) = deliveries(bot)
    assert (delivery.followup_id, delivery.status, delivery.due_at) == (followup.id, "sent", DUE)
    assert delivery.message_ts == dm.response["ts"]

    assert sweep_at(bot, DUE + timedelta(minutes=5)).sent == []
    assert len(dms(bot)) == 1


def test_done_closes_the_followup_and_replaces_the_buttons(bot: Bot) -> None:
    followup = log_followup(bot)
    sweep_at(bot, DUE)
    (dm,) = dms(bot)

    press(bot, dm, "reminder_done")
    (update_call,) = bot.slack.wait_for("chat.update")

    assert update_call.args["ts"] == dm.response["ts"]
    assert all(block["type"] != "actions" for block in update_call.args["blocks"])
    assert "Done — marked by" in str(update_call.args["blocks"])
    with bot.db.reader() as session:
        closed = session.get(FollowUp, followup.id)
        assert closed is not None
        assert (closed.state, closed.done_by, closed.remind_at) == ("done", REP, None)

    press(bot, dm, "reminder_done")  # a second click changes nothing
    bot.slack.wait_for("chat.update", count=2)
    with bot.db.reader() as session:
        done_rows = session.scalar(
            select(func.count()).select_from(ChangeLog).where(ChangeLog.action == "done")
        )
    assert done_rows == 1


def test_snooze_makes_it_due_again_at_the_snoozed_time(bot: Bot) -> None:
    followup = log_followup(bot)
    sweep_at(bot, DUE)
    (dm,) = dms(bot)

    press(bot, dm, "reminder_snooze", selected_option_value=f"{followup.id}:1h")
    bot.slack.wait_for("chat.update")

    with bot.db.reader() as session:
        snoozed = session.get(FollowUp, followup.id)
        assert snoozed is not None
        assert snoozed.next_at == DUE + timedelta(hours=1)
    assert sweep_at(bot, DUE + timedelta(minutes=59)).sent == []
    assert len(sweep_at(bot, DUE + timedelta(hours=1)).sent) == 1
    assert len(dms(bot)) == 2


def test_snooze_to_tomorrow_uses_the_owners_default_hour(bot: Bot) -> None:
    followup = log_followup(bot)
    sweep_at(bot, DUE)
    (dm,) = dms(bot)
    press(bot, dm, "reminder_snooze", selected_option_value=f"{followup.id}:tomorrow")
    (update_call,) = bot.slack.wait_for("chat.update")
    assert "Wed 2 Dec 09:00 (Asia/Shanghai)" in str(update_call.args["blocks"])


def test_log_next_opens_the_modal_prefilled_with_this_customer(bot: Bot) -> None:
    log_followup(bot)
    sweep_at(bot, DUE)
    (dm,) = dms(bot)
    opened_before = len(bot.slack.calls_to("views.open"))

    press(bot, dm, "reminder_log_next")

    calls = bot.slack.wait_for("views.open", count=opened_before + 1)
    blocks = {b.get("block_id"): b for b in calls[-1].args["view"]["blocks"]}
    assert blocks["customer_name"]["element"]["initial_value"] == "Wang Lei"
    assert blocks["phone"]["element"]["initial_value"] == "+8613800138000"


def test_reassign_hands_over_and_tells_the_new_owner(bot: Bot) -> None:
    followup = log_followup(bot)
    sweep_at(bot, DUE)
    (dm,) = dms(bot)

    press(bot, dm, "reminder_reassign", selected_user=COLLEAGUE)

    (notice,) = bot.slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == f"D{COLLEAGUE}"
    )
    assert "handed" in notice.args["text"]
    bot.slack.wait_for("chat.update")
    with bot.db.reader() as session:
        moved = session.get(FollowUp, followup.id)
        assert moved is not None
        assert moved.owner_id == COLLEAGUE
        assert moved.customer.owner_id == COLLEAGUE
    # It is due, so the new owner gets their own reminder at the next sweep.
    assert len(sweep_at(bot, DUE + timedelta(minutes=1)).sent) == 1
    assert len(dms(bot, COLLEAGUE)) == 2


def test_someone_else_pressing_a_button_is_refused_and_nothing_changes(bot: Bot) -> None:
    followup = log_followup(bot)
    sweep_at(bot, DUE)
    (dm,) = dms(bot)

    press(bot, dm, "reminder_done", user_id=COLLEAGUE)

    (refusal,) = bot.slack.wait_for("response_url")
    assert f"belongs to <@{REP}>" in refusal.args["text"]
    assert refusal.args.get("response_type") == "ephemeral"
    with bot.db.reader() as session:
        unchanged = session.get(FollowUp, followup.id)
        assert unchanged is not None
        assert unchanged.state == "open"
    assert bot.slack.calls_to("chat.update") == []


def test_rate_limit_then_server_error_then_ok_sends_exactly_one_dm(bot: Bot) -> None:
    log_followup(bot)
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    bot.slack.fail_next("chat.postMessage", status=500)

    report = sweep_at(bot, DUE)

    assert len(report.sent) == 1
    attempts = bot.slack.calls_to("chat.postMessage")
    assert [call.status for call in attempts] == [429, 500, 200]
    assert len(deliveries(bot)) == 1


def test_a_failure_that_outlasts_the_retries_is_retried_at_a_later_sweep(bot: Bot) -> None:
    log_followup(bot)
    bot.slack.fail_next("chat.postMessage", status=500, times=3)

    first = sweep_at(bot, DUE)

    assert first.sent == []
    assert len(first.retrying) == 1
    assert sweep_at(bot, DUE + timedelta(seconds=30)).sent == []  # backing off
    assert len(sweep_at(bot, DUE + timedelta(minutes=2)).sent) == 1
    assert len(dms(bot)) == 1


@pytest.mark.parametrize("error", ["account_inactive", "user_not_found"])
def test_a_permanent_error_marks_the_reminder_undeliverable(bot: Bot, error: str) -> None:
    followup = log_followup(bot)
    bot.slack.fail_next("chat.postMessage", error=error)

    report = sweep_at(bot, DUE)

    assert len(report.undeliverable) == 1
    (delivery,) = deliveries(bot)
    assert (delivery.status, delivery.error) == ("undeliverable", error)
    assert sweep_at(bot, DUE + timedelta(hours=3)).undeliverable == []
    with bot.db.reader() as session:
        row = session.get(FollowUp, followup.id)
        assert row is not None
        assert row.remind_at is None


def test_many_due_at_once_become_one_digest(bot: Bot) -> None:
    for n in range(7):
        log_followup(
            bot, customer_name=f"Customer {n}", phone=f"+86 138 0013 80{n:02d}", email=None
        )

    report = sweep_at(bot, DUE)

    assert len(report.sent) == 7
    (digest,) = dms(bot)
    assert "7 follow-ups are due" in digest.args["text"]
    actions = [b for b in digest.args["blocks"] if b["type"] == "actions"]
    assert len(actions) == 7


def test_a_digest_longer_than_a_message_is_paged_within_slacks_limits(bot: Bot) -> None:
    first = log_followup(bot)
    with bot.db.transaction() as session:
        template = session.get(FollowUp, first.id)
        assert template is not None
        for n in range(59):
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

    report = sweep_at(bot, DUE)

    assert len(report.sent) == 60
    pages = dms(bot)
    assert len(pages) == 3  # 24 + 24 + 12 items
    assert all(len(page.args["blocks"]) <= 50 for page in pages)


def test_overdue_followup_is_escalated_once_to_owner_and_manager(
    slack: Any, database_url: str
) -> None:
    from tests.conftest import running_bot

    with running_bot(slack, database_url, admin_user_ids=COLLEAGUE) as bot:
        log_followup(bot)
        sweep_at(bot, DUE)
        assert sweep_at(bot, DUE + timedelta(hours=47)).sent == []

        report = sweep_at(bot, DUE + timedelta(hours=48))

        kinds = sorted(line.split()[0] for line in report.sent)
        assert kinds == ["escalation", "escalation_manager"]
        assert len(dms(bot, REP)) == 2
        (to_manager,) = dms(bot, COLLEAGUE)
        assert f"<@{REP}>" in to_manager.args["blocks"][0]["text"]["text"]
        assert sweep_at(bot, DUE + timedelta(hours=72)).sent == []


def test_due_time_is_kept_across_a_dst_change_and_shown_in_the_owners_zone(bot: Bot) -> None:
    bot.clock.now = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York, EST
    log_followup(bot, user_id=REP_NY, next_at="in 2 weeks")
    due = datetime(2027, 3, 16, 13, 0, tzinfo=UTC)  # 09:00 EDT, after the clocks moved

    assert sweep_at(bot, due - timedelta(minutes=1)).sent == []
    assert len(sweep_at(bot, due).sent) == 1
    (dm,) = dms(bot, REP_NY)
    assert "Tue 16 Mar 09:00 (America/New_York)" in str(dm.args["blocks"])


def test_owners_in_two_zones_each_see_their_own_time(bot: Bot) -> None:
    log_followup(bot, user_id=REP)
    log_followup(
        bot, user_id=REP_NY, customer_name="Li Na", phone="+86 139 0013 9000", email="li.na@x.cn"
    )

    sweep_at(bot, DUE + timedelta(days=1))

    assert "(Asia/Shanghai)" in dms(bot, REP)[0].args["text"]
    assert "(America/New_York)" in dms(bot, REP_NY)[0].args["text"]


def test_a_followup_closed_before_it_is_due_is_never_reminded(bot: Bot) -> None:
    followup = log_followup(bot)
    with bot.db.transaction() as session:
        closed = update(FollowUp).where(FollowUp.id == followup.id)
        session.execute(closed.values(state="done", remind_at=None))
    assert sweep_at(bot, DUE).sent == []
