"""HTTP mode on a production WSGI server (waitress), plus Socket Mode.

Bolt's own `app.start()` is a single-threaded development server: one slow request would hold up
every other rep. Waitress serves requests on a pool of threads, and Bolt's WSGI adapter is the
same code path Slack's own examples deploy.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore
from waitress.server import create_server

from bot.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


# Fields Bolt reads from every request to route it and find who sent it; each must be an object
# or a string id, or Bolt fails on the request before any listener of ours could answer it.
_ROUTING_FIELDS = ("user", "team", "enterprise", "channel", "view", "container", "message")
_NESTED = ("event", "message", "previous_message")


def malformed(body: bytes, content_type: str) -> str | None:
    """Why Bolt can't take this (signed) body, or None. Slack never sends such a body; a client
    that does gets a 400, never a 500 with a traceback."""
    try:
        text = body.decode("utf-8")
        payload = _payload(text, content_type)
    except UnicodeDecodeError:
        return "the body isn't UTF-8"
    except ValueError:
        return "the payload isn't JSON"
    return _shape_problem(payload, nested=True)


def _payload(text: str, content_type: str) -> object:
    """The body as Bolt will read it (slack_bolt.request.internals.parse_body)."""
    if not text:
        return {}
    if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
        return json.loads(text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    # Interactivity posts `payload=<json>`; a slash command is flat strings Bolt reads as-is.
    return json.loads(form["payload"]) if "payload" in form else {}


def _shape_problem(payload: object, *, nested: bool) -> str | None:
    if not isinstance(payload, dict):
        return "the payload isn't a JSON object"
    for field in _ROUTING_FIELDS:
        value = payload.get(field)
        if value is not None and not isinstance(value, dict | str):
            return f"'{field}' is neither an object nor an id"
    if "event" in payload and not isinstance(payload["event"], dict):
        return "'event' isn't an object"
    for field in ("actions", "authorizations"):
        if not _list_of_objects(payload.get(field)):
            return f"'{field}' isn't a list of objects"
    if payload.get("type") in ("block_actions", "interactive_message") and not payload.get(
        "actions"
    ):
        return "a button press without an action"
    if nested:
        for field in _NESTED:
            inner = payload.get(field)
            problem = _shape_problem(inner, nested=False) if isinstance(inner, dict) else None
            if problem:
                return f"in '{field}': {problem}"
    return None


def _list_of_objects(items: object) -> bool:
    """What Bolt can take: absent, empty (it checks len() first), or a list of objects."""
    if items is None or (isinstance(items, list | dict | str) and not items):
        return True
    return isinstance(items, list) and all(isinstance(item, dict) for item in items)


def _read_body(environ: WSGIEnvironment) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    # Bolt's adapter reads the body again.
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _signed(verifier: SignatureVerifier, body: bytes, environ: WSGIEnvironment) -> bool:
    try:
        return verifier.is_valid(
            body,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            environ.get("HTTP_X_SLACK_SIGNATURE"),
        )
    except ValueError:  # a timestamp that isn't a number
        return False


def wsgi_app(app: App, signing_secret: str | None = None) -> WSGIApplication:
    """Slack's endpoint at /slack/events and a liveness probe at /healthz; 404 elsewhere.

    With a signing secret, a request is checked before Bolt parses it: unsigned → 401, signed
    but malformed → 400. (Bolt parses first and checks after, so junk got a 500.)"""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def answer(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [body]

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path != EVENTS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        if verifier is not None and environ.get("REQUEST_METHOD") == "POST":
            body = _read_body(environ)
            if not _signed(verifier, body, environ):
                return answer(start_response, "401 Unauthorized", b'{"error":"invalid request"}')
            problem = malformed(body, environ.get("CONTENT_TYPE", ""))
            if problem:
                logger.info("refused a signed but malformed request: %s", problem)
                return answer(start_response, "400 Bad Request", b'{"error":"malformed request"}')
        return slack(environ, start_response)

    return application


def make_http_server(
    app: App, settings: Settings, *, host: str | None = None, port: int | None = None
) -> Any:
    """A waitress server bound and ready; call `.run()` to serve, `.close()` to stop.

    `port=0` picks a free port (tests and benchmarks); read it back from `.effective_port`.
    """
    secret = settings.slack_signing_secret
    return create_server(
        wsgi_app(app, secret.get_secret_value() if secret and not settings.socket_mode else None),
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
