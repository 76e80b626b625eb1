"""How fast the dispatcher may call Slack, and when it must not call at all.

Sends stay within SLACK_MESSAGES_PER_SECOND overall; DM checks within
SLACK_LOOKUPS_PER_MINUTE. A 429 pauses what it was answered for until its
`Retry-After`; a refused token or app setup pauses everything it stops with a
growing pause, logged at ERROR, until an operator fixes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from coach.nudges import rules

log = logging.getLogger(__name__)

SEND, LOOKUP = "send", "lookup"  # what a pause stops: chat.postMessage, or the DM checks
APP_PAUSE_CAP = timedelta(minutes=10)


class RateLimiter:
    """At most `per_second` calls overall (0 = no cap), spaced evenly."""

    def __init__(
        self,
        per_second: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._monotonic, self._sleep = monotonic, sleep

    def wait(self, until: float = float("inf")) -> bool:
        """Wait for the next turn and take it; False (at once, the turn left for a later call) if that turn
        comes after `until` (monotonic)."""
        if not self.interval:
            return self._monotonic() <= until
        now = self._monotonic()
        turn = max(now, self._next)
        if turn > until:
            return False
        if turn > now:
            self._sleep(turn - now)
        self._next = turn + self.interval
        return True


class Pauses:
    """Until when sending (SEND) or checking DMs (LOOKUP) must wait, on this instance."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._until: dict[str, datetime] = {}
        self._app_failures = 0
        self.app_paused = False  # the current send pause is the token's or the setup's, not a 429

    def paused(self, what: str) -> bool:
        until = self._until.get(what)
        return until is not None and self.clock() < until

    def pause(self, what: str, until: datetime) -> None:
        if until > self._until.get(what, until - timedelta(seconds=1)):
            self._until[what] = until

    def resume_at(self, what: str) -> datetime:
        return max(self._until.get(what) or self.clock(), self.clock())

    def rate_limited(self, what: str, retry_after: str | None) -> datetime:
        """Slack said to wait: nothing of `what` goes out before Retry-After (30 s if it said nothing)."""
        resume = self.clock() + timedelta(seconds=seconds(retry_after, default=30))
        self.pause(what, resume)
        if what == SEND:
            self.app_paused = False
        return resume

    def sent(self) -> None:
        """A send went through: the app is fine again."""
        self._app_failures, self.app_paused = 0, False

    def app_wide_failure(self, error: str, *, during: str) -> None:
        """The token or the app's setup is refused: back off everything it stops, loudly."""
        self._app_failures += 1
        delay = rules.backoff(self._app_failures, cap=APP_PAUSE_CAP)
        until = self.clock() + delay
        stopped = (SEND, LOOKUP) if during == SEND else (LOOKUP,)
        for what in stopped:
            self.pause(what, until)
        self.app_paused = self.app_paused or during == SEND
        log.error(
            "Slack refused the app itself (%s) on %s: %s until it clears (check SLACK_BOT_TOKEN and the "
            "app's scopes, or Slack's status); pausing %s, nudges stay pending and none is failed for it",
            error,
            "chat.postMessage" if during == SEND else "conversations.history",
            "no nudge can be sent" if during == SEND else "nudges in doubt cannot be checked",
            delay,
        )


def retry_after(e: SlackApiError) -> str | None:
    return e.response.headers.get("Retry-After") or e.response.headers.get("retry-after")


def seconds(value: str | None, *, default: int) -> int:
    try:
        return max(int(value), 1) if value is not None else default
    except ValueError:
        return default
