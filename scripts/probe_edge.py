"""Probe: can slow or huge requests shut Lost-Deal Coach's door on Slack?

Run it from the repository root, in the project's virtual environment:

    python scripts/probe_edge.py
    python scripts/probe_edge.py --clients 200 --seconds 60
    python scripts/probe_edge.py --database-url postgresql://user:pw@localhost/coach_probe

It starts a fake Slack (tests/fakeslack.py), the real app (`python app.py`) on a free loopback port
and, as the baseline, a bare Bolt app on waitress's default settings (the stack the app had before),
then against each:

1. Slow clients: `--clients` connections trickle a request's headers one byte a second for `--seconds`
   (a connection the server drops is opened again at once, as an attacker would). Meanwhile a signed
   `/lost` is sent every 2 s; it prints how many acked, within 3 s (Slack's limit), and the ack latency.
2. Big body: a request declaring a 900 MiB body (sent until the server answers, at most `--max-mib`
   MiB), and a chunked one with no declared length. It prints the answer and what the server process
   read from its sockets and wrote (its spool files) meanwhile, from /proc/<pid>/io.

Goals: every signed `/lost` during the trickle acked within 3 s; a body over 1 MB refused before more
than about 1 MB of it is read or stored. Loopback only, bounded in connections and time; a probe, not a
test (nothing here runs under pytest). The machine it runs on is shared: figures are indicative.
"""

from __future__ import annotations

import argparse
import math
import os
import select
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_ack import BARE_BOLT_PROGRAM, BOT_TOKEN, HOST, SIGNING_SECRET, Server, start_server  # noqa: E402

from tests.fakeslack import FakeSlack  # noqa: E402
from tests.slack_signing import sign, slash_command_body  # noqa: E402

# The baseline: the same bare Bolt app served by waitress with its defaults (16 threads), as the app was.
_SERVE_WITH_LIMITS = 'create_http_server(wsgi, os.environ["HOST"], int(os.environ["PORT"])).run()'
assert _SERVE_WITH_LIMITS in BARE_BOLT_PROGRAM
WAITRESS_DEFAULTS_PROGRAM = BARE_BOLT_PROGRAM.replace(
    _SERVE_WITH_LIMITS,
    'from waitress import serve\nserve(wsgi, host=os.environ["HOST"], port=int(os.environ["PORT"]), threads=16)',
)

SLACK_PATH = "/slack/events"
ACK_GOAL_SECONDS = 3.0
DECLARED_BYTES = 900 * 1024 * 1024
BODY_GOAL_BYTES = 1_000_000
ABOUT = 1.25  # "about 1 MB": the cap itself plus what was in flight when it was reached
CHUNK = 64 * 1024
PACE_BYTES_PER_SECOND = 8 * 2**20
PROBE_EVERY_SECONDS = 2.0
USERS = 100


# ----------------------------------------------------------------------
# Slow clients
# ----------------------------------------------------------------------


@dataclass
class Trickle:
    """`clients` connections, each sending a request's headers one byte a second."""

    port: int
    clients: int
    request: bytes = (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n" + b"X-Padding: " + b"a" * 4000 + b"\r\n"
    )
    opened: int = 0
    dropped: int = 0  # connections the server closed (or refused) while they trickled
    stop: threading.Event = field(default_factory=threading.Event)

    def _connect(self) -> tuple[socket.socket, int] | None:
        sock = socket.socket()
        sock.settimeout(1.0)
        try:
            sock.connect((HOST, self.port))
        except OSError:
            sock.close()
            return None
        sock.setblocking(False)
        self.opened += 1
        return sock, 0

    def run(self) -> None:
        conns: list[tuple[socket.socket, int] | None] = [self._connect() for _ in range(self.clients)]
        while not self.stop.wait(1.0):
            for i, conn in enumerate(conns):
                if conn is None:
                    conns[i] = self._connect()
                    continue
                sock, sent = conn
                try:
                    # A closed connection shows as readable with nothing to read.
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable and not sock.recv(4096):
                        raise ConnectionResetError
                    sock.send(self.request[sent % len(self.request) : sent % len(self.request) + 1])
                    conns[i] = (sock, sent + 1)
                except OSError:
                    sock.close()
                    self.dropped += 1
                    conns[i] = self._connect()
        for conn in conns:
            if conn is not None:
                conn[0].close()


