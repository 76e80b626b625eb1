"""The Home tab end to end: published on app_home_opened, refreshed on every change, a rep's and a manager's.

Reviews are saved over HTTP as a rep would (tests/test_review_flow.Rep), or
seeded in bulk (tests/home_seed.py) for the large cases; the Home is read
back from what the fake Slack received in views.publish, which checks it
against Block Kit's limits.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, select, text

from coach.home.service import REVIEWS_ON_HOME, HomeService
from coach.i18n import Translator
from coach.models import HomeViewer, Nudge, RecontactNote, Review, SelfCheck, Win
from tests import review_input as ri
from tests.blockkit import view_problems
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.home_seed import seed_history
from tests.slack_signing import TEAM_ID, block_actions_payload, event_body, view_submission_payload
from tests.test_nudges import click, dispatch, review_saved
from tests.test_review_flow import Rep, blocks_text

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # Tue 10:00 in Tokyo, Mon 21:00 in New York
MANAGER = "UMGR"
JA = Translator("ja")


@pytest.fixture
def settings_env(settings_env):
    return {**settings_env, "manager_user_ids": MANAGER}


@pytest.fixture
def fake_slack(fake_slack):
    fake_slack.add_user(MANAGER, tz="Asia/Tokyo", locale="en-US", name="Mana Ger")
    return fake_slack


# Helpers ---------------------------------------------------------------------------------


def publishes(app: RunningApp, user_id: str) -> list:
    return [c for c in app.slack.fake.calls_to("views.publish") if c.params["user_id"] == user_id]


def last_home(app: RunningApp, user_id: str) -> dict:
    """The Home as Slack stores it (with its view id and block ids)."""
    app.settle()
    call = publishes(app, user_id)[-1]
    assert call.response["ok"], call.response
    assert view_problems(call.params["view"]) == []
    return call.response["view"]


def open_home(app: RunningApp, user_id: str, team_id: str = TEAM_ID) -> dict:
    """The rep opens the app's Home tab; the Home published in answer."""
    app.settle()
    before = len(publishes(app, user_id))
    body = event_body(
        {"type": "app_home_opened", "user": user_id, "channel": "D" + user_id, "tab": "home"}, team_id=team_id
    )
    assert app.slack.post(body, "application/json").status_code == 200
    app.settle()  # the listener handed the publishing to coach.later before answering
    assert len(publishes(app, user_id)) > before, "the Home was not published"
    return last_home(app, user_id)


def text_of(view: dict) -> str:
    return blocks_text(view["blocks"])


def elements(view: dict) -> list[dict]:
    found = []
    for block in view["blocks"]:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") in ("button", "static_select"):
                found.append({**element, "block_id": block.get("block_id")})
    return found


def buttons(view: dict, action_id: str) -> list[dict]:
    return [e for e in elements(view) if e["action_id"] == action_id]


def press(
    app: RunningApp, user_id: str, view: dict, action_id: str, *, value: str | None = None, team_id: str = TEAM_ID
) -> None:
    """Press a button on a Home or modal as Slack sends it; `value` may be forged."""
    found = buttons(view, action_id)
    element = found[0] if found else {"type": "button", "action_id": action_id, "block_id": "forged"}
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": element["block_id"],
        "value": value if value is not None else element.get("value", ""),
    }
    trigger = app.slack.fake.issue_trigger_id(view_id=view.get("id") if view.get("type") == "modal" else None)
    payload = block_actions_payload(action, view=view, user_id=user_id, trigger_id=trigger, team_id=team_id)
    assert app.slack.interact(payload).status_code == 200
    app.settle()


def opened_modal(app: RunningApp, before: int) -> dict:
    calls = app.slack.fake.wait_for("views.open", before + 1)
    call = calls[-1]
    assert call.response["ok"], call.response
    assert view_problems(call.params["view"]) == []
    return call.response["view"]


