"""Sends due nudges: claim a batch, send each once, record every outcome.

Exactly once: a nudge is claimed atomically before it is sent, and its
message carries the nudge id (and when its plan was first claimed) as Slack
message metadata. Whenever Slack may have posted a message without the
database knowing (an instance died between Slack's answer and the database
write, a send timed out, Slack answered 5xx or `internal_error`), the nudge
is left *in doubt*; before it is ever sent again its DM history is searched,
from the plan's first claim, for that metadata, and the nudge is marked sent
if the message is there.

What each failure does (`rules.classify_failure`):

- 429: no send of this instance goes out before `Retry-After`; the rest of
  the batch is handed back, due then. No attempt is used up.
- the token or the app's setup (`invalid_auth`, `token_revoked`,
  `missing_scope`...): nothing can go out, so sending stops for every nudge
  with a growing pause, logged at ERROR; the nudges stay pending with no
  attempt used, and go out once an operator fixes it.
- unknown outcome (a timeout, a dropped connection, a 5xx, `internal_error`,
  `fatal_error`): in doubt as above; each counts as an attempt, the DM is
  checked after a backoff, and after NUDGE_MAX_ATTEMPTS the nudge fails with
  the reason.
- other transient errors: retried with backoff up to NUDGE_MAX_ATTEMPTS.
- permanent (this rep cannot be reached, this message can never be posted):
  failed with the reason.
- an exception while building one message fails that nudge (its traceback
  logged); the rest of the batch goes on.

Rates: sends stay within SLACK_MESSAGES_PER_SECOND overall and one a second
per rep; the DM checks (`conversations.open` / `conversations.history`,
Slack's Tier 3, about 50 a minute) within SLACK_LOOKUPS_PER_MINUTE, and a
429 on them pauses the checks for its `Retry-After`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.error import URLError
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coach.db import Database
from coach.i18n import Translator
from coach.models import Nudge, Review, ReviewDraft
from coach.nudges import messages, outbox, rules
from coach.nudges.rules import NudgeKind, NudgeStatus, Outcome, QuietHours
from coach.slack.client import never_reached_slack

log = logging.getLogger(__name__)

METADATA_EVENT = "lost_deal_coach_nudge"
PER_CHANNEL_SPACING = timedelta(seconds=1)  # Slack: about one message a second per channel

# Slack's ts comes from Slack's clock: search a little before the first claim in case ours runs ahead.
HISTORY_MARGIN = timedelta(minutes=10)
HISTORY_PAGE = 200
HISTORY_MAX_PAGES = 50  # 10,000 messages since the claim; more than that and we cannot tell
APP_PAUSE_CAP = timedelta(minutes=10)
DM_CACHE_SIZE = 50_000


SEND, LOOKUP = "send", "lookup"  # what a pause stops: chat.postMessage, or the DM checks


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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


@dataclass(frozen=True)
class _Check:
    """What the rep's DM says about a nudge in doubt."""

    found: tuple[str, str] | None = None  # (channel, ts) of the message
    absent: bool = False  # searched the whole window: it is not there
    undeliverable: str | None = None  # the rep cannot be reached at all (user_not_found...)
    # none of these: Slack could not tell (an error, a pause); look again later


