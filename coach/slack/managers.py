"""Who counts as a manager: MANAGER_USER_IDS, or a member of MANAGER_CHANNEL.

Channel membership comes from `conversations.members` (scopes
`channels:read`, `groups:read` for a private channel) and is cached for a
few minutes, so a Home refresh or a manager's `/lost digest` costs no Slack
call most of the time. The lookup uses a client with a short timeout and no
retries; a failure is logged and remembered for a minute as "unknown".
`known()` answers from what is already known without calling Slack, so a
listener can decide before its ack whether it can answer at once.

Everyone in the channel is a manager, so a public channel anyone can join
would make anyone a manager: on the first lookup the channel is checked
(`conversations.info`) and a public one is logged once as a warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.slack.client import make_client

log = logging.getLogger(__name__)

MEMBERS_TTL_SECONDS = 300.0
FAILURE_TTL_SECONDS = 60.0
LOOKUP_TIMEOUT_SECONDS = 2.0
PAGE_SIZE = 200
MAX_PAGES = 50  # 10,000 members: a managers' channel is far smaller


class ManagerDirectory:
    def __init__(
        self,
        client: WebClient,
        *,
        manager_ids: frozenset[str],
        channel: str | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = make_client(client.token or "", client.base_url, retries="none", timeout=LOOKUP_TIMEOUT_SECONDS)
        self.manager_ids = manager_ids
        self.channel = channel
        self._monotonic = monotonic
        self._refresh = threading.Lock()  # one caller asks Slack; the others wait for its answer
        # (members or None for "could not read", expiry): replaced as a whole, read without a lock.
        self._state: tuple[frozenset[str] | None, float] = (None, 0.0)
        self._privacy_checked = False

    def is_manager(self, user_id: str) -> bool | None:
        """True or False; None when the channel's members cannot be read just now. May call Slack."""
        if user_id in self.manager_ids:
            return True
        if not self.channel:
            return False
        members = self._channel_members()
        return None if members is None else user_id in members

    def known(self, user_id: str) -> tuple[bool, bool | None]:
        """(True, what `is_manager` would say) when that is known without calling Slack, else (False, None).

        Known: a MANAGER_USER_IDS entry, no managers' channel, or a membership (or a failed lookup)
        cached and not yet expired. Never waits for a lookup in progress.
        """
        if user_id in self.manager_ids:
            return True, True
        if not self.channel:
            return True, False
        members, expires = self._state
        if self._monotonic() >= expires:
            return False, None
        return True, None if members is None else user_id in members

    def forget(self) -> None:
        members, _ = self._state
        self._state = (members, 0.0)

    def _channel_members(self) -> frozenset[str] | None:
        members, expires = self._state
        if self._monotonic() < expires:
            return members
        with self._refresh:
            members, expires = self._state
            if self._monotonic() < expires:  # refreshed while this caller waited
                return members
            if not self._privacy_checked:
                self._check_privacy()
            members = self._fetch()
            ttl = MEMBERS_TTL_SECONDS if members is not None else FAILURE_TTL_SECONDS
            self._state = (members, self._monotonic() + ttl)
            return members

    def _check_privacy(self) -> None:
        """Warn once if the managers' channel is public: anyone who joins it would count as a manager."""
        try:
            info = self.client.conversations_info(channel=self.channel)["channel"]
        except SlackApiError as e:
            log.info(
                "conversations.info of the managers' channel failed (%s); will check again", e.response.get("error")
            )
            return
        except Exception as e:
            log.info("conversations.info of the managers' channel failed (%s); will check again", type(e).__name__)
            return
        self._privacy_checked = True
        if info.get("is_private") is False:
            log.warning(
                "MANAGER_CHANNEL %s is a public channel: anyone who joins it counts as a manager and can "
                "ask for the team digest and export every rep's reviews. Make it a private channel that only "
                "managers are invited to; managers can also be named in MANAGER_USER_IDS.",
                self.channel,
            )

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
