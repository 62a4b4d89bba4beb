"""Merging customers end to end: customers made by logging follow-ups through the modal, the
merge form submitted as a signed view_submission, its type-ahead asked with block_suggestion,
and the Undo button pressed in the confirmation DM — all against the fake Slack.

The tests that go through Slack need the merge handlers wired into the app (`/followup merge`
routing and `handlers.merge.register`); the ones that call bot.merge directly do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from bot.followups import FormError
from bot.merge import (
    LOOKUP_HASHES,
    AlreadyUndoneError,
    MergeNotAllowedError,
    customer_snapshot,
    merge_customers,
    undo_merge,
)
from bot.permissions import NotAllowedError
from handlers.merge import MERGE_CALLBACK, open_merge_modal
from storage import team
from storage.models import ChangeLog, Customer, FollowUp
from tests.conftest import COLLEAGUE, REP, Bot, running_bot
from tests.fake_slack import Call, FakeSlack
from tests.slack_requests import (
    APP_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    Response,
    new_trigger_id,
    view_submission,
)
from tests.test_reminders_e2e import log_followup, press

ADMIN = "U0ADMIN01"
MANAGER = "U0MGR0001"

# The customer that is kept: a phone, no email.
KEPT: dict[str, Any] = {
    "customer_name": "Wang Lei",
    "company": "Shanghai Mingde Technology Co., Ltd.",
    "phone": "+86 138 0013 8000",
    "email": None,
}
# The duplicate that is merged away: its own phone, and the email the kept one lacks.
AWAY: dict[str, Any] = {
    "customer_name": "John Smith",
    "company": "Acme Co., Ltd.",
    "phone": "+86 139 0013 9000",
    "email": "john.smith@acme.com",
}
OTHER: dict[str, Any] = {
    "customer_name": "李娜",
    "company": "北京某某科技有限公司",
    "phone": "+86 137 0013 7000",
    "email": "li.na@example.cn",
}


@pytest.fixture
def bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    """The running bot with an admin; overrides conftest's `bot` for this module."""
    slack.set_user(REP, tz="Asia/Shanghai", name="Wang Fang")
    slack.set_user(ADMIN, tz="Asia/Shanghai")
    slack.set_user(MANAGER, tz="Asia/Shanghai")
    with running_bot(slack, database_url, admin_user_ids=ADMIN) as running:
        yield running


# --- helpers ---------------------------------------------------------------------------------


def two_customers(bot: Bot, *, away_owner: str = REP) -> tuple[int, int]:
    """(kept id, merged-away id), each with two follow-ups, plus an unrelated third customer."""
    log_followup(bot, **KEPT)
    kept = log_followup(bot, **KEPT, summary="Demoed SSO to their IT lead, Mr Zhou.").customer_id
    log_followup(bot, user_id=away_owner, **AWAY)
    away = log_followup(
        bot, user_id=away_owner, **AWAY, summary="Sent the SSO questionnaire to John's team."
    ).customer_id
    log_followup(bot, **OTHER)
    assert kept != away
    return kept, away


def followups_by_customer(bot: Bot) -> dict[int, set[int]]:
    with bot.db.reader() as session:
        rows = session.execute(select(FollowUp.customer_id, FollowUp.id)).all()
    found: dict[int, set[int]] = {}
    for owner, followup_id in rows:
        found.setdefault(owner, set()).add(followup_id)
    return found


def count(bot: Bot, model: type[Any]) -> int:
    with bot.db.reader() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def snapshot_of(bot: Bot, customer: int) -> dict[str, Any] | None:
    with bot.db.reader() as session:
        row = session.get(Customer, customer)
        return customer_snapshot(row) if row is not None else None


