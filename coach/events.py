"""What one part of the app announces, for parts it does not know to act on.

The review and nudge flows say "this rep's data changed" or "this review is
finished"; the composition root (`coach.app.wiring`) subscribes whoever
cares (the Home tab republishes; more can join) without the announcers
importing them. A subscriber's failure is logged and never reaches the
announcer: the rep's action already succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

RepChanged = Callable[[str | None, str], None]
ReviewFinished = Callable[[Any], None]


class Events:
    def __init__(self) -> None:
        self._rep_changed: list[RepChanged] = []
        self._review_finished: list[ReviewFinished] = []

    def on_rep_changed(self, subscriber: RepChanged) -> RepChanged:
        self._rep_changed.append(subscriber)
        return subscriber

    def on_review_finished(self, subscriber: ReviewFinished) -> ReviewFinished:
        self._review_finished.append(subscriber)
        return subscriber

    def rep_changed(self, team_id: str | None, user_id: str | None) -> None:
        """Something the rep sees (a draft, a review, a check, a win) changed."""
        if not user_id:
            return
        self._announce(self._rep_changed, team_id, user_id)

    def review_finished(self, review: Any) -> None:
        """A review was saved whole (after its summary is on its way)."""
        self._announce(self._review_finished, review)

    @staticmethod
    def _announce(subscribers: list[Callable[..., None]], *args: Any) -> None:
        for subscriber in subscribers:
            try:
                subscriber(*args)
            except Exception:
                log.exception("a subscriber failed: %s", getattr(subscriber, "__qualname__", subscriber))
