"""HTTP: `/slack/events` (commands, interactivity, events), `/healthz` and extra routes (the CRM webhooks),
served by waitress."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from sqlalchemy import text
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from coach.background import awaiting_modals
from coach.db import Database

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller; so are a CRM's webhook batches

# The server's limits. Slack sends each request whole within milliseconds; anything slower or bigger is
# not Slack, and must not hold the door shut for Slack (see README, "In production").
SERVER_THREADS = 16
# waitress reads requests on one event loop and hands only whole ones to the threads, so a slow client
# costs a socket, not a thread: room for many of them beside Slack (waitress's default is 100).
CONNECTION_LIMIT = 2000
# A request must arrive whole within this (waitress's own timeout only counts silence, so one byte a
# second would keep a connection forever).
REQUEST_DEADLINE_SECONDS = 10
IDLE_SECONDS = 30  # a keep-alive connection with nothing to say is closed after this
ACK_WAITS_FOR_MODAL_SECONDS = 1.0  # the most an ack waits for the views.open its listener started
MAX_HEADER_BYTES = 64 * 1024
# waitress warns once per request that finds every thread busy; one such line per this many seconds
# is kept, saying how many it stands for.
QUEUE_WARNING_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class HttpRequest:
    """A POST to one of the extra routes, body read whole (and bounded)."""

    method: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    # The URL the sender called, as it may have written it: behind a proxy the scheme is not always known.
    urls: tuple[str, ...]


# A route answers (HTTP status, JSON body). It must not raise for bad input: a 4xx says what was wrong.
Route = Callable[[HttpRequest], tuple[int, dict]]

# A Slack request answered before Bolt routes it: (body, headers with lower-case names) in, the answer out, or
# None to leave the request to Bolt. Its signature timestamp, if any, is digits (`SlackHandler.dispatch`).
# (coach.listeners.commands.LostFastPath: every `/lost`.)
FastPath = Callable[[str, Mapping[str, str]], BoltResponse | None]


_UNIX_TIME = re.compile("[0-9]{1,20}")  # Slack's X-Slack-Request-Timestamp: seconds since 1970


class SlackHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, offering each request to `fast_path` before Bolt's dispatch."""

    def __init__(self, app: App, fast_path: FastPath | None = None) -> None:
        super().__init__(app, path=SLACK_PATH)
        self._fast_path = fast_path

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        body, headers = request.get_body(), request.get_headers()
        timestamp = headers.get("x-slack-request-timestamp")
        if timestamp is not None and not _UNIX_TIME.fullmatch(timestamp):
            # Bolt's signature check raises on a timestamp that is no number, and Bolt then answers as if a
            # listener had failed (a 500, or the app's apology): refused here as Bolt refuses a bad signature.
            return BoltResponse(status=401, body={"error": "invalid request"})
        answer = self._fast_path(body, headers) if self._fast_path is not None else None
        if answer is not None:
            return answer
        return self.app.dispatch(BoltRequest(body=body, query=request.query_string, headers=headers))


REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    503: "Service Unavailable",
}


def _request_of(environ: dict, body: bytes) -> HttpRequest:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", "")
    if not target.startswith("/"):  # an absolute-form request target
        target = "/" + target.split("://", 1)[-1].partition("/")[2]
    forwarded = (environ.get("HTTP_X_FORWARDED_PROTO") or "").split(",")[0].strip().lower()
    schemes = dict.fromkeys(s for s in (forwarded, "https", environ.get("wsgi.url_scheme", "http"), "http") if s)
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "POST"),
        headers=headers,
        body=body,
        urls=tuple(f"{scheme}://{host}{target}" for scheme in schemes),
    )


