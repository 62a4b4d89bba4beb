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
from bot.i18n import Text, Translator, _, parse_language, translator
from bot.permissions import Role, role_of
from bot.services import Services
from handlers.blocks import escape, sentences, status_label
from storage.models import STATUSES

logger = logging.getLogger(__name__)

USAGE: Final = _(
    "Usage: `/followup export [status=won] [since=2026-01-01] [lang=zh]` — status is one of "
    "{statuses}; since is a date (YYYY-MM-DD); lang is en or zh.",
    statuses=", ".join(STATUSES),
)


class ExportArgsError(ValueError):
    """The command's arguments can't be read; `problem` says what is wrong (usage follows it)."""

    def __init__(self, problem: Text) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class ExportRequest:
    filt: ExportFilter
    lang: Lang | None  # None: the user's language decides


def parse_export_args(args: str) -> ExportRequest:
    """`status=won since=2026-01-01 lang=zh`, in any order, each at most once."""
    seen: dict[str, str] = {}
    # split(): a Chinese IME types full-width spaces; "：" is the full-width colon some type.
    for token in args.replace("：", "=").split():
        key, equals, value = token.partition("=")
        key = key.lower()
        if not equals or not value:
            raise ExportArgsError(_("“{token}” isn't key=value.", token=escape(token)))
        if key not in ("status", "since", "lang"):
            raise ExportArgsError(_("Unknown option “{option}”.", option=escape(key)))
        if key in seen:
            raise ExportArgsError(_("“{option}” is given twice.", option=escape(key)))
        seen[key] = value
    return ExportRequest(
        ExportFilter(status=_status(seen.get("status")), since=_since(seen.get("since"))),
        _lang(seen.get("lang")),
    )


def _status(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in STATUSES:
        raise ExportArgsError(_("“{value}” isn't a status.", value=escape(value)))
    return value.lower()


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ExportArgsError(
            _("“{value}” isn't a date like 2026-01-01.", value=escape(value))
        ) from None


def _lang(value: str | None) -> Lang | None:
    if value is None:
        return None
    # The same words `/followup lang` understands: zh-TW, 中文, en-GB…
    language = parse_language(value)
    if language is not None:
        return language
    raise ExportArgsError(
        _("“{value}” isn't a language: use lang=en or lang=zh.", value=escape(value))
    )


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
    t = services.users.translator(user_id)
    try:
        request = parse_export_args(args)
    except ExportArgsError as problem:
        text = sentences(t, [t.render(problem.problem), t.render(USAGE)])
        ack(text=text, response_type="ephemeral")
        return
    ack(
        text=t.gettext("Preparing your export — I'll send the file to your DM with me."),
        response_type="ephemeral",
    )
    respond(text=send_export(services, client, user_id, request), response_type="ephemeral")


def send_export(services: Services, client: WebClient, user_id: str, request: ExportRequest) -> str:
    """Build the file, DM it, log it; what to tell the user (in their language).

    The spreadsheet's headers are in the user's language too, unless `lang=` asked otherwise.
    """
    prefs = services.users.prefs(user_id)
    t = translator(prefs.language)
    lang: Lang = request.lang or prefs.language
    failed = t.gettext(
        "Couldn't build or send your export just now — nothing was sent. Please try again."
    )
    try:
        rows = CountedRows(
            export_rows(
                services.db, services.settings, viewer_id=user_id, filt=request.filt, lang=lang
            )
        )
        data = write_export(rows, None, "xlsx", lang=lang)
        with services.db.reader() as session:
            role = role_of(session, services.settings, user_id)
    except SQLAlchemyError:
        logger.exception("export for %s failed", user_id)
        return failed
    count = rows.data_rows
    now = services.clock()
    today = now.astimezone(prefs.zone).date()
    described = _described(request.filt, t, today)
    if count == 0:
        if described is None:
            return t.gettext("No follow-ups to export — nothing was sent.")
        return t.gettext("No follow-ups to export ({filter}) — nothing was sent.", filter=described)
    try:
        channel = services.users.dm_channel(user_id)
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("export for %s: no DM channel: %s", user_id, error)
        return t.gettext(
            "Couldn't open a DM with you to send the file — nothing was sent. Please try again."
        )
    try:
        client.files_upload_v2(
            channel=channel,
            file=data or b"",
            filename=f"followups-{today.isoformat()}.xlsx",
            title=t.gettext("Follow-ups export {day}", day=t.calendar_day(today)),
            initial_comment=_comment(t, role, count, described),
        )
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("export for %s: upload failed: %s", user_id, error)
        return failed
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
    return t.ngettext(
        "Sent to your DM: {count} follow-up.", "Sent to your DM: {count} follow-ups.", count
    )


def _comment(t: Translator, role: Role, count: int, described: str | None) -> str:
    """The message the file comes with: whose follow-ups, how many, which."""
    if role == "admin":
        scope = t.gettext("Everyone's follow-ups")
    elif role == "manager":
        scope = t.gettext("Your team's follow-ups")
    else:
        scope = t.gettext("Your follow-ups")
    counted = t.ngettext("{count} follow-up", "{count} follow-ups", count)
    if described is None:
        return t.gettext("{scope}: {count}.", scope=scope, count=counted)
    return t.gettext("{scope}: {count} ({filter}).", scope=scope, count=counted, filter=described)


def _described(filt: ExportFilter, t: Translator, today: date) -> str | None:
    """The filter in words ("status Won, since Thu 26 Nov"), or None when there is none."""
    since = t.calendar_day(filt.since, today) if filt.since is not None else None
    status = status_label(t, filt.status) if filt.status is not None else None
    if status is not None and since is not None:
        return t.gettext("status {status}, since {since}", status=status, since=since)
    if status is not None:
        return t.gettext("status {status}", status=status)
    if since is not None:
        return t.gettext("since {since}", since=since)
    return None