def second_review(
    app: RunningApp,
    user_id: str,
    *,
    deal: str,
    lost_on: date,
    meeting: datetime,
    codes=("value_not_conveyed", "no_comparison_axis"),
    own="Skipped the budget question",
    change_code="question_order",
    share: bool = True,
) -> Review:
    rep = Rep(app, user_id)
    before = len(app.slack.fake.calls_to("chat.postMessage"))
    rep.lost(deal)
    assert rep.submit(ri.facts(deal=deal, lost_on=lost_on))["response_action"] == "update"
    assert rep.submit(ri.lenses())["response_action"] == "update"
    assert rep.submit(ri.reasons(codes=codes, own=own))["response_action"] == "update"
    assert rep.submit(ri.commit(meeting=meeting, change_code=change_code, share=share)) == {}
    app.slack.fake.wait_for("chat.postMessage", before + (2 if share else 1))
    app.settle()
    with app.coach.db.session() as s:
        return s.scalars(select(Review).order_by(Review.id.desc())).first()


# A rep's Home ------------------------------------------------------------------------------


def test_rep_home_in_japanese_shows_every_section(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True) as clock:
        first = review_saved(running_app, "U1", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=9))
        clock.move_to(START + timedelta(days=8))  # the first review's self-check goes out
        dispatch(running_app)
        second = second_review(
            running_app, "U1", deal="Beta 株式会社", lost_on=date(2026, 3, 18), meeting=START + timedelta(days=10)
        )
        # An unfinished third review, closed with something typed: a draft to resume.
        rep = Rep(running_app, "U1")
        rep.lost("Gamma 商事")
        rep.close(ri.facts(deal="Gamma 商事", lost_on=date(2026, 3, 18)))
        home = open_home(running_app, "U1")
    text = text_of(home)
    # The open draft, with its resume button.
    assert "Gamma 商事" in text and buttons(home, "draft_resume")
    # The next meeting (the latest review's), in Tokyo time and Japanese, with its one change and edit button.
    assert "2026年3月20日(金) 10:00 (Asia/Tokyo)" in text
    assert "質問の順番だけ変える" in text
    assert buttons(home, "home_edit_meeting")[0]["value"] == str(second.id)
    # The first review's self-check was sent and is unanswered: all four questions to answer.
    [answer] = buttons(home, "home_answer_self_check")
    assert answer["value"] == str(first.id)
    assert "改善した一点は守れているか" in text
    # Both reviews, newest first, with view buttons; the commitment history.
    assert [b["value"] for b in buttons(home, "home_view_review")] == [str(second.id), str(first.id)]
    assert "決裁者確認を必ず入れる" in text
    assert "振り返り：2件（うち24時間以内：2件）" in text
    assert "「Beta 株式会社」 · 2026年3月18日" in text  # deal names in 「」 in Japanese
    # Patterns: "value did not come across" in both reviews, flagged as repeated; the once-only ones are not.
    pattern = next(b["text"]["text"] for b in home["blocks"] if b.get("text") and "自分の傾向" in b["text"]["text"])
    assert "価値が伝わっていない：2件中2件の振り返り :repeat: *繰り返し*" in pattern
    assert pattern.count(":repeat:") == 1
    # Upcoming re-contacts, in the rep's date format.
    assert "2026年9月9日" in text and "2026年9月18日" in text
    # Recovery: nothing won yet.
    assert "まだ受注の記録はありません" in text
    assert view_problems(home) == [] and len(home["blocks"]) <= 100
    assert "チーム：直近" not in text  # not a manager
    assert all(c.params["user_id"] == "U1" for c in fake.calls_to("views.publish"))


def test_rep_home_in_english_counts_commitments_and_recovery(running_app: RunningApp):
    with time_machine.travel(START, tick=True) as clock:
        first = review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=9))
        clock.move_to(START + timedelta(days=8, hours=13))  # daytime in New York
        dispatch(running_app)
        self_check = [
            c for c in running_app.slack.fake.calls_to("chat.postMessage") if "self-check" in c.params["text"]
        ][0]
        click(running_app, "U2", self_check, "self_check_kept:yes")
        running_app.settle()
        second_review(running_app, "U2", deal="Beta Inc", lost_on=date(2026, 3, 17), meeting=START + timedelta(days=12))
        clock.move_to(START + timedelta(days=13))  # 23 March 01:00 UTC: still Sunday 22 March in New York
        assert running_app.slack.json(running_app.slack.command("won Delta Corp", user_id="U2")) == {}
        running_app.settle()
        home = open_home(running_app, "U2")
    text = text_of(home)
    assert "Reviews: 2, 2 of them within 24 hours." in text
    assert "One change kept: 1 · partly: 0 · not yet: 0 · not answered: 1" in text
    assert ":white_check_mark: Kept it" in text  # the first review's commitment
    assert "Our value did not come across: in 2 of 2 reviews :repeat: *repeated*" in text
    assert "Latest win: *Delta Corp* on Mar 22, 2026. 5 days from your last loss to this win." in text
    assert "Median days from a loss to the next win: 5 (losses followed by a win: 1)." in text
    assert "Wins logged: 1." in text
    # The first review's self-check is answered only in part, so it still waits, with what is left.
    assert [b["value"] for b in buttons(home, "home_answer_self_check")] == [str(first.id)]


