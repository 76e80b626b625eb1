"""The follow-through after a loss end to end (issue 9: METHOD §3-§5), through /slack/events and the fake Slack,
in Japanese and English, with the clock moved: the follow-up call the next business day, the 3-day message of
open items with keep / revise, the prep list the day before the meeting, "not booked yet", and the activity
guard against a normal week. A second app instance on the same database carries on where the first stopped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from coach.models import CustomerFollowUp, NormalWeek, Review, SelfCheck
from tests import review_input as ri
from tests.blockkit import view_problems
from tests.conftest import MANAGER_CHANNEL, RunningApp, serve_app
from tests.slack_signing import block_actions_payload, event_body, view_submission_payload
from tests.test_home import buttons, opened_modal, press
from tests.test_nudges import assert_valid, click, dispatch, nudges, posts_since, review_saved
from tests.test_review_flow import blocks_text

MANAGER = "UMGR"


@pytest.fixture
def settings_env(settings_env):
    return {**settings_env, "manager_user_ids": MANAGER}


@pytest.fixture
def fake_slack(fake_slack):
    fake_slack.add_user(MANAGER, tz="Asia/Tokyo", locale="en-US", name="Mana Ger")
    fake_slack.channel_members[MANAGER_CHANNEL] = [MANAGER, "UBOT"]
    return fake_slack


def dispatch_all(app: RunningApp, clock, rounds: int = 4) -> None:
    """Send everything due: one message a second per rep, so a few rounds a couple of seconds apart."""
    for _ in range(rounds):
        dispatch(app)
        clock.shift(timedelta(seconds=2))


def calls_with(posts: list, action_id: str) -> list:
    """The messages that carry a button of this action: which nudge a message is."""
    return [p for p in posts if f"'action_id': '{action_id}'" in str(p.params["blocks"])]


def posted(app: RunningApp, words: str, user_id: str | None = None) -> list:
    return [
        c
        for c in app.slack.fake.calls_to("chat.postMessage")
        if words in c.params.get("text", "") and (user_id is None or c.params["channel"] == user_id)
    ]


def submit_modal(app: RunningApp, values: dict, user_id: str, *, opened_before: int) -> dict:
    """Submit the modal the last click opened, as Slack does; the app's answer to the submission."""
    modal = app.slack.fake.wait_for("views.open", opened_before + 1)[-1]
    assert modal.response["ok"] and view_problems(modal.params["view"]) == []
    resp = app.slack.interact(view_submission_payload(modal.response["view"], values, user_id=user_id))
    return app.slack.json(resp)


def opened(app: RunningApp) -> int:
    return len(app.slack.fake.calls_to("views.open"))


def updates_of(app: RunningApp, post) -> list:
    return [c for c in app.slack.fake.calls_to("chat.update") if c.params["ts"] == post.response["ts"]]


def followup_values(biggest: str | None, chosen=None, priority=None, words=None) -> dict:
    return {
        "biggest_reason": {"biggest_reason": ri.text(biggest)},
        "would_have_chosen": {"would_have_chosen": ri.text(chosen)},
        "priority_now": {"priority_now": ri.text(priority)},
        "their_words": {"their_words": ri.text(words)},
    }


def normal_week_values(meetings, appointments, prospects) -> dict:
    return {
        "normal_meetings": {"normal_meetings": ri.number(meetings)},
        "normal_appointments": {"normal_appointments": ri.number(appointments)},
        "normal_prospects": {"normal_prospects": ri.number(prospects)},
    }


def open_home(app: RunningApp, user_id: str) -> dict:
    app.settle()
    before = len(app.slack.fake.calls_to("views.publish"))
    body = event_body({"type": "app_home_opened", "user": user_id, "channel": "D" + user_id, "tab": "home"})
    assert app.slack.post(body, "application/json").status_code == 200
    app.settle()
    calls = [c for c in app.slack.fake.calls_to("views.publish")[before:] if c.params["user_id"] == user_id]
    assert calls and calls[-1].response["ok"] and view_problems(calls[-1].params["view"]) == []
    return calls[-1].response["view"]


