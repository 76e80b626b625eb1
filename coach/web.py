"""HTTP: `/slack/events` (commands, interactivity, events) and `/healthz`, served by waitress."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from coach.db import Database

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller


def build_wsgi_app(app: App, db: Database) -> Callable:
    slack = SlackRequestHandler(app)

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

    return wsgi
