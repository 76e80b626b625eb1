"""Work a listener hands off after its ack, so Slack gets its answer at once.

Bolt runs each listener before it answers Slack (`process_before_response`),
which keeps acks off the listener thread pool; whatever comes after the ack
(Slack calls, deliveries) is submitted here. Failures are logged, never lost
silently.

Work that carries a `trigger_id` goes ahead of the queue: its modal must open
within Slack's 3 seconds of the click, while a Home refresh or a summary DM
can wait a moment. Otherwise work runs in the order it came.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)

URGENT, NORMAL, STOP = 0, 1, 2


class BackgroundWork:
    def __init__(self, workers: int = 8) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()  # FIFO within a priority
        self._idle = threading.Condition()
        self._running = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"after-ack-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        priority = URGENT if kwargs.get("trigger_id") else NORMAL
        with self._idle:
            self._running += 1
        self._queue.put((priority, next(self._order), fn, args, kwargs, future))
        return future

    def _work(self) -> None:
        while True:
            priority, _, fn, args, kwargs, future = self._queue.get()
            if priority == STOP:
                return
            try:
                if future.set_running_or_notify_cancel():
                    future.set_result(fn(*args, **kwargs))
            except BaseException as e:
                log.exception("work after ack failed in %s", getattr(fn, "__qualname__", fn))
                future.set_exception(e)
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is running or queued (tests, graceful shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def shutdown(self) -> None:
        """Finish what is queued, then stop the workers."""
        for _ in self._threads:
            self._queue.put((STOP, next(self._order), None, (), {}, None))
        for thread in self._threads:
            thread.join()


class Coalesced:
    """`fn` run after the ack, at most `limit` runs at a time; asked while all of them are busy, one more
    run follows. For passes over a table (CRM losses): a burst of webhooks makes a few passes, not one
    each, and the passes leave the database (SQLite has one writer) to the requests that store."""

    def __init__(self, work: BackgroundWork, fn: Callable[[], Any], *, limit: int = 2) -> None:
        self._work = work
        self._fn = fn
        self._limit = limit
        self._lock = threading.Lock()
        self._running = 0
        self._again = False

    def request(self) -> None:
        with self._lock:
            if self._running >= self._limit:
                self._again = True
                return
            self._running += 1
        self._work.submit(self._run)

    def _run(self) -> None:
        while True:
            try:
                self._fn()
            except Exception:
                log.exception("a coalesced run of %s failed", getattr(self._fn, "__qualname__", self._fn))
            with self._lock:
                if not self._again:
                    self._running -= 1
                    return
                self._again = False