def click_home(app: RunningApp, user_id: str, home: dict, action_id: str) -> None:
    for block in home["blocks"]:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("action_id") == action_id:
                action = {"type": "button", "action_id": action_id, "block_id": block["block_id"]}
                action["value"] = element.get("value")
                payload = block_actions_payload(
                    action, user_id=user_id, view=home, trigger_id=app.slack.fake.issue_trigger_id()
                )
                assert app.slack.interact(payload).status_code == 200
                return
    raise AssertionError(f"no {action_id} on the Home")


# 1. The follow-up call ------------------------------------------------------------------------------


def test_follow_up_call_the_next_business_day_in_japanese_recorded_beside_the_reps_reasons(running_app: RunningApp):
    fake = running_app.slack.fake
    friday = datetime(2026, 3, 13, 6, 0, tzinfo=UTC)  # Fri 15:00 Tokyo
    monday_ten = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # Mon 10:00 Tokyo
    with time_machine.travel(friday, tick=False) as clock:
        review = review_saved(running_app, "U1", lost_on=date(2026, 3, 13), meeting=friday + timedelta(days=10))
        summary = posted(running_app, "Acme renewal", "U1")[0]
        assert "翌営業日に失注後フォロー" in blocks_text(summary.params["blocks"])
        assert nudges(running_app)["followup_call"].due_at == monday_ten
        clock.move_to(monday_ten - timedelta(minutes=1))
        before = len(fake.calls_to("chat.postMessage"))
        dispatch(running_app)  # the 3-day message (due Sunday) goes now; the call is not due before 10:00
        assert calls_with(posts_since(running_app, before), "followup_record") == []
        clock.move_to(monday_ten)
        dispatch(running_app)
        [call] = calls_with(posts_since(running_app, before), "followup_record")
        assert_valid(call)
        shown = blocks_text(call.params["blocks"])
        assert "「Acme renewal」" in shown and "まず感謝を伝え" in shown
        for question in ("今回見送った最大の理由はどこでしたか", "比較された中で決め手になった点は何でしたか"):
            assert question in shown

        n = opened(running_app)
        click(running_app, "U1", call, "followup_record")
        # The biggest reason is required: an inline error, nothing lost.
        body = submit_modal(running_app, followup_values(" "), "U1", opened_before=n)
        assert body["response_action"] == "errors" and "入力" in body["errors"]["biggest_reason"]
        body = submit_modal(
            running_app,
            followup_values(
                "セキュリティ対策に予算を回した",
                "導入後の運用まで見せてほしかった",
                "情報漏えい対策",
                "「御社の提案は良かった」",
            ),
            "U1",
            opened_before=n,
        )
        assert body == {}
        running_app.settle()
    with running_app.coach.db.session() as s:
        row = s.get(CustomerFollowUp, review.id)
        saved = s.get(Review, review.id)
    assert (row.outcome, row.biggest_reason, row.priority_now) == (
        "recorded",
        "セキュリティ対策に予算を回した",
        "情報漏えい対策",
    )
    assert saved.customer_stated_reason == "セキュリティ対策に予算を回した"
    assert nudges(running_app)["followup_call"].acted_at is not None
    # The follow-up DM now shows what the customer said beside the rep's surface and underlying reasons...
    [shown_call] = updates_of(running_app, call)[-1:]
    text = blocks_text(shown_call.params["blocks"])
    assert "顧客が語った表向きの理由" in text and "自分が挙げた表向きの理由" in text
    assert "セキュリティ対策に予算を回した" in text and "followup_record" in str(shown_call.params["blocks"])
    # ... and so does the summary, updated in place.
    [shown_summary] = updates_of(running_app, summary)[-1:]
    assert_valid_update(shown_summary)
    assert "セキュリティ対策に予算を回した" in blocks_text(shown_summary.params["blocks"])
    # The Home shows it beside the rep's reasons too.
    home = open_home(running_app, "U1")
    assert "セキュリティ対策に予算を回した" in blocks_text(home["blocks"])

    # Six months on, the re-contact asks what changed since, not the reason again.
    with time_machine.travel(datetime(2026, 9, 14, 1, 0, tzinfo=UTC), tick=False):
        before = len(fake.calls_to("chat.postMessage"))
        dispatch(running_app)
        [recontact] = posts_since(running_app, before)
    shown = blocks_text(recontact.params["blocks"])
    assert "前回お話ししてから、状況はどう変わりましたか" in shown
    assert "今回見送った最大の理由はどこでしたか" not in shown
    assert "セキュリティ対策に予算を回した" in shown


