"""The follow-through after a loss as pure rules (METHOD §3-§5): the follow-up call the next business day, the
prep list the business day before the meeting, a nudge to book an unbooked meeting, the 3-day message's open
items and the week's counts against a normal week. No Slack, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach.nudges import rules
from coach.nudges.rules import Activity, NudgeKind, OpenItem, QuietHours

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
QUIET = QuietHours.parse("20:00-08:00")
LEAD = timedelta(minutes=60)


def local(y, m, d, h, mi, tz) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2026, 3, 9), 1, date(2026, 3, 10)),  # Mon -> Tue
        (date(2026, 3, 13), 1, date(2026, 3, 16)),  # Fri -> Mon
        (date(2026, 3, 14), 1, date(2026, 3, 16)),  # Sat -> Mon
        (date(2026, 3, 12), 2, date(2026, 3, 16)),  # Thu + 2 -> Mon
        (date(2026, 3, 13), 2, date(2026, 3, 17)),  # Fri + 2 -> Tue
    ],
)
def test_business_days_skip_the_weekend(day, n, expected):
    assert rules.add_business_days(day, n) == expected


def test_the_business_day_before_a_monday_is_friday():
    assert rules.previous_business_day(date(2026, 3, 16)) == date(2026, 3, 13)
    assert rules.previous_business_day(date(2026, 3, 17)) == date(2026, 3, 16)


def test_follow_up_call_lands_the_next_business_day_at_ten_local():
    # Lost Friday 15:00 in Tokyo, reviewed at 17:00: the call is Monday 10:00 Tokyo.
    lost = local(2026, 3, 13, 15, 0, TOKYO)
    planned = rules.plan_followup_call(lost, lost + timedelta(hours=2), TOKYO, QUIET)
    assert planned.kind == NudgeKind.FOLLOWUP_CALL
    assert planned.due_at == local(2026, 3, 16, 10, 0, TOKYO)
    assert planned.expires_at == planned.due_at + timedelta(days=5)


def test_follow_up_call_across_the_daylight_saving_change_keeps_ten_local():
    # Lost Friday 6 March in New York (EST); Monday 9 March is already EDT: 10:00 local is 14:00 UTC.
    lost = local(2026, 3, 6, 16, 0, NEW_YORK)
    planned = rules.plan_followup_call(lost, lost + timedelta(hours=1), NEW_YORK, QUIET)
    assert planned.due_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_a_late_review_gets_the_follow_up_call_an_hour_after_saving_outside_quiet_hours():
    lost = local(2026, 3, 2, 15, 0, TOKYO)  # Monday; reviewed on Wednesday 19:30
    completed = local(2026, 3, 4, 19, 30, TOKYO)
    planned = rules.plan_followup_call(lost, completed, TOKYO, QUIET)
    # 20:30 is in quiet hours: Thursday 10:00.
    assert planned.due_at == local(2026, 3, 5, 10, 0, TOKYO)


def test_follow_up_call_respects_quiet_hours_that_cover_ten():
    quiet = QuietHours.parse("20:00-11:00")
    lost = local(2026, 3, 10, 15, 0, TOKYO)
    assert rules.plan_followup_call(lost, lost, TOKYO, quiet).due_at == local(2026, 3, 11, 11, 0, TOKYO)


def test_prep_list_lands_the_business_day_before_the_meeting():
    now = local(2026, 3, 10, 10, 0, TOKYO)  # Tuesday
    meeting = local(2026, 3, 16, 14, 0, TOKYO)  # next Monday
    planned = rules.plan_prep(meeting, now, tz=TOKYO, quiet=QUIET)
    assert planned.kind == NudgeKind.PREP
    assert planned.due_at == local(2026, 3, 13, 10, 0, TOKYO)  # Friday 10:00
    assert planned.expires_at == meeting


def test_prep_list_goes_at_once_when_the_meeting_is_sooner():
    now = local(2026, 3, 10, 15, 0, TOKYO)
    meeting = local(2026, 3, 11, 9, 0, TOKYO)  # tomorrow 09:00: the day before is today, 10:00 has passed
    assert rules.plan_prep(meeting, now, tz=TOKYO, quiet=QUIET).due_at == now


def test_prep_list_sooner_but_in_quiet_hours_waits_for_their_end_if_that_is_before_the_meeting():
    now = local(2026, 3, 10, 22, 0, TOKYO)
    meeting = local(2026, 3, 11, 11, 0, TOKYO)
    assert rules.plan_prep(meeting, now, tz=TOKYO, quiet=QUIET).due_at == local(2026, 3, 11, 8, 0, TOKYO)


def test_prep_list_before_a_meeting_after_the_daylight_saving_change():
    now = local(2026, 3, 5, 10, 0, NEW_YORK)  # Thursday, EST
    meeting = local(2026, 3, 10, 9, 0, NEW_YORK)  # Tuesday, EDT
    planned = rules.plan_prep(meeting, now, tz=NEW_YORK, quiet=QUIET)
    assert planned.due_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday 10:00 EDT


def test_the_meeting_chain_is_the_prep_list_then_the_one_change_at_the_lead_time():
    now = local(2026, 3, 10, 10, 0, TOKYO)
    meeting = local(2026, 3, 12, 14, 0, TOKYO)
    prep, pre = rules.plan_meeting(meeting, now, LEAD, tz=TOKYO, quiet=QUIET)
    assert (prep.kind, pre.kind) == (NudgeKind.PREP, NudgeKind.PRE_MEETING)
    assert prep.due_at == local(2026, 3, 11, 10, 0, TOKYO)
    assert pre.due_at == meeting - LEAD
    assert rules.plan_meeting(now - timedelta(minutes=1), now, LEAD, tz=TOKYO, quiet=QUIET) == []


def test_no_meeting_booked_plans_a_nudge_to_book_one_after_two_business_days_and_no_meeting_chain():
    lost = local(2026, 3, 12, 11, 0, TOKYO)  # Thursday
    completed = lost + timedelta(hours=3)
    planned = rules.plan_after_review(
        lost_at=lost,
        completed_at=completed,
        meeting_at=None,
        recontact_on=date(2026, 9, 12),
        tz=TOKYO,
        quiet=QUIET,
        lead=LEAD,
    )
    kinds = {p.kind: p for p in planned}
    assert NudgeKind.PRE_MEETING not in kinds and NudgeKind.PREP not in kinds
    assert kinds[NudgeKind.BOOK_MEETING].due_at == local(2026, 3, 16, 10, 0, TOKYO)  # Monday 10:00
    assert kinds[NudgeKind.FOLLOWUP_CALL].due_at == local(2026, 3, 13, 10, 0, TOKYO)  # Friday 10:00


def test_a_booked_meeting_plans_the_whole_chain_and_no_booking_nudge():
    lost = local(2026, 3, 10, 11, 0, TOKYO)
    planned = rules.plan_after_review(
        lost_at=lost,
        completed_at=lost + timedelta(hours=1),
        meeting_at=local(2026, 3, 13, 14, 0, TOKYO),
        recontact_on=date(2026, 9, 10),
        tz=TOKYO,
        quiet=QUIET,
        lead=LEAD,
    )
    assert {p.kind for p in planned} == {
        NudgeKind.FOLLOWUP_CALL,
        NudgeKind.CHECKLIST,
        NudgeKind.SELF_CHECK,
        NudgeKind.RECONTACT,
        NudgeKind.PREP,
        NudgeKind.PRE_MEETING,
    }


def test_a_moved_meeting_re_arms_a_sent_prep_list_but_a_follow_up_call_goes_once():
    meeting = datetime(2026, 3, 12, 5, 0, tzinfo=UTC)
    moved = rules.Planned(NudgeKind.PREP, meeting, meeting + timedelta(days=1))
    assert rules.replaces(NudgeKind.PREP, "sent", moved, expires_at=meeting, settled_at=meeting)
    same = rules.Planned(NudgeKind.PREP, meeting, meeting)
    assert not rules.replaces(NudgeKind.PREP, "sent", same, expires_at=meeting, settled_at=meeting)
    call = rules.Planned(NudgeKind.FOLLOWUP_CALL, meeting, None)
    assert not rules.replaces(NudgeKind.FOLLOWUP_CALL, "sent", call, expires_at=None, settled_at=meeting)
    book = rules.Planned(NudgeKind.BOOK_MEETING, meeting, None)
    assert not rules.replaces(NudgeKind.BOOK_MEETING, "expired", book, expires_at=None, settled_at=meeting)


@pytest.mark.parametrize("kind", [NudgeKind.FOLLOWUP_CALL, NudgeKind.BOOK_MEETING])
def test_a_late_follow_up_or_booking_nudge_waits_for_a_weekday_morning(kind):
    saturday_night = local(2026, 3, 14, 23, 0, TOKYO)
    assert rules.send_time(kind, saturday_night, TOKYO, QUIET) == local(2026, 3, 16, 10, 0, TOKYO)


def test_a_late_prep_list_is_held_out_of_quiet_hours_only_while_that_is_before_the_meeting():
    night = local(2026, 3, 10, 23, 0, TOKYO)
    assert rules.send_time(NudgeKind.PREP, night, TOKYO, QUIET, meeting_at=local(2026, 3, 11, 10, 0, TOKYO)) == (
        local(2026, 3, 11, 8, 0, TOKYO)
    )
    assert rules.send_time(NudgeKind.PREP, night, TOKYO, QUIET, meeting_at=local(2026, 3, 11, 7, 0, TOKYO)) == night


def test_the_3_day_message_lists_only_what_is_still_open():
    assert rules.open_items(shared=False, talked=False, change_settled=False) == [
        OpenItem.SHARE,
        OpenItem.MANAGER_TALK,
        OpenItem.ONE_CHANGE,
    ]
    assert rules.open_items(shared=True, talked=False, change_settled=True) == [OpenItem.MANAGER_TALK]
    assert rules.open_items(shared=True, talked=True, change_settled=True) == []


@pytest.mark.parametrize(
    ("week", "normal", "dropped"),
    [
        (
            {"meetings": 3, "appointments": 5, "prospects": 10},
            {"meetings": 5, "appointments": 5, "prospects": 8},
            ["meetings"],
        ),
        ({"meetings": 5}, {"meetings": 5, "appointments": 5, "prospects": 8}, []),
        (
            {"appointments": 0, "prospects": 0},
            {"meetings": 5, "appointments": 1, "prospects": 2},
            ["appointments", "prospects"],
        ),
        ({"meetings": 0}, None, []),  # no normal week: nothing is said to have fallen
        ({"meetings": 0}, {}, []),
    ],
)
def test_a_count_below_the_normal_week_has_fallen(week, normal, dropped):
    assert rules.activity_drops(week, normal) == [Activity(d) for d in dropped]


@pytest.mark.parametrize(
    ("typed", "count"),
    [
        ("5", 5),
        (" 12 ", 12),
        ("０", 0),
        ("２０", 20),
        ("200", 200),
        ("201", None),
        ("-1", None),
        ("1.5", None),
        ("", None),
        (None, None),
        ("five", None),
        ("\x00", None),
        ("9" * 50, None),
    ],
)
def test_a_typed_count_is_a_whole_number_within_reason(typed, count):
    assert rules.parse_count(typed) == count


def test_the_booking_nudge_across_the_daylight_saving_change_keeps_ten_local():
    completed = local(2026, 3, 5, 16, 0, NEW_YORK)  # Thursday, EST
    planned = rules.plan_book_meeting(completed, NEW_YORK, QUIET)
    assert planned.due_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday 10:00 EDT
    assert planned.expires_at == planned.due_at + timedelta(days=7)


def test_a_meeting_within_the_lead_time_gets_the_one_change_reminder_alone():
    now = local(2026, 3, 10, 10, 0, TOKYO)
    [pre] = rules.plan_meeting(now + timedelta(minutes=30), now, LEAD, tz=TOKYO, quiet=QUIET)
    assert pre.kind == NudgeKind.PRE_MEETING and pre.due_at == now
