"""Nudges reach each rep exactly once: across a crash, two instances, and Slack failures.

The first two tests run the real app (`python app.py`) as subprocesses
against a fake Slack on loopback and a shared database (an SQLite file, or
TEST_DATABASE_URL); the rest drive the real dispatcher in-process, with the clock stopped
(time-machine) and moved on by hand instead of sleeping. "Delivered" always means a
`chat.postMessage` Slack accepted (ok=true): that is a DM the rep sees, and
the nudge id travels in its message metadata.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from sqlalchemy import func, select

from coach.app.wiring import Application, create_application
from coach.config import Settings
from coach.db import Database, upgrade_database
from coach.models import Nudge
from coach.nudges import outbox, rules
from coach.nudges.delivery import METADATA_EVENT
from coach.nudges.rules import NudgeKind, NudgeStatus
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, RunningApp
from tests.fakeslack import FakeSlack
from tests.nudge_seed import register_users, seed_due_nudges, user_id

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 11:00 in Tokyo, 21:00 (Tue) in New York


# Helpers ---------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


def nudge_id_of(params: dict) -> int | None:
    meta = params.get("metadata")
    if isinstance(meta, str):
        meta = json.loads(meta)
    if not isinstance(meta, dict) or meta.get("event_type") != METADATA_EVENT:
        return None
    return (meta.get("event_payload") or {}).get("nudge_id")


def delivered(fake: FakeSlack) -> Counter:
    """Nudge id -> how many DMs carrying it Slack accepted."""
    return Counter(nudge_id_of(c.params) for c in fake.calls_to("chat.postMessage") if c.response.get("ok"))


def delivered_ts(fake: FakeSlack) -> dict[int, tuple[str, str]]:
    return {
        nudge_id_of(c.params): (c.response["channel"], c.response["ts"])
        for c in fake.calls_to("chat.postMessage")
        if c.response.get("ok")
    }


def wait_until(
    condition: Callable[[], bool], *, timeout: float, what: str, on_timeout: Callable[[], str] = lambda: ""
) -> None:
    """Bounded polling: `condition` checked every 20 ms until true or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}. {on_timeout()}")
        time.sleep(0.02)


def rows(db: Database) -> dict[int, Nudge]:
    with db.session() as s:
        return {n.id: n for n in s.scalars(select(Nudge))}


def statuses(db: Database) -> Counter:
    with db.session() as s:
        return Counter(dict(s.execute(select(Nudge.status, func.count()).group_by(Nudge.status)).all()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """`python app.py` in its own process, its output kept in a log file."""

    def __init__(self, name: str, workdir: Path, *, fake: FakeSlack, database_url: str, **settings: str) -> None:
        self.name, self.port = name, free_port()
        self.log_path = workdir / f"{name}.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "NUDGE_", "SCHEDULER_"))
            and k not in ("DATABASE_URL", "PORT", "HOST", "MANAGER_CHANNEL")
        }
        env.update(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": fake.base_url,
                "DATABASE_URL": database_url,
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "SLACK_MESSAGES_PER_SECOND": "0",
                # Real time of day: quiet hours would hold half the reps' nudges; no cap on the DM checks.
                "QUIET_HOURS": "00:00-00:00",
                "SLACK_LOOKUPS_PER_MINUTE": "0",
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
                **{k.upper(): str(v) for k, v in settings.items()},
            }
        )
        self._log = open(self.log_path, "wb")
        # cwd is the test's own directory: no .env of the developer's is read.
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a container is killed."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def apps() -> Iterator[list[AppProcess]]:
    started: list[AppProcess] = []
    yield started
    for app in started:
        app.stop()


@pytest.fixture
def db(database_url) -> Iterator[Database]:
    upgrade_database(database_url)  # the apps upgrade too; this lets the test seed before they start
    database = Database(database_url)
    yield database
    database.dispose()