def assert_valid_update(call) -> None:
    from tests.blockkit import message_problems

    assert call.response["ok"], call.response
    assert message_problems(call.params["blocks"], call.params.get("text")) == []


def test_follow_up_call_in_english_across_the_daylight_saving_change_could_not_reach_them(running_app: RunningApp):
    friday = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)  # Fri 16:00 EST
    with time_machine.travel(friday, tick=False) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 6), meeting=friday + timedelta(days=10))
        # Monday 9 March is EDT: 10:00 local is 14:00 UTC.
        assert nudges(running_app)["followup_call"].due_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
        clock.move_to(datetime(2026, 3, 9, 14, 0, tzinfo=UTC))
        dispatch_all(running_app, clock)  # the 3-day message (due Sunday) goes too, one a second
        [call] = posted(running_app, "follow-up call", "U2")
        assert_valid(call)
        shown = blocks_text(call.params["blocks"])
        assert "What was the biggest reason you passed this time?" in shown and "thank them first" in shown
        click(running_app, "U2", call, "followup_unreachable")
        click(running_app, "U2", call, "followup_unreachable")  # a double click
        running_app.settle()
    with running_app.coach.db.session() as s:
        rows = s.scalars(select(CustomerFollowUp)).all()
    assert [(r.review_id, r.outcome, r.biggest_reason) for r in rows] == [(review.id, "unreachable", None)]
    last = updates_of(running_app, call)[-1]
    assert_valid_update(last)
    assert "no call this time" in blocks_text(last.params["blocks"])
    assert "followup_unreachable" not in str(last.params["blocks"])


def test_the_managers_digest_shows_what_customers_said_beside_the_reported_reasons(running_app: RunningApp):
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # Tue 10:00 Tokyo
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=5))
        clock.move_to(start + timedelta(days=1))
        dispatch(running_app)
        [call] = posted(running_app, "", "U1")[-1:]
        n = opened(running_app)
        click(running_app, "U1", call, "followup_record")
        assert submit_modal(running_app, followup_values("Budget moved to security"), "U1", opened_before=n) == {}
        running_app.settle()
        clock.move_to(start + timedelta(days=2))
        answer = running_app.slack.answer("digest", user_id=MANAGER)
        running_app.settle()
    assert answer.response_type == "ephemeral"
    [digest] = [
        c
        for c in running_app.slack.fake.calls_to("chat.postMessage")
        if c.params["channel"] == MANAGER_CHANNEL and "digest" in c.params.get("text", "").lower()
    ][:1]
    assert_valid(digest)
    text = blocks_text(digest.params["blocks"])
    assert "What customers said" in text and "Budget moved to security" in text
    assert "Follow-up calls: 1 recorded, 0 could not be made, of 1 losses" in text


# 2. The 3-day message ---------------------------------------------------------------------------------


def test_the_3_day_message_lists_only_what_is_open_and_revising_the_change_replans_its_reminders(
    running_app: RunningApp,
):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tue 10:00 New York
    meeting = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)  # next Mon 14:00 New York
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=meeting)  # shared at once
        clock.move_to(start + timedelta(days=2))
        dispatch_all(running_app, clock)  # the follow-up call (due Wednesday 10:00) first
        [checklist] = posted(running_app, "what is still open", "U2")
        assert_valid(checklist)
        shown = blocks_text(checklist.params["blocks"])
        assert ":white_large_square:" not in shown and ":white_check_mark:" not in shown  # no ticks
        assert "Share the review" not in shown  # shared already: not listed
        assert "Talk it through with your manager" in shown and "Don't rush to conclusions" in shown

        click(running_app, "U2", checklist, "checklist_manager_talked")
        running_app.settle()
        talked = updates_of(running_app, checklist)[-1]
        assert "Talk it through" not in blocks_text(talked.params["blocks"])

        n = opened(running_app)
        click(running_app, "U2", checklist, "checklist_revise_change")
        two = {**ri.state(change_code=ri.radio("own_words"), change_own=ri.text("1. Ask budget 2. Smile more"))}
        body = submit_modal(running_app, two, "U2", opened_before=n)
        assert body["response_action"] == "errors" and "Exactly one change" in body["errors"]["change_own"]
        body = submit_modal(running_app, ri.state(change_code=ri.radio("question_order")), "U2", opened_before=n)
        assert body == {}
        running_app.settle()
        done = updates_of(running_app, checklist)[-1]
        assert_valid_update(done)
        assert "Nothing is left open" in blocks_text(done.params["blocks"])
        assert "Change only the order of my questions" in blocks_text(done.params["blocks"])
        planned = nudges(running_app)
        assert planned["pre_meeting"].status == "pending" and planned["prep"].status == "pending"
        # The reminders carry the revised change.
        clock.move_to(meeting - timedelta(minutes=60))
        dispatch(running_app)
        clock.shift(timedelta(seconds=2))
        dispatch(running_app)
    [pre] = posted(running_app, "Your next meeting is at", "U2")
    assert "Change only the order of my questions" in blocks_text(pre.params["blocks"])
    assert fake.calls_to("chat.postMessage")


