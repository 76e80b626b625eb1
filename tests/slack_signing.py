"""Build and sign requests exactly as Slack sends them to the app.

Everything here is pure data: no network, no reading of fixture files. The
payload shapes are copied from real Slack payloads (slash command form bodies,
``view_submission``, ``block_actions``, ``view_closed`` and Events API
envelopes as captured in the official SDKs' test suites).

Typical use with a Bolt app::

    body = slash_command_body(text="acme", trigger_id=fake.issue_trigger_id())
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SECRET)}
    app.dispatch(BoltRequest(body=body, headers=headers))
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

# Identifiers of the fake workspace, shared with fakeslack.FakeSlack so that
# payloads and API answers agree with each other.
TEAM_ID = "T1"
TEAM_DOMAIN = "lostdeal-test"
APP_ID = "A1"
BOT_ID = "B1"
BOT_USER_ID = "UBOT"
VERIFICATION_TOKEN = "verification-token"  # legacy token Slack still puts in payloads

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "block_actions_payload",
    "event_body",
    "interactive_body",
    "new_trigger_id",
    "sign",
    "slack_view_object",
    "slash_command_body",
    "ssl_check_body",
    "url_verification_body",
    "view_closed_payload",
    "view_submission_payload",
]


# --------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------


def copy_json(value: Any) -> Any:
    """A deep copy of JSON data (what Slack's calls and payloads carry) through the C JSON codec, faster than
    ``copy.deepcopy``, whose recursion in Python was a sixth of the fake Slack's time per call in a profile.
    What is not JSON (an upload's bytes) is deep-copied the slow way."""
    try:
        return json.loads(json.dumps(value))
    except TypeError:
        return copy.deepcopy(value)


def sign(body: bytes | str, secret: str, timestamp: int | str | None = None) -> dict[str, str]:
    """Return the two headers Slack adds to every request it sends to the app.

    ``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``
    keyed with the signing secret. The body must be signed byte-for-byte as it
    will be sent, so pass exactly the string/bytes you put on the wire. A str
    ``timestamp`` is sent (and signed) as given, number or not.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    base = b"v0:" + ts.encode("utf-8") + b":" + raw
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


# --------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------


def new_trigger_id() -> str:
    """A trigger id in Slack's format (``<digits>.<digits>.<32 hex>``).

    Note: a FakeSlack server only accepts trigger ids it issued itself
    (``FakeSlack.issue_trigger_id()``); ids from here are "unknown" to it.
    """
    return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _new_view_id() -> str:
    return "V" + secrets.token_hex(5).upper()


def _new_hash() -> str:
    # Slack view hashes look like "1569562184.10297bc3".
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def _random_block_id() -> str:
    # Slack fills in short random ids (e.g. "hspI", "O/wND") for blocks without one.
    return secrets.token_urlsafe(3)


def _user(user_id: str, team_id: str) -> dict[str, Any]:
    name = f"user-{user_id.lower()}"
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


# --------------------------------------------------------------------------
# Bodies as they arrive over HTTP
# --------------------------------------------------------------------------


def slash_command_body(
    command: str = "/lost",
    text: str = "",
    user_id: str = "U1",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    response_url: str | None = None,
    **extra: str,
) -> str:
    """``application/x-www-form-urlencoded`` body of a slash command.

    Field order and encoding match Slack's real payload (``/`` is sent as
    ``%2F``, spaces as ``+``). ``text`` is sent as given: Slack escapes ``&``,
    ``<`` and ``>`` in it (``AT&amp;T``), so pass the escaped form to test
    what Slack really sends. ``response_url`` defaults to a dead loopback
    one; pass ``FakeSlack.issue_response_url()`` to receive what the app posts
    there. ``extra`` overrides or adds fields, e.g. ``channel_id="D1"`` or
    ``enterprise_id="E1"``.
    """
    fields: dict[str, str] = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": "C1",
        "channel_name": "general",
        "user_id": user_id,
        "user_name": f"user-{user_id.lower()}",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        # Slack's own would be https://hooks.slack.com/commands/...: never let a test post to Slack.
        "response_url": response_url or f"http://127.0.0.1:9/commands/{team_id}/1234567890/{secrets.token_hex(12)}",
        "trigger_id": trigger_id or new_trigger_id(),
    }
    fields.update({k: str(v) for k, v in extra.items()})
    return urlencode(fields)


def interactive_body(payload: dict[str, Any]) -> str:
    """Form body of an interaction request: ``payload=<url-encoded JSON>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def event_body(event: dict[str, Any], team_id: str = TEAM_ID) -> str:
    """JSON body of an Events API ``event_callback`` envelope."""
    now = int(time.time())
    inner = dict(event)
    inner.setdefault("event_ts", f"{now}.{secrets.randbelow(10**6):06d}")
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": inner,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": now,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }
    return json.dumps(envelope)