def assert_each_delivered_once(fake: FakeSlack, db: Database, ids: list[int]) -> None:
    counts = delivered(fake)
    twice = {i: n for i, n in counts.items() if n > 1}
    assert not twice, f"nudges delivered more than once: {twice}"
    assert set(counts) == set(ids), f"missing: {sorted(set(ids) - set(counts))}, unexpected: {set(counts) - set(ids)}"
    stored = rows(db)
    assert {n.status for n in stored.values()} == {NudgeStatus.SENT}, statuses(db)
    # Each row points at the one message the rep got (its buttons are updated through it later).
    ts = delivered_ts(fake)
    assert {i: (n.channel_id, n.message_ts) for i, n in stored.items()} == {i: ts[i] for i in ids}


# a. A killed instance's batch is finished by the next one --------------------


def test_killed_mid_batch_the_restarted_app_delivers_every_nudge_exactly_once(
    fake_slack: FakeSlack, db: Database, database_url: str, tmp_path, apps
):
    ids = seed_due_nudges(db, count=40, users=40, now=utcnow(), kind=NudgeKind.CHECKLIST)
    register_users(fake_slack, 40)
    fake_slack.delay["chat.postMessage"] = 0.03  # Slack accepts the message, then answers 30 ms later
    settings = dict(scheduler_tick_seconds=0.2, nudge_lease_seconds=1)

    first = AppProcess("first", tmp_path, fake=fake_slack, database_url=database_url, **settings)
    apps.append(first)
    wait_until(lambda: sum(delivered(fake_slack).values()) >= 5, timeout=30, what="the first DMs", on_timeout=first.log)
    first.kill()

    before = delivered(fake_slack)
    assert 5 <= len(before) < len(ids), "the kill should land mid-batch"
    # The dangerous window: Slack has these DMs, but the database only knows they were claimed.
    stored = rows(db)
    assert {stored[i].status for i in before} == {NudgeStatus.SENDING}
    assert statuses(db)[NudgeStatus.SENDING] == len(ids)

    second = AppProcess("second", tmp_path, fake=fake_slack, database_url=database_url, **settings)
    apps.append(second)
    # On a loaded machine a post may outlast the client's timeout (a quarter of the 1 s lease): that nudge is
    # then in doubt, and its DM is checked after the first backoff (30 s) before any resend. Still once.
    wait_until(
        lambda: statuses(db)[NudgeStatus.SENT] == len(ids),
        timeout=30 + rules.backoff(1).total_seconds() + 15,
        what="every nudge to be recorded sent",
        on_timeout=lambda: f"{statuses(db)}\n{second.log()}",
    )

    assert_each_delivered_once(fake_slack, db, ids)
    # The DMs the first instance got through were found in the reps' DM history, not sent again.
    history_checked = {c.params["channel"] for c in fake_slack.calls_to("conversations.history")}
    assert {delivered_ts(fake_slack)[i][0] for i in before} <= history_checked
    assert "Traceback" not in second.log()


# b. Two instances on one database -------------------------------------------


def test_two_instances_on_one_database_never_send_a_nudge_twice(
    fake_slack: FakeSlack, db: Database, database_url: str, tmp_path, apps
):
    register_users(fake_slack, 300)
    fake_slack.delay["chat.postMessage"] = 0.002
    settings = dict(scheduler_tick_seconds=0.1, nudge_lease_seconds=5, nudge_batch_size=20)
    apps += [
        AppProcess(name, tmp_path, fake=fake_slack, database_url=database_url, **settings) for name in ("left", "right")
    ]
    # Both are up and ticking before there is any work, so they race for every batch.
    wait_until(
        lambda: all(app.healthy() for app in apps),
        timeout=30,
        what="both apps to serve /healthz",
        on_timeout=lambda: "\n".join(app.log() for app in apps),
    )

    ids = seed_due_nudges(db, count=300, users=300, now=utcnow(), kind=NudgeKind.CHECKLIST)
    wait_until(
        lambda: statuses(db)[NudgeStatus.SENT] == len(ids),
        timeout=40,
        what="every nudge to be recorded sent",
        on_timeout=lambda: f"{statuses(db)}\n" + "\n".join(app.log() for app in apps),
    )

    assert_each_delivered_once(fake_slack, db, ids)
    stored = rows(db).values()
    # One claim (rows stamped with the same instance and claim time) takes at most NUDGE_BATCH_SIZE...
    claims = Counter((n.claimed_by, n.claimed_at) for n in stored)
    assert max(claims.values()) <= 20, f"claims bigger than the batch size: {sorted(claims.values())[-5:]}"
    # ...so both instances got a share of the work.
    senders = Counter(n.claimed_by.rsplit(":", 2)[1] for n in stored)
    assert set(senders) == {str(app.proc.pid) for app in apps}, f"both instances should have sent: {senders}"
    for app in apps:
        assert "Traceback" not in app.log(), app.log()


