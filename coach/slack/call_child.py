"""The call process's side of coach/slack/call_process.py: `python -m coach.slack.call_child`.

It reads its settings (the bot token among them) from the first line on stdin, says it is ready on its
first line of stdout (`[null, "ready"]`), then reads one call per line
(`[id, method, JSON body]`), makes each on one asyncio loop with slack_sdk's AsyncWebClient (aiohttp,
kept-alive connections) and the same retry rules as the app's client, and writes each answer on its own
line of stdout as soon as it has it: `[id, "response", HTTP status, headers, body]`, or
`[id, "error", exception name, message]` when Slack gave no answer. It exits when its stdin closes (the
app stopped, or is gone), once the calls in flight are answered.

Why asyncio here: this process only waits on Slack. One loop makes the calls in flight for about half
the CPU of a thread per call through urllib3 (0.40 against 0.75 to 0.95 ms per `views.open`, measured
against the fake Slack in scripts/bench_ack.py's setup), and the machine's CPU is what a burst of
`/lost` runs short of.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
from typing import IO, Any

import aiohttp
from slack_sdk.errors import SlackApiError

from coach.logs import configure_logging
from coach.slack.call_process import OFFLOADED_METHODS, READY
from coach.slack.client import make_async_client

log = logging.getLogger(__name__)


# The longest call line read (asyncio's default is 64 KiB): far above any modal's JSON (at most 100 blocks).
MAX_CALL_LINE_BYTES = 8 * 1024 * 1024


def serve(calls: IO[bytes], answers: IO[bytes]) -> None:
    """Read the config, then one call per line; answer each on its own line, in the order they finish."""
    asyncio.run(_serve(calls, answers))


async def _serve(calls: IO[bytes], answers: IO[bytes]) -> None:
    loop = asyncio.get_running_loop()
    lines = asyncio.StreamReader(limit=MAX_CALL_LINE_BYTES, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines, loop=loop), calls)
    config = json.loads(await lines.readline())
    configure_logging(config["log_level"])
    connections = aiohttp.TCPConnector(limit=config["calls_at_once"])
    async with aiohttp.ClientSession(connector=connections) as session:
        client = make_async_client(config["token"], config["base_url"], timeout=config["timeout"], session=session)

        def write(message: list) -> None:
            # One write per line, from the loop's one thread: lines never interleave.
            answers.write(json.dumps(message).encode() + b"\n")
            answers.flush()

        async def make(call_id: int, method: str, body: dict[str, Any]) -> None:
            # Every call gets an answer line, whatever happens: the app waits for it.
            try:
                if method not in OFFLOADED_METHODS:
                    raise ValueError(f"{method} is not made here")
                try:
                    resp = await client.api_call(method, json=body)
                except SlackApiError as e:
                    resp = e.response
                message = [call_id, "response", resp.status_code, dict(resp.headers), resp.data]
            except Exception as e:  # after the client's retries: a timeout, a refused or dropped connection
                log.warning("%s failed: %s", method, type(e).__name__)
                message = [call_id, "error", type(e).__name__, str(e)[:500]]
            write(message)

        # What exists now (modules, the client) lives as long as the process. A full collection walked it all
        # while every views.open in flight waited: 15 to 19 ms, mid-burst. Frozen, it is left out.
        gc.freeze()
        write([None, READY])
        in_flight: set[asyncio.Task] = set()
        while line := await lines.readline():  # until the app closes our stdin (it stops, or it is gone)
            call_id, method, body = json.loads(line)
            task = asyncio.create_task(make(call_id, method, body))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the app stops us (by closing our stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not break the answers
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
