"""The `followup-bot` command line: serve, migrate."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings, SettingsError, load_settings
from storage import migrate

logger = logging.getLogger("followup_bot")

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followup-bot", description="A Slack app for customer follow-ups."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "serve",
        help="run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)",
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    return parser


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def cmd_migrate(settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    print("Database is up to date.")
    return 0


def cmd_serve(settings: Settings) -> int:
    # Imported here so `migrate` and `--help` don't pay for Slack and dateparser start-up.
    from bot import dates
    from bot.app import create_app
    from bot.server import serve_http, serve_socket_mode

    migrate.upgrade(settings.database_url)
    dates.warm_up()
    app, _services = create_app(settings)
    if settings.socket_mode:
        serve_socket_mode(app, settings)
    else:
        serve_http(app, settings)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    _configure_logging(settings)
    try:
        if args.command == "migrate":
            return cmd_migrate(settings)
        return cmd_serve(settings)
    except SQLAlchemyError as error:
        print(f"followup-bot: database error: {error.__class__.__name__}: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    except (BoltError, SlackApiError, SlackClientError) as error:
        print(f"followup-bot: couldn't connect to Slack: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