def merge_view(bot: Bot, *, user_id: str = ADMIN) -> dict[str, Any]:
    """The merge form as Slack holds it after views.open (with its view id)."""
    before = len(bot.slack.calls_to("views.open"))
    opened = open_merge_modal(
        bot.services, bot.services.client, trigger_id=new_trigger_id(), user_id=user_id
    )
    assert opened
    call = bot.slack.calls_to("views.open")[before]
    view: dict[str, Any] = call.response["view"]
    return view


def submit_merge(
    bot: Bot, *, keep: int, away: int, user_id: str = ADMIN, view: dict[str, Any] | None = None
) -> Response:
    form = view if view is not None else merge_view(bot, user_id=user_id)
    payload = view_submission(
        form, {"merge_keep": str(keep), "merge_away": str(away)}, user_id=user_id
    )
    response = bot.requests.interactive(payload)
    assert response.status == 200, (
        f"{response.status} {response.text} — is handlers.merge.register(app) wired?"
    )
    return response


def merged_dm(bot: Bot, user_id: str = ADMIN, *, count: int = 1) -> Call:
    calls = bot.slack.wait_for(
        "chat.postMessage",
        lambda c: c.ok and c.args["channel"] == f"D{user_id}" and "Merged" in c.args["text"],
        count=count,
    )
    return calls[-1]


