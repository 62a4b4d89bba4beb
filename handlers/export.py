"""`/followup export [status=won] [since=2026-01-01] [lang=zh]`: the follow-ups you may see, as
an xlsx file in your DM with the bot.

A rep gets their own customers' follow-ups, a manager also their reps', an admin everyone's —
the same rule as the customer card (`bot.permissions.visible_owners`), decided on the server from
who sent the command. Because of that rule nothing in the file needs masking: every phone and
email in it is one the card would show this person in full.

Slack wants the command acknowledged within 3 seconds; a big export takes longer, so the command
is acknowledged first and the file built and uploaded after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.exporter import CountedRows, ExportFilter, Lang, export_rows, log_export, write_export
from bot.permissions import role_of
from bot.services import Services
from storage.models import STATUSES

logger = logging.getLogger(__name__)

USAGE: Final = (
    "Usage: `/followup export [status=won] [since=2026-01-01] [lang=zh]` — "
    f"status is one of {', '.join(STATUSES)}; since is a date (YYYY-MM-DD); lang is en or zh."
)
PREPARING: Final = "Preparing your export — I'll send the file to your DM with me."
FAILED: Final = "Couldn't build or send your export just now — nothing was sent. Please try again."
NO_DM: Final = "Couldn't open a DM with you to send the file — nothing was sent. Please try again."


class ExportArgsError(ValueError):
    """The command's arguments can't be read; the message says what to type instead."""


@dataclass(frozen=True)
class ExportRequest:
    filt: ExportFilter
    lang: Lang | None  # None: the user's Slack language decides


def parse_export_args(args: str) -> ExportRequest:
    """`status=won since=2026-01-01 lang=zh`, in any order, each at most once."""
    seen: dict[str, str] = {}
    # split(): a Chinese IME types full-width spaces; "：" is the full-width colon some type.
    for token in args.replace("：", "=").split():
        key, equals, value = token.partition("=")
        key = key.lower()
        if not equals or not value:
            raise ExportArgsError(f"“{token}” isn't key=value. {USAGE}")
        if key not in ("status", "since", "lang"):
            raise ExportArgsError(f"Unknown option “{key}”. {USAGE}")
        if key in seen:
            raise ExportArgsError(f"“{key}” is given twice. {USAGE}")
        seen[key] = value
    return ExportRequest(
        ExportFilter(status=_status(seen.get("status")), since=_since(seen.get("since"))),
        _lang(seen.get("lang")),
    )


def _status(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in STATUSES:
        raise ExportArgsError(f"“{value}” isn't a status. {USAGE}")
    return value.lower()


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ExportArgsError(f"“{value}” isn't a date like 2026-01-01. {USAGE}") from None


def _lang(value: str | None) -> Lang | None:
    if value is None:
        return None
    if value.lower() == "en":
        return "en"
    if value.lower() in ("zh", "cn", "中文"):
        return "zh"
    raise ExportArgsError(f"“{value}” isn't a language: use lang=en or lang=zh. {USAGE}")


def run_export_command(
    ack: Ack,
    respond: Respond,
    services: Services,
    client: WebClient,
    *,
    command: dict[str, Any],
    args: str,
) -> None:
    """All of `/followup export` for the command router."""
    user_id = str(command.get("user_id") or "")
    try:
        request = parse_export_args(args)
    except ExportArgsError as problem:
        ack(text=str(problem), response_type="ephemeral")
        return
    ack(text=PREPARING, response_type="ephemeral")
    respond(text=send_export(services, client, user_id, request), response_type="ephemeral")


def send_export(services: Services, client: WebClient, user_id: str, request: ExportRequest) -> str:
    """Build the file, DM it, log it; what to tell the user."""
    lang = request.lang or _user_lang(services, user_id)
    try:
        rows = CountedRows(
            export_rows(
                services.db, services.settings, viewer_id=user_id, filt=request.filt, lang=lang
            )
        )
        data = write_export(rows, None, "xlsx")
        scope = _scope(services, user_id)
    except SQLAlchemyError:
        logger.exception("export for %s failed", user_id)
        return FAILED
    count = rows.data_rows
    if count == 0:
        return f"No follow-ups to export{_described(request.filt)} — nothing was sent."
    try:
        channel = services.users.dm_channel(user_id)
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("export for %s: no DM channel: %s", user_id, error)
        return NO_DM
    now = services.clock()
    local_day = now.astimezone(services.settings.zone).date().isoformat()
    try:
        client.files_upload_v2(
            channel=channel,
            file=data or b"",
            filename=f"followups-{local_day}.xlsx",
            title=f"Follow-ups export {local_day}",
            initial_comment=f"{scope}: {_plural(count)}{_described(request.filt)}.",
        )
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("export for %s: upload failed: %s", user_id, error)
        return FAILED
    # Logged once the data has left the database, so the log says who took what out.
    try:
        log_export(
            services.db,
            actor_id=user_id,
            rows=count,
            filt=request.filt,
            fmt="xlsx",
            lang=lang,
            at=now,
        )
    except SQLAlchemyError:
        logger.exception("export for %s was sent but couldn't be logged", user_id)
    return f"Sent to your DM: {_plural(count)}."


def _user_lang(services: Services, user_id: str) -> Lang:
    """Chinese headers for someone whose Slack is in Chinese, English otherwise."""
    locale = services.users.prefs(user_id).locale or ""
    return "zh" if locale.lower().startswith("zh") else "en"


def _scope(services: Services, user_id: str) -> str:
    with services.db.reader() as session:
        role = role_of(session, services.settings, user_id)
    return {"admin": "Everyone's", "manager": "Your team's", "rep": "Your"}[role] + " follow-ups"


def _plural(count: int) -> str:
    return f"{count:,} follow-up{'' if count == 1 else 's'}"


def _described(filt: ExportFilter) -> str:
    parts = []
    if filt.status is not None:
        parts.append(f"status {filt.status}")
    if filt.since is not None:
        parts.append(f"since {filt.since.isoformat()}")
    return f" ({', '.join(parts)})" if parts else ""