def test_home_lists_a_self_check_answered_in_part_with_what_is_left(running_app: RunningApp):
    with time_machine.travel(START, tick=True) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=9))
        clock.move_to(START + timedelta(days=8, hours=13))  # daytime in New York
        dispatch(running_app)
        post = [c for c in running_app.slack.fake.calls_to("chat.postMessage") if "self-check" in c.params["text"]][0]
        click(running_app, "U2", post, "self_check_kept:partly")
        click(running_app, "U2", post, "self_check_meetings", selected="4")
        home = open_home(running_app, "U2")
    block = next(b for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "home_answer_self_check")
    assert block["accessory"]["value"] == str(review.id)
    assert "Did I repeat the same mistake" in block["text"]["text"]
    assert "How did customers' reactions change" in block["text"]["text"]
    assert "Did I keep the one change" not in block["text"]["text"]
    assert "How many customer meetings" not in block["text"]["text"]


def test_answering_the_self_check_from_home(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True) as clock:
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=9))
        clock.move_to(START + timedelta(days=8, hours=13))  # daytime in New York
        dispatch(running_app)
        home = open_home(running_app, "U2")
        before = len(fake.calls_to("views.open"))
        press(running_app, "U2", home, "home_answer_self_check")
        modal = opened_modal(running_app, before)
        published = len(publishes(running_app, "U2"))
        for action_id in ("self_check_repeated:no", "self_check_kept:yes", "self_check_reaction:better"):
            press(running_app, "U2", modal, action_id)
        for counted in ("self_check_meetings", "self_check_appointments", "self_check_prospects"):
            element = buttons(modal, counted)[0]
            action = {
                "type": "static_select",
                "action_id": counted,
                "block_id": element["block_id"],
                "selected_option": next(o for o in element["options"] if o["value"] == f"{review.id}:5"),
            }
            running_app.slack.interact(block_actions_payload(action, view=modal, user_id="U2"))
            running_app.settle()
    with running_app.coach.db.session() as s:
        check = s.get(SelfCheck, review.id)
    assert (check.repeated_mistake, check.kept_change, check.reaction, check.meetings) == ("no", "yes", "better", 5)
    updated = fake.calls_to("views.update")[-1]
    assert updated.params["view_id"] == modal["id"] and view_problems(updated.params["view"]) == []
    assert "Saved. Thank you" in blocks_text(updated.params["view"]["blocks"])
    assert len(publishes(running_app, "U2")) > published
    assert "Self-checks waiting" not in text_of(last_home(running_app, "U2"))


def test_read_only_review_modal_shows_the_whole_review(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True):
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=2))
        home = open_home(running_app, "U2")
        before = len(fake.calls_to("views.open"))
        press(running_app, "U2", home, "home_view_review", value=str(review.id))
        modal = opened_modal(running_app, before)
    assert modal["callback_id"] == "review_detail" and modal.get("submit") is None
    assert not [b for b in modal["blocks"] if b["type"] == "input"]
    text = text_of(modal)
    for expected in (
        "Acme renewal",
        "Price was too high",
        "Our value did not come across",
        "Demoed before hearing the problem",
        "10/1 first call",
        "It's over our budget",
        "When we showed the price table",
        "Couldn't say why us",
        "final call: CFO Tanaka",
        "Always confirm the decision maker",
        "What was the biggest reason you passed this time?",
    ):
        assert expected in text, expected


