"""When each nudge reaches the rep: every kind end to end, in both languages, in zones on both sides of
UTC and across their daylight-saving changes, and quiet hours (at planning and at send time).

Each test drives the app as Slack does (signed requests into /slack/events, the fake Slack on loopback)
and moves the clock with time-machine. Times in the cases are wall-clock times in the rep's own zone; a
case whose rep observes daylight saving has its due time on the other side of a change from when the
review was saved, so the expected local time only comes out right if the change is honoured.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from coach.config import ConfigError, load_settings
from tests import review_input as ri
from tests.conftest import RunningApp
from tests.test_nudges import assert_valid, click, dispatch, nudges, review_saved
from tests.test_review_flow import Rep, blocks_text

# user id -> (Slack locale, zone). U1 and U2 are the fixture's reps; the others are added here.
REPS = {
    "U1": ("ja-JP", "Asia/Tokyo"),  # east of UTC, no daylight saving
    "U2": ("en-US", "America/New_York"),  # west of UTC, US daylight saving (8 March, 1 November 2026)
    "U4": ("ja-JP", "Europe/Berlin"),  # east of UTC, EU daylight saving (29 March, 25 October 2026)
    "U5": ("en-US", "Australia/Sydney"),  # east of UTC, southern daylight saving (ends 5 April, starts 4 October)
    "U6": ("ja-JP", "America/Los_Angeles"),  # west of UTC, US daylight saving
}

# What the rep reads, in their language, in each kind of nudge.
WORDS = {
    "finish_review": {"ja": "振り返りがまだ途中です", "en": "is still open. Finish it while memory is fresh"},
    "checklist": {"ja": "3日以内にやること", "en": "3-day checklist"},
    "pre_meeting": {"ja": "次の商談の前に", "en": "Before your next meeting"},
    "self_check": {"ja": "改善した一点は守れているか", "en": "Did I keep the one change?"},
    "recontact": {"ja": "将来案件", "en": "A future opportunity"},
}


@pytest.fixture
def overrides() -> dict:
    return {}


@pytest.fixture
def settings_env(settings_env, overrides):
    return {**settings_env, **overrides}


@pytest.fixture
def app(running_app: RunningApp) -> RunningApp:
    for user, (locale, zone) in REPS.items():
        if user not in running_app.slack.fake.users:
            running_app.slack.fake.add_user(user, tz=zone, locale=locale)
    return running_app


def zone(user: str) -> ZoneInfo:
    return ZoneInfo(REPS[user][1])


def lang(user: str) -> str:
    return REPS[user][0][:2]


def local(user: str, *wall: int) -> datetime:
    """A wall-clock time in the rep's zone, as the UTC instant it is."""
    return datetime(*wall, tzinfo=zone(user)).astimezone(UTC)


def crosses_dst(user: str, start: datetime, due: datetime) -> bool:
    return start.astimezone(zone(user)).utcoffset() != due.astimezone(zone(user)).utcoffset()


def nudge_id_of(call) -> int | None:
    meta = call.params.get("metadata")
    if isinstance(meta, str):
        meta = json.loads(meta)
    return ((meta or {}).get("event_payload") or {}).get("nudge_id")


def posts_of(app: RunningApp, kind: str, user: str) -> list:
    """The DMs Slack accepted for the rep's nudge of this kind."""
    nudge = nudges(app)[kind]
    return [
        c
        for c in app.slack.fake.calls_to("chat.postMessage")
        if c.response.get("ok") and c.params["channel"] == user and nudge_id_of(c) == nudge.id
    ]


def drain(app: RunningApp, clock) -> None:
    """Send whatever is due now (one DM a second per rep), a couple of seconds at a time."""
    for _ in range(10):
        if not dispatch(app).claimed:
            return
        clock.shift(timedelta(seconds=2))


def arrives_exactly_at(app: RunningApp, clock, user: str, kind: str, due: datetime):
    """Not a minute before `due`; at `due`, once, in the rep's language."""
    clock.move_to(due - timedelta(minutes=1))
    drain(app, clock)
    assert posts_of(app, kind, user) == [], f"{kind} went out before {due}"
    clock.move_to(due)
    dispatch(app)
    clock.shift(timedelta(seconds=2))
    drain(app, clock)
    [post] = posts_of(app, kind, user)
    assert_valid(post)
    assert WORDS[kind][lang(user)] in blocks_text(post.params["blocks"]) + post.params["text"]
    assert nudges(app)[kind].status == "sent"
    return post


def draft_left_open(app: RunningApp, user: str, lost_on: date) -> Rep:
    rep = Rep(app, user)
    rep.lost("Globex")
    assert rep.submit(ri.facts(lost_on=lost_on, deal="Globex"))["response_action"] == "update"
    rep.close(ri.lenses(problem="missed"))
    return rep


