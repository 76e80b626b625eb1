"""Answering nudges: the self-check's counts against the rep's normal week (METHOD §5), and the
re-contact form recorded once however often Slack delivers it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from coach.models import NormalWeek, Nudge, RecontactNote
from tests import review_input as ri
from tests.conftest import RunningApp
from tests.slack_signing import TEAM_ID, view_submission_payload
from tests.test_nudges import click, dispatch, nudges, review_saved
from tests.test_review_flow import blocks_text

START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tuesday 10:00 in New York


def self_check_post(app: RunningApp, review_id: int):
    return next(
        c
        for c in app.slack.fake.calls_to("chat.postMessage")
        if "self-check" in c.params["text"] and f'"{review_id}:' in str(c.params["blocks"]).replace("'", '"')
    )


def self_check_due(app: RunningApp, review_id: int) -> datetime:
    with app.coach.db.session() as s:
        return s.scalar(select(Nudge.due_at).where(Nudge.review_id == review_id, Nudge.kind == "self_check"))


def shown_after(app: RunningApp, post) -> str:
    """What the self-check message says now (it is updated in place after each answer)."""
    app.settle()
    update = [c for c in app.slack.fake.calls_to("chat.update") if c.params["ts"] == post.response["ts"]][-1]
    assert update.response["ok"]
    return blocks_text(update.params["blocks"])


def send_due(app: RunningApp, clock, when: datetime) -> None:
    clock.move_to(when)
    for _ in range(5):
        dispatch(app)
        clock.shift(timedelta(seconds=2))


def normal_week(app: RunningApp, user_id: str, meetings: int, appointments: int, prospects: int) -> None:
    with app.coach.db.session() as s:
        s.add(
            NormalWeek(
                team_id=TEAM_ID,
                user_id=user_id,
                meetings=meetings,
                appointments=appointments,
                prospects=prospects,
                updated_at=START,
            )
        )


def test_a_drop_in_meetings_is_named_as_soon_as_the_count_is_in(running_app: RunningApp):
    normal_week(running_app, "U2", 10, 4, 5)
    with time_machine.travel(START, tick=False) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=30))
        send_due(running_app, clock, self_check_due(running_app, review.id))  # a week on
        post = self_check_post(running_app, review.id)
        click(running_app, "U2", post, "self_check_meetings", selected="3")  # the other questions not yet
        shown = shown_after(running_app, post)
    assert "Customer meetings: 3 this week, normal week 10" in shown
    assert "Customer meetings fell against your normal week" in shown
    assert "Appointments booked:" not in shown  # not answered yet: nothing said about it
    assert "Saved. Thank you" not in shown  # questions still open


def test_without_a_normal_week_nothing_is_said_to_have_fallen_and_the_rep_is_asked_for_one(running_app: RunningApp):
    with time_machine.travel(START, tick=False) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=30))
        send_due(running_app, clock, nudges(running_app)["self_check"].due_at)
        post = self_check_post(running_app, review.id)
        click(running_app, "U2", post, "self_check_meetings", selected="0")
        shown = shown_after(running_app, post)
    assert "fell against" not in shown and "normal week 0" not in shown
    assert "Tell me what a normal week looks like for you" in shown


def test_counts_at_or_above_the_normal_week_are_not_a_drop_and_all_answers_complete_the_check(
    running_app: RunningApp,
):
    normal_week(running_app, "U2", 5, 4, 3)
    with time_machine.travel(START, tick=False) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=30))
        send_due(running_app, clock, self_check_due(running_app, review.id))
        post = self_check_post(running_app, review.id)
        for answer in ("self_check_repeated:no", "self_check_kept:yes", "self_check_reaction:same"):
            click(running_app, "U2", post, answer)
        click(running_app, "U2", post, "self_check_meetings", selected="5")
        click(running_app, "U2", post, "self_check_appointments", selected="6")
        click(running_app, "U2", post, "self_check_prospects", selected="3")
        shown = shown_after(running_app, post)
    assert "Nothing fell against your normal week" in shown
    assert "Appointments booked: 6 this week, normal week 4" in shown
    assert "Saved. Thank you" in shown


def test_the_recontact_form_delivered_twice_records_one_note(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=1))
        send_due(running_app, clock, nudges(running_app)["recontact"].due_at)
        post = next(c for c in fake.calls_to("chat.postMessage") if "get back in touch" in c.params["text"])
        click(running_app, "U2", post, "recontact_record")
        modal = fake.wait_for("views.open", 2)[-1]
        values = {
            "customer_said": {"customer_said": ri.text("Budget moved to next year")},
            **ri.state(recontact_choice=ri.radio("six_months")),
        }
        payload = view_submission_payload(modal.response["view"], values, user_id="U2")
        # A double click, or Slack retrying a submission it thinks went unanswered: the same payload twice.
        for _ in range(2):
            assert running_app.slack.json(running_app.slack.interact(payload)) == {}
        running_app.settle()
    with running_app.coach.db.session() as s:
        assert s.scalar(select(func.count()).select_from(RecontactNote)) == 1
    planned = nudges(running_app)["recontact"]
    assert planned.status == "pending" and planned.due_at == datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
