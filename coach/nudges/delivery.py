"""Sending one claimed nudge: choose its content, hold it out of quiet hours, post it, say what happened.

Every path returns an outcome row for `outbox.record`; nothing is swallowed.
What each failure means is `coach.slack.errors.classify_failure`'s:

- 429: no send of this instance goes out before `Retry-After`; the rest of
  the batch is handed back, due then. No attempt is used up.
- the token or the app's setup (`invalid_auth`, `token_revoked`,
  `missing_scope`...): nothing can go out, so sending pauses for every nudge
  (`pacing.Pauses`); the nudge stays pending with no attempt used.
- unknown outcome (a timeout, a dropped connection, a 5xx, `internal_error`,
  `fatal_error`): *in doubt*; it counts as an attempt, and the DM is checked
  (`coach.nudges.recovery`) after a backoff, before any resend.
- other transient errors: retried with backoff up to NUDGE_MAX_ATTEMPTS.
- permanent (this rep cannot be reached, this message can never be posted):
  failed with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.error import URLError
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.i18n import Translator
from coach.models import Nudge, Review, ReviewDraft
from coach.nudges import messages, outbox, rules
from coach.nudges.pacing import SEND, Pauses, RateLimiter, retry_after
from coach.nudges.rules import NudgeKind, NudgeStatus, QuietHours
from coach.slack.client import never_reached_slack
from coach.slack.errors import Outcome, classify_failure
from coach.slack.history import DmChannels

log = logging.getLogger(__name__)

METADATA_EVENT = "lost_deal_coach_nudge"
PER_CHANNEL_SPACING = timedelta(seconds=1)  # Slack: about one message a second per channel


def content_for(
    nudge: Nudge,
    reviews: dict[int, Review],
    drafts: dict[int, ReviewDraft],
    *,
    locale_default: str,
    sharing_available: bool,
    lead_minutes: int = 60,
) -> tuple[messages.Message, ZoneInfo] | None:
    """The message a nudge sends, in its rep's language and zone; None when its review or draft is gone."""
    if nudge.kind == NudgeKind.FINISH_REVIEW:
        draft = drafts.get(nudge.draft_id) if nudge.draft_id else None
        if draft is None:
            return None
        tz = ZoneInfo(draft.timezone or "UTC")
        t = Translator(draft.locale or locale_default, tz)
        return messages.finish_review_message(t, draft.id, draft.answers.get("deal_name")), tz
    review = reviews.get(nudge.review_id) if nudge.review_id else None
    if review is None:
        return None
    tz = ZoneInfo(review.timezone)
    t = Translator(review.locale, tz)
    if nudge.kind == NudgeKind.CHECKLIST:
        return messages.checklist_message(t, review, sharing_available=sharing_available), tz
    if nudge.kind == NudgeKind.PRE_MEETING:
        return messages.pre_meeting_message(t, review), tz
    if nudge.kind == NudgeKind.SELF_CHECK:
        return messages.self_check_message(t, review, None), tz
    if nudge.kind == NudgeKind.RECONTACT:
        return messages.recontact_message(t, review, followup=review.followup), tz
    if nudge.kind == NudgeKind.FOLLOWUP_CALL:
        if review.followup is not None:
            return None  # recorded already (from the summary or the Home): nothing to ask
        return messages.followup_call_message(t, review), tz
    if nudge.kind == NudgeKind.PREP:
        return messages.prep_message(t, review, lead_minutes=lead_minutes), tz
    if nudge.kind == NudgeKind.BOOK_MEETING:
        if review.next_meeting_at is not None:
            return None  # booked meanwhile
        return messages.book_meeting_message(t, review), tz
    return None


def message_payload(nudge: Nudge) -> dict[str, Any]:
    """The metadata a nudge's message carries: which nudge, and which plan of it."""
    plan = outbox.plan_marker(nudge)
    return {"nudge_id": nudge.id, **({"plan": plan} if plan is not None else {})}


def is_message_of(message: dict, nudge_id: int, plan: int | None) -> bool:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_EVENT:
        return False
    payload = meta.get("event_payload") or {}
    if payload.get("nudge_id") != nudge_id:
        return False
    return plan is None or payload.get("plan", plan) == plan


class Sender:
    def __init__(
        self,
        client: WebClient,
        *,
        clock: Callable[[], datetime],
        pauses: Pauses,
        limiter: RateLimiter,
        dms: DmChannels,
        instance: str,
        max_attempts: int,
        locale_default: str,
        sharing_available: bool,
        quiet: QuietHours | None,
        lead_minutes: int = 60,
    ) -> None:
        self.client, self.clock, self.pauses, self.limiter, self.dms = client, clock, pauses, limiter, dms
        self.instance, self.max_attempts = instance, max_attempts
        self.locale_default, self.sharing_available, self.quiet = locale_default, sharing_available, quiet
        self.lead_minutes = lead_minutes
        self._last_sent_to: dict[str, datetime] = {}

    def start_batch(self, now: datetime) -> None:
        self._last_sent_to = {u: t for u, t in self._last_sent_to.items() if now - t < PER_CHANNEL_SPACING}

    def _row(self, nudge: Nudge, status: str, **changes: Any) -> dict[str, Any]:
        return outbox.outcome(nudge, status, instance=self.instance, **changes)

    def send(
        self,
        nudge: Nudge,
        reviews: dict[int, Review],
        drafts: dict[int, ReviewDraft],
        seen_users: set[str],
        *,
        send_until: float,
    ) -> dict[str, Any] | None:
        """The nudge's outcome row; None when its turn under the rate limit came after `send_until`
        (monotonic): nothing was sent."""
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
        built = content_for(
            nudge,
            reviews,
            drafts,
            locale_default=self.locale_default,
            sharing_available=self.sharing_available,
            lead_minutes=self.lead_minutes,
        )
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
                meeting_at=nudge.expires_at if nudge.kind in rules.MEETING_KINDS else None,
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
        if not self.limiter.wait(until=send_until):
            # Its turn comes too late: a post that starts past half the lease could land after another
            # instance took the claim over and found the DM without it.
            return None
        seen_users.add(nudge.user_id)
        try:
            resp = self.client.chat_postMessage(
                channel=nudge.user_id,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": message_payload(nudge)},
            )
        except SlackApiError as e:
            return self._failed(nudge, e.response.status_code, e.response.get("error"), retry_after(e))
        except (OSError, HTTPException, URLError) as e:
            if never_reached_slack(e):
                return self._failed(nudge, 0, type(e).__name__, None, outcome=Outcome.BACKOFF)
            # A timeout or a dropped connection after sending: Slack may have posted it.
            return self._failed(nudge, None, f"no_answer:{type(e).__name__}", None)
        self.pauses.sent()
        self._last_sent_to[nudge.user_id] = now
        if resp.get("channel"):
            self.dms.remember(nudge.user_id, resp["channel"])
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
        retry_after_header: str | None,
        *,
        outcome: Outcome | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        outcome = outcome or classify_failure(status, error)
        error_text = str(error or f"http_{status}")[:200]
        if outcome is Outcome.RETRY_AFTER:
            resume = self.pauses.rate_limited(SEND, retry_after_header)
            log.warning("nudge %s rate limited (%s); no nudge goes out before %s", nudge.id, error_text, resume)
            return self._row(nudge, NudgeStatus.PENDING, due_at=resume, last_error=error_text)
        if outcome is Outcome.APP_WIDE:
            self.pauses.app_wide_failure(error_text, during=SEND)
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
            return outbox.in_doubt(nudge, now + delay, instance=self.instance, attempts=attempts, last_error=error_text)
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
