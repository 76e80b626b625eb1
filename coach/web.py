"""HTTP: `/slack/events` (commands, interactivity, events), `/healthz` and extra routes (the CRM webhooks),
served by waitress."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from coach.db import Database

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller; so are a CRM's webhook batches


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


def build_wsgi_app(app: App, db: Database, routes: Mapping[str, Route] | None = None) -> Callable:
    slack = SlackRequestHandler(app)
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
        try:
            return slack(environ, start_response)
        except Exception as e:
            # A malformed payload must never become a 500 with a traceback.
            log.warning("rejected a malformed request: %s", type(e).__name__)
            return reply(start_response, "400 Bad Request", {"ok": False, "error": "bad_request"})

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
