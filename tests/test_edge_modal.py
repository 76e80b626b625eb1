"""The modal opens first, and a click updates only the bot's message it was made on."""

from __future__ import annotations

import copy
import time
from datetime import UTC, date, datetime, timedelta

import time_machine

from coach.background import TRIGGER_BUDGET_SECONDS, BackgroundWork, awaiting_modals
from coach.web import ACK_WAITS_FOR_MODAL_SECONDS
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.slack_signing import block_actions_payload
from tests.test_home import open_home, press
from tests.test_nudges import dispatch, review_saved
from tests.test_privacy import two_reps  # noqa: F401 (a fixture)
from tests.test_review_flow import blocks_text


def test_lost_opens_its_modal_first_and_the_ack_waits_for_it(running_app: RunningApp):
    fake = running_app.slack.fake
    resp = running_app.slack.command("Acme renewal", user_id="U2")
    assert resp.status_code == 200 and resp.text == ""
    # By the time Slack has the ack, the modal is open: views.open was the command's first Slack call
    # (auth.test is Bolt's, once per process), with no users.info and no database before it.
    calls = [c.method for c in fake.calls if c.method != "auth.test"]
    assert calls[:1] == ["views.open"]
    opened = fake.calls_to("views.open")[0]
    assert opened.response["ok"] and opened.params["view"]["callback_id"] == "review_opening"
    running_app.settle()
    assert "users.info" in [c.method for c in fake.calls]
    form = fake.views[opened.response["view"]["id"]]
    assert form["callback_id"] == "review_step"
    deal = next(b for b in form["blocks"] if b.get("block_id") == "deal_name")
    assert deal["element"]["initial_value"] == "Acme renewal"


def test_a_slow_slack_holds_the_ack_no_longer_than_the_wait(running_app: RunningApp):
    fake = running_app.slack.fake
    gate = fake.hold("views.open", timeout=5)
    started = time.monotonic()
    resp = running_app.slack.command("", user_id="U2")
    waited = time.monotonic() - started
    assert resp.status_code == 200 and gate.answered == 0  # acked while Slack still held the views.open
    assert waited < ACK_WAITS_FOR_MODAL_SECONDS + 1.5
    gate.release()
    running_app.settle()
    assert fake.calls_to("views.open")[0].response["ok"]


def test_the_ack_waits_only_for_the_modal_its_request_started():
    work = BackgroundWork(workers=1, openers=1)
    ran: list[str] = []
    awaited: list = []
    try:
        with awaiting_modals(awaited):
            work.open_modal(ran.append, "views.open", received_at=time.monotonic())
        work.open_modal(ran.append, "elsewhere", received_at=time.monotonic())
        assert len(awaited) == 1
        assert awaited[0].result(timeout=5) is None and "views.open" in ran
        stale = time.monotonic() - TRIGGER_BUDGET_SECONDS - 1
        work.open_modal(ran.append, "stale", received_at=stale, too_late=lambda: ran.append("too late"))
        assert work.wait_idle(5)
    finally:
        work.shutdown()
    assert sorted(ran) == ["elsewhere", "too late", "views.open"]


def test_a_forged_click_cannot_point_chat_update_at_the_managers_post(running_app: RunningApp):
    fake = running_app.slack.fake
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    meeting = start + timedelta(hours=3)
    with time_machine.travel(start, tick=True) as clock:
        review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=meeting)
        [share] = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == MANAGER_CHANNEL]
        shared_before = copy.deepcopy(fake.messages[(MANAGER_CHANNEL, share.response["ts"])])
        clock.move_to(meeting - timedelta(minutes=59))
        dispatch(running_app)  # the prep list (due at once: the meeting is sooner than a day) goes first,
        clock.shift(timedelta(seconds=2))  # then, a rep's DMs a second apart, the one-change reminder
        dispatch(running_app)
        [pre] = [c for c in fake.calls_to("chat.postMessage") if "Your next meeting is at" in c.params["text"]]
        message = pre.response["message"]
        button = next(
            e for b in message["blocks"] for e in b.get("elements", []) if e.get("action_id") == "meeting_done"
        )
        action = {"type": "button", "action_id": "meeting_done", "block_id": "nudge_actions", "value": button["value"]}

        # Signed, but its container names the managers' channel post instead of the rep's DM.
        forged = block_actions_payload(
            action,
            user_id="U2",
            channel_id=MANAGER_CHANNEL,
            message={**message, "ts": share.response["ts"]},
            container={
                "type": "message",
                "message_ts": share.response["ts"],
                "channel_id": MANAGER_CHANNEL,
                "is_ephemeral": False,
            },
        )
        assert running_app.slack.interact(forged).status_code == 200
        running_app.settle()
        assert [c for c in fake.calls_to("chat.update") if c.params["channel"] == MANAGER_CHANNEL] == []
        assert fake.messages[(MANAGER_CHANNEL, share.response["ts"])] == shared_before

        # The same click on the DM itself updates the DM.
        genuine = block_actions_payload(action, user_id="U2", channel_id=pre.response["channel"], message=message)
        assert running_app.slack.interact(genuine).status_code == 200
        running_app.settle()
    [update] = fake.calls_to("chat.update")
    assert update.params["channel"] == pre.response["channel"] and update.params["ts"] == pre.response["ts"]
    assert "Done." in blocks_text(update.params["blocks"])


def test_a_manager_whose_status_is_not_cached_sees_the_modal_open_before_slack_is_asked(
    running_app: RunningApp,
    two_reps,  # noqa: F811 (the fixture imported above)
):
    _, theirs = two_reps
    fake = running_app.slack.fake
    fake.add_user("UCHAN", tz="Europe/London", locale="en-GB")
    fake.channel_members[MANAGER_CHANNEL] = ["UCHAN"]
    home = open_home(running_app, "UCHAN")
    running_app.coach.managers.forget()  # the membership must be read from Slack again
    since = len(fake.calls)
    press(running_app, "UCHAN", home, "home_view_review", value=str(theirs.id))
    running_app.settle()
    methods = [c.method for c in fake.calls[since:]]
    assert methods[0] == "views.open" and "conversations.members" in methods
    opened = fake.calls_to("views.open")[-1]
    assert opened.params["view"]["callback_id"] == "review_opening"
    assert fake.views[opened.response["view"]["id"]]["callback_id"] == "review_detail"


def test_a_home_button_whose_modal_slack_refuses_as_expired_is_explained(running_app: RunningApp):
    fake = running_app.slack.fake
    home = open_home(running_app, "U2")
    fake.fail_next("views.open", error="expired_trigger_id")
    press(running_app, "U2", home, "home_log_win")
    running_app.settle()
    [dm] = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "U2"]
    assert "took too long to open" in dm.params["text"]
