"""The review modal when things go wrong: a cold profile cache, a database that refuses a write, an
earlier step changed from another device. Slack gets its answer in time and nothing typed is lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import time_machine
from sqlalchemy import select, text

from coach.models import ReviewDraft
from tests import review_input as ri
from tests.blockkit import view_problems
from tests.conftest import RunningApp, serve_app
from tests.test_review_flow import Rep, blocks_text, input_ids, saved_reviews
from tests.test_review_validation import later, rep_at_step

SLACK_PATIENCE = 3.0  # seconds Slack waits for the answer to a view_submission


def another_instance(settings_env: dict, fake):
    """A second instance of the app on the same database and Slack (as behind a load balancer, or
    after a restart): it has never looked this rep up."""
    return serve_app(settings_env, fake, threads=4)


def timed_submit(rep: Rep, values: dict) -> tuple[dict, float]:
    started = time.monotonic()
    body = rep.submit(values)
    return body, time.monotonic() - started


# 20:00 UTC on Tuesday 10 March 2026: already Wednesday 11 March, 05:00, in Tokyo.
TOKYO_MORNING = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)


def test_a_submission_is_answered_in_time_in_the_reps_language_and_zone_on_a_cold_cache(
    running_app: RunningApp, settings_env
):
    fake = running_app.slack.fake
    with time_machine.travel(TOKYO_MORNING, tick=True):
        opener = Rep(running_app, "U1")
        opener.lost()  # opened through the first instance, which looked U1 up (ja-JP, Asia/Tokyo)
        with another_instance(settings_env, fake) as other:
            fake.delay["users.info"] = 4.0  # Slack is slow today: longer than Slack waits for us
            rep = Rep(other, "U1")
            rep.view = opener.view

            # Today in Tokyo is 11 March; in the app's default zone (UTC) it is still the 10th.
            body, took = timed_submit(rep, ri.facts(lost_on=date(2026, 3, 11)))
            assert took < SLACK_PATIENCE, took
            assert body["response_action"] == "update", body
            assert rep.view["title"]["text"] == "失注の振り返り"

            body, took = timed_submit(rep, ri.lenses(value=None))
            assert took < SLACK_PATIENCE, took
            assert body == {"response_action": "errors", "errors": {"value_verdict": "入力してください。"}}

            for values in (ri.lenses(), ri.reasons()):
                body, took = timed_submit(rep, values)
                assert took < SLACK_PATIENCE and body["response_action"] == "update", (took, body)
            meeting = datetime(2026, 3, 12, 5, 30, tzinfo=UTC)  # 14:30 in Tokyo
            body, took = timed_submit(rep, ri.commit(meeting=meeting))
            assert took < SLACK_PATIENCE and body == {}, (took, body)

            dm = fake.wait_for("chat.postMessage", 2, timeout=15)[0]
            other.settle(timeout=30)
    text = blocks_text(dm.params["blocks"])
    assert "表向きの理由" in text
    assert "14:30" in text and "Asia/Tokyo" in text
    [review] = saved_reviews(running_app)
    assert review.locale == "ja" and review.timezone == "Asia/Tokyo" and review.lost_on == date(2026, 3, 11)


@contextmanager
def drafts_refuse_writes(app: RunningApp, table: str = "review_drafts", op: str = "UPDATE") -> Iterator[None]:
    """The database refuses writes to `table` (as a full disk or a read-only failover would), until the end."""
    engine = app.coach.db.engine
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$"
                )
            )
            conn.execute(
                text(f"CREATE TRIGGER refuse_write BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_write()")
            )
        else:
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_write BEFORE {op} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER refuse_write ON {table}" if postgres else "DROP TRIGGER refuse_write"))
            if postgres:
                conn.execute(text("DROP FUNCTION refuse_write()"))


SORRY = "Sorry, something went wrong on our side. Nothing you typed is lost: please press the button again"


def test_a_step_that_cannot_be_saved_keeps_the_modal_and_what_was_typed(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = rep_at_step(running_app, "U2", "lenses")
    lenses_view = rep.view
    updates = len(fake.calls_to("views.update"))  # the one that filled the modal in when it opened
    typed = ri.lenses(notes={"relationship": "Champion left in October"})
    with drafts_refuse_writes(running_app):
        body = rep.submit(typed)
    # Not a new view replacing the modal (which would drop the typed answers), but a note on it.
    assert body["response_action"] == "errors", body
    [(block_id, message)] = body["errors"].items()
    assert block_id == input_ids(lenses_view)[0]
    assert message.startswith(SORRY)
    with running_app.coach.db.session() as s:
        assert "relationship_note" not in s.scalar(select(ReviewDraft)).answers

    # Pressing Next again once the database is back saves the step and moves on.
    assert rep.view is lenses_view
    assert rep.submit(typed)["response_action"] == "update"
    assert "underlying_codes" in input_ids(rep.view)
    with running_app.coach.db.session() as s:
        assert s.scalar(select(ReviewDraft)).answers["relationship_note"] == "Champion left in October"
    assert len(fake.calls_to("views.update")) == updates


def test_a_review_that_cannot_be_saved_keeps_the_last_step_to_press_again(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = rep_at_step(running_app, "U2", "commit")
    typed = ri.commit(meeting=later(days=2), change_code="own_words", change_own="Open with their KPI")
    with drafts_refuse_writes(running_app, table="reviews", op="INSERT"):
        body = rep.submit(typed)
    assert body["response_action"] == "errors", body
    assert list(body["errors"]) == [input_ids(rep.view)[0]]
    assert next(iter(body["errors"].values())).startswith(SORRY)
    assert saved_reviews(running_app) == []
    assert fake.calls_to("chat.postMessage") == []

    assert rep.submit(typed) == {}
    fake.wait_for("chat.postMessage", 2)
    running_app.settle()
    [review] = saved_reviews(running_app)
    assert review.change_text == "Open with their KPI"


def test_an_earlier_step_changed_on_another_device_is_shown_with_what_to_fix(running_app: RunningApp):
    fake = running_app.slack.fake
    desktop = rep_at_step(running_app, "U2", "commit")

    # On the phone: /lost offers the draft, resume, go back to the reasons, untick them all, close.
    phone = Rep(running_app, "U2")
    resume = phone.lost()
    assert resume["callback_id"] == "review_resume"
    with running_app.coach.db.session() as s:
        draft_id = s.scalar(select(ReviewDraft)).id
    updates = len(fake.calls_to("views.update"))
    phone.click("draft_resume", value=str(draft_id), view=resume)
    phone.view = fake.wait_for("views.update", updates + 1)[-1].response["view"]
    assert "change_code" in input_ids(phone.view)
    phone.click("review_back", values=ri.commit(meeting=later(days=2)))
    phone.view = fake.wait_for("views.update", updates + 2)[-1].response["view"]
    assert "underlying_codes" in input_ids(phone.view)
    phone.close(ri.reasons(codes=(), own=""))

    # Back on the desktop, the rep saves the review: it can't be, and the rep is shown why.
    body = desktop.submit(ri.commit(meeting=later(days=2)))
    assert body["response_action"] == "update", body
    view = desktop.view
    assert view_problems(view) == []
    assert "underlying_codes" in input_ids(view)
    shown = blocks_text(view["blocks"])
    assert "Before the review can be saved, please fix what is marked below on this step." in shown
    blocks = view["blocks"]
    at = next(i for i, b in enumerate(blocks) if b.get("block_id") == "underlying_codes")
    assert blocks[at + 1]["type"] == "context"
    assert "Name at least 3 underlying reasons" in blocks[at + 1]["elements"][0]["text"]
    assert saved_reviews(running_app) == []
    with running_app.coach.db.session() as s:
        assert s.scalar(select(ReviewDraft)).step == "reasons"  # a resume comes back here too

    # Fixed: the review is saved.
    assert desktop.submit(ri.reasons())["response_action"] == "update"
    assert desktop.submit(ri.commit(meeting=later(days=2))) == {}
    fake.wait_for("chat.postMessage", 2)
    assert len(saved_reviews(running_app)) == 1
