"""Settling nudges in doubt: Slack may have posted them without the database knowing.

An instance died between Slack's answer and the database write, or a send
got a timeout, a 5xx or `internal_error`. Before such a nudge is ever sent
again, its rep's DM is searched from (a little before) its plan's first
claim for the message's metadata (`coach.slack.history`); the nudge is
marked sent if the message is there, sent again only if the whole window
was read and it is not, and otherwise looked at again later, never resent
blind. DM checks are paced (SLACK_LOOKUPS_PER_MINUTE); a 429 pauses them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.db import Database
from coach.models import Nudge
from coach.nudges import outbox, rules
from coach.nudges.delivery import is_message_of
from coach.nudges.pacing import LOOKUP, Pauses, RateLimiter, retry_after
from coach.nudges.rules import NudgeStatus
from coach.slack import history
from coach.slack.errors import RECIPIENT_ERRORS, Outcome, classify_failure
from coach.slack.history import DmChannels

log = logging.getLogger(__name__)

# Slack's ts comes from Slack's clock: search a little before the first claim in case ours runs ahead.
HISTORY_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class Check:
    """What the rep's DM says about a nudge in doubt."""

    found: tuple[str, str] | None = None  # (channel, ts) of the message
    absent: bool = False  # searched the whole window: it is not there
    undeliverable: str | None = None  # the rep cannot be reached at all (user_not_found...)
    # none of these: Slack could not tell (an error, a pause); look again later


