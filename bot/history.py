"""A customer's history: every create, edit, status change, reassign, merge, snooze and done,
from the append-only change log. Visible to the owner, their manager and admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.permissions import require_may_act_on
from bot.settings import Settings
from storage import queries
from storage.db import Database

HISTORY_LENGTH = 40


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    actor_id: str
    entity: str
    entity_id: int | None
    action: str
    changes: tuple[tuple[str, Any, Any], ...]  # (field, before, after)


@dataclass(frozen=True)
class CustomerHistory:
    customer_id: int
    name: str
    company: str
    lines: tuple[HistoryLine, ...]


def _changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[tuple[str, Any, Any], ...]:
    fields = list(dict.fromkeys([*(after or {}), *(before or {})]))
    return tuple((f, (before or {}).get(f), (after or {}).get(f)) for f in fields)


def customer_history(
    db: Database, settings: Settings, customer_id: int, *, viewer_id: str
) -> CustomerHistory | None:
    with db.reader() as session:
        customer = queries.get_customer(session, customer_id)
        if customer is None:
            return None
        require_may_act_on(session, settings, actor_id=viewer_id, owner_id=customer.owner_id)
        rows = queries.history_of_customer(session, customer_id, limit=HISTORY_LENGTH)
        lines = tuple(
            HistoryLine(
                row.at,
                row.actor_id,
                row.entity,
                row.entity_id,
                row.action,
                _changes(row.before, row.after),
            )
            for row in rows
        )
        return CustomerHistory(customer.id, customer.name, customer.company, lines)
