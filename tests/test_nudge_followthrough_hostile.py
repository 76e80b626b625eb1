"""Hostile and careless input to the follow-through's modals and buttons: another rep's review id, NUL bytes and
lone surrogates, answers too long, absurd counts. Each gets a clear answer (an inline error, or nothing done),
never a 500, and nothing another rep owns changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from coach.i18n import Translator
from coach.models import CustomerFollowUp, NormalWeek, Review
from coach.nudges import messages
from tests import review_input as ri
from tests.conftest import RunningApp
from tests.slack_signing import block_actions_payload, view_submission_payload
from tests.test_nudge_followthrough import followup_values, normal_week_values
from tests.test_nudges import review_saved

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # Tue 10:00 Tokyo


def submit(app: RunningApp, view: dict, values: dict, user_id: str) -> dict:
    resp = app.slack.interact(view_submission_payload(view, values, user_id=user_id))
    return app.slack.json(resp)


def saved_review(app: RunningApp, user_id: str) -> Review:
    with time_machine.travel(START, tick=False):
        return review_saved(app, user_id, lost_on=date(2026, 3, 9), meeting=START + timedelta(days=3))


def test_another_reps_review_id_in_a_forged_follow_up_modal_records_nothing(running_app: RunningApp):
    theirs = saved_review(running_app, "U1")
    forged = messages.followup_modal(Translator("en"), theirs, None, message=None)
    assert submit(running_app, forged, followup_values("I made this up"), "U2") == {}
    running_app.settle()
    payload = block_actions_payload(
        {"type": "button", "action_id": "followup_unreachable", "block_id": "nudge_actions", "value": str(theirs.id)},
        user_id="U2",
    )
    assert running_app.slack.interact(payload).status_code == 200
    running_app.settle()
    with running_app.coach.db.session() as s:
        assert s.scalar(select(func.count()).select_from(CustomerFollowUp)) == 0
        assert s.get(Review, theirs.id).customer_stated_reason is None


def test_nul_bytes_and_lone_surrogates_are_stored_clean_and_too_long_an_answer_is_refused_inline(
    running_app: RunningApp,
):
    mine = saved_review(running_app, "U2")
    view = messages.followup_modal(Translator("en"), mine, None, message=None)
    too_long = "x" * (messages.FOLLOWUP_MAX + 1)
    body = submit(running_app, view, followup_values("Budget", words=too_long), "U2")
    assert body["response_action"] == "errors" and "under 1500 characters" in body["errors"]["their_words"]
    body = submit(running_app, view, followup_values("Bud\x00get\ud800", words="\x00"), "U2")
    assert body == {}
    running_app.settle()
    with running_app.coach.db.session() as s:
        row = s.get(CustomerFollowUp, mine.id)
    # Removed before any listener runs (coach.inbound, issue 8), like every other text of a request.
    assert row.biggest_reason == "Budget" and row.their_words is None


def test_absurd_normal_week_counts_are_refused_inline_and_nothing_is_stored(running_app: RunningApp):
    view = messages.normal_week_modal(Translator("ja"), None, origin="home")
    body = submit(running_app, view, normal_week_values("1e9", "99999", " "), "U1")
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"normal_meetings", "normal_appointments", "normal_prospects"}
    assert "0から200までの整数" in body["errors"]["normal_meetings"]
    body = submit(running_app, view, normal_week_values("３", "0", "200"), "U1")  # full-width digits are fine
    assert body == {}
    running_app.settle()
    with running_app.coach.db.session() as s:
        week = s.get(NormalWeek, ("T1", "U1"))
    assert (week.meetings, week.appointments, week.prospects) == (3, 0, 200)


def test_another_reps_one_change_cannot_be_revised_or_kept(running_app: RunningApp):
    theirs = saved_review(running_app, "U1")
    forged = messages.change_modal(Translator("en"), theirs, message=None)
    assert submit(running_app, forged, ri.state(change_code=ri.radio("question_order")), "U2") == {}
    for action_id in ("checklist_keep_change", "checklist_manager_talked", "prep_ready"):
        payload = block_actions_payload(
            {"type": "button", "action_id": action_id, "block_id": "nudge_actions", "value": str(theirs.id)},
            user_id="U2",
        )
        assert running_app.slack.interact(payload).status_code == 200
    running_app.settle()
    with running_app.coach.db.session() as s:
        review = s.get(Review, theirs.id)
    assert review.change_code == "confirm_decision_maker"
    assert review.change_settled_at is None and review.manager_talk_at is None