class Recovery:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        *,
        clock: Callable[[], datetime],
        pauses: Pauses,
        lookup_limiter: RateLimiter,
        dms: DmChannels,
        instance: str,
        lease: timedelta,
        batch_size: int,
        max_attempts: int,
        budget_seconds: float,
        monotonic: Callable[[], float],
    ) -> None:
        self.db, self.client, self.clock, self.pauses = db, client, clock, pauses
        self.lookup_limiter, self.dms, self.instance = lookup_limiter, dms, instance
        self.lease, self.batch_size, self.max_attempts = lease, batch_size, max_attempts
        self.budget_seconds, self._monotonic = budget_seconds, monotonic

    def _row(self, nudge: Nudge, status: str, **changes: Any) -> dict[str, Any]:
        return outbox.outcome(nudge, status, instance=self.instance, **changes)

    def _in_doubt(self, nudge: Nudge, due_at: datetime, **changes: Any) -> dict[str, Any]:
        return outbox.in_doubt(nudge, due_at, instance=self.instance, **changes)

    def settle_stale(self, outcomes: Counter) -> list[dict[str, Any]]:
        """Claim the nudges in doubt (a dead instance's claims, sends without a clear answer) and settle each."""
        now = self.clock()
        with self.db.session() as s:
            stale = outbox.claim_stale(s, now=now, lease=self.lease, limit=self.batch_size, instance=self.instance)
        started = self._monotonic()
        results = []
        for nudge in stale:
            if self.pauses.paused(LOOKUP) or self._monotonic() - started > self.budget_seconds:
                # Slack asked us to wait (or this takes too long): look again after that, nobody sends meanwhile.
                results.append(self._in_doubt(nudge, self.pauses.resume_at(LOOKUP)))
                outcomes["check deferred"] += 1
                continue
            results.append(self.settle(nudge, self.find_sent(nudge)))
            outcomes["recovered"] += 1
        return results

    def settle(self, nudge: Nudge, check: Check) -> dict[str, Any]:
        now = self.clock()
        if check.found:
            channel, ts = check.found
            log.warning(
                "nudge %s is in %s's DM already (%s); recording it sent, not sending it again",
                nudge.id,
                nudge.user_id,
                ts,
            )
            return self._row(nudge, NudgeStatus.SENT, sent_at=now, channel_id=channel, message_ts=ts, last_error=None)
        if check.undeliverable:
            log.error(
                "nudge %s (%s) to %s failed for good: %s", nudge.id, nudge.kind, nudge.user_id, check.undeliverable
            )
            return self._row(nudge, NudgeStatus.FAILED, last_error=check.undeliverable[:200])
        if not check.absent:
            # Slack could not tell: never risk a second copy. Look again when Slack said to (a 429), or later
            # with a growing pause; give up (never resending) once it is too late or the tries are spent.
            if nudge.expires_at is not None and now >= nudge.expires_at:
                return self._row(nudge, NudgeStatus.EXPIRED, last_error="expired; whether it was sent is unknown")
            if self.pauses.paused(LOOKUP):
                return self._in_doubt(nudge, self.pauses.resume_at(LOOKUP))
            tries = nudge.attempts + 1
            if tries >= self.max_attempts:
                log.error(
                    "nudge %s (%s) to %s: whether it was sent could not be told after %d tries; not sending it again",
                    nudge.id,
                    nudge.kind,
                    nudge.user_id,
                    tries,
                )
                return self._row(
                    nudge,
                    NudgeStatus.FAILED,
                    attempts=tries,
                    last_error=f"unverifiable: {nudge.last_error or 'no_answer'}"[:200],
                )
            return self._in_doubt(nudge, now + rules.backoff(tries), attempts=tries)
        if nudge.expires_at is not None and now >= nudge.expires_at:
            return self._row(nudge, NudgeStatus.EXPIRED, last_error="expired")
        if nudge.attempts >= self.max_attempts:
            log.error(
                "nudge %s (%s) to %s failed for good after %d attempts: %s",
                nudge.id,
                nudge.kind,
                nudge.user_id,
                nudge.attempts,
                nudge.last_error,
            )
            return self._row(nudge, NudgeStatus.FAILED, last_error=nudge.last_error or "no_answer")
        log.warning(
            "nudge %s is not in %s's DM (%s); sending it again",
            nudge.id,
            nudge.user_id,
            nudge.last_error or "its instance died mid-send",
        )
        return self._row(nudge, NudgeStatus.PENDING)  # due already: this run's next claim sends it

    def find_sent(self, nudge: Nudge) -> Check:
        """Look for the nudge's message in the rep's DM, from (a little before) its plan's first claim on."""
        since = (nudge.claimed_at or nudge.updated_at) - HISTORY_MARGIN
        plan = outbox.plan_marker(nudge)
        try:
            channel = self.dms.get(self.client, nudge.user_id, before_call=self.lookup_limiter.wait)
            found = history.search(
                self.client,
                channel,
                since=since.timestamp(),
                matches=lambda m: is_message_of(m, nudge.id, plan),
                first=True,
                before_each_page=self.lookup_limiter.wait,
            )
        except history.TooLong:
            log.error(
                "nudge %s: more than %d messages in %s's DM since %s; cannot tell whether it was sent",
                nudge.id,
                history.PAGE * history.MAX_PAGES,
                nudge.user_id,
                since,
            )
            return Check()
        except SlackApiError as e:
            return self._lookup_failed(nudge, e)
        except Exception as e:
            log.error("could not check whether nudge %s was sent: %s", nudge.id, type(e).__name__)
            return Check()
        return Check(found=(channel, found[0]["ts"])) if found else Check(absent=True)

    def _lookup_failed(self, nudge: Nudge, e: SlackApiError) -> Check:
        status, error = e.response.status_code, e.response.get("error")
        outcome = classify_failure(status, error)
        if outcome is Outcome.RETRY_AFTER:
            resume = self.pauses.rate_limited(LOOKUP, retry_after(e))
            log.warning("checking nudge %s's DM was rate limited; no DM is checked before %s", nudge.id, resume)
        elif outcome is Outcome.APP_WIDE:
            self.pauses.app_wide_failure(str(error), during=LOOKUP)
        elif error in RECIPIENT_ERRORS:
            return Check(undeliverable=str(error))
        else:
            log.error("could not check whether nudge %s was sent: %s", nudge.id, error or f"http_{status}")
        return Check()
