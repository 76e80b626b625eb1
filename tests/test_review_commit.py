"""The commit step: exactly one change (a suggestion or the rep's own words), and a re-contact date ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from coach.review import rules
from tests import review_input as ri
from tests.conftest import RunningApp
from tests.test_review_flow import Rep, blocks_text, saved_reviews
from tests.test_review_validation import later, rep_at_step


def block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def selected_change(view: dict) -> str | None:
    return (block(view, "change_code")["element"].get("initial_option") or {}).get("value")


def back_and_forward(rep: Rep, typed: dict) -> None:
    """Back to the reasons step with the commit step as typed, then Next to the commit step again."""
    fake = rep.app.slack.fake
    before = len(fake.calls_to("views.update"))
    rep.click("review_back", values=typed)
    back = fake.wait_for("views.update", before + 1)[-1]
    assert back.response["ok"], back.response
    rep.view = {**back.params["view"], "id": rep.view["id"]}
    assert rep.submit(ri.reasons())["response_action"] == "update"


def test_a_rep_who_picked_a_suggestion_can_still_switch_to_their_own_words(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = rep_at_step(running_app, "U2", "commit")
    options = [o["value"] for o in block(rep.view, "change_code")["element"]["options"]]
    assert options[-1] == rules.OWN_WORDS
    assert "In my own words (below)" in blocks_text(rep.view["blocks"])

    # Picked a suggestion, then typed their own words too: Slack can't un-pick a radio button,
    # so the error says how to get out of it.
    own = "Ask who signs off in the first five minutes"
    typed = ri.commit(meeting=later(days=2), change_code="question_order", change_own=own)
    body = rep.submit(typed)
    assert body["response_action"] == "errors"
    assert "In my own words (below)" in body["errors"]["change_own"]
    assert "clear this text" in body["errors"]["change_own"]

    # The choice survives going back and forth, and own words are still one click away.
    back_and_forward(rep, typed)
    assert selected_change(rep.view) == "question_order"
    assert block(rep.view, "change_own")["element"]["initial_value"] == own

    assert rep.submit(ri.commit(meeting=later(days=2), change_code=rules.OWN_WORDS, change_own=own)) == {}
    dm = fake.wait_for("chat.postMessage", 2)[0]
    assert own in blocks_text(dm.params["blocks"])
    running_app.settle()
    [review] = saved_reviews(running_app)
    assert review.change_code is None and review.change_text == own


def test_own_words_chosen_but_not_written_asks_for_the_words(running_app: RunningApp):
    rep = rep_at_step(running_app, "U2", "commit")
    body = rep.submit(ri.commit(meeting=later(days=2), change_code=rules.OWN_WORDS, change_own="  "))
    assert body == {
        "response_action": "errors",
        "errors": {"change_own": "Write your one change here, or pick one of the suggestions above."},
    }


def test_a_suggestion_chosen_back_after_own_words_is_saved_once_the_text_is_cleared(running_app: RunningApp):
    rep = rep_at_step(running_app, "U2", "commit")
    typed = ri.commit(meeting=later(days=2), change_code=rules.OWN_WORDS, change_own="Smile more")
    back_and_forward(rep, typed)
    assert selected_change(rep.view) == rules.OWN_WORDS
    assert (
        rep.submit(ri.commit(meeting=later(days=2), change_code="confirm_decision_maker", change_own="Smile more"))[
            "response_action"
        ]
        == "errors"
    )
    assert rep.submit(ri.commit(meeting=later(days=2), change_code="confirm_decision_maker", change_own="")) == {}
    running_app.settle()
    [review] = saved_reviews(running_app)
    assert review.change_code == "confirm_decision_maker" and review.change_text == ""


def test_own_words_typed_without_picking_are_shown_picked_when_the_step_comes_back(running_app: RunningApp):
    rep = rep_at_step(running_app, "U2", "commit")
    back_and_forward(rep, ri.commit(meeting=later(days=2), change_code=None, change_own="Open with their KPI"))
    assert selected_change(rep.view) == rules.OWN_WORDS


@pytest.mark.parametrize(
    "own",
    [
        "1. Ask budget 2. Smile more",
        "Ask budget; confirm the decision maker",
        "・予算を聞く ・決裁者を確認する",
        "予算を聞く；決裁者を確認する",
    ],
)
def test_several_changes_on_one_line_get_the_inline_error(running_app: RunningApp, own: str):
    rep = rep_at_step(running_app, "U2", "commit")
    body = rep.submit(ri.commit(meeting=later(days=2), change_code=rules.OWN_WORDS, change_own=own))
    assert body["response_action"] == "errors"
    assert "Exactly one change" in body["errors"]["change_own"]


def test_one_change_in_one_sentence_is_accepted(running_app: RunningApp):
    rep = rep_at_step(running_app, "U2", "commit")
    assert (
        rep.submit(
            ri.commit(
                meeting=later(days=2),
                change_code=rules.OWN_WORDS,
                change_own="Cut the discount to 2.5% and hold it, even when pushed",
            )
        )
        == {}
    )


# 20:00 UTC on Monday 9 March 2026 is already Tuesday 10 March, 05:00, in Tokyo.
EVENING = datetime(2026, 3, 9, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "choice, lost_on, expected, shown",
    [
        # Six months after a loss last June was December: counted from today (the rep's today, in Tokyo).
        ("six_months", date(2025, 6, 1), date(2026, 9, 10), "2026年9月10日"),
        ("one_year", date(2024, 12, 1), date(2027, 3, 10), "2027年3月10日"),
        # A recent loss still counts from the date lost.
        ("six_months", date(2026, 3, 2), date(2026, 9, 2), "2026年9月2日"),
    ],
)
def test_an_old_loss_is_re_contacted_in_the_future(running_app: RunningApp, choice, lost_on, expected, shown):
    fake = running_app.slack.fake
    with time_machine.travel(EVENING, tick=True):
        rep = Rep(running_app, "U1")
        rep.lost()
        assert rep.submit(ri.facts(lost_on=lost_on))["response_action"] == "update"
        rep.submit(ri.lenses())
        rep.submit(ri.reasons())
        assert rep.submit(ri.commit(meeting=EVENING + timedelta(days=2), recontact=choice)) == {}
        dm = fake.wait_for("chat.postMessage", 2)[0]
        running_app.settle()
    [review] = saved_reviews(running_app)
    assert review.recontact_on == expected
    assert review.recontact_on > date(2026, 3, 10)
    assert shown in blocks_text(dm.params["blocks"])
