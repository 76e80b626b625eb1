"""Modals opened by the second process (coach/slack/call_process.py), as the app runs in production.

The app is served as everywhere else; its client's `views.open`/`views.push` go through a real child
process to the same fake Slack, over a real socket.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from coach.slack.call_process import CallProcess
from coach.slack.client import make_client
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, RunningApp
from tests.processes import running
from tests.test_nudge_delivery import wait_until


@pytest.fixture
def calls(running_app: RunningApp) -> Iterator[CallProcess]:
    """The app's call process, as `python app.py` starts it (SLACK_CALL_PROCESS defaults to true)."""
    process = running_app.application.start_call_process()
    assert process is not None and running_app.coach.client.call_process is process
    wait_until(
        lambda: process.pid is not None, timeout=10, what="the call process to be ready"
    )  # till then the app makes the calls
    yield process
    process.stop()


def started(fake, **kwargs) -> CallProcess:
    process = CallProcess(BOT_TOKEN, fake.base_url, timeout=10, **kwargs).start()
    wait_until(lambda: process.pid is not None, timeout=10, what="the call process to be ready")
    return process


VIEW = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Review"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "A modal"}}],
}


def deal_field(view: dict) -> str | None:
    deal = next(b for b in view["blocks"] if b.get("block_id") == "deal_name")
    return deal["element"].get("initial_value")


def opened_with(fake, trigger_id: str):
    [call] = [c for c in fake.calls_to("views.open") if c.params.get("trigger_id") == trigger_id]
    return call


def test_lost_opens_its_modal_through_the_call_process_and_the_ack_waits_for_it(running_app, calls):
    fake = running_app.slack.fake
    trigger = fake.issue_trigger_id()
    resp = running_app.slack.command("Acme renewal", user_id="U1", trigger_id=trigger)
    assert resp.status_code == 200 and resp.text == ""
    opened = opened_with(fake, trigger)  # already there when the ack came
    assert opened.response["ok"] and opened.params["view"]["callback_id"] == "review_opening"
    assert calls.answered == 1 and calls.pid != os.getpid()
    running_app.settle()
    form = fake.views[opened.response["view"]["id"]]
    assert form["callback_id"] == "review_step" and deal_field(form) == "Acme renewal"


def test_twenty_reps_at_once_each_get_their_own_modal(running_app, calls):
    fake = running_app.slack.fake
    users = [f"UREP{i:02d}" for i in range(20)]
    for i, user in enumerate(users):
        fake.add_user(user, tz="Asia/Tokyo" if i % 2 else "Europe/Paris", locale="ja-JP" if i % 2 else "en-US")
    triggers = {user: fake.issue_trigger_id() for user in users}
    with ThreadPoolExecutor(20) as pool:
        acks = list(
            pool.map(lambda u: running_app.slack.command(f"Deal of {u}", user_id=u, trigger_id=triggers[u]), users)
        )
    assert [r.status_code for r in acks] == [200] * 20
    running_app.settle()
    assert calls.answered == 20
    for user in users:
        # Each answer reached the opener that asked for it: the modal a rep's trigger opened is filled in with
        # that rep's own deal.
        view_id = opened_with(fake, triggers[user]).response["view"]["id"]
        assert deal_field(fake.views[view_id]) == f"Deal of {user}"


def test_calls_from_many_threads_at_once_each_reach_it_whole_short_and_long_alike(running_app, calls):
    # A short call (a modal opening) is written without a lock, beside others; a long one (over PIPE_BUF, written
    # in parts) alone. The child stops reading meanwhile, so that the pipe fills and long lines go in parts: a line
    # mixed with another would not parse in the child, which would stop, and the calls would be made here.
    fake, client = running_app.slack.fake, running_app.coach.client

    def view(i: int) -> dict:
        long = i % 4 == 0
        text = f"modal {i} " + ("x" * 2_900 if long else "")
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}] * (20 if long else 1)
        return {**VIEW, "private_metadata": str(i), "blocks": blocks}

    assert len(json.dumps(view(0))) > select.PIPE_BUF > len(json.dumps(view(1))) + 100
    triggers = [fake.issue_trigger_id() for _ in range(64)]
    child = calls.pid
    os.kill(child, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(16) as pool:
            sent = [pool.submit(client.views_open, trigger_id=triggers[i], view=view(i)) for i in range(64)]
            # Every thread has a call in hand; the first lines fill the pipe (64 KiB), the rest wait.
            wait_until(lambda: len(calls._child.pending) == 16, timeout=10, what="16 calls on their way")
            assert not any(f.done() for f in sent)
            os.kill(child, signal.SIGCONT)
            opened = [f.result(timeout=30) for f in sent]
    finally:
        os.kill(child, signal.SIGCONT)
    assert calls.answered == 64  # every one made by the call process, none made again here
    for i, response in enumerate(opened):
        assert response["view"]["private_metadata"] == str(i)
        assert [b["text"] for b in response["view"]["blocks"]] == [b["text"] for b in view(i)["blocks"]]
        assert opened_with(fake, triggers[i]).params["view"]["private_metadata"] == str(i)


def test_a_trigger_slack_calls_expired_gets_the_rep_the_one_tap_dm(running_app, calls):
    fake = running_app.slack.fake
    fake.add_user("UEN", tz="America/New_York", locale="en-US")
    fake.fail_next("views.open", error="expired_trigger_id")
    assert running_app.slack.command("", user_id="UEN").status_code == 200
    running_app.settle()
    # Slack's refusal, made in the other process, is the same SlackApiError here: the draft is kept and
    # the rep gets one tap to open it.
    [dm] = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "UEN"]
    assert "didn't open in time" in dm.params["text"]
    assert calls.answered == 1


