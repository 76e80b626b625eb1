"""When each nudge is due, when it stops being useful, and how long to back off after a failure.

Pure Python: no Slack, no database. All instants are aware UTC datetimes;
local rules (quiet hours, 10:00, weekends) use the rep's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from statistics import median
from zoneinfo import ZoneInfo


class NudgeKind(StrEnum):
    FINISH_REVIEW = "finish_review"  # 24-hour reminder for an unfinished review
    CHECKLIST = "checklist"  # 3-day checklist (三日以内)
    PRE_MEETING = "pre_meeting"  # the one change, before the next meeting
    SELF_CHECK = "self_check"  # one week after the loss (一週間後)
    RECONTACT = "recontact"  # the lost deal as a future opportunity (将来案件)


class NudgeStatus(StrEnum):
    PENDING = "pending"
    # Claimed by one dispatcher (claimed_by set), or in doubt (claimed_by NULL): Slack may have posted it
    # (a timeout, a 5xx), so the rep's DM is checked at due_at before it is ever sent again.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent Slack error, or retries spent
    EXPIRED = "expired"  # came due too late to be useful (e.g. the meeting began)
    CANCELLED = "cancelled"  # no longer needed (e.g. the review was finished)


FINISH_REVIEW_AFTER = timedelta(hours=20)
FINISH_REVIEW_BY = timedelta(hours=24)  # 二十四時間以内に振り返る: the reminder lands before this
BEFORE_QUIET = timedelta(hours=1)  # a reminder pulled before quiet hours leaves the rep an hour
CHECKLIST_AFTER = timedelta(days=2)  # leaves a day of the three to act on it
SELF_CHECK_AFTER = timedelta(days=7)
CONTACT_HOUR = time(10, 0)  # self-check and re-contact land at 10:00 local

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
    def parse(cls, text: str) -> QuietHours:
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

    def start_before(self, local: datetime) -> datetime:
        """When the quiet hours `local` falls in began (`local` itself if it is outside them)."""
        if not self.contains(local.timetz().replace(tzinfo=None)):
            return local
        candidate = datetime.combine(local.date(), self.start, tzinfo=local.tzinfo)
        return candidate if candidate <= local else candidate - timedelta(days=1)


@dataclass(frozen=True)
class Planned:
    kind: NudgeKind
    due_at: datetime
    expires_at: datetime | None


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


def contact_time(quiet: QuietHours) -> time:
    """The local time self-checks and re-contacts land at: 10:00, or the end of quiet hours if they cover 10:00.

    The end of quiet hours is never inside them, so there is always a valid time (QUIET_HOURS=20:00-11:00
    gives 11:00).
    """
    return CONTACT_HOUR if not quiet.contains(CONTACT_HOUR) else quiet.end


def next_contact_slot(instant: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """Self-check and re-contact: out of quiet hours and weekends, else the next weekday contact time.

    The search is bounded: within any eight consecutive days there is a weekday, and `contact_time` is
    never in quiet hours.
    """
    local = _local(instant, tz)
    if not quiet.contains(local.time()) and local.weekday() < 5:
        return instant
    hour = contact_time(quiet)
    day = local.date() if local.time() < hour else local.date() + timedelta(days=1)
    for _ in range(8):
        slot = datetime.combine(day, hour, tzinfo=tz)
        if slot.weekday() < 5 and slot >= local:
            return _utc(slot)
        day += timedelta(days=1)
    raise AssertionError("unreachable: eight days always hold a weekday")  # pragma: no cover


def out_of_quiet_hours(instant: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    return _utc(quiet.end_after(_local(instant, tz)))


def _expiry(kind: NudgeKind, due: datetime) -> datetime | None:
    useful = USEFUL_FOR[kind]
    return due + useful if useful else None


def plan_finish_review(
    loss_at: datetime, started_at: datetime, now: datetime, tz: ZoneInfo, quiet: QuietHours
) -> Planned:
    """Before 24 h run out: 20 h after the loss (a loss logged late: an hour after the rep began).

    Quiet hours. If that moment falls in them, the reminder goes when they end, as long as that is still
    within the 24 h (lost at 10:00: 06:00 becomes 08:00). Otherwise it is pulled earlier, to an hour
    before the quiet hours began, but never before the loss, an hour after the rep began, or now (lost at
    02:00: 22:00 becomes 19:00, not 08:00 after 30 h). Only when no waking moment is left inside the 24 h
    (the loss was logged that late) does it go at the end of quiet hours: late, but still useful for
    USEFUL_FOR and never in the night.
    """
    floor = max(loss_at, started_at + timedelta(hours=1), now)
    ideal = max(loss_at + FINISH_REVIEW_AFTER, floor)
    due = _within_deadline(ideal, floor, loss_at + FINISH_REVIEW_BY, tz, quiet)
    return Planned(NudgeKind.FINISH_REVIEW, due, _expiry(NudgeKind.FINISH_REVIEW, due))


def _within_deadline(ideal: datetime, floor: datetime, deadline: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    local = _local(ideal, tz)
    if not quiet.contains(local.time()):
        return ideal
    after = _utc(quiet.end_after(local))
    if after <= deadline:
        return after
    began = _utc(quiet.start_before(local))
    before = max(began - BEFORE_QUIET, floor)
    # The gap before these quiet hours may be shorter than an hour: start at its beginning then.
    before = max(out_of_quiet_hours(before, tz, quiet), floor)
    return before if before < began and not quiet.contains(_local(before, tz).time()) else after


def hold_pre_meeting(instant: datetime, meeting_at: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """A pre-meeting reminder falling in quiet hours waits for their end, if that is still before the meeting.

    It never waits until (or past) the meeting's start: then it goes at its lead time. And if the meeting
    itself is in quiet hours (a breakfast meeting, a call with a customer in another time zone), the rep
    has chosen to work then, so the reminder for it goes at its lead time as well, quiet hours or not.
    """
    local = _local(instant, tz)
    if not quiet.contains(local.time()) or quiet.contains(_local(meeting_at, tz).time()):
        return instant
    end = _utc(quiet.end_after(local))
    return end if end < meeting_at else instant


def plan_pre_meeting(
    meeting_at: datetime, now: datetime, lead: timedelta, *, tz: ZoneInfo, quiet: QuietHours
) -> Planned | None:
    """`lead` before the meeting, or at once if the meeting is sooner; quiet hours as `hold_pre_meeting`.
    Never held past its start: it expires then."""
    if meeting_at <= now:
        return None
    due = hold_pre_meeting(max(meeting_at - lead, now), meeting_at, tz, quiet)
    return Planned(NudgeKind.PRE_MEETING, due, meeting_at)


def plan_after_review(
    *,
    lost_at: datetime,
    completed_at: datetime,
    meeting_at: datetime,
    recontact_on: date,
    tz: ZoneInfo,
    quiet: QuietHours,
    lead: timedelta,
) -> list[Planned]:
    """Everything a saved review schedules (METHOD §3)."""
    checklist = out_of_quiet_hours(max(lost_at + CHECKLIST_AFTER, completed_at + timedelta(hours=1)), tz, quiet)
    self_check = next_contact_slot(max(lost_at + SELF_CHECK_AFTER, completed_at + timedelta(days=1)), tz, quiet)
    planned = [
        Planned(NudgeKind.CHECKLIST, checklist, _expiry(NudgeKind.CHECKLIST, checklist)),
        Planned(NudgeKind.SELF_CHECK, self_check, _expiry(NudgeKind.SELF_CHECK, self_check)),
        plan_recontact(recontact_on, tz, quiet),
    ]
    pre = plan_pre_meeting(meeting_at, completed_at, lead, tz=tz, quiet=quiet)
    if pre:
        planned.append(pre)
    return planned


def plan_recontact(on: date, tz: ZoneInfo, quiet: QuietHours) -> Planned:
    due = next_contact_slot(_utc(datetime.combine(on, contact_time(quiet), tzinfo=tz)), tz, quiet)
    return Planned(NudgeKind.RECONTACT, due, None)


def send_time(
    kind: str, now: datetime, tz: ZoneInfo, quiet: QuietHours, *, meeting_at: datetime | None = None
) -> datetime:
    """When a nudge that is due may actually go out: `now`, or the next moment its kind's quiet-hours rule allows.

    Checked again at send time because a nudge can go out later than planned (after downtime, a retry,
    a Retry-After): a self-check due Monday 10:00 sent after an outage at 23:00 waits for Tuesday 10:00.
    """
    if kind in (NudgeKind.SELF_CHECK, NudgeKind.RECONTACT):
        return next_contact_slot(now, tz, quiet)
    if kind == NudgeKind.PRE_MEETING:
        return hold_pre_meeting(now, meeting_at, tz, quiet) if meeting_at is not None else now
    return out_of_quiet_hours(now, tz, quiet)  # the 24-hour reminder and the 3-day checklist


# Re-planning ---------------------------------------------------------------------

# Once one of these went out (or failed, or expired), saving the draft or review again never sends it again:
# editing the loss date must not re-arm a 24-hour reminder the rep already had.
ONCE_ONLY = frozenset({NudgeKind.FINISH_REVIEW, NudgeKind.CHECKLIST, NudgeKind.SELF_CHECK})


def replaces(
    kind: str, status: str, planned: Planned, *, expires_at: datetime | None, settled_at: datetime | None
) -> bool:
    """Does a new plan replace the stored nudge of its kind (back to pending), or leave it as it is?

    Nothing went out yet (pending, cancelled): the new plan replaces it. Otherwise only a new occasion
    re-arms it: the meeting moved (a new meeting start, kept as the pre-meeting reminder's expiry), or
    a re-contact date later than the one delivered. The once-only kinds are never re-armed.
    """
    if status in (NudgeStatus.PENDING, NudgeStatus.CANCELLED):
        return True
    if kind in ONCE_ONLY:
        return False
    if kind == NudgeKind.PRE_MEETING:
        return planned.expires_at != expires_at
    if kind == NudgeKind.RECONTACT:
        return settled_at is None or planned.due_at > settled_at
    return False


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


def backoff(attempts: int, base: timedelta = timedelta(seconds=30), cap: timedelta = timedelta(hours=1)) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    return min(base * (2 ** max(attempts - 1, 0)), cap)


# Activity volume (METHOD §5) ----------------------------------------------------

VOLUME_DROP_RATIO = 0.8
BASELINE_CHECKS = 8  # the baseline is the median of the rep's last eight earlier self-checks


def volume_dropped(this_week: int, earlier_weeks: Iterable[int]) -> tuple[bool, float | None]:
    """Has the rep cut customer meetings against their own baseline (the median of earlier weeks)?

    No earlier weeks, no baseline: (False, None), and nothing is said about a drop.
    """
    history = list(earlier_weeks)
    if not history:
        return False, None
    baseline = float(median(history))
    return baseline > 0 and this_week < baseline * VOLUME_DROP_RATIO, baseline
