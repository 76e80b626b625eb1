"""The one search of a conversation's history for the app's own messages, by what they carry.

Posts (`coach.slack.client.post_message`), nudges (`coach.nudges.recovery`) and
the digest all ask the same question after an answer that left it unknown
whether Slack posted: is the message there? Each says what matches; this
module pages through the history, oldest bound given, and reports either the
matches or that the history was longer than it reads (then nobody may
assume the message is absent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

PAGE = 200
MAX_PAGES = 50  # 10,000 messages since the bound; more than that and the search cannot tell

UNKNOWN: Any = object()  # find_by_metadata: Slack could not be asked, or the history is longer than read


class TooLong(Exception):
    """More than MAX_PAGES pages of history since the bound: whether a message is there cannot be told."""


def dm_channel(client: WebClient, channel: str) -> str:
    """A DM may be given by user id; `conversations.history` needs its channel id."""
    if channel[:1] in ("U", "W"):
        return client.conversations_open(users=channel)["channel"]["id"]
    return channel


def search(
    client: WebClient,
    channel: str,
    *,
    since: float,
    matches: Callable[[dict[str, Any]], bool],
    first: bool = False,
    before_each_page: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """The messages of conversation `channel` since `since` (Unix time) that `matches`, newest first.

    `first`: stop at the first match. `before_each_page` paces the calls (a rate limiter). Slack's
    errors are raised to the caller, who knows what each means for it; a history longer than
    MAX_PAGES raises TooLong.
    """
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        if before_each_page is not None:
            before_each_page()
        page = client.conversations_history(
            channel=channel,
            oldest=f"{since:.6f}",
            limit=PAGE,
            include_all_metadata=True,
            **({"cursor": cursor} if cursor else {}),
        )
        for message in page.get("messages") or []:
            if matches(message):
                found.append(message)
                if first:
                    return found
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page.get("has_more") or not cursor:
            return found
    raise TooLong(channel)


def find_by_metadata(
    client: WebClient, channel: str, *, since: float, matches: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """The app's messages in `channel` since `since` whose metadata `matches`, newest first;
    UNKNOWN if the history could not be read whole. A DM may be given by user id."""
    try:
        return search(
            client, dm_channel(client, channel), since=since, matches=lambda m: matches(m.get("metadata") or {})
        )
    except Exception as e:
        log.error("could not read the history of %s: %s", channel, error_name(e))
        return UNKNOWN


def error_name(e: Exception) -> str:
    """Slack's error name, or the exception's type for a connection failure."""
    if isinstance(e, SlackApiError):
        return str(e.response.get("error") or f"http_{e.response.status_code}")
    return type(e).__name__


class DmChannels:
    """Each rep's DM channel id, remembered from sends and `conversations.open` (bounded)."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._channels: dict[str, str] = {}

    def get(self, client: WebClient, user_id: str, *, before_call: Callable[[], None] | None = None) -> str:
        channel = self._channels.get(user_id)
        if channel is None:
            if before_call is not None:
                before_call()
            channel = dm_channel(client, user_id)
            self.remember(user_id, channel)
        return channel

    def remember(self, user_id: str, channel: str) -> None:
        if len(self._channels) >= self.limit:
            self._channels.clear()
        self._channels[user_id] = channel
