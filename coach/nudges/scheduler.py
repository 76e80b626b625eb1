"""APScheduler is the clock: a short interval job runs the dispatcher.

Its job store stays in memory on purpose: the outbox table is the durable
record, so nothing is lost when the process stops.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from coach.nudges.dispatcher import Dispatcher

log = logging.getLogger(__name__)


def start_scheduler(dispatcher: Dispatcher, tick_seconds: float) -> BackgroundScheduler:
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
    scheduler.add_job(tick, "interval", seconds=tick_seconds, id="dispatch_nudges", max_instances=1,
                      coalesce=True, next_run_time=None)
    scheduler.start()
    scheduler.modify_job("dispatch_nudges", next_run_time=_now())
    return scheduler


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
