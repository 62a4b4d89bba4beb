"""Send requests to the running Bolt app exactly as Slack sends them, and build their payloads.

``SlackRequests`` signs every request the way Slack does (``X-Slack-Request-Timestamp`` and
``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">``) and sends it over
real HTTP with the standard library. It never raises on 4xx/5xx: it returns a ``Response``.

The payload builders (``state_values``, ``view_submission``, ``block_actions``) are pure
functions that build payloads shaped like Slack's, starting from the view or message the app
actually sent, so a test cannot submit a value the form does not offer by accident.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import http.client
import itertools
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "APP_ID",
    "PLACEHOLDER_RESPONSE_URL",
    "TEAM_DOMAIN",
    "VERIFICATION_TOKEN",
    "Response",
    "SlackRequests",
    "StateValueError",
    "block_actions",
    "new_trigger_id",
    "sign",
    "state_values",
    "view_submission",
    "with_generated_ids",
]

APP_ID = "A000TEST"
TEAM_DOMAIN = "followup-test"
# The legacy verification token Slack still puts in payloads; Bolt ignores it.
VERIFICATION_TOKEN = "legacy-verification-token"
# Used when no response_url base is known. SlackRequests replaces it (see response_url_base).
PLACEHOLDER_RESPONSE_URL = "https://hooks.slack.com/actions/T000TEST/0000000000/placeholder"

_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def new_trigger_id() -> str:
    """A fresh trigger_id in Slack's format ``<digits>.<digits>.<hex>``."""
    n = _next()
    return f"{1_000_000_000_000 + n}.{4_000_000_000_000 + n}.{secrets.token_hex(16)}"


def _action_ts() -> str:
    n = _next()
    return f"{int(time.time())}.{n % 1_000_000:06d}"


