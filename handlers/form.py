"""Reading a submitted modal's state — defensively, since the payload is only as good as the sender.

Slack sends `view.state.values[block_id][action_id]`; anything missing or of the wrong shape reads
as "not given", and the core rules decide whether that's an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.followups import FollowupForm

MAX_FIELD_CHARS = 10_000
RECORD_ID = re.compile(r"[0-9]{1,18}")


# Ids are 32-bit integer columns (PostgreSQL refuses a larger number in a query outright).
MAX_RECORD_ID = 2**31 - 1


def parse_id(value: object) -> int | None:
    """A record id from a payload, or None. ASCII digits only: str.isdigit() also accepts
    "²" and "٣", which int() then refuses."""
    if not isinstance(value, str) or not RECORD_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_RECORD_ID else None


def _element(values: Any, block_id: str) -> dict[str, Any]:
    """The input's state, whatever its action_id: refilling a form (after a customer is
    picked) gives inputs fresh action_ids, because Slack keeps what was typed under old ones."""
    block = values.get(block_id) if isinstance(values, dict) else None
    if not isinstance(block, dict):
        return {}
    element = next(iter(block.values()), None) if len(block) == 1 else block.get(block_id)
    return element if isinstance(element, dict) else {}


def _string(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # Longer than any field allows; the rules would reject it anyway, so don't carry it around.
    return value[: MAX_FIELD_CHARS + 1]


def text_value(values: Any, block_id: str) -> str | None:
    return _string(_element(values, block_id).get("value"))


def selected_value(values: Any, block_id: str) -> str | None:
    selected = _element(values, block_id).get("selected_option")
    return _string(selected.get("value")) if isinstance(selected, dict) else None


def selected_user(values: Any, block_id: str) -> str | None:
    return _string(_element(values, block_id).get("selected_user"))


def selected_moment(values: Any, block_id: str) -> datetime | None:
    stamp = _element(values, block_id).get("selected_date_time")
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        return None
    try:
        return datetime.fromtimestamp(stamp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def selected_options(values: Any, block_id: str) -> set[str]:
    chosen = _element(values, block_id).get("selected_options")
    if not isinstance(chosen, list):
        return set()
    return {str(o.get("value")) for o in chosen if isinstance(o, dict)}


def selected_id(values: Any, block_id: str) -> int | None:
    value = selected_value(values, block_id)
    return parse_id(value)


def state_values(view: Any) -> Any:
    state = view.get("state") if isinstance(view, dict) else None
    return state.get("values") if isinstance(state, dict) else None


def read_followup_form(view: Any) -> FollowupForm:
    values = state_values(view)
    return FollowupForm(
        customer_name=text_value(values, "customer_name"),
        company=text_value(values, "company"),
        phone=text_value(values, "phone"),
        email=text_value(values, "email"),
        contacted_at=selected_moment(values, "contacted_at"),
        method=selected_value(values, "method"),
        summary=text_value(values, "summary"),
        feedback=text_value(values, "feedback"),
        owner_id=selected_user(values, "owner"),
        next_at=text_value(values, "next_at"),
        next_action=text_value(values, "next_action"),
        status=selected_value(values, "status"),
        notes=text_value(values, "notes"),
        existing_customer_id=selected_id(values, "existing_customer"),
        confirm_new_customer="new_customer" in selected_options(values, "confirm"),
        confirm_close_open="close_open" in selected_options(values, "confirm"),
    )