# Every kind, every rep ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user, start, due",
    [
        ("U1", (2026, 3, 10, 13, 0), (2026, 3, 11, 9, 0)),
        # 20 h after 11:30 is 07:30 on the old clock, in quiet hours; the clocks went forward: 08:30.
        ("U2", (2026, 3, 7, 11, 30), (2026, 3, 8, 8, 30)),
        ("U6", (2026, 3, 7, 11, 30), (2026, 3, 8, 8, 30)),
        # The clocks went back: 20 h after 12:30 is 07:30, in quiet hours: 08:00, still within 24 h.
        ("U4", (2026, 10, 24, 12, 30), (2026, 10, 25, 8, 0)),
        ("U5", (2026, 4, 4, 12, 30), (2026, 4, 5, 8, 0)),
    ],
)
def test_the_24_hour_reminder_reaches_every_rep_20_hours_after_the_loss(app: RunningApp, user, start, due):
    start, due = local(user, *start), local(user, *due)
    with time_machine.travel(start, tick=False) as clock:
        draft_left_open(app, user, start.astimezone(zone(user)).date())
        assert nudges(app)["finish_review"].due_at == due
        post = arrives_exactly_at(app, clock, user, "finish_review", due)
    assert user == "U1" or crosses_dst(user, start, due)
    assert due - start < timedelta(hours=24)
    assert "draft_resume" in str(post.params["blocks"])


@pytest.mark.parametrize(
    "user, start, due",
    [
        ("U1", (2026, 3, 10, 10, 0), (2026, 3, 12, 10, 0)),
        # Two days after Friday 19:30 is Sunday 20:30 on the new clock: quiet hours, so Monday 08:00.
        ("U2", (2026, 3, 6, 19, 30), (2026, 3, 9, 8, 0)),
        ("U6", (2026, 3, 6, 19, 30), (2026, 3, 9, 8, 0)),
        ("U4", (2026, 3, 27, 19, 30), (2026, 3, 30, 8, 0)),
        ("U5", (2026, 10, 2, 19, 30), (2026, 10, 5, 8, 0)),
    ],
)
def test_the_3_day_checklist_reaches_every_rep(app: RunningApp, user, start, due):
    start, due = local(user, *start), local(user, *due)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, user, lost_on=start.astimezone(zone(user)).date(), meeting=start + timedelta(days=20))
        assert nudges(app)["checklist"].due_at == due
        arrives_exactly_at(app, clock, user, "checklist", due)
    assert user == "U1" or crosses_dst(user, start, due)


@pytest.mark.parametrize(
    "user, start, meeting, due",
    [
        ("U1", (2026, 3, 10, 10, 0), (2026, 3, 11, 14, 0), (2026, 3, 11, 13, 0)),
        ("U2", (2026, 3, 7, 10, 0), (2026, 3, 9, 9, 0), (2026, 3, 9, 8, 0)),
        ("U6", (2026, 3, 7, 10, 0), (2026, 3, 9, 9, 0), (2026, 3, 9, 8, 0)),
        ("U4", (2026, 3, 28, 10, 0), (2026, 3, 30, 9, 0), (2026, 3, 30, 8, 0)),
        ("U5", (2026, 4, 4, 10, 0), (2026, 4, 6, 9, 0), (2026, 4, 6, 8, 0)),
    ],
)
def test_the_pre_meeting_reminder_reaches_every_rep_an_hour_before_the_meeting(
    app: RunningApp, user, start, meeting, due
):
    start, meeting, due = local(user, *start), local(user, *meeting), local(user, *due)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, user, lost_on=start.astimezone(zone(user)).date(), meeting=meeting)
        assert nudges(app)["pre_meeting"].due_at == due
        post = arrives_exactly_at(app, clock, user, "pre_meeting", due)
    assert user == "U1" or crosses_dst(user, start, due)
    # The meeting as the rep's clock shows it (after the change), e.g. "3月30日(月) 9:00" / "Apr 6, 2026, 9:00 AM".
    wall = meeting.astimezone(zone(user))
    weekday = "月火水木金土日"[wall.weekday()]
    shown = (
        f"{wall.month}月{wall.day}日({weekday}) {wall.hour}:{wall:%M}"
        if lang(user) == "ja"
        else f"{wall:%b} {wall.day}, {wall.year}, {wall:%-I:%M %p}"
    )
    assert shown in blocks_text(post.params["blocks"])


