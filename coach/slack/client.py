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
import socket
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from http.client import HTTPException
from typing import Literal
from urllib.error import URLError
from urllib.parse import urlsplit

import aiohttp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from coach.slack.call_process import OFFLOADED_METHODS, OffloadingWebClient
from coach.slack.errors import UNKNOWN_OUTCOME_ERRORS
from coach.slack.history import UNKNOWN, error_name, find_by_metadata

log = logging.getLogger(__name__)

RetryMode = Literal["safe", "none"]

# Methods a 5xx or a dropped connection may repeat: reads, and calls whose repeat changes nothing
# (the same DM is opened, a view or message is set to the same content, a second unused upload URL).
RETRY_SAFE_METHODS = frozenset(
    {
        "auth.test",
        "users.info",
        "conversations.info",
        "conversations.members",
        "conversations.history",
        "conversations.open",
        "views.open",  # a repeat after Slack opened it fails with exchanged_trigger_id: never two modals
        "views.push",
        "views.update",
        "views.publish",
        "chat.update",
        "chat.delete",
        "files.getUploadURLExternal",
    }
)

POST_MARKER_EVENT = "lost_deal_coach_post"
POST_ATTEMPTS = 3  # first try plus two after checking the message is not there
POST_CHECK_DELAY_SECONDS = 1.0  # let a message Slack did post show in the history before looking
WEBHOOK_TIMEOUT_SECONDS = 5


def api_method(url: str) -> str:
    """`https://slack.com/api/chat.postMessage` → `chat.postMessage`."""
    return urlsplit(url).path.rsplit("/", 1)[-1]


def never_reached_slack(error: Exception | None) -> bool:
    """A refused connection or a host name that does not resolve: the request never reached Slack, so
    repeating it cannot duplicate anything."""
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


class SafeServerErrorRetryHandler(ServerErrorRetryHandler):
    """Retries 500/503 only for methods in RETRY_SAFE_METHODS."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return api_method(request.url) in RETRY_SAFE_METHODS and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


class SafeConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """Retries a dropped connection for safe methods, a refused one for any."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        return api_method(request.url) in RETRY_SAFE_METHODS or never_reached_slack(error)


class RefusedConnectionRetryHandler(ConnectionErrorRetryHandler):
    """For a webhook (`response_url`): only a connection that was never made is tried again."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return never_reached_slack(error) and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


# How often "safe" mode retries each kind of failure; the call process's async handlers use the same.
CONNECTION_RETRIES = 2
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2


def retry_handlers(mode: RetryMode = "safe") -> list[RetryHandler]:
    """ "safe" (default): see the module docstring; "none": no retries, the caller handles failures (the
    nudge dispatcher, the managers' channel lookup on the request path)."""
    if mode == "none":
        return []
    if mode == "safe":
        return [
            SafeConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            SafeServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ]
    raise ValueError(f"unknown retry mode {mode!r}")


def make_client(token: str, base_url: str, *, retries: RetryMode = "safe", timeout: float = 10) -> OffloadingWebClient:
    """A Web API client whose calls reuse connections (coach/slack/transport.py), and whose modal openings go
    through a call process once one is attached (coach/slack/call_process.py)."""
    return OffloadingWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers(retries))


# The call process (coach/slack/call_child.py) makes only these, all safe to repeat: it retries as "safe" mode
# does for them, with slack_sdk's async handlers, which retry every method.
assert OFFLOADED_METHODS <= RETRY_SAFE_METHODS


def async_retry_handlers() -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
    ]


def make_async_client(token: str, base_url: str, *, timeout: float, session: aiohttp.ClientSession) -> AsyncWebClient:
    """The call process's client: its calls share `session`'s kept-alive connections."""
    return AsyncWebClient(
        token=token, base_url=base_url, timeout=timeout, session=session, retry_handlers=async_retry_handlers()
    )


def send_soon(client: WebClient, method: str, body: dict) -> Future | None:
    """`method` (views.open, views.push) handed to the app's call process without waiting for Slack's answer
    (`OffloadingWebClient.call_soon`). None for any other client, or when the call process cannot take it
    now: the caller then makes the call the usual way."""
    return client.call_soon(method, body) if isinstance(client, OffloadingWebClient) else None


def make_webhook(url: str) -> WebhookClient:
    """A client for a `response_url`: a 429 waits for Retry-After; nothing that may have arrived is re-sent."""
    return WebhookClient(
        url=url,
        timeout=WEBHOOK_TIMEOUT_SECONDS,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            RefusedConnectionRetryHandler(max_retry_count=2),
        ],
    )


# Posting -----------------------------------------------------------------------------------


def maybe_posted(e: Exception) -> bool:
    """After this failure Slack may or may not have posted the message."""
    if isinstance(e, SlackApiError):
        return e.response.status_code >= 500 or e.response.get("error") in UNKNOWN_OUTCOME_ERRORS
    # A timeout or a dropped connection: the request may have arrived. (A bug is no reason to look.)
    return isinstance(e, (OSError, HTTPException)) and not never_reached_slack(e)


@dataclass(frozen=True)
class Posted:
    """What became of a post: its ts; or the error, and whether Slack may have posted it all the same."""

    ts: str | None
    error: str | None = None
    in_doubt: bool = False


def post_message(client: WebClient, channel: str, *, text: str, blocks: list[dict] | None = None) -> Posted:
    """Post once: the message's ts, or the error.

    A 429 is retried by the client. After a 5xx, `internal_error`, a timeout
    or a dropped connection the message may be in Slack already: it is looked
    for in the conversation by its marker, and posted again only if it is not
    there. When that cannot be told, the answer is "in doubt" rather than a
    second copy. The caller records the outcome; nothing here swallows a failure.
    """
    marker = uuid.uuid4().hex
    metadata = {"event_type": POST_MARKER_EVENT, "event_payload": {"post_id": marker}}
    started = time.time()
    error = "not_sent"
    for attempt in range(1, POST_ATTEMPTS + 1):
        try:
            resp = client.chat_postMessage(
                channel=channel,
                text=text,
                unfurl_links=False,
                metadata=metadata,
                **({"blocks": blocks} if blocks else {}),
            )
            return Posted(resp.get("ts"))
        except Exception as e:  # SlackApiError, or a connection refused / dropped / timed out
            error = error_name(e)
            if not maybe_posted(e):
                break
            log.warning("chat.postMessage to %s failed (%s); checking whether it was posted", channel, error)
            time.sleep(POST_CHECK_DELAY_SECONDS * attempt)
            found = find_by_metadata(
                client,
                channel,
                since=started - 60,
                matches=lambda meta: (
                    meta.get("event_type") == POST_MARKER_EVENT
                    and (meta.get("event_payload") or {}).get("post_id") == marker
                ),
            )
            if found is UNKNOWN:
                log.error(
                    "chat.postMessage to %s failed (%s) and whether it was posted is unknown; not posting again",
                    channel,
                    error,
                )
                return Posted(None, error, in_doubt=True)
            if found:
                log.info(
                    "chat.postMessage to %s answered %s but the message is there (%s)", channel, error, found[0]["ts"]
                )
                return Posted(found[0]["ts"])
    log.error("chat.postMessage to %s failed: %s", channel, error)
    return Posted(None, error)
