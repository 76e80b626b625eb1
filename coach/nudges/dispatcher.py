"""The dispatcher's loop: settle nudges in doubt, then claim due nudges in batches and send each once.

Exactly once: a nudge is claimed atomically before it is sent, and its
message carries the nudge id (and when its plan was first claimed) as Slack
message metadata (`delivery`). Whenever Slack may have posted a message
without the database knowing, the nudge is left *in doubt*, and `recovery`
searches the DM for it before it is ever sent again. `pacing` keeps the
calls within Slack's rates and stops them while Slack says to wait.

Every outcome of a batch is written in one statement (`outbox.record`). An
exception while building or sending one message fails that nudge (its
traceback logged); the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coach.db import Database, instance_name
from coach.models import Nudge, Review, ReviewDraft
from coach.nudges import outbox
from coach.nudges.delivery import Sender
from coach.nudges.pacing import LOOKUP, SEND, Pauses, RateLimiter
from coach.nudges.recovery import Recovery
from coach.nudges.rules import NudgeStatus, QuietHours
from coach.slack.history import DmChannels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchPolicy:
    """How the dispatcher works, from Settings (see README: NUDGE_*, SLACK_*_PER_*)."""

    batch_size: int
    max_attempts: int
    lease: timedelta
    messages_per_second: float
    locale_default: str
    sharing_available: bool
    quiet: QuietHours | None = None  # the reps' quiet hours, checked again at send time (None: none)
    lookups_per_minute: float = 50
    lead_minutes: int = 60  # REMINDER_LEAD_MINUTES: the prep list says when the one-change reminder comes

    @classmethod
    def from_settings(cls, settings, quiet: QuietHours | None) -> DispatchPolicy:
        return cls(
            batch_size=settings.nudge_batch_size,
            max_attempts=settings.nudge_max_attempts,
            lease=timedelta(seconds=settings.nudge_lease_seconds),
            messages_per_second=settings.slack_messages_per_second,
            locale_default=settings.default_locale,
            sharing_available=bool(settings.manager_channel),
            quiet=quiet,
            lookups_per_minute=settings.slack_lookups_per_minute,
            lead_minutes=settings.reminder_lead_minutes,
        )


@dataclass
class DispatchStats:
    claimed: int = 0
    outcomes: Counter = field(default_factory=Counter)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        policy: DispatchPolicy,
        *,
        clock: Callable[[], datetime],
        instance: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db, self.client, self.clock, self.policy = db, client, clock, policy
        self.batch_size, self.lease = policy.batch_size, policy.lease
        self.instance = instance or instance_name()
        self._monotonic = monotonic
        self.limiter = RateLimiter(policy.messages_per_second, monotonic, sleep)
        self.pauses = Pauses(clock)
        # Another instance may take over a claim older than the lease. So a
        # batch stops sending at half the lease and hands the rest back, and
        # one Slack call may take at most a quarter of it.
        self.send_budget = policy.lease.total_seconds() / 2
        self.client.timeout = min(self.client.timeout, max(policy.lease.total_seconds() / 4, 0.05))
        dms = DmChannels()
        self.sender = Sender(
            client,
            clock=clock,
            pauses=self.pauses,
            limiter=self.limiter,
            dms=dms,
            instance=self.instance,
            max_attempts=policy.max_attempts,
            locale_default=policy.locale_default,
            sharing_available=policy.sharing_available,
            quiet=policy.quiet,
            lead_minutes=policy.lead_minutes,
        )
        self.recovery = Recovery(
            db,
            client,
            clock=clock,
            pauses=self.pauses,
            lookup_limiter=RateLimiter(policy.lookups_per_minute / 60.0, monotonic, sleep),
            dms=dms,
            instance=self.instance,
            lease=policy.lease,
            batch_size=policy.batch_size,
            max_attempts=policy.max_attempts,
            budget_seconds=self.send_budget,
            monotonic=monotonic,
        )
        self._lock = threading.Lock()  # one batch at a time per instance

    # The scheduler calls this every tick.
    def run_once(self) -> DispatchStats:
        with self._lock:
            stats = DispatchStats()
            if not self.pauses.paused(LOOKUP):
                self._record(self.recovery.settle_stale(stats.outcomes))
            while not self.pauses.paused(SEND):
                claimed_before = stats.claimed
                self._dispatch_batch(stats)
                if stats.claimed - claimed_before < self.batch_size:
                    break
            return stats

    def _dispatch_batch(self, stats: DispatchStats) -> None:
        now = self.clock()
        # The lease runs from `now`, the claim's `updated_at`: timed from before the claim, not after it.
        send_until = self._monotonic() + self.send_budget
        self.sender.start_batch(now)
        with self.db.session() as s:
            claimed = outbox.claim_due(s, now=now, limit=self.batch_size, instance=self.instance)
        if not claimed:
            return
        stats.claimed += len(claimed)
        reviews, drafts = self._load(claimed)
        results: list[dict[str, Any]] = []
        seen_users: set[str] = set()
        for nudge in claimed:
            if self.pauses.paused(SEND):
                # Slack said to wait (429: the rest is due after Retry-After, for every instance), or refused
                # the token (the rest keeps its due time, so it goes at once when a fixed app starts).
                due = nudge.due_at if self.pauses.app_paused else max(nudge.due_at, self.pauses.resume_at(SEND))
                results.append(outbox.outcome(nudge, NudgeStatus.PENDING, instance=self.instance, due_at=due))
                stats.outcomes["paused"] += 1
                continue
            try:
                result = self.sender.send(nudge, reviews, drafts, seen_users, send_until=send_until)
            except Exception as e:
                # One broken message (a bug, bad data) must not cost the rest of the batch.
                log.exception(
                    "nudge %s (%s) to %s failed while being built or sent: %s",
                    nudge.id,
                    nudge.kind,
                    nudge.user_id,
                    type(e).__name__,
                )
                result = outbox.outcome(
                    nudge,
                    NudgeStatus.FAILED,
                    instance=self.instance,
                    attempts=nudge.attempts + 1,
                    last_error=type(e).__name__[:200],
                )
            if result is None:
                # Its turn to post came past half the lease: give it back rather than risk a takeover mid-send.
                result = outbox.outcome(nudge, NudgeStatus.PENDING, instance=self.instance)
                stats.outcomes["handed back"] += 1
            else:
                stats.outcomes[_label(result)] += 1
            results.append(result)
        self._record(results)

    def _record(self, results: list[dict[str, Any]]) -> None:
        # The Home is not republished here: a batch of self-checks at 10:00 would be a burst of views.publish
        # (Tier 4); the Home is rendered afresh whenever the rep opens it (app_home_opened).
        if not results:
            return
        with self.db.session() as s:
            outbox.record(s, results, instance=self.instance, now=self.clock())

    def _load(self, nudges: list[Nudge]) -> tuple[dict[int, Review], dict[int, ReviewDraft]]:
        review_ids = {n.review_id for n in nudges if n.review_id is not None}
        draft_ids = {n.draft_id for n in nudges if n.draft_id is not None}
        with self.db.session() as s:
            reviews = (
                {
                    r.id: r
                    for r in s.scalars(
                        select(Review)
                        .where(Review.id.in_(review_ids))
                        .options(selectinload(Review.reasons), selectinload(Review.followup))
                    )
                }
                if review_ids
                else {}
            )
            drafts = (
                {d.id: d for d in s.scalars(select(ReviewDraft).where(ReviewDraft.id.in_(draft_ids)))}
                if draft_ids
                else {}
            )
        return reviews, drafts


def _label(row: dict[str, Any]) -> str:
    if row["status"] == NudgeStatus.PENDING:
        return "deferred"
    if row["status"] == NudgeStatus.SENDING:
        return "in doubt"
    return str(row["status"])
