"""What arrives from Slack, made safe to keep: no NUL bytes, no lone surrogates, sizes that can be shown.

A signed payload can still carry text no database takes: PostgreSQL refuses NUL in text, and a lone
surrogate (`\\ud800`, legal in JSON) cannot be encoded as UTF-8 at all, so a draft holding one could
never be saved. Both are removed from every string of the request before any listener sees it (text
inputs, command text, button values, metadata); everything else is kept as typed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

# NUL, and UTF-16 surrogates: in a Python string decoded from JSON a surrogate is always a lone one
# (a valid pair arrives as the one character it encodes).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# What is echoed back or written to a log from a value the sender chose is cut to this.
ECHO_MAX_CHARS = 80


def clean_text(text: str) -> str:
    """`text` without NUL bytes and lone surrogates."""
    return _UNSTORABLE.sub("", text) if _UNSTORABLE.search(text) else text


def shorten(text: str, limit: int = ECHO_MAX_CHARS) -> str:
    """`text` cut to `limit` characters (with an ellipsis), for echoing a value someone else chose."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scrub(payload: Any) -> Any:
    """Clean every string in a parsed payload, in place (dicts and lists) and without recursion."""
    if isinstance(payload, str):
        return clean_text(payload)
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if isinstance(value, str):
                    value = clean_text(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    del node[key]
                    key = clean_text(key)
                node[key] = value
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = clean_text(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
    return payload


def clean_request(body: dict, context: dict, next: Callable[[], Any]) -> None:  # noqa: A002 (Bolt's name)
    """Bolt middleware: the request's payload and context cleaned before any listener reads them; the
    moment it arrived noted (`received_at`, time.monotonic()) for the trigger_id's 3 seconds."""
    context.setdefault("received_at", time.monotonic())
    scrub(body)
    for key, value in list(context.items()):
        if isinstance(value, str) and _UNSTORABLE.search(value):
            context[key] = clean_text(value)
    next()
