"""Work a listener hands off after its ack, so Slack gets its answer at once.

Bolt runs each listener before it answers Slack (`process_before_response`),
which keeps acks off the listener thread pool; whatever comes after the ack
(Slack calls, deliveries) is submitted here. Failures are logged, never lost
silently.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

log = logging.getLogger(__name__)


class BackgroundWork:
    def __init__(self, workers: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="after-ack")
        self._idle = threading.Condition()
        self._running = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:
                log.exception("work after ack failed in %s", getattr(fn, "__qualname__", fn))
                raise
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        with self._idle:
            self._running += 1
        return self._pool.submit(run)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is running or queued (tests, graceful shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