def build_wsgi_app(
    app: App, db: Database, routes: Mapping[str, Route] | None = None, fast_path: FastPath | None = None
) -> Callable:
    slack = SlackHandler(app, fast_path)
    routes = dict(routes or {})

    def reply(start_response, status: str, body: dict) -> Iterable[bytes]:
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            try:
                with db.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as e:
                log.error("health check: database unreachable (%s)", type(e).__name__)
                return reply(start_response, "503 Service Unavailable", {"ok": False, "database": "unreachable"})
            return reply(start_response, "200 OK", {"ok": True})
        if path in routes:
            return serve_route(routes[path], environ, start_response, method)
        if path != SLACK_PATH:
            return reply(start_response, "404 Not Found", {"ok": False, "error": "not_found"})
        if method != "POST":
            return reply(start_response, "405 Method Not Allowed", {"ok": False, "error": "method_not_allowed"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            return reply(start_response, "400 Bad Request", {"ok": False, "error": "bad_request"})
        opening: list[Future] = []
        try:
            with awaiting_modals(opening):
                body = slack(environ, start_response)
        except Exception as e:
            # A malformed payload must never become a 500 with a traceback.
            log.warning("rejected a malformed request: %s", type(e).__name__)
            return reply(start_response, "400 Bad Request", {"ok": False, "error": "bad_request"})
        if opening:
            # The listener started a modal opening (on an opener's thread, or in the call process): the ack waits
            # for it, briefly, so the modal is open by the time Slack has its answer; a slow Slack never holds
            # the ack past the wait.
            wait(opening, timeout=ACK_WAITS_FOR_MODAL_SECONDS)
        return body

    def serve_route(route: Route, environ, start_response, method: str):
        if method != "POST":
            return reply(start_response, "405 Method Not Allowed", {"ok": False, "error": "method_not_allowed"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return reply(start_response, "400 Bad Request", {"ok": False, "error": "bad_request"})
        if length > MAX_BODY_BYTES:
            return reply(start_response, "413 Payload Too Large", {"ok": False, "error": "too_large"})
        try:
            body = environ["wsgi.input"].read(length) if length else b""
            status, answer = route(_request_of(environ, body))
        except Exception as e:
            # The route stores before it answers; if that failed, the sender must retry (never a traceback).
            log.exception("%s failed: %s", environ.get("PATH_INFO"), type(e).__name__)
            return reply(start_response, "503 Service Unavailable", {"ok": False, "error": "try_again"})
        return reply(start_response, f"{status} {REASONS.get(status, 'Error')}", answer)

    return wsgi


def create_http_server(
    wsgi: Callable,
    host: str,
    port: int,
    *,
    threads: int = SERVER_THREADS,
    request_deadline: float = REQUEST_DEADLINE_SECONDS,
):
    """waitress, bound to host:port, with the limits above (an OSError here: the port is taken or not ours).

    - A body over MAX_BODY_BYTES is refused (413) as soon as its headers say so, before any of it is
      read; a chunked one once MAX_BODY_BYTES of it arrived. (waitress's default lets 1 GiB in, spooled
      to disk, before the app could say no.)
    - A request that has not arrived whole within `request_deadline` seconds is dropped (checked every
      second, with waitress's own check for idle connections).
    - Up to CONNECTION_LIMIT open connections, watched with poll() (select() stops at 1024 descriptors).
    """
    server = create_server(
        wsgi,
        host=host,
        port=port,
        threads=threads,
        ident="lost-deal-coach",
        max_request_body_size=MAX_BODY_BYTES + 1,  # waitress refuses a length >= this
        max_request_header_size=MAX_HEADER_BYTES,
        connection_limit=CONNECTION_LIMIT,
        asyncore_use_poll=True,
        channel_timeout=IDLE_SECONDS,
        cleanup_interval=1,
    )
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, FoldQueueWarnings) for f in queue_log.filters):
        queue_log.addFilter(FoldQueueWarnings())
    # One listening socket (a host/port) or several (a name with IPv4 and IPv6 addresses).
    listeners = [server] if isinstance(server, BaseWSGIServer) else list(server.map.values())
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = DeadlineChannel
            listener.maintenance = _dropping_late_requests(listener, request_deadline)
    return server


def _dropping_late_requests(listener: BaseWSGIServer, deadline: float) -> Callable[[float], None]:
    """waitress's maintenance (run from its event loop every `cleanup_interval`: it closes idle connections),
    which also drops every connection whose request has not arrived whole within `deadline`. (Checked here
    rather than in each connection's `readable()`, which the loop asks of every connection on every turn.)"""
    closes_idle = listener.maintenance

    def maintenance(now: float) -> None:
        closes_idle(now)
        started_before = time.monotonic() - deadline
        for channel in list(listener.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if channel.request is not None and started is not None and started < started_before:
                log.info("dropped a request still arriving after %g s", deadline)
                channel.will_close = True  # closed on the loop's next write turn

    return maintenance


class DeadlineChannel(HTTPChannel):
    """waitress's HTTP connection, noting when its request began to arrive (see `_dropping_late_requests`)."""

    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None:  # the first bytes of a new request
            self.request_started = time.monotonic()
        return super().received(data)

    def writable(self) -> bool:
        # While its request is served, the task's thread sends the answer itself (send_bytes is 1) and wakes
        # the loop when it ends, or when the socket would not take it all. Until then, output seen half-sent
        # would only turn the loop once more (each turn asks every connection) to find the task's lock taken.
        if self.requests and not (self.will_close or self.close_when_flushed):
            return False
        return super().writable()


class FoldQueueWarnings(logging.Filter):
    """At most one of waitress's "Task queue depth is N" warnings per QUEUE_WARNING_EVERY_SECONDS, with how
    many more it stands for and how deep the queue got meanwhile (told with the next warning kept: a burst's
    count waits for the next burst).

    waitress logs one for every request that finds all threads busy, while holding the lock its threads
    take their next request with: in a burst, hundreds of lines a second, each one formatted and written
    while no thread can pick up work. Saturation is worth a line; the rest only slow the burst down.
    """

    def __init__(
        self, every_seconds: float = QUEUE_WARNING_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._every = every_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._next_at = float("-inf")
        self._folded = 0
        self._deepest = 0  # the deepest queue among the folded warnings

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else None
        with self._lock:
            if now < self._next_at:
                self._folded += 1
                if isinstance(depth, int):
                    self._deepest = max(self._deepest, depth)
                return False
            self._next_at = now + self._every
            folded, deepest, self._folded, self._deepest = self._folded, self._deepest, 0, 0
        if folded:
            more = f"{folded} more since the last such line, the deepest {deepest}"
            record.msg, record.args = f"{record.getMessage()} (and {more})", None
        return True
