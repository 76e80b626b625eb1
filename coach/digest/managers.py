"""Who counts as a manager: MANAGER_USER_IDS, or a member of MANAGER_CHANNEL.

Channel membership comes from `conversations.members` and is cached for a
few minutes, so a manager's `/lost digest` is answered within Slack's
three seconds without asking Slack each time. The lookup in the request
thread uses a client with a short timeout and no retries: if Slack is slow
the user is told to try again rather than left waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

MEMBERS_TTL_SECONDS = 300
MAX_PAGES = 20  # 20,000 members


class ManagerDirectory:
    def __init__(self, client: WebClient, *, manager_ids: frozenset[str], channel: str | None,
                 ttl_seconds: float = MEMBERS_TTL_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.manager_ids = manager_ids
        self.channel = channel
        self.ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._members: frozenset[str] | None = None
        self._fetched_at = 0.0

    def is_manager(self, user_id: str) -> bool | None:
        """True or False; None when the channel's members could not be read just now."""
        if user_id in self.manager_ids:
            return True
        if not self.channel:
            return False
        members = self.channel_members()
        return None if members is None else user_id in members

    def channel_members(self) -> frozenset[str] | None:
        with self._lock:
            if self._members is not None and self._monotonic() - self._fetched_at < self.ttl:
                return self._members
        members: set[str] = set()
        cursor = None
        try:
            for _ in range(MAX_PAGES):
                page = self.client.conversations_members(channel=self.channel, limit=1000, cursor=cursor)
                members.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as e:
            log.error("conversations.members for the managers' channel failed: %s", e.response.get("error"))
            return None
        except Exception as e:
            log.error("conversations.members for the managers' channel failed: %s", type(e).__name__)
            return None
        with self._lock:
            self._members, self._fetched_at = frozenset(members), self._monotonic()
            return self._members

    def forget(self) -> None:
        with self._lock:
            self._members = None
