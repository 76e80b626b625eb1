"""Privacy: a rep sees only their own reviews; managers see their team's; nothing about one rep reaches another.

Every surface a rep can reach is tried with another rep's review id, forged
into the payload as a curious user could: the Home's buttons, the
read-only review, the review lists, the self-check modal, the nudges'
buttons and modals. After each, nothing of the other rep may have been sent
to Slack for this rep, and nothing of theirs may have changed.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from coach.models import Nudge, RecontactNote, Review, SelfCheck, Win
from tests import review_input as ri
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.slack_signing import block_actions_payload, view_submission_payload
from tests.test_home import MANAGER, START, buttons, open_home, opened_modal, press, second_review, text_of
from tests.test_nudges import dispatch, review_saved

SECRET_DEAL = "Umbrella 極秘案件"


@pytest.fixture
def settings_env(settings_env):
    return {**settings_env, "manager_user_ids": MANAGER}


@pytest.fixture
def fake_slack(fake_slack):
    fake_slack.add_user(MANAGER, tz="Asia/Tokyo", locale="en-US")
    return fake_slack


@pytest.fixture
def two_reps(running_app: RunningApp):
    """U1 (Tokyo) and U2 (New York) each saved a review; U2's deal is the secret."""
    with time_machine.travel(START, tick=True):
        mine = review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=3))
        theirs = second_review(
            running_app,
            "U2",
            deal=SECRET_DEAL,
            lost_on=date(2026, 3, 9),
            meeting=START + timedelta(days=3),
            own="The CFO was never in the room",
        )
    running_app.settle()
    return mine, theirs


def sent_to(app: RunningApp, user_id: str, since: int = 0) -> str:
    """Everything the app showed `user_id` in Slack (DMs, Home, modals opened for them) since call `since`."""
    out = []
    for call in app.slack.fake.calls[since:]:
        p = call.params
        if call.method == "chat.postMessage" and p.get("channel") == user_id:
            out.append(json.dumps(p, ensure_ascii=False))
        elif call.method == "views.publish" and p.get("user_id") == user_id:
            out.append(json.dumps(p, ensure_ascii=False))
        elif call.method in ("views.open", "views.update"):
            out.append(json.dumps(p, ensure_ascii=False))  # only this rep acts during the window
    return "\n".join(out)


def assert_nothing_of(text: str, review: Review) -> None:
    secrets = [review.deal_name, f'"value": "{review.id}"', f"<@{review.user_id}>"]
    if review.deal_name == SECRET_DEAL:
        secrets.append("The CFO was never in the room")  # U2's own underlying reason
    for secret in secrets:
        assert secret not in text, secret


def forge(app: RunningApp, user_id: str, action_id: str, value: str, *, team_id: str = "T1") -> None:
    """A button pressed on a DM, with a value the rep typed in themselves."""
    action = {"type": "button", "action_id": action_id, "block_id": "nudge_actions", "value": value}
    message = {"type": "message", "ts": "1700000000.000100", "text": "", "blocks": []}
    payload = block_actions_payload(
        action,
        user_id=user_id,
        channel_id="D" + user_id,
        message=message,
        trigger_id=app.slack.fake.issue_trigger_id(),
        team_id=team_id,
    )
    assert app.slack.interact(payload).status_code == 200
    app.settle()


def test_a_reps_home_shows_only_their_own_reviews(running_app: RunningApp, two_reps):
    mine, theirs = two_reps
    with time_machine.travel(START + timedelta(days=8), tick=True):
        dispatch(running_app)  # both reps' self-checks go out
        home = open_home(running_app, "U1")
        other = open_home(running_app, "U2")
    assert "Acme renewal" in text_of(home) and [b["value"] for b in buttons(home, "home_view_review")] == [str(mine.id)]
    assert_nothing_of(json.dumps(home, ensure_ascii=False), theirs)
    assert "Your team" not in text_of(home)
    assert_nothing_of(json.dumps(other, ensure_ascii=False), mine)
    # Every Home and DM the app ever sent went to the rep it was about.
    for call in running_app.slack.fake.calls_to("views.publish"):
        if call.params["user_id"] == "U1":
            assert_nothing_of(json.dumps(call.params, ensure_ascii=False), theirs)
    for call in running_app.slack.fake.calls_to("chat.postMessage"):
        if call.params["channel"] == "U1":
            assert_nothing_of(json.dumps(call.params, ensure_ascii=False), theirs)


def test_another_reps_review_cannot_be_opened(running_app: RunningApp, two_reps):
    mine, theirs = two_reps
    fake = running_app.slack.fake
    home = open_home(running_app, "U1")
    since = len(fake.calls)
    for value in (str(theirs.id), "999999", "not-a-number", ""):
        before = len(fake.calls_to("views.open"))
        press(running_app, "U1", home, "home_view_review", value=value)
        refusal = opened_modal(running_app, before)
        assert refusal["callback_id"] == "not_available"  # the same answer whether the review exists or not
    assert_nothing_of(sent_to(running_app, "U1", since), theirs)
    # The rep's own review opens.
    before = len(fake.calls_to("views.open"))
    press(running_app, "U1", home, "home_view_review", value=str(mine.id))
    assert opened_modal(running_app, before)["callback_id"] == "review_detail"