def test_keeping_the_change_in_japanese_and_sharing_from_the_3_day_message(running_app: RunningApp):
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # Tue 10:00 Tokyo
    with time_machine.travel(start, tick=False) as clock:
        review = review_saved(
            running_app, "U1", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=6), share=False
        )
        clock.move_to(start + timedelta(days=2))
        dispatch_all(running_app, clock)
        [checklist] = [p for p in posted(running_app, "3日", "U1") if "checklist_share" in str(p.params["blocks"])]
        shown = blocks_text(checklist.params["blocks"])
        assert "「Acme renewal」" in shown and "結論を急がない" in shown
        assert "マネージャーに振り返りをそのまま共有する" in shown
        click(running_app, "U1", checklist, "checklist_keep_change")
        click(running_app, "U1", checklist, "checklist_share")
        running_app.settle()
    with running_app.coach.db.session() as s:
        saved = s.get(Review, review.id)
    assert saved.change_settled_at is not None and saved.shared_ts not in (None, "sharing")
    last = blocks_text(updates_of(running_app, checklist)[-1].params["blocks"])
    assert "マネージャーと失注内容を話し合う" in last and "結論を急がない" not in last and "checklist_share" not in last


# 4. The prep list ---------------------------------------------------------------------------------------


def test_prep_list_the_business_day_before_the_meeting_then_the_one_change_at_the_lead_time(running_app: RunningApp):
    start = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)  # Wed 10:00 Tokyo
    meeting = datetime(2026, 3, 16, 5, 0, tzinfo=UTC)  # Mon 14:00 Tokyo
    friday_ten = datetime(2026, 3, 13, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U1", lost_on=date(2026, 3, 11), meeting=meeting)
        planned = nudges(running_app)
        assert planned["prep"].due_at == friday_ten and planned["pre_meeting"].due_at == meeting - timedelta(hours=1)
        clock.move_to(friday_ten)
        dispatch_all(running_app, clock)
        [prep] = [p for p in posted(running_app, "", "U1") if "prep_ready" in str(p.params["blocks"])]
        assert_valid(prep)
        shown = blocks_text(prep.params["blocks"])
        for words in (
            "課題を深掘りする質問",
            "失注の原因と真逆の行動を1つ入れる",
            "声が小さくなる",
            "提案が守りに入る",
            "価格交渉を避ける",
        ):
            assert words in shown
        assert "2026年3月16日(月) 14:00" in shown
        click(running_app, "U1", prep, "prep_ready")
        running_app.settle()
        assert nudges(running_app)["prep"].acted_at is not None
        clock.move_to(meeting - timedelta(hours=1))
        dispatch(running_app)
        [pre] = calls_with(posted(running_app, "", "U1"), "meeting_done")
        assert "決裁者確認を必ず入れる" in blocks_text(pre.params["blocks"])


def test_prep_list_in_english_across_the_daylight_saving_change(running_app: RunningApp):
    thursday = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # Thu 10:00 EST
    meeting = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # Tue 09:00 EDT
    monday_ten = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Mon 10:00 EDT
    with time_machine.travel(thursday, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 5), meeting=meeting)
        assert nudges(running_app)["prep"].due_at == monday_ten
        clock.move_to(monday_ten)
        for _ in range(3):  # the follow-up call and the 3-day message came due before it: one a second per rep
            dispatch(running_app)
            clock.shift(timedelta(seconds=2))
        [prep] = [p for p in posted(running_app, "", "U2") if "prep_ready" in str(p.params["blocks"])]
        assert_valid(prep)
        shown = blocks_text(prep.params["blocks"])
        assert "Tue, Mar 10, 2026, 9:00 AM (America/New_York)" in shown
        assert "one action opposite to the cause of the loss" in shown and "Avoiding the price conversation" in shown
        assert "I'll remind you 60 minutes before the meeting" in shown


