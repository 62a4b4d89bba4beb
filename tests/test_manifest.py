"""manifest.yml is valid for Slack, and asks for exactly the scopes the code uses."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"

# Every Web API method the bot calls, and the bot scope Slack requires for it.
METHOD_SCOPES = {
    "auth_test": None,
    "views_open": None,
    "views_update": None,
    "views_publish": None,
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "users_info": "users:read",
    "conversations_open": "im:write",
    "files_upload_v2": "files:write",
    "users_lookupByEmail": "users:read.email",
}
CLIENT_CALL = re.compile(r"client\.([a-z]+_[A-Za-z0-9_]+)\(")


def load_manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text("utf-8"))
    return manifest


def test_manifest_validates_against_slacks_schema() -> None:
    if not SCHEMA.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Slack's manifest schema is missing at {SCHEMA}")
        pytest.skip(f"Slack's manifest schema not found at {SCHEMA} (../shared/slack/)")
    schema = json.loads(SCHEMA.read_text("utf-8"))
    jsonschema.validate(load_manifest(), schema)


def called_methods() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(CLIENT_CALL.findall(path.read_text("utf-8")))
    return found


def test_every_called_method_has_a_known_scope() -> None:
    unknown = called_methods() - set(METHOD_SCOPES)
    assert not unknown, f"add these Web API methods to METHOD_SCOPES: {sorted(unknown)}"


def test_manifest_asks_for_exactly_the_scopes_the_code_uses() -> None:
    needed = {METHOD_SCOPES[m] for m in called_methods()} - {None}
    manifest = load_manifest()
    if manifest["features"].get("slash_commands"):
        needed.add("commands")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_manifest_declares_the_followup_command_and_interactivity() -> None:
    manifest = load_manifest()
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == ["/followup"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
