"""Small helpers for building Block Kit JSON. Pure functions, no Slack calls."""

from __future__ import annotations

import re
from typing import Any

SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
ELLIPSIS = "…"

# What `escape` produces, and Slack's own control sequences (<@U…>, <#C…|name>, <!here>, <https://…|label>):
# a cut inside either would show the rep a broken "&am" or a raw "<@U12".
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_CONTROL = re.compile(r"<(?:[@#!]|https?://|mailto:)[^<>\n]*>")
_LONGEST_ENTITY = 5  # "&amp;"


def escape(text: str) -> str:
    """User text in mrkdwn: Slack needs &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_cut(text: str, limit: int) -> int:
    """The largest index <= `limit` where `text` (mrkdwn) may be cut: never inside an entity or a mention.

    Falls back to `limit` itself only when a single mention is longer than `limit` (nothing else fits).
    """
    cut = max(0, min(limit, len(text)))
    if cut == len(text):
        return cut
    amp = text.rfind("&", max(0, cut - _LONGEST_ENTITY + 1), cut)
    if amp != -1:
        m = _ENTITY.match(text, amp)
        if m and m.end() > cut:
            cut = amp
    lt = text.rfind("<", 0, cut)
    if lt != -1 and text.find(">", lt, cut) == -1:
        m = _CONTROL.match(text, lt)
        if m and m.end() > cut:
            cut = lt
    return cut if cut > 0 else max(0, min(limit, len(text)))


def clip(text: str, limit: int) -> str:
    """`text` (mrkdwn) in at most `limit` characters; a cut one ends in "…", never inside an entity or mention."""
    if len(text) <= limit:
        return text
    return text[: safe_cut(text, limit - len(ELLIPSIS))] + ELLIPSIS


def clip_plain(text: str, limit: int) -> str:
    """plain_text in at most `limit` characters (Slack shows it as is: no entities to protect)."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def clip_escaped(text: str, limit: int) -> str:
    """User text escaped for mrkdwn, then clipped: the result, entities included, fits in `limit`."""
    return clip(escape(text), limit)


def split_mrkdwn(text: str, first: int, size: int = SECTION_TEXT_MAX) -> list[str]:
    """`text` (mrkdwn, already escaped) in pieces that join back to exactly `text`.

    The first piece holds at most `first` characters, the others at most `size`. Pieces end at a line
    break, else at a space, when one is near the end; never inside an entity or a mention.
    """
    pieces: list[str] = []
    rest, room = text, first
    while len(rest) > room:
        cut = safe_cut(rest, room)
        window = rest[max(0, cut - max(room // 5, 1)) : cut]
        for sep in ("\n", " ", "\u3000", "。", "、"):
            at = window.rfind(sep)
            if at != -1:
                cut = safe_cut(rest, cut - len(window) + at + 1)
                break
        if cut <= 0:  # nothing fits in the first piece (a long label): start the text in the next one
            pieces.append("")
        else:
            pieces.append(rest[:cut])
            rest = rest[cut:]
        room = size
    pieces.append(rest)
    return pieces


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip_plain(text, limit) if limit else text, "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, HEADER_TEXT_MAX)}


def fits_header(text: str) -> bool:
    return len(text) <= HEADER_TEXT_MAX


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(clip(text, SECTION_TEXT_MAX))}


def titled(title: str, body: str) -> dict[str, Any]:
    """A section with a bold title line over its body (clipped if too long: see `long_sections`)."""
    return section(f"*{title}*\n{body}")


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(clip(t, SECTION_TEXT_MAX)) for t in texts[:10]]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def long_sections(label: str, body: str) -> list[dict[str, Any]]:
    """`label` over `body` (both mrkdwn, already escaped) in as many sections as it takes: nothing is cut."""
    if not body:
        return [section(label)]
    if len(label) > SECTION_TEXT_MAX // 2:  # a label that long gets a section of its own
        return [section(label)] + long_sections("", body)
    head = f"{label}\n" if label else ""
    pieces = split_mrkdwn(body, SECTION_TEXT_MAX - len(head))
    blocks = []
    for i, piece in enumerate(pieces):
        text = head + piece if i == 0 else piece
        if text.strip():  # a piece of nothing but spaces shows nothing (and Slack refuses an empty text)
            blocks.append({"type": "section", "text": mrkdwn(text)})
    return blocks or [section(label or ELLIPSIS)]


def long_text_sections(label: str, body: str) -> list[dict[str, Any]]:
    """A labelled free text (the rep's words, unescaped) in as many sections as it needs: nothing is cut."""
    return long_sections(label, escape(body))


def option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    opt: dict[str, Any] = {"text": plain(text, 75), "value": value}
    if description:
        opt["description"] = plain(description, 75)
    return opt


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id}
    if value is not None:
        b["value"] = value
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def confirm_dialog(title: str, text: str, confirm: str, deny: str) -> dict[str, Any]:
    """Slack asks the rep before the button acts (Block Kit's confirmation dialog object)."""
    return {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(confirm, 30),
        "deny": plain(deny, 30),
    }


def input_block(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def text_input(
    action_id: str,
    max_length: int,
    *,
    initial: str | None = None,
    multiline: bool = False,
    placeholder: str | None = None,
) -> dict[str, Any]:
    el: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        el["initial_value"] = initial[:max_length]
    if placeholder:
        el["placeholder"] = plain(placeholder, 150)
    return el