def test_edit_next_meeting_from_home_opens_the_meeting_modal(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True):
        review = review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=2))
        home = open_home(running_app, "U2")
        before = len(fake.calls_to("views.open"))
        press(running_app, "U2", home, "home_edit_meeting")
        modal = opened_modal(running_app, before)
        assert modal["callback_id"] == "next_meeting"
        assert json.loads(modal["private_metadata"])["review"] == review.id
        new_time = START + timedelta(days=4)
        values = ri.state(next_meeting_at=ri.datetimepicker(new_time))
        assert (
            running_app.slack.json(running_app.slack.interact(view_submission_payload(modal, values, user_id="U2")))
            == {}
        )
        running_app.settle()
        home = last_home(running_app, "U2")
    assert "Fri, Mar 13, 2026, 9:00 PM (America/New_York)" in text_of(home)


# Refreshed on every change --------------------------------------------------------------


def test_home_is_refreshed_on_every_change(running_app: RunningApp):
    fake = running_app.slack.fake
    seen = {"n": 0}

    def changed(what: str) -> dict:
        running_app.settle()
        calls = publishes(running_app, "U1")
        assert len(calls) > seen["n"], f"no views.publish after: {what}"
        seen["n"] = len(calls)
        return last_home(running_app, "U1")

    with time_machine.travel(START, tick=True) as clock:
        open_home(running_app, "U1")
        seen["n"] = len(publishes(running_app, "U1"))
        rep = Rep(running_app, "U1")
        rep.lost("Acme renewal")
        assert buttons(changed("draft started"), "draft_resume")
        rep.close(ri.facts(lost_on=date(2026, 3, 10)))
        assert "Acme renewal" in text_of(changed("draft closed"))
        resume = rep.lost()  # resume offered; resume it
        rep.click("draft_resume", view=resume)
        running_app.settle()
        rep.view = fake.calls_to("views.update")[-1].response["view"]
        seen["n"] = len(publishes(running_app, "U1"))
        assert rep.submit(ri.facts(lost_on=date(2026, 3, 10)))["response_action"] == "update"
        rep.submit(ri.lenses())
        rep.submit(ri.reasons())
        assert rep.submit(ri.commit(meeting=START + timedelta(days=1))) == {}
        home = changed("review saved")
        assert not buttons(home, "draft_resume") and buttons(home, "home_view_review")

        # The meeting moved, from Home.
        before = len(fake.calls_to("views.open"))
        press(running_app, "U1", home, "home_edit_meeting")
        modal = opened_modal(running_app, before)
        running_app.slack.interact(
            view_submission_payload(
                modal, ri.state(next_meeting_at=ri.datetimepicker(START + timedelta(days=2))), user_id="U1"
            )
        )
        assert "2026年3月12日(木) 10:00" in text_of(changed("meeting moved"))

        # Marked ready on the reminder.
        clock.move_to(START + timedelta(days=2) - timedelta(minutes=60))
        for _ in range(4):  # the follow-up call and the prep list came due before it: one a second per rep
            dispatch(running_app)
            clock.shift(timedelta(seconds=2))
        reminder = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.params.get("blocks") and "meeting_done" in json.dumps(c.params["blocks"])
        ][-1]
        click(running_app, "U1", reminder, "meeting_done")
        assert "に準備完了にしました" in text_of(changed("meeting marked ready"))

        # The self-check answered on the DM.
        clock.move_to(START + timedelta(days=8))
        for _ in range(3):  # the 3-day message, expired or not, and the self-check: one a second per rep
            dispatch(running_app)
            clock.shift(timedelta(seconds=2))
        self_check = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.params.get("blocks") and "self_check_kept" in json.dumps(c.params["blocks"])
        ][-1]
        click(running_app, "U1", self_check, "self_check_kept:yes")
        assert ":white_check_mark: " + JA._("Kept it") in text_of(changed("self-check answered"))

        # A re-contact recorded.
        clock.move_to(datetime(2026, 9, 10, 1, 0, tzinfo=UTC))
        dispatch(running_app)
        recontact = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.params.get("blocks") and "recontact_record" in json.dumps(c.params["blocks"])
        ][-1]
        before = len(fake.calls_to("views.open"))
        click(running_app, "U1", recontact, "recontact_record")
        modal = opened_modal(running_app, before)
        values = {
            "customer_said": {"customer_said": ri.text("来期に予算化します")},
            **ri.state(recontact_choice=ri.radio("six_months")),
        }
        running_app.slack.interact(view_submission_payload(modal, values, user_id="U1"))
        assert "来期に予算化します" in text_of(changed("re-contact recorded"))

        # A win.
        running_app.slack.command("won Acme expansion", user_id="U1")
        assert "Acme expansion" in text_of(changed("win logged"))
    with running_app.coach.db.session() as s:
        assert s.scalar(select(RecontactNote)) is not None and s.scalar(select(Win)) is not None


