"""A fake Slack Web API on loopback that records every call and validates what the app sends.

Use it with ``slack_sdk.WebClient(token="xoxb-...", base_url=fake.base_url)``::

    with FakeSlack() as fake:
        fake.set_user("U_REP", tz="Asia/Shanghai")
        ...
        [call] = fake.wait_for("chat.postMessage")
        fake.assert_all_valid()

Everything the app sends in views (views.*) and messages (chat.*, response_url) is checked
with slack_sdk's Block Kit models plus the limits Slack enforces that slack_sdk does not; an
invalid request gets the error Slack would give and a readable entry in ``validation_errors``.

Responses are shaped like Slack's (see https://docs.slack.dev/reference/methods/). Besides the
Web API, any POST below ``response_url_base`` is taken as a post to a ``response_url`` and
recorded with method ``"response_url"``.

File uploads work as ``WebClient.files_upload_v2`` does them: files.getUploadURLExternal hands
out an upload URL on this server, a POST of the bytes there is recorded with method
``"file_upload"`` (the bytes are kept: ``fake.uploaded(file_id)``), and
files.completeUploadExternal shares the uploaded files.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import itertools
import json
import math
import re
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, Option, OptionGroup
from slack_sdk.models.views import View

from .slack_requests import APP_ID, TEAM_DOMAIN, with_generated_ids

__all__ = [
    "Call",
    "FakeSlack",
    "Handler",
    "validate_message",
    "validate_view",
]

TEAM_ID = "T000TEST"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"

# Fields Slack accepts as JSON-encoded strings in form-encoded requests.
_JSON_FIELDS = ("blocks", "view", "attachments", "metadata", "files")
_MESSAGE_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "response_url",
    }
)
_VIEW_METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})
_TRIGGER = re.compile(r"^\d+\.\d+\.[0-9a-zA-Z]+$")
_MAX_MESSAGE_TEXT = 40_000
_MAX_VIEW_BYTES = 250_000
_TRUE = ("1", "true", "True", True, 1)
_UPLOAD_PATH = "/upload/v1/"  # Slack's upload URLs are https://files.slack.com/upload/v1/…
_MAX_ALT_TXT = 1000
# (leading bytes, mimetype, filetype, pretty_type) as Slack reports them for a file.
_MAGIC: tuple[tuple[bytes, str, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png", "PNG"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg", "JPEG"),
    (b"GIF87a", "image/gif", "gif", "GIF"),
    (b"GIF89a", "image/gif", "gif", "GIF"),
    (b"%PDF-", "application/pdf", "pdf", "PDF"),
)


@dataclass
class Call:
    """One request the fake received, and what it answered."""

    method: str  # e.g. "chat.postMessage"; "response_url" for posts to a response_url;
    # "file_upload" for a POST of a file's bytes to an upload URL
    args: dict[str, Any]  # query + body; JSON-looking form fields decoded; no "token";
    # for "file_upload": {"file_id", "size"} (the bytes: FakeSlack.uploaded)
    token: str | None  # from "Authorization: Bearer ..." or a token field
    http_method: str = "POST"
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    status: int = 200
    # The JSON answered; for "file_upload", which Slack answers in plain text, a summary:
    # {"ok", "text"} plus the fake's own "error" name when it refused the upload.
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    def brief(self) -> str:
        args = json.dumps(self.args, default=str, ensure_ascii=False)
        if len(args) > 300:
            args = args[:300] + "…"
        answer = "ok" if self.ok else f"{self.status} {self.response.get('error')}"
        return f"{self.method} {args} -> {answer}"


# (status, JSON body, extra headers)
Answer = tuple[int, dict[str, Any], dict[str, str]]
Handler = Callable[[Call], Answer]


@dataclass
class _User:
    id: str
    tz: str
    locale: str
    name: str | None
    email: str | None
    deleted: bool


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None


@dataclass
class _PostLimit:
    """A token bucket per conversation for chat.postMessage (see limit_posts_per_channel)."""

    interval: float  # real seconds per message, once the burst is spent
    burst: int
    second: float  # real seconds per Slack second (Retry-After is in Slack seconds)
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # tokens, at

    def take(self, channel: str, now: float) -> float | None:
        """None if a message may go now (and count it); else real seconds until one may."""
        tokens, at = self.buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.interval)
        if tokens >= 1.0:
            self.buckets[channel] = (tokens - 1.0, now)
            return None
        self.buckets[channel] = (tokens, now)
        return (1.0 - tokens) * self.interval


@dataclass
class _File:
    """A file from files.getUploadURLExternal on: announced, then uploaded, then completed."""

    id: str
    filename: str
    length: int  # announced; the upload must have exactly this many bytes
    alt_txt: str | None
    data: bytes | None = None
    shared: dict[str, Any] | None = None  # the file object, once completed


class FakeSlack:
    """Plays the Slack Web API on 127.0.0.1 (a random free port) for WebClient(base_url=...)."""

    def __init__(
        self,
        *,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        tokens: Collection[str] | None = None,
        strict_messages: bool = True,
    ) -> None:
        """``tokens``: if given, only these tokens are accepted (others: invalid_auth);
        otherwise any ``xox…`` token is. ``strict_messages``: chat.update / chat.delete /
        chat.getPermalink of a message this fake did not post answers message_not_found, as
        Slack does; turn it off for tests that make up message timestamps."""
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.tokens = frozenset(tokens) if tokens is not None else None
        self.strict_messages = strict_messages
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._validation_errors: list[str] = []
        self._users: dict[str, _User] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._handlers: dict[str, Handler] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._scheduled: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}  # user id -> view id
        self._exchanged_triggers: set[str] = set()
        self._files: dict[str, _File] = {}
        self._post_limit: _PostLimit | None = None  # off unless limit_posts_per_channel()
        self._counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("FakeSlack is already started")
        fake = self

        class _RequestHandler(BaseHTTPRequestHandler):
            server_version = "FakeSlack/1.0"

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """For WebClient(base_url=...): it appends the method name."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def response_url_base(self) -> str:
        """Give to SlackRequests(response_url_base=...): posts below it are recorded."""
        return f"http://127.0.0.1:{self.port}/hooks/"

    # -- recorded calls -----------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, in order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    @property
    def validation_errors(self) -> list[str]:
        with self._lock:
            return list(self._validation_errors)

    def assert_all_valid(self) -> None:
        """Raise AssertionError listing every invalid view or message the app sent."""
        errors = self.validation_errors
        if errors:
            raise AssertionError(
                f"the app sent {len(errors)} invalid thing(s) to Slack:\n  " + "\n  ".join(errors)
            )

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` matching ``predicate`` were
        recorded; return all matching calls. AssertionError (listing every call seen) on
        timeout."""

        def matching() -> list[Call]:
            return [
                c for c in self._calls if c.method == method and (predicate is None or predicate(c))
            ]

        with self._cond:
            if self._cond.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                return matching()
            found = matching()
            seen = "\n  ".join(c.brief() for c in self._calls) or "(none)"
        what = f"{count} call(s) to {method}" + (" matching the predicate" if predicate else "")
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what}; {len(found)} matched. "
            f"Calls seen:\n  {seen}"
        )

    def reset(self) -> None:
        """Forget calls, validation errors, queued failures and handlers (users, messages
        and views stay)."""
        with self._lock:
            self._calls.clear()
            self._validation_errors.clear()
            self._failures.clear()
            self._handlers.clear()

    # -- scripting ----------------------------------------------------------------------------

    def set_user(
        self,
        user_id: str,
        *,
        tz: str = "Asia/Shanghai",
        locale: str = "en-US",
        name: str | None = None,
        email: str | None = None,
        deleted: bool = False,
    ) -> None:
        ZoneInfo(tz)  # fail early on a bad zone name
        with self._lock:
            self._users[user_id] = _User(user_id, tz, locale, name, email, deleted)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail.

        status 429: a rate limit ({"ok": false, "error": "ratelimited"} with a Retry-After
        header, 1 second unless ``retry_after`` is given); other non-200 statuses: that status
        with {"ok": false, "error": error or "internal_error"}; status 200: {"ok": false,
        "error": error}.
        """
        if status == 200 and error is None:
            raise ValueError("fail_next with status 200 needs an error")
        if status == 429:
            error = error or "ratelimited"
            retry_after = 1 if retry_after is None else retry_after
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            for _ in range(times):
                queue.append(_Failure(status, error, retry_after))

    def on(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(call) -> (status, body, extra headers)`` instead
        of the built-in answer (authentication, injected failures and validation still apply)."""
        with self._lock:
            self._handlers[method] = handler

    def limit_posts_per_channel(
        self,
        *,
        per_second: float = 1.0,
        burst: int = 3,
        second: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Enforce Slack's per-channel limit on chat.postMessage (off by default): about
        ``per_second`` messages a second in each conversation, after a burst of ``burst``.
        Beyond it the post is refused with 429 ``ratelimited`` and a Retry-After in whole
        seconds (at least 1), as Slack does.

        ``second`` is how long a second lasts here, to run benchmarks faster: with 0.05 the
        limit is one message per 50 ms and Retry-After counts 50 ms units, so whoever honours
        it must scale its sleeps by the same factor. ``clock`` replaces time.monotonic, for a
        test that moves time itself."""
        if per_second <= 0 or burst < 1 or second <= 0:
            raise ValueError("per_second and second must be positive, burst at least 1")
        with self._lock:
            self._post_limit = _PostLimit(second / per_second, burst, second, clock)

    # -- state the fake keeps like Slack does ----------------------------------------------

    @property
    def messages(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Messages posted (and updated) so far, by (channel id, ts)."""
        with self._lock:
            return copy.deepcopy(self._messages)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Views opened/pushed/published (latest version), by view id."""
        with self._lock:
            return copy.deepcopy(self._views)

    def add_message(self, channel: str, ts: str, message: dict[str, Any] | None = None) -> None:
        """Make a message the app did not post known (for chat.update in tests)."""
        with self._lock:
            self._messages[(channel, ts)] = {"type": "message", "ts": ts, **(message or {})}

    def uploaded(self, file_id: str) -> bytes:
        """The bytes uploaded for ``file_id`` (KeyError if none were)."""
        with self._lock:
            file = self._files.get(file_id)
            if file is None or file.data is None:
                raise KeyError(f"no bytes were uploaded for file {file_id!r}")
            return file.data

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """Completed uploads (the file objects files.completeUploadExternal answered), by id."""
        with self._lock:
            return {
                file_id: copy.deepcopy(file.shared)
                for file_id, file in self._files.items()
                if file.shared is not None
            }

    # -- HTTP ---------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, http_method: str) -> None:
        parts = urllib.parse.urlsplit(request.path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = request.rfile.read(length) if length else b""
        if parts.path.startswith(_UPLOAD_PATH):
            self._handle_upload(request, http_method, parts.path, headers, raw)
            return
        if parts.path.startswith("/api/"):
            method = parts.path[len("/api/") :]
        elif parts.path.startswith("/hooks/"):
            method = "response_url"
        else:
            self._write(request, 404, {"ok": False, "error": "not_found"}, {})
            return
        args, token, parse_error = _parse_args(parts.query, raw, headers.get("content-type", ""))
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[len("bearer ") :].strip()
        call = Call(
            method=method,
            args=args,
            token=token,
            http_method=http_method,
            path=parts.path,
            headers=headers,
        )
        try:
            status, body, extra = self._answer(call, parse_error)
        except Exception as e:  # a bug in the fake or a handler: answer, and show it
            status, body, extra = 500, {"ok": False, "error": "fatal_error", "detail": repr(e)}, {}
        call.status, call.response = status, body
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        self._write(request, status, body, extra)

    @staticmethod
    def _write(
        request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], extra: dict[str, str]
    ) -> None:
        data = json.dumps(body).encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(data)

    def _handle_upload(
        self,
        request: BaseHTTPRequestHandler,
        http_method: str,
        path: str,
        headers: dict[str, str],
        raw: bytes,
    ) -> None:
        """A POST of a file's bytes to an upload URL. Slack answers these in plain text
        ("OK - <size>"), and takes raw bytes or a multipart form."""
        file_id = path[len(_UPLOAD_PATH) :]
        data = _upload_body(raw, headers.get("content-type", ""))
        status, text, error, extra = self._accept_upload(file_id, http_method, data)
        response: dict[str, Any] = {"ok": error is None, "text": text}
        if error is not None:
            response["error"] = error
        call = Call(
            method="file_upload",
            args={"file_id": file_id, "size": len(data)},
            token=None,  # the upload URL is the credential: slack_sdk sends no token
            http_method=http_method,
            path=path,
            headers=headers,
            status=status,
            response=response,
        )
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        body = text.encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "text/plain; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        for k, v in extra.items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(body)

    def _accept_upload(
        self, file_id: str, http_method: str, data: bytes
    ) -> tuple[int, str, str | None, dict[str, str]]:
        """(status, text answered, error name or None, extra headers) for an upload."""
        with self._lock:
            queue = self._failures.get("file_upload")
            failure = queue.popleft() if queue else None
        if failure is not None:
            error = failure.error or "internal_error"
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return failure.status, error, error, extra
        if http_method != "POST":
            return 405, "Method Not Allowed", "method_not_allowed", {}
        with self._lock:
            file = self._files.get(file_id)
            if file is None or file.shared is not None:  # a completed upload's URL is spent
                return 404, "Not Found", "upload_not_found", {}
            if len(data) != file.length:
                text = f"Bad Request - expected {file.length} bytes, got {len(data)}"
                return 400, text, "length_mismatch", {}
            file.data = data
        return 200, f"OK - {len(data)}", None, {}

    def _answer(self, call: Call, parse_error: str | None) -> Answer:
        method = call.method
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
        if failure is not None:
            extra = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = str(failure.retry_after)
            error = failure.error or "internal_error"
            return failure.status, {"ok": False, "error": error}, extra
        if method != "response_url":
            if not call.token:
                return _error("not_authed")
            if not call.token.startswith("xox") or (
                self.tokens is not None and call.token not in self.tokens
            ):
                return _error("invalid_auth")
        if parse_error is not None:
            return _error(parse_error)
        invalid = self._validate(call)
        if invalid is not None:
            return invalid
        limited = self._rate_limited(call)
        if limited is not None:
            return limited
        with self._lock:
            handler = self._handlers.get(method)
        if handler is not None:
            return handler(call)
        builtin = _BUILTIN.get(method)
        if builtin is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        return builtin(self, call.args)

    def _validate(self, call: Call) -> Answer | None:
        method, args = call.method, call.args
        if method in _VIEW_METHODS and "view" in args:
            expected = "home" if method == "views.publish" else "modal"
            errors = validate_view(args["view"], expected_type=expected)
            size = len(json.dumps(args["view"]).encode("utf-8"))
            if size > _MAX_VIEW_BYTES:
                self._record(method, [f"view is {size} bytes (Slack's limit is 250kb)"])
                return _error("view_too_large")
            if errors:
                self._record(method, errors)
                return _error("invalid_arguments", messages=errors)
        elif method in _MESSAGE_METHODS:
            errors, warnings, too_long = validate_message(args)
            self._record(method, [f"{w} (Slack accepts this but warns)" for w in warnings])
            if too_long:
                self._record(method, errors)
                return _error("msg_too_long")
            if errors:
                self._record(method, errors)
                if method == "response_url":
                    return 400, {"ok": False, "error": "invalid_blocks"}, {}
                error = "invalid_attachments" if all("/attachments" in e for e in errors) else None
                return _error(error or "invalid_blocks", messages=errors, errors_field=True)
        return None

    def _rate_limited(self, call: Call) -> Answer | None:
        if call.method != "chat.postMessage":
            return None
        channel, _ = self._resolve_channel(call.args.get("channel"))
        with self._lock:
            limit = self._post_limit
            if limit is None or channel is None:
                return None
            wait = limit.take(channel, limit.clock())
        if wait is None:
            return None
        retry_after = max(1, math.ceil(wait / limit.second))
        return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}

    def _record(self, method: str, errors: list[str]) -> None:
        if errors:
            with self._lock:
                self._validation_errors.extend(f"{method}: {e}" for e in errors)

    # -- ids ----------------------------------------------------------------------------------

    def _n(self) -> int:
        with self._lock:
            return next(self._counter)

    def _ts(self) -> str:
        micros = 1_700_000_000_000_000 + self._n() * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _hash(self) -> str:
        n = self._n()
        return f"{1_700_000_000 + n}.{(n * 2654435761) % 2**32:08x}"

    # -- methods ------------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> Answer:
        return _ok(
            url=f"https://{TEAM_DOMAIN}.slack.com/",
            team="Followup Test",
            user="followup-bot",
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=self.bot_id,
            is_enterprise_install=False,
        )

    def _user_object(self, user: _User, include_locale: bool) -> dict[str, Any]:
        now = datetime.now(ZoneInfo(user.tz))
        offset = now.utcoffset()
        real_name = user.name or user.id
        display = (user.name or user.id).split(" ")[0]
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display,
            "display_name_normalized": display,
            "team": self.team_id,
            "status_text": "",
            "status_emoji": "",
            "image_48": "https://secure.gravatar.com/avatar/0.jpg",
        }
        if user.email is not None:
            profile["email"] = user.email
        obj: dict[str, Any] = {
            "id": user.id,
            "team_id": self.team_id,
            "name": (user.name or user.id).lower().replace(" ", "."),
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": user.tz,
            "tz_label": _tz_label(now),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if include_locale:
            obj["locale"] = user.locale
        return obj

    def _users_info(self, args: dict[str, Any]) -> Answer:
        user_id = args.get("user")
        if not user_id:
            return _error("user_not_found")
        with self._lock:
            user = self._users.get(str(user_id))
        if user is None:
            return _error("user_not_found")
        return _ok(user=self._user_object(user, args.get("include_locale") in _TRUE))

    def _users_lookup_by_email(self, args: dict[str, Any]) -> Answer:
        email = args.get("email")
        if not email:
            return _error("invalid_arguments")
        with self._lock:
            found = [
                u for u in self._users.values() if u.email and u.email.lower() == str(email).lower()
            ]
        if not found:
            return _error("users_not_found")
        return _ok(user=self._user_object(found[0], False))

    def _conversations_open(self, args: dict[str, Any]) -> Answer:
        if args.get("channel"):
            return _ok(channel={"id": str(args["channel"])}, no_op=True, already_open=True)
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            return _error("users_list_not_supplied")
        if len(users) > 1:
            return _ok(channel={"id": "G" + "".join(users)})
        with self._lock:
            user = self._users.get(users[0])
        if user is None:
            return _error("user_not_found")
        if user.deleted:
            return _error("user_disabled")
        return _ok(channel={"id": "D" + users[0]})

    def _resolve_channel(self, channel: Any) -> tuple[str | None, str | None]:
        """(conversation id, error) for a chat.postMessage channel argument."""
        if not channel:
            return None, "channel_not_found"
        channel = str(channel)
        if channel[0] in "UW":  # posting to a user id posts in the app's DM with them
            with self._lock:
                known = channel in self._users
            if not known:
                return None, "channel_not_found"
            return "D" + channel, None
        return channel, None

    def _message_object(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": args.get("text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": APP_ID,
            "team": self.team_id,
            "ts": ts,
        }
        if args.get("blocks"):
            msg["blocks"] = with_generated_ids(args["blocks"])
        if args.get("attachments"):
            msg["attachments"] = copy.deepcopy(args["attachments"])
        if args.get("thread_ts"):
            msg["thread_ts"] = str(args["thread_ts"])
        if args.get("metadata"):
            msg["metadata"] = copy.deepcopy(args["metadata"])
        return msg

    def _chat_post_message(self, args: dict[str, Any]) -> Answer:
        channel, error = self._resolve_channel(args.get("channel"))
        if error or channel is None:
            return _error(error or "channel_not_found")
        if not _has_content(args):
            return _error("no_text")
        ts = self._ts()
        msg = self._message_object(args, ts)
        with self._lock:
            self._messages[(channel, ts)] = msg
        return _ok(channel=channel, ts=ts, message=copy.deepcopy(msg))

    def _chat_update(self, args: dict[str, Any]) -> Answer:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return _error("channel_not_found")
        if not ts:
            return _error("message_not_found")
        if not _has_content(args):
            return _error("no_text")
        key = (str(channel), str(ts))
        with self._lock:
            old = self._messages.get(key)
            if old is None and self.strict_messages:
                return _error("message_not_found")
            msg = self._message_object(args, str(ts))
            # Like Slack: blocks / attachments left out of chat.update are kept; [] removes them.
            for kept in ("blocks", "attachments", "thread_ts", "metadata"):
                if kept not in args and old is not None and kept in old:
                    msg[kept] = old[kept]
            msg["edited"] = {"user": self.bot_user_id, "ts": self._ts()}
            self._messages[key] = msg
        return _ok(channel=str(channel), ts=str(ts), text=msg["text"], message=copy.deepcopy(msg))

    def _chat_delete(self, args: dict[str, Any]) -> Answer:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return _error("channel_not_found")
        key = (str(channel), str(ts))
        with self._lock:
            if key not in self._messages and self.strict_messages:
                return _error("message_not_found")
            self._messages.pop(key, None)
        return _ok(channel=str(channel), ts=str(ts))

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> Answer:
        if not args.get("channel"):
            return _error("channel_not_found")
        if not args.get("user"):
            return _error("user_not_in_channel")
        if not _has_content(args):
            return _error("no_text")
        return _ok(message_ts=self._ts())

    def _chat_schedule_message(self, args: dict[str, Any]) -> Answer:
        channel, error = self._resolve_channel(args.get("channel"))
        if error or channel is None:
            return _error(error or "channel_not_found")
        if not _has_content(args):
            return _error("no_text")
        try:
            post_at = int(args.get("post_at"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _error("invalid_time")
        now = time.time()
        if post_at <= now:
            return _error("time_in_past")
        if post_at > now + 120 * 86400:
            return _error("time_too_far")
        scheduled_id = f"Q{self._n():010d}"
        msg = self._message_object(args, "")
        msg.pop("ts")
        with self._lock:
            self._scheduled[scheduled_id] = {"channel": channel, "post_at": post_at, "message": msg}
        return _ok(channel=channel, scheduled_message_id=scheduled_id, post_at=post_at, message=msg)

    def _chat_delete_scheduled_message(self, args: dict[str, Any]) -> Answer:
        scheduled_id = str(args.get("scheduled_message_id") or "")
        with self._lock:
            if self._scheduled.pop(scheduled_id, None) is None:
                return _error("invalid_scheduled_message_id")
        return _ok()

    def _chat_get_permalink(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel") or ""), str(args.get("message_ts") or "")
        if not channel:
            return _error("channel_not_found")
        with self._lock:
            known = (channel, ts) in self._messages
        if not known and self.strict_messages:
            return _error("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return _ok(channel=channel, permalink=link)

    def _response_url(self, args: dict[str, Any]) -> Answer:
        return _ok()

    def _exchange_trigger(self, args: dict[str, Any]) -> str | None:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            return "invalid_arguments"
        trigger = str(trigger)
        if not _TRIGGER.match(trigger):
            return "invalid_trigger_id"
        with self._lock:
            if trigger in self._exchanged_triggers:
                return "exchanged_trigger_id"
            self._exchanged_triggers.add(trigger)
        return None

    def _store_view(
        self,
        view: dict[str, Any],
        *,
        previous: dict[str, Any] | None = None,
        root: str | None = None,
    ) -> dict[str, Any]:
        stored = copy.deepcopy(view)
        view_id = previous["id"] if previous else f"V{self._n():010d}"
        stored["id"] = view_id
        stored["team_id"] = self.team_id
        stored["blocks"] = with_generated_ids(view.get("blocks") or [])
        for key in ("private_metadata", "callback_id", "external_id"):
            if stored.get(key) is None:
                stored[key] = ""
        for key in ("title", "close", "submit"):
            if isinstance(stored.get(key), str):  # slack_sdk allows str shorthands
                stored[key] = {"type": "plain_text", "text": stored[key], "emoji": True}
            stored.setdefault(key, None)
        stored["state"] = {"values": {}}
        stored["hash"] = self._hash()
        stored.setdefault("clear_on_close", False)
        stored.setdefault("notify_on_close", False)
        stored["previous_view_id"] = previous.get("previous_view_id") if previous else None
        stored["root_view_id"] = (previous or {}).get("root_view_id") or root or view_id
        stored["app_id"] = APP_ID
        stored["app_installed_team_id"] = self.team_id
        stored["bot_id"] = self.bot_id
        with self._lock:
            self._views[view_id] = stored
        return copy.deepcopy(stored)

    def _views_open(self, args: dict[str, Any]) -> Answer:
        if not isinstance(args.get("view"), dict):
            return _error("invalid_arguments")
        error = self._exchange_trigger(args)
        if error:
            return _error(error)
        return _ok(view=self._store_view(args["view"]))

    def _views_push(self, args: dict[str, Any]) -> Answer:
        return self._views_open(args)

    def _views_update(self, args: dict[str, Any]) -> Answer:
        if not isinstance(args.get("view"), dict):
            return _error("invalid_arguments")
        view_id, external_id = args.get("view_id"), args.get("external_id")
        with self._lock:
            if view_id:
                previous = self._views.get(str(view_id))
            elif external_id:
                previous = next(
                    (v for v in self._views.values() if v.get("external_id") == external_id), None
                )
            else:
                return _error("invalid_arguments")
            if previous is None:
                return _error("not_found")
            if args.get("hash") and args["hash"] != previous.get("hash"):
                return _error("hash_conflict")
            stored = self._store_view(args["view"], previous=previous)
        return _ok(view=stored)

    def _views_publish(self, args: dict[str, Any]) -> Answer:
        if not isinstance(args.get("view"), dict) or not args.get("user_id"):
            return _error("invalid_arguments")
        user_id = str(args["user_id"])
        with self._lock:
            previous_id = self._home_views.get(user_id)
            previous = self._views.get(previous_id) if previous_id else None
            if previous is not None and args.get("hash") and args["hash"] != previous.get("hash"):
                return _error("hash_conflict")
            stored = self._store_view(args["view"], previous=previous)
            self._home_views[user_id] = stored["id"]
        return _ok(view=stored)

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> Answer:
        filename = str(args.get("filename") or "").strip()
        missing = [
            f"[ERROR] missing required field: {name}"
            for name, value in (("filename", filename), ("length", args.get("length")))
            if value in (None, "")
        ]
        if missing:
            return _error("invalid_arguments", messages=missing)
        length = _as_int(args["length"])
        if length is None:
            return _error(
                "invalid_arguments", messages=["[ERROR] must be an integer [json-pointer:/length]"]
            )
        if length == 0:  # Slack's docs: missing_argument "typically only occurs when the
            return _error("missing_argument")  # length provided is 0"
        if length < 0:
            return _error(
                "invalid_arguments", messages=["[ERROR] must be at least 1 [json-pointer:/length]"]
            )
        alt_txt = args.get("alt_txt")
        if isinstance(alt_txt, str) and len(alt_txt) > _MAX_ALT_TXT:
            return _error("alt_txt_too_large")
        file_id = f"F{self._n():010d}"
        with self._lock:
            self._files[file_id] = _File(
                file_id, filename, length, alt_txt if isinstance(alt_txt, str) else None
            )
        upload_url = f"http://127.0.0.1:{self.port}{_UPLOAD_PATH}{file_id}"
        return _ok(upload_url=upload_url, file_id=file_id)

    def _files_complete_upload_external(self, args: dict[str, Any]) -> Answer:
        entries, error = _file_entries(args.get("files"))
        if error is not None:
            return _error("invalid_arguments", messages=[error])
        targets: list[str] = []
        for given in _share_targets(args):
            channel, channel_error = self._resolve_channel(given)
            if channel_error or channel is None:
                return _error(channel_error or "channel_not_found")
            if channel not in targets:
                targets.append(channel)
        thread_ts = str(args.get("thread_ts") or "") or None
        if thread_ts is not None and len(targets) != 1:
            return _error(
                "invalid_arguments",
                messages=["[ERROR] thread_ts needs exactly one channel to share to"],
            )
        initial_comment = str(args.get("initial_comment") or "")
        if args.get("blocks") and not initial_comment:  # initial_comment wins over blocks
            errors = _validate_blocks(args["blocks"], "/blocks", 50)
            if errors:
                self._record("files.completeUploadExternal", errors)
                return _error("invalid_blocks", messages=errors, errors_field=True)
        with self._lock:
            files: dict[str, _File] = {}
            for entry in entries:
                file = self._files.get(entry["id"])
                # Unknown ids, uploads whose bytes never arrived and uploads already completed
                # ("This method can only be called once") all have no upload ticket left.
                if file is None or file.data is None or file.shared is not None or file.id in files:
                    return _error("file_not_found")
                files[file.id] = file
            ts = self._ts()
            shared: list[dict[str, Any]] = []
            for file, entry in zip(files.values(), entries, strict=True):
                title = str(entry.get("title") or file.filename)
                file.shared = self._file_object(file, title, targets, ts, thread_ts)
                shared.append(file.shared)
            for channel in targets:
                msg = self._message_object({"text": initial_comment, "thread_ts": thread_ts}, ts)
                msg["files"] = copy.deepcopy(shared)
                msg["upload"] = True
                self._messages[(channel, ts)] = msg
        return _ok(files=copy.deepcopy(shared))

    def _file_object(
        self, file: _File, title: str, targets: list[str], ts: str, thread_ts: str | None
    ) -> dict[str, Any]:
        """A file as Slack describes it. Real Slack shares asynchronously, so its answer may
        still list no channels; the fake answers as if sharing were done."""
        data = file.data or b""
        mimetype, filetype, pretty_type = _sniff(data)
        created = int(float(ts))
        share: dict[str, Any] = {"ts": ts, "share_user_id": self.bot_user_id}
        if thread_ts is not None:
            share["thread_ts"] = thread_ts
        shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for channel in targets:
            kind = "public" if channel.startswith("C") else "private"
            shares.setdefault(kind, {})[channel] = [dict(share)]
        url = f"https://files.slack.com/files-pri/{self.team_id}-{file.id}/{file.filename}"
        obj: dict[str, Any] = {
            "id": file.id,
            "created": created,
            "timestamp": created,
            "name": file.filename,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": pretty_type,
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "size": len(data),
            "mode": "hosted",
            "is_external": False,
            "is_public": any(c.startswith("C") for c in targets),
            "url_private": url,
            "url_private_download": url.replace("/files-pri/", "/files-pri/download/", 1),
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{self.bot_user_id}/{file.id}/"
            f"{file.filename}",
            "channels": [c for c in targets if c.startswith("C")],
            "groups": [c for c in targets if c.startswith("G")],
            "ims": [c for c in targets if c.startswith("D")],
            "shares": shares,
        }
        if file.alt_txt:
            obj["alt_txt"] = file.alt_txt
        return obj


_BUILTIN: dict[str, Callable[[FakeSlack, dict[str, Any]], Answer]] = {
    "auth.test": FakeSlack._auth_test,
    "users.info": FakeSlack._users_info,
    "users.lookupByEmail": FakeSlack._users_lookup_by_email,
    "conversations.open": FakeSlack._conversations_open,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.update": FakeSlack._chat_update,
    "chat.delete": FakeSlack._chat_delete,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.scheduleMessage": FakeSlack._chat_schedule_message,
    "chat.deleteScheduledMessage": FakeSlack._chat_delete_scheduled_message,
    "chat.getPermalink": FakeSlack._chat_get_permalink,
    "views.open": FakeSlack._views_open,
    "views.push": FakeSlack._views_push,
    "views.update": FakeSlack._views_update,
    "views.publish": FakeSlack._views_publish,
    "files.getUploadURLExternal": FakeSlack._files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack._files_complete_upload_external,
    "response_url": FakeSlack._response_url,
}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _ok(**fields: Any) -> Answer:
    return 200, {"ok": True, **fields}, {}


def _error(error: str, *, messages: list[str] | None = None, errors_field: bool = False) -> Answer:
    body: dict[str, Any] = {"ok": False, "error": error}
    if messages:
        if errors_field:
            body["errors"] = list(messages)
        body["response_metadata"] = {"messages": list(messages)}
    return 200, body, {}


def _tz_label(now: datetime) -> str:
    try:
        from babel.dates import get_timezone_name

        return str(get_timezone_name(now, width="long", locale="en_US"))
    except Exception:
        return now.tzname() or "UTC"


def _has_content(args: dict[str, Any]) -> bool:
    return bool(args.get("text") or args.get("blocks") or args.get("attachments"))


def _as_int(value: Any) -> int | None:
    """An integer argument, sent as a JSON number or a form string; None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _file_entries(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The ``files`` argument of files.completeUploadExternal (a JSON array of {id, title}),
    or the error message for it."""
    if value in (None, ""):
        return [], "[ERROR] missing required field: files"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [], "[ERROR] must be a JSON array [json-pointer:/files]"
    if not isinstance(value, list) or not value:
        return [], "[ERROR] must be a non-empty array [json-pointer:/files]"
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            return [], f"[ERROR] missing required field: id [json-pointer:/files/{i}/id]"
    return value, None


def _share_targets(args: dict[str, Any]) -> list[str]:
    """Where files.completeUploadExternal shares: ``channel_id`` and/or ``channels`` (comma
    separated; slack_sdk joins a list)."""
    targets = [str(args["channel_id"])] if args.get("channel_id") else []
    targets += [c.strip() for c in str(args.get("channels") or "").split(",") if c.strip()]
    return targets


def _upload_body(raw: bytes, content_type: str) -> bytes:
    """The file's bytes: the body itself, or the (first) file part of a multipart form."""
    if not content_type.lower().startswith("multipart/form-data"):
        return raw
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        return raw
    parts = [part for part in message.iter_parts() if not part.is_multipart()]
    chosen = next((p for p in parts if p.get_filename()), parts[0] if parts else None)
    if chosen is None:
        return raw
    payload = chosen.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else raw


def _sniff(data: bytes) -> tuple[str, str, str]:
    """(mimetype, filetype, pretty_type) from the bytes, as Slack does it, not the name."""
    for magic, mimetype, filetype, pretty in _MAGIC:
        if data.startswith(magic):
            return mimetype, filetype, pretty
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream", "binary", "Binary"
    return "text/plain", "text", "Plain Text"


def _parse_args(
    query: str, raw: bytes, content_type: str
) -> tuple[dict[str, Any], str | None, str | None]:
    """(args, token field, parse error) from the query string and the body."""
    args: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    ctype = content_type.split(";")[0].strip().lower()
    error: str | None = None
    if raw:
        if ctype == "application/json":
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                return args, None, "invalid_json"
            if not isinstance(body, dict):
                return args, None, "invalid_json"
            body.pop("token", None)  # Slack takes no token in a JSON body: only the header
            args.update(body)
            return args, None, _decode_json_fields(args)
        if ctype == "application/x-www-form-urlencoded":
            args.update(urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        elif ctype.startswith("multipart/"):
            args["_multipart"] = True  # file uploads are recorded, not parsed
        else:
            error = "invalid_form_data"
    token = args.pop("token", None)
    decode_error = _decode_json_fields(args)
    return args, (str(token) if token is not None else None), error or decode_error


def _decode_json_fields(args: dict[str, Any]) -> str | None:
    """Decode JSON-encoded fields in place; the Slack error for one that is not JSON."""
    for name in _JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str) and value != "":
            try:
                args[name] = json.loads(value)
            except ValueError:
                return "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
    return None


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _describe(e: Exception) -> str:
    if isinstance(e, SlackObjectFormationError):
        return str(e)
    return f"{type(e).__name__}: {e}"


def _err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _dropped(given: Any, rendered: Any, pointer: str, errors: list[str]) -> None:
    """Report what slack_sdk's models dropped while rendering ``given``: unknown properties
    and unknown element types, which Slack rejects."""
    if isinstance(given, dict):
        if not isinstance(rendered, dict):
            errors.append(_err("must be a valid object", pointer))
            return
        for key, value in given.items():
            if value is None or value == "":
                continue
            if key not in rendered:
                errors.append(_err(f"unsupported or empty property {key!r}", f"{pointer}/{key}"))
            else:
                _dropped(value, rendered[key], f"{pointer}/{key}", errors)
    elif isinstance(given, list):
        if not isinstance(rendered, list) or len(rendered) != len(given):
            errors.append(_err("must be a valid array", pointer))
            return
        for i, (g, r) in enumerate(zip(given, rendered, strict=True)):
            if r is None and g is not None:
                kind = g.get("type") if isinstance(g, dict) else g
                errors.append(_err(f"unknown element type {kind!r}", f"{pointer}/{i}"))
            else:
                _dropped(g, r, f"{pointer}/{i}", errors)
    elif isinstance(rendered, dict | list):
        errors.append(_err("must be an object, not a plain value", pointer))


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def _walk_text_objects(node: Any, pointer: str, errors: list[str]) -> None:
    """Every plain_text / mrkdwn object needs a non-empty str text."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn"):
            text = node.get("text")
            if not isinstance(text, str):
                errors.append(_err("text must be a string", f"{pointer}/text"))
            elif text == "":
                errors.append(_err("must be more than 0 characters", f"{pointer}/text"))
        for key, value in node.items():
            _walk_text_objects(value, f"{pointer}/{key}", errors)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk_text_objects(value, f"{pointer}/{i}", errors)


def _check_block_rules(block: dict[str, Any], pointer: str, errors: list[str]) -> None:
    """Limits Slack enforces that slack_sdk's models do not (all of them)."""
    t = block.get("type")
    if t == "section":
        text = _text_of(block.get("text"))
        if text is not None and len(text) > 3000:
            errors.append(_err("must be no more than 3000 characters", f"{pointer}/text/text"))
        fields = block.get("fields")
        if isinstance(fields, list):
            if len(fields) > 10:
                errors.append(_err("no more than 10 items allowed", f"{pointer}/fields"))
            for i, f in enumerate(fields):
                ftext = _text_of(f)
                if ftext is not None and len(ftext) > 2000:
                    errors.append(
                        _err("must be no more than 2000 characters", f"{pointer}/fields/{i}/text")
                    )
        if block.get("text") is None and not fields:
            errors.append(_err("must provide either text or fields", pointer))
    elif t == "context":
        elements = block.get("elements")
        if isinstance(elements, list):
            if len(elements) > 10:
                errors.append(_err("no more than 10 items allowed", f"{pointer}/elements"))
            for i, e in enumerate(elements):
                etext = _text_of(e)
                if etext is not None and len(etext) > 3000:
                    errors.append(
                        _err("must be no more than 3000 characters", f"{pointer}/elements/{i}/text")
                    )
    elif t == "actions":
        elements = block.get("elements")
        if isinstance(elements, list) and len(elements) > 25:
            errors.append(_err("no more than 25 items allowed", f"{pointer}/elements"))
    action_ids: set[str] = set()
    elements_of: list[Any] = []
    if t == "actions" and isinstance(block.get("elements"), list):
        elements_of = list(block["elements"])
    for element in elements_of:
        if isinstance(element, dict) and element.get("action_id"):
            aid = str(element["action_id"])
            if aid in action_ids:
                errors.append(_err(f"action_id {aid!r} is used twice in this block", pointer))
            action_ids.add(aid)
    _walk_options(block, pointer, errors)
    _walk_text_objects(block, pointer, errors)


_OPTION_KEYS = ("text", "value", "description", "url")


def _check_option(option: Any, pointer: str, errors: list[str]) -> None:
    """slack_sdk keeps the options of selects, radio buttons and overflow menus as plain
    dicts without checking them, so each one is checked here."""
    if not isinstance(option, dict):
        errors.append(_err("must be an option object", pointer))
        return
    unknown = [k for k in option if k not in _OPTION_KEYS]
    for key in unknown:
        errors.append(_err(f"unsupported property {key!r}", f"{pointer}/{key}"))
    if not isinstance(option.get("text"), dict) or not isinstance(option.get("value"), str):
        errors.append(_err("an option needs a text object and a str value", pointer))
        return
    try:
        rendered = Option(**{k: v for k, v in copy.deepcopy(option).items() if k in _OPTION_KEYS})
        _dropped(
            {k: v for k, v in option.items() if k in _OPTION_KEYS},
            rendered.to_dict("block"),
            pointer,
            errors,
        )
    except Exception as e:
        errors.append(_err(_describe(e), pointer))


def _option_key(option: Any) -> tuple[Any, Any]:
    if not isinstance(option, dict):
        return (None, None)
    return (option.get("value"), _text_of(option.get("text")))


def _walk_options(node: Any, pointer: str, errors: list[str]) -> None:
    if isinstance(node, list):
        for i, value in enumerate(node):
            _walk_options(value, f"{pointer}/{i}", errors)
        return
    if not isinstance(node, dict):
        return
    offered: list[Any] = []
    for key, value in node.items():
        p = f"{pointer}/{key}"
        if key in ("options", "initial_options") and isinstance(value, list):
            if len(value) > 100:
                errors.append(_err("no more than 100 items allowed", p))
            for i, option in enumerate(value):
                _check_option(option, f"{p}/{i}", errors)
            if key == "options":
                offered.extend(value)
        elif key == "initial_option":
            _check_option(value, p, errors)
        elif key == "option_groups" and isinstance(value, list):
            for i, group in enumerate(value):
                if not isinstance(group, dict):
                    errors.append(_err("must be an option group object", f"{p}/{i}"))
                    continue
                try:
                    OptionGroup(**{**group, "options": []}).to_dict("block")
                except Exception as e:
                    errors.append(_err(_describe(e), f"{p}/{i}"))
                for extra in set(group) - {"label", "options"}:
                    errors.append(_err(f"unsupported property {extra!r}", f"{p}/{i}/{extra}"))
                options = group.get("options")
                if isinstance(options, list):
                    for j, option in enumerate(options):
                        _check_option(option, f"{p}/{i}/options/{j}", errors)
                    offered.extend(options)
        elif isinstance(value, dict | list):
            _walk_options(value, p, errors)
    # An initial option must be one of the options offered (when the element lists them).
    if offered:
        keys = {_option_key(o) for o in offered}
        initial = node.get("initial_options")
        chosen = [node["initial_option"]] if isinstance(node.get("initial_option"), dict) else []
        chosen += initial if isinstance(initial, list) else []
        for option in chosen:
            if _option_key(option) not in keys:
                errors.append(
                    _err(
                        f"initial option {option.get('value')!r} is not one of the options",
                        pointer,
                    )
                )


def _validate_blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    errors: list[str] = []
    if not isinstance(blocks, list):
        return [_err("must be an array", pointer)]
    if len(blocks) > max_blocks:
        errors.append(_err(f"no more than {max_blocks} items allowed", pointer))
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        p = f"{pointer}/{i}"
        if not isinstance(block, dict) or not block.get("type"):
            errors.append(_err("must be an object with a type", p))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if str(block_id) in block_ids:
                errors.append(_err(f"block_id {block_id!r} is used twice", f"{p}/block_id"))
            block_ids.add(str(block_id))
        try:
            parsed = Block.parse(copy.deepcopy(block))
            if parsed is None:
                errors.append(_err(f"unknown block type {block['type']!r}", f"{p}/type"))
                continue
            rendered = parsed.to_dict()
        except Exception as e:  # SlackObjectFormationError, or TypeError etc. on bad input
            errors.append(_err(_describe(e), p))
        else:
            _dropped(block, rendered, p, errors)
        _check_block_rules(block, p, errors)
    return errors


def validate_view(view: Any, *, expected_type: str = "modal") -> list[str]:
    """Everything Slack would reject in a view (views.open/push/update/publish), as
    Slack-style "[ERROR] ... [json-pointer:/view/...]" messages; [] when valid."""
    if not isinstance(view, dict):
        return [_err("must be an object", "/view")]
    errors: list[str] = []
    if view.get("type") != expected_type:
        errors.append(_err(f"type must be {expected_type!r}", "/view/type"))
    top = {k: v for k, v in view.items() if k != "blocks"}
    try:
        # The blocks are checked one by one below; a stand-in lets the view's own checks run.
        rendered = View(**copy.deepcopy(top), blocks=[{"type": "divider"}]).to_dict()
    except Exception as e:
        errors.append(_err(_describe(e), "/view"))
    else:
        rendered.pop("blocks", None)
        _dropped(top, rendered, "/view", errors)
    _walk_text_objects(top, "/view", errors)
    if view.get("type") == "modal" and not view.get("title"):
        errors.append(_err("a modal must have a title", "/view/title"))
    blocks = view.get("blocks")
    if blocks is None:
        errors.append(_err("must provide blocks", "/view/blocks"))
    else:
        errors.extend(_validate_blocks(blocks, "/view/blocks", 100))
        if (
            view.get("type") == "modal"
            and isinstance(blocks, list)
            and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
            and not view.get("submit")
        ):
            errors.append(_err("must provide a submit property when using input blocks", "/view"))
    return errors


def validate_message(args: dict[str, Any]) -> tuple[list[str], list[str], bool]:
    """(errors, warnings, too long) for a message (chat.* arguments or a response_url body)."""
    errors: list[str] = []
    warnings: list[str] = []
    text = args.get("text")
    blocks = args.get("blocks")
    too_long = isinstance(text, str) and len(text) > _MAX_MESSAGE_TEXT
    if too_long:
        errors.append(f"text is {len(str(text))} characters; Slack's limit is {_MAX_MESSAGE_TEXT}")
    if text is not None and not isinstance(text, str):
        errors.append(_err("text must be a string", "/text"))
    if blocks is not None and blocks != []:
        errors.extend(_validate_blocks(blocks, "/blocks", 50))
        if not (isinstance(text, str) and text.strip()):
            warnings.append(
                "blocks were sent without a top-level text fallback (used for notifications "
                "and screen readers)"
            )
    attachments = args.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            errors.append(_err("must be an array", "/attachments"))
        else:
            for i, attachment in enumerate(attachments):
                if isinstance(attachment, dict) and attachment.get("blocks") is not None:
                    errors.extend(
                        _validate_blocks(attachment["blocks"], f"/attachments/{i}/blocks", 50)
                    )
    return errors, warnings, too_long
