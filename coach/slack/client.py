"""The Web API client: Slack's base URL (or a fake), retries that never post twice, and safe posting.

slack_sdk's built-in handlers retry a 5xx or a dropped connection for every
method. For `chat.postMessage` or `files.completeUploadExternal` that can post
twice: Slack may have posted before the answer failed. So the default client
here ("safe" mode) retries

- a 429 always (Slack did nothing; it says when to come back),
- a 5xx or a dropped connection only for methods that are safe to repeat
  (reads, opening a DM, the view calls, updating a message in place),
- a refused connection for every method (nothing reached Slack).

`post_message` adds what a retry handler cannot do: after an answer that
leaves it unknown whether the message went out, it looks for the message
in the conversation (by a marker in its metadata) and posts again only when
it is not there.
"""

from __future__ import annotations

import logging
import time
import uuid
from http.client import HTTPException
from typing import Any, Literal, Optional
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)

RetryMode = Literal["safe", "all", "none"]

# Methods a 5xx or a dropped connection may repeat: reads, and calls whose repeat changes nothing
# (the same DM is opened, a view or message is set to the same content, a second unused upload URL).
RETRY_SAFE_METHODS = frozenset({
    "auth.test",
    "users.info",
    "conversations.info",
    "conversations.members",
    "conversations.history",
    "conversations.open",
    "views.open",      # a repeat after Slack opened it fails with exchanged_trigger_id: never two modals
    "views.push",
    "views.update",
    "views.publish",
    "chat.update",
    "chat.delete",
    "files.getUploadURLExternal",
})

POST_MARKER_EVENT = "lost_deal_coach_post"
POST_ATTEMPTS = 3               # first try plus two after checking the message is not there
POST_CHECK_DELAY_SECONDS = 1.0  # let a message Slack did post show in the history before looking
WEBHOOK_TIMEOUT_SECONDS = 5


def api_method(url: str) -> str:
    """`https://slack.com/api/chat.postMessage` → `chat.postMessage`."""
    return urlsplit(url).path.rsplit("/", 1)[-1]


def _never_connected(error: Exception | None) -> bool:
    """A refused connection: the request never reached Slack, so repeating it cannot duplicate anything."""
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError)


class SafeServerErrorRetryHandler(ServerErrorRetryHandler):
    """Retries 500/503 only for methods in RETRY_SAFE_METHODS."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: Optional[HttpResponse] = None,
                   error: Optional[Exception] = None) -> bool:
        return api_method(request.url) in RETRY_SAFE_METHODS and super()._can_retry(
            state=state, request=request, response=response, error=error)


class SafeConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """Retries a dropped connection for safe methods, a refused one for any."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: Optional[HttpResponse] = None,
                   error: Optional[Exception] = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        return api_method(request.url) in RETRY_SAFE_METHODS or _never_connected(error)


class RefusedConnectionRetryHandler(ConnectionErrorRetryHandler):
    """For a webhook (`response_url`): only a connection that was never made is tried again."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: Optional[HttpResponse] = None,
                   error: Optional[Exception] = None) -> bool:
        return _never_connected(error) and super()._can_retry(
            state=state, request=request, response=response, error=error)


def retry_handlers(mode: RetryMode | bool = "safe") -> list[RetryHandler]:
    """"safe" (default): see the module docstring; "all": slack_sdk's handlers for every method (may post
    twice); "none" (or False): no retries, the caller handles failures (the nudge dispatcher)."""
    if mode is True:
        mode = "safe"
    if mode is False or mode == "none":
        return []
    if mode == "all":
        return [ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3),
                ServerErrorRetryHandler(max_retry_count=2)]
    if mode == "safe":
        return [SafeConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3),
                SafeServerErrorRetryHandler(max_retry_count=2)]
    raise ValueError(f"unknown retry mode {mode!r}")


def make_client(token: str, base_url: str, *, retries: RetryMode | bool = "safe") -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=10, retry_handlers=retry_handlers(retries))


def make_webhook(url: str) -> WebhookClient:
    """A client for a `response_url`: a 429 waits for Retry-After; nothing that may have arrived is re-sent."""
    return WebhookClient(url=url, timeout=WEBHOOK_TIMEOUT_SECONDS,
                         retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2),
                                         RefusedConnectionRetryHandler(max_retry_count=2)])


# Posting -----------------------------------------------------------------------------------


def _error_of(e: Exception) -> str:
    if isinstance(e, SlackApiError):
        return str(e.response.get("error") or f"http_{e.response.status_code}")
    return type(e).__name__


def _maybe_posted(e: Exception) -> bool:
    """After this failure Slack may or may not have posted the message."""
    if isinstance(e, SlackApiError):
        return e.response.status_code >= 500
    # A timeout or a dropped connection: the request may have arrived. (A bug is no reason to look.)
    return isinstance(e, (OSError, HTTPException)) and not _never_connected(e)


def post_message(client: WebClient, channel: str, *, text: str,
                 blocks: list[dict] | None = None) -> tuple[str | None, str | None]:
    """Post once and return (ts, None), or (None, error).

    A 429 is retried by the client. After a 5xx, a timeout or a dropped
    connection the message may be in Slack already: it is looked for in the
    conversation by its marker, and posted again only if it is not there. When
    even that cannot be told, the error is returned rather than risking a
    second copy. The caller records the error; nothing here swallows a failure.
    """
    marker = uuid.uuid4().hex
    metadata = {"event_type": POST_MARKER_EVENT, "event_payload": {"post_id": marker}}
    started = time.time()
    error = "not_sent"
    for attempt in range(1, POST_ATTEMPTS + 1):
        try:
            resp = client.chat_postMessage(channel=channel, text=text, unfurl_links=False, metadata=metadata,
                                           **({"blocks": blocks} if blocks else {}))
            return resp.get("ts"), None
        except Exception as e:  # SlackApiError, or a connection refused / dropped / timed out
            error = _error_of(e)
            if not _maybe_posted(e) or attempt == POST_ATTEMPTS:
                break
            log.warning("chat.postMessage to %s failed (%s); checking whether it was posted", channel, error)
            time.sleep(POST_CHECK_DELAY_SECONDS * attempt)
            try:
                ts = find_posted(client, channel, marker, since=started)
            except Exception as check:
                log.error("chat.postMessage to %s failed (%s) and whether it was posted is unknown (%s); "
                          "not posting again", channel, error, _error_of(check))
                return None, error
            if ts is not None:
                log.info("chat.postMessage to %s answered %s but the message is there (%s)", channel, error, ts)
                return ts, None
    log.error("chat.postMessage to %s failed: %s", channel, error)
    return None, error


def find_posted(client: WebClient, channel: str, marker: str, *, since: float) -> str | None:
    """The ts of the message posted with `marker` in its metadata, or None if it is not in the conversation."""
    conversation = channel
    if channel[:1] in ("U", "W"):  # a DM addressed by user id: history needs the DM's channel id
        conversation = client.conversations_open(users=channel)["channel"]["id"]
    history = client.conversations_history(channel=conversation, oldest=f"{since - 60:.6f}", limit=50,
                                           include_all_metadata=True)
    for message in history.get("messages") or []:
        meta: dict[str, Any] = message.get("metadata") or {}
        if meta.get("event_type") == POST_MARKER_EVENT and (meta.get("event_payload") or {}).get("post_id") == marker:
            return message.get("ts")
    return None