@pytest.mark.parametrize(
    "user, start, due",
    [
        ("U1", (2026, 3, 10, 10, 0), (2026, 3, 17, 10, 0)),
        # A week after Friday 19:30 is Friday 20:30 on the new clock: quiet hours, so Monday 10:00.
        ("U2", (2026, 3, 6, 19, 30), (2026, 3, 16, 10, 0)),
        ("U6", (2026, 3, 6, 19, 30), (2026, 3, 16, 10, 0)),
        ("U4", (2026, 3, 27, 19, 30), (2026, 4, 6, 10, 0)),
        # The clocks went back: a week after Friday 20:30 is Friday 19:30, before quiet hours: then.
        ("U5", (2026, 4, 3, 20, 30), (2026, 4, 10, 19, 30)),
    ],
)
def test_the_one_week_self_check_reaches_every_rep(app: RunningApp, user, start, due):
    start, due = local(user, *start), local(user, *due)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, user, lost_on=start.astimezone(zone(user)).date(), meeting=start + timedelta(days=20))
        assert nudges(app)["self_check"].due_at == due
        arrives_exactly_at(app, clock, user, "self_check", due)
    assert user == "U1" or crosses_dst(user, start, due)


@pytest.mark.parametrize("user", list(REPS))
def test_the_recontact_reaches_every_rep_at_10_local_six_months_later(app: RunningApp, user):
    # Lost in January (winter in the north, summer in Sydney); back as a future opportunity on 9 July.
    start, due = local(user, 2026, 1, 9, 14, 0), local(user, 2026, 7, 9, 10, 0)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, user, lost_on=date(2026, 1, 9), meeting=start + timedelta(days=3))
        assert nudges(app)["recontact"].due_at == due
        post = arrives_exactly_at(app, clock, user, "recontact", due)
    assert user == "U1" or crosses_dst(user, start, due)
    assert "recontact_record" in str(post.params["blocks"])


# The 24-hour reminder stays inside the 24 hours ------------------------------------------------------------


@pytest.mark.parametrize("user, start", [("U1", (2026, 3, 10, 2, 0)), ("U2", (2026, 3, 10, 1, 30))])
def test_a_loss_logged_at_night_is_reminded_before_quiet_hours_not_after_24_hours(app: RunningApp, user, start):
    # 20 h later is 22:00 / 21:30, in quiet hours; their end (08:00) would be 30 h after the loss.
    start = local(user, *start)
    due = local(user, 2026, 3, 10, 19, 0)  # an hour before quiet hours begin
    with time_machine.travel(start, tick=False) as clock:
        draft_left_open(app, user, start.astimezone(zone(user)).date())
        assert nudges(app)["finish_review"].due_at == due
        arrives_exactly_at(app, clock, user, "finish_review", due)
    assert due - start < timedelta(hours=24)


def test_editing_the_loss_date_after_the_reminder_does_not_send_it_again(app: RunningApp):
    fake = app.slack.fake
    start = local("U1", 2026, 3, 10, 13, 0)
    with time_machine.travel(start, tick=False) as clock:
        draft_left_open(app, "U1", date(2026, 3, 10))
        clock.move_to(start + timedelta(hours=20))
        dispatch(app)
        [reminder] = posts_of(app, "finish_review", "U1")
        # The rep comes back to the draft and corrects the loss date to the day before.
        rep = Rep(app, "U1")
        click(app, "U1", reminder, "draft_resume")
        opened = fake.wait_for("views.open", 2)[-1]
        rep.view = opened.response["view"]
        updates = len(fake.calls_to("views.update"))
        rep.click("review_back", values=ri.lenses(problem="missed"))
        back = fake.wait_for("views.update", updates + 1)[-1]
        rep.view = {**back.params["view"], "id": rep.view["id"]}
        assert rep.submit(ri.facts(lost_on=date(2026, 3, 9), deal="Globex"))["response_action"] == "update"
        for _ in range(3):
            clock.shift(timedelta(hours=1))
            dispatch(app)
    assert len(posts_of(app, "finish_review", "U1")) == 1
    assert nudges(app)["finish_review"].status == "sent"


# Quiet hours ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user, meeting, due",
    [
        # Lead time (07:30 / 07:15) in quiet hours, the meeting after them: held to 08:00, still before it.
        ("U1", (2026, 3, 11, 8, 30), (2026, 3, 11, 8, 0)),
        ("U2", (2026, 3, 11, 8, 15), (2026, 3, 11, 8, 0)),
        # The meeting itself is in quiet hours: the rep works then, so the lead time stands.
        ("U1", (2026, 3, 11, 21, 0), (2026, 3, 11, 20, 0)),
        ("U2", (2026, 3, 11, 6, 30), (2026, 3, 11, 5, 30)),
        # Quiet hours end as the meeting starts: waiting for them would be too late, so the lead time stands.
        ("U1", (2026, 3, 11, 8, 0), (2026, 3, 11, 7, 0)),
    ],
)
def test_the_pre_meeting_reminder_waits_out_quiet_hours_only_while_that_is_before_the_meeting(
    app: RunningApp, user, meeting, due
):
    start = local(user, 2026, 3, 10, 12, 0)
    meeting, due = local(user, *meeting), local(user, *due)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, user, lost_on=date(2026, 3, 10), meeting=meeting)
        assert nudges(app)["pre_meeting"].due_at == due
        arrives_exactly_at(app, clock, user, "pre_meeting", due)
    assert due < meeting


