"""Tests of the test infrastructure itself: the fake Slack Web API and the signed-request client."""

from __future__ import annotations

import http.client
import json
import struct
import threading
import time
import urllib.error
import urllib.parse
import zlib
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.fake_slack import Call, FakeSlack, validate_view
from tests.slack_requests import (
    PLACEHOLDER_RESPONSE_URL,
    SlackRequests,
    StateValueError,
    block_actions,
    sign,
    state_values,
    view_submission,
)

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        f.set_user("U_REP", tz="Asia/Shanghai", locale="zh-CN", name="Li Lei", email="li@ex.com")
        f.set_user("U_NY", tz="America/New_York")
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.base_url)


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def modal(
    title: str = "New follow-up", blocks: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "followup_new",
        "title": plain(title),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"channel": "C_SALES"}),
        "blocks": blocks if blocks is not None else FORM_BLOCKS,
    }


STAGES = [option("New lead", "new"), option("Quoted", "quoted"), option("Won", "won")]
FORM_BLOCKS: list[dict[str, Any]] = [
    {
        "type": "input",
        "block_id": "customer",
        "label": plain("Customer"),
        "element": {
            "type": "plain_text_input",
            "action_id": "value",
            "placeholder": plain("Company or person"),
        },
    },
    {
        "type": "input",
        "block_id": "notes",
        "optional": True,
        "label": plain("Notes"),
        "element": {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": True,
            "initial_value": "call back",
        },
    },
    {
        "type": "input",
        "block_id": "stage",
        "label": plain("Stage"),
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": STAGES,
            "initial_option": STAGES[0],
        },
    },
    {
        "type": "input",
        "block_id": "owner",
        "label": plain("Owner"),
        "element": {"type": "users_select", "action_id": "value"},
    },
    {
        "type": "input",
        "block_id": "due",
        "label": plain("Due"),
        "element": {"type": "datetimepicker", "action_id": "value"},
    },
    {
        "type": "input",
        "block_id": "day",
        "optional": True,
        "label": plain("Day"),
        "element": {"type": "datepicker", "action_id": "value", "initial_date": "2026-11-30"},
    },
    {
        "type": "input",
        "block_id": "flags",
        "optional": True,
        "label": plain("Flags"),
        "element": {
            "type": "checkboxes",
            "action_id": "value",
            "options": [option("Urgent", "urgent"), option("VIP", "vip")],
        },
    },
    {
        "type": "input",
        "block_id": "company",
        "optional": True,
        "label": plain("Company"),
        "element": {"type": "external_select", "action_id": "value", "min_query_length": 2},
    },
    {
        "type": "input",
        "block_id": "at",
        "optional": True,
        "label": plain("Time"),
        "element": {"type": "timepicker", "action_id": "value", "initial_time": "09:30"},
    },
    {
        "type": "actions",
        "block_id": "more",
        "elements": [
            {"type": "button", "action_id": "add_contact", "text": plain("Add contact")},
            {
                "type": "static_select",
                "action_id": "template",
                "placeholder": plain("Template"),
                "options": [option("Call", "call"), option("Mail", "mail")],
            },
        ],
    },
]