def signed_lost(fake: FakeSlack, port: int, user_id: str) -> float | None:
    """Seconds until a signed `/lost` got its 200, or None (no answer within 10 s, or an error status)."""
    body = slash_command_body(user_id=user_id, trigger_id=fake.issue_trigger_id()).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SIGNING_SECRET)}
    start = time.perf_counter()
    try:
        resp = requests.post(f"http://{HOST}:{port}{SLACK_PATH}", data=body, headers=headers, timeout=10)
    except requests.RequestException:
        return None
    return time.perf_counter() - start if resp.status_code == 200 else None


def probe_slow_clients(fake: FakeSlack, server: Server, clients: int, seconds: float) -> dict:
    trickle = Trickle(server.port, clients)
    thread = threading.Thread(target=trickle.run, daemon=True)
    thread.start()
    time.sleep(min(3.0, seconds / 4))  # let the trickling connections fill in first
    latencies: list[float | None] = []
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        started = time.monotonic()
        latencies.append(signed_lost(fake, server.port, f"U{n % USERS:04d}"))
        n += 1
        time.sleep(max(0.0, PROBE_EVERY_SECONDS - (time.monotonic() - started)))
    trickle.stop.set()
    thread.join(timeout=15)
    answered = sorted(x for x in latencies if x is not None)
    return {
        "sent": len(latencies),
        "acked_in_time": sum(1 for x in answered if x <= ACK_GOAL_SECONDS),
        "unanswered": len(latencies) - len(answered),
        "p50": percentile(answered, 50),
        "max": answered[-1] if answered else None,
        "opened": trickle.opened,
        "dropped": trickle.dropped,
    }


def percentile(ordered: list[float], pct: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(1, math.ceil(len(ordered) * pct / 100)) - 1]


# ----------------------------------------------------------------------
# Big bodies
# ----------------------------------------------------------------------


def proc_io(pid: int) -> tuple[int, int]:
    """(bytes read, bytes written) by the process so far: rchar and wchar of /proc/<pid>/io (file I/O:
    a body spooled to a temporary file shows in wchar; socket reads do not count)."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


def send_big(port: int, *, chunked: bool, max_bytes: int) -> tuple[str, int, float]:
    """Send a big unsigned body until the server answers (or max_bytes), paced at PACE_BYTES_PER_SECOND so
    that what the kernel buffers stays small: (the answer's status line, body bytes sent, seconds)."""
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {DECLARED_BYTES}\r\n")
        + "\r\n"
    ).encode()
    piece = b"a" * CHUNK
    if chunked:
        piece = f"{CHUNK:x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    answer = b""
    start = time.monotonic()
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(head)
        # A server that refuses on the headers answers before any of the body is sent.
        readable, _, _ = select.select([sock], [], [], 1.0)
        while not readable and sent < max_bytes and time.monotonic() - start < 60:
            try:
                sent += sock.send(piece)
            except OSError:
                break
            readable, _, _ = select.select([sock], [], [], CHUNK / PACE_BYTES_PER_SECOND)
        sock.settimeout(5)
        try:
            answer = sock.recv(4096)
        except OSError:
            pass
    status = answer.split(b"\r\n", 1)[0].decode("latin-1") or "(no answer)"
    return status, sent, time.monotonic() - start


def probe_big_body(server: Server, max_bytes: int) -> list[dict]:
    out = []
    for chunked in (False, True):
        _, written_before = proc_io(server.proc.pid)
        status, sent, seconds = send_big(server.port, chunked=chunked, max_bytes=max_bytes)
        time.sleep(1.0)  # let the server finish whatever it was doing with it
        _, written_after = proc_io(server.proc.pid)
        out.append(
            {
                "kind": "chunked, no length" if chunked else f"Content-Length {DECLARED_BYTES // 2**20} MiB",
                "status": status,
                "sent": sent,
                "seconds": seconds,
                "written": written_after - written_before,
            }
        )
    return out


