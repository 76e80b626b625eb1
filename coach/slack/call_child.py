"""The call process's side of coach/slack/call_process.py: `python -m coach.slack.call_child`.

It reads its settings (the bot token among them) from the first line on stdin, says it is ready on its
first line of stdout (`[null, "ready"]`), then reads one call per line
(`[id, method, JSON body]`), makes each with the app's own client and retry rules, on threads of its own,
and writes each answer on its own line of stdout as soon as it has it: `[id, "response", HTTP status,
headers, body]`, or `[id, "error", exception name, message]` when Slack gave no answer. It exits when
its stdin closes (the app stopped, or is gone), once the calls in flight are answered.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from slack_sdk.errors import SlackApiError

from coach.logs import configure_logging
from coach.slack.call_process import OFFLOADED_METHODS, READY
from coach.slack.client import make_client

log = logging.getLogger(__name__)


def serve(calls: IO[bytes], answers: IO[bytes]) -> None:
    """Read the config, then one call per line; answer each on its own line, in the order they finish."""
    config = json.loads(calls.readline())
    configure_logging(config["log_level"])
    client = make_client(config["token"], config["base_url"], timeout=config["timeout"])
    write = threading.Lock()
    answers.write(json.dumps([None, READY]).encode() + b"\n")
    answers.flush()

    def make(call_id: int, method: str, body: dict[str, Any]) -> None:
        # Every call gets an answer line, whatever happens: the app waits for it.
        try:
            if method not in OFFLOADED_METHODS:
                raise ValueError(f"{method} is not made here")
            try:
                resp = client.api_call(method, json=body)
            except SlackApiError as e:
                resp = e.response
            line = json.dumps([call_id, "response", resp.status_code, dict(resp.headers), resp.data])
        except Exception as e:  # after the client's retries: a timeout, a refused or dropped connection
            log.warning("%s failed: %s", method, type(e).__name__)
            line = json.dumps([call_id, "error", type(e).__name__, str(e)[:500]])
        with write:
            answers.write(line.encode() + b"\n")
            answers.flush()

    with ThreadPoolExecutor(config["threads"], thread_name_prefix="slack-call") as pool:
        for line in calls:  # until the app closes our stdin (it stops, or it is gone)
            call_id, method, body = json.loads(line)
            pool.submit(make, call_id, method, body)


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the app stops us (by closing our stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not break the answers
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
