"""APScheduler is the clock: a short interval job runs the dispatcher; a cron job posts the digest.

Its job store stays in memory on purpose: the outbox and `digest_runs`
tables are the durable record, so nothing is lost when the process stops.
The managers' digest fires on DIGEST_CRON in TEAM_TIMEZONE; a minute tick
beside it finishes a digest left half-posted by an instance that died and
posts one whose fire time the app was down for. Every instance runs both:
the `digest_runs` claim makes each period's digest happen once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from coach.nudges.dispatcher import Dispatcher

if TYPE_CHECKING:
    from coach.digest.service import Digester

log = logging.getLogger(__name__)

DIGEST_RECOVERY_SECONDS = 60


def start_scheduler(
    dispatcher: Dispatcher,
    tick_seconds: float,
    *,
    digester: Digester | None = None,
    digest_cron: str | None = None,
    team_timezone: str = "UTC",
    crm_work: Callable[[], object] | None = None,
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")

    def tick() -> None:
        try:
            stats = dispatcher.run_once()
        except Exception:
            # A database blip must not kill the clock; the next tick tries again.
            log.exception("nudge dispatch failed; retrying next tick")
            return
        if stats.claimed or stats.outcomes:
            log.info("nudges: claimed %d, outcomes %s", stats.claimed, dict(stats.outcomes))

    # One run at a time; a late tick is merged, not queued.
    scheduler.add_job(
        tick, "interval", seconds=tick_seconds, id="dispatch_nudges", max_instances=1, coalesce=True, next_run_time=None
    )
    if digester is not None and digest_cron:
        add_digest_jobs(scheduler, digester, digest_cron, team_timezone)
    if crm_work is not None:
        add_crm_job(scheduler, crm_work, tick_seconds)
    scheduler.start()
    scheduler.modify_job("dispatch_nudges", next_run_time=_now())
    return scheduler


def digest_trigger(digest_cron: str, team_timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(digest_cron, timezone=team_timezone)


def add_digest_jobs(scheduler: BackgroundScheduler, digester: Digester, digest_cron: str, team_timezone: str) -> None:
    def post_digest() -> None:
        try:
            result = digester.run_scheduled()
        except Exception:
            log.exception("the scheduled digest failed; the recovery tick will retry")
            return
        log.info("scheduled digest: %s (run %s)", result.outcome, result.run_id)

    def recover_digest() -> None:
        try:
            for result in digester.recover():
                log.info("digest recovery: %s (run %s)", result.outcome, result.run_id)
        except Exception:
            log.exception("digest recovery failed; retrying next minute")

    # misfire_grace_time: a fire a little late (a busy worker) still runs; longer outages are the
    # recovery tick's, which knows from digest_runs whether the period was posted.
    scheduler.add_job(
        post_digest,
        digest_trigger(digest_cron, team_timezone),
        id="managers_digest",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
    )
    scheduler.add_job(
        recover_digest,
        "interval",
        seconds=DIGEST_RECOVERY_SECONDS,
        id="digest_recovery",
        max_instances=1,
        coalesce=True,
    )


def add_crm_job(scheduler: BackgroundScheduler, crm_work: Callable[[], object], tick_seconds: float) -> None:
    """CRM losses: what the webhook's after-answer pass did not finish (an instance died, HubSpot said wait,
    a write-back is due) is picked up here, on the nudges' tick."""

    def crm_tick() -> None:
        try:
            crm_work()
        except Exception:
            log.exception("CRM losses: the pass failed; retrying next tick")

    scheduler.add_job(crm_tick, "interval", seconds=tick_seconds, id="crm_losses", max_instances=1, coalesce=True)


def _now():
    from datetime import datetime

    return datetime.now(UTC)
