"""Existing reviews keep working across Alembic 0005: a review and its pending self-check stored by a 0004
database are upgraded in place, then sent and answered by the app (no follow-up call, no normal week yet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine
from alembic import command

from coach.db import alembic_config, make_engine
from tests.blockkit import message_problems
from tests.conftest import serve_app
from tests.nudge_seed import _review_row, register_users, user_id
from tests.test_nudges import click, dispatch
from tests.test_review_flow import blocks_text

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def test_a_review_stored_before_0005_is_upgraded_and_its_self_check_still_works(tmp_path, settings_env, fake_slack):
    # Always a SQLite file of its own: walking one database down to 0004 must not touch the shared test schema.
    url = f"sqlite:///{tmp_path / 'before_0005.db'}"
    command.upgrade(alembic_config(url), "0004")
    engine = make_engine(url)
    meta = sa.MetaData()
    reviews, reasons, nudges = (
        sa.Table(n, meta, autoload_with=engine) for n in ("reviews", "review_reasons", "nudges")
    )
    rep = user_id(1)  # an English-speaking rep in New York
    with engine.begin() as conn:
        row = {k: v for k, v in _review_row(1, rep=rep, now=NOW).items() if k in reviews.c}
        review_id = conn.execute(reviews.insert().values(**row)).inserted_primary_key[0]
        for p, code in enumerate(("value_not_conveyed", "low_priority", "decision_process_unknown")):
            conn.execute(reasons.insert().values(review_id=review_id, position=p, code=code, text=None))
        conn.execute(
            nudges.insert().values(
                kind="self_check",
                team_id="T1",
                user_id=rep,
                review_id=review_id,
                due_at=NOW - timedelta(minutes=1),
                status="pending",
                attempts=0,
                updated_at=NOW,
            )
        )
    engine.dispose()
    command.upgrade(alembic_config(url), "head")
    # SQLite rebuilt `reviews` to let next_meeting_at be NULL: nothing that hangs off a review was lost.
    assert rows_of(url) == {"reviews": 1, "review_reasons": 3, "nudges": 1}
    register_users(fake_slack, 2)
    with time_machine.travel(NOW, tick=False), serve_app({**settings_env, "database_url": url}, fake_slack) as app:
        assert dispatch(app).claimed == 1
        [post] = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == rep]
        assert post.response["ok"] and message_problems(post.params["blocks"], post.params["text"]) == []
        click(app, rep, post, "self_check_meetings", selected="4")
        app.settle()
        update = fake_slack.calls_to("chat.update")[-1]
        shown = blocks_text(update.params["blocks"])
    assert "Tell me what a normal week looks like for you" in shown and "fell against" not in shown
    # And back down: the review and all that hangs off it are still there.
    command.downgrade(alembic_config(url), "0004")
    assert rows_of(url) == {"reviews": 1, "review_reasons": 3, "nudges": 1}


def rows_of(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("reviews", "review_reasons", "nudges")
            }
    finally:
        engine.dispose()
