"""Tests of the test harness itself: FakeSlack, blockkit and slack_signing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

try:  # the project imports the harness as "tests.<module>" (see conftest.py)
    from tests.blockkit import message_problems, view_problems
    from tests.fakeslack import SO_TIMESTAMPNS, FakeSlack
    from tests.slack_signing import (
        block_actions_payload,
        event_body,
        interactive_body,
        sign,
        slash_command_body,
        view_submission_payload,
    )
except ImportError:  # run with tests/ itself on sys.path
    from blockkit import message_problems, view_problems  # type: ignore[no-redef]
    from fakeslack import SO_TIMESTAMPNS, FakeSlack  # type: ignore[no-redef]
    from slack_signing import (  # type: ignore[no-redef]
        block_actions_payload,
        event_body,
        interactive_body,
        sign,
        slash_command_body,
        view_submission_payload,
    )

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def text_input_block(block_id: str = "note", **element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain("Why was the deal lost?"),
        "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, **element},
    }


def modal(title: str = "Lost deal", blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "lost_deal",
        "title": plain(title),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks if blocks is not None else [text_input_block(max_length=500)],
        **extra,
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["threads", "asyncio"])
def fake(clock: FakeClock, request: pytest.FixtureRequest) -> Iterator[FakeSlack]:
    """Both of the fake's HTTP fronts: the suite's (a thread per connection) and the benchmarks' (asyncio)."""
    users = {"U1": {}, "U2": {"tz": "America/New_York", "locale": "en-US"}}
    with FakeSlack(clock=clock, users=users, front=request.param) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return fake.client()


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------


def test_post_message_is_recorded_with_decoded_blocks(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "block_id": "s1", "text": {"type": "mrkdwn", "text": "*Acme* lost"}}]
    resp = client.chat_postMessage(channel="C123", text="Acme lost", blocks=blocks)

    assert resp["ok"] is True
    assert resp["channel"] == "C123"
    assert resp["message"]["blocks"] == blocks
    [call] = fake.wait_for("chat.postMessage")
    assert call.params["blocks"] == blocks  # JSON string decoded back into objects
    assert call.params["text"] == "Acme lost"
    assert call.headers["Authorization"] == "Bearer xoxb-test"
    assert call.status == 200 and call.response["ts"] == resp["ts"]
    assert ("C123", resp["ts"]) in fake.messages


def test_form_encoded_blocks_are_decoded_too(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "x", "blocks": json.dumps(blocks)})
    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == blocks


def test_dm_to_user_id_lands_in_a_d_channel_and_timestamps_increase(client: WebClient) -> None:
    first = client.chat_postMessage(channel="U1", text="hello")
    second = client.chat_postMessage(channel="U1", text="again")

    assert first["channel"] == "D1"
    assert float(second["ts"]) > float(first["ts"])
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="U999", text="nobody")
    assert err.value.response["error"] == "channel_not_found"


def test_message_without_text_or_blocks_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="top-level `text`"):
        client.chat_postMessage(channel="C1")
    assert err.value.response["error"] == "no_text"


def test_message_with_51_blocks_is_refused(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "divider"} for _ in range(51)]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="too long", blocks=blocks)

    assert err.value.response["error"] == "invalid_blocks"
    assert any("at most 50 blocks" in e for e in err.value.response["errors"])
    assert fake.messages == {}
    assert client.chat_postMessage(channel="C1", text="fine", blocks=blocks[:50])["ok"]


def test_chat_update_and_delete_need_an_existing_message(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U1", text="v1")
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="v2")
    assert updated["message"]["text"] == "v2"

    assert client.chat_delete(channel=posted["channel"], ts=posted["ts"])["ok"]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="v3")
    assert err.value.response["error"] == "message_not_found"


# --------------------------------------------------------------------------
# Auth, failures, waiting
# --------------------------------------------------------------------------


