"""The load of scripts/bench_ack.py: signed `/lost` commands, `concurrency` at a time, timed from send to response.

Reads its spec as one line of JSON on stdin ({host, port, path, secret, concurrency, warmup, measured}: user
ids), sends the warm-up, writes a line `warm` and waits for a line on stdin (the benchmark lets the server
finish the warm-up's work meanwhile), then sends the measured ones over the same connections and writes
{"results": [[seconds, status, trigger_id, error], ...], "wall": seconds} as one line.
One asyncio loop, one keep-alive connection per concurrent request, raw HTTP/1.1: cheap, so that the
servers get the cores. Each trigger id carries its issue time on CLOCK_MONOTONIC, one clock for every
process on the machine, so the fake Slack in the benchmark's process can start its 3 s from the send.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.slack_signing import sign, slash_command_body  # noqa: E402

TRIGGER_MARK = "9000"  # first part of the trigger ids minted here: mark.<issue time, monotonic ns>.<random>
TIMEOUT_SECONDS = 10.0

Connection = list  # [reader, writer], or [None, None] when (re)connecting


def new_trigger_id() -> str:
    return f"{TRIGGER_MARK}.{time.monotonic_ns()}.{secrets.token_hex(8)}"


def trigger_issued_at(trigger_id: str) -> float | None:
    """The issue time (time.monotonic()) a trigger id minted by `new_trigger_id` carries; None for another."""
    mark, _, rest = trigger_id.partition(".")
    issued_ns = rest.partition(".")[0]
    return int(issued_ns) / 1e9 if mark == TRIGGER_MARK and issued_ns.isdigit() else None


async def send(spec: dict, conn: Connection, user_id: str) -> list:
    """One signed `/lost`; [seconds to the whole response, status or None, trigger id, error]."""
    host, port = spec["host"], spec["port"]
    trigger_id = new_trigger_id()  # its 3 s start now
    body = slash_command_body(user_id=user_id, trigger_id=trigger_id).encode()
    head = f"POST {spec['path']} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "Content-Type: application/x-www-form-urlencoded\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in sign(body, spec["secret"]).items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    start = time.perf_counter()
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):  # one timer per request: cheap next to the servers' work
            if conn[0] is None:
                conn[:] = await asyncio.open_connection(host, port)
            reader, writer = conn
            writer.write(head.encode() + body)
            status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = int(status_line.split()[1])
            length, close = 0, False
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            await reader.readexactly(length)  # the whole response
        if close:
            writer.close()
            conn[:] = [None, None]
        return [time.perf_counter() - start, status, trigger_id, ""]
    except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        if conn[1] is not None:
            conn[1].close()
        conn[:] = [None, None]
        return [time.perf_counter() - start, None, trigger_id, type(e).__name__]


async def phase(spec: dict, user_ids: list[str], conns: list[Connection]) -> tuple[list[list], float]:
    """Send one `/lost` per user, as many at once as there are connections."""
    pending = iter(user_ids)
    results: list[list] = []

    async def worker(conn: Connection) -> None:
        for user_id in pending:  # one loop, one thread: the shared iterator needs no lock
            results.append(await send(spec, conn, user_id))

    start = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in conns))
    return results, time.perf_counter() - start


async def main() -> None:
    spec = json.loads(sys.stdin.readline())
    conns: list[Connection] = [[None, None] for _ in range(spec["concurrency"])]
    await phase(spec, spec["warmup"], conns)
    print("warm", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # go
    results, wall = await phase(spec, spec["measured"], conns)
    for _, writer in conns:
        if writer is not None:
            writer.close()
    print(json.dumps({"results": results, "wall": wall}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
