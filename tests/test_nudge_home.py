"""A nudge that the rep's Home shows refreshes the Home when it goes out (views.publish on the fake Slack)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import time_machine

from tests.conftest import RunningApp
from tests.test_nudges import dispatch, nudges, review_saved
from tests.test_review_flow import blocks_text

START = datetime(2026, 3, 10, 14, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in New York


def homes(app: RunningApp, user_id: str) -> list[str]:
    """The text of every Home published for the rep, oldest first."""
    app.settle()
    return [blocks_text(c.params["view"]["blocks"]) for c in app.slack.fake.calls_to("views.publish")
            if c.params["user_id"] == user_id and c.response.get("ok")]


def test_the_home_shows_a_self_check_waiting_as_soon_as_its_nudge_goes_out(running_app: RunningApp):
    with time_machine.travel(START, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=1))
        clock.move_to(START + timedelta(days=6, hours=23))
        dispatch(running_app)  # the 3-day checklist and the meeting reminder, long due
        clock.shift(timedelta(seconds=2))
        dispatch(running_app)
        before = homes(running_app, "U2")
        assert before and "Self-checks waiting for you" not in before[-1]
        clock.move_to(nudges(running_app)["self_check"].due_at)
        dispatch(running_app)
        after = homes(running_app, "U2")
    assert nudges(running_app)["self_check"].status == "sent"
    assert len(after) == len(before) + 1  # republished once, for this rep
    assert "Self-checks waiting for you" in after[-1] and "Acme renewal" in after[-1]


def test_the_home_stops_announcing_the_meeting_reminder_once_it_went_out(running_app: RunningApp):
    meeting = START + timedelta(days=1)
    with time_machine.travel(START, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=meeting)
        before = homes(running_app, "U2")
        assert "I'll remind you of your one change on" in before[-1]
        clock.move_to(meeting - timedelta(minutes=60))
        dispatch(running_app)
        after = homes(running_app, "U2")
    assert nudges(running_app)["pre_meeting"].status == "sent"
    assert len(after) == len(before) + 1
    assert "I'll remind you of your one change on" not in after[-1]
