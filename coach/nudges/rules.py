"""When each nudge is due, when it stops being useful, and how long to back off after a failure.

Pure Python: no Slack, no database. All instants are aware UTC datetimes;
local rules (quiet hours, 10:00, weekends) use the rep's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class NudgeKind(StrEnum):
    FINISH_REVIEW = "finish_review"  # 24-hour reminder for an unfinished review
    CHECKLIST = "checklist"  # 3-day checklist (三日以内)
    PRE_MEETING = "pre_meeting"  # the one change, before the next meeting
    SELF_CHECK = "self_check"  # one week after the loss (一週間後)
    RECONTACT = "recontact"  # the lost deal as a future opportunity (将来案件)
    FOLLOWUP_CALL = "followup_call"  # the next business day: call the customer (失注後フォロー)
    PREP = "prep"  # the business day before the next meeting: 次の商談までに整えること
    BOOK_MEETING = "book_meeting"  # no next meeting booked two business days on: book one


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
FOLLOWUP_AFTER_BUSINESS_DAYS = 1  # the follow-up call: the next business day after the loss
BOOK_MEETING_AFTER_BUSINESS_DAYS = 2  # no meeting booked: a nudge two business days after the review
AFTER_SAVING = timedelta(hours=1)  # a nudge planned "now" for a late review leaves the summary an hour first
CONTACT_HOUR = time(10, 0)  # self-check and re-contact land at 10:00 local

# After downtime a nudge is still sent late, until it stops being useful.
USEFUL_FOR: dict[NudgeKind, timedelta | None] = {
    NudgeKind.FINISH_REVIEW: timedelta(days=3),
    NudgeKind.CHECKLIST: timedelta(days=5),
    NudgeKind.SELF_CHECK: timedelta(days=7),
    NudgeKind.RECONTACT: None,  # a future opportunity does not go stale
    NudgeKind.PRE_MEETING: None,  # expires at the meeting's start instead
    NudgeKind.PREP: None,  # expires at the meeting's start too
    NudgeKind.FOLLOWUP_CALL: timedelta(days=5),  # a call a week after the loss is still worth making
    NudgeKind.BOOK_MEETING: timedelta(days=7),
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


def add_business_days(day: date, n: int) -> date:
    """The n-th weekday after `day` (Saturday and Sunday are not business days)."""
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def previous_business_day(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _contact_on(day: date, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """The contact time (10:00, or the end of quiet hours) on a local `day`, as UTC."""
    return _utc(datetime.combine(day, contact_time(quiet), tzinfo=tz))


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


def plan_prep(meeting_at: datetime, now: datetime, *, tz: ZoneInfo, quiet: QuietHours) -> Planned | None:
    """The prep list (次の商談までに整えること): the business day before the meeting at the contact time, so a
    decision process can still be confirmed; at once when that is past (the meeting is sooner). Quiet
    hours as `hold_pre_meeting`; it expires at the meeting's start."""
    if meeting_at <= now:
        return None
    local_day = _local(meeting_at, tz).date()
    ideal = _contact_on(previous_business_day(local_day), tz, quiet)
    due = hold_pre_meeting(max(ideal, now), meeting_at, tz, quiet)
    return Planned(NudgeKind.PREP, due, meeting_at)


def plan_meeting(
    meeting_at: datetime, now: datetime, lead: timedelta, *, tz: ZoneInfo, quiet: QuietHours
) -> list[Planned]:
    """The pre-meeting chain once a time is set: the prep list, then the one change at `lead` before it.

    A meeting so soon that the prep list could only land with (or after) the one-change reminder gets the
    reminder alone: it carries the prep items too, and two messages at once help nobody.
    """
    prep = plan_prep(meeting_at, now, tz=tz, quiet=quiet)
    pre = plan_pre_meeting(meeting_at, now, lead, tz=tz, quiet=quiet)
    if prep and pre and prep.due_at >= pre.due_at:
        prep = None
    return [p for p in (prep, pre) if p]


def plan_followup_call(lost_at: datetime, completed_at: datetime, tz: ZoneInfo, quiet: QuietHours) -> Planned:
    """失注後フォロー: the next business day after the loss at the contact time; a review saved after that
    (an old loss) gets it an hour after saving, on a weekday outside quiet hours."""
    day = add_business_days(_local(lost_at, tz).date(), FOLLOWUP_AFTER_BUSINESS_DAYS)
    due = next_contact_slot(max(_contact_on(day, tz, quiet), completed_at + AFTER_SAVING), tz, quiet)
    return Planned(NudgeKind.FOLLOWUP_CALL, due, _expiry(NudgeKind.FOLLOWUP_CALL, due))


def plan_book_meeting(completed_at: datetime, tz: ZoneInfo, quiet: QuietHours) -> Planned:
    """No next meeting booked: two business days after the review, at the contact time (activity must not drop)."""
    day = add_business_days(_local(completed_at, tz).date(), BOOK_MEETING_AFTER_BUSINESS_DAYS)
    due = next_contact_slot(_contact_on(day, tz, quiet), tz, quiet)
    return Planned(NudgeKind.BOOK_MEETING, due, _expiry(NudgeKind.BOOK_MEETING, due))


