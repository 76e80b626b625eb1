"""`/lost` and its subcommands as Slack sends them: the ack never waits for Slack, every answer is in
the rep's language (in the ack when it is known, else through the response_url right after),
subcommands in any case, and the text decoded from Slack's escapes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coach.models import Win
from tests.conftest import RunningApp
from tests.slack_signing import slash_command_body
from tests.test_review_flow import Rep

MANAGER = "UMGR1"

JA_HELP_FIRST_LINE = "*失注コーチ* は、失注を反省ではなく分析に変え、次の商談に活かすお手伝いをします。"
JA_NEW_HINT = "• `/lost new &lt;案件名&gt;` も同じです。案件名がコマンドと紛らわしいときに使います"
EN_NEW_HINT = "• `/lost new &lt;deal&gt;`: the same, for a deal whose name looks like a command"


@pytest.fixture
def settings_env(settings_env):
    return {**settings_env, "manager_user_ids": MANAGER}


@pytest.fixture(autouse=True)
def _managers(fake_slack):
    fake_slack.add_user(MANAGER, tz="America/New_York", locale="en-US", name="Morgan Lee")
    fake_slack.channel_members["CMANAGERS"] = []


def prefilled(view: dict) -> str | None:
    deal = next(b for b in view["blocks"] if b.get("block_id") == "deal_name")
    return deal["element"].get("initial_value")


# --------------------------------------------------------------------------
# In the rep's language, without waiting for Slack
# --------------------------------------------------------------------------


def test_a_japanese_rep_on_a_cold_cache_gets_the_help_in_japanese(running_app: RunningApp):
    first = running_app.slack.answer("help", user_id="U1")
    # Nothing was known about U1: the ack went at once, empty, and the help followed it.
    assert (first.via, first.ack, first.response_type) == ("response_url", {}, "ephemeral")
    assert first.text.startswith(JA_HELP_FIRST_LINE) and JA_NEW_HINT in first.text
    # Now U1's language is known: the same help comes in the ack itself, and only there.
    second = running_app.slack.answer("help", user_id="U1")
    assert (second.via, second.text) == ("ack", first.text)
    running_app.settle()
    assert running_app.slack.fake.responses_to(second.response_url) == []
    assert len(running_app.slack.fake.calls_to("users.info")) == 1
    assert running_app.slack.fake.calls_to("views.open") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("help", JA_HELP_FIRST_LINE),
        ("halp", "`halp` というコマンドはありません。"),
        ("meeting", "保存された振り返りがまだありません。"),
        ("won", "受注した案件を `/lost won A社 更新案件` のように教えてください。"),
        ("digest", "申し訳ありません、チームのダイジェストは営業マネージャー向けです。"),
        ("export", "直近30日の振り返りを CSV にまとめています。"),
    ],
)
def test_a_slow_users_info_does_not_delay_the_ack(running_app: RunningApp, text: str, expected: str):
    fake = running_app.slack.fake
    gate = fake.hold("users.info")
    try:
        resp = running_app.slack.command(text, user_id="U1")
        # Slack has its (empty) ack while users.info is still unanswered.
        assert running_app.slack.json(resp) == {}
        assert gate.answered == 0, "the ack waited for users.info"
        fake.wait_for("users.info")
        assert fake.responses_to(resp.response_url) == []  # the answer waits for U1's language...
    finally:
        gate.release()
    answer = running_app.slack.answer_of(resp)  # ...and then comes in it
    assert answer.response_type == "ephemeral" and answer.text.startswith(expected)
    running_app.settle()


def test_an_english_rep_known_from_before_is_answered_in_the_ack(running_app: RunningApp):
    running_app.slack.answer("help", user_id="U2")
    answer = running_app.slack.answer("won", user_id="U2")
    assert answer.via == "ack" and answer.text.startswith("Tell me which deal you won")


def test_a_manager_named_in_settings_is_answered_in_the_ack_once_their_language_is_known(running_app: RunningApp):
    running_app.slack.answer("help", user_id=MANAGER)
    answer = running_app.slack.answer("digest", user_id=MANAGER)
    assert answer.via == "ack" and "<#CMANAGERS>" in answer.text
    running_app.settle()
    assert running_app.slack.fake.calls_to("conversations.members") == []  # MANAGER_USER_IDS needs no lookup


# --------------------------------------------------------------------------
# Subcommands in any case; deal names as typed
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Help", "HELP", "help"])
def test_help_in_any_case_answers_with_usage_instead_of_opening_a_review(running_app: RunningApp, text: str):
    answer = running_app.slack.answer(text, user_id="U2")
    assert answer.text.startswith("*Lost-Deal Coach*") and EN_NEW_HINT in answer.text
    running_app.settle()
    assert running_app.slack.fake.calls_to("views.open") == []


def test_an_unknown_lowercase_word_gets_the_help_with_the_new_deal_hint(running_app: RunningApp):
    answer = running_app.slack.answer("report", user_id="U2")
    assert answer.text.startswith("I don't know `report`.") and EN_NEW_HINT in answer.text
    running_app.settle()
    assert running_app.slack.fake.calls_to("views.open") == []


@pytest.mark.parametrize(
    "text, deal",
    [
        ("Report", "Report"),  # not lowercase: a deal name
        ("new help", "help"),
        ("New help", "help"),  # a phone's capital still escapes a command
        ("NEW Export", "Export"),
        ("New Relic renewal", "New Relic renewal"),  # a company called New...
        ("Export Development Canada", "Export Development Canada"),  # ...or Export...
        ("Digest Media", "Digest Media"),
        ("New balance", "New balance"),  # "balance" is no subcommand
        ("AT&amp;T renewal", "AT&T renewal"),  # how Slack sends `/lost AT&T renewal`
        ("R&amp;D &lt;2025&gt;", "R&D <2025>"),
        ("Tom &amp;amp; Jerry", "Tom &amp; Jerry"),  # typed "&amp;": decoded once, as typed
        ("new\u3000help", "help"),  # an ideographic space from a Japanese IME
        # The word "payload" in a command's form is no interactive payload (Bolt's own parser takes any
        # form holding it for one, and routes nothing).
        ("payload migration", "payload migration"),
        ("new payload=1", "payload=1"),
    ],
)
def test_deal_names_are_prefilled_as_the_rep_typed_them(running_app: RunningApp, text: str, deal: str):
    assert prefilled(Rep(running_app, "U2").lost(text)) == deal


def test_lost_meeting_in_capitals_is_the_meeting_command(running_app: RunningApp):
    answer = running_app.slack.answer("Meeting", user_id="U2")
    assert answer.text == "You have no saved review yet. Type `/lost` to review a lost deal first."
    running_app.settle()
    assert running_app.slack.fake.calls_to("views.open") == []


def test_export_with_a_capital_and_a_day_count_is_the_export(running_app: RunningApp):
    answer = running_app.slack.answer("Export 90", user_id="U2")
    assert "last 90 days" in answer.text
    running_app.settle()


def test_a_subcommand_holding_the_word_payload_is_still_that_subcommand(running_app: RunningApp):
    assert running_app.slack.json(running_app.slack.command("won payload team", user_id="U2")) == {}
    running_app.settle()
    with running_app.coach.db.session() as s:
        assert s.scalar(select(Win.deal_name)) == "payload team"


def test_a_signed_lost_that_cannot_be_handled_gets_an_apology_not_an_error(running_app: RunningApp):
    # Slack always sends a trigger_id; a /lost without one (signed, so it reaches the listener) fails in it.
    body = slash_command_body(user_id="U2").replace("&trigger_id=", "&no_trigger=")
    resp = running_app.slack.post(body, "application/x-www-form-urlencoded")
    assert resp.status_code == 200
    assert resp.json() == {
        "response_type": "ephemeral",
        "text": "Sorry, something went wrong on our side. Please try again in a moment.",
    }
    running_app.settle()
    assert running_app.slack.fake.calls_to("views.open") == []
