"""Publishing the Home tab, and refreshing it whenever something of the rep's changes.

`refresh_home` is what the flows call after a change (review saved, draft
started or closed, self-check answered, meeting moved or ready, re-contact
recorded, win logged). It runs after the ack, in `coach.later`, and
coalesces: while a refresh for a rep is still queued, another request adds
nothing; refreshes for one rep run one at a time, so an older rendering
never overwrites a newer one.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.home.views import home_view

if TYPE_CHECKING:
    from coach.services import Coach

log = logging.getLogger(__name__)


class HomeRefresher:
    STRIPES = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: set[tuple[str, str]] = set()
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    def request(self, submit: Callable[..., Any], key: tuple[str, str], fn: Callable[..., Any], *args: Any) -> bool:
        """Queue `fn(*args)` for `key` unless one is queued already; False when coalesced."""
        with self._lock:
            if key in self._queued:
                return False
            self._queued.add(key)
        stripe = self._stripes[zlib.crc32("|".join(key).encode()) % self.STRIPES]

        def run() -> None:
            with stripe:
                with self._lock:
                    self._queued.discard(key)  # a change from now on queues a fresh rendering
                fn(*args)

        try:
            submit(run)
        except Exception:
            with self._lock:
                self._queued.discard(key)
            raise
        return True


def publish_home(coach: Coach, client: WebClient, team_id: str | None, user_id: str) -> dict | None:
    """Render the rep's Home (and the team view for a manager) and publish it."""
    profile = coach.profiles.get(team_id, user_id)
    now = coach.clock()
    rep = coach.home.rep_home(team_id, user_id, now=now, tz=profile.tz)
    team = coach.home.team_home(team_id, now=now) if coach.managers.is_manager(user_id) is True else None
    view = home_view(profile.t, rep, now=now, team=team)
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as e:
        log.error("views.publish of %s's Home failed: %s", user_id, e.response.get("error"))
        return None
    return view


def refresh_home(coach: Coach, client: WebClient, team_id: str | None, user_id: str | None) -> None:
    if not user_id:
        return
    coach.home_refresh.request(
        coach.later.submit, (team_id or "", user_id), publish_home, coach, client, team_id, user_id
    )
