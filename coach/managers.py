"""Who counts as a manager: MANAGER_USER_IDS, or a member of MANAGER_CHANNEL.

Channel membership comes from `conversations.members` (scopes
`channels:read`, `groups:read` for a private channel) and is cached for a
few minutes, so a Home refresh or a manager's `/lost digest` costs no Slack
call most of the time. The lookup can run in the request thread, so it uses
a client with a short timeout and no retries; a failure is logged and
remembered for a minute as "unknown".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

MEMBERS_TTL_SECONDS = 300.0
FAILURE_TTL_SECONDS = 60.0
LOOKUP_TIMEOUT_SECONDS = 2.0  # well inside Slack's 3 s for an ack
PAGE_SIZE = 200
MAX_PAGES = 50  # 10,000 members: a managers' channel is far smaller


class ManagerDirectory:
    def __init__(self, client: WebClient, *, manager_ids: frozenset[str], channel: str | None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = WebClient(token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT_SECONDS,
                                retry_handlers=[])
        self.manager_ids = manager_ids
        self.channel = channel
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._members: frozenset[str] | None = None
        self._expires = 0.0

    def is_manager(self, user_id: str) -> bool | None:
        """True or False; None when the channel's members cannot be read just now."""
        if user_id in self.manager_ids:
            return True
        if not self.channel:
            return False
        members = self._channel_members()
        return None if members is None else user_id in members

    def forget(self) -> None:
        with self._lock:
            self._expires = 0.0

    def _channel_members(self) -> frozenset[str] | None:
        with self._lock:
            if self._monotonic() < self._expires:
                return self._members
            # One caller refreshes; the others wait on the lock and get its answer.
            self._members = self._fetch()
            self._expires = self._monotonic() + (MEMBERS_TTL_SECONDS if self._members is not None
                                                 else FAILURE_TTL_SECONDS)
            return self._members

    def _fetch(self) -> frozenset[str] | None:
        members: set[str] = set()
        cursor = None
        try:
            for _ in range(MAX_PAGES):
                page = self.client.conversations_members(channel=self.channel, limit=PAGE_SIZE, cursor=cursor)
                members.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as e:
            log.error("conversations.members of the managers' channel failed: %s", e.response.get("error"))
            return None
        except Exception as e:  # timeouts, connection refused
            log.error("conversations.members of the managers' channel failed: %s", type(e).__name__)
            return None
        return frozenset(members)
