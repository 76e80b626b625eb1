"""What Slack sees at the edge: help, signatures, malformed payloads, Slack failures."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from coach.models import Review
from tests import review_input as ri
from tests.conftest import RunningApp
from tests.slack_signing import block_actions_payload, sign, slash_command_body
from tests.test_review_flow import Rep, complete_review


@pytest.mark.parametrize("text", ["help", "halp", "report"])
def test_help_and_unknown_subcommands_answer_with_usage(running_app: RunningApp, text: str):
    answer = running_app.slack.answer(text, user_id="U2")
    assert answer.response_type == "ephemeral"
    assert "/lost Acme renewal" in answer.text
    if text != "help":
        assert f"`{text}`" in answer.text
    running_app.settle()
    assert running_app.slack.fake.calls_to("views.open") == []


def test_lost_new_prefills_a_deal_name_that_looks_like_a_command(running_app: RunningApp):
    view = Rep(running_app, "U2").lost("new help")
    deal = next(b for b in view["blocks"] if b.get("block_id") == "deal_name")
    assert deal["element"]["initial_value"] == "help"


def test_japanese_deal_name_prefills(running_app: RunningApp):
    view = Rep(running_app, "U1").lost("アクメ社 更新案件")
    deal = next(b for b in view["blocks"] if b.get("block_id") == "deal_name")
    assert deal["element"]["initial_value"] == "アクメ社 更新案件"


def _post(app: RunningApp, body: str, headers: dict) -> requests.Response:
    return requests.post(
        app.slack.url,
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        timeout=5,
    )


def test_unsigned_request_is_refused(running_app: RunningApp):
    resp = _post(running_app, slash_command_body(), {})
    assert resp.status_code == 401
    assert running_app.slack.fake.calls_to("views.open") == []


def test_wrongly_signed_request_is_refused(running_app: RunningApp):
    body = slash_command_body()
    resp = _post(running_app, body, sign(body, "not-the-secret"))
    assert resp.status_code == 401


def test_stale_request_is_refused(running_app: RunningApp):
    body = slash_command_body(trigger_id=running_app.slack.fake.issue_trigger_id())
    resp = _post(running_app, body, sign(body, running_app.slack.secret, timestamp=int(time.time()) - 6 * 60))
    assert resp.status_code == 401


@pytest.mark.parametrize("timestamp", ["soon", "", "1e9", "-1", "9" * 40, "\u00b2", "1_700_000_000"])
def test_a_lost_with_a_timestamp_that_is_no_time_is_refused(running_app: RunningApp, timestamp: str):
    # Signed with the real secret over that very timestamp: only the timestamp is wrong.
    body = slash_command_body(trigger_id=running_app.slack.fake.issue_trigger_id())
    resp = _post(running_app, body, sign(body, running_app.slack.secret, timestamp=timestamp))
    assert resp.status_code == 401 and resp.json() == {"error": "invalid request"}
    running_app.settle()
    assert running_app.slack.fake.calls_to("views.open") == []


def test_tampered_body_is_refused(running_app: RunningApp):
    body = slash_command_body(text="Acme")
    headers = sign(body, running_app.slack.secret)
    resp = _post(running_app, body.replace("Acme", "Evil"), headers)
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
        ('{"type": "event_callback"', "application/json"),
        ('{"type": "event_callback", "event": {"type": "app_home_opened"}}', "application/json"),
        (
            "payload=" + json.dumps({"type": "view_submission", "view": {"callback_id": "review_step"}}),
            "application/x-www-form-urlencoded",
        ),
        (
            "payload="
            + json.dumps(
                {
                    "type": "view_submission",
                    "user": {"id": "U2"},
                    "team": {"id": "T1"},
                    "view": {"callback_id": "review_step", "private_metadata": "garbage", "state": {"values": "nope"}},
                }
            ),
            "application/x-www-form-urlencoded",
        ),
        (
            "payload="
            + json.dumps(
                {
                    "type": "block_actions",
                    "user": {"id": "U2"},
                    "actions": [{"action_id": "review_back", "type": "button"}],
                }
            ),
            "application/x-www-form-urlencoded",
        ),
        ("command=%2Flost&text=&user_id=U2", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_payload_never_gets_a_500(running_app: RunningApp, body: str, content_type: str):
    resp = requests.post(
        running_app.slack.url,
        data=body.encode(),
        headers={"Content-Type": content_type, **sign(body, running_app.slack.secret)},
        timeout=10,
    )
    assert resp.status_code < 500, (resp.status_code, resp.text)
    assert "Traceback" not in resp.text


def test_health_endpoint_reports_database(running_app: RunningApp):
    resp = requests.get(running_app.base_url + "/healthz", timeout=5)
    assert resp.status_code == 200 and resp.json() == {"ok": True}
    assert requests.get(running_app.base_url + "/nope", timeout=5).status_code == 404


def test_url_verification_is_answered(running_app: RunningApp):
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"})
    resp = requests.post(
        running_app.slack.url,
        data=body,
        timeout=5,
        headers={"Content-Type": "application/json", **sign(body, running_app.slack.secret)},
    )
    assert resp.status_code == 200 and "abc123" in resp.text


def test_rate_limited_dm_is_retried_after_retry_after_and_delivered(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1))
    posts = fake.wait_for("chat.postMessage", 3, timeout=10)
    assert posts[0].status == 429 and posts[1].response["ok"] and posts[1].params["channel"] == "U2"
    with running_app.coach.db.session() as s:
        review = s.scalar(select(Review))
    assert review.summary_ts == posts[1].response["ts"] and review.summary_error is None


def test_server_error_is_retried(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    fake.fail_next("chat.postMessage", status=500)
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1))
    posts = fake.wait_for("chat.postMessage", 3, timeout=10)
    assert posts[0].status == 500 and posts[1].response["ok"]


def test_permanent_slack_error_is_recorded_on_the_review(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    fake.fail_next("chat.postMessage", error="channel_not_found", times=2)
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1))
    running_app.settle()
    with running_app.coach.db.session() as s:
        review = s.scalar(select(Review))
    assert review.summary_error == "channel_not_found"
    assert review.share_error == "channel_not_found"
    assert len(fake.calls_to("chat.postMessage")) == 2  # no retry loop on a permanent error


def test_rate_limited_views_open_still_opens_the_modal(running_app: RunningApp):
    fake = running_app.slack.fake
    fake.fail_next("views.open", status=429, retry_after=1)
    running_app.slack.command("", user_id="U2")
    calls = fake.wait_for("views.open", 2, timeout=10)
    assert calls[0].status == 429 and calls[1].response["ok"]


def test_sharing_off_posts_nothing_to_managers(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1), share=False)
    running_app.settle()
    assert [c.params["channel"] for c in fake.calls_to("chat.postMessage")] == ["U2"]
    with running_app.coach.db.session() as s:
        assert s.scalar(select(Review)).share_with_manager is False


def test_home_tab_shows_start_button_and_recent_review(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    complete_review(rep, lost_on=ri.today(), meeting=datetime.now(UTC) + timedelta(days=1))
    fake.wait_for("chat.postMessage", 2)
    running_app.settle()  # the Home was refreshed already when the draft began and when the review was saved
    before = len(fake.calls_to("views.publish"))
    running_app.slack.event(
        {"type": "app_home_opened", "user": "U2", "channel": "D1", "tab": "home", "event_ts": "1.1"}
    )
    published = fake.wait_for("views.publish", before + 1)[-1]
    assert published.response["ok"] and published.params["user_id"] == "U2"
    text = json.dumps(published.params["view"])
    assert "home_start_review" in text and "Acme renewal" in text and "home_view_review" in text


def test_a_modal_slack_refuses_to_open_is_explained_to_the_rep(running_app: RunningApp):
    fake = running_app.slack.fake
    fake.fail_next("views.open", error="expired_trigger_id")
    assert running_app.slack.command("Acme", user_id="U2").status_code == 200
    [dm] = fake.wait_for("chat.postMessage")
    assert dm.params["channel"] == "U2" and "didn't open in time" in dm.params["text"]
    # One tap opens the form: the button carries a fresh trigger_id, and the draft (with its deal) is kept.
    [button] = [e for b in dm.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "draft_resume"
    running_app.settle()
    payload = block_actions_payload(
        {"type": "button", "action_id": "draft_resume", "block_id": "open_form", "value": button["value"]},
        user_id="U2",
        trigger_id=fake.issue_trigger_id(),
    )
    assert running_app.slack.interact(payload).status_code == 200
    opened = fake.wait_for("views.open", 2)[-1]
    assert opened.response["ok"]
    running_app.settle()
    form = fake.views[opened.response["view"]["id"]]
    deal = next(b for b in form["blocks"] if b.get("block_id") == "deal_name")
    assert form["callback_id"] == "review_step" and deal["element"]["initial_value"] == "Acme"


def test_a_modal_that_opened_before_slack_answered_500_brings_no_apology(running_app: RunningApp):
    """views.open is retried after a 5xx; when the first try had opened it, the retry's exchanged_trigger_id
    means the rep is looking at the modal."""
    fake = running_app.slack.fake
    fake.fail_next("views.open", status=500, after=True)
    assert running_app.slack.command("Acme", user_id="U2").status_code == 200
    first, retry = fake.wait_for("views.open", 2)
    running_app.settle()
    assert first.status == 500 and retry.response["error"] == "exchanged_trigger_id"
    assert [v["callback_id"] for v in fake.views.values() if v["type"] == "modal"] == ["review_step"]  # open
    assert fake.calls_to("chat.postMessage") == []  # no "didn't open in time"
