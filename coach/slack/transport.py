"""Web API calls over kept-alive connections.

slack_sdk's WebClient sends each call through `urllib.request`, which opens
a new connection (a TCP and a TLS handshake with slack.com) for every call
and closes it after. A rep who types `/lost` waits for `views.open`; the
form is then filled in with `users.info` and `views.update`: three
handshakes for one form. `KeepAliveWebClient` sends the same requests
through urllib3's connection pool (urllib3 is what `requests` is made of),
so that a connection is opened once and reused by the calls that follow.

Everything else stays slack_sdk's: building the request, the retry handlers,
SlackResponse. The failures are handed back as urllib would raise them (an
HTTPError for a 4xx/5xx with its headers and body, a URLError whose reason
is the refused connection or the unresolved name, a bare TimeoutError or
RemoteDisconnected once the request went out), so the retry handlers in
coach/slack/client.py tell "never reached Slack" from "may have arrived"
exactly as before.
"""

from __future__ import annotations

import io
import threading
from http.client import HTTPException, HTTPMessage, RemoteDisconnected
from ssl import SSLContext
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

import urllib3
from slack_sdk import WebClient
from urllib3 import exceptions as pool_errors

# Connections kept per origin: one per thread that may call Slack at once (the server's request threads,
# the modal openers, the workers after the ack). More may be open during a burst; the surplus is closed
# after use instead of kept.
KEPT_CONNECTIONS = 40

_pools: dict[tuple[str, SSLContext | None], urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


def connection_pool(url: str, ssl: SSLContext | None) -> urllib3.HTTPConnectionPool:
    """The process's pool for one origin and TLS setting: every client of the app shares its connections."""
    parts = urlsplit(url)
    key = (f"{parts.scheme}://{parts.netloc}", ssl)  # the context itself: kept alive with its pool
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                tls = {"ssl_context": ssl} if parts.scheme == "https" else {}
                pool = _pools[key] = urllib3.connection_from_url(key[0], maxsize=KEPT_CONNECTIONS, block=False, **tls)
    return pool


class KeepAliveWebClient(WebClient):
    """slack_sdk's WebClient, its requests sent over a shared pool of kept-alive connections."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None or not url.lower().startswith(("http://", "https://")):
            return super()._perform_urllib_http_request_internal(url, req)
        try:
            resp = connection_pool(url, self.ssl).urlopen(
                "POST",
                url,
                body=req.data,
                headers={name.title(): value for name, value in req.header_items()},  # as urllib sends them
                timeout=self.timeout,
                retries=False,  # retrying is the retry handlers' decision, per method
                redirect=False,
                assert_same_host=False,
                preload_content=True,
            )
        except pool_errors.HTTPError as e:
            raise as_urllib_error(e) from e
        if resp.status >= 400:
            # As urllib: the retry handlers and SlackApiError read the status, headers and body from it.
            headers = HTTPMessage()
            for name, value in resp.headers.items():
                headers[name] = value
            raise HTTPError(url, resp.status, resp.reason or "", headers, io.BytesIO(resp.data))
        content_type = resp.headers.get("Content-Type", "")
        if content_type.startswith("application/gzip"):
            return {"status": resp.status, "headers": resp.headers, "body": resp.data}
        charset = content_type.partition("charset=")[2].partition(";")[0].strip(' "')
        return {"status": resp.status, "headers": resp.headers, "body": resp.data.decode(charset or "utf-8")}


def as_urllib_error(error: pool_errors.HTTPError) -> Exception:
    """The exception urllib raises for the same failure."""
    cause = error.__cause__ or error.__context__
    if isinstance(error, pool_errors.NewConnectionError):
        # Refused, unreachable, or (NameResolutionError) a name that does not resolve: nothing was sent.
        return URLError(cause if isinstance(cause, OSError) else OSError(str(error)))
    if isinstance(error, pool_errors.ConnectTimeoutError):
        return URLError(TimeoutError("timed out"))
    if isinstance(error, pool_errors.ReadTimeoutError):
        return TimeoutError("timed out")  # the request went out: it may have arrived
    if isinstance(error, pool_errors.ProtocolError):
        # ("Connection aborted.", RemoteDisconnected(...) or ConnectionResetError(...)): after sending.
        inner = error.args[1] if len(error.args) > 1 else None
        if isinstance(inner, (OSError, HTTPException)):
            return inner
        return RemoteDisconnected(str(error))
    return URLError(cause if isinstance(cause, OSError) else OSError(str(error)))