def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        WebClient(token="xoxb-wrong", base_url=fake.base_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    assert fake.client().auth_test()["user_id"] == "UBOT"


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("reactions.add", params={"name": "x"})
    assert err.value.response["error"] == "unknown_method"


def test_rate_limited_call_is_retried_after_retry_after(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    client = fake.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    started = time.monotonic()
    resp = client.chat_postMessage(channel="C1", text="eventually")
    elapsed = time.monotonic() - started

    assert resp["ok"] is True
    first, second = fake.calls_to("chat.postMessage")
    assert (first.status, first.response["error"]) == (429, "ratelimited")
    assert second.status == 200
    assert elapsed >= 1.0  # slack_sdk honoured Retry-After: 1


def test_rate_limit_without_retry_handler_surfaces_429(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("users.info", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U1")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"


def test_fail_next_with_error_and_500(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("auth.test", error="account_inactive")
    fake.fail_next("auth.test", status=500)
    with pytest.raises(SlackApiError) as err1:
        client.auth_test()
    with pytest.raises(SlackApiError) as err2:
        client.auth_test()
    assert err1.value.response["error"] == "account_inactive"
    assert err2.value.response.status_code == 500
    assert client.auth_test()["ok"]


def test_wait_for_times_out_with_a_useful_message(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"views\.open.*auth\.test"):
        fake.wait_for("views.open", timeout=0.2)


def test_reset_clears_calls_and_failures(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("auth.test", error="boom")
    client.users_info(user="U1")
    fake.reset()
    assert fake.calls == []
    assert client.auth_test()["ok"]


# --------------------------------------------------------------------------
# Views and trigger ids
# --------------------------------------------------------------------------


def test_views_open_returns_a_stored_view_that_can_be_updated(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.issue_trigger_id(), view=modal())
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert view["state"] == {"values": {}}
    assert view["root_view_id"] == view["id"]
    assert view_problems(view) == []  # Slack's echoed view is itself a valid view

    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=modal(title="Thanks"))
    assert updated["view"]["title"]["text"] == "Thanks"
    with pytest.raises(SlackApiError) as conflict:
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal())  # stale hash
    assert conflict.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as missing:
        client.views_update(view_id="VNOPE", view=modal())
    assert missing.value.response["error"] == "not_found"


def test_expired_trigger_id_is_refused(fake: FakeSlack, client: WebClient, clock: FakeClock) -> None:
    trigger_id = fake.issue_trigger_id()
    clock.advance(3.01)
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=trigger_id, view=modal())
    assert err.value.response["error"] == "expired_trigger_id"
    assert fake.views == {}


def test_trigger_id_is_single_use_and_must_be_known(fake: FakeSlack, client: WebClient, clock: FakeClock) -> None:
    trigger_id = fake.issue_trigger_id()
    clock.advance(2.9)
    assert client.views_open(trigger_id=trigger_id, view=modal())["ok"]
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger_id, view=modal())
    with pytest.raises(SlackApiError) as unknown:
        client.views_open(trigger_id="1.2.abc", view=modal())
    assert reused.value.response["error"] == "exchanged_trigger_id"
    assert unknown.value.response["error"] == "invalid_trigger_id"


@pytest.mark.skipif(SO_TIMESTAMPNS is None, reason="the kernel's receive times (SO_TIMESTAMPNS) are Linux's")
def test_benchmark_front_counts_a_trigger_to_the_calls_arrival_while_the_fake_is_busy() -> None:
    """Slack does not make a views.open wait behind other calls: one that arrives 2.7 s after its trigger id's
    issue opens the modal even though the fake's loop is busy for 0.5 s more, and it is recorded at arrival."""
    issued = {"9.late.trigger": time.monotonic() - 2.7}
    with FakeSlack(front="asyncio", issued_elsewhere=issued.get) as fake:
        fake._server._loop.call_soon_threadsafe(time.sleep, 0.5)  # the one loop, answering something else
        sent = time.monotonic()
        opened = fake.client().views_open(trigger_id="9.late.trigger", view=modal())
        answered = time.monotonic()

    assert opened["ok"] is True
    [call] = fake.calls_to("views.open")
    assert answered - sent >= 0.45  # the answer did wait for the busy loop
    assert call.at - sent < 0.1  # but the call counts from when it arrived


def test_view_with_25_char_title_is_refused(fake: FakeSlack, client: WebClient) -> None:
    view = modal(title="x" * 25)
    assert any(p.startswith("/title/text") for p in view_problems(view))

    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=fake.issue_trigger_id(), view=view)
    assert err.value.response["error"] == "invalid_arguments"
    messages = err.value.response["response_metadata"]["messages"]
    assert any("24" in m and m.startswith("[ERROR]") for m in messages)


def test_plain_text_input_without_max_length_is_refused(fake: FakeSlack, client: WebClient) -> None:
    view = modal(blocks=[text_input_block()])
    assert view_problems(view) == [
        "/blocks/0/element/max_length: plain_text_input must declare max_length (project rule)"
    ]
    trigger_id = fake.issue_trigger_id()
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=trigger_id, view=view)
    assert err.value.response["error"] == "invalid_arguments"
    # A refused view does not use up the trigger id.
    assert client.views_open(trigger_id=trigger_id, view=modal())["ok"]


