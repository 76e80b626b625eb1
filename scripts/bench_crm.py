"""Benchmark: HubSpot's closed-lost webhooks into Lost-Deal Coach, to the rep's DM.

Run it from the repository root, in the project's virtual environment:

    python scripts/bench_crm.py
    python scripts/bench_crm.py --events 1000 --batch 100 --concurrency 2
    python scripts/bench_crm.py --database-url postgresql://user:pw@localhost/coach_bench

It starts a fake Slack (tests/fakeslack.py, 50 reps with emails) and a fake HubSpot (tests/fakehubspot.py,
one deal per event, owned by those reps) in this process, runs the real app (`python app.py`) against
them on a free loopback port and, after an empty batch each (not counted), posts `--events` closed-lost
`deal.propertyChange` events in signed batches of `--batch` to POST /crm/hubspot, `--concurrency`
batches at a time. Then it posts every batch a second time (HubSpot's duplicate deliveries) and waits
until the app has prompted every loss.

Printed: the webhook's response time p50/p99 (the answer comes once the batch is stored), events stored per
second, events prompted per second (webhook to the rep's DM, end to end), and the prompts sent: exactly one
per loss is the goal, whatever the duplicates. The baseline is a bare waitress app on the same stack that
checks the same signature and parses the same JSON, then answers without storing anything.

Goals: p99 < 200 ms; exactly one prompt per loss. Give `--database-url` an empty database. Exits non-zero
when a goal is missed. A benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakehubspot import FakeHubSpot, hubspot_batch, hubspot_signature, millis, stage_change  # noqa: E402
from tests.fakeslack import FakeSlack  # noqa: E402

BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
CLIENT_SECRET = "bench-hubspot-client-secret"
HUBSPOT_TOKEN = "pat-bench"
HOST = "127.0.0.1"
REPS = 50
P99_GOAL_MS = 200.0
PROMPT_EVENT = "lost_deal_coach_crm_loss"

# The baseline: the same server stack and the same signature check and JSON parse, and nothing stored.
BARE_PROGRAM = """
import base64, hashlib, hmac, json, os
from waitress import serve

secret = os.environ["HUBSPOT_CLIENT_SECRET"].encode()

def wsgi(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    ts = environ.get("HTTP_X_HUBSPOT_REQUEST_TIMESTAMP", "")
    uri = "http://" + environ["HTTP_HOST"] + environ["PATH_INFO"]
    expected = base64.b64encode(hmac.new(secret, b"POST" + uri.encode() + body + ts.encode(), hashlib.sha256).digest())
    ok = hmac.compare_digest(expected, environ.get("HTTP_X_HUBSPOT_SIGNATURE_V3", "").encode())
    n = len(json.loads(body)) if ok else 0
    data = json.dumps({"ok": ok, "losses": n}).encode()
    start_response("200 OK" if ok else "401 Unauthorized", [("Content-Type", "application/json"),
                                                            ("Content-Length", str(len(data)))])
    return [data]

serve(wsgi, host=os.environ["HOST"], port=int(os.environ["PORT"]), threads=16)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile_ms(seconds: list[float], pct: float) -> float:
    ordered = sorted(seconds)
    return ordered[max(1, math.ceil(len(ordered) * pct / 100)) - 1] * 1000


class Server:
    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: str, port: int) -> None:
        self.name, self.port = name, port
        self.log_path = Path(cwd) / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, *args], cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def post_batches(base: str, batches: list[bytes], concurrency: int) -> tuple[list[float], float, list[int]]:
    url = base + "/crm/hubspot"
    session = requests.Session()

    def post(body: bytes) -> tuple[float, int]:
        headers = hubspot_signature("POST", url, body, CLIENT_SECRET)
        started = time.perf_counter()
        resp = session.post(url, data=body, headers=headers, timeout=30)
        return time.perf_counter() - started, resp.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(post, batches))
    return [r[0] for r in results], time.perf_counter() - started, [r[1] for r in results]


