"""The Slack app manifest declares what the code handles, and exactly the scopes it uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from slack_sdk import WebClient

from coach.slack.call_process import OFFLOADED_METHODS, OffloadingWebClient
from coach.slack.ids import COMMAND, ShortcutId

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "slack-manifest.json").read_text())

# The bot scopes each Web API method the app calls needs (Slack's method docs). A method
# used on several kinds of conversation needs the scope of each kind.
SCOPE_OF_METHOD = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "conversations_open": "im:write",  # the rep's DM: nudge check, export delivery
    # By metadata, after a crash mid-send: a nudge in the rep's DM, the digest in the
    # managers' channel (public or private).
    "conversations_history": ("im:history", "channels:history", "groups:history"),
    "conversations_members": ("channels:read", "groups:read"),  # managers = the channel's members
    "conversations_info": ("channels:read", "groups:read"),  # is the managers' channel private?
    "files_upload_v2": "files:write",  # the digest chart, the CSV export
    "users_info": "users:read",
    "users_lookupByEmail": "users:read.email",  # a CRM loss's owner, found in Slack by email
    "views_open": None,
    "views_update": None,
    "views_push": None,
    "views_publish": None,
}


def _called_methods() -> set[str]:
    # The call process's `client.api_call(method, ...)` makes only OFFLOADED_METHODS, called by name
    # elsewhere (and checked below); so does the app's client's own `call_soon(method, ...)`.
    child = ROOT / "coach" / "slack" / "call_child.py"
    source = "\n".join(p.read_text() for p in (ROOT / "coach").rglob("*.py") if p != child)
    own = set(vars(OffloadingWebClient)) - set(dir(WebClient))
    return set(re.findall(r"client\.([a-z]+_[A-Za-z0-9_]+)\(", source)) - own


def _scopes(method: str) -> set[str]:
    scope = SCOPE_OF_METHOD[method]
    return set() if scope is None else {scope} if isinstance(scope, str) else set(scope)


def test_manifest_declares_the_command_shortcut_and_home_event():
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == [COMMAND]
    assert {s["callback_id"] for s in MANIFEST["features"]["shortcuts"]} == {s.value for s in ShortcutId}
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    for url in (
        MANIFEST["settings"]["interactivity"]["request_url"],
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
        MANIFEST["features"]["slash_commands"][0]["url"],
    ):
        assert url.endswith("/slack/events")


def test_the_call_process_makes_only_methods_that_need_no_scope():
    assert OFFLOADED_METHODS and all(SCOPE_OF_METHOD[m.replace(".", "_")] is None for m in OFFLOADED_METHODS)


def test_manifest_asks_for_exactly_the_scopes_the_code_uses():
    called = _called_methods()
    unknown = called - SCOPE_OF_METHOD.keys()
    assert not unknown, f"add the scope of {unknown} to SCOPE_OF_METHOD and the manifest"
    needed = set().union(*(_scopes(m) for m in called)) | {"commands"}
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed
