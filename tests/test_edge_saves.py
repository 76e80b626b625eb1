"""Every input saves once: "Save review" pressed on several devices at once saves one review.

Real concurrent requests into /slack/events (threads released together), on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coach.models import Nudge, Review, ReviewDraft
from tests import review_input as ri
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.slack_signing import view_submission_payload
from tests.test_review_validation import rep_at_step

TRIALS = 20


def save_together(app: RunningApp, user_id: str, view: dict, values: dict, clicks: int) -> list[dict]:
    """`clicks` signed "Save review" submissions of one modal, released at the same instant."""
    start = threading.Barrier(clicks)
    bodies: list[dict] = [{}] * clicks

    def click(n: int) -> None:
        payload = view_submission_payload(view, values, user_id=user_id)
        start.wait()
        bodies[n] = app.slack.json(app.slack.interact(payload))

    threads = [threading.Thread(target=click, args=(n,)) for n in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return bodies


@pytest.mark.parametrize("clicks", [2, 5])
def test_simultaneous_saves_of_one_draft_make_one_review_one_summary_one_share_one_set_of_nudges(
    running_app: RunningApp, clicks: int
):
    fake = running_app.slack.fake
    db = running_app.coach.db
    nudge_sets: set[tuple[str, ...]] = set()
    for trial in range(TRIALS):
        user_id = f"UC{clicks}{trial:02d}"
        fake.add_user(user_id, tz="Asia/Tokyo", locale="en-US")
        rep = rep_at_step(running_app, user_id, "commit")
        values = ri.commit(meeting=datetime.now(UTC) + timedelta(days=2))
        bodies = save_together(running_app, user_id, rep.view, values, clicks)
        # Every click closes the modal: no error, no "something went wrong".
        assert bodies == [{}] * clicks, (trial, bodies)
        running_app.settle()

        with db.session() as s:
            reviews = list(s.scalars(select(Review).where(Review.user_id == user_id)))
            drafts = list(s.scalars(select(ReviewDraft).where(ReviewDraft.user_id == user_id)))
            nudges = list(s.scalars(select(Nudge).where(Nudge.user_id == user_id, Nudge.review_id.is_not(None))))
        assert len(reviews) == 1, (trial, [r.id for r in reviews])
        assert drafts == []
        kinds = Counter(n.kind for n in nudges)
        assert all(count == 1 for count in kinds.values()), (trial, kinds)
        assert {n.review_id for n in nudges} == {reviews[0].id}
        nudge_sets.add(tuple(sorted(kinds)))

        dms = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == user_id]
        assert len(dms) == 1, (trial, len(dms))  # the summary, once
        shared = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.params.get("channel") == MANAGER_CHANNEL and reviews[0].deal_name in str(c.params.get("text"))
        ]
        assert len(shared) == trial + 1, (trial, len(shared))  # one managers' post per trial so far
    assert len(nudge_sets) == 1  # every trial planned the same nudges as one save does
