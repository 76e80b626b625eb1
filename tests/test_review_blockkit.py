"""Clipping and splitting mrkdwn never breaks what Slack shows: no "&am", no half a mention, no cut answer."""

from __future__ import annotations

import random
import re

import pytest

from coach.blockkit import (
    ELLIPSIS,
    SECTION_TEXT_MAX,
    clip,
    clip_escaped,
    context,
    escape,
    long_sections,
    long_text_sections,
    section,
    split_mrkdwn,
)
from tests.blockkit import message_problems

ENTITY_OR_AMP = re.compile(r"&(?:amp|lt|gt);|&")
MENTION = re.compile(r"<@U[A-Z0-9]+>")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def broken_entities(text: str) -> list[str]:
    """Every '&' in escaped text must start a whole entity: Slack shows a cut one as garbage."""
    return [m.group() for m in ENTITY_OR_AMP.finditer(text) if m.group() == "&"]


def random_user_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("&<>&<a 予\n") for _ in range(n))


@pytest.mark.parametrize("seed", range(40))
def test_a_clipped_escaped_text_never_exceeds_the_limit_nor_cuts_an_entity(seed):
    rng = random.Random(seed)
    raw = random_user_text(rng, rng.randrange(600, 4000))
    limit = rng.choice([75, 150, 2000, 3000])
    clipped = clip_escaped(raw, limit)
    assert len(clipped) <= limit
    assert broken_entities(clipped) == []
    if len(escape(raw)) > limit:
        assert clipped.endswith(ELLIPSIS)
        assert unescape(escape(raw)).startswith(unescape(clipped[:-1]))


@pytest.mark.parametrize("offset", range(0, 6))
def test_clip_backs_off_to_before_an_entity_at_the_limit(offset):
    text = "x" * (2995 + offset) + escape("&&&&&&&&")
    clipped = clip(text, SECTION_TEXT_MAX)
    assert len(clipped) <= SECTION_TEXT_MAX and broken_entities(clipped) == []
    assert clipped.endswith(ELLIPSIS)


@pytest.mark.parametrize("offset", range(0, 12))
def test_clip_never_cuts_a_mention(offset):
    text = "y" * (2990 + offset) + "<@U0123ABCD> said so"
    clipped = clip(text, SECTION_TEXT_MAX)
    assert len(clipped) <= SECTION_TEXT_MAX
    body = clipped[: -len(ELLIPSIS)]
    assert "<" not in body or MENTION.search(body), body[-20:]


@pytest.mark.parametrize("seed", range(40))
def test_long_text_is_split_into_sections_that_give_back_every_character(seed):
    rng = random.Random(seed)
    raw = random_user_text(rng, rng.randrange(1, 15000))
    blocks = long_text_sections("*Timeline*", raw)
    texts = [b["text"]["text"] for b in blocks]
    assert all(len(t) <= SECTION_TEXT_MAX for t in texts)
    assert all(broken_entities(t) == [] for t in texts)
    joined = "".join(texts)
    assert joined.startswith("*Timeline*\n")
    # Nothing is lost (a piece of only spaces or line breaks shows nothing and is left out).
    assert re.sub(r"\s", "", unescape(joined[len("*Timeline*\n") :])) == re.sub(r"\s", "", raw)
    assert message_problems(blocks) == []


def test_split_prefers_line_breaks_and_keeps_mentions_whole():
    body = ("<@U0123ABCD> asked for the price. " * 200).strip()
    pieces = split_mrkdwn(body, 2000)
    assert "".join(pieces) == body
    for piece in pieces:
        assert piece.count("<") == piece.count(">") == len(MENTION.findall(piece))
    lines = "\n".join(["line " + "z" * 50] * 120)
    pieces = split_mrkdwn(lines, 3000)
    assert "".join(pieces) == lines
    assert all(p.endswith("\n") for p in pieces[:-1])


def test_an_answer_full_of_ampersands_fits_in_sections_uncut():
    raw = "&" * 3000  # escapes to 15,000 characters
    blocks = long_text_sections("*The customer's words*", raw)
    assert len(blocks) == 6
    assert unescape("".join(b["text"]["text"] for b in blocks)).endswith(raw)
    assert message_problems(blocks) == []


def test_long_sections_of_nothing_is_the_label_alone():
    assert long_sections("*Label*", "") == [section("*Label*")]


def test_section_and_context_clip_entity_safely():
    text = "a" * 2997 + "&amp;"  # 3002 characters: the cut falls inside the entity
    assert section(text)["text"]["text"] == "a" * 2997 + ELLIPSIS
    assert context(text)["elements"][0]["text"] == "a" * 2997 + ELLIPSIS
