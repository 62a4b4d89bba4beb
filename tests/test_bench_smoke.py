"""The benchmarks' data side, at a tiny size: the seeded database obeys the app's rules, the sweep
claims exactly what is due, the summary is built, the import brings in every row. Correctness only:
timings are the benchmarks' business (docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bench import import_sheet, summary, sweep
from bench.seed import NOW, seed
from bot.validation import normalize_email, normalize_phone
from storage.db import Database
from storage.models import ChangeLog, Customer, FollowUp
from storage.queries import find_customer_by_contact

CUSTOMERS = 60
FOLLOWUPS = 200
DUE = 25
OWNERS = 7


def test_seeded_database_follows_the_app_rules(database_url: str) -> None:
    result = seed(
        database_url,
        customers=CUSTOMERS,
        followups=FOLLOWUPS,
        due=DUE,
        owners=OWNERS,
        open_followups=50,
        now=NOW,
    )
    assert (result.customers, result.followups, result.open, result.due) == (60, 200, 50, 25)
    db = Database(database_url)
    try:
        with db.reader() as session:
            customers = session.scalars(select(Customer).order_by(Customer.id)).all()
            followups = session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
            logged = session.scalar(select(func.count()).select_from(ChangeLog))
            due = session.scalar(
                select(func.count()).select_from(FollowUp).where(FollowUp.remind_at <= NOW)
            )
        assert len(customers) == CUSTOMERS
        assert len(followups) == FOLLOWUPS
        assert logged == result.change_log > CUSTOMERS
        assert due == DUE
        for customer in customers:
            assert customer.phone_e164 or customer.email
            if customer.phone_e164:
                assert normalize_phone(customer.phone_e164, "CN") == customer.phone_e164
            if customer.email:
                assert normalize_email(customer.email) == customer.email
            assert customer.owner_since is not None
        by_customer: dict[int, list[FollowUp]] = {}
        for followup in followups:
            by_customer.setdefault(followup.customer_id, []).append(followup)
            assert followup.contacted_at <= NOW
            assert followup.owner_id == customers[followup.customer_id - 1].owner_id
            if followup.state == "done":
                assert followup.remind_at is None
                assert followup.done_at is not None
        assert sum(f.state == "open" for f in followups) == 50
        for customer in customers:
            history = by_customer[customer.id]
            # At most one open follow-up, and only the latest; it decided the customer's status.
            assert all(f.state == "done" for f in history[:-1])
            assert history[-1].status_after == customer.status
            assert [f.contacted_at for f in history] == sorted(f.contacted_at for f in history)
        # The app finds seeded customers by phone and by email, as a rep's lookup would.
        with db.reader() as session:
            for customer in customers:
                if customer.phone_e164:
                    found = find_customer_by_contact(
                        session, phone_e164=customer.phone_e164, email=None
                    )
                    assert found is not None
                    assert found.id == customer.id
                if customer.email:
                    found = find_customer_by_contact(session, phone_e164=None, email=customer.email)
                    assert found is not None
                    assert found.id == customer.id
        # The app's own next insert gets the next id.
        with db.transaction() as session:
            session.add(
                Customer(
                    name="新客户",
                    company="测试有限公司",
                    phone_e164="+8613000000000",
                    owner_id="U0OWNER0000",
                    status="prospect",
                    created_by="U0OWNER0000",
                )
            )
        with db.reader() as session:
            assert session.scalar(select(func.max(Customer.id))) == CUSTOMERS + 1
    finally:
        db.dispose()


def test_sweep_claims_every_due_follow_up_once(database_url: str) -> None:
    argv = ["--database-url", database_url, "--customers", str(CUSTOMERS)]
    argv += ["--followups", str(FOLLOWUPS), "--due", str(DUE), "--owners", str(OWNERS)]
    result = sweep.main(argv)
    assert result.due == result.claimed == DUE
    assert len(result.batch_seconds) == 1  # fewer than a batch of 100
    if database_url.startswith("sqlite"):  # PostgreSQL rightly scans a table this small
        assert "USING INDEX ix_followups_owner_id_remind_at" in result.plans["due reminders"]
    # Claimed rows were put back: the seeded database is used again and they are due again;
    # then one real sweep DMs each owner through the fake Slack (main checks every one is sent).
    again = sweep.main([*argv[:2], "--owners", str(OWNERS), "--dms"])
    assert again.due == again.claimed == DUE


def test_summary_is_built_over_the_seeded_follow_ups(database_url: str) -> None:
    result = summary.main(["--database-url", database_url, "--open", "100", "--owners", "5"])
    assert result.open == 100
    assert result.owners_listed == 5  # a tenth are due: every owner has something today
    assert result.blocks > 3


def test_import_brings_in_every_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    result = import_sheet.main(["--database-url", url, "--rows", "200"])
    assert (result.rows, result.rejected) == (200, 0)
    assert result.followups_in_database == 200
    assert result.largest_process_mb > 0
