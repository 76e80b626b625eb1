"""A rep's language and time zone from Slack (`users.info`), cached."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.i18n import Translator, pick_locale

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Profile:
    user_id: str
    locale: str
    tz: ZoneInfo

    @property
    def t(self) -> Translator:
        return Translator(self.locale, self.tz)


class Profiles:
    """Reps change language or travel rarely; an hour's cache keeps Slack calls off the hot path."""

    def __init__(self, client: WebClient, *, default_locale: str, default_tz: str, ttl_seconds: int = 3600) -> None:
        self._client = client
        self._default_locale = default_locale
        self._default_tz = ZoneInfo(default_tz)
        self._cache: TTLCache[tuple[str, str], Profile] = TTLCache(maxsize=10_000, ttl=ttl_seconds)
        self._lock = threading.Lock()

    def get(self, team_id: str | None, user_id: str) -> Profile:
        key = (team_id or "", user_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached:
            return cached
        profile = self._fetch(user_id)
        if profile is not None:
            with self._lock:
                self._cache[key] = profile
            return profile
        return self.fallback(user_id)

    def peek(self, team_id: str | None, user_id: str) -> Profile | None:
        """The cached profile, or None when only Slack knows it (never calls Slack)."""
        with self._lock:
            return self._cache.get((team_id or "", user_id))

    def cached(self, team_id: str | None, user_id: str) -> Profile:
        """The cached profile or the defaults, without calling Slack."""
        return self.peek(team_id, user_id) or self.fallback(user_id)

    def fallback(self, user_id: str) -> Profile:
        return Profile(user_id, self._default_locale, self._default_tz)

    def forget(self, team_id: str | None, user_id: str) -> None:
        with self._lock:
            self._cache.pop((team_id or "", user_id), None)

    def _fetch(self, user_id: str) -> Profile | None:
        try:
            user = self._client.users_info(user=user_id, include_locale=True)["user"]
        except SlackApiError as e:
            log.warning("users.info for %s failed (%s); using defaults", user_id, e.response.get("error"))
            return None
        except Exception as e:
            log.warning("users.info for %s failed (%s); using defaults", user_id, type(e).__name__)
            return None
        try:
            tz = ZoneInfo(user.get("tz") or self._default_tz.key)
        except (ZoneInfoNotFoundError, ValueError):
            tz = self._default_tz
        return Profile(user_id, pick_locale(user.get("locale"), self._default_locale), tz)
