"""The digest_runs table: claim a digest before posting it, record how it went.

A scheduled digest is claimed with an INSERT on the unique (kind,
period_start): of two instances firing at the same minute, one inserts and
the other gets an IntegrityError and leaves the period alone. A claim whose
instance died mid-post stays 'posting'; after a lease another instance takes
it over with a conditional UPDATE (only one can) and checks the channel
before posting anything again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from coach.db import Database
from coach.digest.period import Period
from coach.models import DigestRun


class Kind(StrEnum):
    SCHEDULED = "scheduled"
    ON_DEMAND = "on_demand"


class RunStatus(StrEnum):
    POSTING = "posting"
    POSTED = "posted"
    FAILED = "failed"


def claim(
    db: Database, kind: Kind, period: Period, *, instance: str, now: datetime, requested_by: str | None = None
) -> DigestRun | None:
    """Insert the run as 'posting'; None if this (kind, period) is already someone's."""
    try:
        with db.session() as s:
            run = DigestRun(
                kind=str(kind),
                period_start=period.start,
                period_end=period.end,
                requested_by=requested_by,
                status=str(RunStatus.POSTING),
                claimed_by=instance,
                claimed_at=now,
            )
            s.add(run)
            s.flush()
        return run
    except IntegrityError:
        return None


def claim_on_demand(db: Database, period: Period, *, instance: str, now: datetime, requested_by: str) -> DigestRun:
    """On-demand digests are not deduplicated: two asked in the same microsecond get distinct starts."""
    for nudge in range(10):
        shifted = Period(period.start + timedelta(microseconds=nudge), period.end)
        run = claim(db, Kind.ON_DEMAND, shifted, instance=instance, now=now, requested_by=requested_by)
        if run is not None:
            return run
    raise RuntimeError("could not record the on-demand digest run")


def find(db: Database, kind: Kind, period_start: datetime) -> DigestRun | None:
    with db.session() as s:
        return s.scalar(select(DigestRun).where(DigestRun.kind == str(kind), DigestRun.period_start == period_start))


def get(db: Database, run_id: int) -> DigestRun | None:
    with db.session() as s:
        return s.get(DigestRun, run_id)


def stale(db: Database, *, now: datetime, lease: timedelta) -> list[DigestRun]:
    """Scheduled runs still 'posting' after the lease: their instance died or Slack failed for a while."""
    with db.session() as s:
        return list(
            s.scalars(
                select(DigestRun)
                .where(
                    DigestRun.kind == str(Kind.SCHEDULED),
                    DigestRun.status == str(RunStatus.POSTING),
                    DigestRun.claimed_at < now - lease,
                )
                .order_by(DigestRun.period_start)
            )
        )


def take_over(db: Database, run: DigestRun, *, instance: str, now: datetime) -> bool:
    """Claim a stale run for this instance; False if another instance was quicker."""
    with db.session() as s:
        result = s.execute(
            update(DigestRun)
            .where(
                DigestRun.id == run.id,
                DigestRun.status == str(RunStatus.POSTING),
                DigestRun.claimed_by == run.claimed_by,
                DigestRun.claimed_at == run.claimed_at,
            )
            .values(claimed_by=instance, claimed_at=now),
            execution_options={"synchronize_session": False},
        )
        return result.rowcount == 1


def record(
    db: Database,
    run_id: int,
    *,
    instance: str,
    status: RunStatus,
    channel_id: str | None,
    message_ts: list[str],
    error: str | None,
    now: datetime,
) -> bool:
    """The outcome, written only while this instance still holds the claim."""
    values: dict = {
        "status": str(status),
        "channel_id": channel_id,
        "message_ts": ",".join(message_ts) or None,
        "last_error": error[:200] if error else None,
    }
    if status is RunStatus.POSTED:
        values["posted_at"] = now
    with db.session() as s:
        result = s.execute(
            update(DigestRun)
            .where(DigestRun.id == run_id, DigestRun.claimed_by == instance, DigestRun.status == str(RunStatus.POSTING))
            .values(**values),
            execution_options={"synchronize_session": False},
        )
        return result.rowcount == 1
