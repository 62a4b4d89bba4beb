"""HTTP mode on a production WSGI server (waitress), plus Socket Mode.

Bolt's own `app.start()` is a single-threaded development server: one slow request would hold up
every other rep. Waitress serves requests on a pool of threads, and Bolt's WSGI adapter is the
same code path Slack's own examples deploy.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import create_server

from bot.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def wsgi_app(app: App) -> WSGIApplication:
    """Slack's endpoint at /slack/events and a liveness probe at /healthz; 404 elsewhere."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path == EVENTS_PATH:
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return application


def make_http_server(
    app: App, settings: Settings, *, host: str | None = None, port: int | None = None
) -> Any:
    """A waitress server bound and ready; call `.run()` to serve, `.close()` to stop.

    `port=0` picks a free port (tests and benchmarks); read it back from `.effective_port`.
    """
    return create_server(
        wsgi_app(app),
        host=host or settings.host,
        port=settings.port if port is None else port,
        threads=settings.http_threads,
        ident="followup-bot",
    )


def stop_http_server(server: Any) -> None:
    """Stop `server.run()` promptly from any thread, letting requests in flight finish.

    The close runs inside the server's own loop (woken through its trigger pipe), so the loop
    exits at once instead of at its next one-second poll.
    """
    # OSError: the loop ran the close before the wake-up byte was written — already stopping.
    with contextlib.suppress(OSError):
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    # Requests in flight finish (a submission may wait on the database); queued ones too.
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=30)


def serve_http(app: App, settings: Settings, *, on_stop: Callable[[], None] | None = None) -> None:
    server = make_http_server(app, settings)
    signal.signal(signal.SIGTERM, lambda *_: stop_http_server(server))
    logger.info(
        "HTTP mode: listening on %s:%s%s", settings.host, server.effective_port, EVENTS_PATH
    )
    server.run()
    if on_stop is not None:
        on_stop()
    logger.info("HTTP mode: stopped")


def serve_socket_mode(app: App, settings: Settings) -> None:
    if settings.slack_app_token is None:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    logger.info("Socket Mode: connecting to Slack")
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    handler.start()  # type: ignore[no-untyped-call]