def test_a_rep_who_never_opened_home_gets_it_rendered_on_first_opening_not_on_every_change(
    running_app: RunningApp,
):
    rep = Rep(running_app, "U1")
    rep.lost("Acme renewal")
    rep.close(ri.facts(lost_on=date(2026, 3, 10)))
    running_app.settle()
    assert publishes(running_app, "U1") == []  # nobody to see it: no views.publish

    home = open_home(running_app, "U1")
    assert "Acme renewal" in text_of(home) and buttons(home, "draft_resume")
    with running_app.coach.db.session() as s:
        assert s.scalar(select(HomeViewer.user_id)) == "U1"


def test_a_rep_opening_home_gets_it_even_when_storing_the_opening_fails(running_app: RunningApp, caplog):
    engine = running_app.coach.db.engine
    with running_app.coach.db.session() as s:
        s.execute(text("DROP TABLE home_viewers"))  # the write fails for real
    try:
        home = open_home(running_app, "U1")
        assert buttons(home, "home_start_review")
        assert any("storing which reps opened their Home failed" in r.getMessage() for r in caplog.records)
        # Still known in memory: a change republishes it.
        before = len(publishes(running_app, "U1"))
        Rep(running_app, "U1").lost("Acme renewal")
        running_app.settle()
        assert len(publishes(running_app, "U1")) == before + 1
    finally:
        HomeViewer.__table__.create(engine)  # the PostgreSQL schema is shared by the whole session


def test_after_opening_home_once_a_change_republishes_it_even_after_a_restart(running_app: RunningApp):
    open_home(running_app, "U1")
    # Another instance (or this one restarted) knows the rep has a Home from the database, not its memory.
    running_app.coach.home = HomeService(running_app.coach.db)
    before = len(publishes(running_app, "U1"))
    Rep(running_app, "U1").lost("Acme renewal")
    running_app.settle()
    assert len(publishes(running_app, "U1")) == before + 1
    assert buttons(last_home(running_app, "U1"), "draft_resume")


# A manager's Home: the team view ------------------------------------------------------------


def test_manager_home_adds_the_team_view(running_app: RunningApp):
    with time_machine.travel(START, tick=True) as clock:
        review_saved(running_app, "U1", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=9))
        review_saved(running_app, "U2", lost_on=date(2026, 3, 8), meeting=START + timedelta(days=9))
        clock.move_to(START + timedelta(days=3))
        second_review(running_app, "U2", deal="Beta Inc", lost_on=date(2026, 3, 12), meeting=START + timedelta(days=9))
        running_app.slack.command("won Gamma Ltd", user_id="U2")
        rep_home = open_home(running_app, "U2")
        home = open_home(running_app, MANAGER)
    text = text_of(home)
    assert "Your team: the last 30 days" in text
    assert "*Losses*\n3 · 3,600,000" in text
    assert "*Reviewed within 24 hours*\n67% (2 of 3)" in text  # U2 reviewed the 8 March loss after more than a day
    assert "*Reps with a loss*\n2" in text
    assert "Our value did not come across: in 3 of 3 reviews" in text
    assert "<@U2>: Our value did not come across (×2)" in text
    repeaters = next(b["text"]["text"] for b in home["blocks"] if "Reps repeating" in b.get("text", {}).get("text", ""))
    assert "<@U1>" not in repeaters
    assert "<@U2> won *Gamma Ltd*" in text
    assert [b["value"] for b in buttons(home, "home_view_review")][:3]  # the team's latest reviews
    assert "Your team" not in text_of(rep_home) and "<@U1>" not in json.dumps(rep_home)