def post(url: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("POST", parts.path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# --- Web API answers -------------------------------------------------------------------------


def test_auth_test_identifies_the_bot(fake: FakeSlack, client: WebClient) -> None:
    r = client.auth_test()
    assert r["ok"] is True
    assert (r["team_id"], r["user_id"], r["bot_id"]) == ("T000TEST", "UBOT", "BBOT")
    assert r["url"].startswith("https://")
    [call] = fake.calls_to("auth.test")
    assert call.token == TOKEN


def test_users_info_with_and_without_locale(client: WebClient) -> None:
    plain_info = client.users_info(user="U_REP")["user"]
    assert "locale" not in plain_info
    assert plain_info["tz"] == "Asia/Shanghai"
    assert plain_info["tz_offset"] == 8 * 3600
    assert plain_info["tz_label"] == "China Standard Time"
    assert plain_info["profile"]["email"] == "li@ex.com"
    assert plain_info["real_name"] == "Li Lei"
    assert plain_info["deleted"] is False

    with_locale = client.users_info(user="U_REP", include_locale=True)["user"]
    assert with_locale["locale"] == "zh-CN"

    ny = client.users_info(user="U_NY")["user"]
    offset = datetime.now(ZoneInfo("America/New_York")).utcoffset()
    assert offset is not None
    assert ny["tz_offset"] == int(offset.total_seconds())
    assert "email" not in ny["profile"]


def test_users_info_unknown_user(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U_NOBODY")
    assert error_of(excinfo) == "user_not_found"


def test_users_lookup_by_email(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="LI@ex.com")["user"]["id"] == "U_REP"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_lookupByEmail(email="nobody@ex.com")
    assert error_of(excinfo) == "users_not_found"


def test_conversations_open_gives_the_dm(client: WebClient) -> None:
    assert client.conversations_open(users="U_REP")["channel"]["id"] == "DU_REP"
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_open(users="U_NOBODY")
    assert error_of(excinfo) == "user_not_found"


def test_post_message_ts_are_unique_and_increasing(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C_SALES", text="one")
    second = client.chat_postMessage(channel="U_REP", text="two")
    assert first["channel"] == "C_SALES"
    assert second["channel"] == "DU_REP"  # a user id posts in the app's DM with them
    assert first["message"]["text"] == "one"
    assert first["ts"] != second["ts"]
    assert float(second["ts"]) > float(first["ts"])
    assert [c.args["text"] for c in fake.calls_to("chat.postMessage")] == ["one", "two"]


def test_chat_update_and_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Due* today"}}]
    posted = client.chat_postMessage(channel="C_SALES", text="due", blocks=blocks)
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="done")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C_SALES", posted["ts"], "done")
    # Slack keeps the blocks that chat.update leaves out.
    assert updated["message"]["blocks"][0]["text"]["text"] == "*Due* today"

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C_SALES", ts="1.000001", text="x")
    assert error_of(excinfo) == "message_not_found"

    eph = client.chat_postEphemeral(channel="C_SALES", user="U_REP", text="only you")
    assert eph["ok"] is True
    assert eph["message_ts"]
    assert fake.validation_errors == []


def test_required_arguments(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessage", json={"text": "no channel"})
    assert error_of(excinfo) == "channel_not_found"
    with (
        pytest.raises(SlackApiError) as excinfo,
        pytest.warns(UserWarning, match="`text` argument is missing"),
    ):
        client.chat_postMessage(channel="C_SALES")
    assert error_of(excinfo) == "no_text"
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("views.open", json={"view": modal()})
    assert error_of(excinfo) == "invalid_arguments"
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("views.open", json={"trigger_id": "1.2.ab"})
    assert error_of(excinfo) == "invalid_arguments"


def test_unknown_method_is_answered_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("reminders.teleport", json={"x": 1})
    assert error_of(excinfo) == "unknown_method"
    assert [c.method for c in fake.calls] == ["reminders.teleport"]


def test_tokens_are_checked(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=fake.base_url).auth_test()
    assert error_of(excinfo) == "not_authed"
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token="not-a-slack-token", base_url=fake.base_url).auth_test()
    assert error_of(excinfo) == "invalid_auth"


def test_form_encoded_requests_are_decoded(fake: FakeSlack) -> None:
    blocks = [{"type": "divider"}]
    body = urllib.parse.urlencode(
        {"token": TOKEN, "channel": "C_SALES", "text": "hi", "blocks": json.dumps(blocks)}
    ).encode()
    status, data = post(
        fake.base_url + "chat.postMessage", body, "application/x-www-form-urlencoded"
    )
    assert status == 200
    assert json.loads(data)["ok"] is True
    [call] = fake.calls_to("chat.postMessage")
    assert call.token == TOKEN
    assert call.args == {"channel": "C_SALES", "text": "hi", "blocks": blocks}


# --- views -----------------------------------------------------------------------------------


def test_views_open_valid_view(fake: FakeSlack, client: WebClient) -> None:
    view = modal()
    r = client.views_open(trigger_id="123.456.abcdef", view=view)
    answered = r["view"]
    assert answered["id"].startswith("V")
    assert answered["hash"]
    assert answered["state"] == {"values": {}}
    assert answered["callback_id"] == "followup_new"
    assert answered["root_view_id"] == answered["id"]
    assert [b["block_id"] for b in answered["blocks"]] == [b["block_id"] for b in FORM_BLOCKS]
    [call] = fake.calls_to("views.open")
    assert call.args["view"] == view
    assert call.response["view"]["id"] == answered["id"]
    assert fake.validation_errors == []

    # A trigger_id can be exchanged once.
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id="123.456.abcdef", view=view)
    assert error_of(excinfo) == "exchanged_trigger_id"

    # views.update keeps the id, changes the hash, and checks the hash it is given.
    updated = client.views_update(
        view_id=answered["id"], hash=answered["hash"], view=modal("Saved")
    )
    assert updated["view"]["id"] == answered["id"]
    assert updated["view"]["hash"] != answered["hash"]
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id=answered["id"], hash=answered["hash"], view=view)
    assert error_of(excinfo) == "hash_conflict"
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id="V_UNKNOWN", view=view)
    assert error_of(excinfo) == "not_found"


