"""Edits without lost updates, and the history of every change — through the running app."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from storage.models import ChangeLog, Customer, FollowUp, TeamMember
from tests.conftest import COLLEAGUE, REP, REP_NY, Bot
from tests.slack_requests import block_actions
from tests.test_followup_e2e import errors_of, good_values
from tests.test_reminders_e2e import log_followup


def open_edit(bot: Bot, *, user_id: str = REP) -> dict[str, Any]:
    before = len(bot.slack.calls_to("views.open"))
    response = bot.requests.command("edit", user_id=user_id)
    assert response.status == 200
    calls = bot.slack.wait_for("views.open", count=before + 1)
    view: dict[str, Any] = calls[-1].response["view"]
    return view


def edit_values(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The values the edit form was filled with, with some changed — as a rep would submit."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        block_id = block.get("block_id")
        if block.get("type") != "input" or block_id is None:
            continue
        if "initial_value" in element:
            values[block_id] = element["initial_value"]
        elif "initial_option" in element:
            values[block_id] = element["initial_option"]["value"]
        elif "initial_user" in element:
            values[block_id] = element["initial_user"]
    values.update(changes)
    return values


def confirmation_with_edit_button(followup_id: int) -> dict[str, Any]:
    """A confirmation message as Slack hands it back when its Edit button is pressed."""
    button = {
        "type": "button",
        "action_id": "followup_edit",
        "text": {"type": "plain_text", "text": "Edit"},
        "value": str(followup_id),
    }
    section = {
        "type": "section",
        "block_id": "b",
        "text": {"type": "mrkdwn", "text": "x"},
        "accessory": button,
    }
    return {"blocks": [section], "ts": "1.2", "channel": "C0SALES01", "text": "x"}


def saved(response: Any) -> None:
    assert response.body in (b"", b"{}"), response.text


def test_edit_opens_my_latest_followup_filled_in(bot: Bot) -> None:
    log_followup(bot)
    view = open_edit(bot)

    assert view["title"]["text"] == "Edit follow-up"
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id["summary"]["element"]["initial_value"].startswith("Quoted 200 seats")
    assert by_id["next_at"]["element"]["initial_value"] == "2026-12-01 15:00"
    assert "existing_customer" not in by_id


def test_an_edit_saves_the_changes_and_logs_before_and_after(bot: Bot) -> None:
    followup = log_followup(bot)
    view = open_edit(bot)

    saved(bot.submit(view, edit_values(view, summary="Quoted 250 seats at ¥78 after a call.")))

    with bot.db.reader() as session:
        row = session.get(FollowUp, followup.id)
        assert row is not None
        assert row.summary == "Quoted 250 seats at ¥78 after a call."
        assert row.version == 2
        edit = session.scalars(select(ChangeLog).where(ChangeLog.action == "edit")).one()
        assert edit.before == {
            "summary": "Quoted 200 seats at ¥80 per seat; they compare us with Acme on SSO."
        }
        assert edit.after == {"summary": "Quoted 250 seats at ¥78 after a call."}
    (reply,) = bot.slack.wait_for(
        "chat.postEphemeral", lambda c: "Saved your changes" in c.args["text"]
    )
    assert "summary" in reply.args["text"]


def test_a_changed_next_contact_moves_the_reminder(bot: Bot) -> None:
    followup = log_followup(bot)
    view = open_edit(bot)
    saved(bot.submit(view, edit_values(view, next_at="下周三下午3点")))
    with bot.db.reader() as session:
        row = session.get(FollowUp, followup.id)
        assert row is not None
        assert row.next_at == row.remind_at
        assert row.next_at.isoformat() == "2026-12-02T07:00:00+00:00"


def test_a_stale_form_is_refused_and_says_who_changed_what(bot: Bot) -> None:
    followup = log_followup(bot)
    first, second = open_edit(bot), open_edit(bot)
    saved(bot.submit(first, edit_values(first, feedback="Needs CFO and CTO sign-off now.")))

    errors = errors_of(bot.submit(second, edit_values(second, summary="Quoted 300 seats today.")))

    assert "changed this follow-up" in errors["customer_name"]
    assert "feedback" in errors["customer_name"]
    with bot.db.reader() as session:
        row = session.get(FollowUp, followup.id)
        assert row is not None
        assert row.summary.startswith("Quoted 200 seats")  # nothing overwritten
        assert row.feedback == "Needs CFO and CTO sign-off now."


def test_two_concurrent_edits_exactly_one_wins(bot: Bot) -> None:
    log_followup(bot)
    views = [open_edit(bot) for _ in range(2)]
    summaries = ["Quoted 210 seats at ¥79 per seat.", "Quoted 220 seats at ¥77 per seat."]

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(
            pool.map(
                lambda pair: bot.submit(pair[0], edit_values(pair[0], summary=pair[1])),
                zip(views, summaries, strict=True),
            )
        )

    outcomes = sorted("saved" if r.body in (b"", b"{}") else "conflict" for r in responses)
    assert outcomes == ["conflict", "saved"]
    with bot.db.reader() as session:
        edits = session.scalar(
            select(func.count()).select_from(ChangeLog).where(ChangeLog.action == "edit")
        )
        assert edits == 1


def test_someone_elses_followup_cannot_be_edited(bot: Bot) -> None:
    log_followup(bot)
    followup_id = log_followup(bot, customer_name="李娜", phone="+86 139 0013 9000", email=None).id
    payload_view = open_edit(bot)
    # COLLEAGUE presses the Edit button on REP's confirmation.
    message = confirmation_with_edit_button(followup_id)
    response = bot.requests.interactive(
        block_actions("followup_edit", message=message, user_id=COLLEAGUE)
    )
    assert response.status == 200
    (refusal,) = bot.slack.wait_for("response_url")
    assert f"belongs to <@{REP}>" in refusal.args["text"]
    assert payload_view  # REP's own edit form opened fine


def test_history_shows_every_change_to_the_owner_and_not_to_others(bot: Bot) -> None:
    log_followup(bot)
    view = open_edit(bot)
    saved(bot.submit(view, edit_values(view, summary="Quoted 250 seats at ¥78 after a call.")))

    own = bot.requests.command("history Wang Lei", user_id=REP).json()
    text = str(own["blocks"])
    assert "edited follow-up" in text
    assert "Quoted 250 seats" in text
    assert "created customer" in text

    # A text-only answer: Bolt sends it as plain text, which Slack shows ephemerally.
    other = bot.requests.command("history Wang Lei", user_id=COLLEAGUE)
    assert "visible to their owner" in other.text
    assert "Quoted" not in other.text


def test_a_manager_sees_their_reps_history(bot: Bot) -> None:
    log_followup(bot)
    with bot.db.transaction() as session:
        session.add(
            TeamMember(user_id=REP_NY, role="manager", manager_id=None, updated_by="U0ADMIN1")
        )
        session.add(TeamMember(user_id=REP, role="rep", manager_id=REP_NY, updated_by="U0ADMIN1"))
    body = bot.requests.command("history Wang Lei", user_id=REP_NY).json()
    assert "History of" in body["text"]


def test_the_card_shows_edits_in_its_timeline(bot: Bot) -> None:
    log_followup(bot)
    view = open_edit(bot)
    saved(bot.submit(view, edit_values(view, summary="Quoted 250 seats at ¥78 after a call.")))
    card = bot.requests.command("find Wang Lei", user_id=REP).json()
    assert f"Edited by <@{REP}>" in str(card["blocks"])


def test_edit_with_nothing_logged_says_so(bot: Bot) -> None:
    response = bot.requests.command("edit", user_id=REP)
    assert response.status == 200
    (reply,) = bot.slack.wait_for("response_url")
    assert "haven't logged a follow-up" in reply.args["text"]
    assert good_values()


def test_the_author_of_an_entry_on_a_colleagues_customer_edits_only_that_entry(bot: Bot) -> None:
    log_followup(bot, user_id=COLLEAGUE)
    with bot.db.reader() as session:
        customer_id = session.scalars(select(FollowUp.customer_id)).one()
    picked = {"text": {"type": "plain_text", "text": "Wang Lei"}, "value": str(customer_id)}
    saved(
        bot.submit(
            bot.open_modal(),
            {
                **good_values(
                    owner=COLLEAGUE,
                    summary="Met their CTO at the expo; SSO is the last blocker.",
                    email=None,
                    phone=None,
                ),
                "existing_customer": picked,
            },
        )
    )

    view = open_edit(bot)
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert "initial_value" not in by_id["phone"]["element"]
    assert "initial_value" not in by_id["email"]["element"]

    saved(
        bot.submit(
            view, edit_values(view, company="Hijacked Ltd", summary="Met their CTO; SSO blocks.")
        )
    )
    with bot.db.reader() as session:
        row = session.get(Customer, customer_id)
        assert row is not None
        assert row.company == "Shanghai Mingde Technology Co., Ltd."  # not the author's to change

    again = open_edit(bot)
    errors = errors_of(bot.submit(again, edit_values(again, owner=REP)))
    assert "Reassign" in errors["owner"]


def test_editing_an_old_entry_does_not_undo_a_later_status(bot: Bot) -> None:
    log_followup(bot)
    log_followup(bot, status="won", feedback="Signed the 200-seat contract: SSO decided it.")
    with bot.db.reader() as session:
        first_id = session.scalars(select(FollowUp.id).order_by(FollowUp.id).limit(1)).one()
    message = confirmation_with_edit_button(first_id)
    before = len(bot.slack.calls_to("views.open"))
    bot.requests.interactive(block_actions("followup_edit", message=message, user_id=REP))
    view = bot.slack.wait_for("views.open", count=before + 1)[-1].response["view"]

    saved(bot.submit(view, edit_values(view, summary="Quoted 200 seats at ¥80 — typo fixed.")))

    with bot.db.reader() as session:
        assert session.scalars(select(Customer.status)).one() == "won"


def test_marking_lost_is_not_possible_through_an_edit(bot: Bot) -> None:
    log_followup(bot)
    view = open_edit(bot)
    errors = errors_of(
        bot.submit(
            view,
            edit_values(
                view, status="lost", feedback="Went with Acme: 20% cheaper, no SSO needed."
            ),
        )
    )
    assert "log a new follow-up" in errors["status"]


def test_a_snooze_racing_an_edit_cannot_overwrite_it(bot: Bot) -> None:
    """Forced interleaving: a writer reads the follow-up, an edit commits, the writer saves."""
    from datetime import timedelta

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    followup = log_followup(bot)
    view = open_edit(bot)
    # A plain (deferred) session, so the edit can commit in between — on SQLite too, where
    # the late write then fails on the moved snapshot rather than on the version.
    with bot.db.reader() as stale:
        row = stale.get(FollowUp, followup.id)
        assert row is not None
        row.next_at = row.next_at + timedelta(hours=1)  # the snooze, read at version 1
        saved(bot.submit(view, edit_values(view, summary="Quoted 250 seats at ¥78 after a call.")))
        try:
            stale.commit()
        except (StaleDataError, OperationalError):
            stale.rollback()
        else:
            raise AssertionError("the stale write went through")
    with bot.db.reader() as session:
        current = session.get(FollowUp, followup.id)
        assert current is not None
        assert current.summary == "Quoted 250 seats at ¥78 after a call."
        assert current.version == 2