def test_a_meeting_sooner_than_the_day_before_gets_the_prep_list_at_once(running_app: RunningApp):
    start = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # Tue 15:00 Tokyo
    meeting = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # Wed 09:00 Tokyo
    with time_machine.travel(start, tick=False):
        review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=meeting)
        assert nudges(running_app)["prep"].due_at == start
        before = len(running_app.slack.fake.calls_to("chat.postMessage"))
        dispatch(running_app)
        assert [p for p in posts_since(running_app, before) if "prep_ready" in str(p.params["blocks"])]


# 5. Not booked yet ----------------------------------------------------------------------------------------


def test_no_meeting_booked_gets_a_nudge_after_two_business_days_and_booking_starts_the_chain(running_app: RunningApp):
    fake = running_app.slack.fake
    thursday = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # Thu 11:00 EDT
    monday_ten = datetime(2026, 3, 16, 14, 0, tzinfo=UTC)
    with time_machine.travel(thursday, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 12), meeting=None)
        summary = posted(running_app, "Acme renewal", "U2")[0]
        assert "Not booked yet" in blocks_text(summary.params["blocks"])
        planned = nudges(running_app)
        assert "pre_meeting" not in planned and "prep" not in planned
        assert planned["book_meeting"].due_at == monday_ten
        clock.move_to(monday_ten)
        dispatch_all(running_app, clock)
        [book] = [p for p in posted(running_app, "isn't booked yet", "U2")]
        assert_valid(book)
        n = opened(running_app)
        click(running_app, "U2", book, "book_meeting")
        meeting = datetime(2026, 3, 19, 15, 0, tzinfo=UTC)  # Thu 11:00 EDT
        body = submit_modal(running_app, ri.state(next_meeting_at=ri.datetimepicker(meeting)), "U2", opened_before=n)
        assert body == {}
        running_app.settle()
        planned = nudges(running_app)
        assert planned["prep"].due_at == datetime(2026, 3, 18, 14, 0, tzinfo=UTC)  # Wed 10:00 EDT
        assert planned["pre_meeting"].due_at == meeting - timedelta(minutes=60)
        assert planned["book_meeting"].acted_at is not None
        last = updates_of(running_app, book)[-1]
        assert "Your next meeting is booked" in blocks_text(last.params["blocks"])
    assert fake.calls_to("chat.postMessage")


def test_booking_with_lost_meeting_before_the_nudge_cancels_it(running_app: RunningApp):
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=True):
        review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=None)
        n = opened(running_app)
        assert running_app.slack.command("meeting", user_id="U1").status_code == 200
        modal = running_app.slack.fake.wait_for("views.open", n + 1)[-1]
        assert "initial_date_time" not in str(modal.params["view"])
        resp = running_app.slack.interact(
            view_submission_payload(
                modal.response["view"],
                ri.state(next_meeting_at=ri.datetimepicker(start + timedelta(days=3))),
                user_id="U1",
            )
        )
        assert running_app.slack.json(resp) == {}
        running_app.settle()
    planned = nudges(running_app)
    assert planned["book_meeting"].status == "cancelled" and planned["pre_meeting"].status == "pending"
    # The rep was told in Japanese.
    assert "次の商談" in running_app.slack.fake.calls_to("chat.postMessage")[-1].params["text"]


# 6. The normal week and the week-1 counts ---------------------------------------------------------------------