def test_views_open_invalid_view_is_rejected_and_recorded(
    fake: FakeSlack, client: WebClient
) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id="1.2.ab", view=modal(title="x" * 30))
    # Slack answers invalid_arguments (with the details in response_metadata) for views.*
    assert error_of(excinfo) == "invalid_arguments"
    messages = excinfo.value.response["response_metadata"]["messages"]
    assert any("title" in m for m in messages)
    assert len(fake.validation_errors) == 1
    assert fake.validation_errors[0].startswith("views.open: ")
    assert "title must be between 1 and 24 characters" in fake.validation_errors[0]
    with pytest.raises(AssertionError, match="title must be between 1 and 24"):
        fake.assert_all_valid()


def test_views_publish_home(client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": plain("Your follow-ups")}]}
    first = client.views_publish(user_id="U_REP", view=home)["view"]
    again = client.views_publish(user_id="U_REP", view=home)["view"]
    assert first["type"] == "home"
    assert again["id"] == first["id"]
    with pytest.raises(SlackApiError) as excinfo:
        client.views_publish(user_id="U_REP", view=modal())
    assert error_of(excinfo) == "invalid_arguments"


def long_option_view() -> dict[str, Any]:
    element = {"type": "static_select", "action_id": "a", "options": [option("o" * 76, "v")]}
    return modal(
        blocks=[{"type": "input", "block_id": "b", "label": plain("L"), "element": element}]
    )


def input_view(**changes: Any) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "a"}
    block: dict[str, Any] = {
        "type": "input",
        "block_id": "b",
        "label": plain("L"),
        "element": element,
    }
    for key, value in changes.items():
        target = element if key in ("placeholder", "initial_value", "max_length") else block
        target[key] = value
    return modal(blocks=[block])


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (long_option_view(), "75"),
        (input_view(placeholder=plain("p" * 151)), "150"),
        (input_view(label=plain("")), "more than 0 characters"),
        (input_view(lable=plain("typo")), "'lable'"),
        ({**modal(), "private_metadata": "m" * 3001}, "3000"),
        (modal(blocks=[{"type": "divider"}] * 101), "no more than 100"),
        (modal(blocks=[{"type": "sektion"}]), "unknown block type"),
        ({**modal(), "submit": None}, "submit property"),
        (modal(blocks=[{"type": "divider", "block_id": "d"}] * 2), "used twice"),
        (
            modal(blocks=[{"type": "actions", "elements": [{"type": "slider", "action_id": "s"}]}]),
            "unknown element type 'slider'",
        ),
    ],
)
def test_invalid_views(view: dict[str, Any], expected: str) -> None:
    errors = validate_view(view)
    assert any(expected in e for e in errors), errors


def test_a_rich_valid_view_has_no_errors() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain("Follow-ups")},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Acme* — quote sent"},
            "accessory": {
                "type": "overflow",
                "action_id": "menu",
                "options": [option("Snooze", "snooze"), option("Done", "done")],
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "due tomorrow"}]},
        {"type": "divider"},
        *FORM_BLOCKS,
    ]
    assert validate_view(modal(blocks=blocks)) == []


# --- messages --------------------------------------------------------------------------------


def test_post_message_with_51_blocks_is_rejected(fake: FakeSlack, client: WebClient) -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"row {i}"}} for i in range(51)
    ]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C_SALES", text="rows", blocks=blocks)
    assert error_of(excinfo) == "invalid_blocks"
    assert fake.validation_errors == [
        "chat.postMessage: [ERROR] no more than 50 items allowed [json-pointer:/blocks]"
    ]
    assert fake.messages == {}


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}, "3000"),
        ({"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}, "3000"),
        ({"type": "section", "text": {"type": "mrkdwn", "text": ""}}, "more than 0"),
        ({"type": "section", "text": {"type": "mrkdwn", "text": "a", "emoji": True}}, "'emoji'"),
        ({"type": "sektion", "text": {"type": "mrkdwn", "text": "a"}}, "unknown block type"),
        ({"type": "header", "text": plain("h" * 151)}, "150"),
    ],
)
def test_invalid_message_blocks(
    fake: FakeSlack, client: WebClient, block: dict[str, Any], expected: str
) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C_SALES", text="t", blocks=[block])
    assert error_of(excinfo) == "invalid_blocks"
    assert any(expected in e for e in fake.validation_errors), fake.validation_errors


def test_blocks_without_text_fallback_are_accepted_but_recorded(
    fake: FakeSlack, client: WebClient
) -> None:
    with pytest.warns(UserWarning, match="`text` argument is missing"):  # slack_sdk warns too
        r = client.chat_postMessage(channel="C_SALES", blocks=[{"type": "divider"}])
    assert r["ok"] is True
    assert len(fake.validation_errors) == 1
    assert "text fallback" in fake.validation_errors[0]


