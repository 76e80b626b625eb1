"""The Web API client: Slack's base URL (or a fake), with slack_sdk's retry handlers."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

log = logging.getLogger(__name__)


def make_client(token: str, base_url: str, *, retries: bool = True) -> WebClient:
    handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),  # waits Retry-After
        ServerErrorRetryHandler(max_retry_count=2),
    ] if retries else []
    return WebClient(token=token, base_url=base_url, timeout=10, retry_handlers=handlers)


def post_message(client: WebClient, channel: str, *, text: str,
                 blocks: list[dict] | None = None) -> tuple[str | None, str | None]:
    """Post and return (ts, None), or (None, error) once the retries are spent.

    The caller records the error; nothing here swallows a failure silently.
    """
    try:
        resp = client.chat_postMessage(channel=channel, text=text, unfurl_links=False,
                                       **({"blocks": blocks} if blocks else {}))
        return resp.get("ts"), None
    except SlackApiError as e:
        error = str(e.response.get("error") or f"http_{e.response.status_code}")
        log.error("chat.postMessage to %s failed: %s", channel, error)
        return None, error
    except Exception as e:  # connection refused after retries, timeouts
        log.error("chat.postMessage to %s failed: %s", channel, type(e).__name__)
        return None, type(e).__name__