def test_views_push_stacks_at_most_three_views(fake: FakeSlack, client: WebClient) -> None:
    root = client.views_open(trigger_id=fake.issue_trigger_id(), view=modal())["view"]
    second = client.views_push(trigger_id=fake.issue_trigger_id(view_id=root["id"]), view=modal(title="Step 2"))["view"]
    third = client.views_push(trigger_id=fake.issue_trigger_id(view_id=second["id"]), view=modal(title="Step 3"))[
        "view"
    ]
    assert (second["previous_view_id"], third["root_view_id"]) == (root["id"], root["id"])
    with pytest.raises(SlackApiError) as err:
        client.views_push(trigger_id=fake.issue_trigger_id(view_id=third["id"]), view=modal(title="Step 4"))
    assert err.value.response["error"] == "push_limit_reached"


def test_views_publish_home(fake: FakeSlack, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "header", "text": plain("Your lost deals")}]}
    first = client.views_publish(user_id="U1", view=home)["view"]
    again = client.views_publish(user_id="U1", view=home)["view"]
    assert first["type"] == "home" and again["id"] == first["id"]
    assert fake.home_views == {"U1": first["id"]}
    with pytest.raises(SlackApiError) as err:
        client.views_publish(user_id="U1", view=modal())
    assert err.value.response["error"] == "invalid_arguments"


# --------------------------------------------------------------------------
# Users, conversations, files
# --------------------------------------------------------------------------


def test_users_info_returns_tz_and_locale_only_on_request(client: WebClient) -> None:
    with_locale = client.users_info(user="U1", include_locale=True)["user"]
    without = client.users_info(user="U2")["user"]

    assert (with_locale["tz"], with_locale["tz_offset"], with_locale["locale"]) == (
        "Asia/Tokyo",
        32400,
        "ja-JP",
    )
    assert without["tz"] == "America/New_York" and "locale" not in without
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


def test_conversations_open_and_members(fake: FakeSlack, client: WebClient) -> None:
    assert client.conversations_open(users="U2")["channel"]["id"] == "D2"
    fake.channel_members["C9"] = [f"U{i}" for i in range(250)]
    members = [m for page in client.conversations_members(channel="C9", limit=100) for m in page["members"]]
    assert members == fake.channel_members["C9"]


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    resp = client.files_upload_v2(
        channel="D1", filename="report.csv", content="deal,reason\nacme,price\n", title="Report"
    )

    assert resp["file"]["title"] == "Report"
    [upload] = fake.files.values()
    assert upload.data == b"deal,reason\nacme,price\n"
    assert upload.completed and upload.channels == ["D1"]


# --------------------------------------------------------------------------
# blockkit on its own
# --------------------------------------------------------------------------


def test_valid_views_and_messages_have_no_problems() -> None:
    select = {
        "type": "static_select",
        "action_id": "reason",
        "placeholder": plain("Pick one"),
        "options": [{"text": plain("Price"), "value": "price"}, {"text": plain("Timing"), "value": "timing"}],
        "initial_option": {"text": plain("Price"), "value": "price"},
    }
    view = modal(
        blocks=[
            {"type": "header", "text": plain("Acme Corp")},
            {"type": "input", "block_id": "reason", "label": plain("Reason"), "element": select},
            text_input_block(max_length=3000, min_length=10, initial_value="It was the price"),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "_private to you_"}]},
        ],
        private_metadata=json.dumps({"deal_id": 42}),
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Done*"}, "fields": [plain("a"), plain("b")]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open",
                    "text": plain("Open"),
                    "value": "42",
                    "style": "primary",
                },
                {
                    "type": "overflow",
                    "action_id": "more",
                    "options": [{"text": plain("Snooze"), "value": "snooze"}],
                },
            ],
        },
    ]
    assert view_problems(view) == []
    assert message_problems(blocks, "Done") == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}],
            "/blocks/0/text/type: must be plain_text",
        ),
        ([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}], "duplicate block_id"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}],
            "/blocks/0/text/text: must be a non-empty",
        ),
        ([text_input_block(max_length=100)], "input blocks are not allowed in messages"),
        ([{"type": "section", "fields": [plain("f")] * 11}], "/blocks/0/fields: must have 1..10"),
        (
            [
                {
                    "type": "actions",
                    "elements": [{"type": "button", "action_id": "a", "text": plain("b" * 76)}],
                }
            ],
            "/blocks/0/elements/0/text/text: must be at most 75",
        ),
    ],
)
def test_message_problems_catch_what_slack_refuses(blocks: list[dict[str, Any]], expected: str) -> None:
    assert any(expected in p for p in message_problems(blocks, "fallback")), message_problems(blocks, "fallback")


