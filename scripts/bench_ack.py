"""Benchmark: how fast does Lost-Deal Coach acknowledge `/lost`?

Run it from the repository root, in the project's virtual environment:

    python scripts/bench_ack.py
    python scripts/bench_ack.py --requests 500 --concurrency 20
    python scripts/bench_ack.py --database-url postgresql://user:pw@localhost/coach_bench

It starts a fake Slack Web API in this process (tests/fakeslack.py) with 500
users, runs the real app (`python app.py`) against it on a free loopback
port, and fires signed `/lost` slash commands at it, `--concurrency` at a
time, each from a distinct user with a fresh trigger id. Latency is measured
per request, from sending it to having the whole response. A short warm-up
is not counted.

The same load then goes to a bare Bolt app on the same server stack
(waitress, 16 threads) whose `/lost` listener only acks, as the baseline.

Give `--database-url` an empty database: the app's drafts stay in it, and on
a second run every user already has one, so `/lost` takes the cheaper
"resume your draft" path and the figures are not comparable.

Goals: app p99 < 100 ms, and app p99 / bare p99 <= 1.5. The script also
checks that every modal the app opened got through (views.open ok=true
within the trigger id's 3 s window). Exits non-zero if a request failed.
This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakeslack import FakeSlack  # noqa: E402
from tests.slack_signing import sign, slash_command_body  # noqa: E402

BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
HOST = "127.0.0.1"
SLACK_PATH = "/slack/events"
USERS = 500
WARMUP_REQUESTS = 20
P99_GOAL_MS = 100.0
RATIO_GOAL = 1.5

# The baseline: Bolt + SlackRequestHandler + waitress(threads=16), like
# coach/app/main.py, with a `/lost` listener that only acks. `/healthz` is
# routed the way coach/web.py does it, so both servers are polled alike.
BARE_BOLT_PROGRAM = """
import os
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress import serve

token = os.environ.pop("SLACK_BOT_TOKEN")  # else Bolt warns that a `client` makes it unused
app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    token_verification_enabled=False,
    client=WebClient(token=token, base_url=os.environ["SLACK_API_URL"]),
)

@app.command("/lost")
def h(ack):
    ack()

slack = SlackRequestHandler(app)

def wsgi(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    return slack(environ, start_response)

serve(wsgi, host=os.environ["HOST"], port=int(os.environ["PORT"]), threads=16)
"""


@dataclass
class Result:
    """One measured `/lost`: its latency, HTTP status and trigger id."""

    seconds: float
    status: int | None  # None: no response (connection error, timeout)
    trigger_id: str
    error: str = ""


@dataclass
class Run:
    name: str
    results: list[Result]
    wall_seconds: float

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status != 200]

    def percentile_ms(self, pct: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        ordered = sorted(r.seconds for r in self.results)
        rank = max(1, math.ceil(len(ordered) * pct / 100))
        return ordered[rank - 1] * 1000

    @property
    def throughput(self) -> float:
        return len(self.results) / self.wall_seconds


# ----------------------------------------------------------------------
# Servers
# ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env(fake: FakeSlack, port: int, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_APP_TOKEN="",  # HTTP mode, whatever the caller's environment says
        SLACK_API_URL=fake.base_url,
        DATABASE_URL=database_url,
        HOST=HOST,
        PORT=str(port),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


class Server:
    """A server subprocess; its output goes to a log file, shown if it fails to start."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: str, port: int) -> None:
        self.name = name
        self.port = port
        self.log_path = Path(cwd) / f"{name.replace(' ', '-')}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, *args], cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until GET /healthz answers 200."""
        url = f"http://{HOST}:{self.port}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate, then kill if it does not exit within 5 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def log_tail(self, n: int = 20) -> str:
        return "\n".join(self.log_lines()[-n:])

    def log_summary(self) -> str:
        """How often waitress had to queue requests (all threads busy), and anything else logged."""
        lines = self.log_lines()
        queued = sum("Task queue depth" in line for line in lines)
        other = [line for line in lines if "Task queue depth" not in line]
        summary = f"{self.name} log: waitress queued a request {queued} time(s) (all 16 threads busy)"
        if other:
            summary += f"; {len(other)} other line(s), e.g.:\n    " + "\n    ".join(other[:5])
        return summary


def start_server(name: str, args: list[str], fake: FakeSlack, database_url: str, cwd: str) -> Server:
    port = free_port()
    server = Server(name, args, server_env(fake, port, database_url), cwd, port)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


# ----------------------------------------------------------------------
# Load
# ----------------------------------------------------------------------


class Load:
    """`concurrency` worker threads, each with its own keep-alive `requests.Session`."""

    def __init__(self, fake: FakeSlack, port: int, concurrency: int) -> None:
        self.fake = fake
        self.url = f"http://{HOST}:{port}{SLACK_PATH}"
        self.pool = ThreadPoolExecutor(max_workers=concurrency)
        self.local = threading.local()

    def __enter__(self) -> Load:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pool.shutdown()

    def fire(self, user_ids: list[str]) -> tuple[list[Result], float]:
        """Send one signed `/lost` per user; return the results and the wall time."""
        start = time.perf_counter()
        results = list(self.pool.map(self._one, user_ids))
        return results, time.perf_counter() - start

    def _one(self, user_id: str) -> Result:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        trigger_id = self.fake.issue_trigger_id()  # its 3 s start now, as when Slack sends the command
        body = slash_command_body(user_id=user_id, trigger_id=trigger_id).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SIGNING_SECRET)}
        start = time.perf_counter()
        try:
            response = session.post(self.url, data=body, headers=headers, timeout=10)
            _ = response.content  # the full response, not just its headers
        except requests.RequestException as e:
            return Result(time.perf_counter() - start, None, trigger_id, type(e).__name__)
        return Result(time.perf_counter() - start, response.status_code, trigger_id)


