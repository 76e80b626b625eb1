"""Coalescing Home refreshes: many changes to one rep's data, one `views.publish` at a time.

Home subscribes to "a rep's data changed" (`coach.events`): a review saved,
a draft started or closed, a self-check answered, a meeting moved or ready,
a re-contact recorded, a win logged. The refresh runs after the ack and
coalesces: while a refresh for a rep is still queued, another request adds
nothing; refreshes for one rep run one at a time, so an older rendering
never overwrites a newer one. A rep who opens the tab while a refresh of
theirs waits at the back of the queue (a change: nobody is looking) is not
kept waiting behind it: a refresh is queued again, urgently, and whichever
of the two runs first renders; the other then does nothing.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Queued:
    """A rep's refresh waiting to run: the jobs queued for it (any one of them renders), and whether one of
    them was queued urgently."""

    jobs: set[int] = field(default_factory=set)
    urgent: bool = False


class HomeRefresher:
    STRIPES = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[tuple[str, str], _Queued] = {}
        self._numbers = itertools.count()
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    def request(
        self, submit: Callable[..., Any], key: tuple[str, str], fn: Callable[..., Any], *args: Any, urgent: bool = False
    ) -> bool:
        """Queue `fn(*args)` for `key` through `submit` unless a refresh is queued already (for an `urgent`
        request, one queued urgently); False when coalesced."""
        with self._lock:
            queued = self._queued.get(key)
            if queued is not None and (queued.urgent or not urgent):
                return False
            if queued is None:
                queued = self._queued[key] = _Queued()
            number = next(self._numbers)
            queued.jobs.add(number)
            queued.urgent = urgent
        stripe = self._stripes[zlib.crc32("|".join(key).encode()) % self.STRIPES]

        def wanted() -> bool:
            """Whether this job is still one of the refresh's (call with the lock held)."""
            return self._queued.get(key) is queued and number in queued.jobs

        def run() -> None:
            with self._lock:
                if not wanted():
                    return  # the other job queued for this refresh ran (no worker held at the stripe for nothing)
            with stripe:
                with self._lock:
                    if not wanted():
                        return
                    del self._queued[key]  # a change from now on queues a fresh rendering
                fn(*args)

        try:
            submit(run)
        except Exception:
            with self._lock:
                if wanted():
                    queued.jobs.discard(number)
                    queued.urgent = False  # only a job queued without urgency can be left
                    if not queued.jobs:
                        del self._queued[key]
            raise
        return True