def test_view_problems_checks_options_and_inputs() -> None:
    options = [{"text": plain(str(i)), "value": str(i)} for i in range(11)]
    checkboxes = {
        "type": "checkboxes",
        "action_id": "c",
        "options": options,
        "initial_options": [{"text": plain("nope"), "value": "nope"}],
    }
    view = modal(
        blocks=[
            {"type": "input", "block_id": "c", "label": plain("Pick"), "element": checkboxes},
            text_input_block("t", max_length=5, min_length=9, initial_value="too long"),
        ],
        submit=None,
    )
    problems = view_problems(view)
    for expected in (
        "/blocks/0/element/options: must have 1..10 options",
        "/blocks/0/element/initial_options/0: value 'nope' is not one of",
        "/blocks/1/element/min_length: must not exceed max_length",
        "/blocks/1/element/initial_value: is longer than max_length",
        "/submit: is required when the modal has input blocks",
    ):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


# --------------------------------------------------------------------------
# Signing and payload builders
# --------------------------------------------------------------------------


def test_signed_bodies_are_accepted_by_slack_sdk_verifier() -> None:
    verifier = SignatureVerifier(SECRET)
    for body in (
        slash_command_body(text="acme corp"),
        interactive_body(block_actions_payload({"type": "button", "action_id": "a", "value": "v"})),
        event_body({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}),
    ):
        headers = sign(body, SECRET)
        assert verifier.is_valid_request(body, headers)
        assert verifier.is_valid_request(body.encode(), sign(body.encode(), SECRET))
        assert not verifier.is_valid_request(body + "x", headers)
    stale = sign("a=b", SECRET, timestamp=int(time.time()) - 60 * 10)
    assert not verifier.is_valid_request("a=b", stale)


def test_slash_command_body_has_slacks_fields_in_order() -> None:
    body = slash_command_body(command="/lost", text="acme corp", trigger_id="1.2.3")
    assert body.startswith("token=")
    assert "command=%2Flost" in body and "text=acme+corp" in body
    fields = parse_qs(body, keep_blank_values=True)
    assert list(fields) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]  # fmt: skip
    assert fields["trigger_id"] == ["1.2.3"] and fields["user_id"] == ["U1"]


def test_view_submission_payload_shape() -> None:
    values = {"note": {"value": {"type": "plain_text_input", "value": "price"}}}
    payload = view_submission_payload(modal(private_metadata="42"), values, user_id="U2")

    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == "U2" and payload["team"]["id"] == "T1"
    view = payload["view"]
    assert view["state"] == {"values": values}
    assert (view["callback_id"], view["private_metadata"]) == ("lost_deal", "42")
    assert view["id"].startswith("V") and view["root_view_id"] == view["id"] and view["hash"]


def test_bolt_app_end_to_end_against_the_fake(fake: FakeSlack) -> None:
    from slack_bolt import App, BoltRequest

    app = App(signing_secret=SECRET, client=fake.client())

    @app.command("/lost")
    def open_modal(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=modal())

    body = slash_command_body(text="acme", trigger_id=fake.issue_trigger_id())
    headers: dict[str, str | Sequence[str]] = {
        "Content-Type": "application/x-www-form-urlencoded",
        **sign(body, SECRET),
    }
    response = app.dispatch(BoltRequest(body=body, headers=headers))

    assert response.status == 200
    [call] = fake.wait_for("views.open")
    assert call.response["ok"] is True
    assert call.params["view"]["callback_id"] == "lost_deal"


# --------------------------------------------------------------------------
# Knobs and endpoints added for the slash-command answers and safe retries
# --------------------------------------------------------------------------


def test_an_upload_of_other_than_the_announced_length_is_refused(fake: FakeSlack, client: WebClient) -> None:
    import requests

    announced = client.files_getUploadURLExternal(filename="a.csv", length=10)
    refused = requests.post(announced["upload_url"], data=b"12345", timeout=5)
    assert refused.status_code == 400 and "announced 10 bytes, got 5" in refused.text
    assert fake.files[announced["file_id"]].data is None
    with pytest.raises(SlackApiError) as err:
        client.files_completeUploadExternal(files=[{"id": announced["file_id"], "title": "a"}], channel_id="D1")
    assert err.value.response["error"] == "file_not_found"
    exact = requests.post(announced["upload_url"], data=b"1234567890", timeout=5)
    assert exact.status_code == 200 and fake.files[announced["file_id"]].data == b"1234567890"


