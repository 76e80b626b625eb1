"""Fixtures: a fake Slack on loopback, the real app served over HTTP, a test database.

Set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5433/coach_test)
to run the whole suite against PostgreSQL; SQLite files are used otherwise.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import text

from coach.app.wiring import Application, create_application
from coach.config import Settings
from coach.db import Base, Database, upgrade_database
from coach.web import create_http_server
from tests.fakeslack import FakeSlack
from tests.slack_signing import (
    TEAM_ID,
    event_body,
    interactive_body,
    sign,
    slash_command_body,
)

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
MANAGER_CHANNEL = "CMANAGERS"

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def _postgres_schema() -> str | None:
    if POSTGRES_URL:
        db = Database(POSTGRES_URL)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.dispose()
        upgrade_database(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def database_url(tmp_path, _postgres_schema) -> Iterator[str]:
    if _postgres_schema:
        db = Database(_postgres_schema)
        with db.engine.begin() as conn:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.dispose()
        yield _postgres_schema
    else:
        yield f"sqlite:///{tmp_path / 'coach.db'}"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    fake.add_user("U1", tz="Asia/Tokyo", locale="ja-JP", name="Sato Hana")
    fake.add_user("U2", tz="America/New_York", locale="en-US", name="Alex Kim")
    fake.add_user("U3", tz="Europe/London", locale="fr-FR", name="Camille Martin")
    with fake:
        yield fake
    # Whatever a test did, nothing the app sent may have broken Slack's limits.
    refused = [
        (c.method, c.response)
        for c in fake.calls
        if c.response.get("error")
        in (
            "invalid_blocks",
            "invalid_arguments",
            "msg_too_long",
            "no_text",
            "invalid_payload",
            "used_url",
            "expired_url",
            "no_service",
        )
    ]
    assert refused == [], f"Slack would have refused: {refused}"


@pytest.fixture
def settings_env(fake_slack: FakeSlack, database_url: str) -> dict[str, Any]:
    return {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake_slack.base_url,
        "database_url": database_url,
        "manager_channel": MANAGER_CHANNEL,
        "default_locale": "en",
        "slack_messages_per_second": 0,  # the limiter has its own test; here it would only slow things
        "_env_file": None,
    }


@dataclass
class Answer:
    """The ephemeral answer to a slash command, whether it came in the ack or through the response_url."""

    text: str
    response_type: str | None
    blocks: list[dict[str, Any]] | None
    via: str  # "ack" or "response_url"
    response_url: str
    ack: dict[str, Any]  # the ack's body ({} when the answer came later)


@dataclass
class SlackSender:
    """Sends requests to the app the way Slack does: signed, over HTTP."""

    url: str
    fake: FakeSlack
    secret: str = SIGNING_SECRET

    def post(self, body: str, content_type: str, *, headers: dict[str, str] | None = None) -> requests.Response:
        h = {"Content-Type": content_type, **sign(body, self.secret)}
        h.update(headers or {})
        return requests.post(self.url, data=body.encode(), headers=h, timeout=10)

    def command(self, text: str = "", user_id: str = "U1", **extra: Any) -> requests.Response:
        """Send a slash command; its response_url points at the fake (``resp.response_url``)."""
        trigger = extra.pop("trigger_id", None) or self.fake.issue_trigger_id()
        url = extra.pop("response_url", None) or self.fake.issue_response_url(extra.get("team_id", TEAM_ID))
        body = slash_command_body(text=text, user_id=user_id, trigger_id=trigger, response_url=url, **extra)
        resp = self.post(body, "application/x-www-form-urlencoded")
        resp.response_url = url  # type: ignore[attr-defined]
        return resp

    def answer(self, text: str = "", user_id: str = "U1", *, timeout: float = 10.0, **extra: Any) -> Answer:
        """Send a slash command and return its ephemeral answer: the ack's, or else the one posted to
        the command's response_url right after (waited for)."""
        resp = self.command(text, user_id=user_id, **extra)
        return self.answer_of(resp, timeout=timeout)

    def answer_of(self, resp: requests.Response, *, timeout: float = 10.0) -> Answer:
        url: str = resp.response_url  # type: ignore[attr-defined]
        body = self.json(resp)
        if body.get("text") or body.get("blocks"):
            return Answer(body.get("text") or "", body.get("response_type"), body.get("blocks"), "ack", url, body)
        later = self.fake.wait_for_response(url, timeout=timeout).params
        return Answer(
            later.get("text") or "", later.get("response_type"), later.get("blocks"), "response_url", url, body
        )

    def interact(self, payload: dict[str, Any]) -> requests.Response:
        return self.post(interactive_body(payload), "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any]) -> requests.Response:
        return self.post(event_body(event), "application/json")

    @staticmethod
    def json(resp: requests.Response) -> dict[str, Any]:
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return json.loads(resp.text) if resp.text else {}


@dataclass
class RunningApp:
    application: Application
    base_url: str
    slack: SlackSender

    @property
    def coach(self):
        return self.application.coach

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the work listeners started after their acks is done."""
        assert self.coach.later.wait_idle(timeout), "work after ack still running"


@pytest.fixture
def running_app(settings_env, fake_slack) -> Iterator[RunningApp]:
    with serve_app(settings_env, fake_slack) as app:
        yield app


@contextmanager
def serve_app(settings_env: dict[str, Any], fake_slack: FakeSlack, *, threads: int = 8) -> Iterator[RunningApp]:
    """The real app, served by waitress on a free loopback port (another instance if called again)."""
    application = create_application(Settings(**settings_env))
    server = create_http_server(application.wsgi, "127.0.0.1", 0, threads=threads)
    stopping = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            if not stopping.is_set():  # closing the sockets under select() is how waitress stops
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        yield RunningApp(application, base, SlackSender(base + "/slack/events", fake_slack))
    finally:
        stopping.set()
        for channel in list(server._map.values()):
            channel.handle_close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)
        application.coach.later.shutdown()
        application.coach.db.dispose()