def test_a_rep_cannot_list_the_team(running_app: RunningApp, two_reps):
    _, theirs = two_reps
    fake = running_app.slack.fake
    home = open_home(running_app, "U1")
    since = len(fake.calls)
    for action_id in ("home_team_reviews", "home_older_reviews", "reviews_page"):
        before = len(fake.calls_to("views.open"))
        press(running_app, "U1", home, action_id, value="team:0")
        assert opened_modal(running_app, before)["callback_id"] == "not_available"
    assert_nothing_of(sent_to(running_app, "U1", since), theirs)


def test_a_manager_reads_the_teams_reviews_but_not_another_teams(running_app: RunningApp, two_reps):
    _, theirs = two_reps
    fake = running_app.slack.fake
    home = open_home(running_app, MANAGER)
    assert SECRET_DEAL in text_of(home)  # the team view lists the team's latest reviews
    before = len(fake.calls_to("views.open"))
    press(running_app, MANAGER, home, "home_view_review", value=str(theirs.id))
    modal = opened_modal(running_app, before)
    assert modal["callback_id"] == "review_detail" and SECRET_DEAL in text_of(modal)
    assert "The CFO was never in the room" in text_of(modal)
    # A manager of another Slack team (a forged team id) is refused.
    before = len(fake.calls_to("views.open"))
    press(running_app, MANAGER, home, "home_view_review", value=str(theirs.id), team_id="T2")
    assert opened_modal(running_app, before)["callback_id"] == "not_available"


def test_a_review_the_rep_did_not_share_stays_theirs(running_app: RunningApp, two_reps):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True):
        private = second_review(
            running_app,
            "U2",
            deal="Initech 非共有",
            lost_on=date(2026, 3, 9),
            meeting=START + timedelta(days=3),
            own="Pricing page confused them",
            share=False,
        )
    # The manager's Home counts it among the team's losses but lists only what was shared.
    with time_machine.travel(START + timedelta(hours=1), tick=True):
        home = open_home(running_app, MANAGER)
    assert "Initech 非共有" not in text_of(home) and SECRET_DEAL in text_of(home)
    assert "*Losses*\n3 · " in text_of(home)  # the team's figures count all three reviews
    assert "Pricing page confused them" not in text_of(home)  # its own words are not among the team's reasons
    fake_before = len(fake.calls_to("views.open"))
    press(running_app, MANAGER, home, "home_view_review", value=str(private.id))
    assert opened_modal(running_app, fake_before)["callback_id"] == "not_available"
    before = len(fake.calls_to("views.open"))
    press(running_app, MANAGER, home, "home_team_reviews", value="team:0")
    team_page = opened_modal(running_app, before)
    assert SECRET_DEAL in text_of(team_page) and "Initech 非共有" not in text_of(team_page)
    # The manager's export leaves it out; the rep's own export has it.
    fake.channel_members[MANAGER_CHANNEL] = []
    running_app.coach.managers.forget()
    with time_machine.travel(START + timedelta(days=1), tick=True):
        running_app.slack.command("export", user_id=MANAGER)
        running_app.settle()
        [team_csv] = [f.data.decode("utf-8-sig") for f in fake.files.values()]
        fake.files.clear()
        running_app.slack.command("export", user_id="U2")
        running_app.settle()
        [own_csv] = [f.data.decode("utf-8-sig") for f in fake.files.values()]
    assert SECRET_DEAL in team_csv and "Initech 非共有" not in team_csv and "Pricing page confused them" not in team_csv
    assert "Initech 非共有" in own_csv and "Pricing page confused them" in own_csv
    # The rep reads it on their own Home.
    mine = open_home(running_app, "U2")
    assert str(private.id) in [b["value"] for b in buttons(mine, "home_view_review")]
    # Nothing of it reached the managers' channel.
    channel = json.dumps(
        [c.params for c in fake.calls_to("chat.postMessage") if c.params["channel"] == MANAGER_CHANNEL],
        ensure_ascii=False,
    )
    assert "Initech 非共有" not in channel


def test_a_member_of_the_managers_channel_counts_as_a_manager_and_others_do_not(running_app: RunningApp, two_reps):
    _, theirs = two_reps
    fake = running_app.slack.fake
    fake.add_user("UCHAN", tz="Europe/London", locale="en-GB")
    fake.channel_members[MANAGER_CHANNEL] = ["UCHAN"]
    running_app.coach.managers.forget()
    home = open_home(running_app, "UCHAN")
    before = len(fake.calls_to("views.open"))
    press(running_app, "UCHAN", home, "home_view_review", value=str(theirs.id))
    assert opened_modal(running_app, before)["callback_id"] == "review_detail"
    before = len(fake.calls_to("views.open"))
    press(running_app, "U1", open_home(running_app, "U1"), "home_view_review", value=str(theirs.id))
    assert opened_modal(running_app, before)["callback_id"] == "not_available"