def test_the_normal_week_is_asked_once_editable_on_home_and_the_week_1_check_says_what_fell(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tue 10:00 New York
    with time_machine.travel(start, tick=False) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=2))
        summary = posted(running_app, "Acme renewal", "U2")[0]
        assert "normal_week_edit" in str(summary.params["blocks"])
        n = opened(running_app)
        click(running_app, "U2", summary, "normal_week_edit")
        body = submit_modal(running_app, normal_week_values("5", "-1", "abc"), "U2", opened_before=n)
        assert body["response_action"] == "errors"
        assert set(body["errors"]) == {"normal_appointments", "normal_prospects"}
        assert submit_modal(running_app, normal_week_values("5", "4", "3"), "U2", opened_before=n) == {}
        running_app.settle()
        with running_app.coach.db.session() as s:
            week = s.get(NormalWeek, ("T1", "U2"))
        assert (week.meetings, week.appointments, week.prospects) == (5, 4, 3)
        # Asked once: the next review's summary does not ask again.
        review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=3))
        assert "normal_week_edit" not in str(posted(running_app, "Acme renewal", "U2")[-1].params["blocks"])
        # Editable on Home.
        home = open_home(running_app, "U2")
        assert "Customer meetings: 5" in blocks_text(home["blocks"])
        n = opened(running_app)
        click_home(running_app, "U2", home, "normal_week_edit")
        modal = fake.wait_for("views.open", n + 1)[-1]
        assert '"initial_value": "5"' in str(modal.params["view"]).replace("'", '"')
        resp = running_app.slack.interact(
            view_submission_payload(modal.response["view"], normal_week_values("6", "4", "3"), user_id="U2")
        )
        assert running_app.slack.json(resp) == {}
        home = open_home(running_app, "U2")
        assert "Customer meetings: 6" in blocks_text(home["blocks"])

        clock.move_to(start + timedelta(days=7))
        dispatch_all(running_app, clock)
        post = next(p for p in posted(running_app, "self-check", "U2") if f"{review.id}:" in str(p.params["blocks"]))
        assert "How many appointments did I book this week?" in blocks_text(post.params["blocks"])
        click(running_app, "U2", post, "self_check_meetings", selected="2")
        click(running_app, "U2", post, "self_check_appointments", selected="4")
        click(running_app, "U2", post, "self_check_prospects", selected="0")
        running_app.settle()
    with running_app.coach.db.session() as s:
        check = s.get(SelfCheck, review.id)
    assert (check.meetings, check.appointments, check.prospects) == (2, 4, 0)
    final = updates_of(running_app, post)[-1]
    assert_valid_update(final)
    text = blocks_text(final.params["blocks"])
    assert "Customer meetings: 2 this week, normal week 6" in text
    assert "Customer meetings, New prospects approached fell against your normal week" in text


def test_the_week_1_check_in_japanese_without_a_normal_week_offers_to_set_one(running_app: RunningApp):
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        review = review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=2))
        clock.move_to(start + timedelta(days=7))
        dispatch_all(running_app, clock)
        post = next(p for p in posted(running_app, "1週間", "U1") if f"{review.id}:" in str(p.params["blocks"]))
        shown = blocks_text(post.params["blocks"])
        assert "アポは何件取れたか" in shown and "新規開拓は何件できたか" in shown
        click(running_app, "U1", post, "self_check_appointments", selected="1")
        running_app.settle()
    last = blocks_text(updates_of(running_app, post)[-1].params["blocks"])
    assert "普段の1週間の数字を教えてください" in last and "落ちています" not in last


# Restart: a second instance on the same database carries on --------------------------------------------------------


def test_a_second_instance_on_the_same_database_sends_and_answers_the_follow_through(settings_env, fake_slack):
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # Tue 10:00 Tokyo
    with time_machine.travel(start, tick=False) as clock:
        with serve_app(settings_env, fake_slack) as first:
            review = review_saved(first, "U1", lost_on=date(2026, 3, 10), meeting=None)
        # The first instance is gone; a new one starts on the same database.
        with serve_app(settings_env, fake_slack) as second:
            clock.move_to(start + timedelta(days=1))
            dispatch(second)
            [call] = [p for p in posted(second, "", "U1") if "followup_record" in str(p.params["blocks"])]
            n = opened(second)
            click(second, "U1", call, "followup_record")
            assert submit_modal(second, followup_values("予算凍結"), "U1", opened_before=n) == {}
            second.settle()
            clock.move_to(datetime(2026, 3, 12, 1, 0, tzinfo=UTC))  # Thu 10:00: two business days on
            dispatch_all(second, clock)
            assert len(posted(second, "", "U1")) >= 3
            assert dispatch(second).claimed == 0
    with second.coach.db.session() as s:
        assert s.get(CustomerFollowUp, review.id).biggest_reason == "予算凍結"
    kinds = {k: n.status for k, n in nudges(second).items()}
    assert kinds["followup_call"] == "sent" and kinds["book_meeting"] == "sent"