def test_a_rate_limited_views_open_is_retried_by_the_call_process(running_app, calls):
    fake = running_app.slack.fake
    fake.fail_next("views.open", status=429, retry_after=1)
    trigger = fake.issue_trigger_id()
    assert running_app.slack.command("", user_id="U1", trigger_id=trigger).status_code == 200
    running_app.settle()
    tries = [c for c in fake.calls_to("views.open") if c.params.get("trigger_id") == trigger]
    assert [c.status for c in tries] == [429, 200] and tries[1].response["ok"]
    assert calls.answered == 1  # one call, retried where it was made


def test_a_views_open_that_slack_answered_500_is_retried_by_the_call_process(running_app, calls):
    fake = running_app.slack.fake
    fake.fail_next("views.open", status=500)  # before the method runs: the trigger is still good
    trigger = fake.issue_trigger_id()
    assert running_app.slack.command("", user_id="U1", trigger_id=trigger).status_code == 200
    running_app.settle()
    tries = [c for c in fake.calls_to("views.open") if c.params.get("trigger_id") == trigger]
    assert [c.status for c in tries] == [500, 200] and tries[1].response["ok"]
    assert calls.answered == 1
    assert fake.calls_to("views.update"), "the opened modal is filled in"


def test_a_call_that_gets_no_answer_from_slack_is_logged_as_it_would_be_in_the_app(running_app, calls, caplog):
    fake = running_app.slack.fake
    fake.drop_next("views.open", times=3)  # the first try and both retries: Slack took it, the answer was lost
    with caplog.at_level(logging.ERROR):
        assert running_app.slack.command("", user_id="U1").status_code == 200
        running_app.settle()
    assert len(fake.calls_to("views.open")) == 3
    # (aiohttp's name for it: the process makes its calls with slack_sdk's AsyncWebClient.)
    assert "views.open failed in the Slack call process: ServerDisconnectedError" in caplog.text
    # The process is fine: the next /lost opens its modal through it.
    trigger = fake.issue_trigger_id()
    assert running_app.slack.command("", user_id="U1", trigger_id=trigger).status_code == 200
    assert opened_with(fake, trigger).response["ok"] and calls.answered == 2


def test_when_the_process_dies_modals_still_open_and_it_starts_again(running_app, caplog):
    fake = running_app.slack.fake
    calls = running_app.coach.client.call_process = started(fake, first_restart_seconds=3)
    try:
        first = calls.pid
        assert running_app.slack.command("", user_id="U1").status_code == 200
        assert calls.answered == 1
        with caplog.at_level(logging.ERROR, logger="coach.slack.call_process"):
            os.kill(first, signal.SIGKILL)
            wait_until(lambda: "exit code -9" in caplog.text, timeout=10, what="the stop to be logged")
        assert calls.pid is None
        # Meanwhile the app opens modals itself.
        trigger = fake.issue_trigger_id()
        assert running_app.slack.command("", user_id="U2", trigger_id=trigger).status_code == 200
        assert opened_with(fake, trigger).response["ok"] and calls.answered == 1
        wait_until(lambda: calls.pid is not None, timeout=10, what="a new call process")  # 3 s after the stop
        trigger = fake.issue_trigger_id()
        assert running_app.slack.command("", user_id="U3", trigger_id=trigger).status_code == 200
        assert opened_with(fake, trigger).response["ok"]
        assert calls.answered == 2 and calls.pid != first  # the new process made that call
    finally:
        calls.stop()


