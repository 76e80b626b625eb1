"""Hostile input through /slack/events: NUL bytes, lone surrogates, absurd dates, attacker-sized values.

Every string of a request loses its NUL bytes and lone surrogates before any listener reads it, so what
the rep typed around them is stored (PostgreSQL refuses NUL, and no database takes a lone surrogate:
before, such a draft could never be saved). Dates are bounded with an inline error on their field.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from coach.logs import MAX_LOG_CHARS, configure_logging
from coach.models import Review, Win
from tests import review_input as ri
from tests.conftest import RunningApp
from tests.slack_signing import TEAM_ID, block_actions_payload, view_submission_payload
from tests.test_nudges import review_saved
from tests.test_review_flow import Rep, blocks_text
from tests.test_review_validation import later, rep_at_step

DIRT = "\x00\ud800"  # a NUL byte and a lone surrogate, as `\u0000\ud800` in Slack's JSON


def saved(app: RunningApp) -> list[Review]:
    with app.coach.db.session() as s:
        reviews = list(s.scalars(select(Review).order_by(Review.id)))
        for r in reviews:
            s.refresh(r, ["reasons"])
        return reviews


def test_nul_bytes_and_lone_surrogates_in_every_step_are_removed_and_the_rest_saved_as_typed(
    running_app: RunningApp,
):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    yesterday = ri.today() - timedelta(days=1)
    steps = [
        ri.facts(lost_on=yesterday, deal=f"Acme{DIRT} renewal", words=f"「高い」{DIRT}と言われた"),
        ri.lenses(maker=f"CFO{DIRT} Tanaka", notes={"value": f"No ROI{DIRT} story"}),
        ri.reasons(own=f"Demoed{DIRT} too early"),
    ]
    for values in steps:
        assert rep.submit(values)["response_action"] == "update"
    change = f"Ask who signs{DIRT} off"
    assert rep.submit(ri.commit(meeting=later(days=2), change_code="own_words", change_own=change)) == {}
    dm = fake.wait_for("chat.postMessage", 1)[0]
    running_app.settle()

    [review] = saved(running_app)
    assert review.deal_name == "Acme renewal"
    assert review.customer_words == "「高い」と言われた"
    assert review.decision_maker == "CFO Tanaka"
    assert review.value_note == "No ROI story"
    assert review.change_text == "Ask who signs off"
    assert [r.text for r in review.reasons if r.text] == ["Demoed too early"]
    assert "Ask who signs off" in blocks_text(dm.params["blocks"])


def test_a_nul_byte_in_the_command_text_prefills_the_deal_name_without_it(running_app: RunningApp):
    rep = Rep(running_app, "U2")
    view = rep.lost("Acme\x00 renewal")
    deal = next(b for b in view["blocks"] if b.get("block_id") == "deal_name")
    assert deal["element"]["initial_value"] == "Acme renewal"


def test_lost_won_with_a_nul_byte_and_a_lone_surrogate_logs_the_win_and_says_so(running_app: RunningApp):
    fake = running_app.slack.fake
    # A signed JSON body is the way a lone surrogate reaches a slash command (a form body is UTF-8).
    body = json.dumps(
        {
            "command": "/lost",
            "text": f"won Acme{DIRT} renewal",
            "user_id": "U2",
            "team_id": TEAM_ID,
            "trigger_id": fake.issue_trigger_id(),
            "response_url": fake.issue_response_url(),
            "channel_id": "D1",
        }
    )
    assert running_app.slack.json(running_app.slack.post(body, "application/json")) == {}
    running_app.settle()
    with running_app.coach.db.session() as s:
        [win] = list(s.scalars(select(Win)))
    assert win.deal_name == "Acme renewal"
    dms = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "U2"]
    assert len(dms) == 1 and "Acme renewal" in json.dumps(dms[0].params, ensure_ascii=False)


def test_dates_out_of_any_sensible_range_get_an_inline_error_and_the_draft_stays_saveable(
    running_app: RunningApp,
):
    rep = rep_at_step(running_app, "U2", "facts")
    body = rep.submit(ri.facts(lost_on=date(1, 1, 1)))
    assert body["response_action"] == "errors"
    assert body["errors"] == {"lost_on": "Please pick a date within the last 10 years."}
    assert rep.submit(ri.facts(lost_on=ri.today()))["response_action"] == "update"
    assert rep.submit(ri.lenses())["response_action"] == "update"
    assert rep.submit(ri.reasons())["response_action"] == "update"

    far = datetime(9999, 12, 31, 12, 0, tzinfo=UTC)
    body = rep.submit(ri.commit(meeting=far))
    assert body == {
        "response_action": "errors",
        "errors": {"next_meeting_at": "Please pick a meeting within the next 366 days."},
    }
    body = rep.submit(ri.commit(meeting=later(days=3), recontact="date", recontact_on=date(9999, 12, 31)))
    assert body == {
        "response_action": "errors",
        "errors": {"recontact_on": "Please pick a re-contact date within the next 5 years."},
    }
    assert rep.submit(ri.commit(meeting=later(days=3))) == {}
    running_app.settle()
    assert len(saved(running_app)) == 1


def test_the_japanese_date_errors_are_translated(running_app: RunningApp):
    rep = rep_at_step(running_app, "U1", "commit")
    body = rep.submit(ri.commit(meeting=datetime(9999, 1, 1, tzinfo=UTC)))
    assert body["errors"] == {"next_meeting_at": "次の商談は366日以内の日時を選んでください。"}


def test_an_attacker_sized_value_is_neither_logged_nor_echoed_whole(running_app: RunningApp, capfd):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO")  # the app's own handler, with its filters, writing to stderr
    try:
        huge = "9" * 990_000
        payload = block_actions_payload(
            {"type": "button", "action_id": "home_view_review", "block_id": "b1", "value": huge},
            user_id="U2",
            trigger_id=running_app.slack.fake.issue_trigger_id(),
        )
        assert running_app.slack.interact(payload).status_code == 200
        word = "a" * 5000
        answer = running_app.slack.answer(word, user_id="U2")
        running_app.settle()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    logged = capfd.readouterr().err.splitlines()
    assert logged, "the refused review id was expected in the log"
    assert max(len(line) for line in logged) < MAX_LOG_CHARS + 200
    assert "a" * 100 not in answer.text and "aaa…" in answer.text


def test_lost_meeting_in_year_9999_gets_an_inline_error_and_moves_nothing(running_app: RunningApp):
    fake = running_app.slack.fake
    meeting = datetime.now(UTC) + timedelta(days=2)
    review = review_saved(running_app, "U2", lost_on=ri.today(), meeting=meeting)
    before = len(fake.calls_to("views.open"))
    assert running_app.slack.command("meeting", user_id="U2").status_code == 200
    modal = fake.wait_for("views.open", before + 1)[-1]
    assert modal.response["ok"]
    resp = running_app.slack.interact(
        view_submission_payload(
            modal.response["view"],
            ri.state(next_meeting_at=ri.datetimepicker(datetime(9999, 12, 31, 12, 0, tzinfo=UTC))),
            user_id="U2",
        )
    )
    assert running_app.slack.json(resp) == {
        "response_action": "errors",
        "errors": {"next_meeting_at": "Please pick a meeting within the next 366 days."},
    }
    with running_app.coach.db.session() as s:
        assert s.get(Review, review.id).next_meeting_at == review.next_meeting_at


def test_attacker_sized_numbers_get_the_usual_answers_not_a_failure(running_app: RunningApp, caplog):
    fake = running_app.slack.fake
    digits = "9" * 5000  # more than int() reads, and than a database integer holds
    answer = running_app.slack.answer(f"export {digits}", user_id="U2")
    assert "went wrong" not in answer.text and "/lost export" in answer.text
    for action_id, value in (("meeting_done", digits), ("checklist_share", digits), ("home_view_review", digits)):
        payload = block_actions_payload(
            {"type": "button", "action_id": action_id, "block_id": "b1", "value": value},
            user_id="U2",
            channel_id="DU2",
            trigger_id=fake.issue_trigger_id(),
        )
        assert running_app.slack.interact(payload).status_code == 200
    running_app.settle()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage()[:200] for r in caplog.records]