class Dispatcher:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        *,
        clock: Callable[[], datetime],
        batch_size: int,
        max_attempts: int,
        lease: timedelta,
        messages_per_second: float,
        locale_default: str,
        sharing_available: bool,
        quiet: QuietHours | None = None,
        lookups_per_minute: float = 50,
        instance: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`quiet`: the reps' quiet hours, checked again at send time (None: none)."""
        self.db, self.client, self.clock = db, client, clock
        self.batch_size, self.max_attempts, self.lease = batch_size, max_attempts, lease
        self.locale_default = locale_default
        self.sharing_available = sharing_available
        self.quiet = quiet
        self.instance = instance or instance_name()
        self._monotonic = monotonic
        self.limiter = RateLimiter(messages_per_second, monotonic, sleep)
        self.lookup_limiter = RateLimiter(lookups_per_minute / 60.0, monotonic, sleep)
        # Another instance may take over a claim older than the lease. So a
        # batch stops sending at half the lease and hands the rest back, and
        # one Slack call may take at most a quarter of it.
        self.send_budget = lease.total_seconds() / 2
        self.client.timeout = min(self.client.timeout, max(lease.total_seconds() / 4, 0.05))
        self._last_sent_to: dict[str, datetime] = {}
        self._dm_channels: dict[str, str] = {}
        self._paused_until: dict[str, datetime] = {}
        self._app_failures = 0
        self._app_paused = False  # the current send pause is the token's or the setup's, not a 429
        self._lock = threading.Lock()  # one batch at a time per instance

    # The scheduler calls this every tick.
    def run_once(self) -> DispatchStats:
        with self._lock:
            stats = DispatchStats()
            if not self._paused(LOOKUP):
                self._recover(stats)
            while not self._paused(SEND):
                claimed_before = stats.claimed
                self._dispatch_batch(stats)
                if stats.claimed - claimed_before < self.batch_size:
                    break
            return stats

    # Pauses -----------------------------------------------------------------------

    def _paused(self, what: str) -> bool:
        until = self._paused_until.get(what)
        return until is not None and self.clock() < until

    def _pause(self, what: str, until: datetime) -> None:
        if until > self._paused_until.get(what, until - timedelta(seconds=1)):
            self._paused_until[what] = until

    def _resume_at(self, what: str) -> datetime:
        return max(self._paused_until.get(what) or self.clock(), self.clock())

    def _app_wide_failure(self, error: str, *, during: str) -> None:
        """The token or the app's setup is refused: back off everything it stops, loudly."""
        self._app_failures += 1
        delay = rules.backoff(self._app_failures, cap=APP_PAUSE_CAP)
        until = self.clock() + delay
        stopped = (SEND, LOOKUP) if during == SEND else (LOOKUP,)
        for what in stopped:
            self._pause(what, until)
        self._app_paused = self._app_paused or during == SEND
        log.error(
            "Slack refused the app itself (%s) on %s: %s until it clears (check SLACK_BOT_TOKEN and the "
            "app's scopes, or Slack's status); pausing %s, nudges stay pending and none is failed for it",
            error,
            "chat.postMessage" if during == SEND else "conversations.history",
            "no nudge can be sent" if during == SEND else "nudges in doubt cannot be checked",
            delay,
        )

    # Sending ----------------------------------------------------------------------

    def _row(self, nudge: Nudge, status: str, **changes: Any) -> dict[str, Any]:
        """A complete outcome row for `outbox.record`: the nudge as it was, with `changes`.

        Pending and in-doubt rows are released (no `claimed_by`): any instance may take them next.
        """
        row = {
            "id": nudge.id,
            "status": status,
            "due_at": nudge.due_at,
            "attempts": nudge.attempts,
            "last_error": nudge.last_error,
            "sent_at": None,
            "channel_id": None,
            "message_ts": None,
            "claimed_by": None if status == NudgeStatus.PENDING else self.instance,
        }
        row.update(changes)
        return row

    def _in_doubt(self, nudge: Nudge, due_at: datetime, **changes: Any) -> dict[str, Any]:
        return self._row(nudge, NudgeStatus.SENDING, due_at=due_at, claimed_by=None, **changes)

    def _dispatch_batch(self, stats: DispatchStats) -> None:
        now = self.clock()
        self._last_sent_to = {u: t for u, t in self._last_sent_to.items() if now - t < PER_CHANNEL_SPACING}
        with self.db.session() as s:
            claimed = outbox.claim_due(s, now=now, limit=self.batch_size, instance=self.instance)
        if not claimed:
            return
        stats.claimed += len(claimed)
        started = self._monotonic()
        reviews, drafts = self._load(claimed)
        results: list[dict[str, Any]] = []
        seen_users: set[str] = set()
        for nudge in claimed:
            if self._paused(SEND):
                # Slack said to wait (429: the rest is due after Retry-After, for every instance), or refused
                # the token (the rest keeps its due time, so it goes at once when a fixed app starts).
                due = nudge.due_at if self._app_paused else max(nudge.due_at, self._resume_at(SEND))
                results.append(self._row(nudge, NudgeStatus.PENDING, due_at=due))
                stats.outcomes["paused"] += 1
                continue
            if self._monotonic() - started > self.send_budget:
                # Past half the lease: give the rest back rather than risk a takeover mid-send.
                results.append(self._row(nudge, NudgeStatus.PENDING))
                stats.outcomes["handed back"] += 1
                continue
            try:
                result = self._handle(nudge, reviews, drafts, seen_users)
            except Exception as e:
                # One broken message (a bug, bad data) must not cost the rest of the batch.
                log.exception(
                    "nudge %s (%s) to %s failed while being built or sent: %s",
                    nudge.id,
                    nudge.kind,
                    nudge.user_id,
                    type(e).__name__,
                )
                result = self._row(
                    nudge, NudgeStatus.FAILED, attempts=nudge.attempts + 1, last_error=type(e).__name__[:200]
                )
            stats.outcomes[_label(result)] += 1
            results.append(result)
        self._record(results)

    def _record(self, results: list[dict[str, Any]]) -> None:
        # The Home is not republished here: a batch of self-checks at 10:00 would be a burst of views.publish
        # (Tier 4); the Home is rendered afresh whenever the rep opens it (app_home_opened).
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
                        select(Review).where(Review.id.in_(review_ids)).options(selectinload(Review.reasons))
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

    def _handle(
        self, nudge: Nudge, reviews: dict[int, Review], drafts: dict[int, ReviewDraft], seen_users: set[str]
    ) -> dict[str, Any]:
        now = self.clock()
        if nudge.expires_at is not None and now >= nudge.expires_at:
            log.info(
                "nudge %s (%s) expired unsent: due %s, useful until %s",
                nudge.id,
                nudge.kind,
                nudge.due_at,
                nudge.expires_at,
            )
            return self._row(nudge, NudgeStatus.EXPIRED, last_error="expired")
        built = self._content(nudge, reviews, drafts)
        if built is None:
            log.info("nudge %s (%s) cancelled: its review or draft is gone or finished", nudge.id, nudge.kind)
            return self._row(nudge, NudgeStatus.CANCELLED)
        (text, blocks), tz = built
        if self.quiet is not None:
            # Late (after downtime, a retry, a Retry-After) is no reason to wake the rep at 23:00.
            allowed = rules.send_time(
                nudge.kind,
                now,
                tz,
                self.quiet,
                meeting_at=nudge.expires_at if nudge.kind == NudgeKind.PRE_MEETING else None,
            )
            if allowed > now:
                log.info(
                    "nudge %s (%s) is due in %s's quiet hours; held until %s",
                    nudge.id,
                    nudge.kind,
                    nudge.user_id,
                    allowed,
                )
                return self._row(nudge, NudgeStatus.PENDING, due_at=allowed)
        # One message per rep per batch keeps within Slack's per-channel pace.
        last = self._last_sent_to.get(nudge.user_id)
        if nudge.user_id in seen_users or (last is not None and now - last < PER_CHANNEL_SPACING):
            return self._row(nudge, NudgeStatus.PENDING, due_at=now + PER_CHANNEL_SPACING)
        seen_users.add(nudge.user_id)
        self.limiter.wait()
        try:
            resp = self.client.chat_postMessage(
                channel=nudge.user_id,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": _payload(nudge)},
            )
        except SlackApiError as e:
            return self._failed(nudge, e.response.status_code, e.response.get("error"), _retry_after(e))
        except (OSError, HTTPException, URLError) as e:
            if never_reached_slack(e):
                return self._failed(nudge, 0, type(e).__name__, None, outcome=Outcome.BACKOFF)
            # A timeout or a dropped connection after sending: Slack may have posted it.
            return self._failed(nudge, None, f"no_answer:{type(e).__name__}", None)
        self._app_failures, self._app_paused = 0, False
        self._last_sent_to[nudge.user_id] = now
        if resp.get("channel"):
            self._remember_dm(nudge.user_id, resp["channel"])
        log.info("nudge %s (%s) sent to %s", nudge.id, nudge.kind, nudge.user_id)
        return self._row(
            nudge,
            NudgeStatus.SENT,
            sent_at=now,
            channel_id=resp.get("channel"),
            message_ts=resp.get("ts"),
            last_error=None,
        )

    def _failed(
        self,
        nudge: Nudge,
        status: int | None,
        error: str | None,
        retry_after: str | None,
        *,
        outcome: Outcome | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        outcome = outcome or rules.classify_failure(status, error)
        error_text = str(error or f"http_{status}")[:200]
        if outcome is Outcome.RETRY_AFTER:
            resume = now + timedelta(seconds=_seconds(retry_after, default=30))
            self._pause(SEND, resume)
            self._app_paused = False
            log.warning("nudge %s rate limited (%s); no nudge goes out before %s", nudge.id, error_text, resume)
            return self._row(nudge, NudgeStatus.PENDING, due_at=resume, last_error=error_text)
        if outcome is Outcome.APP_WIDE:
            self._app_wide_failure(error_text, during=SEND)
            return self._row(nudge, NudgeStatus.PENDING, last_error=error_text)
        attempts = nudge.attempts + 1
        if outcome is Outcome.UNKNOWN:
            delay = rules.backoff(attempts)
            log.warning(
                "nudge %s (%s) to %s: unclear whether Slack posted it (%s), attempt %d of %d; checking "
                "the DM in %s before any resend",
                nudge.id,
                nudge.kind,
                nudge.user_id,
                error_text,
                attempts,
                self.max_attempts,
                delay,
            )
            return self._in_doubt(nudge, now + delay, attempts=attempts, last_error=error_text)
        if outcome is Outcome.BACKOFF and attempts < self.max_attempts:
            delay = rules.backoff(attempts)
            log.warning(
                "nudge %s failed (%s), attempt %d of %d; retrying in %s",
                nudge.id,
                error_text,
                attempts,
                self.max_attempts,
                delay,
            )
            return self._row(nudge, NudgeStatus.PENDING, attempts=attempts, due_at=now + delay, last_error=error_text)
        log.error("nudge %s (%s) to %s failed for good: %s", nudge.id, nudge.kind, nudge.user_id, error_text)
        return self._row(nudge, NudgeStatus.FAILED, attempts=attempts, last_error=error_text)

    def _content(
        self, nudge: Nudge, reviews: dict[int, Review], drafts: dict[int, ReviewDraft]
    ) -> tuple[messages.Message, ZoneInfo] | None:
        if nudge.kind == NudgeKind.FINISH_REVIEW:
            draft = drafts.get(nudge.draft_id) if nudge.draft_id else None
            if draft is None:
                return None
            tz = ZoneInfo(draft.timezone or "UTC")
            t = Translator(draft.locale or self.locale_default, tz)
            return messages.finish_review_message(t, draft.id, draft.answers.get("deal_name")), tz
        review = reviews.get(nudge.review_id) if nudge.review_id else None
        if review is None:
            return None
        tz = ZoneInfo(review.timezone)
        t = Translator(review.locale, tz)
        if nudge.kind == NudgeKind.CHECKLIST:
            return messages.checklist_message(t, review, sharing_available=self.sharing_available), tz
        if nudge.kind == NudgeKind.PRE_MEETING:
            return messages.pre_meeting_message(t, review), tz
        if nudge.kind == NudgeKind.SELF_CHECK:
            return messages.self_check_message(t, review, None), tz
        if nudge.kind == NudgeKind.RECONTACT:
            return messages.recontact_message(t, review), tz
        return None

    # Nudges in doubt ----------------------------------------------------------------

    def _recover(self, stats: DispatchStats) -> None:
        """Settle nudges Slack may have posted: a dead instance's claims, sends without a clear answer."""
        now = self.clock()
        with self.db.session() as s:
            stale = outbox.claim_stale(s, now=now, lease=self.lease, limit=self.batch_size, instance=self.instance)
        if not stale:
            return
        started = self._monotonic()
        results = []
        for nudge in stale:
            if self._paused(LOOKUP) or self._monotonic() - started > self.send_budget:
                # Slack asked us to wait (or this takes too long): look again after that, nobody sends meanwhile.
                results.append(self._in_doubt(nudge, self._resume_at(LOOKUP)))
                stats.outcomes["check deferred"] += 1
                continue
            results.append(self._settle(nudge, self._find_sent(nudge)))
            stats.outcomes["recovered"] += 1
        self._record(results)

    def _settle(self, nudge: Nudge, check: _Check) -> dict[str, Any]:
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
            if self._paused(LOOKUP):
                return self._in_doubt(nudge, self._resume_at(LOOKUP))
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

    def _find_sent(self, nudge: Nudge) -> _Check:
        """Look for the nudge's message in the rep's DM, from (a little before) its plan's first claim on."""
        since = (nudge.claimed_at or nudge.updated_at) - HISTORY_MARGIN
        plan = outbox.plan_marker(nudge)
        try:
            channel = self._dm_channel(nudge.user_id)
            cursor = None
            for _ in range(HISTORY_MAX_PAGES):
                self.lookup_limiter.wait()
                page = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=HISTORY_PAGE,
                    **({"cursor": cursor} if cursor else {}),
                )
                for message in page.get("messages") or []:
                    if _is_message_of(message, nudge.id, plan):
                        return _Check(found=(channel, message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not page.get("has_more") or not cursor:
                    return _Check(absent=True)
            log.error(
                "nudge %s: more than %d messages in %s's DM since %s; cannot tell whether it was sent",
                nudge.id,
                HISTORY_PAGE * HISTORY_MAX_PAGES,
                nudge.user_id,
                since,
            )
            return _Check()
        except SlackApiError as e:
            return self._lookup_failed(nudge, e)
        except Exception as e:
            log.error("could not check whether nudge %s was sent: %s", nudge.id, type(e).__name__)
            return _Check()

    def _dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            self.lookup_limiter.wait()
            channel = self.client.conversations_open(users=user_id)["channel"]["id"]
            self._remember_dm(user_id, channel)
        return channel

    def _remember_dm(self, user_id: str, channel: str) -> None:
        if len(self._dm_channels) >= DM_CACHE_SIZE:
            self._dm_channels.clear()
        self._dm_channels[user_id] = channel

    def _lookup_failed(self, nudge: Nudge, e: SlackApiError) -> _Check:
        status, error = e.response.status_code, e.response.get("error")
        outcome = rules.classify_failure(status, error)
        if outcome is Outcome.RETRY_AFTER:
            resume = self.clock() + timedelta(seconds=_seconds(_retry_after(e), default=30))
            self._pause(LOOKUP, resume)
            log.warning("checking nudge %s's DM was rate limited; no DM is checked before %s", nudge.id, resume)
        elif outcome is Outcome.APP_WIDE:
            self._app_wide_failure(str(error), during=LOOKUP)
        elif error in rules.RECIPIENT_ERRORS:
            return _Check(undeliverable=str(error))
        else:
            log.error("could not check whether nudge %s was sent: %s", nudge.id, error or f"http_{status}")
        return _Check()


def _payload(nudge: Nudge) -> dict[str, Any]:
    plan = outbox.plan_marker(nudge)
    return {"nudge_id": nudge.id, **({"plan": plan} if plan is not None else {})}


def _is_message_of(message: dict, nudge_id: int, plan: int | None) -> bool:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_EVENT:
        return False
    payload = meta.get("event_payload") or {}
    if payload.get("nudge_id") != nudge_id:
        return False
    return plan is None or payload.get("plan", plan) == plan


def _label(row: dict[str, Any]) -> str:
    if row["status"] == NudgeStatus.PENDING:
        return "deferred"
    if row["status"] == NudgeStatus.SENDING:
        return "in doubt"
    return str(row["status"])


def _retry_after(e: SlackApiError) -> str | None:
    return e.response.headers.get("Retry-After") or e.response.headers.get("retry-after")


def _seconds(value: str | None, *, default: int) -> int:
    try:
        return max(int(value), 1) if value is not None else default
    except ValueError:
        return default
