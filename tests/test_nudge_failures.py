"""Nudges when Slack or the app misbehave: what reaches the rep, once, and what is given up.

The real dispatcher against the fake Slack on loopback, the clock stopped (time-machine) and moved on by
hand. "Delivered" means a `chat.postMessage` the fake accepted and stored: a DM the rep sees, carrying
its nudge id in its metadata. A "ghost" is an instance that claimed nudges and died: its claim is made
with the real outbox and, where it got that far, its DM is posted as the dispatcher posts it.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from coach.db import Database
from coach.models import Nudge, Review
from coach.nudges import outbox, rules
from coach.nudges.delivery import METADATA_EVENT
from coach.nudges.dispatcher import Dispatcher, DispatchPolicy
from coach.nudges.pacing import APP_PAUSE_CAP
from coach.nudges.rules import NudgeKind, NudgeStatus
from coach.slack.client import make_client
from tests import review_input as ri
from tests.conftest import BOT_TOKEN, RunningApp
from tests.fakeslack import FakeSlack
from tests.nudge_seed import register_users, seed_due_nudges
from tests.slack_signing import block_actions_payload, view_submission_payload
from tests.test_nudges import dispatch, nudges, review_saved
from tests.test_review_flow import blocks_text

START = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def settings_env(settings_env):
    # No caps (the limiters would sleep on the real clock) and no quiet hours: these tests are about
    # delivery. The test that checks the DM-check pace builds its own dispatcher with a fake clock.
    return {**settings_env, "slack_messages_per_second": 0, "slack_lookups_per_minute": 0, "quiet_hours": "00:00-00:00"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def seed(app: RunningApp, count: int) -> list[int]:
    register_users(app.slack.fake, count)
    return seed_due_nudges(app.coach.db, count=count, users=count, now=utcnow(), kind=NudgeKind.CHECKLIST)


def nudge_id_of(params: dict) -> int | None:
    meta = params.get("metadata") or {}
    return (meta.get("event_payload") or {}).get("nudge_id") if meta.get("event_type") == METADATA_EVENT else None


def posts(fake: FakeSlack) -> list:
    return fake.calls_to("chat.postMessage")


def delivered(fake: FakeSlack) -> Counter:
    """Nudge id -> DMs the rep has with it (the fake stored them, whatever it answered)."""
    return Counter(nudge_id_of(m) for m in fake.messages.values() if nudge_id_of(m) is not None)


def rows(db: Database) -> dict[int, Nudge]:
    with db.session() as s:
        return {n.id: n for n in s.scalars(select(Nudge))}


def claim_as_ghost(db: Database, now: datetime, limit: int = 1) -> list[Nudge]:
    with db.session() as s:
        return outbox.claim_due(s, now=now, limit=limit, instance="ghost")


def post_as(fake: FakeSlack, nudge: Nudge) -> dict:
    """The ghost's DM, as the dispatcher posts it (the nudge id and its plan's first claim as metadata)."""
    return fake.client().chat_postMessage(
        channel=nudge.user_id,
        text="ghost",
        metadata={
            "event_type": METADATA_EVENT,
            "event_payload": {"nudge_id": nudge.id, "plan": int(nudge.claimed_at.timestamp())},
        },
    )


# An instance died mid-send --------------------------------------------------------------------------------


def test_a_dm_posted_just_before_a_crash_and_two_days_of_downtime_is_recorded_not_sent_again(running_app: RunningApp):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        [nudge] = claim_as_ghost(db, utcnow())
        ghost = post_as(fake, nudge)  # Slack has it; the ghost died before writing that down
        clock.shift(timedelta(days=2))  # and nobody ran the app for two days
        dispatcher.run_once()
        clock.shift(timedelta(hours=1))
        dispatcher.run_once()
    assert delivered(fake) == {nudge_id: 1}
    row = rows(db)[nudge_id]
    assert (row.status, row.message_ts) == (NudgeStatus.SENT, ghost["ts"])


def test_the_dm_of_the_meeting_before_it_moved_is_not_taken_for_the_new_reminder(running_app: RunningApp):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    start = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in New York
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=start.date(), meeting=start + timedelta(minutes=30))
        dispatch(running_app)  # sooner than the lead: the reminder goes at once
        [first] = [c for c in posts(fake) if "Your next meeting is at" in c.params["text"]]
        clock.shift(timedelta(minutes=2))
        opened = len(fake.calls_to("views.open"))
        assert running_app.slack.command("meeting", user_id="U2").status_code == 200  # `/lost meeting`
        modal = fake.wait_for("views.open", opened + 1)[-1]
        moved = start + timedelta(minutes=45)
        assert (
            running_app.slack.json(
                running_app.slack.interact(
                    view_submission_payload(
                        modal.response["view"], ri.state(next_meeting_at=ri.datetimepicker(moved)), user_id="U2"
                    )
                )
            )
            == {}
        )
        running_app.settle()
        # The reminder for the moved meeting is claimed by an instance that dies before posting it.
        [ghost_claim] = claim_as_ghost(db, utcnow())
        assert ghost_claim.kind == NudgeKind.PRE_MEETING
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        dispatcher.run_once()
    reminders = [c for c in posts(fake) if "Your next meeting is at" in c.params["text"]]
    assert len(reminders) == 2, "the rep must get the reminder for the meeting as it is now"
    assert "11:45 AM" in blocks_text(reminders[1].params["blocks"])
    assert nudges(running_app)["pre_meeting"].message_ts == reminders[1].response["ts"]


def test_a_button_on_the_reminder_before_the_meeting_moved_does_not_settle_the_new_one(running_app: RunningApp):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    start = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in New York
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=start.date(), meeting=start + timedelta(minutes=30))
        dispatch(running_app)
        [first] = [c for c in posts(fake) if "Your next meeting is at" in c.params["text"]]
        clock.shift(timedelta(minutes=2))
        opened = len(fake.calls_to("views.open"))
        running_app.slack.command("meeting", user_id="U2")
        modal = fake.wait_for("views.open", opened + 1)[-1]
        running_app.slack.interact(
            view_submission_payload(
                modal.response["view"],
                ri.state(next_meeting_at=ri.datetimepicker(start + timedelta(minutes=45))),
                user_id="U2",
            )
        )
        running_app.settle()
        [ghost_claim] = claim_as_ghost(db, utcnow())  # the new reminder: claimed, its instance dies
        old = fake.messages[(first.response["channel"], first.response["ts"])]
        action = next(
            {"type": "button", "action_id": e["action_id"], "block_id": b["block_id"], "value": e["value"]}
            for b in old["blocks"]
            for e in b.get("elements", [])
            if e["action_id"] == "meeting_done"
        )
        running_app.slack.interact(
            block_actions_payload(
                action,
                user_id="U2",
                channel_id=first.response["channel"],
                message=old,
                trigger_id=fake.issue_trigger_id(),
            )
        )
        running_app.settle()
        assert rows(db)[ghost_claim.id].status == NudgeStatus.SENDING  # not taken for the old message
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        dispatcher.run_once()
    assert len([c for c in posts(fake) if "Your next meeting is at" in c.params["text"]]) == 2


# Slack may have posted it anyway -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [dict(status=500), dict(status=502), dict(status=504), dict(error="internal_error"), dict(error="fatal_error")],
    ids=["500", "502", "504", "internal_error", "fatal_error"],
)
def test_a_dm_slack_posted_before_answering_an_error_is_found_not_sent_again(running_app: RunningApp, failure):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        fake.fail_next("chat.postMessage", after=True, **failure)  # posted, then the answer fails
        dispatcher.run_once()
        assert delivered(fake) == {nudge_id: 1} and rows(db)[nudge_id].status == NudgeStatus.SENDING
        dispatcher.run_once()
        assert not fake.calls_to("conversations.history"), "nothing happens before the backoff"
        clock.shift(rules.backoff(1))
        dispatcher.run_once()
        clock.shift(timedelta(hours=2))
        dispatcher.run_once()
    assert len(posts(fake)) == 1 and delivered(fake) == {nudge_id: 1}
    row = rows(db)[nudge_id]
    [(channel, ts)] = [k for k, m in fake.messages.items() if nudge_id_of(m) == nudge_id]
    assert (row.status, row.channel_id, row.message_ts, row.attempts) == (NudgeStatus.SENT, channel, ts, 1)


def test_a_button_pressed_on_a_dm_in_doubt_settles_it_without_a_dm_check(running_app: RunningApp):
    """Slack posted the checklist but answered 500; the rep shares from it before the app checks the DM."""
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        fake.fail_next("chat.postMessage", status=500, after=True)
        dispatcher.run_once()
        assert rows(db)[nudge_id].status == NudgeStatus.SENDING  # in doubt
        [((channel, ts), message)] = [(k, m) for k, m in fake.messages.items() if nudge_id_of(m) == nudge_id]
        user = rows(db)[nudge_id].user_id
        action = next(
            {"type": "button", "action_id": e["action_id"], "block_id": b["block_id"], "value": e["value"]}
            for b in message["blocks"]
            for e in b.get("elements", [])
            if e.get("action_id") == "checklist_share"
        )
        payload = block_actions_payload(
            action, user_id=user, channel_id=channel, message=message, trigger_id=fake.issue_trigger_id()
        )
        assert running_app.slack.interact(payload).status_code == 200
        running_app.settle()
        row = rows(db)[nudge_id]
        assert (row.status, row.channel_id, row.message_ts) == (NudgeStatus.SENT, channel, ts)
        clock.shift(rules.backoff(1) + timedelta(hours=1))
        dispatcher.run_once()
    assert not fake.calls_to("conversations.history")  # nothing left to check
    assert len([c for c in posts(fake) if c.params["channel"] == user]) == 1  # (the other post: the share)


def test_a_button_pressed_on_the_dm_of_an_instance_that_died_settles_it(running_app: RunningApp):
    """The instance posted and died before writing it down; the rep answers before the lease runs out."""
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        [nudge] = claim_as_ghost(db, utcnow())
        ghost = post_as(fake, nudge)
        message = fake.messages[(ghost["channel"], ghost["ts"])]
        action = {
            "type": "button",
            "action_id": "checklist_share",
            "block_id": "nudge_actions",
            "value": str(nudge.review_id),
        }
        payload = block_actions_payload(
            action,
            user_id=nudge.user_id,
            channel_id=ghost["channel"],
            message=message,
            trigger_id=fake.issue_trigger_id(),
        )
        assert running_app.slack.interact(payload).status_code == 200
        running_app.settle()
        assert rows(db)[nudge_id].status == NudgeStatus.SENT
        clock.shift(dispatcher.lease + timedelta(hours=1))
        dispatcher.run_once()
    assert len([c for c in posts(fake) if c.params["channel"] == nudge.user_id]) == 1
    assert not fake.calls_to("conversations.history")


# The app's token or setup ------------------------------------------------------------------------------


def test_a_revoked_token_stops_sending_and_the_backlog_goes_out_once_it_is_fixed(running_app: RunningApp, caplog):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        ids = seed(running_app, 3)
        fake.bot_token = "xoxb-the-new-one"  # an admin rotated the token; the app still has the old one
        with caplog.at_level(logging.ERROR, logger="coach.nudges.dispatcher"):
            dispatcher.run_once()
        assert [c.response["error"] for c in posts(fake)] == ["invalid_auth"]  # one try, not one per nudge
        assert any("invalid_auth" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
        for _ in range(5):  # still refused: it keeps trying, less and less often, and fails nothing
            clock.shift(APP_PAUSE_CAP)
            dispatcher.run_once()
        assert {n.status for n in rows(db).values()} == {NudgeStatus.PENDING}
        assert {n.attempts for n in rows(db).values()} == {0}
        fake.bot_token = BOT_TOKEN  # fixed
        clock.shift(APP_PAUSE_CAP)
        dispatcher.run_once()
    assert delivered(fake) == {i: 1 for i in ids}
    assert {n.status for n in rows(db).values()} == {NudgeStatus.SENT}


@pytest.mark.parametrize("error", ["token_revoked", "token_expired", "missing_scope", "no_permission", "not_authed"])
def test_an_auth_or_scope_error_pauses_every_send_instead_of_failing_nudges(running_app: RunningApp, error):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        ids = seed(running_app, 3)
        fake.fail_next("chat.postMessage", error=error)
        dispatcher.run_once()
        assert len(posts(fake)) == 1
        row = rows(db)[ids[0]]
        assert (row.status, row.attempts, row.last_error) == (NudgeStatus.PENDING, 0, error)
        dispatcher.run_once()
        assert len(posts(fake)) == 1, "no more sends while paused"
        clock.shift(rules.backoff(1))
        dispatcher.run_once()
    assert delivered(fake) == {i: 1 for i in ids}


@pytest.mark.parametrize("error", ["channel_not_found", "cannot_dm_bot", "user_disabled", "is_archived"])
def test_an_error_about_the_rep_fails_only_their_nudge(running_app: RunningApp, error):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False):
        first, second = seed(running_app, 2)
        fake.fail_next("chat.postMessage", error=error)
        dispatcher.run_once()
    assert delivered(fake) == {second: 1}
    stored = rows(db)
    assert (stored[first].status, stored[first].last_error) == (NudgeStatus.FAILED, error)
    assert stored[second].status == NudgeStatus.SENT


def test_an_unrecognised_error_is_retried_with_backoff_then_failed_with_its_name(running_app: RunningApp):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    max_attempts = running_app.coach.settings.nudge_max_attempts
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        fake.fail_next("chat.postMessage", error="brand_new_error", times=100)
        for attempt in range(1, max_attempts + 2):
            dispatcher.run_once()
            clock.shift(rules.backoff(attempt))
    assert len(posts(fake)) == max_attempts
    row = rows(db)[nudge_id]
    assert (row.status, row.attempts, row.last_error) == (NudgeStatus.FAILED, max_attempts, "brand_new_error")


# Rate limits --------------------------------------------------------------------------------------------


def test_a_429_holds_back_the_rest_of_the_batch_until_retry_after(running_app: RunningApp):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        ids = seed(running_app, 5)
        fake.fail_next("chat.postMessage", status=429, retry_after=30)
        dispatcher.run_once()
        assert [c.status for c in posts(fake)] == [429]  # not four more sends into the same limit
        assert {n.status for n in rows(db).values()} == {NudgeStatus.PENDING}
        assert {n.due_at for n in rows(db).values()} == {START + timedelta(seconds=30)}
        clock.shift(timedelta(seconds=29))
        dispatcher.run_once()
        assert len(posts(fake)) == 1
        clock.shift(timedelta(seconds=1))
        dispatcher.run_once()
    assert [c.status for c in posts(fake)] == [429] + [200] * 5
    assert delivered(fake) == {i: 1 for i in ids}
    assert {n.attempts for n in rows(db).values()} == {0}


def test_checking_dms_after_a_crash_keeps_to_slacks_tier_3_pace(running_app: RunningApp):
    fake, db = running_app.slack.fake, running_app.coach.db
    settings = running_app.coach.settings
    clock_s = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # a monotonic clock that moves only when the limiter waits
        slept.append(seconds)
        clock_s[0] += seconds

    dispatcher = Dispatcher(
        db,
        make_client(BOT_TOKEN, settings.slack_api_url, retries="none"),
        DispatchPolicy(
            batch_size=settings.nudge_batch_size,
            max_attempts=settings.nudge_max_attempts,
            lease=timedelta(seconds=settings.nudge_lease_seconds),
            messages_per_second=0,
            locale_default="en",
            sharing_available=True,
            lookups_per_minute=50,
        ),
        clock=utcnow,
        monotonic=lambda: clock_s[0],
        sleep=sleep,
    )
    with time_machine.travel(START, tick=False) as clock:
        ids = seed(running_app, 6)
        claim_as_ghost(db, utcnow(), limit=6)
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        dispatcher.run_once()
    lookups = [c for c in fake.calls if c.method in ("conversations.open", "conversations.history")]
    assert len(lookups) == 12  # one DM opened and read per rep
    assert slept == pytest.approx([60 / 50] * 11)  # evenly spaced at 50 a minute
    assert delivered(fake) == {i: 1 for i in ids}


def test_a_429_while_checking_dms_waits_for_retry_after(running_app: RunningApp):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        ids = seed(running_app, 4)
        claim_as_ghost(db, utcnow(), limit=4)
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        fake.fail_next("conversations.history", status=429, retry_after=20)
        dispatcher.run_once()
        assert [c.status for c in fake.calls_to("conversations.history")] == [429]
        assert posts(fake) == [] and {n.status for n in rows(db).values()} == {NudgeStatus.SENDING}
        clock.shift(timedelta(seconds=19))
        dispatcher.run_once()
        assert len(fake.calls_to("conversations.history")) == 1
        clock.shift(timedelta(seconds=1))
        dispatcher.run_once()
    assert [c.status for c in fake.calls_to("conversations.history")] == [429] + [200] * 4
    assert delivered(fake) == {i: 1 for i in ids}


# One bad nudge -------------------------------------------------------------------------------------------


def test_a_nudge_whose_message_cannot_be_built_fails_alone(running_app: RunningApp, caplog):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False):
        first, broken, last = seed(running_app, 3)
        with db.session() as s:  # a zone Python does not know, e.g. written by an older version
            review_id = s.get(Nudge, broken).review_id
            s.execute(update(Review).where(Review.id == review_id).values(timezone="Mars/Olympus_Mons"))
        with caplog.at_level(logging.ERROR, logger="coach.nudges.dispatcher"):
            dispatcher.run_once()
    assert delivered(fake) == {first: 1, last: 1}
    stored = rows(db)
    assert (stored[broken].status, stored[broken].last_error) == (NudgeStatus.FAILED, "ZoneInfoNotFoundError")
    assert {stored[first].status, stored[last].status} == {NudgeStatus.SENT}
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.exc_info is not None and str(broken) in logged.getMessage()


def test_a_nudge_whose_dm_can_never_be_checked_ends_failed_and_is_never_sent_twice(running_app: RunningApp):
    fake, db, dispatcher = running_app.slack.fake, running_app.coach.db, running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        fake.fail_next("chat.postMessage", status=500, after=True)  # posted, then a 500: in doubt
        fake.fail_next("conversations.history", status=500, times=1000)  # and the DM can never be read
        dispatcher.run_once()
        pauses = []
        for _ in range(10):
            row = rows(db)[nudge_id]
            if row.status != NudgeStatus.SENDING:
                break
            pauses.append(row.due_at - utcnow())
            clock.move_to(row.due_at + timedelta(seconds=1))
            dispatcher.run_once()
    row = rows(db)[nudge_id]
    assert row.status == NudgeStatus.FAILED and row.last_error.startswith("unverifiable")
    assert row.attempts == running_app.coach.settings.nudge_max_attempts
    assert pauses == sorted(pauses) and pauses[-1] > pauses[0]  # looked again less and less often
    assert len(posts(fake)) == 1  # never sent a second time