# ----------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="slow clients trickling at once (default 200)")
    parser.add_argument("--seconds", type=float, default=60, help="how long they trickle (default 60)")
    parser.add_argument("--max-mib", type=int, default=20, help="most a big body probe sends, MiB (default 20)")
    parser.add_argument("--no-baseline", action="store_true", help="probe only the app")
    parser.add_argument("--database-url", help="the app's DATABASE_URL, an empty database (default: SQLite)")
    args = parser.parse_args()
    if not 1 <= args.clients <= 1000 or not 1 <= args.seconds <= 600 or not 1 <= args.max_mib <= 200:
        parser.error("keep it bounded: --clients 1..1000, --seconds 1..600, --max-mib 1..200")

    fake = FakeSlack(bot_token=BOT_TOKEN, users={f"U{i:04d}": {} for i in range(USERS)})
    rows = []
    with tempfile.TemporaryDirectory(prefix="probe-edge-") as workdir:
        database_url = args.database_url or f"sqlite:///{Path(workdir) / 'probe.db'}"
        fake.start()
        try:
            targets = [("app", [str(ROOT / "app.py")])]
            if not args.no_baseline:
                targets.append(("waitress defaults (bare Bolt)", ["-c", WAITRESS_DEFAULTS_PROGRAM]))
            for name, program in targets:
                server = start_server(name, program, fake, database_url, workdir)
                try:
                    print(f"probing {name}: {args.clients} slow clients for {args.seconds:.0f} s ...", flush=True)
                    slow = probe_slow_clients(fake, server, args.clients, args.seconds)
                    print(f"probing {name}: big bodies ...", flush=True)
                    big = probe_big_body(server, args.max_mib * 2**20)
                finally:
                    server.stop()
                rows.append((name, slow, big))
        finally:
            fake.stop()

    print()
    print(f"Slow clients: {args.clients} connections trickling one byte a second for {args.seconds:.0f} s;")
    print(f"a signed /lost every {PROBE_EVERY_SECONDS:.0f} s meanwhile (goal: every one acked within 3 s)")
    for name, slow, _ in rows:
        p50 = f"{slow['p50'] * 1000:.0f} ms" if slow["p50"] is not None else "-"
        worst = f"{slow['max'] * 1000:.0f} ms" if slow["max"] is not None else "-"
        print(
            f"  {name:<30} acked within 3 s: {slow['acked_in_time']}/{slow['sent']}, unanswered {slow['unanswered']};"
            f" ack p50 {p50}, max {worst}; trickling connections opened {slow['opened']},"
            f" dropped by the server {slow['dropped']}"
        )
    print()
    print("Big bodies, unsigned (goal: refused before more than about 1 MB is read or stored).")
    print(
        f"'sent': body bytes the prober got into the socket before the answer (paced at"
        f" {PACE_BYTES_PER_SECOND // 2**20} MiB/s, at most {args.max_mib} MiB; includes what the kernels buffer);"
    )
    print("'stored': bytes the server process wrote to files meanwhile (its spool), from /proc/<pid>/io")
    for name, _, big in rows:
        for probe in big:
            print(
                f"  {name:<30} {probe['kind']:<24} answer after {probe['seconds']:.2f} s: {probe['status']:<34}"
                f" sent {mb(probe['sent'])}, stored {mb(probe['written'])}"
            )
    app_slow, app_big = rows[0][1], rows[0][2]
    ok = app_slow["acked_in_time"] == app_slow["sent"] and all(
        p["status"].split(" ")[1:2] == ["413"]
        and p["sent"] < ABOUT * BODY_GOAL_BYTES
        and p["written"] < ABOUT * BODY_GOAL_BYTES
        for p in app_big
    )
    print(f"\napp goals: {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
