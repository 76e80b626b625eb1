"""Which stretch of time a digest covers. Pure: no Slack, no database.

A scheduled digest covers the previous period of its cron line: from the
fire time before this one up to this one, both in TEAM_TIMEZONE, as UTC
instants `[start, end)`. Every app instance derives the same period from the
cron line and the clock, so the period's start is the key that makes a
scheduled digest happen once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

ON_DEMAND_DAYS = 7
EXPORT_DEFAULT_DAYS = 30
EXPORT_MAX_DAYS = 366
REPEAT_WINDOW = timedelta(days=90)  # the same underlying reason twice within this is a pattern
RECONTACT_AHEAD_DAYS = 14
SELF_CHECK_AFTER = timedelta(days=7)  # the one-week self-check (一週間後)
# A scheduled digest whose fire time was missed (the app was down) is still
# posted when the app comes back within this long.
CATCH_UP = timedelta(hours=12)


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period bounds must be aware datetimes")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def repeat_window_start(self) -> datetime:
        return self.end - REPEAT_WINDOW

    def self_check_window(self) -> Period:
        """Losses whose week-1 self-check came due during the previous period.

        Their reps have had a whole period to answer, so "unanswered" means
        unanswered, not "not asked yet".
        """
        shift = SELF_CHECK_AFTER + self.length
        return Period(self.start - shift, self.end - shift)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def trigger(cron: str, tz: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=tz)


def last_fire_at_or_before(cron: str, tz: str, moment: datetime) -> datetime | None:
    """The latest fire time of `cron` (in zone `tz`) that is not after `moment`, in UTC.

    APScheduler only computes forward, so look back from `moment` with a
    window that grows fourfold until it holds a fire time, then walk forward
    to the last one. A cron that never fired in the past ten years gives None.
    """
    if moment.tzinfo is None:
        raise ValueError("moment must be an aware datetime")
    trig = trigger(cron, tz)
    lookback = timedelta(minutes=2)
    limit = timedelta(days=3660)
    while lookback <= limit:
        fire = trig.get_next_fire_time(None, moment - lookback)
        if fire is not None and fire <= moment:
            while True:
                following = trig.get_next_fire_time(fire, fire + timedelta(microseconds=1))
                if following is None or following > moment:
                    return _utc(fire)
                fire = following
        lookback *= 4
    return None


def scheduled_period(cron: str, tz: str, now: datetime) -> Period | None:
    """The period the digest firing at (or just before) `now` covers: previous fire → this fire."""
    end = last_fire_at_or_before(cron, tz, now)
    if end is None:
        return None
    start = last_fire_at_or_before(cron, tz, end - timedelta(microseconds=1))
    if start is None:
        return None
    return Period(start, end)


def next_fire_after(cron: str, tz: str, moment: datetime) -> datetime | None:
    fire = trigger(cron, tz).get_next_fire_time(None, moment + timedelta(microseconds=1))
    return _utc(fire) if fire else None


def on_demand_period(now: datetime, days: int = ON_DEMAND_DAYS) -> Period:
    """`/lost digest`: the last `days` days up to now."""
    return Period(_utc(now) - timedelta(days=days), _utc(now))


def parse_export_days(text: str) -> int | None:
    """`/lost export` → 30, `/lost export 90` → 90; None when the argument is not a day count in range."""
    words = text.split()
    if len(words) == 1:
        return EXPORT_DEFAULT_DAYS
    # "２" and "90" yes; "²" is a digit int() refuses, and a thousand digits are more than int() reads.
    if len(words) != 2 or not words[1].isdecimal() or len(words[1]) > 6:
        return None
    days = int(words[1])
    return days if 1 <= days <= EXPORT_MAX_DAYS else None


def export_period(now: datetime, days: int) -> Period:
    return Period(_utc(now) - timedelta(days=days), _utc(now))


def recontact_window(end: datetime, tz) -> tuple[date, date]:
    """Re-contact dates coming due: from the period end's local date, for the next 14 days [first, last)."""
    first = end.astimezone(tz).date()
    return first, first + timedelta(days=RECONTACT_AHEAD_DAYS)
