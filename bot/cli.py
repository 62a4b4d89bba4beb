"""The `followup-bot` command line: serve, migrate, and the tools beside them."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings, SettingsError, load_settings
from storage import crypto, migrate
from storage.db import Database
from storage.models import STATUSES
from storage.rotation import (
    KeyMismatchError,
    ensure_key_matches,
    fill_missing_lookup_hashes,
    rotate_key,
)

logger = logging.getLogger("followup_bot")

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


M_ARENA_MAX = -8  # mallopt() parameter, from glibc's malloc.h


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followup-bot", description="A Slack app for customer follow-ups."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)",
    )
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="don't sweep for due reminders in this process (use `remind` from cron instead)",
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    remind = commands.add_parser("remind", help="run one reminder sweep and exit")
    remind.add_argument(
        "--now",
        type=_moment,
        default=None,
        help="sweep as of this ISO-8601 moment (default: now), e.g. 2026-12-01T09:00+08:00",
    )
    remind.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send and change nothing"
    )
    summary = commands.add_parser("summary", help="build (and post) the morning summary")
    summary.add_argument("--now", type=_moment, default=None, help="as of this ISO-8601 moment")
    summary.add_argument(
        "--channel", default=None, help="one channel id (default: SUMMARY_CHANNELS)"
    )
    summary.add_argument(
        "--dry-run", action="store_true", help="print the Block Kit JSON; post and change nothing"
    )
    summary.add_argument(
        "--force",
        action="store_true",
        help="post even outside SUMMARY_DAYS/SUMMARY_TIME (still at most once a day)",
    )
    importer = commands.add_parser(
        "import", help="import a follow-up spreadsheet (.xlsx or .csv), with a cleaning report"
    )
    importer.add_argument("file", type=Path, help="the spreadsheet to import")
    importer.add_argument("--sheet", default=None, help="the worksheet (default: the first)")
    importer.add_argument(
        "--dry-run", action="store_true", help="check everything and write the report; save nothing"
    )
    importer.add_argument(
        "--owner-map", type=Path, default=None, help="CSV mapping owner names/emails to Slack ids"
    )
    importer.add_argument(
        "--report", type=Path, default=None, help="write the per-row report here (.xlsx or .csv)"
    )
    importer.add_argument(
        "--date-order",
        choices=("mdy", "dmy", "ymd"),
        default="mdy",
        help="how to read dates like 3/12 (default: mdy, i.e. 12 March)",
    )
    importer.add_argument(
        "--as", dest="actor", default="import", help="your Slack user id, for the change log"
    )
    export = commands.add_parser(
        "export", help="write follow-ups to a spreadsheet (.xlsx or .csv; - for CSV on stdout)"
    )
    export.add_argument("target", help="OUT.xlsx, OUT.csv, or - for CSV on stdout")
    export.add_argument("--owner", default=None, help="only this owner's follow-ups (U…)")
    export.add_argument(
        "--since", type=_day, default=None, help="only contacts on or after this date (DEFAULT_TZ)"
    )
    export.add_argument("--status", choices=STATUSES, default=None, help="only this status")
    export.add_argument("--lang", choices=("en", "zh"), default="en", help="header language")
    backup = commands.add_parser(
        "backup", help="copy the database to a new file while the bot runs, and check the copy"
    )
    backup.add_argument("target", type=Path, help="the new file, e.g. followup-2026-11-27.db")
    restore = commands.add_parser(
        "restore", help="replace the database with a backup (asks first; the old one is kept)"
    )
    restore.add_argument("source", type=Path, help="a file made by `followup-bot backup`")
    restore.add_argument("--yes", action="store_true", help="don't ask (for scripts)")
    erase = commands.add_parser(
        "erase", help="erase a customer's personal data on their request (asks first)"
    )
    erase.add_argument("--customer", type=int, required=True, help="the customer's id (#12 → 12)")
    erase.add_argument("--yes", action="store_true", help="don't ask (for scripts)")
    commands.add_parser(
        "purge",
        help="delete follow-ups closed more than RETENTION_DAYS ago, now (serve does hourly)",
    )
    commands.add_parser(
        "new-key", help="print a fresh random key for FIELD_ENCRYPTION_KEY (changes nothing)"
    )
    commands.add_parser(
        "rotate-key",
        help="re-encrypt stored data with FIELD_ENCRYPTION_KEY (or decrypt it, with no key set), "
        "reading it with FIELD_ENCRYPTION_OLD_KEYS; stop the bot first",
    )
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-01-01") from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' needs a UTC offset, e.g. {text}+08:00")
    return moment.astimezone(UTC)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def open_database(settings: Settings) -> Database:
    """The migrated database, with the field cipher set up and checked against its data."""
    migrate.upgrade(settings.database_url)
    cipher = settings.field_cipher()
    crypto.configure(cipher)
    db = Database(settings.database_url)
    try:
        ensure_key_matches(db, cipher)
    except KeyMismatchError:
        db.dispose()
        raise
    for clash in fill_missing_lookup_hashes(db):
        logging.getLogger(__name__).warning("%s", clash)
    return db


def cmd_rotate_key(settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    cipher = settings.field_cipher()
    crypto.configure(cipher)
    db = Database(settings.database_url)
    try:
        report = rotate_key(db, cipher)
    finally:
        db.dispose()
    print("\n".join(report.lines()))
    return 0


def cmd_migrate(settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    print("Database is up to date.")
    return 0


def _fewer_malloc_arenas() -> None:
    """glibc gives threads their own malloc arenas (up to 8 per core) and keeps what they grew;
    with 8 request and 32 listener threads that was ~25 MB more resident memory, still growing.
    The interpreter lock lets one thread allocate at a time anyway, so two arenas are enough.
    (MALLOC_ARENA_MAX=2 in the environment does the same; elsewhere than glibc, nothing.)"""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 2)


def cmd_serve(settings: Settings, *, with_scheduler: bool) -> int:
    _fewer_malloc_arenas()
    # Imported here so `migrate` and `--help` don't pay for Slack and dateparser start-up.
    from bot import dates
    from bot.app import create_app
    from bot.scheduler import start_scheduler
    from bot.server import serve_http, serve_socket_mode

    migrate.upgrade(settings.database_url)
    dates.warm_up()
    app, services = create_app(settings)
    scheduler = start_scheduler(services) if with_scheduler else None
    try:
        if settings.socket_mode:
            serve_socket_mode(app, settings)
        else:
            # On SIGTERM: requests in flight finish, then the work listeners do after their
            # ack (confirmations, DMs) finishes too, before the process exits.
            serve_http(app, settings, on_stop=lambda: services.listeners.shutdown(wait=True))
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


def cmd_remind(settings: Settings, *, now: datetime | None, dry_run: bool) -> int:
    from bot.app import create_app

    migrate.upgrade(settings.database_url)
    _app, services = create_app(settings)
    moment = now or services.clock()
    if dry_run:
        lines = [f"would send: {line}" for line in services.reminders.preview(moment)]
    else:
        lines = services.reminders.sweep(moment).lines()
    for line in lines or ["nothing due"]:
        print(line)
    return 0


def cmd_summary(
    settings: Settings,
    *,
    now: datetime | None,
    channel: str | None,
    dry_run: bool,
    force: bool = False,
) -> int:
    from bot.app import create_app

    migrate.upgrade(settings.database_url)
    _app, services = create_app(settings)
    moment = now or services.clock()
    channels = [channel] if channel else settings.summary_channel_ids
    if not channels:
        print("followup-bot: no channel — set SUMMARY_CHANNELS or pass --channel", file=sys.stderr)
        return EXIT_CONFIG
    for channel_id in channels:
        if dry_run:
            message = services.summary.render(services.summary.build(channel_id, moment))
            print(json.dumps({"channel": channel_id, **message}, ensure_ascii=False, indent=2))
        elif not force and not services.summary.is_due(moment):
            # Cron may run this every few minutes: it posts once the day's time has come.
            print(f"{channel_id}: not due (SUMMARY_DAYS / SUMMARY_TIME); --force posts anyway")
        else:
            result = services.summary.post(channel_id, moment)
            print(f"{channel_id}: {result.outcome}")
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import create_app
    from bot.importer import ImportFileError, ImportOptions, run_import

    migrate.upgrade(settings.database_url)
    _app, services = create_app(settings, check_token=False)
    options = ImportOptions(
        path=args.file,
        sheet=args.sheet,
        dry_run=args.dry_run,
        owner_map=args.owner_map,
        report=args.report,
        date_order=args.date_order,
        actor_id=args.actor,
    )
    try:
        summary = run_import(services, options, progress=sys.stderr.isatty())
    except ImportFileError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    what = "would be imported" if args.dry_run else "imported"
    print(
        f"{summary.rows} rows: {summary.imported} {what}, {summary.fixed} fixed, "
        f"{summary.merged} merged, {summary.rejected} rejected, "
        f"{summary.skipped_duplicate_rows} already imported before."
    )
    if summary.unmapped_headers:
        unmapped = ", ".join(repr(header) for header in summary.unmapped_headers)
        print(f"Columns not recognised (kept in notes): {unmapped}")
    if summary.report_path:
        print(f"Report: {summary.report_path}")
    return 0


def cmd_export(
    settings: Settings,
    *,
    target: str,
    owner: str | None,
    since: date | None,
    status: str | None,
    lang: Literal["en", "zh"],
) -> int:
    from bot.exporter import ExportError, ExportFilter, export_to, format_for

    try:
        format_for(target)
    except ExportError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    db = open_database(settings)
    try:
        filt = ExportFilter(owner_id=owner, since=since, status=status)
        rows = export_to(db, settings, target=target, viewer_id=None, filt=filt, lang=lang)
    finally:
        db.dispose()
    # With "-" stdout is the CSV itself, so the count goes to stderr.
    print(f"Exported {rows} follow-ups to {target}.", file=sys.stderr if target == "-" else None)
    return 0


def cmd_backup(settings: Settings, *, target: Path) -> int:
    from bot.backup import BackupError, NativeToolRequiredError, backup

    try:
        report = backup(settings.database_url, target)
    except NativeToolRequiredError as native:
        print(native)
        return EXIT_CONFIG
    except BackupError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    print("\n".join(report.lines()))
    return 0


def cmd_restore(settings: Settings, *, source: Path, yes: bool) -> int:
    from bot.backup import BackupError, NativeToolRequiredError, restore

    def ask(question: str) -> bool:
        if yes:
            print(f"{question}: yes (--yes)")
            return True
        try:
            return input(f"{question}: ").strip().lower() == "yes"
        except EOFError:
            return False

    try:
        report = restore(settings.database_url, source, confirm=ask)
    except NativeToolRequiredError as native:
        print(native)
        return EXIT_CONFIG
    except BackupError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    if report is None:
        print("Cancelled — nothing was changed.")
        return EXIT_RUNTIME
    print("\n".join(report.lines()))
    return 0


def cmd_erase(settings: Settings, *, customer_id: int, yes: bool) -> int:
    from bot.erasure import COMMAND_LINE_ACTOR, erase_customer, preview_erasure

    db = open_database(settings)
    target = preview_erasure(db, settings, customer_id=customer_id, actor_id=COMMAND_LINE_ACTOR)
    if target is None:
        print(f"followup-bot: there is no customer #{customer_id}", file=sys.stderr)
        return EXIT_RUNTIME
    if target.already_erased:
        print(f"Customer #{customer_id} was erased before; nothing to do.")
        return 0
    question = (
        f"Erase customer #{target.id} {target.name} ({target.company}) and the text of"
        f" {target.followups} follow-up(s)? This can't be undone. Type yes"
    )
    if not yes and not _confirmed(question):
        print("Cancelled — nothing was changed.")
        return EXIT_RUNTIME
    report = erase_customer(
        db, settings, customer_id=customer_id, actor_id=COMMAND_LINE_ACTOR, now=datetime.now(UTC)
    )
    if report is None:
        print(f"followup-bot: customer #{customer_id} disappeared meanwhile", file=sys.stderr)
        return EXIT_RUNTIME
    print(
        f"Erased customer #{report.customer_id}: {report.followups} follow-up(s) and"
        f" {report.log_entries} change-log entries no longer hold personal data."
    )
    return 0


def cmd_purge(settings: Settings) -> int:
    from bot.erasure import purge_expired

    if settings.retention_days is None:
        print("RETENTION_DAYS is not set: every follow-up is kept.")
        return 0
    purged = purge_expired(open_database(settings), settings, datetime.now(UTC))
    print(f"Deleted {purged} follow-up(s) closed more than {settings.retention_days} days ago.")
    return 0


def _confirmed(question: str) -> bool:
    try:
        return input(f"{question}: ").strip().lower() == "yes"
    except EOFError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "new-key":  # needs no settings: it is how one of them is made
        print(crypto.new_key())
        return 0
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    _configure_logging(settings)
    try:
        if args.command == "migrate":
            return cmd_migrate(settings)
        if args.command == "remind":
            return cmd_remind(settings, now=args.now, dry_run=args.dry_run)
        if args.command == "summary":
            return cmd_summary(
                settings,
                now=args.now,
                channel=args.channel,
                dry_run=args.dry_run,
                force=args.force,
            )
        if args.command == "import":
            return cmd_import(settings, args)
        if args.command == "export":
            return cmd_export(
                settings,
                target=args.target,
                owner=args.owner,
                since=args.since,
                status=args.status,
                lang=args.lang,
            )
        if args.command == "backup":
            return cmd_backup(settings, target=args.target)
        if args.command == "restore":
            return cmd_restore(settings, source=args.source, yes=args.yes)
        if args.command == "erase":
            return cmd_erase(settings, customer_id=args.customer, yes=args.yes)
        if args.command == "purge":
            return cmd_purge(settings)
        if args.command == "rotate-key":
            return cmd_rotate_key(settings)
        return cmd_serve(settings, with_scheduler=not args.no_scheduler)
    except KeyMismatchError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except crypto.FieldCryptoError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    except SQLAlchemyError as error:
        print(f"followup-bot: database error: {error.__class__.__name__}: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    except (BoltError, SlackApiError, SlackClientError) as error:
        print(f"followup-bot: couldn't connect to Slack: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    except OSError as error:
        # Unreachable Slack API, a port already in use, an address that can't be bound.
        print(f"followup-bot: {error.__class__.__name__}: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