def test_a_call_in_flight_when_the_process_dies_is_made_again_and_the_rep_gets_the_form(running_app, calls, caplog):
    fake = running_app.slack.fake
    gate = fake.hold("views.open", timeout=10)
    trigger = fake.issue_trigger_id()
    sender = threading.Thread(
        target=running_app.slack.command, args=("",), kwargs={"user_id": "U1", "trigger_id": trigger}
    )
    with caplog.at_level(logging.WARNING):
        sender.start()
        # The call reached Slack, which holds its answer back: the process dies while the call is in flight.
        wait_until(lambda: len(fake.calls_to("views.open")) == 1, timeout=10, what="the views.open to reach Slack")
        assert gate.answered == 0
        os.kill(calls.pid, signal.SIGKILL)
        wait_until(lambda: len(fake.calls_to("views.open")) == 2, timeout=10, what="the app to make the call again")
        gate.release()
        sender.join(10)
        running_app.settle()
    first, again = fake.calls_to("views.open")
    # Slack had opened the modal: the second try is told so, and the flow fills in the modal it opened.
    assert first.response["ok"] and again.response["error"] == "exchanged_trigger_id"
    assert again.params["trigger_id"] == trigger
    assert fake.views[first.response["view"]["id"]]["callback_id"] == "review_step"
    assert "stopped before answering; making the call here" in caplog.text


def test_a_process_that_stops_answering_is_stopped_and_the_call_made_here(running_app, caplog):
    fake = running_app.slack.fake
    calls = running_app.coach.client.call_process = started(fake, answer_wait_seconds=0.5)
    try:
        hung = calls.pid
        os.kill(hung, signal.SIGSTOP)  # alive, reading nothing, answering nothing
        trigger = fake.issue_trigger_id()
        with caplog.at_level(logging.ERROR):
            assert running_app.slack.command("", user_id="U1", trigger_id=trigger).status_code == 200
            running_app.settle()
        assert opened_with(fake, trigger).response["ok"] and calls.answered == 0
        assert "Slack call process: no answer in" in caplog.text
        wait_until(lambda: not running(hung), timeout=10, what="the silent call process to end")
    finally:
        calls.stop()


def test_a_push_waiting_on_a_process_that_stops_answering_is_made_here_after_the_answer_wait(running_app, caplog):
    fake, client = running_app.slack.fake, running_app.coach.client
    calls = client.call_process = started(fake, answer_wait_seconds=0.5)
    try:
        opened = client.views_open(trigger_id=fake.issue_trigger_id(), view=VIEW)
        hung = calls.pid
        os.kill(hung, signal.SIGSTOP)
        with caplog.at_level(logging.WARNING):
            # The caller waits on the call process (a views.push in a modal's flow): stopped after half a second
            # without an answer, the push is made from here and the modal is pushed.
            pushed = client.views_push(trigger_id=fake.issue_trigger_id(view_id=opened["view"]["id"]), view=VIEW)
        assert pushed["ok"] and calls.answered == 1
        assert "Slack call process: no answer in" in caplog.text
        assert "views.push: the Slack call process stopped before answering; making the call here" in caplog.text
        wait_until(lambda: not running(hung), timeout=10, what="the silent call process to end")
    finally:
        calls.stop()


def test_views_push_goes_through_it_too(running_app, calls):
    fake, client = running_app.slack.fake, running_app.coach.client
    opened = client.views_open(trigger_id=fake.issue_trigger_id(), view=VIEW)
    pushed = client.views_push(trigger_id=fake.issue_trigger_id(view_id=opened["view"]["id"]), view=VIEW)
    assert pushed["ok"] and calls.answered == 2


def test_stopped_it_ends_and_the_app_opens_modals_itself(running_app, calls):
    fake = running_app.slack.fake
    pid = calls.pid
    calls.stop()
    assert calls.pid is None and not Path(f"/proc/{pid}").exists()  # ended, and reaped
    trigger = fake.issue_trigger_id()
    assert running_app.slack.command("", user_id="U1", trigger_id=trigger).status_code == 200
    assert opened_with(fake, trigger).response["ok"] and calls.answered == 0


def test_the_token_is_neither_on_its_command_line_nor_in_its_environment(fake_slack, monkeypatch):
    # As `SLACK_BOT_TOKEN=... python app.py` starts the app.
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql://coach:secret-password@db/coach")
    calls = started(fake_slack)
    try:
        proc = Path(f"/proc/{calls.pid}")
        seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        for secret in (BOT_TOKEN, SIGNING_SECRET, "secret-password"):
            assert secret.encode() not in seen
        # It has the token all the same (from its first line): its calls are made.
        client = make_client(BOT_TOKEN, fake_slack.base_url)
        client.call_process = calls
        assert client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=VIEW)["ok"] and calls.answered == 1
    finally:
        calls.stop()