@pytest.mark.parametrize(
    "user, kind, due, back, allowed",
    [
        # Due Tuesday 12:00; the app is down until late that night: Wednesday 10:00, not at night.
        ("U1", "self_check", (2026, 3, 17, 12, 0), (2026, 3, 17, 23, 0), (2026, 3, 18, 10, 0)),
        ("U2", "self_check", (2026, 3, 17, 12, 0), (2026, 3, 17, 22, 0), (2026, 3, 18, 10, 0)),
        # The checklist after downtime waits for the end of the night.
        ("U1", "checklist", (2026, 3, 12, 12, 0), (2026, 3, 12, 21, 0), (2026, 3, 13, 8, 0)),
        ("U2", "checklist", (2026, 3, 12, 12, 0), (2026, 3, 13, 5, 0), (2026, 3, 13, 8, 0)),
    ],
)
def test_a_nudge_sent_late_still_respects_quiet_hours(app: RunningApp, user, kind, due, back, allowed):
    start = local(user, 2026, 3, 10, 12, 0)
    due, back, allowed = local(user, *due), local(user, *back), local(user, *allowed)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, user, lost_on=date(2026, 3, 10), meeting=start + timedelta(days=20))
        assert nudges(app)[kind].due_at == due
        clock.move_to(back)  # down from before `due` until now
        drain(app, clock)
        assert posts_of(app, kind, user) == []
        assert nudges(app)[kind].due_at == allowed
        arrives_exactly_at(app, clock, user, kind, allowed)


def test_a_24_hour_reminder_sent_late_waits_for_the_morning(app: RunningApp):
    start = local("U2", 2026, 3, 10, 13, 0)
    with time_machine.travel(start, tick=False) as clock:
        draft_left_open(app, "U2", date(2026, 3, 10))
        assert nudges(app)["finish_review"].due_at == local("U2", 2026, 3, 11, 9, 0)
        clock.move_to(local("U2", 2026, 3, 11, 22, 30))  # down all day; back in the evening
        drain(app, clock)
        assert posts_of(app, "finish_review", "U2") == []
        arrives_exactly_at(app, clock, "U2", "finish_review", local("U2", 2026, 3, 12, 8, 0))


def test_a_late_recontact_on_a_friday_night_waits_for_monday(app: RunningApp):
    start = local("U2", 2026, 3, 13, 12, 0)  # Friday
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, "U2", lost_on=date(2026, 3, 13), meeting=start + timedelta(days=2))
        assert nudges(app)["recontact"].due_at == local("U2", 2026, 9, 14, 10, 0)  # 13 Sept is a Sunday
        clock.move_to(local("U2", 2026, 9, 18, 21, 0))  # down all week, back Friday 21:00
        drain(app, clock)
        assert posts_of(app, "recontact", "U2") == []
        arrives_exactly_at(app, clock, "U2", "recontact", local("U2", 2026, 9, 21, 10, 0))


@pytest.mark.parametrize("overrides", [{"quiet_hours": "20:00-11:00"}])
def test_quiet_hours_past_10_move_self_checks_and_recontacts_to_their_end(app: RunningApp):
    start = local("U1", 2026, 3, 10, 9, 0)  # Tuesday 09:00, still quiet until 11:00
    with time_machine.travel(start, tick=False) as clock:
        review_saved(app, "U1", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=20))
        planned = nudges(app)
        assert planned["recontact"].due_at == local("U1", 2026, 9, 10, 11, 0)
        arrives_exactly_at(app, clock, "U1", "self_check", local("U1", 2026, 3, 17, 11, 0))


@pytest.mark.parametrize(
    "value, accepted", [("20:00-11:00", True), ("00:00-00:00", True), ("25:00-08:00", False), ("evening", False)]
)
def test_quiet_hours_setting(value, accepted):
    base = {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "_env_file": None}
    if accepted:
        assert load_settings(**base, quiet_hours=value).quiet_hours == value
    else:
        with pytest.raises(ConfigError) as err:
            load_settings(**base, quiet_hours=value)
        assert "QUIET_HOURS is invalid" in str(err.value) and "\n" not in str(err.value)