def bench(name: str, fake: FakeSlack, port: int, concurrency: int, user_ids: list[str], warmup_ids: list[str]) -> Run:
    with Load(fake, port, concurrency) as load:
        load.fire(warmup_ids)
        results, wall = load.fire(user_ids)
    return Run(name, results, wall)


def modal_outcomes(fake: FakeSlack, trigger_ids: set[str], settle_seconds: float = 10.0) -> tuple[int, int, int]:
    """(ok, failed, missing) views.open calls for these trigger ids, once the app's after-ack work settles."""
    deadline = time.monotonic() + settle_seconds
    while True:
        calls = [c for c in fake.calls_to("views.open") if c.params.get("trigger_id") in trigger_ids]
        if len(calls) >= len(trigger_ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    ok = sum(1 for c in calls if c.response.get("ok"))
    errors = Counter(c.response.get("error") for c in calls if not c.response.get("ok"))
    if errors:
        print(f"views.open errors: {dict(errors)}")
    return ok, len(calls) - ok, len(trigger_ids) - len({c.params.get("trigger_id") for c in calls})


# ----------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------


def print_table(runs: list[Run]) -> None:
    print(f"{'server':<10} {'requests':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>8}")
    for run in runs:
        print(
            f"{run.name:<10} {len(run.results):>8} {run.percentile_ms(50):>8.1f} {run.percentile_ms(90):>8.1f}"
            f" {run.percentile_ms(99):>8.1f} {run.percentile_ms(100):>8.1f} {run.throughput:>8.1f}"
        )


def report_failures(run: Run) -> None:
    for r in run.failures[:10]:
        print(f"  {run.name}: status={r.status} {r.error} after {r.seconds * 1000:.1f} ms", file=sys.stderr)
    if len(run.failures) > 10:
        print(f"  {run.name}: ... and {len(run.failures) - 10} more", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="measured /lost commands per server (default 500)")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight at once (default 20)")
    parser.add_argument(
        "--database-url", help="the app's DATABASE_URL, an empty database (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    if not 1 <= args.requests <= USERS:
        parser.error(f"--requests must be between 1 and {USERS} (one distinct user per request)")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")

    user_ids = [f"U{i:04d}" for i in range(USERS)]
    # Warm-up users are extra, so that every measured user is a first-time /lost.
    warmup_ids = [f"UW{i:03d}" for i in range(WARMUP_REQUESTS)]
    fake = FakeSlack(bot_token=BOT_TOKEN, users={})
    for i, user_id in enumerate(user_ids + warmup_ids):
        if i % 2 == 0:
            fake.add_user(user_id, tz="Asia/Tokyo", locale="ja-JP")
        else:
            fake.add_user(user_id, tz="America/New_York", locale="en-US")
    measured_ids = user_ids[: args.requests]

    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as workdir:
        database_url = args.database_url or f"sqlite:///{Path(workdir) / 'bench.db'}"
        try:
            fake.start()

            app = start_server("app", [str(ROOT / "app.py")], fake, database_url, workdir)
            servers.append(app)
            app_run = bench("app", fake, app.port, args.concurrency, measured_ids, warmup_ids)
            modals_ok, modals_failed, modals_missing = modal_outcomes(fake, {r.trigger_id for r in app_run.results})
            app.stop()

            bare = start_server("bare Bolt", ["-c", BARE_BOLT_PROGRAM], fake, database_url, workdir)
            servers.append(bare)
            bare_run = bench("bare Bolt", fake, bare.port, args.concurrency, measured_ids, warmup_ids)
            bare.stop()
            log_summaries = [server.log_summary() for server in servers]
        except RuntimeError as e:  # a server did not start; its log tail is in the message
            print(e, file=sys.stderr)
            return 2
        finally:
            for server in servers:
                server.stop()
            fake.stop()

    runs = [app_run, bare_run]
    print(
        f"/lost ack latency: {args.requests} requests, {args.concurrency} concurrent, "
        f"{WARMUP_REQUESTS} warm-up requests not counted; "
        f"database: {'--database-url' if args.database_url else 'SQLite in a temp dir'}"
    )
    print_table(runs)
    p99, bare_p99 = app_run.percentile_ms(99), bare_run.percentile_ms(99)
    ratio = p99 / bare_p99
    print(f"app p99 / bare p99 = {ratio:.2f}")
    print(f"goal app p99 < {P99_GOAL_MS:.0f} ms: {'MET' if p99 < P99_GOAL_MS else 'NOT MET'} ({p99:.1f} ms)")
    print(f"goal ratio <= {RATIO_GOAL}: {'MET' if ratio <= RATIO_GOAL else 'NOT MET'} ({ratio:.2f})")
    print(
        f"app views.open: {modals_ok} ok, {modals_failed} failed, {modals_missing} never called "
        f"(of {len(app_run.results)})"
    )
    for summary in log_summaries:
        print(summary)

    failed = app_run.failures + bare_run.failures
    if failed:
        print(f"FAILED: {len(failed)} request(s) did not get a 200", file=sys.stderr)
        report_failures(app_run)
        report_failures(bare_run)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