def url_verification_body(challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> str:
    """JSON body Slack sends when the Events request URL is configured."""
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})


def ssl_check_body() -> str:
    """Form body of Slack's SSL check POST to a slash-command URL."""
    return urlencode({"token": VERIFICATION_TOKEN, "ssl_check": "1"})


# --------------------------------------------------------------------------
# Payload dicts (what ends up inside ``payload=`` for interactions)
# --------------------------------------------------------------------------


def slack_view_object(
    view: dict[str, Any],
    *,
    state_values: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
    view_id: str | None = None,
    view_hash: str | None = None,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
) -> dict[str, Any]:
    """The view as Slack echoes it back in API answers and payloads.

    Keys already present in ``view`` (``id``, ``hash``...) are kept, so a view
    returned by ``views.open`` can be passed straight back in. Blocks without
    a ``block_id`` get a random one, as Slack does.
    """
    src = copy_json(view)
    vid = view_id or src.get("id") or _new_view_id()
    blocks = src.get("blocks") or []
    for block in blocks:
        if isinstance(block, dict) and not block.get("block_id"):
            block["block_id"] = _random_block_id()
    is_modal = src.get("type", "modal") == "modal"
    out: dict[str, Any] = {
        "id": vid,
        "team_id": team_id,
        "type": src.get("type", "modal"),
        "blocks": blocks,
        "private_metadata": src.get("private_metadata", ""),
        "callback_id": src.get("callback_id", ""),
        "state": {"values": {}},
        "hash": view_hash or src.get("hash") or _new_hash(),
        "title": src.get("title"),
        "clear_on_close": src.get("clear_on_close", False),
        "notify_on_close": src.get("notify_on_close", False),
        "close": src.get("close") if is_modal else None,
        "submit": src.get("submit") if is_modal else None,
        "previous_view_id": previous_view_id if previous_view_id is not None else src.get("previous_view_id"),
        "root_view_id": root_view_id or src.get("root_view_id") or vid,
        "app_id": APP_ID,
        "external_id": src.get("external_id", ""),
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    if state_values is not None:
        out["state"] = {"values": copy_json(state_values)}
    elif isinstance(src.get("state"), dict):
        out["state"] = copy_json(src["state"])
    return out


def view_submission_payload(
    view: dict[str, Any],
    values: dict[str, Any],
    user_id: str = "U1",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``view_submission`` payload; ``values`` is ``view.state.values``.

    ``values`` is keyed ``{block_id: {action_id: {"type": ..., <value key>: ...}}}``
    exactly like Slack, e.g. ``{"type": "plain_text_input", "value": "x"}``,
    ``{"type": "static_select", "selected_option": {...}}``,
    ``{"type": "datepicker", "selected_date": "2024-01-31"}``,
    ``{"type": "number_input", "value": "12"}`` (numbers arrive as strings).
    """
    return {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": slack_view_object(view, state_values=values, team_id=team_id),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed_payload(
    view: dict[str, Any],
    values: dict[str, Any],
    user_id: str = "U1",
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A ``view_closed`` payload (sent only for views with ``notify_on_close``)."""
    return {
        "type": "view_closed",
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": slack_view_object(view, state_values=values, team_id=team_id),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_actions_payload(
    action: dict[str, Any],
    *,
    view: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    user_id: str = "U1",
    container: dict[str, Any] | None = None,
    channel_id: str | None = None,
    message: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A ``block_actions`` payload for one action.

    ``action`` is e.g. ``{"type": "button", "action_id": "a", "block_id": "b",
    "value": "v"}``; ``action_ts`` is added. Pass ``view`` for an action in a
    modal or the Home tab (``values`` becomes ``view.state.values``), or
    ``channel_id``/``message`` for an action in a message (``values`` becomes
    the top-level ``state.values``).
    """
    act = dict(action)
    act.setdefault("action_ts", f"{int(time.time())}.{secrets.randbelow(10**6):06d}")
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [act],
    }
    if view is not None:
        full = slack_view_object(view, state_values=values or {}, team_id=team_id)
        payload["container"] = container or {"type": "view", "view_id": full["id"]}
        payload["view"] = full
    else:
        channel = channel_id or "C1"
        msg = message or {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": "",
            "ts": f"{int(time.time())}.000100",
            "team": team_id,
            "blocks": [],
        }
        payload["container"] = container or {
            "type": "message",
            "message_ts": msg.get("ts"),
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {
            "id": channel,
            "name": "directmessage" if channel.startswith("D") else "general",
        }
        payload["message"] = msg
        payload["state"] = {"values": copy_json(values or {})}
        payload["response_url"] = f"https://hooks.slack.com/actions/{team_id}/1234567890/{secrets.token_hex(12)}"
    return payload