# c. Slack failures, in-process with a moving clock ---------------------------


@pytest.fixture
def settings_env(settings_env):
    # No overall caps here: the limiters sleep on the real monotonic clock. Delivery, not quiet hours, is
    # what these tests are about (some run at the real time of day): none.
    return {**settings_env, "slack_messages_per_second": 0, "slack_lookups_per_minute": 0, "quiet_hours": "00:00-00:00"}


def seed(running_app: RunningApp, count: int, users: int | None = None) -> list[int]:
    register_users(running_app.slack.fake, users or count)
    return seed_due_nudges(
        running_app.coach.db, count=count, users=users or count, now=utcnow(), kind=NudgeKind.CHECKLIST
    )


def next_due(db: Database) -> datetime | None:
    """When the dispatcher next has something to do: a pending nudge to send, or one in doubt to check."""
    in_doubt = (Nudge.status == NudgeStatus.SENDING) & Nudge.claimed_by.is_(None)
    with db.session() as s:
        return s.scalar(select(func.min(Nudge.due_at)).where((Nudge.status == NudgeStatus.PENDING) | in_doubt))


def posts(fake: FakeSlack) -> int:
    return len(fake.calls_to("chat.postMessage"))


def test_429s_and_500s_delay_nudges_but_each_arrives_exactly_once(running_app: RunningApp):
    fake, db = running_app.slack.fake, running_app.coach.db
    dispatcher = running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        ids = seed(running_app, 40)
        for round_no in range(30):
            if next_due(db) is None:
                break
            # A quarter of the sends fail; 429 (Retry-After 5 s) and 500 take turns by round.
            fake.fail_share(
                "chat.postMessage", ratio=0.25, status=(429, 500)[round_no % 2], retry_after=5, seed=round_no
            )
            dispatcher.run_once()
            # Nothing is retried before Slack's Retry-After or the backoff has passed.
            calls = posts(fake)
            dispatcher.run_once()
            assert posts(fake) == calls
            due = next_due(db)
            if due is not None:
                clock.move_to(due)
        else:
            pytest.fail(f"still pending after 30 rounds: {statuses(db)}")

    assert_each_delivered_once(fake, db, ids)
    answers = Counter(c.status for c in fake.calls_to("chat.postMessage"))
    assert answers[429] and answers[500], answers
    # A 429 costs no attempt; each 5xx costs one.
    server_errors = Counter(nudge_id_of(c.params) for c in fake.calls_to("chat.postMessage") if c.status == 500)
    assert {i: n.attempts for i, n in rows(db).items()} == {i: server_errors[i] for i in ids}


@pytest.mark.parametrize("error", ["account_inactive", "user_not_found"])
def test_permanent_slack_error_fails_the_nudge_after_one_call(running_app: RunningApp, error: str):
    fake, db = running_app.slack.fake, running_app.coach.db
    dispatcher = running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        fake.fail_next("chat.postMessage", error=error)
        dispatcher.run_once()
        clock.shift(timedelta(hours=2))
        dispatcher.run_once()

    assert posts(fake) == 1 and not delivered(fake)
    row = rows(db)[nudge_id]
    assert (row.status, row.last_error, row.attempts, row.message_ts) == (NudgeStatus.FAILED, error, 1, None)


