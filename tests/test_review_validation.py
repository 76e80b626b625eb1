"""Each invalid answer gets its inline error on the right block, in the rep's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests import review_input as ri
from tests.conftest import RunningApp
from tests.test_review_flow import Rep


def rep_at_step(app: RunningApp, user_id: str, step: str) -> Rep:
    rep = Rep(app, user_id)
    rep.lost()
    order = ["facts", "lenses", "reasons", "commit"]
    answers = [ri.facts(lost_on=ri.today() - timedelta(days=1)), ri.lenses(), ri.reasons()]
    for values in answers[: order.index(step)]:
        assert rep.submit(values)["response_action"] == "update"
    return rep


def later(**kw) -> datetime:
    return datetime.now(UTC) + timedelta(**kw)


CASES = [
    # (step, answers, block with the error, English words, Japanese words)
    ("facts", ri.facts(lost_on=ri.today(), deal=""), "deal_name", "fill this in", "入力"),
    ("facts", ri.facts(lost_on=ri.today(), timeline=None), "timeline", "fill this in", "入力"),
    ("facts", ri.facts(lost_on=ri.today(), deal="x" * 151), "deal_name", "150 characters", "150"),
    ("facts", ri.facts(lost_on=ri.today(), words="w" * 3001), "customer_words", "3000 characters", "3000"),
    ("facts", ri.facts(lost_on=ri.today() + timedelta(days=3)), "lost_on", "future", "未来"),
    (
        "facts",
        ri.facts(lost_on=ri.today(), surface="competitor", competitor=None),
        "competitor",
        "competitor",
        "競合",
    ),
    ("facts", ri.facts(lost_on=ri.today(), size="-5"), "deal_size", "negative", "マイナス"),
    ("lenses", ri.lenses(value=None), "value_verdict", "fill this in", "入力"),
    ("reasons", ri.reasons(codes=("low_priority",), own="Only one of my own"), "underlying_codes", "at least 3", "3"),
    ("reasons", ri.reasons(codes=("low_priority", "low_priority"), own=""), "underlying_codes", "at least 3", "3"),
    (
        "commit",
        ri.commit(meeting=later(days=1), change_code="question_order", change_own="Also smile more"),
        "change_own",
        "In my own words",
        "自分の言葉",
    ),
    (
        "commit",
        ri.commit(meeting=later(days=1), change_code=None, change_own="1. Ask budget\n2. Smile"),
        "change_own",
        "Exactly one change",
        "1つ",
    ),
    ("commit", ri.commit(meeting=later(days=1), change_code=None, change_own=None), "change_code", "one thing", "1つ"),
    ("commit", ri.commit(meeting=later(hours=-2)), "next_meeting_at", "future", "未来"),
    (
        "commit",
        ri.commit(meeting=later(days=1), recontact="date", recontact_on=ri.today()),
        "recontact_on",
        "future",
        "未来",
    ),
    (
        "commit",
        ri.commit(meeting=later(days=1), recontact="date", recontact_on=None),
        "recontact_on",
        "re-contact date",
        "再",
    ),
]


@pytest.mark.parametrize(
    "step, values, block, english, _", CASES, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_invalid_answer_gets_inline_error_in_english(running_app: RunningApp, step, values, block, english, _):
    rep = rep_at_step(running_app, "U2", step)
    body = rep.submit(values)
    assert body["response_action"] == "errors"
    assert block in body["errors"], body
    assert english.lower() in body["errors"][block].lower()
    # Every error names a block that exists as an input in the view, or Slack would reject it.
    inputs = {b["block_id"] for b in rep.view["blocks"] if b["type"] == "input"}
    assert set(body["errors"]) <= inputs


@pytest.mark.parametrize("step, values, block, _, japanese", CASES[::3], ids=[f"{c[0]}-{c[2]}" for c in CASES[::3]])
def test_invalid_answer_gets_inline_error_in_japanese(running_app: RunningApp, step, values, block, _, japanese):
    rep = rep_at_step(running_app, "U1", step)
    body = rep.submit(values)
    assert body["response_action"] == "errors"
    assert japanese in body["errors"][block]


def test_refused_answers_are_still_kept_in_the_draft(running_app: RunningApp):
    rep = rep_at_step(running_app, "U2", "reasons")
    rep.submit(ri.reasons(codes=("low_priority",), own="Procurement surprised us"))
    with running_app.coach.db.session() as s:
        from sqlalchemy import select

        from coach.models import ReviewDraft

        draft = s.scalar(select(ReviewDraft))
    assert draft.step == "reasons"
    assert draft.answers["underlying_own"] == "Procurement surprised us"


def test_no_error_once_the_answers_are_fixed(running_app: RunningApp):
    rep = rep_at_step(running_app, "U2", "commit")
    assert rep.submit(ri.commit(meeting=later(hours=-1)))["response_action"] == "errors"
    assert rep.submit(ri.commit(meeting=later(days=2))) == {}
    running_app.slack.fake.wait_for("chat.postMessage", 2)
