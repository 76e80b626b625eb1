"""Sends due nudges: claim a batch, send each once, record every outcome.

Exactly once: a nudge is claimed atomically before it is sent, and its
message carries the nudge id as Slack message metadata. If an instance dies
between Slack's answer and the database write, the next instance finds the
claim stale, looks for that metadata in the rep's DM history, and marks the
nudge sent instead of sending it again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coach.db import Database
from coach.i18n import Translator
from coach.models import Nudge, Review, ReviewDraft
from coach.nudges import messages, outbox, rules
from coach.nudges.rules import NudgeKind, NudgeStatus, Outcome

log = logging.getLogger(__name__)

METADATA_EVENT = "lost_deal_coach_nudge"
PER_CHANNEL_SPACING = timedelta(seconds=1)  # Slack: about one message a second per channel


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RateLimiter:
    """At most `per_second` sends overall (0 = no cap), spaced evenly."""

    def __init__(self, per_second: float, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._monotonic, self._sleep = monotonic, sleep

    def wait(self) -> None:
        if not self.interval:
            return
        now = self._monotonic()
        if self._next > now:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


@dataclass
class DispatchStats:
    claimed: int = 0
    outcomes: Counter = field(default_factory=Counter)


class Dispatcher:
    def __init__(self, db: Database, client: WebClient, *, clock: Callable[[], datetime], batch_size: int,
                 max_attempts: int, lease: timedelta, messages_per_second: float, locale_default: str,
                 sharing_available: bool, instance: str | None = None) -> None:
        self.db, self.client, self.clock = db, client, clock
        self.batch_size, self.max_attempts, self.lease = batch_size, max_attempts, lease
        self.locale_default = locale_default
        self.sharing_available = sharing_available
        self.instance = instance or instance_name()
        self.limiter = RateLimiter(messages_per_second)
        # Another instance may take over a claim older than the lease. So a
        # batch stops sending at half the lease and hands the rest back, and
        # one Slack call may take at most a quarter of it.
        self.send_budget = lease.total_seconds() / 2
        self.client.timeout = min(self.client.timeout, max(lease.total_seconds() / 4, 0.05))
        self._last_sent_to: dict[str, datetime] = {}
        self._lock = threading.Lock()  # one batch at a time per instance

    # The scheduler calls this every tick.
    def run_once(self) -> DispatchStats:
        with self._lock:
            stats = DispatchStats()
            self._recover_stale(stats)
            while True:
                sent_before = stats.claimed
                self._dispatch_batch(stats)
                if stats.claimed - sent_before < self.batch_size:
                    break
            return stats

    # ------------------------------------------------------------------

    def _dispatch_batch(self, stats: DispatchStats) -> None:
        now = self.clock()
        self._last_sent_to = {u: t for u, t in self._last_sent_to.items() if now - t < PER_CHANNEL_SPACING}
        with self.db.session() as s:
            claimed = outbox.claim_due(s, now=now, limit=self.batch_size, instance=self.instance)
        if not claimed:
            return
        stats.claimed += len(claimed)
        started = time.monotonic()
        reviews, drafts = self._load(claimed)
        results: list[dict[str, Any]] = []
        seen_users: set[str] = set()
        for nudge in claimed:
            if time.monotonic() - started > self.send_budget:
                # Past half the lease: give the rest back rather than risk a takeover mid-send.
                results.append({"id": nudge.id, "status": NudgeStatus.PENDING, "due_at": nudge.due_at,
                                "attempts": nudge.attempts, "last_error": nudge.last_error})
                stats.outcomes["handed back"] += 1
                continue
            result = self._handle(nudge, reviews, drafts, seen_users)
            if result is None:
                stats.outcomes["in doubt"] += 1
                continue
            stats.outcomes[result["status"] if result["status"] != NudgeStatus.PENDING else "deferred"] += 1
            results.append(result)
        with self.db.session() as s:
            outbox.record(s, results, instance=self.instance, now=self.clock())

    def _load(self, nudges: list[Nudge]) -> tuple[dict[int, Review], dict[int, ReviewDraft]]:
        review_ids = {n.review_id for n in nudges if n.review_id is not None}
        draft_ids = {n.draft_id for n in nudges if n.draft_id is not None}
        with self.db.session() as s:
            reviews = {r.id: r for r in s.scalars(
                select(Review).where(Review.id.in_(review_ids)).options(selectinload(Review.reasons)))} \
                if review_ids else {}
            drafts = {d.id: d for d in s.scalars(select(ReviewDraft).where(ReviewDraft.id.in_(draft_ids)))} \
                if draft_ids else {}
        return reviews, drafts

    def _handle(self, nudge: Nudge, reviews: dict[int, Review], drafts: dict[int, ReviewDraft],
                seen_users: set[str]) -> dict[str, Any] | None:
        """The nudge's outcome; None when Slack may or may not have it (left claimed, checked after the lease)."""
        now = self.clock()
        base = {"id": nudge.id, "attempts": nudge.attempts, "due_at": nudge.due_at}
        if nudge.expires_at is not None and now >= nudge.expires_at:
            log.info("nudge %s (%s) expired unsent: due %s, useful until %s", nudge.id, nudge.kind,
                     nudge.due_at, nudge.expires_at)
            return {**base, "status": NudgeStatus.EXPIRED, "last_error": "expired"}
        content = self._content(nudge, reviews, drafts)
        if content is None:
            log.info("nudge %s (%s) cancelled: its review or draft is gone or finished", nudge.id, nudge.kind)
            return {**base, "status": NudgeStatus.CANCELLED}
        # One message per rep per batch keeps within Slack's per-channel pace.
        last = self._last_sent_to.get(nudge.user_id)
        if nudge.user_id in seen_users or (last is not None and now - last < PER_CHANNEL_SPACING):
            return {**base, "status": NudgeStatus.PENDING, "due_at": now + PER_CHANNEL_SPACING}
        seen_users.add(nudge.user_id)
        text, blocks = content
        self.limiter.wait()
        try:
            resp = self.client.chat_postMessage(
                channel=nudge.user_id, text=text, blocks=blocks, unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"nudge_id": nudge.id}},
            )
        except SlackApiError as e:
            return self._failed(nudge, base, e.response.status_code, e.response.get("error"),
                                e.response.headers.get("Retry-After") or e.response.headers.get("retry-after"))
        except Exception as e:
            if _never_reached_slack(e):
                return self._failed(nudge, base, None, type(e).__name__, None)
            # A timeout or a dropped connection after sending: Slack may have posted it.
            # Leave the claim; after the lease the rep's DM history decides.
            log.warning("nudge %s: no answer from Slack (%s); will check the DM before resending",
                        nudge.id, type(e).__name__)
            return None
        self._last_sent_to[nudge.user_id] = now
        log.info("nudge %s (%s) sent to %s", nudge.id, nudge.kind, nudge.user_id)
        return {**base, "status": NudgeStatus.SENT, "sent_at": now, "channel_id": resp.get("channel"),
                "message_ts": resp.get("ts"), "last_error": None}

    def _failed(self, nudge: Nudge, base: dict, status: int | None, error: str | None,
                retry_after: str | None) -> dict[str, Any]:
        now = self.clock()
        outcome = rules.classify_failure(status, error)
        error_text = str(error or f"http_{status}")[:200]
        if outcome is Outcome.RETRY_AFTER:
            wait = _seconds(retry_after, default=30)
            log.warning("nudge %s rate limited; retrying in %s s", nudge.id, wait)
            return {**base, "status": NudgeStatus.PENDING, "due_at": now + timedelta(seconds=wait),
                    "last_error": error_text}
        attempts = nudge.attempts + 1
        if outcome is Outcome.BACKOFF and attempts < self.max_attempts:
            delay = rules.backoff(attempts)
            log.warning("nudge %s failed (%s), attempt %d of %d; retrying in %s", nudge.id, error_text, attempts,
                        self.max_attempts, delay)
            return {**base, "status": NudgeStatus.PENDING, "attempts": attempts, "due_at": now + delay,
                    "last_error": error_text}
        log.error("nudge %s (%s) to %s failed for good: %s", nudge.id, nudge.kind, nudge.user_id, error_text)
        return {**base, "status": NudgeStatus.FAILED, "attempts": attempts, "last_error": error_text}

    def _content(self, nudge: Nudge, reviews: dict[int, Review],
                 drafts: dict[int, ReviewDraft]) -> messages.Message | None:
        if nudge.kind == NudgeKind.FINISH_REVIEW:
            draft = drafts.get(nudge.draft_id) if nudge.draft_id else None
            if draft is None:
                return None
            t = Translator(draft.locale or self.locale_default, ZoneInfo(draft.timezone or "UTC"))
            return messages.finish_review_message(t, draft.id, draft.answers.get("deal_name"))
        review = reviews.get(nudge.review_id) if nudge.review_id else None
        if review is None:
            return None
        t = Translator(review.locale, ZoneInfo(review.timezone))
        if nudge.kind == NudgeKind.CHECKLIST:
            return messages.checklist_message(t, review, sharing_available=self.sharing_available)
        if nudge.kind == NudgeKind.PRE_MEETING:
            return messages.pre_meeting_message(t, review)
        if nudge.kind == NudgeKind.SELF_CHECK:
            return messages.self_check_message(t, review, None)
        if nudge.kind == NudgeKind.RECONTACT:
            return messages.recontact_message(t, review)
        return None

    # Crash recovery ---------------------------------------------------------

    def _recover_stale(self, stats: DispatchStats) -> None:
        now = self.clock()
        with self.db.session() as s:
            stale = outbox.claim_stale(s, now=now, lease=self.lease, limit=self.batch_size, instance=self.instance)
        results = []
        for nudge in stale:
            found = self._find_sent(nudge)
            if found is False:
                continue  # Slack could not be asked; try again after the next lease
            if found is None:
                log.warning("nudge %s was claimed but never sent (instance died); sending it now", nudge.id)
                results.append({"id": nudge.id, "status": NudgeStatus.PENDING, "due_at": now,
                                "attempts": nudge.attempts})
            else:
                channel, ts = found
                log.warning("nudge %s was sent before its instance died; recording it, not sending again", nudge.id)
                results.append({"id": nudge.id, "status": NudgeStatus.SENT, "sent_at": now, "channel_id": channel,
                                "message_ts": ts, "attempts": nudge.attempts, "due_at": nudge.due_at})
            stats.outcomes["recovered"] += 1
        with self.db.session() as s:
            outbox.record(s, results, instance=self.instance, now=now)

    def _find_sent(self, nudge: Nudge) -> tuple[str, str] | None | bool:
        """(channel, ts) if the message is in the rep's DM, None if not, False if Slack could not tell."""
        try:
            channel = self.client.conversations_open(users=nudge.user_id)["channel"]["id"]
            oldest = (nudge.updated_at or nudge.due_at) - timedelta(days=1)
            history = self.client.conversations_history(channel=channel, oldest=f"{oldest.timestamp():.6f}",
                                                        include_all_metadata=True, limit=200)
        except Exception as e:
            log.error("could not check whether nudge %s was sent: %s", nudge.id, getattr(e, "response", e))
            return False
        for message in history.get("messages", []):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("nudge_id") == nudge.id:
                return channel, message["ts"]
        return None


def _never_reached_slack(error: Exception) -> bool:
    """Connection refused or a name that does not resolve: safe to send again."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


def _seconds(value: str | None, *, default: int) -> int:
    try:
        return max(int(value), 1) if value is not None else default
    except ValueError:
        return default