def test_server_errors_on_every_attempt_fail_the_nudge_after_max_attempts(running_app: RunningApp):
    fake, db = running_app.slack.fake, running_app.coach.db
    dispatcher = running_app.application.dispatcher
    max_attempts = running_app.coach.settings.nudge_max_attempts
    waits = []
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        fake.fail_next("chat.postMessage", status=500, times=100)
        for _ in range(max_attempts + 3):
            before = utcnow()
            dispatcher.run_once()
            due = next_due(db)
            if due is None:
                break
            waits.append(round((due - before).total_seconds()))
            clock.move_to(due)

    assert [c.status for c in fake.calls_to("chat.postMessage")] == [500] * max_attempts
    row = rows(db)[nudge_id]
    assert (row.status, row.attempts, row.last_error) == (NudgeStatus.FAILED, max_attempts, "internal_error")
    # A 500 may have been posted: each is followed, after backing off 30 s, 1 min, 2 min..., by a look at the
    # DM (it is not there) before the next attempt; after the last one, the look decides it failed.
    assert waits == [int(rules.backoff(n).total_seconds()) for n in range(1, max_attempts + 1)]
    assert len(fake.calls_to("conversations.history")) == max_attempts


# d. An instance dies mid-send ------------------------------------------------


def claim_as_ghost(db: Database, now: datetime) -> Nudge:
    with db.session() as s:
        [nudge] = outbox.claim_due(s, now=now, limit=1, instance="ghost")
    return nudge


def test_message_sent_by_a_dead_instance_is_recorded_not_sent_again(running_app: RunningApp):
    fake, db = running_app.slack.fake, running_app.coach.db
    dispatcher = running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        nudge = claim_as_ghost(db, utcnow())
        # The ghost's chat.postMessage reached Slack; then the ghost died before writing it down.
        ghost = fake.client().chat_postMessage(
            channel=nudge.user_id,
            text="ghost",
            metadata={"event_type": METADATA_EVENT, "event_payload": {"nudge_id": nudge_id}},
        )
        dispatcher.run_once()  # within the lease: the claim is still the ghost's
        assert rows(db)[nudge_id].status == NudgeStatus.SENDING and posts(fake) == 1
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        dispatcher.run_once()

    assert posts(fake) == 1, "the rep already has this DM"
    row = rows(db)[nudge_id]
    assert (row.status, row.channel_id, row.message_ts) == (NudgeStatus.SENT, ghost["channel"], ghost["ts"])
    assert row.claimed_by == dispatcher.instance


def test_nudge_claimed_by_a_dead_instance_but_never_posted_is_sent_once(running_app: RunningApp):
    fake, db = running_app.slack.fake, running_app.coach.db
    dispatcher = running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        claim_as_ghost(db, utcnow())
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        dispatcher.run_once()
        clock.shift(timedelta(hours=1))
        dispatcher.run_once()

    assert_each_delivered_once(fake, db, [nudge_id])
    assert fake.wait_for("chat.postMessage")[0].params["channel"] == user_id(0)


def test_when_slack_cannot_say_whether_it_was_sent_the_nudge_waits_instead_of_risking_a_duplicate(
    running_app: RunningApp,
):
    fake, db = running_app.slack.fake, running_app.coach.db
    dispatcher = running_app.application.dispatcher
    with time_machine.travel(START, tick=False) as clock:
        [nudge_id] = seed(running_app, 1)
        claim_as_ghost(db, utcnow())
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        fake.fail_next("conversations.history", status=500)
        dispatcher.run_once()
        assert posts(fake) == 0 and rows(db)[nudge_id].status == NudgeStatus.SENDING
        clock.shift(dispatcher.lease + timedelta(seconds=1))
        dispatcher.run_once()

    assert_each_delivered_once(fake, db, [nudge_id])


# e. Claims stay within their batch and their lease ------------------------------


