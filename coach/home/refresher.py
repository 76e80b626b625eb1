"""Coalescing Home refreshes: many changes to one rep's data, one `views.publish` at a time.

Home subscribes to "a rep's data changed" (`coach.events`): a review saved,
a draft started or closed, a self-check answered, a meeting moved or ready,
a re-contact recorded, a win logged. The refresh runs after the ack and
coalesces: while a refresh for a rep is still queued, another request adds
nothing; refreshes for one rep run one at a time, so an older rendering
never overwrites a newer one. A rep who opens the tab while a refresh of
theirs waits at the back of the queue (a change: nobody is looking) is not
kept waiting behind it: the refresh is queued again, urgently, and the
waiting one does nothing when its turn comes.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from collections.abc import Callable
from typing import Any


class HomeRefresher:
    STRIPES = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Per rep, the refresh that is queued: (its number, whether it was queued urgently).
        self._queued: dict[tuple[str, str], tuple[int, bool]] = {}
        self._numbers = itertools.count()
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    def request(
        self, submit: Callable[..., Any], key: tuple[str, str], fn: Callable[..., Any], *args: Any, urgent: bool = False
    ) -> bool:
        """Queue `fn(*args)` for `key` through `submit` unless one is queued already (for an `urgent` request,
        one queued urgently); False when coalesced."""
        with self._lock:
            queued = self._queued.get(key)
            if queued is not None and (queued[1] or not urgent):
                return False
            number = next(self._numbers)
            self._queued[key] = (number, urgent)  # a refresh queued before, if any, is now superseded
        stripe = self._stripes[zlib.crc32("|".join(key).encode()) % self.STRIPES]

        def run() -> None:
            with stripe:
                with self._lock:
                    if self._queued.get(key, (None,))[0] != number:
                        return  # superseded by an urgent one (which has run, or will)
                    del self._queued[key]  # a change from now on queues a fresh rendering
                fn(*args)

        try:
            submit(run)
        except Exception:
            with self._lock:
                if self._queued.get(key, (None,))[0] == number:
                    if queued is not None:
                        self._queued[key] = queued  # the one queued before still runs
                    else:
                        del self._queued[key]
            raise
        return True
