"""The schedule's rules for every quiet-hours setting an operator can write: each nudge lands at a time
the rule allows, and finding it always ends (pure Python, no Slack, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach.nudges import rules
from coach.nudges.rules import QuietHours

ZONES = [ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")]
# Every half hour of a week that holds a daylight-saving change in New York (8 March 2026) and one in
# Sydney (5 April 2026).
INSTANTS = [datetime(2026, 3, 5, tzinfo=UTC) + timedelta(hours=h) for h in range(0, 7 * 24, 5)] + [
    datetime(2026, 4, 2, tzinfo=UTC) + timedelta(hours=h) for h in range(0, 7 * 24, 7)
]
SETTINGS = [
    QuietHours(time(h1, m1), time(h2, m2))
    for h1 in range(0, 24, 2)
    for m1 in (0, 30)
    for h2 in range(1, 24, 3)
    for m2 in (0, 45)
]


def quiet_at(quiet: QuietHours, instant: datetime, tz: ZoneInfo) -> bool:
    return quiet.contains(instant.astimezone(tz).time())


@pytest.mark.parametrize("tz", ZONES, ids=lambda z: z.key)
def test_self_checks_and_recontacts_land_on_a_weekday_outside_quiet_hours_whatever_the_setting(tz):
    for quiet in SETTINGS + [QuietHours.parse("20:00-11:00"), QuietHours.parse("09:00-10:30")]:
        for instant in INSTANTS:
            slot = rules.next_contact_slot(instant, tz, quiet)
            local = slot.astimezone(tz)
            assert slot >= instant and local.weekday() < 5 and not quiet.contains(local.time()), (quiet, instant)
            assert slot - instant < timedelta(days=4)


@pytest.mark.parametrize("tz", ZONES, ids=lambda z: z.key)
def test_the_24_hour_reminder_never_lands_in_quiet_hours_nor_before_the_rep_began(tz):
    quiet = QuietHours.parse("20:00-08:00")
    for loss in INSTANTS:
        planned = rules.plan_finish_review(loss, loss, loss, tz, quiet)
        assert not quiet_at(quiet, planned.due_at, tz)
        assert planned.due_at >= loss + timedelta(hours=1)
        # With twelve waking hours a day there is always a slot before the 24 hours run out.
        assert planned.due_at <= loss + rules.FINISH_REVIEW_BY, (loss, planned.due_at)


@pytest.mark.parametrize("tz", ZONES, ids=lambda z: z.key)
def test_the_pre_meeting_reminder_is_never_held_to_or_past_the_meeting(tz):
    quiet = QuietHours.parse("20:00-08:00")
    for now in INSTANTS:
        for hours in (0.25, 0.75, 1, 3, 9, 13):
            meeting = now + timedelta(hours=hours)
            planned = rules.plan_pre_meeting(meeting, now, timedelta(minutes=60), tz=tz, quiet=quiet)
            assert now <= planned.due_at < meeting and planned.expires_at == meeting
            if quiet_at(quiet, planned.due_at, tz):
                # Only when the meeting is in quiet hours too, or quiet hours last until it begins.
                end = quiet.end_after(planned.due_at.astimezone(tz))
                assert quiet_at(quiet, meeting, tz) or end >= meeting.astimezone(tz)
