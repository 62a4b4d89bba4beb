"""Team rules at entry: likely duplicates caught while logging, the existing-customer picker,
the owner told about a colleague's follow-up, won/lost rules, and the status constraint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from storage.models import Customer, FollowUp
from tests.conftest import COLLEAGUE, REP, Bot
from tests.slack_requests import block_actions
from tests.test_followup_e2e import count, errors_of, good_values


def saved(response: Any) -> None:
    assert response.body in (b"", b"{}"), response.text


@pytest.mark.parametrize(
    ("first_company", "second_company", "phone_a", "phone_b"),
    [
        ("上海某某科技有限公司", "上海某某科技", "+86 138 0013 8000", "+86 137 0013 7000"),
        ("ACME Co., Ltd.", "Acme", "+1 212 555 0100", "+1 212 555 0199"),
    ],
)
def test_a_likely_duplicate_is_caught_and_can_be_added_on_purpose(
    bot: Bot, first_company: str, second_company: str, phone_a: str, phone_b: str
) -> None:
    saved(
        bot.submit(
            bot.open_modal(user_id=COLLEAGUE),
            good_values(
                owner=COLLEAGUE,
                customer_name="王磊",
                company=first_company,
                phone=phone_a,
                email=None,
            ),
            user_id=COLLEAGUE,
        )
    )

    again = good_values(customer_name="王 磊", company=second_company, phone=phone_b, email=None)
    errors = errors_of(bot.submit(bot.open_modal(), again))

    assert list(errors) == ["customer_name"]
    assert first_company in errors["customer_name"]
    assert COLLEAGUE in errors["customer_name"] or "owner:" in errors["customer_name"]
    assert count(bot, Customer) == 1

    saved(bot.submit(bot.open_modal(), {**again, "confirm": ["new_customer"]}))
    assert count(bot, Customer) == 2


def test_same_phone_written_differently_is_the_same_customer(bot: Bot) -> None:
    saved(bot.submit(bot.open_modal(), good_values(phone="+86 138 0013 8000", email=None)))
    saved(
        bot.submit(
            bot.open_modal(),
            good_values(
                phone="13800138000", email=None, summary="Demoed SSO to their IT lead, Mr Zhou."
            ),
        )
    )
    assert count(bot, Customer) == 1


def test_a_different_person_at_the_same_company_is_not_a_duplicate(bot: Bot) -> None:
    saved(bot.submit(bot.open_modal(), good_values(customer_name="Wang Lei", email=None)))
    saved(
        bot.submit(
            bot.open_modal(),
            good_values(customer_name="Zhou Ming", phone="+86 137 0013 7000", email=None),
        )
    )
    assert count(bot, Customer) == 2


def test_the_picker_offers_customers_as_you_type(bot: Bot) -> None:
    saved(bot.submit(bot.open_modal(), good_values()))
    view = bot.open_modal()
    payload = {
        "type": "block_suggestion",
        "user": {"id": REP, "team_id": "T000TEST"},
        "team": {"id": "T000TEST", "domain": "followup-test"},
        "api_app_id": "A000TEST",
        "action_id": "existing_customer",
        "block_id": "existing_customer",
        "value": "mingde",
        "view": view,
    }
    response = bot.requests.interactive(payload)
    assert response.status == 200
    options = response.json()["options"]
    assert [o["text"]["text"] for o in options] == [
        "Wang Lei · Shanghai Mingde Technology Co., Ltd."
    ]


def test_picking_a_customer_refills_the_form_and_logs_to_them(bot: Bot) -> None:
    saved(
        bot.submit(
            bot.open_modal(user_id=COLLEAGUE), good_values(owner=COLLEAGUE), user_id=COLLEAGUE
        )
    )
    with bot.db.reader() as session:
        customer_id = session.scalars(select(Customer.id)).one()
    view = bot.open_modal()

    pick = block_actions(
        "existing_customer", view=view, user_id=REP, selected_option_value=str(customer_id)
    )
    assert bot.requests.interactive(pick).status == 200
    (update,) = bot.slack.wait_for("views.update")
    refilled = update.response["view"]
    by_id = {b.get("block_id"): b for b in refilled["blocks"]}
    assert by_id["customer_name"]["element"]["initial_value"] == "Wang Lei"
    assert by_id["customer_name"]["element"]["action_id"] == "customer_name.1"
    assert by_id["owner"]["element"]["initial_user"] == COLLEAGUE
    assert "initial_value" not in by_id["phone"]["element"]  # a colleague's: stays hidden

    values = {
        key: value
        for key, value in good_values(summary="Met their CTO; SSO is the last blocker.").items()
        if key not in ("customer_name", "company", "phone", "email", "owner", "status")
    }
    values["existing_customer"] = {
        "text": {"type": "plain_text", "text": "Wang Lei"},
        "value": str(customer_id),
    }
    saved(bot.submit(refilled, values))

    assert count(bot, Customer) == 1
    with bot.db.reader() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        assert customer.owner_id == COLLEAGUE  # logging never takes a customer over
    (notice,) = bot.slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == f"D{COLLEAGUE}"
    )
    assert f"<@{REP}> logged a follow-up with your customer" in str(notice.args["blocks"])


def test_lost_needs_a_reason_and_confirmation_then_closes_open_followups(bot: Bot) -> None:
    saved(bot.submit(bot.open_modal(), good_values()))
    lost = good_values(status="lost", next_at=None, next_action=None, feedback="not interested")

    errors = errors_of(bot.submit(bot.open_modal(), lost))
    assert "why the customer was lost" in errors["feedback"]

    lost["feedback"] = "Went with Acme: 20% cheaper and they don't need SSO."
    errors = errors_of(bot.submit(bot.open_modal(), lost))
    assert list(errors) == ["status"]
    assert "closes 1 open follow-up" in errors["status"]

    saved(bot.submit(bot.open_modal(), {**lost, "confirm": ["close_open"]}))
    with bot.db.reader() as session:
        states = session.scalars(select(FollowUp.state).order_by(FollowUp.id)).all()
        assert states == ["done", "done"]
        reminders = session.scalar(
            select(func.count()).select_from(FollowUp).where(FollowUp.remind_at.is_not(None))
        )
        assert reminders == 0
        assert session.scalars(select(Customer.status)).one() == "lost"


def test_won_needs_feedback_that_says_why(bot: Bot) -> None:
    errors = errors_of(bot.submit(bot.open_modal(), good_values(status="won", feedback="ok")))
    assert "Say why they bought" in errors["feedback"]


def test_next_contact_is_still_required_unless_lost(bot: Bot) -> None:
    errors = errors_of(bot.submit(bot.open_modal(), good_values(next_at=None, next_action=None)))
    assert set(errors) == {"next_at", "next_action"}


def test_the_database_rejects_a_status_outside_the_fixed_set(bot: Bot) -> None:
    saved(bot.submit(bot.open_modal(), good_values()))
    with pytest.raises(IntegrityError), bot.db.transaction() as session:
        session.execute(text("UPDATE customers SET status = 'hot'"))
    with bot.db.reader() as session:
        assert session.scalars(select(Customer.status)).one() == "interested"


def test_a_forged_customer_id_saves_nothing(bot: Bot) -> None:
    values = {
        **good_values(),
        "existing_customer": {"text": {"type": "plain_text", "text": "x"}, "value": "999999"},
    }
    errors = errors_of(bot.submit(bot.open_modal(), values))
    assert list(errors) == ["existing_customer"]
    assert count(bot, FollowUp) == 0
    assert json.dumps(errors)


def _colleagues_customer(bot: Bot) -> int:
    saved(
        bot.submit(
            bot.open_modal(user_id=COLLEAGUE), good_values(owner=COLLEAGUE), user_id=COLLEAGUE
        )
    )
    with bot.db.reader() as session:
        return int(session.scalars(select(Customer.id)).one())


def test_typing_a_colleagues_customers_phone_asks_to_pick_them_first(bot: Bot) -> None:
    customer_id = _colleagues_customer(bot)
    typed = good_values(customer_name="Wang L.", company="Some Other Co", email="rep.typed@x.cn")

    errors = errors_of(bot.submit(bot.open_modal(), typed))

    assert "already a customer of" in errors["phone"]
    assert "Pick them" in errors["phone"]
    with bot.db.reader() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        assert (customer.name, customer.email) == ("Wang Lei", "wang.lei@mingde.cn")
    assert count(bot, FollowUp) == 1


def test_logging_on_a_picked_colleagues_customer_never_rewrites_their_record(bot: Bot) -> None:
    customer_id = _colleagues_customer(bot)
    picked = {"text": {"type": "plain_text", "text": "Wang Lei"}, "value": str(customer_id)}
    values = good_values(
        customer_name="Wang L.",
        company="Some Other Co",
        phone=None,
        email="rep.typed@x.cn",
        owner=REP,
        summary="Met their CTO at the expo; SSO is the last blocker.",
    )

    saved(bot.submit(bot.open_modal(), {**values, "existing_customer": picked}))

    with bot.db.reader() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        assert (customer.name, customer.company, customer.email, customer.owner_id) == (
            "Wang Lei",
            "Shanghai Mingde Technology Co., Ltd.",
            "wang.lei@mingde.cn",
            COLLEAGUE,
        )
        newest = session.scalars(select(FollowUp).order_by(FollowUp.id.desc()).limit(1)).one()
        assert newest.owner_id == COLLEAGUE  # the owner's, however the form was filled


def test_a_phone_that_is_another_customers_is_refused_by_name(bot: Bot) -> None:
    saved(bot.submit(bot.open_modal(), good_values()))
    saved(
        bot.submit(
            bot.open_modal(),
            good_values(
                customer_name="李娜", company="北京某某科技", phone="+86 139 0013 9000", email=None
            ),
        )
    )
    with bot.db.reader() as session:
        li_na = session.scalars(select(Customer).where(Customer.name == "李娜")).one()
    picked = {"text": {"type": "plain_text", "text": "李娜"}, "value": str(li_na.id)}

    errors = errors_of(
        bot.submit(
            bot.open_modal(),
            {
                **good_values(customer_name="李娜", company="北京某某科技", email=None),
                "existing_customer": picked,
            },
        )
    )

    assert "already belongs to Wang Lei" in errors["phone"]


@pytest.mark.parametrize("hostile", ["²", "٣", "1" * 40, "-1", " 7"])
def test_odd_ids_in_payloads_are_refused_cleanly(bot: Bot, hostile: str) -> None:
    from tests.slack_requests import view_submission

    payload = view_submission(bot.open_modal(), good_values(), user_id=REP)
    payload["view"]["state"]["values"]["existing_customer"] = {
        "existing_customer": {
            "type": "external_select",
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": hostile},
        }
    }
    payload["view"]["private_metadata"] = "[" * 2990
    response = bot.requests.interactive(payload)
    assert response.status == 200, response.text  # never a 500
    assert count(bot, Customer) <= 1


def test_a_merged_away_customers_id_is_never_given_to_a_new_customer(bot: Bot) -> None:
    from bot.merge import merge_customers
    from tests.conftest import FIXED_NOW

    saved(bot.submit(bot.open_modal(), good_values()))
    saved(
        bot.submit(
            bot.open_modal(),
            good_values(
                customer_name="李娜", company="北京某某科技", phone="+86 139 0013 9000", email=None
            ),
        )
    )
    with bot.db.reader() as session:
        first, second = session.scalars(select(Customer.id).order_by(Customer.id)).all()
    admin_settings = bot.services.settings.model_copy(update={"admin_user_ids": REP})
    merge_customers(
        bot.db, admin_settings, actor_id=REP, keep_id=first, merge_id=second, now=FIXED_NOW
    )

    saved(
        bot.submit(
            bot.open_modal(),
            good_values(
                customer_name="赵六", company="广州某某贸易", phone="+86 136 0013 6000", email=None
            ),
        )
    )

    with bot.db.reader() as session:
        newest = session.scalars(select(Customer.id).order_by(Customer.id.desc())).first()
    assert newest is not None
    assert newest > second
