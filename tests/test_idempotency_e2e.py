"""Slack delivers some things more than once; each must take effect once."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Database
from storage.events import first_sighting, forget_events_before
from tests.conftest import FIXED_NOW, REP, REP_NY, running_bot
from tests.fake_slack import FakeSlack


def home_opened(user_id: str) -> dict[str, str]:
    return {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home"}


def publishes_for(slack: FakeSlack, user_id: str) -> int:
    return sum(1 for call in slack.calls_to("views.publish") if call.args["user_id"] == user_id)


def test_a_retried_event_is_acknowledged_and_handled_once(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url) as bot:
        assert bot.requests.event(home_opened(REP), event_id="Ev0RETRY01").status == 200
        slack.wait_for("views.publish", lambda c: c.args["user_id"] == REP, count=1)
        # Slack's retry of the same event, and a Socket Mode style redelivery without a header.
        assert (
            bot.requests.event(home_opened(REP), event_id="Ev0RETRY01", retry_num=1).status == 200
        )
        assert bot.requests.event(home_opened(REP), event_id="Ev0RETRY01").status == 200
        # A genuinely new event is still handled.
        assert bot.requests.event(home_opened(REP), event_id="Ev0NEW0001").status == 200
    # Leaving the block drains every listener, so a wrongly handled retry would be counted.
    assert publishes_for(slack, REP) == 2


def test_two_instances_sharing_a_database_handle_a_redelivered_event_once(
    slack: FakeSlack, database_url: str
) -> None:
    with running_bot(slack, database_url) as first, running_bot(slack, database_url) as second:
        assert first.requests.event(home_opened(REP_NY), event_id="Ev0SHARED1").status == 200
        assert second.requests.event(home_opened(REP_NY), event_id="Ev0SHARED1").status == 200
    assert publishes_for(slack, REP_NY) == 1


def test_old_event_ids_are_forgotten(db: Database) -> None:
    with db.transaction() as session:
        assert first_sighting(session, "Ev0OLD0001", FIXED_NOW - timedelta(days=2))
        assert first_sighting(session, "Ev0RECENT1", FIXED_NOW)
        assert not first_sighting(session, "Ev0RECENT1", FIXED_NOW)
    with db.transaction() as session:
        assert forget_events_before(session, FIXED_NOW - timedelta(days=1)) == 1
    with db.transaction() as session:
        assert first_sighting(session, "Ev0OLD0001", FIXED_NOW)
        assert not first_sighting(session, "Ev0RECENT1", FIXED_NOW)
