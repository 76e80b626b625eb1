"""Answering nudges: the self-check's meetings count against the rep's own baseline (METHOD §5), and the
re-contact form recorded once however often Slack delivers it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from coach.models import Nudge, RecontactNote
from tests import review_input as ri
from tests.conftest import RunningApp
from tests.slack_signing import view_submission_payload
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


def test_a_drop_in_meetings_is_named_as_soon_as_the_count_is_in(running_app: RunningApp):
    with time_machine.travel(START, tick=False) as clock:
        earlier = review_saved(running_app, "U2", lost_on=date(2026, 3, 2), meeting=START + timedelta(days=30))
        send_due(running_app, clock, nudges(running_app)["self_check"].due_at)
        click(running_app, "U2", self_check_post(running_app, earlier.id), "self_check_meetings", selected="10")
        later = review_saved(running_app, "U2", lost_on=date(2026, 3, 11), meeting=START + timedelta(days=30))
        send_due(running_app, clock, self_check_due(running_app, later.id))  # a week on
        post = self_check_post(running_app, later.id)
        click(running_app, "U2", post, "self_check_meetings", selected="3")  # the other questions not yet
        shown = shown_after(running_app, post)
    assert "You held 3 customer meetings this week, down from your usual 10" in shown
    assert "Saved. Thank you" not in shown  # three questions still open


def test_a_first_self_check_has_no_baseline_and_claims_no_drop(running_app: RunningApp):
    with time_machine.travel(START, tick=False) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=30))
        send_due(running_app, clock, nudges(running_app)["self_check"].due_at)
        post = self_check_post(running_app, review.id)
        click(running_app, "U2", post, "self_check_meetings", selected="0")
        shown = shown_after(running_app, post)
    assert "down from your usual" not in shown and "your usual is" not in shown
    assert "0 customer meetings this week. This is your first count" in shown


def test_the_baseline_is_the_weeks_after_earlier_losses_not_later_ones(running_app: RunningApp):
    with time_machine.travel(START, tick=False) as clock:
        earlier = review_saved(running_app, "U2", lost_on=date(2026, 3, 2), meeting=START + timedelta(days=30))
        later = review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=30))
        send_due(running_app, clock, datetime(2026, 3, 17, 14, 0, tzinfo=UTC))  # both self-checks out
        # The rep answers the later loss's self-check first, the earlier one's afterwards.
        click(running_app, "U2", self_check_post(running_app, later.id), "self_check_meetings", selected="12")
        running_app.settle()
        post = self_check_post(running_app, earlier.id)
        for answer in ("self_check_repeated:no", "self_check_kept:yes", "self_check_reaction:same"):
            click(running_app, "U2", post, answer)
        click(running_app, "U2", post, "self_check_meetings", selected="3")
        shown = shown_after(running_app, post)
    assert "Saved. Thank you" in shown
    assert "down from your usual 12" not in shown  # the week after a later loss is no baseline for this one
    assert "This is your first count" in shown


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