def test_a_claim_takes_at_most_its_batch(running_app: RunningApp):
    db = running_app.coach.db
    seed(running_app, 120)
    with db.session() as s:  # fresh tables, no planner statistics: where PostgreSQL once over-claimed
        claimed = outbox.claim_due(s, now=utcnow(), limit=20, instance="a")
    assert len(claimed) == 20
    assert statuses(db) == Counter({NudgeStatus.PENDING: 100, NudgeStatus.SENDING: 20})


def drain_on_two_instances(running_app: RunningApp, ids: list[int], **settings: float) -> Counter:
    """Two more instances of the app (with `settings`) run their dispatchers at once, until every nudge is
    sent or 90 s have passed (room for one nudge in doubt, 30 s, on a slow machine); their outcomes, summed."""
    config = {**running_app.coach.settings.model_dump(), **settings}
    apps = [create_application(Settings(**config, _env_file=None)) for _ in range(2)]
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def drain(app: Application) -> None:
        deadline = time.monotonic() + 90
        while statuses(app.coach.db)[NudgeStatus.SENT] < len(ids) and time.monotonic() < deadline:
            stats = app.dispatcher.run_once()
            with lock:
                outcomes.update(stats.outcomes)

    threads = [threading.Thread(target=drain, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a in apps:
        a.coach.later.shutdown()
        a.coach.db.dispose()
    return outcomes


def test_a_batch_slower_than_its_lease_hands_back_instead_of_racing_a_takeover(running_app: RunningApp, database_url):
    """Slack answers slowly, the lease is short, two instances: still no DM twice."""
    fake = running_app.slack.fake
    ids = seed(running_app, 60)
    fake.delay["chat.postMessage"] = 0.05
    # A 1 s lease: each batch of 20 needs 2 s at 10 DMs a second. (A shorter lease leaves a loaded machine
    # too little time for one call: it then times out, and the nudge waits 30 s in doubt.)
    drain_on_two_instances(running_app, ids, nudge_lease_seconds=1.0, nudge_batch_size=20)
    assert_each_delivered_once(fake, running_app.coach.db, ids)


def test_a_send_whose_turn_under_the_rate_limit_comes_past_half_the_lease_is_handed_back(running_app: RunningApp):
    """The pace (here 1 DM every 1.2 s) makes a send wait longer than half the lease (0.5 s): that send is
    handed back, not posted while another instance takes the claim over and finds the DM without it."""
    fake = running_app.slack.fake
    ids = seed(running_app, 6)
    outcomes = drain_on_two_instances(
        running_app, ids, nudge_lease_seconds=1.0, nudge_batch_size=6, slack_messages_per_second=1 / 1.2
    )
    assert_each_delivered_once(fake, running_app.coach.db, ids)
    assert outcomes["handed back"] > 0, "no send waited past half the lease: the test did not test it"


def test_a_send_slack_never_answered_is_checked_in_the_dm_before_any_resend(running_app: RunningApp):
    fake = running_app.slack.fake
    [nudge_id] = seed(running_app, 1)
    settings = {**running_app.coach.settings.model_dump(), "nudge_lease_seconds": 0.4}
    app = create_application(Settings(**settings, _env_file=None))
    try:
        with time_machine.travel(utcnow(), tick=True) as clock:
            fake.delay["chat.postMessage"] = 0.5  # Slack posts it, but answers after the client gave up
            app.dispatcher.run_once()
            assert posts(fake) == 1 and rows(app.coach.db)[nudge_id].status == NudgeStatus.SENDING
            fake.delay.clear()
            app.dispatcher.run_once()
            assert posts(fake) == 1 and not fake.calls_to("conversations.history"), "nothing before the backoff"
            clock.shift(rules.backoff(1))
            app.dispatcher.run_once()
            assert rows(app.coach.db)[nudge_id].status == NudgeStatus.SENT
    finally:
        app.coach.later.shutdown()
        app.coach.db.dispose()
    assert_each_delivered_once(fake, running_app.coach.db, [nudge_id])
    assert fake.calls_to("conversations.history"), "settled by looking at the DM, not by sending again"
