"""When each nudge is due, when it stops being useful, and what to do with a Slack failure.

Pure Python: no Slack, no database. All instants are aware UTC datetimes;
local rules (quiet hours, 10:00, weekends) use the rep's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from statistics import median
from typing import Iterable
from zoneinfo import ZoneInfo


class NudgeKind(StrEnum):
    FINISH_REVIEW = "finish_review"      # 24-hour reminder for an unfinished review
    CHECKLIST = "checklist"              # 3-day checklist (三日以内)
    PRE_MEETING = "pre_meeting"          # the one change, before the next meeting
    SELF_CHECK = "self_check"            # one week after the loss (一週間後)
    RECONTACT = "recontact"              # the lost deal as a future opportunity (将来案件)


class NudgeStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"      # claimed by one dispatcher
    SENT = "sent"
    FAILED = "failed"        # permanent Slack error, or retries spent
    EXPIRED = "expired"      # came due too late to be useful (e.g. the meeting began)
    CANCELLED = "cancelled"  # no longer needed (e.g. the review was finished)


FINISH_REVIEW_AFTER = timedelta(hours=20)
CHECKLIST_AFTER = timedelta(days=2)     # leaves a day of the three to act on it
SELF_CHECK_AFTER = timedelta(days=7)
CONTACT_HOUR = time(10, 0)              # self-check and re-contact land at 10:00 local

# After downtime a nudge is still sent late, until it stops being useful.
USEFUL_FOR: dict[NudgeKind, timedelta | None] = {
    NudgeKind.FINISH_REVIEW: timedelta(days=3),
    NudgeKind.CHECKLIST: timedelta(days=5),
    NudgeKind.SELF_CHECK: timedelta(days=7),
    NudgeKind.RECONTACT: None,  # a future opportunity does not go stale
    NudgeKind.PRE_MEETING: None,  # expires at the meeting's start instead
}


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "QuietHours":
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text or "")
        if not m:
            raise ValueError("must look like 20:00-08:00")
        h1, m1, h2, m2 = map(int, m.groups())
        if not (0 <= h1 < 24 and 0 <= h2 < 24 and 0 <= m1 < 60 and 0 <= m2 < 60):
            raise ValueError("hours 00-23 and minutes 00-59, like 20:00-08:00")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, local: datetime) -> datetime:
        """The first moment at or after `local` that is outside quiet hours."""
        if not self.contains(local.timetz().replace(tzinfo=None)):
            return local
        candidate = datetime.combine(local.date(), self.end, tzinfo=local.tzinfo)
        return candidate if candidate > local else candidate + timedelta(days=1)


@dataclass(frozen=True)
class Planned:
    kind: NudgeKind
    due_at: datetime
    expires_at: datetime | None


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def _utc(local: datetime) -> datetime:
    return local.astimezone(timezone.utc)


def next_contact_slot(instant: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """Self-check and re-contact: out of quiet hours and weekends, else the next weekday 10:00 local."""
    local = _local(instant, tz)
    if not quiet.contains(local.time()) and local.weekday() < 5:
        return instant
    day = local.date() if local.time() < CONTACT_HOUR else local.date() + timedelta(days=1)
    while True:
        slot = datetime.combine(day, CONTACT_HOUR, tzinfo=tz)
        if slot.weekday() < 5 and not quiet.contains(CONTACT_HOUR) and slot >= local:
            return _utc(slot)
        day += timedelta(days=1)


def out_of_quiet_hours(instant: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    return _utc(quiet.end_after(_local(instant, tz)))


def _expiry(kind: NudgeKind, due: datetime) -> datetime | None:
    useful = USEFUL_FOR[kind]
    return due + useful if useful else None


def plan_finish_review(loss_at: datetime, started_at: datetime, now: datetime, tz: ZoneInfo,
                       quiet: QuietHours) -> Planned:
    """20 h after the loss; a loss logged late still gets a reminder an hour after the rep began."""
    due = max(loss_at + FINISH_REVIEW_AFTER, started_at + timedelta(hours=1), now)
    due = out_of_quiet_hours(due, tz, quiet)
    return Planned(NudgeKind.FINISH_REVIEW, due, _expiry(NudgeKind.FINISH_REVIEW, due))


def plan_pre_meeting(meeting_at: datetime, now: datetime, lead: timedelta) -> Planned | None:
    """`lead` before the meeting, or at once if the meeting is sooner. Never held past its start;
    quiet hours do not apply: the meeting itself is the rep's working time."""
    if meeting_at <= now:
        return None
    return Planned(NudgeKind.PRE_MEETING, max(meeting_at - lead, now), meeting_at)


def plan_after_review(*, lost_at: datetime, completed_at: datetime, meeting_at: datetime,
                      recontact_on: date, tz: ZoneInfo, quiet: QuietHours, lead: timedelta) -> list[Planned]:
    """Everything a saved review schedules (METHOD §3)."""
    checklist = out_of_quiet_hours(max(lost_at + CHECKLIST_AFTER, completed_at + timedelta(hours=1)), tz, quiet)
    self_check = next_contact_slot(max(lost_at + SELF_CHECK_AFTER, completed_at + timedelta(days=1)), tz, quiet)
    planned = [
        Planned(NudgeKind.CHECKLIST, checklist, _expiry(NudgeKind.CHECKLIST, checklist)),
        Planned(NudgeKind.SELF_CHECK, self_check, _expiry(NudgeKind.SELF_CHECK, self_check)),
        plan_recontact(recontact_on, tz, quiet),
    ]
    pre = plan_pre_meeting(meeting_at, completed_at, lead)
    if pre:
        planned.append(pre)
    return planned


def plan_recontact(on: date, tz: ZoneInfo, quiet: QuietHours) -> Planned:
    due = next_contact_slot(_utc(datetime.combine(on, CONTACT_HOUR, tzinfo=tz)), tz, quiet)
    return Planned(NudgeKind.RECONTACT, due, None)


class RepeatedMistake(StrEnum):
    YES = "yes"
    NO = "no"


class KeptChange(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class Reaction(StrEnum):
    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


MAX_MEETINGS_CHOICE = 30  # the select offers 0..30


# Slack failures --------------------------------------------------------------

class Outcome(StrEnum):
    RETRY_AFTER = "retry_after"  # 429: wait what Slack says, no attempt used up
    BACKOFF = "backoff"          # 5xx, connection: retry later, attempts counted
    PERMANENT = "permanent"      # the message can never be delivered as it is


TRANSIENT_ERRORS = frozenset({
    "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited",
    "team_added_to_org", "timeout",
})


def classify_failure(status: int | None, error: str | None) -> Outcome:
    if status == 429 or error == "ratelimited":
        return Outcome.RETRY_AFTER
    if status is None or status >= 500 or (error in TRANSIENT_ERRORS):
        return Outcome.BACKOFF
    return Outcome.PERMANENT


def backoff(attempts: int, base: timedelta = timedelta(seconds=30), cap: timedelta = timedelta(hours=1)) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    return min(base * (2 ** max(attempts - 1, 0)), cap)


# Activity volume (METHOD §5) ----------------------------------------------------

VOLUME_DROP_RATIO = 0.8


def volume_dropped(this_week: int, earlier_weeks: Iterable[int]) -> tuple[bool, float | None]:
    """Has the rep cut customer meetings against their own baseline (the median of earlier weeks)?"""
    history = list(earlier_weeks)
    if not history:
        return False, None
    baseline = float(median(history))
    return baseline > 0 and this_week < baseline * VOLUME_DROP_RATIO, baseline