def suggest(bot: Bot, view: dict[str, Any], action_id: str, query: str, user_id: str) -> Response:
    """A block_suggestion request, as Slack sends one while someone types in the picker."""
    payload = {
        "type": "block_suggestion",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T000TEST"},
        "container": {"type": "view", "view_id": view["id"]},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": action_id,
        "value": query,
        "team": {"id": "T000TEST", "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {**view, "state": {"values": {}}},
    }
    return bot.requests.interactive(payload)


def errors_of(response: Response) -> dict[str, str]:
    body = response.json()
    assert body["response_action"] == "errors", body
    errors: dict[str, str] = body["errors"]
    return errors


# --- opening the form ------------------------------------------------------------------------


def test_merge_command_opens_the_merge_form(bot: Bot) -> None:
    """Needs `/followup merge` routed to handlers.merge.open_merge_modal."""
    response = bot.requests.command("merge", user_id=ADMIN, channel_id="C0SALES01")
    assert response.status == 200, response.text

    (call,) = bot.slack.wait_for("views.open")
    view = call.args["view"]
    assert view["callback_id"] == MERGE_CALLBACK
    pickers = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert set(pickers) == {"merge_keep", "merge_away"}
    for block_id, element in pickers.items():
        assert (element["type"], element["action_id"]) == ("external_select", block_id)
        assert element["min_query_length"] == 1
    assert any(b["type"] == "context" for b in view["blocks"])


def test_merge_command_then_submit_merges(bot: Bot) -> None:
    """The whole path from the slash command; needs the routing and register(app)."""
    kept, away = two_customers(bot)
    before = len(bot.slack.calls_to("views.open"))
    bot.requests.command("merge", user_id=ADMIN)
    view = bot.slack.wait_for("views.open", count=before + 1)[before].response["view"]
    assert view["callback_id"] == MERGE_CALLBACK

    assert submit_merge(bot, keep=kept, away=away, view=view).body in (b"", b"{}")

    merged_dm(bot)
    assert snapshot_of(bot, away) is None


def test_pickers_suggest_customers_as_you_type(bot: Bot) -> None:
    kept, away = two_customers(bot)
    view = merge_view(bot)

    for action_id in ("merge_keep", "merge_away"):
        response = suggest(bot, view, action_id, "Acme", ADMIN)
        assert response.status == 200, response.text
        options = response.json()["options"]
        assert options, "no suggestions for 'Acme'"
        assert options[0]["value"] == str(away)
        # The owner's name as cached from Slack when they logged the follow-up.
        assert options[0]["text"]["text"] == "John Smith · Acme Co., Ltd. · Wang Fang"
        assert all(len(o["text"]["text"]) <= 75 for o in options)
        assert str(kept) not in {o["value"] for o in options}

    # Someone typing nothing useful gets an empty list, not an error.
    assert suggest(bot, view, "merge_keep", "   ", ADMIN).json() == {"options": []}


# --- merge and undo --------------------------------------------------------------------------


def test_admin_merges_and_undoes(bot: Bot) -> None:
    kept, away = two_customers(bot)
    layout = followups_by_customer(bot)
    away_followups = layout[away]
    total = count(bot, FollowUp)
    away_before = snapshot_of(bot, away)
    kept_before = snapshot_of(bot, kept)
    assert away_before is not None
    assert kept_before is not None
    assert kept_before["email"] is None

    response = submit_merge(bot, keep=kept, away=away)

    assert response.body in (b"", b"{}"), response.text
    dm = merged_dm(bot)
    assert "John Smith" in dm.args["text"]
    assert "Wang Lei" in dm.args["text"]
    assert "2 follow-ups moved" in dm.args["text"]
    merged_layout = followups_by_customer(bot)
    assert away not in merged_layout
    assert merged_layout[kept] == layout[kept] | away_followups
    assert count(bot, FollowUp) == total
    kept_merged = snapshot_of(bot, kept)
    assert kept_merged is not None
    assert kept_merged["email"] == "john.smith@acme.com"  # taken, as it had none
    assert kept_merged["phone_e164"] == "+8613800138000"  # its own, not overwritten
    assert kept_merged["version"] == kept_before["version"] + 1
    with bot.db.reader() as session:
        (log,) = session.scalars(
            select(ChangeLog).where(ChangeLog.entity == "customer", ChangeLog.action == "merge")
        ).all()
        assert log.entity_id == kept
        assert log.actor_id == ADMIN
        assert log.before == away_before
        # Every column but the lookup hashes, which are derived (and change with the key).
        columns = {a.key for a in inspect(Customer).column_attrs} - LOOKUP_HASHES
        assert set(log.before or {}) == columns
        assert log.after == {
            "into": kept,
            "followups": sorted(away_followups),
            "filled": {"email": "john.smith@acme.com"},
        }
    (button,) = dm.args["blocks"][-1]["elements"]
    assert (button["action_id"], button["value"]) == ("merge_undo", str(log.id))

    press(bot, dm, "merge_undo", user_id=ADMIN)

    (update,) = bot.slack.wait_for("chat.update")
    assert update.args["ts"] == dm.response["ts"]
    assert "undone" in update.args["text"]
    assert all(block["type"] != "actions" for block in update.args["blocks"])
    assert followups_by_customer(bot) == layout
    assert count(bot, FollowUp) == total
    restored = snapshot_of(bot, away)
    assert restored is not None
    unchanged = {"version", "updated_at"}
    assert {k: v for k, v in restored.items() if k not in unchanged} == {
        k: v for k, v in away_before.items() if k not in unchanged
    }
    kept_after = snapshot_of(bot, kept)
    assert kept_after is not None
    assert kept_after["email"] is None
    assert kept_after["phone_e164"] == "+8613800138000"
    with bot.db.reader() as session:
        unmerges = session.scalars(
            select(ChangeLog).where(ChangeLog.entity == "customer", ChangeLog.action == "unmerge")
        ).all()
    assert {row.entity_id for row in unmerges} == {kept, away}
    assert all((row.before or {}).get("merge_log_id") == log.id for row in unmerges)


def test_pressing_undo_twice_changes_nothing_the_second_time(bot: Bot) -> None:
    kept, away = two_customers(bot)
    submit_merge(bot, keep=kept, away=away)
    dm = merged_dm(bot)
    press(bot, dm, "merge_undo", user_id=ADMIN)
    bot.slack.wait_for("chat.update")
    layout = followups_by_customer(bot)
    logged = count(bot, ChangeLog)

    press(bot, dm, "merge_undo", user_id=ADMIN)

    (notice,) = bot.slack.wait_for("response_url")
    assert "already undone" in notice.args["text"]
    assert notice.args.get("response_type") == "ephemeral"
    bot.slack.wait_for("chat.update", count=2)
    assert followups_by_customer(bot) == layout
    assert count(bot, ChangeLog) == logged


def test_a_rep_may_not_merge_even_their_own_customers(bot: Bot) -> None:
    kept, away = two_customers(bot)
    layout = followups_by_customer(bot)
    logged = count(bot, ChangeLog)
    before = snapshot_of(bot, kept), snapshot_of(bot, away)

    response = submit_merge(bot, keep=kept, away=away, user_id=REP)

    assert errors_of(response) == {"merge_away": "Only managers and admins can merge customers."}
    assert followups_by_customer(bot) == layout
    assert count(bot, ChangeLog) == logged
    assert (snapshot_of(bot, kept), snapshot_of(bot, away)) == before
    assert bot.slack.calls_to("chat.postMessage") == []


def test_a_rep_may_not_press_someone_elses_undo(bot: Bot) -> None:
    kept, away = two_customers(bot)
    submit_merge(bot, keep=kept, away=away)
    dm = merged_dm(bot)

    press(bot, dm, "merge_undo", user_id=REP)

    (refusal,) = bot.slack.wait_for("response_url")
    assert "managers and admins" in refusal.args["text"]
    assert snapshot_of(bot, away) is None
    assert bot.slack.calls_to("chat.update") == []


def test_merging_a_customer_with_itself_is_refused(bot: Bot) -> None:
    kept, _ = two_customers(bot)
    logged = count(bot, ChangeLog)

    response = submit_merge(bot, keep=kept, away=kept)

    assert "same customer" in errors_of(response)["merge_away"]
    assert count(bot, ChangeLog) == logged


def test_unknown_or_missing_picks_are_refused_per_field(bot: Bot) -> None:
    kept, _ = two_customers(bot)
    view = merge_view(bot)

    unknown = submit_merge(bot, keep=kept, away=999_999, view=view)
    assert errors_of(unknown) == {"merge_away": "That customer no longer exists — pick again."}

    hostile = view_submission(
        merge_view(bot),
        {},
        user_id=ADMIN,
        raw_state={
            "merge_keep": {"merge_keep": {"type": "external_select", "selected_option": "7"}},
            "merge_away": {"merge_away": {"selected_option": {"value": "99999999999999"}}},
        },
    )
    response = bot.requests.interactive(hostile)
    assert response.status == 200, response.text
    assert set(errors_of(response)) == {"merge_keep", "merge_away"}


# --- the rules, straight through bot.merge -----------------------------------------------------


def test_a_manager_merges_their_reps_customers_but_no_one_elses(bot: Bot) -> None:
    with bot.db.transaction() as session:
        team.set_member(
            session, user_id=MANAGER, role="manager", manager_id=None, by=ADMIN, at=bot.clock.now
        )
        team.set_member(
            session, user_id=REP, role="rep", manager_id=MANAGER, by=ADMIN, at=bot.clock.now
        )
    kept, away = two_customers(bot, away_owner=COLLEAGUE)
    settings, now = bot.services.settings, bot.clock.now

    with pytest.raises(NotAllowedError) as refused:
        merge_customers(bot.db, settings, actor_id=MANAGER, keep_id=kept, merge_id=away, now=now)
    assert refused.value.owner_id == COLLEAGUE
    assert snapshot_of(bot, away) is not None

    with pytest.raises(MergeNotAllowedError):
        merge_customers(bot.db, settings, actor_id=REP, keep_id=kept, merge_id=away, now=now)

    with bot.db.transaction() as session:
        team.set_member(
            session, user_id=COLLEAGUE, role="rep", manager_id=MANAGER, by=ADMIN, at=now
        )
    result = merge_customers(
        bot.db, settings, actor_id=MANAGER, keep_id=kept, merge_id=away, now=now
    )
    assert (result.kept_id, result.merged_id, result.moved_followups) == (kept, away, 2)


def test_undo_leaves_a_filled_field_that_was_changed_since(bot: Bot) -> None:
    kept, away = two_customers(bot)
    settings = bot.services.settings
    merged = merge_customers(
        bot.db, settings, actor_id=ADMIN, keep_id=kept, merge_id=away, now=bot.clock.now
    )
    # The rep logs a contact with the kept customer and gives their own email this time.
    bot.clock.advance(timedelta(hours=1))
    log_followup(bot, **{**KEPT, "email": "wang.lei@mingde.cn"})

    undone = undo_merge(bot.db, settings, actor_id=ADMIN, log_id=merged.log_id, now=bot.clock.now)

    assert undone.merged_id == away
    kept_now, away_now = snapshot_of(bot, kept), snapshot_of(bot, away)
    assert kept_now is not None
    assert away_now is not None
    assert kept_now["email"] == "wang.lei@mingde.cn"
    assert away_now["email"] == "john.smith@acme.com"


def test_undo_refuses_what_is_not_a_merge_or_cannot_be_put_back(bot: Bot) -> None:
    kept, away = two_customers(bot)
    settings, now = bot.services.settings, bot.clock.now
    with bot.db.reader() as session:
        create_row = session.scalars(
            select(ChangeLog.id).where(ChangeLog.action == "create").limit(1)
        ).one()

    with pytest.raises(FormError, match="isn't a merge"):
        undo_merge(bot.db, settings, actor_id=ADMIN, log_id=create_row, now=now)
    with pytest.raises(FormError, match="isn't a merge"):
        undo_merge(bot.db, settings, actor_id=ADMIN, log_id=987_654, now=now)

    merged = merge_customers(bot.db, settings, actor_id=ADMIN, keep_id=kept, merge_id=away, now=now)
    # The freed id is taken by another row (SQLite reuses the highest id once it is deleted).
    with bot.db.transaction() as session:
        session.add(
            Customer(
                id=away,
                name="Somebody Else",
                company="Elsewhere Ltd.",
                email="someone@elsewhere.com",
                owner_id=REP,
                status="prospect",
                created_by=REP,
            )
        )
    with pytest.raises(FormError, match="given to another customer"):
        undo_merge(bot.db, settings, actor_id=ADMIN, log_id=merged.log_id, now=now)
    merged_layout = followups_by_customer(bot)
    assert away not in merged_layout  # nothing was moved onto the stranger

    with bot.db.transaction() as session:
        taken = session.get(Customer, away)
        assert taken is not None
        session.delete(taken)
    undo_merge(bot.db, settings, actor_id=ADMIN, log_id=merged.log_id, now=now)
    with pytest.raises(AlreadyUndoneError):
        undo_merge(bot.db, settings, actor_id=ADMIN, log_id=merged.log_id, now=now)


def test_two_opposite_merges_at_once_leave_one_customer(bot: Bot) -> None:
    """A into B and B into A at the same moment: one wins, the other is told the customer is
    gone; no deadlock (rows are locked in id order) and no follow-up is lost."""
    kept, away = two_customers(bot)
    layout = followups_by_customer(bot)
    total = count(bot, FollowUp)
    settings, now = bot.services.settings, bot.clock.now

    def merge(keep: int, gone: int) -> str:
        try:
            merge_customers(bot.db, settings, actor_id=ADMIN, keep_id=keep, merge_id=gone, now=now)
        except FormError as problem:
            return str(next(iter(problem.errors.values())))
        return "merged"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(merge, (kept, away), (away, kept)))

    assert outcomes == ["That customer no longer exists — pick again.", "merged"]
    survivors = [c for c in (kept, away) if snapshot_of(bot, c) is not None]
    assert len(survivors) == 1
    assert followups_by_customer(bot)[survivors[0]] == layout[kept] | layout[away]
    assert count(bot, FollowUp) == total