def sign(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------


@dataclass
class Response:
    """What the app answered. Header names are lower-cased."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class SlackRequests:
    """Sends signed Slack requests (slash commands, interactivity, events) to the app.

    ``url`` is the app's request URL, e.g. ``"http://127.0.0.1:PORT/slack/events"``.
    If ``response_url_base`` is given (e.g. ``FakeSlack.response_url_base``), every
    ``response_url`` this client puts in a request points below it, so that what the app sends
    to a response_url reaches the fake and is recorded; payloads built with the placeholder
    response_url get theirs replaced the same way.
    """

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        team_id: str = "T000TEST",
        response_url_base: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"SlackRequests needs an http:// URL, got {url!r}")
        self.url = url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.response_url_base = response_url_base
        self.timeout = timeout
        self.sent: list[tuple[str, bytes]] = []  # (content type, body) of every request

    # -- high level ---------------------------------------------------------------------------

    def new_response_url(self, kind: str = "commands") -> str:
        """A response_url like Slack's, below ``response_url_base`` when there is one."""
        n = _next()
        tail = f"{kind}/{self.team_id}/{1_000_000_000 + n}/{secrets.token_hex(12)}"
        if self.response_url_base is None:
            return f"https://hooks.slack.com/{tail}"
        return self.response_url_base.rstrip("/") + "/" + tail

    def command(
        self,
        text: str = "",
        *,
        user_id: str = "U_REP",
        channel_id: str = "C_SALES",
        command: str = "/followup",
        trigger_id: str | None = None,
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> Response:
        """A slash command, form-encoded with the fields Slack sends."""
        if channel_name is None:
            channel_name = "directmessage" if channel_id.startswith("D") else channel_id.lower()
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name if user_name is not None else user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url("commands"),
            "trigger_id": trigger_id if trigger_id is not None else new_trigger_id(),
        }
        body = urllib.parse.urlencode(fields).encode("utf-8")
        return self.send(body, content_type="application/x-www-form-urlencoded")

    def interactive(self, payload: Mapping[str, Any]) -> Response:
        """An interactivity request: form-encoded ``payload=<json>``."""
        data = dict(payload)
        if self.response_url_base is not None:
            if data.get("response_url") == PLACEHOLDER_RESPONSE_URL:
                data["response_url"] = self.new_response_url("actions")
            urls = data.get("response_urls")
            if isinstance(urls, list):
                data["response_urls"] = [
                    {**u, "response_url": self.new_response_url("app")}
                    if isinstance(u, dict) and u.get("response_url") == PLACEHOLDER_RESPONSE_URL
                    else u
                    for u in urls
                ]
        body = urllib.parse.urlencode({"payload": json.dumps(data)}).encode("utf-8")
        return self.send(body, content_type="application/x-www-form-urlencoded")

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> Response:
        """An Events API ``event_callback`` envelope around ``event`` (JSON)."""
        now = int(time.time())
        envelope: dict[str, Any] = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id if event_id is not None else f"Ev{_next():010d}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(16)}",
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(envelope).encode("utf-8")
        return self.send(body, content_type="application/json", headers=headers)

    # -- low level ----------------------------------------------------------------------------

    def send(
        self,
        body: bytes,
        *,
        content_type: str,
        sign: bool = True,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
    ) -> Response:
        """Send ``body`` as is.

        ``sign=False`` sends no signature headers at all; ``timestamp`` sets the
        X-Slack-Request-Timestamp (e.g. ``int(time.time()) - 600`` for a stale request, still
        correctly signed for that timestamp); ``signature`` sends that exact X-Slack-Signature
        instead of the right one.
        """
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers: dict[str, str] = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Accept": "*/*",
        }
        if sign:
            all_headers["X-Slack-Request-Timestamp"] = str(ts)
            all_headers["X-Slack-Signature"] = (
                signature if signature is not None else _sign(self.signing_secret, ts, body)
            )
        all_headers.update(headers or {})
        parts = urllib.parse.urlsplit(self.url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout
        )
        try:
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            resp_headers = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        self.sent.append((content_type, body))
        return Response(status=status, headers=resp_headers, body=data)


_sign = sign  # SlackRequests.send has a parameter named ``sign``


# --------------------------------------------------------------------------------------------
# Block helpers shared with the fake
# --------------------------------------------------------------------------------------------

# Elements whose value Slack reports in view.state.values.
_STATEFUL = frozenset(
    {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
    }
)


def with_generated_ids(blocks: Any) -> Any:
    """Copy of ``blocks`` with a block_id on every block and an action_id on every interactive
    element, as Slack fills them in when the app leaves them out. Deterministic (derived from
    the position), so the view the fake returns and the payloads built here agree."""
    if not isinstance(blocks, list):
        return copy.deepcopy(blocks)
    out: list[Any] = []
    for i, block in enumerate(blocks):
        b = copy.deepcopy(block)
        if isinstance(b, dict):
            if not b.get("block_id"):
                b["block_id"] = f"blk{i}"
            for j, element in enumerate(_block_elements(b)):
                if "type" in element and element.get("type") not in (
                    "image",
                    "plain_text",
                    "mrkdwn",
                ):
                    element.setdefault("action_id", f"{b['block_id']}_act{j}")
        out.append(b)
    return out


def _block_elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The interactive elements of a block (input element, actions elements, accessory)."""
    t = block.get("type")
    if t == "input":
        element = block.get("element")
        if isinstance(element, dict):
            yield element
    elif t == "actions":
        for element in block.get("elements") or []:
            if isinstance(element, dict):
                yield element
    elif t == "section":
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            yield accessory


# --------------------------------------------------------------------------------------------
# view.state.values
# --------------------------------------------------------------------------------------------


class StateValueError(ValueError):
    """A test asked for a value the view does not offer (or of the wrong kind)."""


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            found.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return found


def _find_option(where: str, element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    if isinstance(value, dict):  # an option given in full (external selects)
        return copy.deepcopy(value)
    if element.get("type") in ("external_select", "multi_external_select"):
        initial = element.get("initial_option")
        if isinstance(initial, dict) and initial.get("value") == value:
            return copy.deepcopy(initial)
        return {
            "text": {"type": "plain_text", "text": str(value), "emoji": True},
            "value": str(value),
        }
    for option in _options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    offered = [o.get("value") for o in _options(element)]
    raise StateValueError(f"{where}: the view offers no option {value!r} (it offers {offered})")


def _require(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise StateValueError(f"{where}: expected {what}, got {value!r}")


_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _element_state(
    where: str, element: Mapping[str, Any], value: Any, given: bool
) -> dict[str, Any]:
    """Slack's state entry for one element. ``given=False``: untouched by the user."""
    t = str(element.get("type"))
    state: dict[str, Any] = {"type": t}
    if t in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        if not given:
            value = element.get("initial_value")
        elif value is not None:
            if (
                t == "number_input"
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            ):
                value = str(value)
            _require(where, value, str, "a str")
        state["value"] = value
    elif t == "rich_text_input":
        state["rich_text_value"] = element.get("initial_value") if not given else value
    elif t in ("static_select", "external_select", "radio_buttons"):
        if not given:
            initial = element.get("initial_option")
            state["selected_option"] = copy.deepcopy(initial) if initial else None
        else:
            state["selected_option"] = (
                None if value is None else _find_option(where, element, value)
            )
    elif t in ("multi_static_select", "multi_external_select", "checkboxes"):
        if not given:
            state["selected_options"] = copy.deepcopy(element.get("initial_options") or [])
        else:
            values = [] if value is None else value
            if not isinstance(values, list):
                raise StateValueError(f"{where}: expected a list of option values, got {value!r}")
            state["selected_options"] = [_find_option(where, element, v) for v in values]
    elif t == "users_select":
        if given and value is not None:
            _require(where, value, str, "a user id")
        state["selected_user"] = value if given else element.get("initial_user")
    elif t == "multi_users_select":
        if given and value is not None and not isinstance(value, list):
            raise StateValueError(f"{where}: expected a list of user ids, got {value!r}")
        state["selected_users"] = (
            (value or []) if given else list(element.get("initial_users") or [])
        )
    elif t == "conversations_select":
        state["selected_conversation"] = value if given else element.get("initial_conversation")
    elif t == "channels_select":
        state["selected_channel"] = value if given else element.get("initial_channel")
    elif t == "multi_conversations_select":
        state["selected_conversations"] = (
            (value or []) if given else list(element.get("initial_conversations") or [])
        )
    elif t == "multi_channels_select":
        state["selected_channels"] = (
            (value or []) if given else list(element.get("initial_channels") or [])
        )
    elif t == "datepicker":
        if given and value is not None:
            if isinstance(value, date):
                value = value.isoformat()
            _require(where, value, str, "a 'YYYY-MM-DD' date")
            if not _DATE.match(value):
                raise StateValueError(f"{where}: expected 'YYYY-MM-DD', got {value!r}")
            date.fromisoformat(value)
        state["selected_date"] = value if given else element.get("initial_date")
    elif t == "timepicker":
        if given and value is not None:
            _require(where, value, str, "an 'HH:MM' time")
            if not _TIME.match(value):
                raise StateValueError(f"{where}: expected 'HH:MM', got {value!r}")
        state["selected_time"] = value if given else element.get("initial_time")
        if element.get("timezone"):
            state["timezone"] = element["timezone"]
    elif t == "datetimepicker":
        if given and value is not None:
            _require(where, value, int, "an int unix time")
        state["selected_date_time"] = value if given else element.get("initial_date_time")
    else:
        raise StateValueError(f"{where}: element type {t!r} has no state")
    return state


def state_values(
    view: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """``view.state.values`` as Slack builds it for ``view``.

    ``values`` maps block_id to a simple value (see the module docs); for an ``actions`` block
    with several elements it maps block_id to ``{action_id: value}``. Every stateful element
    of the view is present; the ones not in ``values`` are reported as Slack reports untouched
    elements (their ``initial_*`` value, or None / []).
    """
    blocks = with_generated_ids(view.get("blocks") or [])
    result: dict[str, dict[str, dict[str, Any]]] = {}
    known: list[str] = []
    used: set[str] = set()
    for block in blocks:
        if not isinstance(block, dict):
            continue
        block_id = str(block["block_id"])
        elements = [e for e in _block_elements(block) if e.get("type") in _STATEFUL]
        if not elements:
            continue
        known.append(block_id)
        given_block = block_id in values
        raw = values.get(block_id)
        per_action: Mapping[str, Any] | None = None
        if given_block and block.get("type") == "actions":
            if not isinstance(raw, Mapping):
                raise StateValueError(
                    f"block {block_id!r} is an actions block: "
                    f"give {{action_id: value}}, got {raw!r}"
                )
            per_action = raw
            unknown = set(per_action) - {str(e.get("action_id")) for e in elements}
            if unknown:
                raise StateValueError(f"block {block_id!r} has no action_id {sorted(unknown)}")
        if given_block:
            used.add(block_id)
        entry: dict[str, dict[str, Any]] = {}
        for element in elements:
            action_id = str(element.get("action_id"))
            where = f"block {block_id!r} / action {action_id!r} ({element.get('type')})"
            if per_action is not None:
                entry[action_id] = _element_state(
                    where, element, per_action.get(action_id), action_id in per_action
                )
            else:
                entry[action_id] = _element_state(where, element, raw, given_block)
        result[block_id] = entry
    missing = set(values) - used
    if missing:
        raise StateValueError(
            f"the view has no stateful block {sorted(missing)}; its input blocks are {known}"
        )
    return result


# --------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------


def _user(user_id: str, team_id: str) -> dict[str, Any]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _full_view(view: Mapping[str, Any], team_id: str) -> dict[str, Any]:
    """The view as Slack reports it in payloads (ids and defaults filled in)."""
    full = copy.deepcopy(dict(view))
    view_id = full.get("id") or f"V{_next():010d}"
    full["id"] = view_id
    full.setdefault("team_id", team_id)
    full.setdefault("type", "modal")
    full["blocks"] = with_generated_ids(full.get("blocks") or [])
    for key in ("private_metadata", "callback_id", "external_id"):
        if full.get(key) is None:
            full[key] = ""
    full.setdefault("title", {"type": "plain_text", "text": "View", "emoji": True})
    full.setdefault("close", None)
    full.setdefault("submit", None)
    full.setdefault("hash", f"{int(time.time())}.{secrets.token_hex(4)}")
    full.setdefault("clear_on_close", False)
    full.setdefault("notify_on_close", False)
    full.setdefault("previous_view_id", None)
    full.setdefault("root_view_id", view_id)
    full.setdefault("app_id", APP_ID)
    full.setdefault("external_id", "")
    full.setdefault("app_installed_team_id", team_id)
    full.setdefault("bot_id", "BBOT")
    return full


def view_submission(
    view: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    user_id: str = "U_REP",
    team_id: str = "T000TEST",
    raw_state: Mapping[str, Mapping[str, Any]] | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A full ``view_submission`` payload for ``view`` (the view the app sent, or the one the
    fake answered with, which carries the view id and hash).

    ``raw_state`` is the escape hatch for hostile input: ``{block_id: {action_id: state}}``
    entries that replace the computed ones as given, unchecked.
    """
    full = _full_view(view, team_id)
    state = state_values(full, values)
    for block_id, actions in (raw_state or {}).items():
        state.setdefault(block_id, {}).update(copy.deepcopy(dict(actions)))
    full["state"] = {"values": state}
    return {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id if trigger_id is not None else new_trigger_id(),
        "view": full,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _find_element(
    blocks: Any, action_id: str, block_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for block in with_generated_ids(blocks or []):
        if not isinstance(block, dict):
            continue
        if block_id is not None and block.get("block_id") != block_id:
            continue
        for element in _block_elements(block):
            if element.get("action_id") == action_id:
                return block, element
    return None


def block_actions(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str | None = None,
    user_id: str = "U_REP",
    channel_id: str | None = None,
    message: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    action_type: str | None = None,
    selected_user: str | None = None,
    selected_option_value: str | None = None,
    selected_option_values: list[str] | None = None,
    team_id: str = "T000TEST",
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A full ``block_actions`` payload, for an element in ``message`` (needs its ``ts``;
    ``channel_id`` defaults to ``message["channel"]``) or in ``view``.

    The element is looked up by action_id (and block_id when given) in the message's or view's
    blocks: its type, block_id, button text and options come from there, and a
    ``selected_option_value`` the element does not offer raises StateValueError. Without
    message and view, a plain message in ``channel_id`` (default "C_SALES") is made up.
    ``action_type`` defaults to the element's type, else "button".
    """
    if message is not None and view is not None:
        raise ValueError("give message or view, not both")
    blocks: Any = (view or {}).get("blocks") if view is not None else (message or {}).get("blocks")
    found = _find_element(blocks, action_id, block_id)
    block, element = found if found is not None else ({}, {})
    if found is None and ((message is not None and message.get("blocks")) or view is not None):
        raise StateValueError(
            f"no element with action_id {action_id!r}"
            + (f" in block {block_id!r}" if block_id else "")
            + " in the given "
            + ("view" if view is not None else "message")
        )
    kind = action_type or str(element.get("type") or "button")
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block.get("block_id") or block_id or "b",
        "type": kind,
        "action_ts": _action_ts(),
    }
    where = f"action {action_id!r}"
    if kind == "button":
        action["text"] = copy.deepcopy(
            element.get("text") or {"type": "plain_text", "text": action_id, "emoji": True}
        )
        if value is None:
            value = element.get("value")
        if value is not None:
            action["value"] = value
        if element.get("style"):
            action["style"] = element["style"]
    elif kind in ("static_select", "external_select", "overflow", "radio_buttons"):
        option_value = selected_option_value if selected_option_value is not None else value
        if option_value is None:
            raise StateValueError(f"{where}: a {kind} action needs selected_option_value")
        action["selected_option"] = (
            _find_option(where, element, option_value)
            if element
            else {"text": {"type": "plain_text", "text": option_value}, "value": option_value}
        )
        if element.get("placeholder"):
            action["placeholder"] = copy.deepcopy(element["placeholder"])
    elif kind == "users_select":
        action["selected_user"] = selected_user if selected_user is not None else value
        if action["selected_user"] is None:
            raise StateValueError(f"{where}: a users_select action needs selected_user")
    elif kind == "datepicker":
        action["selected_date"] = value
    elif kind == "timepicker":
        action["selected_time"] = value
    elif kind == "datetimepicker":
        action["selected_date_time"] = None if value is None else int(value)
    elif kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        action["value"] = value
    elif kind in ("checkboxes", "multi_static_select", "multi_external_select"):
        wanted = selected_option_values or []
        action["selected_options"] = [_find_option(where, element, v) for v in wanted]
    elif value is not None:
        action["value"] = value

    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id if trigger_id is not None else new_trigger_id(),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        full = _full_view(view, team_id)
        state = full.get("state")
        if not (isinstance(state, dict) and state.get("values")):
            full["state"] = {"values": state_values(full, {})}
        payload["container"] = {"type": "view", "view_id": full["id"]}
        payload["view"] = full
    else:
        msg = copy.deepcopy(dict(message)) if message is not None else None
        channel = channel_id or (msg or {}).get("channel") or ("C_SALES" if msg is None else None)
        if channel is None:
            raise ValueError("block_actions on a message needs channel_id (or message['channel'])")
        if msg is None:
            n = _next()
            msg = {
                "type": "message",
                "user": "UBOT",
                "bot_id": "BBOT",
                "text": "",
                "ts": f"1700000000.{n % 1_000_000:06d}",
            }
        if "ts" not in msg:
            raise ValueError("block_actions on a message needs the message's ts")
        msg.pop("channel", None)
        msg["blocks"] = with_generated_ids(msg.get("blocks") or [])
        payload["container"] = {
            "type": "message",
            "message_ts": msg["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel, "name": channel.lower()}
        payload["message"] = msg
        payload["state"] = {"values": state_values(msg, {}) if msg.get("blocks") else {}}
        payload["response_url"] = response_url or PLACEHOLDER_RESPONSE_URL
    payload["actions"] = [action]
    return payload
