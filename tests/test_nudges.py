"""The schedule after a loss, end to end: reviews saved over HTTP, the clock moved, nudges sent and answered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from coach.models import NormalWeek, Nudge, RecontactNote, Review, SelfCheck
from coach.nudges.pacing import RateLimiter
from tests import review_input as ri
from tests.blockkit import message_problems, view_problems
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.slack_signing import block_actions_payload, view_submission_payload
from tests.test_review_flow import Rep, blocks_text, form_of

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


def nudges(app: RunningApp) -> dict[str, Nudge]:
    with app.coach.db.session() as s:
        return {n.kind: n for n in s.scalars(select(Nudge).order_by(Nudge.id))}


def dispatch(app: RunningApp):
    return app.application.dispatcher.run_once()


def review_saved(app: RunningApp, user_id: str, *, lost_on: date, meeting: datetime, **commit) -> Review:
    rep = Rep(app, user_id)
    before = len(app.slack.fake.calls_to("chat.postMessage"))
    rep.lost("Acme renewal")
    assert rep.submit(ri.facts(lost_on=lost_on))["response_action"] == "update"
    assert rep.submit(ri.lenses())["response_action"] == "update"
    assert rep.submit(ri.reasons())["response_action"] == "update"
    assert rep.submit(ri.commit(meeting=meeting, **commit)) == {}
    app.slack.fake.wait_for("chat.postMessage", before + (2 if commit.get("share", True) else 1))
    app.settle()
    with app.coach.db.session() as s:
        return s.scalars(select(Review).order_by(Review.id.desc())).first()


def posts_since(app: RunningApp, before: int):
    return app.slack.fake.calls_to("chat.postMessage")[before:]


def assert_valid(call) -> None:
    assert call.response["ok"], call.response
    assert message_problems(call.params["blocks"], call.params.get("text")) == []


def click(
    app: RunningApp, user_id: str, post, action_id: str, *, value: str | None = None, selected: str | None = None
) -> None:
    """Press a button (or pick an option) on a message the app sent, as Slack sends it."""
    message = post.response["message"]
    for block in message["blocks"]:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("action_id") == action_id:
                action = {"type": element["type"], "action_id": action_id, "block_id": block["block_id"]}
                if selected is not None:
                    action["selected_option"] = next(
                        o for o in element["options"] if o["value"].endswith(f":{selected}")
                    )
                else:
                    action["value"] = value if value is not None else element.get("value")
                payload = block_actions_payload(
                    action,
                    user_id=user_id,
                    channel_id=post.response["channel"],
                    message=message,
                    trigger_id=app.slack.fake.issue_trigger_id(),
                )
                assert app.slack.interact(payload).status_code == 200
                return
    raise AssertionError(f"no {action_id} in the message")


def test_every_nudge_for_a_tokyo_rep_in_japanese_at_the_right_local_times(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # Tue 10:00 Tokyo
    meeting = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)  # Wed 14:00 Tokyo
    with time_machine.travel(start, tick=False) as clock:
        review = review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=meeting)
        planned = nudges(running_app)
        assert planned["finish_review"].status == "cancelled"  # the review was finished in time
        assert planned["pre_meeting"].due_at == meeting - timedelta(minutes=60)
        assert planned["checklist"].due_at == start + timedelta(days=2)
        assert planned["self_check"].due_at == start + timedelta(days=7)  # Tue 10:00 Tokyo
        assert planned["recontact"].due_at == datetime(2026, 9, 10, 1, 0, tzinfo=UTC)  # Thu 10:00 Tokyo
        assert planned["followup_call"].due_at == start + timedelta(days=1)  # the next business day, 10:00
        # The meeting is tomorrow: the day before is today, so the prep list goes at once.
        assert planned["prep"].due_at == start
        assert dispatch(running_app).claimed == 1
        clock.move_to(start + timedelta(days=1))
        dispatch(running_app)  # the follow-up call
        before = len(fake.calls_to("chat.postMessage"))

        clock.move_to(meeting - timedelta(minutes=60))
        dispatch(running_app)
        [pre] = posts_since(running_app, before)
        assert_valid(pre)
        text = blocks_text(pre.params["blocks"])
        assert "決裁者確認を必ず入れる" in text and "14:00" in text
        assert "課題を深掘りする質問" in text  # the four-point prep checklist

        clock.move_to(start + timedelta(days=2))
        dispatch(running_app)
        [_, checklist] = posts_since(running_app, before)
        assert_valid(checklist)
        # Only what is still open (METHOD §3): no ticks for what the form already required.
        assert "結論を急がない" in blocks_text(checklist.params["blocks"])
        assert ":white_check_mark:" not in blocks_text(checklist.params["blocks"])

        clock.move_to(start + timedelta(days=7))
        dispatch(running_app)
        [_, _, self_check] = posts_since(running_app, before)
        assert_valid(self_check)
        assert "改善した一点は守れているか" in blocks_text(self_check.params["blocks"])

        clock.move_to(datetime(2026, 9, 10, 1, 0, tzinfo=UTC))
        dispatch(running_app)
        [_, _, _, recontact] = posts_since(running_app, before)
        assert_valid(recontact)
        assert "導入事例" in blocks_text(recontact.params["blocks"])
        # The reason was asked on the follow-up call: the re-contact asks what changed since.
        assert "前回お話ししてから、状況はどう変わりましたか" in blocks_text(recontact.params["blocks"])
        assert "今回見送った最大の理由はどこでしたか" not in blocks_text(recontact.params["blocks"])
        assert dispatch(running_app).claimed == 0  # never twice
    assert {n.status for n in nudges(running_app).values()} == {"sent", "cancelled"}
    assert all(p.params["channel"] == "U1" for p in posts_since(running_app, before))
    assert review.id


def test_new_york_rep_across_the_daylight_saving_change_in_english(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # Fri 10:00 EST
    meeting = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Mon 10:00 EDT (clocks went forward Sunday)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 6), meeting=meeting)
        planned = nudges(running_app)
        # Lost Friday: +2 days is Sunday 10:00 EST... on Sunday the clocks changed, it is 11:00 EDT: still fine.
        assert planned["checklist"].due_at == start + timedelta(days=2)
        # +7 days is Friday 13 March 11:00 EDT (the same UTC instant): a weekday, outside quiet hours.
        assert planned["self_check"].due_at == start + timedelta(days=7)
        # Re-contact six months later: Sunday 6 September → Monday 7 September, 10:00 EDT.
        assert planned["recontact"].due_at == datetime(2026, 9, 7, 14, 0, tzinfo=UTC)
        before = len(fake.calls_to("chat.postMessage"))
        clock.move_to(meeting - timedelta(minutes=60))
        dispatch(running_app)
        # The prep list (due at once: Friday is the business day before) and the checklist (Sunday) came due on
        # the way and went first; one message a second per rep, so the meeting reminder follows.
        for _ in range(2):
            clock.shift(timedelta(seconds=2))
            dispatch(running_app)
        [pre] = [c for c in posts_since(running_app, before) if "Your next meeting is at" in c.params["text"]]
        assert "Mon, Mar 9, 2026, 10:00 AM (America/New_York)" in blocks_text(pre.params["blocks"])
        assert "Always confirm the decision maker" in blocks_text(pre.params["blocks"])
        assert "Discovery" in blocks_text(pre.params["blocks"])


def test_quiet_hours_move_the_self_check_to_the_next_weekday_morning(running_app: RunningApp):
    # Lost Friday 21:30 Tokyo: a week later is Friday night, in quiet hours → Monday 10:00 Tokyo.
    start = datetime(2026, 3, 13, 12, 30, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        review_saved(running_app, "U1", lost_on=date(2026, 3, 13), meeting=start + timedelta(days=1))
        planned = nudges(running_app)
    assert planned["self_check"].due_at == datetime(2026, 3, 23, 1, 0, tzinfo=UTC)
    # The 3-day checklist would land Sunday 21:30: it waits for the end of quiet hours, 08:00.
    assert planned["checklist"].due_at == datetime(2026, 3, 15, 23, 0, tzinfo=UTC)


def test_meeting_sooner_than_the_lead_gets_the_reminder_at_once(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=start + timedelta(minutes=20))
        assert nudges(running_app)["pre_meeting"].due_at == start
        before = len(fake.calls_to("chat.postMessage"))
        dispatch(running_app)
        assert len(posts_since(running_app, before)) == 1


def test_after_downtime_a_useful_nudge_is_sent_late_once_and_a_begun_meeting_expires(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    meeting = start + timedelta(days=1)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=meeting)
        before = len(fake.calls_to("chat.postMessage"))
        clock.move_to(start + timedelta(days=3))  # the app was down for three days; it is back at 21:00 in New York
        dispatch(running_app)
        assert posts_since(running_app, before) == []  # late is no reason to DM the rep at night
        assert nudges(running_app)["checklist"].due_at == datetime(2026, 3, 13, 12, 0, tzinfo=UTC)  # 08:00
        clock.move_to(datetime(2026, 3, 13, 12, 0, tzinfo=UTC))
        dispatch(running_app)
        dispatch(running_app)
    sent = posts_since(running_app, before)
    assert len(sent) == 1 and "Within 3 days" in blocks_text(sent[0].params["blocks"])
    planned = nudges(running_app)
    assert planned["pre_meeting"].status == "expired"
    assert planned["checklist"].status == "sent"


def test_unfinished_review_gets_one_reminder_that_reopens_the_draft(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 10:00 Tokyo
    with time_machine.travel(start, tick=False) as clock:
        rep = Rep(running_app, "U1")
        rep.lost("Globex")
        rep.submit(ri.facts(lost_on=date(2026, 3, 10), deal="Globex"))
        rep.close(ri.lenses(problem="missed"))
        clock.move_to(start + timedelta(hours=20))  # 06:00 Tokyo: quiet hours until 08:00
        assert dispatch(running_app).claimed == 0
        clock.move_to(start + timedelta(hours=22))
        dispatch(running_app)
        dispatch(running_app)
        [reminder] = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "U1"]
        assert_valid(reminder)
        assert "Globex" in reminder.params["text"]
        click(running_app, "U1", reminder, "draft_resume")
        form = form_of(running_app, fake.wait_for("views.open", 2)[-1])
        assert form["callback_id"] == "review_step"
        assert "lenses" in form["private_metadata"]


def test_self_check_answers_are_saved_once_and_shown_in_place_with_a_volume_warning(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=start + timedelta(days=1))
        with running_app.coach.db.session() as s:  # the rep's normal week: 10 meetings
            s.add(NormalWeek(team_id="T1", user_id="U2", meetings=10, appointments=4, prospects=5, updated_at=start))
        second = review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=start + timedelta(days=2))
        clock.move_to(start + timedelta(days=8, hours=13))  # Wednesday 10:00 in New York
        for _ in range(8):  # one message a second per rep: everything due goes, the self-checks among it
            dispatch(running_app)
            clock.shift(timedelta(seconds=2))
        posts = [c for c in fake.calls_to("chat.postMessage") if "self-check" in c.params["text"]]
        post = next(p for p in posts if f"{second.id}:" in str(p.params["blocks"]))
        click(running_app, "U2", post, "self_check_repeated:no")
        click(running_app, "U2", post, "self_check_repeated:no")  # a double click
        click(running_app, "U2", post, "self_check_kept:yes")
        click(running_app, "U2", post, "self_check_reaction:better")
        click(running_app, "U2", post, "self_check_meetings", selected="3")
        running_app.settle()
    with running_app.coach.db.session() as s:
        checks = s.scalars(select(SelfCheck).where(SelfCheck.review_id == second.id)).all()
    assert len(checks) == 1
    check = checks[0]
    assert (check.repeated_mistake, check.kept_change, check.reaction, check.meetings) == ("no", "yes", "better", 3)
    updates = fake.calls_to("chat.update")
    assert len(updates) == 5 and all(u.response["ok"] for u in updates)
    assert updates[-1].params["ts"] == post.response["ts"]
    final = blocks_text(updates[-1].params["blocks"])
    assert "Customer meetings: 3 this week, normal week 10" in final
    assert "fell against your normal week" in final
    assert message_problems(updates[-1].params["blocks"], updates[-1].params.get("text")) == []


def test_meeting_moved_replans_the_reminder(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    meeting = start + timedelta(hours=3)
    new_meeting = start + timedelta(days=2)
    with time_machine.travel(start, tick=True) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=meeting)
        clock.move_to(meeting - timedelta(minutes=59))
        dispatch(running_app)  # the prep list, due at once, goes first
        clock.shift(timedelta(seconds=2))
        dispatch(running_app)
        pre = [c for c in fake.calls_to("chat.postMessage") if "Your next meeting is at" in c.params["text"]][0]
        click(running_app, "U2", pre, "meeting_moved")
        modal = fake.wait_for("views.open", 2)[-1]
        assert modal.response["ok"] and view_problems(modal.params["view"]) == []
        view = modal.response["view"]
        resp = running_app.slack.interact(
            view_submission_payload(view, ri.state(next_meeting_at=ri.datetimepicker(new_meeting)), user_id="U2")
        )
        assert running_app.slack.json(resp) == {}
        fake.wait_for("chat.update")
        planned = nudges(running_app)["pre_meeting"]
        assert planned.status == "pending" and planned.due_at == new_meeting - timedelta(minutes=60)
        clock.move_to(new_meeting - timedelta(minutes=60))
        for _ in range(4):  # the follow-up call, the prep list and the 3-day message came due on the way
            dispatch(running_app)
            clock.shift(timedelta(seconds=2))
        reminders = [c for c in fake.calls_to("chat.postMessage") if "Your next meeting is at" in c.params["text"]]
        assert len(reminders) == 2
        click(running_app, "U2", reminders[1], "meeting_done")
        click(running_app, "U2", reminders[1], "meeting_done")
        running_app.settle()
    assert nudges(running_app)["pre_meeting"].acted_at is not None
    assert "Done." in blocks_text(fake.calls_to("chat.update")[-1].params["blocks"])


def test_meeting_in_the_past_is_refused_inline(running_app: RunningApp):
    fake = running_app.slack.fake
    review_saved(running_app, "U2", lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1))
    assert running_app.slack.command("meeting", user_id="U2").status_code == 200
    modal = fake.wait_for("views.open", 2)[-1]
    resp = running_app.slack.interact(
        view_submission_payload(
            modal.response["view"],
            ri.state(next_meeting_at=ri.datetimepicker(datetime.now(UTC) - timedelta(hours=1))),
            user_id="U2",
        )
    )
    body = running_app.slack.json(resp)
    assert body["response_action"] == "errors" and "future" in body["errors"]["next_meeting_at"]


def test_lost_meeting_without_a_review_says_so(running_app: RunningApp):
    answer = running_app.slack.answer("meeting", user_id="U2")
    assert answer.response_type == "ephemeral" and "no saved review" in answer.text


def test_checklist_share_button_shares_once_and_ticks_the_item(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=True) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=start + timedelta(days=5), share=False)
        clock.move_to(start + timedelta(days=3, hours=13))  # 10:00 in New York
        for _ in range(3):  # the follow-up call and the prep list came due on the way
            dispatch(running_app)
            clock.shift(timedelta(seconds=2))
        checklist = [c for c in fake.calls_to("chat.postMessage") if "still open" in c.params["text"]][0]
        assert "checklist_share" in str(checklist.params["blocks"])
        click(running_app, "U2", checklist, "checklist_share")
        click(running_app, "U2", checklist, "checklist_share")
        running_app.settle()
    shares = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == MANAGER_CHANNEL]
    assert len(shares) == 1
    last = fake.calls_to("chat.update")[-1]
    assert "checklist_share" not in str(last.params["blocks"])
    # Only what is still open: the manager talk and the one change, never a list of ticks.
    shown = blocks_text(last.params["blocks"])
    assert "Talk it through with your manager" in shown and ":white_check_mark:" not in shown


def test_recontact_records_what_the_customer_said_and_plans_the_next(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=True) as clock:
        review = review_saved(
            running_app, "U1", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=1), recontact="one_year"
        )
        clock.move_to(datetime(2027, 3, 10, 1, 0, tzinfo=UTC))
        dispatch(running_app)
        post = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.params["text"].startswith("「") or "Acme renewal" in c.params["text"]
        ][-1]
        click(running_app, "U1", post, "recontact_record")
        modal = fake.wait_for("views.open", 2)[-1]
        assert modal.response["ok"] and view_problems(modal.params["view"]) == []
        values = {
            "customer_said": {"customer_said": ri.text("予算が来期に回った")},
            **ri.state(recontact_choice=ri.radio("six_months")),
        }
        resp = running_app.slack.interact(view_submission_payload(modal.response["view"], values, user_id="U1"))
        assert running_app.slack.json(resp) == {}
        fake.wait_for("chat.update")
    with running_app.coach.db.session() as s:
        note = s.scalar(select(RecontactNote))
        saved = s.get(Review, review.id)
    assert note.customer_said == "予算が来期に回った" and note.next_recontact_on == date(2027, 9, 10)
    assert saved.customer_stated_reason == "予算が来期に回った"
    planned = nudges(running_app)["recontact"]
    assert planned.status == "pending" and planned.due_at == datetime(2027, 9, 10, 1, 0, tzinfo=UTC)


def test_another_reps_button_changes_nothing(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=True) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=start + timedelta(days=1))
        clock.move_to(start + timedelta(days=8, hours=13))  # 10:00 in New York
        dispatch(running_app)
        post = [c for c in fake.calls_to("chat.postMessage") if "self-check" in c.params["text"]][0]
        click(running_app, "U1", post, "self_check_kept:no")  # U1 replays U2's button
        running_app.settle()
    with running_app.coach.db.session() as s:
        assert s.scalar(select(SelfCheck)) is None
    assert fake.calls_to("chat.update") == []


def test_rate_limiter_spaces_sends():
    slept: list[float] = []
    clock = [0.0]
    limiter = RateLimiter(
        10, monotonic=lambda: clock[0], sleep=lambda s: (slept.append(s), clock.__setitem__(0, clock[0] + s))
    )
    for _ in range(5):
        assert limiter.wait()
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])
    # A turn past the caller's deadline is refused at once and left for the next caller.
    assert not limiter.wait(until=clock[0] + 0.05)
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])
    assert limiter.wait(until=clock[0] + 0.1)
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.1])
