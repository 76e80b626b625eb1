"""Work a listener hands off after its ack, so Slack gets its answer at once.

Bolt runs each listener before it answers Slack (`process_before_response`),
which keeps acks off the listener thread pool; whatever comes after the ack
(Slack calls, deliveries) is submitted here. Failures are logged, never lost
silently.

Opening a modal is not queued behind anything: a trigger_id works for Slack's
3 seconds from the click, so `open_modal` runs at once on threads of its own
that do nothing else (one `views.open`, no database or `users.info` before
it). An opening handed straight to the call process needs no thread at all
(`opening_sent`: its answer's arrival hands the rest on). Over HTTP the ack
waits for either, up to a second (`awaiting_modals`, used by coach/web.py):
the modal is open by the time Slack has its answer, and the request's thread
is not taken by other work meanwhile. A trigger already too old when its turn
comes is not spent on a doomed call: its `too_late` runs instead. Everything
else (filling the modal in, Home, DMs) has no deadline: it runs in the order
it came, on a few threads, and gives way to modals being opened (for up to
two seconds; a burst of openings passes first), since only one thread runs
Python at a time.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

URGENT, NORMAL, LOW, STOP = 0, 1, 2, 3

TRIGGER_WINDOW_SECONDS = 3.0  # Slack: a trigger_id must be used within 3 s of the click
# Past this age (from the request's arrival) a views.open would likely reach Slack too late; the request
# itself reached us some time after the click.
TRIGGER_BUDGET_SECONDS = 2.5
# The longest work with no deadline waits for modals that are opening, from when it was submitted: filling
# a modal in or a DM two seconds (a burst of openings passes first; the rep sees "Opening…" meanwhile), a
# refresh of a Home tab (nobody looks at it while in a modal) three; work in a modal the rep clicked in (it
# carries a trigger_id) none.
MAX_DEFER_SECONDS = {URGENT: 0.0, NORMAL: 2.0, LOW: 3.0}
# After a modal began opening, how long other work still waits for the next one: in a burst, openings come
# closer than this, and work with no deadline runs after the burst (or at its MAX_DEFER_SECONDS), not in
# the gaps between openings. A rep alone is not kept waiting: only openings begun after the work was
# submitted count, and their own modal opened before its filling-in was submitted.
BURST_GAP_SECONDS = 0.1


# The modal openings started while the current thread answers a request (see awaiting_modals).
_REQUEST = threading.local()


@contextmanager
def awaiting_modals(futures: list[Future]) -> Iterator[None]:
    """While in this block, `open_modal` on this thread adds its future to `futures`, so that the caller (the
    HTTP layer) can hold the ack until the modal is open."""
    _REQUEST.futures = futures
    try:
        yield
    finally:
        _REQUEST.futures = None


def trigger_too_old(received_at: float, now: float | None = None) -> bool:
    """Whether a trigger that arrived at `received_at` (time.monotonic()) is past its budget."""
    return (time.monotonic() if now is None else now) - received_at > TRIGGER_BUDGET_SECONDS


class BackgroundWork:
    def __init__(self, workers: int = 4, openers: int = 16) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._openers: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()  # FIFO within a priority
        self._idle = threading.Condition()
        self._running = 0
        self._opening = 0  # modal openings queued or running: other work gives way to them
        self._last_open_began = 0.0  # time.monotonic() of the latest open_modal
        self._threads = [
            threading.Thread(target=self._work, args=(self._queue,), name=f"after-ack-{i}", daemon=True)
            for i in range(workers)
        ]
        self._opener_threads = [
            threading.Thread(target=self._work, args=(self._openers,), name=f"modal-opener-{i}", daemon=True)
            for i in range(openers)
        ]
        for thread in self._threads + self._opener_threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._submit(URGENT if kwargs.get("trigger_id") else NORMAL, fn, args, kwargs)

    def submit_low(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Work that may wait for everything else (a Home refresh)."""
        return self._submit(LOW, fn, args, kwargs)

    def _submit(self, priority: int, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Future:
        future: Future = Future()
        with self._idle:
            self._running += 1
        self._queue.put(_Job(priority, next(self._order), time.monotonic(), fn, args, kwargs, future))
        return future

    def open_modal(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        received_at: float,
        too_late: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> Future:
        """Run `fn` (which opens a modal with a trigger_id) at once on the openers' threads.

        `received_at` is when the interaction reached us (time.monotonic()). If the trigger is past its
        budget when its turn comes, `too_late()` runs instead, in the ordinary queue.
        """

        def run() -> Any:
            if trigger_too_old(received_at):
                log.warning("a trigger_id waited %.1f s: not opening a modal with it", time.monotonic() - received_at)
                if too_late is not None:
                    self.submit(too_late)
                return None
            return fn(*args, **kwargs)

        run.__qualname__ = getattr(fn, "__qualname__", "open_modal")
        future: Future = Future()
        self._opening_began(future)
        self._openers.put(_Job(URGENT, next(self._order), time.monotonic(), run, (), {}, future))
        return future

    def opening_sent(self, answered: Future, then: Callable[[Future], Any]) -> None:
        """A modal opening already on its way without an opener's thread (its views.open handed to the call
        process; `answered` completes with Slack's answer, and `then(answered)` runs, on the thread that sets
        it: it only hands work on). Other work gives way to it as to the openers', and over HTTP the ack
        waits for it."""
        self._opening_began(answered)

        def done(answered: Future) -> None:
            try:
                then(answered)
            except Exception:
                log.exception("work after ack failed in %s", _name_of(then))
            finally:
                self._finished(opener=True)

        answered.add_done_callback(done)

    def _opening_began(self, future: Future) -> None:
        with self._idle:
            self._running += 1
            self._opening += 1
            self._last_open_began = time.monotonic()
        awaited = getattr(_REQUEST, "futures", None)
        if awaited is not None:
            awaited.append(future)

    def _work(self, jobs: queue.PriorityQueue) -> None:
        opener = jobs is self._openers
        while True:
            job: _Job = jobs.get()
            if job.priority == STOP:
                return
            if not opener:
                self._give_way(job)
            self._run(job, opener)

    def _give_way(self, job: _Job) -> None:
        """One thread runs Python at a time: while modals are opening (each within its trigger's 3 s), and
        while a burst of them goes on (one began within BURST_GAP_SECONDS, after this work was submitted), work
        with no deadline waits, up to MAX_DEFER_SECONDS after it was submitted."""
        deadline = job.submitted_at + MAX_DEFER_SECONDS[job.priority]
        with self._idle:
            while (now := time.monotonic()) < deadline:
                if self._opening:
                    self._idle.wait(deadline - now)  # woken when no opening is left
                    continue
                burst_ends = self._last_open_began + BURST_GAP_SECONDS
                if self._last_open_began <= job.submitted_at or now >= burst_ends:
                    return
                self._idle.wait(min(deadline, burst_ends) - now)

    def _run(self, job: _Job, opener: bool) -> None:
        try:
            if job.future.set_running_or_notify_cancel():
                job.future.set_result(job.fn(*job.args, **job.kwargs))
        except BaseException as e:
            log.exception("work after ack failed in %s", _name_of(job.fn))
            job.future.set_exception(e)
        finally:
            self._finished(opener)

    def _finished(self, opener: bool) -> None:
        with self._idle:
            self._running -= 1
            if opener:
                self._opening -= 1
            # Waiters wait for one of these to reach zero: woken for nothing else (in a burst, every
            # opening's end would wake every worker).
            if self._running == 0 or (opener and self._opening == 0):
                self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is running or queued (tests, graceful shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def shutdown(self) -> None:
        """Finish what is queued, then stop the workers."""
        for pool, jobs in ((self._opener_threads, self._openers), (self._threads, self._queue)):
            for _ in pool:
                jobs.put(_Job(STOP, next(self._order), 0.0, None, (), {}, None))
            for thread in pool:
                thread.join()


def _name_of(fn: Callable[..., Any]) -> str:
    """A function's name for the log, a partial's too (never its arguments: they may hold a payload)."""
    return getattr(getattr(fn, "func", fn), "__qualname__", type(fn).__name__)


@dataclass(order=True)
class _Job:
    priority: int
    order: int  # FIFO within a priority
    submitted_at: float = field(compare=False)
    fn: Any = field(compare=False)
    args: tuple = field(compare=False)
    kwargs: dict = field(compare=False)
    future: Any = field(compare=False)


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
