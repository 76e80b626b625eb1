"""Coalescing Home refreshes: many changes to one rep's data, one `views.publish` at a time.

Home subscribes to "a rep's data changed" (`coach.events`): a review saved,
a draft started or closed, a self-check answered, a meeting moved or ready,
a re-contact recorded, a win logged. The refresh runs after the ack and
coalesces: while a refresh for a rep is still queued, another request adds
nothing; refreshes for one rep run one at a time, so an older rendering
never overwrites a newer one.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from typing import Any


class HomeRefresher:
    STRIPES = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: set[tuple[str, str]] = set()
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    def request(self, submit: Callable[..., Any], key: tuple[str, str], fn: Callable[..., Any], *args: Any) -> bool:
        """Queue `fn(*args)` for `key` unless one is queued already; False when coalesced."""
        with self._lock:
            if key in self._queued:
                return False
            self._queued.add(key)
        stripe = self._stripes[zlib.crc32("|".join(key).encode()) % self.STRIPES]

        def run() -> None:
            with stripe:
                with self._lock:
                    self._queued.discard(key)  # a change from now on queues a fresh rendering
                fn(*args)

        try:
            submit(run)
        except Exception:
            with self._lock:
                self._queued.discard(key)
            raise
        return True