def test_members_of_the_managers_channel_get_the_team_view(running_app: RunningApp):
    fake = running_app.slack.fake
    fake.add_user("UCHAN", tz="Europe/London", locale="en-GB")
    fake.channel_members[MANAGER_CHANNEL] = ["UCHAN", "UOTHER"]
    with time_machine.travel(START, tick=True):
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=9))
        home = open_home(running_app, "UCHAN")
        open_home(running_app, "UCHAN")
        rep_home = open_home(running_app, "U2")
    assert "Your team: the last 30 days" in text_of(home)
    assert "Your team" not in text_of(rep_home)
    assert len(fake.calls_to("conversations.members")) == 1  # cached


# At large sizes -----------------------------------------------------------------------------


def count_statements(engine):
    counter = {"n": 0}

    def before(*_args):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine, "before_cursor_execute", before)


def test_a_rep_with_300_reviews_and_a_team_of_200_reps_stay_within_limits(running_app: RunningApp):
    fake = running_app.slack.fake
    coach = running_app.coach
    plan = seed_history(coach.db, reps={"U1": 300, "U2": 3}, now=START, zones={"U1": ("ja", "Asia/Tokyo")})
    # A team of 200 reps, every one with four losses this month (and so a repeated reason).
    team = seed_history(coach.db, reps={f"U{n:04d}": 4 for n in range(198)}, now=START, spread_days=25)
    total = plan.rows["reviews"] + team.rows["reviews"]
    assert total == 300 + 3 + 198 * 4
    with time_machine.travel(START, tick=True):
        home = open_home(running_app, "U1")
        manager_home = open_home(running_app, MANAGER)
        # The same few statements whatever the history: aggregates and limits, not 300 reviews in Python.
        counter, stop = count_statements(coach.db.engine)
        try:
            coach.home.rep_home(TEAM_ID, "U1", now=START, tz=coach.profiles.get(TEAM_ID, "U1").tz)
            big = counter["n"]
            counter["n"] = 0
            coach.home.rep_home(TEAM_ID, "U2", now=START, tz=coach.profiles.get(TEAM_ID, "U2").tz)
            small = counter["n"]
        finally:
            stop()
        assert big <= 15 and small <= 15 and abs(big - small) <= 1  # a median needs one more statement

        assert len(home["blocks"]) <= 100 and len(manager_home["blocks"]) <= 100
        text = text_of(home)
        assert len(buttons(home, "home_view_review")) == REVIEWS_ON_HOME
        assert f"全300件の振り返りのうち、最新の{REVIEWS_ON_HOME}件を表示しています。" in text
        assert "Your team" in text_of(manager_home) and "Reps repeating an underlying reason" in text_of(manager_home)
        assert "…and" in text_of(manager_home)  # more reps repeat than are listed

        # Older reviews: a paged modal; a review opens in it and goes back to its page.
        before = len(fake.calls_to("views.open"))
        press(running_app, "U1", home, "home_older_reviews")
        page = opened_modal(running_app, before)
        assert "全300件中 9〜23件目" in text_of(page)
        press(running_app, "U1", page, "reviews_page:older")
        page2 = fake.calls_to("views.update")[-1].response["view"]
        assert view_problems(page2) == [] and "全300件中 24〜38件目" in text_of(page2)
        assert buttons(page2, "reviews_page:newer")
        first_on_page = buttons(page2, "home_view_review")[0]["value"]
        press(running_app, "U1", page2, "home_view_review", value=first_on_page)
        detail = fake.calls_to("views.update")[-1].response["view"]
        assert detail["callback_id"] == "review_detail" and view_problems(detail) == []
        press(running_app, "U1", detail, "reviews_page")
        assert "全300件中 24〜38件目" in text_of(fake.calls_to("views.update")[-1].response["view"])

        # The manager pages through the whole team.
        before = len(fake.calls_to("views.open"))
        press(running_app, MANAGER, manager_home, "home_team_reviews")
        team_page = opened_modal(running_app, before)
        assert f"of {total}" in text_of(team_page) and "<@U" in text_of(team_page)
    with coach.db.session() as s:
        assert s.scalar(select(Nudge.id).limit(1)) is not None
