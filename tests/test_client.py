"""Retries that never post twice: the default client against a fake Slack that fails (before or after
doing the work), and the paths that post through it (review summary and share, digest, export)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from urllib.error import URLError

import pytest
import time_machine
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import select

from coach.models import Review
from coach.slack import client as slack_client
from coach.slack.client import Posted, make_client, post_message, retry_handlers
from tests import review_input as ri
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.fakeslack import FakeSlack
from tests.review_seed import insert, review
from tests.slack_signing import block_actions_payload
from tests.test_home import open_home
from tests.test_review_flow import Rep, complete_review, saved_reviews


@pytest.fixture(autouse=True)
def _no_wait_before_looking(monkeypatch):
    """The fake shows a message in the history at once; Slack may take a moment."""
    monkeypatch.setattr(slack_client, "POST_CHECK_DELAY_SECONDS", 0.0)


@pytest.fixture
def client(fake_slack: FakeSlack):
    return make_client(fake_slack.bot_token, fake_slack.base_url)


def messages_in(fake: FakeSlack, channel: str) -> list[dict]:
    return [m for (c, _), m in fake.messages.items() if c == channel]


# --------------------------------------------------------------------------
# The default client
# --------------------------------------------------------------------------


def test_a_500_to_a_post_is_not_retried_by_the_client(fake_slack: FakeSlack, client):
    fake_slack.fail_next("chat.postMessage", status=500, after=True)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="U2", text="once")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert [m["text"] for m in messages_in(fake_slack, "D2")] == ["once"]


@pytest.mark.parametrize(
    "method, call",
    [
        ("users.info", lambda c: c.users_info(user="U2")),
        ("conversations.history", lambda c: c.conversations_history(channel="D2")),
        (
            "views.publish",
            lambda c: c.views_publish(
                user_id="U2",
                view={"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Home"}}]},
            ),
        ),
    ],
)
def test_a_500_to_a_read_or_a_view_call_is_retried(fake_slack: FakeSlack, client, method, call):
    fake_slack.fail_next(method, status=500)
    assert call(client)["ok"]
    assert [c.status for c in fake_slack.calls_to(method)] == [500, 200]


def test_a_429_to_a_post_is_retried_after_retry_after(fake_slack: FakeSlack, client):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    assert client.chat_postMessage(channel="U2", text="later")["ok"]
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(messages_in(fake_slack, "D2")) == 1


def test_a_500_to_completing_an_upload_is_not_retried(fake_slack: FakeSlack, client):
    fake_slack.fail_next("files.completeUploadExternal", status=500, after=True)
    with pytest.raises(SlackApiError):
        client.files_upload_v2(channel="D2", filename="a.csv", content="a,b\n")
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1
    assert [f.completed for f in fake_slack.files.values()] == [True]  # shared once, by the one call


def _can_retry(method: str, error: Exception) -> bool:
    request = HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})
    return any(h.can_retry(state=RetryState(), request=request, error=error) for h in retry_handlers("safe"))


def test_a_dropped_connection_is_retried_only_where_a_repeat_is_harmless():
    reset = URLError(ConnectionResetError(104, "Connection reset by peer"))
    refused = URLError(ConnectionRefusedError(111, "Connection refused"))
    assert not _can_retry("chat.postMessage", reset)  # it may have been posted
    assert _can_retry("chat.postMessage", refused)  # it never reached Slack
    assert _can_retry("users.info", reset) and _can_retry("views.open", reset)


# --------------------------------------------------------------------------
# Kept-alive connections (coach/slack/transport.py)
# --------------------------------------------------------------------------


def test_calls_in_a_row_share_one_connection(fake_slack: FakeSlack, client):
    for _ in range(3):
        assert client.users_info(user="U2")["user"]["tz"] == "America/New_York"
    client.chat_postMessage(channel="U2", text="hello")
    assert fake_slack.connections == 1
    assert len(fake_slack.calls) == 4


def test_a_dropped_connection_to_a_read_is_retried_on_a_new_one(fake_slack: FakeSlack, client):
    fake_slack.drop_next("users.info")
    assert client.users_info(user="U2")["user"]["id"] == "U2"
    assert len(fake_slack.calls_to("users.info")) == 2 and fake_slack.connections == 2


def test_a_post_whose_connection_dropped_is_found_not_posted_again(fake_slack: FakeSlack, client):
    fake_slack.drop_next("chat.postMessage")  # posted, and then no answer
    posted = post_message(client, "U2", text="summary")
    [message] = messages_in(fake_slack, "D2")
    assert posted == Posted(message["ts"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_a_refused_connection_fails_as_never_reaching_slack():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once closed
    nowhere = make_client("xoxb-test", f"http://127.0.0.1:{port}/api/")
    with pytest.raises(URLError) as failed:
        nowhere.chat_postMessage(channel="U2", text="hello")
    assert slack_client.never_reached_slack(failed.value)


def test_a_4xx_reaches_the_caller_as_slack_api_error_with_its_body(fake_slack: FakeSlack, client):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0, times=5)
    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="U2", text="hello")
    assert failed.value.response.status_code == 429 and failed.value.response["error"] == "ratelimited"
    assert len(fake_slack.calls_to("chat.postMessage")) == 4  # the first and three retries after Retry-After


# --------------------------------------------------------------------------
# post_message: looks before posting again
# --------------------------------------------------------------------------


def test_post_message_finds_a_message_slack_posted_before_failing(fake_slack: FakeSlack, client):
    fake_slack.fail_next("chat.postMessage", status=500, after=True)
    posted = post_message(client, "U2", text="summary")
    [message] = messages_in(fake_slack, "D2")
    assert posted == Posted(message["ts"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_post_message_posts_again_when_the_message_is_not_there(fake_slack: FakeSlack, client):
    fake_slack.fail_next("chat.postMessage", status=500)  # refused before posting anything
    posted = post_message(client, MANAGER_CHANNEL, text="share")
    [message] = messages_in(fake_slack, MANAGER_CHANNEL)
    assert posted == Posted(message["ts"])
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [500, 200]


def test_post_message_does_not_risk_a_second_copy_when_it_cannot_look(fake_slack: FakeSlack, client):
    fake_slack.fail_next("chat.postMessage", status=500, after=True)
    fake_slack.fail_next("conversations.history", error="missing_scope")
    assert post_message(client, "U2", text="summary") == Posted(None, "internal_error", in_doubt=True)
    assert len(messages_in(fake_slack, "D2")) == 1 and len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("failure", [dict(error="internal_error"), dict(error="fatal_error"), dict(status=503)])
def test_post_message_checks_after_every_answer_that_leaves_the_post_in_doubt(fake_slack: FakeSlack, client, failure):
    """Even the last of its tries: Slack says some part of the call may have succeeded."""
    fake_slack.fail_next("chat.postMessage", after=True, times=3, **failure)
    posted = post_message(client, "U2", text="summary")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # the first went through: found, not re-sent
    assert posted.ts == messages_in(fake_slack, "D2")[0]["ts"] and posted.error is None


# --------------------------------------------------------------------------
# The app's posts
# --------------------------------------------------------------------------


def test_a_500_after_slack_posted_the_summary_leaves_one_summary_and_one_share(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    fake.fail_next("chat.postMessage", status=500, after=True)  # the summary DM: posted, then a 500
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1))
    running_app.settle()
    [summary] = messages_in(fake, "D2")
    [share] = messages_in(fake, MANAGER_CHANNEL)
    with running_app.coach.db.session() as s:
        saved = s.scalar(select(Review))
    assert (saved.summary_ts, saved.summary_error) == (summary["ts"], None)
    assert (saved.shared_ts, saved.share_error) == (share["ts"], None)


def test_a_500_after_slack_posted_the_digest_is_not_posted_twice(running_app: RunningApp):
    fake = running_app.slack.fake
    digester = running_app.application.digester
    now = datetime(2026, 3, 9, 9, 0, 3, tzinfo=UTC)  # Monday 09:00 UTC, the default DIGEST_CRON
    insert(running_app.coach.db, [review(user_id="U2", completed_at=now - timedelta(days=2))])
    with time_machine.travel(now, tick=False) as clock:
        fake.fail_next("chat.postMessage", status=500, after=True)
        assert digester.run_scheduled().outcome == "retrying"
        clock.shift(digester.lease + timedelta(seconds=1))
        [result] = digester.recover()
    assert result.outcome == "recovered"
    assert len(messages_in(fake, MANAGER_CHANNEL)) == 1


def test_a_500_after_slack_shared_the_export_leaves_one_file_and_says_it_may_be_there(running_app: RunningApp):
    fake = running_app.slack.fake
    insert(running_app.coach.db, [review(user_id="U2", completed_at=datetime.now(UTC) - timedelta(days=1))])
    fake.fail_next("files.completeUploadExternal", status=500, after=True)
    running_app.slack.answer("export", user_id="U2")
    running_app.settle()
    assert [(f.completed, f.channels) for f in fake.files.values()] == [(True, ["D2"])]
    assert len(fake.calls_to("files.completeUploadExternal")) == 1
    [note] = messages_in(fake, "D2")
    assert "may not have arrived" in note["text"] and "/lost export" in note["text"]


def test_a_share_slack_may_have_posted_is_never_posted_again(running_app: RunningApp):
    """A 500 after the share went out, and the channel cannot be read: the share stays claimed."""
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1), share=False)
    running_app.settle()
    [saved] = saved_reviews(running_app)
    fake.fail_next("chat.postMessage", status=500, after=True)
    fake.fail_next("conversations.history", error="not_in_channel", times=3)
    action = {"type": "button", "action_id": "checklist_share", "block_id": "nudge_actions", "value": str(saved.id)}
    for _ in range(2):  # the checklist's "share with my manager", pressed again after nothing seemed to happen
        running_app.slack.interact(
            block_actions_payload(action, user_id="U2", channel_id="D2", trigger_id=fake.issue_trigger_id())
        )
        running_app.settle()
    assert len(messages_in(fake, MANAGER_CHANNEL)) == 1
    [saved] = saved_reviews(running_app)
    assert (saved.shared_ts, saved.share_error) == ("in-doubt", "in doubt: internal_error")


def test_the_app_calls_slack_over_a_few_kept_connections(running_app: RunningApp):
    fake = running_app.slack.fake
    open_home(running_app, "U2")
    rep = Rep(running_app, "U2")
    rep.lost()
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1))
    running_app.settle()
    # Home, views.open, users.info, the modal filled in, the summary, the share, Home again...
    assert len(fake.calls) >= 8
    assert fake.connections <= len(fake.calls) // 2  # one new connection per call before
