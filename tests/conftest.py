"""Fixtures: a fake Slack on loopback, the real app served over HTTP, a test database.

Set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5433/coach_test)
to run the whole suite against PostgreSQL; SQLite files are used otherwise.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import requests
from sqlalchemy import text
from waitress.server import create_server

from coach.config import Settings
from coach.db import Base, Database, upgrade_database
from coach.main import Application, create_application
from tests.fakeslack import FakeSlack
from tests.slack_signing import (
    event_body, interactive_body, sign, slash_command_body,
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
    refused = [(c.method, c.response) for c in fake.calls
               if c.response.get("error") in ("invalid_blocks", "invalid_arguments", "msg_too_long")]
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
        trigger = extra.pop("trigger_id", None) or self.fake.issue_trigger_id()
        body = slash_command_body(text=text, user_id=user_id, trigger_id=trigger, **extra)
        return self.post(body, "application/x-www-form-urlencoded")

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
    application = create_application(Settings(**settings_env))
    server = create_server(application.wsgi, host="127.0.0.1", port=0, threads=8)
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
