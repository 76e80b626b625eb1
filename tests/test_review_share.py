"""The managers' share is the review in full (報告を濁さない), and so is what the rep's summary shows.

Every answer at its longest, made of the characters Slack needs escaped (an "&" becomes five
characters), must reach the channel whole, in both languages, within Slack's limits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coach.review import rules
from coach.review.rules import Field
from tests import review_input as ri
from tests.blockkit import message_problems
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.test_review_flow import Rep, saved_reviews


@pytest.fixture(params=["en", "ja"])
def team_lang(request) -> str:
    return request.param


@pytest.fixture
def settings_env(settings_env, team_lang):
    # The managers' channel speaks the team's language (DEFAULT_LOCALE).
    return {**settings_env, "default_locale": team_lang}


def fill(tag: str, field: Field) -> str:
    """The field at its max_length: a tag naming it, then nothing but '&' and '<'."""
    n = rules.MAX_LENGTH[field]
    return (tag + "&<" * n)[:n]


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def shown_text(blocks: list[dict]) -> str:
    """What Slack shows, in order: every text of every block, joined as one string, unescaped.

    An answer split across sections reads as one piece here, so `answer in shown_text(...)` means
    every character of it arrived, in order.
    """
    texts = []
    for block in blocks:
        if block["type"] in ("section", "header") and "text" in block:
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"] if "text" in e]
    return unescape("".join(texts))


def longest_answers(lang: str) -> dict[Field, str]:
    tags = (
        {
            "deal": "D",
            "competitor": "C",
            "timeline": "T",
            "words": "W",
            "reaction": "R",
            "question": "Q",
            "problem": "P",
            "value": "V",
            "relationship": "L",
            "decision": "N",
            "maker": "M",
            "own": "O",
            "change": "X",
        }
        if lang == "en"
        else {
            "deal": "案件",
            "competitor": "競合",
            "timeline": "流れ",
            "words": "発言",
            "reaction": "反応",
            "question": "質問",
            "problem": "課題",
            "value": "価値",
            "relationship": "関係",
            "decision": "決裁",
            "maker": "判断",
            "own": "理由",
            "change": "変更",
        }
    )
    F = Field
    return {
        F.DEAL_NAME: fill(tags["deal"], F.DEAL_NAME),
        F.COMPETITOR: fill(tags["competitor"], F.COMPETITOR),
        F.TIMELINE: fill(tags["timeline"], F.TIMELINE),
        F.CUSTOMER_WORDS: fill(tags["words"], F.CUSTOMER_WORDS),
        F.REACTION_CHANGE: fill(tags["reaction"], F.REACTION_CHANGE),
        F.FAILED_QUESTION: fill(tags["question"], F.FAILED_QUESTION),
        F.PROBLEM_NOTE: fill(tags["problem"], F.PROBLEM_NOTE),
        F.VALUE_NOTE: fill(tags["value"], F.VALUE_NOTE),
        F.RELATIONSHIP_NOTE: fill(tags["relationship"], F.RELATIONSHIP_NOTE),
        F.DECISION_NOTE: fill(tags["decision"], F.DECISION_NOTE),
        F.DECISION_MAKER: fill(tags["maker"], F.DECISION_MAKER),
        F.UNDERLYING_OWN: fill(tags["own"], F.UNDERLYING_OWN),
        F.CHANGE_OWN: fill(tags["change"], F.CHANGE_OWN),
    }


def test_every_character_of_the_longest_review_reaches_the_managers_and_the_rep(
    running_app: RunningApp, team_lang: str
):
    fake = running_app.slack.fake
    user = "U2" if team_lang == "en" else "U1"
    a = longest_answers(team_lang)
    F = Field
    rep = Rep(running_app, user)
    rep.lost()
    assert (
        rep.submit(
            ri.facts(
                lost_on=ri.today() - timedelta(days=1),
                deal=a[F.DEAL_NAME],
                surface="competitor",
                competitor=a[F.COMPETITOR],
                timeline=a[F.TIMELINE],
                words=a[F.CUSTOMER_WORDS],
                reaction=a[F.REACTION_CHANGE],
                question=a[F.FAILED_QUESTION],
            )
        )["response_action"]
        == "update"
    )
    assert (
        rep.submit(
            ri.lenses(
                maker=a[F.DECISION_MAKER],
                notes={
                    "problem": a[F.PROBLEM_NOTE],
                    "value": a[F.VALUE_NOTE],
                    "relationship": a[F.RELATIONSHIP_NOTE],
                    "decision": a[F.DECISION_NOTE],
                },
            )
        )["response_action"]
        == "update"
    )
    assert rep.submit(ri.reasons(own=a[F.UNDERLYING_OWN]))["response_action"] == "update"
    assert (
        rep.submit(
            ri.commit(
                meeting=datetime.now(UTC) + timedelta(days=1), change_code=rules.OWN_WORDS, change_own=a[F.CHANGE_OWN]
            )
        )
        == {}
    )

    dm, share = fake.wait_for("chat.postMessage", 2)
    assert dm.params["channel"] == user and share.params["channel"] == MANAGER_CHANNEL
    for call in (dm, share):
        assert call.response["ok"], call.response
        assert message_problems(call.params["blocks"], call.params["text"]) == []
        assert len(call.params["blocks"]) <= 50

    shared = shown_text(share.params["blocks"])
    missing = [str(f) for f, answer in a.items() if answer not in shared]
    assert missing == [], f"cut from the managers' share: {missing}"
    assert ("The four lenses" if team_lang == "en" else "4つの観点") in shared
    assert f"<@{user}>" in shared  # the rep's mention is never cut either

    summary = shown_text(dm.params["blocks"])
    for field in (F.DEAL_NAME, F.COMPETITOR, F.UNDERLYING_OWN, F.CHANGE_OWN):
        assert a[field] in summary, f"{field} cut from the rep's summary"
    assert (
        "Three questions for your follow-up call" if team_lang == "en" else "今回見送った最大の理由はどこでしたか"
    ) in summary

    running_app.settle()
    [review] = saved_reviews(running_app)
    assert review.change_code is None and review.change_text == a[F.CHANGE_OWN]
    assert review.shared_ts == share.response["ts"]
