"""`/followup team` end to end: an admin manages managers and reps through the modal, over signed
HTTP requests to the running app and the fake Slack; non-admins are refused on the server; and the
team then decides who may act on whose reminders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.i18n import translator
from bot.team import TeamView
from handlers.team import TEAM_CALLBACK, team_confirmation, team_modal
from storage.models import ChangeLog, FollowUp, TeamMember
from tests.conftest import COLLEAGUE, REP, REP_NY, Bot, running_bot
from tests.fake_slack import Call, FakeSlack, validate_message, validate_view
from tests.slack_requests import Response, view_submission
from tests.test_reminders_e2e import DUE, dms, log_followup, press, sweep_at

ADMIN = "U0ADMIN01"
MANAGER = "U0MGR0001"
OTHER_MANAGER = "U0MGR0002"


@pytest.fixture
def team_bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    for user_id in (ADMIN, MANAGER, OTHER_MANAGER):
        slack.set_user(user_id, tz="Asia/Shanghai")
    with running_bot(slack, database_url, admin_user_ids=ADMIN) as bot:
        yield bot


# --- helpers ---------------------------------------------------------------------------------


def open_team(bot: Bot, *, user_id: str = ADMIN) -> dict[str, Any]:
    """Type `/followup team` and return the modal the bot opened (as Slack answered it)."""
    before = len(bot.slack.calls_to("views.open"))
    response = bot.requests.command("team", user_id=user_id)
    assert response.status == 200, response.text
    calls = bot.slack.wait_for("views.open", count=before + 1)
    view: dict[str, Any] = calls[before].response["view"]
    assert view["callback_id"] == TEAM_CALLBACK
    return view


def submit_team(
    bot: Bot,
    *,
    managers: list[str],
    assign_manager: str | None = None,
    assign_reps: list[str] | None = None,
    user_id: str = ADMIN,
    view: dict[str, Any] | None = None,
) -> Response:
    values = {
        "managers": managers,
        "assign_manager": assign_manager,
        "assign_reps": assign_reps or [],
    }
    return bot.submit(view or open_team(bot), values, user_id=user_id)


def save_team(bot: Bot, **kwargs: Any) -> Call:
    """Submit as the admin, expect it accepted, and return the confirmation DM."""
    confirmed = len(admin_dms(bot))
    response = submit_team(bot, **kwargs)
    assert response.body in (b"", b"{}"), response.text
    return bot.slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == f"D{ADMIN}", count=confirmed + 1
    )[-1]


def admin_dms(bot: Bot) -> list[Call]:
    return [c for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == f"D{ADMIN}"]


def errors_of(response: Response) -> dict[str, str]:
    assert response.status == 200, response.text
    body = response.json()
    assert body["response_action"] == "errors", body
    errors: dict[str, str] = body["errors"]
    return errors


def team(bot: Bot) -> dict[str, tuple[str, str | None]]:
    """user id → (role, manager id), as stored."""
    with bot.db.reader() as session:
        rows = session.scalars(select(TeamMember)).all()
        return {row.user_id: (row.role, row.manager_id) for row in rows}


def team_log(bot: Bot) -> list[ChangeLog]:
    with bot.db.reader() as session:
        query = select(ChangeLog).where(ChangeLog.entity == "team").order_by(ChangeLog.id)
        return list(session.scalars(query))


def set_up_two_teams(bot: Bot) -> None:
    """MANAGER leads REP and REP_NY; OTHER_MANAGER leads COLLEAGUE."""
    save_team(
        bot, managers=[MANAGER, OTHER_MANAGER], assign_manager=MANAGER, assign_reps=[REP, REP_NY]
    )
    save_team(
        bot,
        managers=[MANAGER, OTHER_MANAGER],
        assign_manager=OTHER_MANAGER,
        assign_reps=[COLLEAGUE],
    )


# --- who may open and submit -----------------------------------------------------------------


def test_team_command_opens_the_modal_for_an_admin(team_bot: Bot) -> None:
    view = open_team(team_bot)

    # (The fake validates what the bot sent; `view` is Slack's answer, with its ids added.)
    assert len(view["title"]["text"]) <= 24
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["managers", "assign_manager", "assign_reps"]
    assert inputs["managers"]["element"]["type"] == "multi_users_select"
    assert inputs["assign_manager"]["element"]["type"] == "users_select"
    assert inputs["assign_reps"]["element"]["type"] == "multi_users_select"
    assert all(block["optional"] and block["hint"]["text"] for block in inputs.values())
    assert "No managers yet" in str(view["blocks"][0])


def test_team_command_is_refused_for_a_non_admin(team_bot: Bot) -> None:
    response = team_bot.requests.command("team", user_id=REP)

    assert response.status == 200, response.text
    assert "Only admins" in response.json()["text"]
    # The next modal opened is the admin's: the refusal opened none, even after its ack.
    open_team(team_bot)
    assert len(team_bot.slack.calls_to("views.open")) == 1
    assert team(team_bot) == {}


def test_a_forged_submission_by_a_non_admin_changes_nothing(team_bot: Bot) -> None:
    set_up_two_teams(team_bot)
    before, logged = team(team_bot), len(team_log(team_bot))
    dms_before = len(team_bot.slack.calls_to("chat.postMessage"))
    view = open_team(team_bot)

    response = submit_team(
        team_bot, managers=[REP], assign_manager=REP, assign_reps=[MANAGER], user_id=REP, view=view
    )

    body = response.json()
    assert body["response_action"] == "update"
    assert validate_view(body["view"]) == []
    assert "Only admins" in str(body["view"]["blocks"])
    assert team(team_bot) == before
    assert len(team_log(team_bot)) == logged
    assert len(team_bot.slack.calls_to("chat.postMessage")) == dms_before


# --- changing the team -----------------------------------------------------------------------


def test_admin_adds_managers_and_assigns_reps(team_bot: Bot) -> None:
    dm = save_team(
        team_bot,
        managers=[MANAGER, OTHER_MANAGER],
        assign_manager=MANAGER,
        assign_reps=[REP, REP_NY],
    )

    assert team(team_bot) == {
        MANAGER: ("manager", None),
        OTHER_MANAGER: ("manager", None),
        REP: ("rep", MANAGER),
        REP_NY: ("rep", MANAGER),
    }
    log = team_log(team_bot)
    assert [row.action for row in log] == [
        "manager_added",
        "manager_added",
        "rep_assigned",
        "rep_assigned",
    ]
    assert all(row.actor_id == ADMIN and row.entity_id is None for row in log)
    assert log[0].after == {"user_id": MANAGER, "role": "manager"}
    assert (log[2].before, log[2].after) == (
        {"user_id": REP, "manager_id": None},
        {"user_id": REP, "manager_id": MANAGER},
    )
    confirmation = str(dm.args["blocks"])
    assert f"<@{MANAGER}> is now a manager" in confirmation
    assert f"<@{REP}> now reports to <@{MANAGER}>" in confirmation

    # Opened again, the modal shows the team as it now is.
    view = open_team(team_bot)
    managers = next(b for b in view["blocks"] if b.get("block_id") == "managers")
    assert managers["element"]["initial_users"] == sorted([MANAGER, OTHER_MANAGER])
    listing = str(view["blocks"][:3])
    assert f"<@{MANAGER}>" in listing
    assert f"<@{REP}>, <@{REP_NY}>" in listing
    assert "no reps yet" in listing


def test_removing_a_manager_unassigns_their_reps(team_bot: Bot) -> None:
    set_up_two_teams(team_bot)
    logged = len(team_log(team_bot))

    dm = save_team(team_bot, managers=[OTHER_MANAGER])

    assert team(team_bot) == {
        MANAGER: ("rep", None),
        OTHER_MANAGER: ("manager", None),
        REP: ("rep", None),
        REP_NY: ("rep", None),
        COLLEAGUE: ("rep", OTHER_MANAGER),
    }
    new = team_log(team_bot)[logged:]
    assert [row.action for row in new] == ["manager_removed", "rep_unassigned", "rep_unassigned"]
    assert new[0].before == {"user_id": MANAGER, "role": "manager", "reps": [REP, REP_NY]}
    assert new[1].after == {"user_id": REP, "manager_id": None}
    assert f"<@{MANAGER}> is no longer a manager" in str(dm.args["blocks"])


def test_moving_a_rep_and_promoting_one_keep_the_team_flat(team_bot: Bot) -> None:
    set_up_two_teams(team_bot)

    save_team(
        team_bot, managers=[MANAGER, OTHER_MANAGER], assign_manager=OTHER_MANAGER, assign_reps=[REP]
    )
    assert team(team_bot)[REP] == ("rep", OTHER_MANAGER)
    save_team(team_bot, managers=[MANAGER, OTHER_MANAGER, REP_NY])

    assert team(team_bot)[REP_NY] == ("manager", None)
    actions = [row.action for row in team_log(team_bot)[-3:]]
    assert actions == ["rep_assigned", "manager_added", "rep_unassigned"]


def test_saving_the_modal_unchanged_changes_and_logs_nothing(team_bot: Bot) -> None:
    set_up_two_teams(team_bot)
    before, logged = team(team_bot), len(team_log(team_bot))
    view = open_team(team_bot)
    confirmed = len(admin_dms(team_bot))

    response = team_bot.submit(view, {}, user_id=ADMIN)  # every field as the modal opened

    assert response.body in (b"", b"{}"), response.text
    dm = team_bot.slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == f"D{ADMIN}", count=confirmed + 1
    )[-1]
    assert "nothing changed" in dm.args["text"]
    assert team(team_bot) == before
    assert len(team_log(team_bot)) == logged


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        pytest.param(
            {"managers": [MANAGER, REP], "assign_manager": MANAGER, "assign_reps": [REP]},
            "assign_reps",
            "listed as a manager",
            id="rep-listed-as-manager",
        ),
        pytest.param(
            {"managers": [MANAGER], "assign_reps": [REP]},
            "assign_manager",
            "Pick the manager",
            id="reps-without-a-manager",
        ),
        pytest.param(
            {"managers": [MANAGER], "assign_manager": OTHER_MANAGER, "assign_reps": [REP]},
            "assign_manager",
            "isn't a manager",
            id="assigning-to-a-non-manager",
        ),
        pytest.param(
            {"managers": [MANAGER], "assign_manager": MANAGER, "assign_reps": [MANAGER]},
            "assign_reps",
            "themselves",
            id="manager-assigned-to-themselves",
        ),
        pytest.param(
            {"managers": [MANAGER], "assign_manager": MANAGER},
            "assign_reps",
            "Pick the reps",
            id="manager-without-reps",
        ),
    ],
)
def test_bad_input_is_refused_under_its_field_and_nothing_changes(
    team_bot: Bot, values: dict[str, Any], field: str, words: str
) -> None:
    view = open_team(team_bot)

    errors = errors_of(team_bot.submit(view, values, user_id=ADMIN))

    assert list(errors) == [field]
    assert words in errors[field]
    assert team(team_bot) == {}
    assert team_log(team_bot) == []


def test_mangled_state_is_refused_not_read_as_no_managers(team_bot: Bot) -> None:
    set_up_two_teams(team_bot)
    before = team(team_bot)
    view = open_team(team_bot)

    def managers_state(selected: object) -> dict[str, dict[str, Any]]:
        """{action_id: state} for the managers block, as given, unchecked."""
        return {"managers": {"type": "multi_users_select", "selected_users": selected}}

    # Not a list; an id that isn't a Slack user; not a string at all.
    for raw in [managers_state(MANAGER), managers_state(["not-a-user"]), managers_state([42])]:
        payload = view_submission(view, {}, user_id=ADMIN, raw_state={"managers": raw})
        errors = errors_of(team_bot.requests.interactive(payload))
        assert list(errors) == ["managers"]

    assert team(team_bot) == before


# --- what the team changes -------------------------------------------------------------------


def test_a_manager_may_act_on_their_reps_reminder_and_no_one_else_may(team_bot: Bot) -> None:
    set_up_two_teams(team_bot)
    followup = log_followup(team_bot, user_id=REP)
    sweep_at(team_bot, DUE)
    (dm,) = dms(team_bot, REP)

    for outsider in (COLLEAGUE, OTHER_MANAGER, REP_NY):  # another team's rep and manager; a peer
        press(team_bot, dm, "reminder_done", user_id=outsider)
    refusals = team_bot.slack.wait_for("response_url", count=3)
    assert all(f"belongs to <@{REP}>" in call.args["text"] for call in refusals)
    with team_bot.db.reader() as session:
        still = session.get(FollowUp, followup.id)
        assert still is not None
        assert still.state == "open"

    press(team_bot, dm, "reminder_done", user_id=MANAGER)

    (update_call,) = team_bot.slack.wait_for("chat.update")
    # The press ends by redrawing the manager's Home tab; wait for it, so nothing outlives the test.
    team_bot.slack.wait_for("views.publish", lambda c: c.args["user_id"] == MANAGER)
    assert f"marked by <@{MANAGER}>" in str(update_call.args["blocks"])
    with team_bot.db.reader() as session:
        done = session.get(FollowUp, followup.id)
        assert done is not None
        assert (done.state, done.done_by) == ("done", MANAGER)


def test_an_overdue_followup_escalates_to_the_reps_manager(team_bot: Bot) -> None:
    set_up_two_teams(team_bot)
    log_followup(team_bot, user_id=REP)
    sweep_at(team_bot, DUE)

    report = sweep_at(team_bot, DUE + timedelta(hours=48))

    assert sorted(line.split()[0] for line in report.sent) == ["escalation", "escalation_manager"]
    assert len(dms(team_bot, MANAGER)) == 1
    assert dms(team_bot, OTHER_MANAGER) == []


# --- limits ----------------------------------------------------------------------------------


def test_a_big_team_still_fits_slacks_limits() -> None:
    managers = tuple(f"U0MGR{n:04d}" for n in range(60))
    reps = {m: tuple(f"U0R{i:03d}{n:04d}" for i in range(300)) for n, m in enumerate(managers)}

    view = team_modal(TeamView(managers=managers, reps_by_manager=reps), translator("en"))

    assert validate_view(view) == []
    listing = str(view["blocks"])
    assert "more managers" in listing
    assert " more" in listing

    changes = [f"<@{rep}> now reports to <@{managers[0]}>." for rep in reps[managers[0]]]
    errors, _warnings, too_long = validate_message(team_confirmation(changes, translator("en")))
    assert errors == []
    assert not too_long
    assert "…and" in team_confirmation(changes, translator("en"))["blocks"][0]["text"]["text"]


def test_a_team_form_opened_before_another_admins_change_cannot_undo_it(
    slack: FakeSlack, database_url: str
) -> None:
    for user_id in (ADMIN, MANAGER, OTHER_MANAGER):
        slack.set_user(user_id, tz="Asia/Shanghai")
    with running_bot(slack, database_url, admin_user_ids=f"{ADMIN},{REP_NY}") as bot:
        stale = open_team(bot, user_id=ADMIN)
        fresh = open_team(bot, user_id=REP_NY)
        saved_ok = bot.requests.interactive(
            view_submission(fresh, {"managers": [MANAGER]}, user_id=REP_NY)
        )
        assert saved_ok.body in (b"", b"{}"), saved_ok.text

        response = bot.requests.interactive(
            view_submission(stale, {"managers": [OTHER_MANAGER]}, user_id=ADMIN)
        )

        assert "Another admin changed the managers" in response.json()["errors"]["managers"]
        with bot.db.reader() as session:
            assert session.scalars(select(TeamMember.user_id)).all() == [MANAGER]
