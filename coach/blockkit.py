"""Small helpers for building Block Kit JSON. Pure functions, no Slack calls."""

from __future__ import annotations

from typing import Any

SECTION_TEXT_MAX = 3000
ELLIPSIS = "…"


def escape(text: str) -> str:
    """User text in mrkdwn: Slack needs &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) if limit else text, "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, 150)}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(clip(text, SECTION_TEXT_MAX))}


def titled(title: str, body: str) -> dict[str, Any]:
    """A section with a bold title line over its body."""
    return section(f"*{title}*\n{body}")


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(clip(t, SECTION_TEXT_MAX)) for t in texts[:10]]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def long_text_sections(label: str, body: str) -> list[dict[str, Any]]:
    """A labelled free text in as many sections as it needs: nothing is cut."""
    body = escape(body)
    first_room = SECTION_TEXT_MAX - len(label) - 1
    chunks = [body[:first_room]]
    rest = body[first_room:]
    while rest:
        chunks.append(rest[:SECTION_TEXT_MAX])
        rest = rest[SECTION_TEXT_MAX:]
    return [section(f"{label}\n{chunks[0]}")] + [section(c) for c in chunks[1:]]


def option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    opt: dict[str, Any] = {"text": plain(text, 75), "value": value}
    if description:
        opt["description"] = plain(description, 75)
    return opt


def button(text: str, action_id: str, value: str | None = None, style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id}
    if value is not None:
        b["value"] = value
    if style:
        b["style"] = style
    return b


def input_block(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
                hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element, "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def text_input(action_id: str, max_length: int, *, initial: str | None = None, multiline: bool = False,
               placeholder: str | None = None) -> dict[str, Any]:
    el: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "max_length": max_length,
                          "multiline": multiline}
    if initial:
        el["initial_value"] = initial[:max_length]
    if placeholder:
        el["placeholder"] = plain(placeholder, 150)
    return el
