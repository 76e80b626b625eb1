"""The calls that open modals (`views.open`, `views.push`), made by a second process.

One Python process runs one thread at a time. Under a burst of `/lost`,
answering Slack (reading the request, Bolt, the ack) and opening the modals
(building each HTTP request, TLS, reading Slack's answer: about as much
Python again) take turns on that one thread, and every ack waits for its
modal (coach/web.py). `CallProcess` is a second Python process that makes
just these calls, with the app's own client and retry rules
(coach/slack/client.py), so that the two halves run on two cores. The app's
process hands it the method and the JSON body, and gets Slack's answer back
as Slack gave it (HTTP status, headers, body): a `SlackApiError` is raised
in the app's process exactly as if the call had been made there.
scripts/bench_ack.py measures the difference.

The child is coach/slack/call_child.py. The two talk over its stdin and stdout, one JSON line per message;
the bot token goes in the first line, never on a command line or in an
environment. If the process stops, the calls it was making fail as a
dropped connection would (each may have reached Slack), later calls are made
in the app's own process, and a new process is started after a pause.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from itertools import count
from pathlib import Path
from typing import Any

from slack_sdk.web.slack_response import SlackResponse

from coach.slack.transport import KeepAliveWebClient

log = logging.getLogger(__name__)

# The calls bound to a trigger_id's 3 seconds. (Filling a modal in, DMs and Home have no deadline: they
# stay in the app's process, where the database is.)
OFFLOADED_METHODS = frozenset({"views.open", "views.push"})
CALL_THREADS = 16  # calls in flight at once, as many as the app's modal openers (coach/background.py)
# The longest the app waits for an answer: the client's timeout per try, its retries and a Retry-After or
# two. A trigger is long dead by then; this only keeps an opener from waiting for ever.
ANSWER_WAIT_SECONDS = 60.0
FIRST_RESTART_SECONDS = 5.0  # after the child stopped; doubled each time it stops without answering a call
LONGEST_RESTART_SECONDS = 300.0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CHILD_MODULE = "coach.slack.call_child"  # what the child runs


class CallFailed(ConnectionError):
    """The call process got no answer from Slack, after the client's retries (a timeout, a refused or dropped
    connection): as with the same failure in the app's process, the call may have reached Slack."""


class CallProcessStopped(CallFailed):
    """The call process stopped before answering: the call may or may not have reached Slack."""


class CallProcess:
    """The app's side: starts the child, sends it calls, hands each answer to the caller that waits for it."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float,
        log_level: str = "INFO",
        threads: int = CALL_THREADS,
        first_restart_seconds: float = FIRST_RESTART_SECONDS,
    ) -> None:
        self._config = {
            "token": token,
            "base_url": base_url,
            "timeout": timeout,
            "log_level": log_level,
            "threads": threads,
        }
        self._first_restart = first_restart_seconds
        self._restart_after = first_restart_seconds
        self._restart_at = 0.0
        self._lock = threading.Lock()
        self._ids = count()
        self._pending: dict[int, Future] = {}
        self._proc: subprocess.Popen | None = None
        self._stopping = False
        self.answered = 0  # calls answered by a child (tests, logs)

    @property
    def pid(self) -> int | None:
        """The running child's process id (None while there is none)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> CallProcess:
        with self._lock:
            try:
                self._spawn()
            except OSError as e:
                self._gone_for(f"could not start it ({e})")
        return self

    def _spawn(self) -> None:
        """Start a child and its reader (with the lock held)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the child logs where the app logs
            cwd=PACKAGE_ROOT,  # where `coach` is found, wherever the app was started from
        )
        try:
            proc.stdin.write(json.dumps(self._config).encode() + b"\n")
            proc.stdin.flush()
        except OSError:  # it died at once
            proc.kill()
            proc.wait()
            raise
        self._proc = proc
        threading.Thread(target=self._read_answers, args=(proc,), name="slack-call-answers", daemon=True).start()

    def call(self, method: str, body: dict[str, Any]) -> Future | None:
        """Send one call; its future gets the answer (see `answer`). None when no child can take it now:
        the caller makes the call itself."""
        call_id = next(self._ids)
        line = json.dumps([call_id, method, body]).encode() + b"\n"
        with self._lock:
            if self._stopping:
                return None
            if self._proc is None:
                if time.monotonic() < self._restart_at:
                    return None
                log.info("starting the Slack call process again")
                try:
                    self._spawn()
                except OSError as e:
                    self._gone_for(f"could not start it ({e})")
                    return None
            future: Future = Future()
            self._pending[call_id] = future
            try:
                self._proc.stdin.write(line)
                self._proc.stdin.flush()
            except (OSError, ValueError):  # the child is gone: nothing of this call reached it
                del self._pending[call_id]
                return None
        return future

    def _read_answers(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                call_id, *answer = json.loads(line)
            except ValueError:
                log.error("the Slack call process wrote something that is not an answer: %.200r", line)
                continue
            with self._lock:
                future = self._pending.pop(call_id, None)
                self.answered += 1
                self._restart_after = self._first_restart  # it works: the next stop starts over from the pause
            if future is not None:
                future.set_result(answer)
        code = proc.wait()
        with self._lock:
            if self._proc is not proc:
                return
            self._proc = None
            lost = list(self._pending.values())
            self._pending.clear()
            if not self._stopping:
                self._gone_for(f"it stopped with exit code {code}")
        for future in lost:
            future.set_exception(CallProcessStopped("the Slack call process stopped before answering"))

    def _gone_for(self, why: str) -> None:
        """No child for a while (with the lock held): calls are made in the app's process meanwhile."""
        log.error(
            "Slack call process: %s; modals open from the app's own process until it starts again in %.0f s",
            why,
            self._restart_after,
        )
        self._restart_at = time.monotonic() + self._restart_after
        self._restart_after = min(self._restart_after * 2, LONGEST_RESTART_SECONDS)

    def stop(self, timeout: float = 5.0) -> None:
        """Let the child finish the calls it is making, then end it."""
        with self._lock:
            self._stopping = True
            proc = self._proc
        if proc is None:
            return
        try:
            proc.stdin.close()  # no more calls: it exits once those in flight are answered
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def answer(client: KeepAliveWebClient, method: str, body: dict[str, Any], future: Future) -> SlackResponse:
    """Slack's answer to a call the child made, as `client.api_call` would have returned it (or raised)."""
    try:
        kind, *rest = future.result(ANSWER_WAIT_SECONDS)
    except FutureTimeout:
        raise TimeoutError(f"{method}: no answer from the Slack call process") from None
    if kind == "error":
        name, message = rest
        raise CallFailed(f"{method} failed in the Slack call process: {name}: {message}")
    status, headers, data = rest
    return SlackResponse(
        client=client,
        http_verb="POST",
        api_url=client.base_url + method,
        req_args={"json": body},
        data=data,
        headers=headers,
        status_code=status,
    ).validate()


class OffloadingWebClient(KeepAliveWebClient):
    """The app's client: `views.open` and `views.push` go through `call_process` when there is one."""

    call_process: CallProcess | None = None

    def api_call(self, api_method: str, *, http_verb: str = "POST", json: dict | None = None, **kwargs: Any):  # noqa: A002
        process = self.call_process
        if process is not None and api_method in OFFLOADED_METHODS and http_verb == "POST" and not any(kwargs.values()):
            future = process.call(api_method, json or {})
            if future is not None:
                return answer(self, api_method, json or {}, future)
        return super().api_call(api_method, http_verb=http_verb, json=json, **kwargs)