def plan_after_review(
    *,
    lost_at: datetime,
    completed_at: datetime,
    meeting_at: datetime | None,
    recontact_on: date,
    tz: ZoneInfo,
    quiet: QuietHours,
    lead: timedelta,
) -> list[Planned]:
    """Everything a saved review schedules (METHOD §3). No meeting booked yet: a nudge to book one instead
    of the pre-meeting chain, which starts once a time is set (`plan_meeting`)."""
    checklist = out_of_quiet_hours(max(lost_at + CHECKLIST_AFTER, completed_at + AFTER_SAVING), tz, quiet)
    self_check = next_contact_slot(max(lost_at + SELF_CHECK_AFTER, completed_at + timedelta(days=1)), tz, quiet)
    planned = [
        plan_followup_call(lost_at, completed_at, tz, quiet),
        Planned(NudgeKind.CHECKLIST, checklist, _expiry(NudgeKind.CHECKLIST, checklist)),
        Planned(NudgeKind.SELF_CHECK, self_check, _expiry(NudgeKind.SELF_CHECK, self_check)),
        plan_recontact(recontact_on, tz, quiet),
    ]
    if meeting_at is None:
        planned.append(plan_book_meeting(completed_at, tz, quiet))
    else:
        planned += plan_meeting(meeting_at, completed_at, lead, tz=tz, quiet=quiet)
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
    if kind in (NudgeKind.SELF_CHECK, NudgeKind.RECONTACT, NudgeKind.FOLLOWUP_CALL, NudgeKind.BOOK_MEETING):
        return next_contact_slot(now, tz, quiet)
    if kind in (NudgeKind.PRE_MEETING, NudgeKind.PREP):
        return hold_pre_meeting(now, meeting_at, tz, quiet) if meeting_at is not None else now
    return out_of_quiet_hours(now, tz, quiet)  # the 24-hour reminder and the 3-day checklist


# Re-planning ---------------------------------------------------------------------

# Once one of these went out (or failed, or expired), saving the draft or review again never sends it again:
# editing the loss date must not re-arm a 24-hour reminder the rep already had.
ONCE_ONLY = frozenset(
    {
        NudgeKind.FINISH_REVIEW,
        NudgeKind.CHECKLIST,
        NudgeKind.SELF_CHECK,
        NudgeKind.FOLLOWUP_CALL,
        NudgeKind.BOOK_MEETING,
    }
)
# Tied to the next meeting: a moved meeting (a new start, kept as the expiry) re-arms them.
MEETING_KINDS = frozenset({NudgeKind.PRE_MEETING, NudgeKind.PREP})


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
    if kind in MEETING_KINDS:
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


class Activity(StrEnum):
    """The three counts of a week: 商談数, アポ数, 新規開拓 (数字が落ちたときほど行動量を落とさない)."""

    MEETINGS = "meetings"  # customer meetings held
    APPOINTMENTS = "appointments"  # appointments booked
    PROSPECTS = "prospects"  # new prospects approached


MAX_ACTIVITY = 200  # a week's count above this is a typo, not a week


def activity_drops(this_week: Mapping[str, int | None], normal: Mapping[str, int | None] | None) -> list[Activity]:
    """Which counts fell against the rep's normal week: any answered count below its normal number.

    No normal week given (or that count not in it): nothing is said to have fallen.
    """
    if not normal:
        return []
    return [
        a
        for a in Activity
        if this_week.get(a) is not None and normal.get(a) is not None and this_week[a] < normal[a]  # type: ignore[operator]
    ]


def parse_count(value: object) -> int | None:
    """A week's count typed by the rep: a whole number 0..MAX_ACTIVITY (full-width digits too), else None."""
    text = str(value if value is not None else "").strip().translate(_FULLWIDTH_DIGITS)
    if not re.fullmatch(r"\d{1,4}", text):
        return None
    n = int(text)
    return n if n <= MAX_ACTIVITY else None


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


# The 3-day message (三日以内) ------------------------------------------------------


class OpenItem(StrEnum):
    """What the 3-day message can still ask for; done items are never listed (no message of ticks)."""

    SHARE = "share"  # share the review with the manager, as it is (報告を濁さない)
    MANAGER_TALK = "manager_talk"  # talk it through with the manager
    ONE_CHANGE = "one_change"  # 結論を急がない: keep or revise the one change, now that it has settled


def open_items(*, shared: bool, talked: bool, change_settled: bool) -> list[OpenItem]:
    """The facts, the timeline and the customer's words are in the review already (the form requires them)."""
    found = []
    if not shared:
        found.append(OpenItem.SHARE)
    if not talked:
        found.append(OpenItem.MANAGER_TALK)
    if not change_settled:
        found.append(OpenItem.ONE_CHANGE)
    return found


# The follow-up call (失注後フォロー) ----------------------------------------------


class FollowUpOutcome(StrEnum):
    RECORDED = "recorded"  # the rep spoke to the customer and wrote down what they said
    UNREACHABLE = "unreachable"  # could not reach them, or a call was not appropriate