def _respond(url: str, body: Any) -> Any:
    import requests

    return requests.post(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, timeout=5)


def test_response_url_posts_are_checked_and_recorded(fake: FakeSlack, clock: FakeClock) -> None:
    from tests.fakeslack import RESPONSE_URL

    url = fake.issue_response_url()
    ok = _respond(url, {"response_type": "ephemeral", "text": "Hello"})
    assert (ok.status_code, ok.text) == (200, "ok")
    [call] = fake.responses_to(url)
    assert call.method == RESPONSE_URL and (call.params["text"], call.params["response_type"]) == ("Hello", "ephemeral")
    assert fake.wait_for_response(url) is call

    no_text = _respond(url, {"response_type": "ephemeral"})
    assert (no_text.status_code, fake.calls[-1].response["error"]) == (400, "no_text")
    assert _respond(url, {"response_type": "shout", "text": "x"}).text == "invalid_payload"
    bad_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    assert _respond(url, {"text": "x", "blocks": bad_blocks}).text == "invalid_blocks"
    assert _respond(url, {"text": "x" * 40_001}).text == "msg_too_long"
    assert _respond(fake.root_url + "/commands/T1/1/unknown", {"text": "x"}).status_code == 404

    for n in range(4):  # five uses in all
        assert _respond(url, {"text": f"again {n}"}).status_code == 200
    assert (_respond(url, {"text": "sixth"}).status_code, fake.calls[-1].response["error"]) == (404, "used_url")
    assert len(fake.responses_to(url)) == 5

    late = fake.issue_response_url()
    clock.advance(30 * 60 + 1)
    assert _respond(late, {"text": "too late"}).text == "expired_url"


def test_fail_next_after_the_method_ran(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=500, after=True)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="posted anyway")
    assert err.value.response.status_code == 500
    [call] = fake.calls_to("chat.postMessage")
    assert call.status == 500 and call.response["error"] == "internal_error"
    assert [m["text"] for m in fake.messages.values()] == ["posted anyway"]


def test_hold_keeps_an_answer_back_until_released(fake: FakeSlack, client: WebClient) -> None:
    import threading

    gate = fake.hold("users.info")
    answers: list[str] = []
    worker = threading.Thread(target=lambda: answers.append(client.users_info(user="U1")["user"]["id"]))
    worker.start()
    fake.wait_for("users.info")  # Slack has the call...
    assert gate.answered == 0 and answers == []  # ...and has not answered it
    gate.release()
    worker.join(timeout=5)
    assert answers == ["U1"] and gate.answered == 1


def test_conversations_info_says_whether_a_channel_is_private(fake: FakeSlack, client: WebClient) -> None:
    fake.channel_members["C9"] = ["U1"]
    assert client.conversations_info(channel="C9")["channel"]["is_private"] is False
    fake.channel_info["C9"] = {"is_private": True}
    assert client.conversations_info(channel="C9")["channel"]["is_private"] is True
    with pytest.raises(SlackApiError) as err:
        client.conversations_info(channel="C404")
    assert err.value.response["error"] == "channel_not_found"


def test_a_held_answer_waits_while_other_calls_are_answered_and_a_dropped_one_never_comes(fake: FakeSlack) -> None:
    held = fake.hold("views.publish", timeout=10)
    answers: list[Any] = []
    publisher = threading.Thread(
        target=lambda: answers.append(
            fake.client().views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}]})
        )
    )
    publisher.start()
    fake.wait_for("views.publish")  # Slack got it; its answer is held back
    # Meanwhile other calls, on other connections, are answered.
    assert fake.client().users_info(user="U2")["user"]["tz"] == "America/New_York"
    assert held.answered == 0 and not answers
    held.release()
    publisher.join(5)
    assert answers and answers[0]["ok"] and held.answered == 1

    fake.drop_next("chat.postMessage")
    with pytest.raises(Exception) as dropped:  # the connection closes with no answer (and no retry here)
        fake.client(retry_handlers=[]).chat_postMessage(channel="C1", text="lost?")
    assert not isinstance(dropped.value, SlackApiError)
    assert fake.calls_to("chat.postMessage"), "the call was made; only its answer was lost"
