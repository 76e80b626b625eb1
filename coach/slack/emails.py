"""Finding a CRM deal's owner in Slack by email (`users.lookupByEmail`, scope users:read.email), cached."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# Slack's answers that mean "no such member", as opposed to "ask again later".
NOT_FOUND_ERRORS = frozenset({"users_not_found", "user_not_found", "invalid_email"})


@dataclass(frozen=True)
class Member:
    user_id: str
    team_id: str | None
    deactivated: bool


class NotInSlack(Exception):
    """No member of the workspace has this email."""


class EmailDirectory:
    """An hour's cache: a burst of losses of one rep costs one lookup. Misses are cached for a minute only,
    so a rep who joins Slack is found soon after."""

    def __init__(self, client: WebClient, *, ttl_seconds: int = 3600, miss_ttl_seconds: int = 60) -> None:
        self._client = client
        # Wall-clock timers: a day-long wait for a rep to join is measured like the rest of the app's time.
        self._found: TTLCache[str, Member] = TTLCache(maxsize=10_000, ttl=ttl_seconds, timer=time.time)
        self._missing: TTLCache[str, bool] = TTLCache(maxsize=10_000, ttl=miss_ttl_seconds, timer=time.time)
        self._lock = threading.Lock()

    def by_email(self, email: str) -> Member:
        """The member with this email; NotInSlack if there is none. Other Slack failures are raised as they are."""
        key = email.strip().lower()
        with self._lock:
            if key in self._found:
                return self._found[key]
            if key in self._missing:
                raise NotInSlack(key)
        try:
            user = self._client.users_lookupByEmail(email=key)["user"]
        except SlackApiError as e:
            if e.response.get("error") in NOT_FOUND_ERRORS:
                with self._lock:
                    self._missing[key] = True
                raise NotInSlack(key) from None
            raise
        member = Member(user["id"], user.get("team_id"), bool(user.get("deleted")))
        with self._lock:
            self._found[key] = member
        return member

    def by_id(self, user_id: str) -> Member:
        """A member given by id (the generic webhook's slack_user_id); NotInSlack if Slack has no such user."""
        try:
            user = self._client.users_info(user=user_id)["user"]
        except SlackApiError as e:
            if e.response.get("error") in NOT_FOUND_ERRORS:
                raise NotInSlack(user_id) from None
            raise
        return Member(user["id"], user.get("team_id"), bool(user.get("deleted")))