def test_the_normal_week_set_from_the_self_check_opened_on_home_updates_that_modal(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # Tue 10:00 Tokyo
    with time_machine.travel(start, tick=False) as clock:
        review = review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=start + timedelta(days=2))
        clock.move_to(start + timedelta(days=7))
        dispatch_all(running_app, clock)
        home = open_home(running_app, "U1")
        before = len(fake.calls_to("views.open"))
        press(running_app, "U1", home, "home_answer_self_check")
        modal = opened_modal(running_app, before)
        element = buttons(modal, "self_check_prospects")[0]
        action = {
            "type": "static_select",
            "action_id": "self_check_prospects",
            "block_id": element["block_id"],
            "selected_option": next(o for o in element["options"] if o["value"] == f"{review.id}:1"),
        }
        running_app.slack.interact(block_actions_payload(action, view=modal, user_id="U1"))
        running_app.settle()
        modal = fake.calls_to("views.update")[-1].response["view"]
        assert "普段の1週間の数字を教えてください" in blocks_text(modal["blocks"])
        pushed_before = len(fake.calls_to("views.push"))
        press(running_app, "U1", modal, "normal_week_edit")
        pushed = fake.wait_for("views.push", pushed_before + 1)[-1]
        assert pushed.response["ok"] and view_problems(pushed.params["view"]) == []
        resp = running_app.slack.interact(
            view_submission_payload(pushed.response["view"], normal_week_values("5", "4", "3"), user_id="U1")
        )
        assert running_app.slack.json(resp) == {}
        running_app.settle()
    updated = [c for c in fake.calls_to("views.update") if c.params["view_id"] == modal["id"]][-1]
    assert updated.response["ok"] and view_problems(updated.params["view"]) == []
    text = blocks_text(updated.params["view"]["blocks"])
    assert "新規開拓数：今週1件（普段は3件）" in text and "普段の1週間より落ちています：新規開拓数" in text


def test_the_meeting_moved_from_the_prep_list_replans_the_chain_and_the_prep_list_shows_the_new_time(
    running_app: RunningApp,
):
    start = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tue 10:00 New York
    meeting = datetime(2026, 3, 12, 18, 0, tzinfo=UTC)  # Thu 14:00 New York
    moved = datetime(2026, 3, 17, 18, 0, tzinfo=UTC)  # next Tue 14:00 New York
    with time_machine.travel(start, tick=False) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 10), meeting=meeting)
        clock.move_to(datetime(2026, 3, 11, 14, 0, tzinfo=UTC))  # Wed 10:00: the prep list (and the call)
        dispatch_all(running_app, clock)
        [prep] = calls_with(posted(running_app, "", "U2"), "prep_ready")
        n = opened(running_app)
        click(running_app, "U2", prep, "meeting_moved")
        assert (
            submit_modal(running_app, ri.state(next_meeting_at=ri.datetimepicker(moved)), "U2", opened_before=n) == {}
        )
        running_app.settle()
        shown = updates_of(running_app, prep)[-1]
        assert_valid_update(shown)
        assert "Tue, Mar 17, 2026, 2:00 PM (America/New_York)" in blocks_text(shown.params["blocks"])
        assert "prep_ready" in str(shown.params["blocks"])  # still the prep list, not the one-change reminder
        planned = nudges(running_app)
        # Re-armed for the new meeting: Monday 16 March 10:00, and the reminder an hour before it.
        assert planned["prep"].status == "pending" and planned["prep"].due_at == datetime(
            2026, 3, 16, 14, 0, tzinfo=UTC
        )
        assert planned["pre_meeting"].due_at == moved - timedelta(minutes=60)