def prompts(fake: FakeSlack) -> list:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.response.get("ok") and (c.params.get("metadata") or {}).get("event_type") == PROMPT_EVENT
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for every prompt")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench-crm-")
    database_url = args.database_url or f"sqlite:///{workdir}/coach.db"
    lost_at = datetime.now(UTC) - timedelta(minutes=5)
    with FakeSlack(bot_token=BOT_TOKEN, users={}) as slack, FakeHubSpot(token=HUBSPOT_TOKEN) as hubspot:
        for r in range(REPS):
            slack.add_user(
                f"UREP{r:03d}",
                tz="Asia/Tokyo" if r % 2 else "America/New_York",
                locale="ja-JP" if r % 2 else "en-US",
                email=f"rep{r}@example.com",
            )
            hubspot.add_owner(str(100 + r), email=f"rep{r}@example.com")
        events = []
        for i in range(args.events):
            deal = str(10_000 + i)
            hubspot.add_deal(
                deal,
                dealname=f"Deal {i}",
                amount=str(1000 + i),
                deal_currency_code="USD",
                dealstage="closedlost",
                hubspot_owner_id=str(100 + i % REPS),
                closed_lost_reason="Price" if i % 3 else "Went with a competitor",
            )
            events.append(stage_change(deal, millis(lost_at) + i))
        batches = [hubspot_batch(events[i : i + args.batch]) for i in range(0, len(events), args.batch)]

        env = dict(os.environ)
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_APP_TOKEN="",
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=database_url,
            HOST=HOST,
            LOG_LEVEL="WARNING",
            HUBSPOT_CLIENT_SECRET=CLIENT_SECRET,
            HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
            HUBSPOT_API_URL=hubspot.base_url,
            SCHEDULER_TICK_SECONDS="5",
            SLACK_MESSAGES_PER_SECOND="0",
            PYTHONPATH=str(ROOT),
        )
        bare_port, app_port = free_port(), free_port()
        bare = Server("bare", ["-c", BARE_PROGRAM], {**env, "PORT": str(bare_port)}, workdir, bare_port)
        app = Server("app", [str(ROOT / "app.py")], {**env, "PORT": str(app_port)}, workdir, app_port)
        try:
            bare.wait_ready()
            app.wait_ready()

            # Warm-up, not counted: an empty batch to each (connections opened, code paths loaded).
            post_batches(bare.base, [b"[]"] * args.concurrency, args.concurrency)
            post_batches(app.base, [b"[]"] * args.concurrency, args.concurrency)
            base_times, base_wall, base_status = post_batches(bare.base, batches, args.concurrency)
            times, wall, status = post_batches(app.base, batches, args.concurrency)
            sent = time.perf_counter() - wall
            dup_times, _, dup_status = post_batches(app.base, batches, args.concurrency)  # duplicate deliveries

            deadline = time.monotonic() + args.timeout
            while len(prompts(slack)) < args.events and time.monotonic() < deadline:
                time.sleep(0.2)
            prompted_after = time.perf_counter() - sent
            time.sleep(2 * 5)  # two scheduler ticks: a second prompt for any loss would show up now
            calls = prompts(slack)
        finally:
            app.stop()
            bare.stop()

    per_loss = Counter(
        next(e["value"] for b in c.params["blocks"] if b["type"] == "actions" for e in b["elements"]) for c in calls
    )
    twice = sum(1 for n in per_loss.values() if n > 1)
    all_times = times + dup_times
    db = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(
        f"CRM webhook benchmark on {db}: {args.events} closed-lost events, batches of {args.batch}, "
        f"{args.concurrency} at a time, each batch delivered twice"
    )
    p50, p99 = percentile_ms(all_times, 50), percentile_ms(all_times, 99)
    first99, dup99 = percentile_ms(times, 99), percentile_ms(dup_times, 99)
    bare50, bare99 = percentile_ms(base_times, 50), percentile_ms(base_times, 99)
    print(f"  webhook response  app  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms", end="")
    print(f"   (first delivery p99 {first99:.1f} ms, duplicates p99 {dup99:.1f} ms)")
    print(f"                    bare p50 {bare50:6.1f} ms   p99 {bare99:6.1f} ms   (signature + JSON, nothing stored)")
    print(f"  events stored per second: {args.events / wall:8.0f}   (bare: {args.events / base_wall:.0f} answered)")
    print(
        f"  events prompted per second, webhook to DM: {len(per_loss) / prompted_after:6.1f}"
        f"   ({len(per_loss)} in {prompted_after:.1f} s)"
    )
    print(f"  prompts sent: {len(calls)} for {args.events} losses; losses prompted twice: {twice}")
    bad = [s for s in status + dup_status + base_status if s != 200]
    ok = not bad and percentile_ms(all_times, 99) < P99_GOAL_MS and len(calls) == args.events and twice == 0
    print(
        f"  goals (p99 < {P99_GOAL_MS:.0f} ms, exactly one prompt per loss): {'met' if ok else 'MISSED'}"
        + (f"; non-200 answers: {Counter(bad)}" if bad else "")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
