"""Who is a manager: `MANAGER_USER_IDS`, or a member of `MANAGER_CHANNEL`.

`is_manager(coach, client, user_id)` is what the Home tab and the read-only
review modal ask. The channel's member list comes from `conversations.members`
(scopes `channels:read`, and `groups:read` for a private channel) and is
cached for a few minutes, so a Home refresh costs no Slack call; a failure is
logged and cached briefly, and then only MANAGER_USER_IDS count.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

if TYPE_CHECKING:
    from coach.services import Coach

log = logging.getLogger(__name__)

MEMBERS_TTL_SECONDS = 300.0
FAILURE_TTL_SECONDS = 60.0
PAGE_SIZE = 200
MAX_PAGES = 50  # 10,000 members: a managers' channel is far smaller


class ManagerDirectory:
    def __init__(self, manager_ids: frozenset[str], channel: str | None, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.manager_ids = manager_ids
        self.channel = channel
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._expires = 0.0

    def is_manager(self, client: WebClient, user_id: str) -> bool:
        if user_id in self.manager_ids:
            return True
        if not self.channel:
            return False
        return user_id in self._channel_members(client)

    def forget(self) -> None:
        with self._lock:
            self._expires = 0.0

    def _channel_members(self, client: WebClient) -> frozenset[str]:
        with self._lock:
            if self._monotonic() < self._expires:
                return self._members
            # One caller refreshes; the others wait on the lock and get its answer.
            members, ttl = self._fetch(client)
            self._members, self._expires = members, self._monotonic() + ttl
            return members

    def _fetch(self, client: WebClient) -> tuple[frozenset[str], float]:
        members: set[str] = set()
        cursor = None
        try:
            for _ in range(MAX_PAGES):
                resp = client.conversations_members(channel=self.channel, limit=PAGE_SIZE, cursor=cursor)
                members.update(resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as e:
            log.warning("conversations.members of the managers' channel failed (%s); only MANAGER_USER_IDS "
                        "count as managers for now", e.response.get("error"))
            return frozenset(), FAILURE_TTL_SECONDS
        except Exception as e:  # connection refused after retries, timeouts
            log.warning("conversations.members of the managers' channel failed (%s)", type(e).__name__)
            return frozenset(), FAILURE_TTL_SECONDS
        return frozenset(members), MEMBERS_TTL_SECONDS


def is_manager(coach: "Coach", client: WebClient, user_id: str) -> bool:
    """Managers see their team's view on Home and may open any review of their team."""
    return coach.managers.is_manager(client, user_id)