def test_forged_home_buttons_change_nothing_of_another_rep(running_app: RunningApp, two_reps):
    _, theirs = two_reps
    fake = running_app.slack.fake
    with time_machine.travel(START + timedelta(days=8), tick=True):
        dispatch(running_app)
        home = open_home(running_app, "U1")
        since = len(fake.calls)
        opens = len(fake.calls_to("views.open"))
        press(running_app, "U1", home, "home_edit_meeting", value=str(theirs.id))
        assert len(fake.calls_to("views.open")) == opens  # no meeting modal for someone else's review
        press(running_app, "U1", home, "home_answer_self_check", value=str(theirs.id))
        assert opened_modal(running_app, opens)["callback_id"] == "not_available"
        # The self-check modal, forged around the other rep's review, answered.
        forged = {
            "type": "modal",
            "callback_id": "self_check_modal",
            "title": {"type": "plain_text", "text": "x"},
            "private_metadata": json.dumps({"review": theirs.id}),
            "blocks": [],
        }
        action = {
            "type": "button",
            "action_id": "self_check_kept:no",
            "block_id": "self_check_kept",
            "value": f"{theirs.id}:no",
        }
        running_app.slack.interact(block_actions_payload(action, view=forged, user_id="U1"))
        running_app.settle()
        text = sent_to(running_app, "U1", since)
    assert_nothing_of(text, theirs)
    with running_app.coach.db.session() as s:
        assert s.get(SelfCheck, theirs.id) is None
        assert s.get(Review, theirs.id).next_meeting_at == theirs.next_meeting_at


def test_forged_nudge_buttons_and_modals_change_nothing_of_another_rep(running_app: RunningApp, two_reps):
    _, theirs = two_reps
    fake = running_app.slack.fake
    since = len(fake.calls)
    opens = len(fake.calls_to("views.open"))
    shares = len([c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == MANAGER_CHANNEL])
    with time_machine.travel(START + timedelta(hours=1), tick=True):
        for action_id in ("meeting_done", "meeting_moved", "recontact_record", "checklist_share", "draft_resume"):
            forge(running_app, "U1", action_id, str(theirs.id))
        # The meeting and re-contact modals, submitted with the other rep's review in their metadata.
        meeting = {
            "type": "modal",
            "callback_id": "next_meeting",
            "title": {"type": "plain_text", "text": "x"},
            "private_metadata": json.dumps({"review": theirs.id, "message": None}),
            "blocks": [],
        }
        running_app.slack.interact(
            view_submission_payload(
                meeting, ri.state(next_meeting_at=ri.datetimepicker(START + timedelta(days=6))), user_id="U1"
            )
        )
        recontact = {**meeting, "callback_id": "recontact_record"}
        running_app.slack.interact(
            view_submission_payload(
                recontact,
                {
                    "customer_said": {"customer_said": ri.text("forged")},
                    **ri.state(recontact_choice=ri.radio("six_months")),
                },
                user_id="U1",
            )
        )
        running_app.settle()
    assert len(fake.calls_to("views.open")) > opens  # draft_resume opens U1's own new draft, nothing else
    assert_nothing_of(sent_to(running_app, "U1", since), theirs)
    assert len([c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == MANAGER_CHANNEL]) == shares
    with running_app.coach.db.session() as s:
        review = s.get(Review, theirs.id)
        assert review.next_meeting_at == theirs.next_meeting_at and review.customer_stated_reason is None
        assert s.scalar(select(RecontactNote)) is None
        assert s.scalar(select(Nudge).where(Nudge.review_id == theirs.id, Nudge.acted_at.is_not(None))) is None


def test_a_win_is_told_only_to_the_rep_who_won(running_app: RunningApp, two_reps):
    mine, theirs = two_reps
    fake = running_app.slack.fake
    for user_id in ("U1", "U2"):  # both have a Home that a change could republish
        open_home(running_app, user_id)
    since = len(fake.calls)
    with time_machine.travel(START + timedelta(days=2), tick=True):
        running_app.slack.command("won Beta", user_id="U1")
        running_app.settle()
    posts = [c for c in fake.calls[since:] if c.method == "chat.postMessage"]
    assert [c.params["channel"] for c in posts] == ["U1"]
    assert {c.params["user_id"] for c in fake.calls[since:] if c.method == "views.publish"} == {"U1"}
    assert_nothing_of(sent_to(running_app, "U1", since), theirs)
    with running_app.coach.db.session() as s:
        [win] = s.scalars(select(Win)).all()
    assert win.last_loss_review_id == mine.id  # never another rep's loss
