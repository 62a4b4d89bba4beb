"""/followup end to end: signed requests over HTTP into the running app, fake Slack on loopback,
real migrations, SQLite and PostgreSQL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storage.models import ChangeLog, Customer, FollowUp
from tests.conftest import COLLEAGUE, FIXED_NOW, REP, REP_NY, Bot
from tests.slack_requests import view_submission

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")

MODAL_BLOCK_IDS = [
    "existing_customer",
    "customer_name",
    "company",
    "phone",
    "email",
    "contacted_at",
    "method",
    "summary",
    "feedback",
    "owner",
    "next_at",
    "next_action",
    "status",
    "notes",
    "confirm",
]


def good_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer_name": "Wang Lei",
        "company": "Shanghai Mingde Technology Co., Ltd.",
        "phone": "+86 138 0013 8000",
        "email": "wang.lei@mingde.cn",
        "method": "phone",
        "summary": "Quoted 200 seats at ¥80 per seat; they compare us with Acme on SSO.",
        "feedback": "Needs CFO sign-off; budget is decided in December.",
        "owner": REP,
        "next_at": "next Tue 3pm",
        "next_action": "Send the revised quote with a 3-year discount",
        "status": "interested",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def count(bot: Bot, model: type[Any]) -> int:
    with bot.db.reader() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def only_followup(bot: Bot) -> FollowUp:
    with bot.db.reader() as session:
        rows = session.scalars(select(FollowUp)).all()
        assert len(rows) == 1
        return rows[0]


def errors_of(response: Any) -> dict[str, str]:
    assert response.status == 200, response.text
    body = response.json()
    assert body["response_action"] == "errors", body
    errors: dict[str, str] = body["errors"]
    return errors


# --- opening the modal -----------------------------------------------------------------------


def test_followup_command_opens_the_modal_with_every_field(bot: Bot) -> None:
    view = bot.open_modal()

    call = bot.slack.calls_to("views.open")[0]
    assert call.args["trigger_id"]
    input_ids = [block["block_id"] for block in view["blocks"] if block["type"] == "input"]
    assert input_ids == MODAL_BLOCK_IDS
    optional = {b["block_id"] for b in view["blocks"] if b["type"] == "input" and b["optional"]}
    # next_at and next_action are optional in the form only so that a lost customer needs none;
    # the server requires them for every other status.
    assert optional == {
        "existing_customer",
        "phone",
        "email",
        "next_at",
        "next_action",
        "notes",
        "confirm",
    }
    owner = next(b for b in view["blocks"] if b["block_id"] == "owner")
    assert owner["element"]["initial_user"] == REP
    next_at = next(b for b in view["blocks"] if b["block_id"] == "next_at")
    assert "Asia/Shanghai" in next_at["hint"]["text"]
    status = next(b for b in view["blocks"] if b["block_id"] == "status")
    status_values = [o["value"] for o in status["element"]["options"]]
    assert status_values == ["prospect", "interested", "won", "existing", "lost"]


def test_command_text_prefills_the_customer_name(bot: Bot) -> None:
    view = bot.open_modal("Acme Trading")
    name = next(b for b in view["blocks"] if b.get("block_id") == "customer_name")
    assert name["element"]["initial_value"] == "Acme Trading"


def test_known_customer_name_prefills_their_details_and_owner(bot: Bot) -> None:
    bot.submit(bot.open_modal(user_id=COLLEAGUE), good_values(owner=COLLEAGUE), user_id=COLLEAGUE)
    bot.slack.wait_for("chat.postEphemeral")

    own = {b.get("block_id"): b for b in bot.open_modal("wang lei", user_id=COLLEAGUE)["blocks"]}
    assert own["phone"]["element"]["initial_value"] == "+8613800138000"
    assert own["existing_customer"]["element"]["initial_option"]["value"].isdigit()

    view = bot.open_modal("WANG LEI")
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id["company"]["element"]["initial_value"] == "Shanghai Mingde Technology Co., Ltd."
    assert "initial_value" not in by_id["phone"]["element"]  # not REP's customer: hidden
    assert by_id["owner"]["element"]["initial_user"] == COLLEAGUE
    assert by_id["status"]["element"]["initial_option"]["value"] == "interested"
    note = next(b for b in view["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert f"Owned by <@{COLLEAGUE}> since Fri 27 Nov" in note
    assert "they will be told" in note


def test_help_answers_ephemerally_without_opening_a_modal(bot: Bot) -> None:
    response = bot.requests.command("help", user_id=REP)
    assert response.status == 200
    assert "/followup" in response.json()["text"]
    # A later command's modal is the first one opened: help opened none, even after its ack.
    bot.open_modal(user_id=REP_NY)
    (only,) = bot.slack.calls_to("views.open")
    assert only.args["view"]["callback_id"] == "followup_modal"
    assert "America/New_York" in str(only.args["view"])


# --- a valid submission ----------------------------------------------------------------------


def test_valid_submission_stores_customer_followup_and_history(bot: Bot) -> None:
    view = bot.open_modal()
    response = bot.submit(view, good_values())

    assert response.status == 200
    assert response.body in (b"", b"{}")
    followup = only_followup(bot)
    assert followup.next_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # Tue 15:00 Shanghai
    assert followup.contacted_at == FIXED_NOW
    assert (followup.method, followup.status_after, followup.state) == (
        "phone",
        "interested",
        "open",
    )
    assert followup.author_id == REP
    assert followup.owner_id == REP
    with bot.db.reader() as session:
        customer = session.scalars(select(Customer)).one()
        assert customer.phone_e164 == "+8613800138000"
        assert customer.email == "wang.lei@mingde.cn"
        assert customer.status == "interested"
        log = session.scalars(select(ChangeLog).order_by(ChangeLog.id)).all()
        assert [(row.entity, row.action) for row in log] == [
            ("customer", "create"),
            ("followup", "create"),
        ]
        assert log[0].after is not None
        assert log[0].after["phone_e164"] == "+8613800138000"
        assert all(row.actor_id == REP for row in log)


def test_confirmation_echoes_the_next_date_in_the_reps_zone(bot: Bot) -> None:
    view = bot.open_modal(channel_id="C0SALES01")
    bot.submit(view, good_values())

    (call,) = bot.slack.wait_for("chat.postEphemeral")
    assert call.args["channel"] == "C0SALES01"
    assert call.args["user"] == REP
    assert "Tue 1 Dec 15:00 (Asia/Shanghai), in 4 days" in call.args["text"]
    rendered = str(call.args["blocks"])
    assert "Tue 1 Dec 15:00 (Asia/Shanghai), in 4 days" in rendered
    assert "Send the revised quote" in rendered


def test_confirmation_falls_back_to_a_dm_when_ephemeral_fails(bot: Bot) -> None:
    bot.slack.fail_next("chat.postEphemeral", error="channel_not_found")
    view = bot.open_modal(channel_id="C0GONE001")
    bot.submit(view, good_values())

    (dm,) = bot.slack.wait_for("chat.postMessage")
    assert dm.args["channel"] == f"D{REP}"
    assert "Tue 1 Dec 15:00" in dm.args["text"]


@pytest.mark.parametrize(
    ("user_id", "phrase", "expected_local"),
    [
        (REP, "next Tue 3pm", datetime(2026, 12, 1, 15, 0, tzinfo=SHANGHAI)),
        (REP, "下周三下午3点", datetime(2026, 12, 2, 15, 0, tzinfo=SHANGHAI)),
        (REP, "明天上午10点", datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)),
        (REP, "Friday", datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI)),
        (REP, "3天后", datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)),
        (REP_NY, "next Tue 3pm", datetime(2026, 12, 1, 15, 0, tzinfo=NEW_YORK)),
        (REP_NY, "明天上午10点", datetime(2026, 11, 27, 10, 0, tzinfo=NEW_YORK)),
        (REP_NY, "2026-12-01", datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK)),
        (REP_NY, "tomorrow 10am", datetime(2026, 11, 27, 10, 0, tzinfo=NEW_YORK)),
    ],
)
def test_next_date_is_read_in_the_submitters_zone(
    bot: Bot, user_id: str, phrase: str, expected_local: datetime
) -> None:
    view = bot.open_modal(user_id=user_id)
    response = bot.submit(view, good_values(next_at=phrase, owner=user_id), user_id=user_id)

    assert response.body in (b"", b"{}"), response.text
    assert only_followup(bot).next_at == expected_local.astimezone(UTC)


def test_repeat_customer_by_phone_reuses_the_row_and_logs_contact_changes(bot: Bot) -> None:
    bot.submit(bot.open_modal(), good_values(email=None))
    second = good_values(
        phone="13800138000", email="WANG.LEI@Mingde.CN", summary="Demoed the SSO setup to IT."
    )
    bot.submit(bot.open_modal(), second)

    assert count(bot, Customer) == 1
    assert count(bot, FollowUp) == 2
    with bot.db.reader() as session:
        customer = session.scalars(select(Customer)).one()
        assert customer.email == "wang.lei@mingde.cn"
        updates = session.scalars(select(ChangeLog).where(ChangeLog.action == "update")).all()
        assert [(u.before, u.after) for u in updates] == [
            ({"email": None}, {"email": "wang.lei@mingde.cn"})
        ]
        states = session.scalars(select(FollowUp.state).order_by(FollowUp.id)).all()
        assert states == ["done", "open"]  # the earlier next-contact was superseded


def test_submitting_the_same_view_twice_stores_one_followup(bot: Bot) -> None:
    view = bot.open_modal()
    first = bot.submit(view, good_values())
    second = bot.submit(view, good_values())

    assert first.status == second.status == 200
    assert count(bot, FollowUp) == 1


# --- validation ------------------------------------------------------------------------------


REQUIRED_TEXT = ["customer_name", "company", "summary", "feedback", "next_at", "next_action"]


@pytest.mark.parametrize("block_id", REQUIRED_TEXT)
@pytest.mark.parametrize("blank", [None, "   "])
def test_each_required_text_field_missing_is_an_error_on_that_field(
    bot: Bot, block_id: str, blank: str | None
) -> None:
    view = bot.open_modal()
    errors = errors_of(bot.submit(view, good_values(**{block_id: blank})))

    assert list(errors) == [block_id]
    assert count(bot, FollowUp) == 0
    assert count(bot, Customer) == 0


@pytest.mark.parametrize("block_id", ["method", "status"])
def test_required_selects_missing_are_errors(bot: Bot, block_id: str) -> None:
    view = bot.open_modal()
    errors = errors_of(bot.submit(view, good_values(**{block_id: None})))
    assert list(errors) == [block_id]


def test_no_phone_and_no_email_is_an_error_on_phone(bot: Bot) -> None:
    errors = errors_of(bot.submit(bot.open_modal(), good_values(phone=None, email=None)))
    assert list(errors) == ["phone"]
    assert "phone number or an email" in errors["phone"]


def test_email_alone_is_enough(bot: Bot) -> None:
    response = bot.submit(bot.open_modal(), good_values(phone=None))
    assert response.body in (b"", b"{}"), response.text
    assert count(bot, Customer) == 1


@pytest.mark.parametrize("phone", ["12345", "138 0013 800", "call me", "+1 555 0100"])
def test_bad_phone_is_rejected(bot: Bot, phone: str) -> None:
    errors = errors_of(bot.submit(bot.open_modal(), good_values(phone=phone)))
    assert list(errors) == ["phone"]


@pytest.mark.parametrize("email", ["wang.lei@", "wang lei@mingde.cn", "wang.lei@mingde"])
def test_bad_email_is_rejected(bot: Bot, email: str) -> None:
    errors = errors_of(bot.submit(bot.open_modal(), good_values(email=email)))
    assert list(errors) == ["email"]


@pytest.mark.parametrize(
    ("block_id", "vague"),
    [
        ("summary", "called, interested"),
        ("summary", "电话沟通，客户有兴趣"),
        ("feedback", "interested"),
        ("feedback", "有意向"),
        ("next_action", "follow up"),
    ],
)
def test_vague_notes_are_rejected_with_what_a_good_note_says(
    bot: Bot, block_id: str, vague: str
) -> None:
    errors = errors_of(bot.submit(bot.open_modal(), good_values(**{block_id: vague})))
    assert list(errors) == [block_id]
    assert "e.g." in errors[block_id]


@pytest.mark.parametrize(
    ("phrase", "words"),
    [
        ("whenever", "Couldn't read 'whenever' as a date"),
        ("yesterday", "already passed"),
        ("2026-11-01", "already passed"),
        ("2028-03-01", "more than a year away"),
    ],
)
def test_unreadable_past_and_far_future_dates_are_rejected(
    bot: Bot, phrase: str, words: str
) -> None:
    errors = errors_of(bot.submit(bot.open_modal(), good_values(next_at=phrase)))
    assert list(errors) == ["next_at"]
    assert words in errors["next_at"]


def test_every_problem_is_reported_at_once(bot: Bot) -> None:
    values = good_values(company=None, phone="12", summary="ok", next_at="someday")
    errors = errors_of(bot.submit(bot.open_modal(), values))
    assert set(errors) == {"company", "phone", "summary", "next_at"}


def test_contact_time_in_the_future_is_rejected(bot: Bot) -> None:
    later = int(FIXED_NOW.timestamp()) + 3 * 3600
    errors = errors_of(bot.submit(bot.open_modal(), good_values(contacted_at=later)))
    assert list(errors) == ["contacted_at"]


def test_select_value_the_form_never_offered_is_rejected(bot: Bot) -> None:
    # Forge a status outside the fixed set, as a hostile client could.
    payload = view_submission(bot.open_modal(), good_values(), user_id=REP)
    state = payload["view"]["state"]["values"]
    state["status"]["status"]["selected_option"] = {
        "text": {"type": "plain_text", "text": "Hot"},
        "value": "hot",
    }
    errors = errors_of(bot.requests.interactive(payload))
    assert list(errors) == ["status"]
    assert count(bot, FollowUp) == 0


# --- request authenticity --------------------------------------------------------------------


def test_unsigned_request_is_rejected(bot: Bot) -> None:
    body = b"command=%2Ffollowup&text=&user_id=U0REP0001&trigger_id=1.2.3"
    response = bot.requests.send(body, content_type="application/x-www-form-urlencoded", sign=False)
    assert response.status == 401
    assert bot.slack.calls_to("views.open") == []


def test_stale_signed_request_is_rejected(bot: Bot) -> None:
    body = b"command=%2Ffollowup&text=&user_id=U0REP0001&trigger_id=1.2.3"
    stale = int(time.time()) - 10 * 60
    response = bot.requests.send(
        body, content_type="application/x-www-form-urlencoded", timestamp=stale
    )
    assert response.status == 401


def test_submission_without_a_user_saves_nothing(bot: Bot) -> None:
    payload = view_submission(bot.open_modal(), good_values(), user_id=REP)
    del payload["user"]
    response = bot.requests.interactive(payload)
    assert response.status == 200
    assert response.json()["response_action"] == "errors"
    assert count(bot, FollowUp) == 0


def test_customer_text_cannot_ping_a_channel_through_the_confirmation(bot: Bot) -> None:
    bot.submit(bot.open_modal(), good_values(customer_name="<!channel> Wang", company="<!here>"))
    (call,) = bot.slack.wait_for("chat.postEphemeral")
    assert "<!channel>" not in call.args["text"]
    assert "<!channel>" not in str(call.args["blocks"])
    assert "&lt;!channel&gt; Wang" in call.args["text"]


def test_wrongly_signed_request_is_rejected(bot: Bot) -> None:
    body = b"command=%2Ffollowup&text=&user_id=U0REP0001&trigger_id=1.2.3"
    response = bot.requests.send(
        body, content_type="application/x-www-form-urlencoded", signature="v0=" + "0" * 64
    )
    assert response.status == 401


def test_concurrent_saves_of_one_new_customer_make_one_customer_and_one_open_followup(
    bot: Bot,
) -> None:
    views = [bot.open_modal() for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda view: bot.submit(view, good_values()), views))

    assert all(r.body in (b"", b"{}") for r in responses), [r.text for r in responses]
    assert count(bot, Customer) == 1
    assert count(bot, FollowUp) == 4
    with bot.db.reader() as session:
        open_rows = session.scalar(
            select(func.count()).select_from(FollowUp).where(FollowUp.state == "open")
        )
    assert open_rows == 1


def test_logging_for_a_colleagues_customer_does_not_take_it_over(bot: Bot) -> None:
    bot.submit(bot.open_modal(user_id=COLLEAGUE), good_values(owner=COLLEAGUE), user_id=COLLEAGUE)
    bot.submit(bot.open_modal(), good_values(summary="Demoed the SSO setup to their IT lead."))

    with bot.db.reader() as session:
        customer = session.scalars(select(Customer)).one()
        assert customer.owner_id == COLLEAGUE