def test_text_over_40000_characters(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C_SALES", text="x" * 40_001)
    assert error_of(excinfo) == "msg_too_long"
    assert fake.validation_errors


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    url = fake.response_url_base + "commands/T000TEST/1/abc"
    body = json.dumps({"text": "saved", "response_type": "ephemeral"}).encode()
    status, _ = post(url, body, "application/json")
    assert status == 200
    [call] = fake.wait_for("response_url")
    assert call.args == {"text": "saved", "response_type": "ephemeral"}
    assert call.path == "/hooks/commands/T000TEST/1/abc"


# --- failures, overrides, waiting ------------------------------------------------------------


def test_rate_limit_then_ok_with_retry_handler(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    client = WebClient(
        token=TOKEN,
        base_url=fake.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    r = client.chat_postMessage(channel="C_SALES", text="hello")
    assert r["ok"] is True
    calls = fake.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].response == {"ok": False, "error": "ratelimited"}


def test_rate_limit_without_retry(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("users.info", status=429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.users_info(user="U_REP")
        assert excinfo.value.response.status_code == 429
        assert excinfo.value.response.headers["Retry-After"] in ("7", ["7"])
        assert error_of(excinfo) == "ratelimited"
    assert client.users_info(user="U_REP")["ok"] is True


def test_server_error_and_ok_false_failures(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=500)
    fake.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C_SALES", text="1")
    assert excinfo.value.response.status_code == 500
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C_SALES", text="2")
    assert error_of(excinfo) == "channel_not_found"
    assert client.chat_postMessage(channel="C_SALES", text="3")["ok"] is True
    with pytest.raises(ValueError, match="needs an error"):
        fake.fail_next("chat.postMessage")


def test_on_overrides_the_answer(fake: FakeSlack, client: WebClient) -> None:
    def handler(call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        return 200, {"ok": True, "members": [call.args.get("channel")]}, {"X-Extra": "1"}

    fake.on("conversations.members", handler)
    r = client.conversations_members(channel="C_SALES")
    assert r["members"] == ["C_SALES"]


def test_wait_for_returns_calls_made_from_another_thread(
    fake: FakeSlack, client: WebClient
) -> None:
    poster = threading.Thread(
        target=lambda: [client.chat_postMessage(channel="C_SALES", text=str(i)) for i in range(3)]
    )
    poster.start()
    calls = fake.wait_for("chat.postMessage", lambda c: c.args["text"] != "0", count=2)
    poster.join()
    assert [c.args["text"] for c in calls] == ["1", "2"]


def test_wait_for_times_out_with_a_clear_message(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C_SALES", text="only this")
    started = time.monotonic()
    with pytest.raises(AssertionError) as excinfo:
        fake.wait_for("views.open", timeout=0.2)
    assert time.monotonic() - started >= 0.2
    message = str(excinfo.value)
    assert "timed out after 0.2s waiting for 1 call(s) to views.open" in message
    assert "chat.postMessage" in message
    assert "only this" in message


# --- signed requests -------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers like a Bolt app (through App.dispatch) and keeps what it received."""

    app: App
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.received.append((headers, body))
        bolt = self.app.dispatch(BoltRequest(body=body.decode(), headers=dict(headers)))
        data = bolt.body.encode()
        self.send_response(bolt.status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bolt_server(fake: FakeSlack) -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    app = App(
        token=TOKEN,
        signing_secret=SECRET,
        client=WebClient(token=TOKEN, base_url=fake.base_url),
        token_verification_enabled=False,
    )

    @app.command("/followup")
    def on_command(ack: Any, command: dict[str, Any]) -> None:
        ack(f"got {command['text']} from {command['user_id']}")

    @app.action("done")
    def on_action(ack: Any) -> None:
        ack()

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any]) -> None:
        pass

    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Recorder", (_Recorder,), {"app": app, "received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_signature_is_slacks(bolt_server: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, received = bolt_server
    requests = SlackRequests(url, SECRET)
    response = requests.command("acme", user_id="U_REP")
    assert response.status == 200, response.text
    assert response.text == "got acme from U_REP"
    headers, body = received[-1]
    timestamp = headers["x-slack-request-timestamp"]
    signature = headers["x-slack-signature"]
    assert abs(int(timestamp) - time.time()) < 60
    assert signature.startswith("v0=")
    assert len(signature) == 3 + 64
    assert SignatureVerifier(SECRET).is_valid(body=body, timestamp=timestamp, signature=signature)
    assert not SignatureVerifier("other-secret").is_valid(
        body=body, timestamp=timestamp, signature=signature
    )
    assert signature == sign(SECRET, timestamp, body)
    form = dict(urllib.parse.parse_qsl(body.decode()))
    assert form["command"] == "/followup"
    assert form["team_id"] == "T000TEST"
    assert form["channel_id"] == "C_SALES"
    for name in ("token", "team_domain", "channel_name", "user_name", "api_app_id"):
        assert form[name]
    assert form["response_url"].startswith("https://hooks.slack.com/commands/")
    assert form["trigger_id"].count(".") == 2


def test_bad_signatures_are_refused_by_bolt(
    bolt_server: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, _ = bolt_server
    requests = SlackRequests(url, SECRET)
    body = urllib.parse.urlencode(
        {"command": "/followup", "text": "x", "user_id": "U_REP", "team_id": "T000TEST"}
    ).encode()
    form = "application/x-www-form-urlencoded"
    assert requests.send(body, content_type=form).status == 200
    assert requests.send(body, content_type=form, sign=False).status == 401
    stale = int(time.time()) - 600
    assert requests.send(body, content_type=form, timestamp=stale).status == 401
    assert requests.send(body, content_type=form, signature="v0=" + "0" * 64).status == 401
    assert SlackRequests(url, "wrong-secret").command("x").status == 401


def test_interactive_and_event_requests_reach_bolt(
    fake: FakeSlack, bolt_server: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = bolt_server
    requests = SlackRequests(url, SECRET, response_url_base=fake.response_url_base)
    message = {"ts": "1700000000.000100", "text": "t", "blocks": [button_block()]}
    payload = block_actions("done", message=message, channel_id="C_SALES")
    assert payload["response_url"] == PLACEHOLDER_RESPONSE_URL
    assert requests.interactive(payload).status == 200
    headers, body = received[-1]
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    sent = json.loads(dict(urllib.parse.parse_qsl(body.decode()))["payload"])
    assert sent["response_url"].startswith(fake.response_url_base)
    assert sent["actions"][0]["action_id"] == "done"

    event = {"type": "app_home_opened", "user": "U_REP", "channel": "DU_REP", "tab": "home"}
    assert requests.event(event, event_id="Ev123").status == 200
    headers, body = received[-1]
    envelope = json.loads(body)
    assert headers["content-type"] == "application/json"
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == "Ev123"
    assert envelope["event"] == event
    assert envelope["team_id"] == "T000TEST"


def test_errors_are_returned_not_raised(
    bolt_server: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, _ = bolt_server
    # No listener for this command: Bolt answers 404.
    response = SlackRequests(url, SECRET).command("x", command="/unknown")
    assert response.status == 404
    assert isinstance(response.headers, dict)


# --- payload builders ------------------------------------------------------------------------


def button_block() -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "row",
        "elements": [
            {"type": "button", "action_id": "done", "text": plain("Done"), "value": "42"},
            {"type": "users_select", "action_id": "assign"},
        ],
    }


def test_state_values_for_each_element_type() -> None:
    state = state_values(
        modal(),
        {
            "customer": "Acme",
            "stage": "quoted",
            "owner": "U_NY",
            "due": 1_795_000_000,
            "day": "2026-12-01",
            "flags": ["vip", "urgent"],
            "company": "acme-ltd",
            "at": "14:05",
            "more": {"template": "mail"},
        },
    )
    assert state["customer"] == {"value": {"type": "plain_text_input", "value": "Acme"}}
    assert state["stage"]["value"] == {
        "type": "static_select",
        "selected_option": option("Quoted", "quoted"),
    }
    assert state["owner"]["value"] == {"type": "users_select", "selected_user": "U_NY"}
    assert state["due"]["value"] == {"type": "datetimepicker", "selected_date_time": 1_795_000_000}
    assert state["day"]["value"] == {"type": "datepicker", "selected_date": "2026-12-01"}
    assert state["flags"]["value"] == {
        "type": "checkboxes",
        "selected_options": [option("VIP", "vip"), option("Urgent", "urgent")],
    }
    assert state["company"]["value"]["selected_option"]["value"] == "acme-ltd"
    assert state["at"]["value"] == {"type": "timepicker", "selected_time": "14:05"}
    assert state["more"] == {
        "template": {"type": "static_select", "selected_option": option("Mail", "mail")}
    }


def test_state_values_untouched_inputs_are_sent_like_slack() -> None:
    state = state_values(modal(), {})
    assert state["customer"]["value"] == {"type": "plain_text_input", "value": None}
    assert state["notes"]["value"] == {"type": "plain_text_input", "value": "call back"}
    assert state["stage"]["value"]["selected_option"] == STAGES[0]
    assert state["owner"]["value"] == {"type": "users_select", "selected_user": None}
    assert state["due"]["value"] == {"type": "datetimepicker", "selected_date_time": None}
    assert state["day"]["value"]["selected_date"] == "2026-11-30"
    assert state["flags"]["value"] == {"type": "checkboxes", "selected_options": []}
    assert state["at"]["value"]["selected_time"] == "09:30"
    assert "add_contact" not in state["more"]  # buttons have no state
    # A field the user cleared: None, not the initial value.
    assert state_values(modal(), {"notes": None})["notes"]["value"]["value"] is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"stage": "lost"}, "offers no option 'lost'"),
        ({"flags": ["urgent", "gold"]}, "offers no option 'gold'"),
        ({"nope": "x"}, "no stateful block \\['nope'\\]"),
        ({"due": "tomorrow"}, "int unix time"),
        ({"day": "30/11/2026"}, "YYYY-MM-DD"),
        ({"customer": 5}, "a str"),
        ({"more": "mail"}, "actions block"),
    ],
)
def test_state_values_refuses_what_the_form_does_not_offer(
    values: dict[str, Any], expected: str
) -> None:
    with pytest.raises(StateValueError, match=expected):
        state_values(modal(), values)


def test_view_submission_payload(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id="9.9.ff", view=modal())["view"]
    payload = view_submission(
        opened,
        {"customer": "Acme", "owner": "U_REP", "due": 1_795_000_000},
        user_id="U_NY",
        raw_state={"customer": {"value": {"type": "plain_text_input", "value": "x" * 5000}}},
    )
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == "U_NY"
    assert payload["team"]["id"] == "T000TEST"
    assert payload["trigger_id"].count(".") == 2
    assert payload["response_urls"] == []
    view = payload["view"]
    assert (view["id"], view["hash"]) == (opened["id"], opened["hash"])
    assert view["callback_id"] == "followup_new"
    assert view["private_metadata"] == json.dumps({"channel": "C_SALES"})
    values = view["state"]["values"]
    assert values["customer"]["value"]["value"] == "x" * 5000  # raw_state wins
    assert values["owner"]["value"]["selected_user"] == "U_REP"


def test_generated_block_ids_agree_between_fake_and_builders(client: WebClient) -> None:
    blocks = [
        {"type": "input", "label": plain("A"), "element": {"type": "plain_text_input"}},
        {"type": "input", "label": plain("B"), "element": {"type": "plain_text_input"}},
    ]
    sent = modal(blocks=blocks)
    opened = client.views_open(trigger_id="8.8.ee", view=sent)["view"]
    ids = [b["block_id"] for b in opened["blocks"]]
    assert len(set(ids)) == 2
    from_sent = view_submission(sent, {ids[1]: "b"})["view"]["state"]["values"]
    from_opened = view_submission(opened, {ids[1]: "b"})["view"]["state"]["values"]
    assert from_sent == from_opened
    assert next(iter(from_opened[ids[1]].values()))["value"] == "b"


def test_block_actions_payloads() -> None:
    message = {"ts": "1700000000.000100", "text": "t", "blocks": [button_block()]}
    payload = block_actions("done", message=message, channel_id="C_SALES", user_id="U_NY")
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C_SALES",
        "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == "C_SALES"
    assert payload["user"]["id"] == "U_NY"
    [action] = payload["actions"]
    assert action["block_id"] == "row"
    assert action["text"] == plain("Done")
    assert action["value"] == "42"
    assert action["type"] == "button"

    selected = block_actions("assign", message=message, channel_id="C_SALES", selected_user="U_REP")
    assert selected["actions"][0]["type"] == "users_select"
    assert selected["actions"][0]["selected_user"] == "U_REP"

    in_view = block_actions("template", view={**modal(), "id": "V1"}, selected_option_value="call")
    assert in_view["container"] == {"type": "view", "view_id": "V1"}
    assert in_view["actions"][0]["selected_option"] == option("Call", "call")
    assert "response_url" not in in_view
    assert in_view["view"]["state"]["values"]["stage"]["value"]["selected_option"] == STAGES[0]

    with pytest.raises(StateValueError, match="offers no option 'sms'"):
        block_actions("template", view=modal(), selected_option_value="sms")
    with pytest.raises(StateValueError, match="no element with action_id 'missing'"):
        block_actions("missing", message=message, channel_id="C_SALES")


# --- file uploads (WebClient.files_upload_v2) -----------------------------------------------


def tiny_png() -> bytes:
    """A valid 1x1 PNG, made here so the test depends on no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x00\x72\xb2")  # filter byte + one blue pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def post_bytes(url: str, data: bytes, content_type: str | None = None) -> tuple[int, str]:
    """POST ``data`` to an upload URL on the fake; (status, text answered)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=5)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request("POST", parts.path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def upload_url(client: WebClient, length: int, filename: str = "chart.png") -> tuple[str, str]:
    """(file id, upload URL) from files.getUploadURLExternal."""
    r = client.files_getUploadURLExternal(filename=filename, length=length)
    return str(r["file_id"]), str(r["upload_url"])


def test_files_upload_v2_makes_three_calls_and_the_bytes_arrive(
    fake: FakeSlack, client: WebClient
) -> None:
    png = tiny_png()
    response = client.files_upload_v2(
        channel="C_SALES",
        file=png,
        filename="pipeline.png",
        title="Pipeline · week of 30 Nov 2026",
        initial_comment="Monday summary",
    )

    get_url, upload, complete = fake.calls
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    assert all(c.ok for c in fake.calls)
    assert get_url.args == {"filename": "pipeline.png", "length": str(len(png))}
    file_id = get_url.response["file_id"]
    assert file_id.startswith("F")
    assert get_url.response["upload_url"] == f"http://127.0.0.1:{fake.port}/upload/v1/{file_id}"

    assert upload.args == {"file_id": file_id, "size": len(png)}
    assert upload.token is None  # the upload URL is the credential
    assert (upload.status, upload.response["text"]) == (200, f"OK - {len(png)}")
    assert fake.uploaded(file_id) == png

    assert complete.args["files"] == [{"id": file_id, "title": "Pipeline · week of 30 Nov 2026"}]
    assert complete.args["channel_id"] == "C_SALES"
    assert complete.args["initial_comment"] == "Monday summary"

    file = response["file"]
    assert response["files"] == [file]
    assert {k: file[k] for k in ("id", "title", "name", "mimetype", "size", "channels")} == {
        "id": file_id,
        "title": "Pipeline · week of 30 Nov 2026",
        "name": "pipeline.png",
        "mimetype": "image/png",
        "size": len(png),
        "channels": ["C_SALES"],
    }
    assert fake.files == {file_id: file}
    [((channel, _), message)] = fake.messages.items()
    assert channel == "C_SALES"
    assert message["text"] == "Monday summary"
    assert [f["id"] for f in message["files"]] == [file_id]


def test_files_upload_v2_into_a_thread_and_into_a_dm(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C_SALES", text="Monday summary")["ts"]
    in_thread = client.files_upload_v2(
        channel="C_SALES", thread_ts=parent, file=tiny_png(), filename="a.png"
    )["file"]
    assert fake.calls_to("files.completeUploadExternal")[0].args["thread_ts"] == parent
    assert in_thread["shares"]["public"]["C_SALES"][0]["thread_ts"] == parent
    assert in_thread["title"] == "a.png"  # no title given: Slack uses the file name
    threaded = [m for m in fake.messages.values() if m.get("files")]
    assert [m["thread_ts"] for m in threaded] == [parent]

    in_dm = client.files_upload_v2(channel="U_REP", file=tiny_png(), filename="b.png")["file"]
    assert (in_dm["channels"], in_dm["ims"]) == ([], ["DU_REP"])
    assert in_dm["is_public"] is False


@pytest.mark.parametrize(
    ("content", "mimetype"),
    [
        pytest.param(tiny_png(), "image/png", id="png-named-txt"),
        pytest.param(b"\xff\xd8\xff\xe0jpeg", "image/jpeg", id="jpeg"),
        pytest.param("客户跟进 follow-ups\n".encode(), "text/plain", id="text"),
        pytest.param(b"\x00\xff\xfe\x80", "application/octet-stream", id="binary"),
    ],
)
def test_the_mimetype_comes_from_the_bytes(
    client: WebClient, content: bytes, mimetype: str
) -> None:
    file = client.files_upload_v2(channel="C_SALES", content=content, filename="x.txt")["file"]
    assert file["mimetype"] == mimetype


def test_a_multipart_upload_records_the_file_part(fake: FakeSlack, client: WebClient) -> None:
    png = tiny_png()
    file_id, url = upload_url(client, len(png))
    boundary = "fakeslackboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="filename"; filename="c.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, text = post_bytes(url, body, f"multipart/form-data; boundary={boundary}")
    assert (status, text) == (200, f"OK - {len(png)}")
    assert fake.uploaded(file_id) == png


def test_get_upload_url_needs_a_filename_and_a_positive_integer_length(
    client: WebClient,
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"length": 3}, "invalid_arguments"),
        ({"filename": "a.png"}, "invalid_arguments"),
        ({"filename": " ", "length": 3}, "invalid_arguments"),
        ({"filename": "a.png", "length": "three"}, "invalid_arguments"),
        ({"filename": "a.png", "length": "2.5"}, "invalid_arguments"),
        ({"filename": "a.png", "length": -1}, "invalid_arguments"),
        ({"filename": "a.png", "length": 0}, "missing_argument"),
        ({"filename": "a.png", "length": 3, "alt_txt": "x" * 1001}, "alt_txt_too_large"),
    ]
    for params, expected in cases:
        with pytest.raises(SlackApiError) as excinfo:
            client.api_call("files.getUploadURLExternal", params=params)
        assert error_of(excinfo) == expected, params
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("files.getUploadURLExternal", params={"length": 3})
    assert excinfo.value.response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: filename"
    ]
    as_json = client.api_call("files.getUploadURLExternal", json={"filename": "a", "length": 3})
    assert as_json["file_id"].startswith("F")


def test_an_upload_of_another_size_than_announced_is_refused(
    fake: FakeSlack, client: WebClient
) -> None:
    file_id, url = upload_url(client, length=10)
    status, text = post_bytes(url, b"12345")
    assert status == 400
    assert "expected 10 bytes, got 5" in text
    [upload] = fake.calls_to("file_upload")
    assert (upload.ok, upload.response["error"], upload.args["size"]) == (
        False,
        "length_mismatch",
        5,
    )
    with pytest.raises(KeyError, match=file_id):
        fake.uploaded(file_id)
    with pytest.raises(SlackApiError) as excinfo:
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C_SALES")
    assert error_of(excinfo) == "file_not_found"

    assert post_bytes(url, b"0123456789") == (200, "OK - 10")  # the right size is then taken
    assert client.files_completeUploadExternal(files=[{"id": file_id}])["ok"] is True


def test_uploads_to_unknown_or_spent_urls_are_not_found(fake: FakeSlack, client: WebClient) -> None:
    assert post_bytes(f"http://127.0.0.1:{fake.port}/upload/v1/F_NOPE", b"x")[0] == 404
    file = client.files_upload_v2(channel="C_SALES", content=b"abc", filename="a.txt")["file"]
    url = fake.calls_to("files.getUploadURLExternal")[0].response["upload_url"]
    assert post_bytes(url, b"abc")[0] == 404  # completed: the URL is spent
    assert fake.uploaded(file["id"]) == b"abc"


def test_complete_upload_refuses_unknown_never_uploaded_and_completed_files(
    client: WebClient,
) -> None:
    announced, _ = upload_url(client, length=3)
    done = client.files_upload_v2(channel="C_SALES", content=b"abc", filename="a.txt")["file"]
    for files in ([{"id": "F_UNKNOWN"}], [{"id": announced}], [{"id": done["id"]}]):
        with pytest.raises(SlackApiError) as excinfo:
            client.files_completeUploadExternal(files=files, channel_id="C_SALES")  # type: ignore[arg-type]
        assert error_of(excinfo) == "file_not_found", files


def test_complete_upload_argument_errors(fake: FakeSlack, client: WebClient) -> None:
    file_id, url = upload_url(client, length=3)
    post_bytes(url, b"abc")
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "invalid_arguments"),
        ({"files": "not json"}, "invalid_arguments"),
        ({"files": "[]"}, "invalid_arguments"),
        ({"files": json.dumps([{"title": "no id"}])}, "invalid_arguments"),
        ({"files": json.dumps([{"id": file_id}]), "channel_id": "U_NOBODY"}, "channel_not_found"),
        (
            {"files": json.dumps([{"id": file_id}]), "channels": "C_A,C_B", "thread_ts": "1.2"},
            "invalid_arguments",
        ),
        ({"files": json.dumps([{"id": file_id}]), "thread_ts": "1.2"}, "invalid_arguments"),
    ]
    for params, expected in cases:
        with pytest.raises(SlackApiError) as excinfo:
            client.api_call("files.completeUploadExternal", params=params)
        assert error_of(excinfo) == expected, params
    # None of those used the upload up: it can still be completed, shared to two channels.
    done = client.files_completeUploadExternal(files=[{"id": file_id}], channels=["C_A", "C_B"])
    assert done["files"][0]["channels"] == ["C_A", "C_B"]
    assert fake.validation_errors == []


def test_a_failed_upload_post_raises_from_files_upload_v2(
    fake: FakeSlack, client: WebClient
) -> None:
    """slack_sdk POSTs the bytes with urllib and does not catch HTTP errors there: a failed
    upload surfaces as urllib's HTTPError, not SlackApiError, and completion never happens."""
    fake.fail_next("file_upload", status=500)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        client.files_upload_v2(channel="C_SALES", file=tiny_png(), filename="a.png")
    assert excinfo.value.code == 500
    assert [c.method for c in fake.calls] == ["files.getUploadURLExternal", "file_upload"]
    assert client.files_upload_v2(channel="C_SALES", file=tiny_png(), filename="a.png")["ok"]
