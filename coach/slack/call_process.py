"""The calls that open modals (`views.open`, `views.push`), made by a second process.

One Python process runs one thread at a time. Under a burst of `/lost`,
answering Slack (reading the request, Bolt, the ack) and opening the modals
(building each HTTP request, TLS, reading Slack's answer: about as much
Python again) take turns on that one thread, and every ack waits for its
modal (coach/web.py). `CallProcess` is a second Python process that makes
just these calls, with slack_sdk's async client and the app's retry rules for
them (coach/slack/client.py), so that the two halves run on two cores. The app's
process hands it the method and the JSON body, and gets Slack's answer back
as Slack gave it (HTTP status, headers, body): a `SlackApiError` is raised
in the app's process exactly as if the call had been made there.
scripts/bench_ack.py measures the difference.

The child is coach/slack/call_child.py. The two talk over its stdin and
stdout, one JSON line per message; the bot token goes in the first line, and
the child's environment has none of the app's settings. Until the child says
it is ready, and whenever there is none, the app makes the calls itself. If
the child stops (or gives no answer for a minute, and is stopped), the calls
it was making are made again by the app: both methods are safe to repeat (a
modal Slack had opened gives `exchanged_trigger_id`, which the flows handle),
and a new child is started after a pause.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from slack_sdk.web.slack_response import SlackResponse

from coach.config import Settings
from coach.slack.transport import KeepAliveWebClient

log = logging.getLogger(__name__)

# The calls bound to a trigger_id's 3 seconds, both safe to repeat. (Filling a modal in, DMs and Home have
# no deadline: they stay in the app's process, where the database is.)
OFFLOADED_METHODS = frozenset({"views.open", "views.push"})
CALLS_AT_ONCE = 16  # the child's connections to Slack: as many as the app's modal openers (coach/background.py)
# The longest the app waits for an answer (the client's timeout per try, its retries, a Retry-After): a
# child silent for longer is taken for hung and stopped.
ANSWER_WAIT_SECONDS = 60.0
FIRST_RESTART_SECONDS = 5.0  # after the child stopped; doubled each time it stops without answering a call
LONGEST_RESTART_SECONDS = 300.0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CHILD_MODULE = "coach.slack.call_child"  # what the child runs
READY = "ready"  # the child's first line: its client is made, calls may come


STOPPED_BEFORE_ANSWERING = "the Slack call process stopped before answering"


class CallFailed(ConnectionError):
    """The call process got no answer from Slack, after the client's retries (a timeout, a refused or dropped
    connection): as with the same failure in the app's process, the call may have reached Slack."""


class CallProcessStopped(CallFailed):
    """The call process stopped before answering: the call may or may not have reached Slack."""


@dataclass(eq=False)
class _Child:
    proc: subprocess.Popen
    # call id -> its caller's future and when it was sent (time.monotonic()), oldest first
    pending: dict[int, tuple[Future, float]] = field(default_factory=dict)
    # Lines being written to its stdin: `short` ones (each written whole by one write, beside each other) or one
    # `long` one (alone), and long ones waiting for their turn (short ones let them go first). See
    # CallProcess._take_turn.
    short: int = 0
    long: bool = False
    long_waiting: int = 0
    closing: bool = False  # its stdin is being closed: no more lines
    ready: bool = False
    killed: bool = False  # stopped for leaving a call unanswered


def child_environment() -> dict[str, str]:
    """The app's environment without its settings (the bot token, the signing secret, DATABASE_URL...): the
    child gets what it needs in its first line. (Proxy and CA settings stay: the client reads them.)"""
    hidden = {name.upper() for name in Settings.model_fields}
    return {name: value for name, value in os.environ.items() if name.upper() not in hidden}


class CallProcess:
    """The app's side: starts the child, sends it calls, hands each answer to the caller that waits for it."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float,
        log_level: str = "INFO",
        calls_at_once: int = CALLS_AT_ONCE,
        first_restart_seconds: float = FIRST_RESTART_SECONDS,
        answer_wait_seconds: float = ANSWER_WAIT_SECONDS,
    ) -> None:
        self._config = {
            "token": token,
            "base_url": base_url,
            "timeout": timeout,
            "log_level": log_level,
            "calls_at_once": calls_at_once,
        }
        self._first_restart = first_restart_seconds
        self._restart_after = first_restart_seconds
        self._answer_wait = answer_wait_seconds
        self._lock = threading.Lock()
        self._written = threading.Condition(self._lock)  # a line was written (see `_take_turn`)
        self._ids = count()
        self._child: _Child | None = None
        self._restart: threading.Timer | None = None
        self._stopping = False
        self._stopped = threading.Event()
        self.answered = 0  # calls answered by a child (tests, logs)

    @property
    def pid(self) -> int | None:
        """The process id of the child that takes calls now (None while there is none, or it is not ready)."""
        child = self._child
        return child.proc.pid if child is not None and child.ready and child.proc.poll() is None else None

    def start(self) -> CallProcess:
        with self._lock:
            self._spawn()
        threading.Thread(target=self._watch, name="slack-call-watchdog", daemon=True).start()
        return self

    def _spawn(self) -> None:
        """Start a child and its reader (with the lock held); on failure, try again later."""
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,  # the child logs where the app logs
                cwd=PACKAGE_ROOT,  # where `coach` is found, wherever the app was started from
                env=child_environment(),
            )
        except OSError as e:
            self._gone_for(f"could not start it ({e})")
            return
        try:
            proc.stdin.write(json.dumps(self._config).encode() + b"\n")
            proc.stdin.flush()
        except OSError:  # it died at once; its reader says so
            pass
        child = self._child = _Child(proc)
        threading.Thread(target=self._read_answers, args=(child,), name="slack-call-answers", daemon=True).start()

    def call(self, method: str, body: dict[str, Any]) -> Future | None:
        """Send one call, without waiting. The future gets the child's answer, ["response", status, headers,
        body] or ["error", name, message], or CallProcessStopped when the child stopped first or gave no answer
        in time (see `_watch`); its callbacks run on the thread that reads the answers. None when no child
        can take the call now: the caller makes it itself."""
        call_id = next(self._ids)
        line = json.dumps([call_id, method, body]).encode() + b"\n"
        short = len(line) <= select.PIPE_BUF
        with self._lock:
            child = self._child
            if self._stopping or child is None or not child.ready:
                return None
            future: Future = Future()
            child.pending[call_id] = (future, time.monotonic())  # from now on, the watchdog counts its wait
            if not self._take_turn(child, short):
                child.pending.pop(call_id, None)  # (already gone if the child stopped meanwhile)
                return None
        written = False
        try:
            written = self._write(child, line)
        finally:
            with self._lock:
                if short:
                    child.short -= 1
                else:
                    child.long = False
                if not written:  # it is gone: nothing of this call reached it (or this thread was interrupted)
                    child.pending.pop(call_id, None)
                self._written.notify_all()
        return future if written else None

    def _take_turn(self, child: _Child, short: bool) -> bool:
        """With the lock held: wait until a line may go on the child's stdin, never mixed with another, and count
        it in (the caller counts it out); False when its stdin is being closed.

        A `short` line, at most PIPE_BUF bytes (every modal opening), is written by one write(2), which a pipe
        takes whole, never interleaved with another writer's: many threads write theirs at once, and no lock is
        held while one waits for the pipe or, after it, for its turn on the interpreter. (A lock held across the
        write made a convoy in a burst of `/lost`: each writer, back from the write, waited for its turn on the
        interpreter while the next ones waited for the lock. Traced under scripts/bench_ack.py's load, the
        hand-over took up to 18.5 ms in an opening burst; without the lock, at most 2.4.) A longer line goes in
        as many writes as it takes, alone, and before the short lines that come after it.
        """
        if short:
            self._written.wait_for(lambda: not child.long and not child.long_waiting)
        else:
            child.long_waiting += 1
            try:
                self._written.wait_for(lambda: not child.long and not child.short)
            finally:
                child.long_waiting -= 1
                self._written.notify_all()  # short lines held back for it may go, if it does not
        if child.closing:
            return False
        if short:
            child.short += 1
        else:
            child.long = True
        return True

    @staticmethod
    def _write(child: _Child, line: bytes) -> bool:
        """All of `line` on the child's stdin, its turn taken (`_take_turn`); False when the child cannot take it."""
        try:
            fd = child.proc.stdin.fileno()  # not closed meanwhile: see `_close_stdin`
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            return True
        except (OSError, ValueError):
            return False

    def _close_stdin(self, child: _Child, timeout: float | None = None) -> bool:
        """Close the child's stdin once no line is being written to it (no new line starts meanwhile); False, and
        left open, when a writer is still stuck after `timeout` seconds (a child that stopped reading)."""
        with self._lock:
            child.closing = True
            if not self._written.wait_for(lambda: not child.short and not child.long, timeout):
                return False
        with suppress(OSError, ValueError):
            child.proc.stdin.close()
        return True

    def _watch(self) -> None:
        """Stops a child that leaves a call unanswered for longer than the answer wait (hung, or no longer
        reading its stdin): its reader then fails every call it had with CallProcessStopped, and the callers
        make them again. This bounds every wait on the child, a caller's thread's or nobody's (`call_soon`)."""
        every = max(0.05, min(1.0, self._answer_wait / 4))
        while not self._stopped.wait(every):
            with self._lock:
                child = self._child
                if child is None or child.killed or not child.pending:
                    continue
                _, sent_at = next(iter(child.pending.values()))
                if time.monotonic() - sent_at <= self._answer_wait:
                    continue
                child.killed = True
            log.error("Slack call process: no answer in %.0f s; stopping it", self._answer_wait)
            with suppress(OSError):
                child.proc.kill()

    def _read_answers(self, child: _Child) -> None:
        for line in child.proc.stdout:
            try:
                call_id, kind, *rest = json.loads(line)
            except ValueError:
                log.error("the Slack call process wrote something that is not an answer: %.200r", line)
                continue
            with self._lock:
                if kind == READY:
                    child.ready = True
                    continue
                future, _ = child.pending.pop(call_id, (None, 0.0))
                self.answered += 1
                self._restart_after = self._first_restart  # it works: the next stop starts over from the pause
            if future is not None:
                future.set_result([kind, *rest])
        code = child.proc.wait()
        child.proc.stdout.close()
        with self._lock:
            if self._child is child:
                self._child = None
            lost = [future for future, _ in child.pending.values()]
            child.pending.clear()
            if not self._stopping:
                self._gone_for(f"it stopped with exit code {code}")
        for future in lost:
            future.set_exception(CallProcessStopped(STOPPED_BEFORE_ANSWERING))
        self._close_stdin(child, timeout=ANSWER_WAIT_SECONDS)  # writers fail at once now that it is gone

    def _gone_for(self, why: str) -> None:
        """No child for a while (with the lock held): the app makes the calls itself meanwhile."""
        log.error(
            "Slack call process: %s; modals open from the app's own process until it starts again in %.0f s",
            why,
            self._restart_after,
        )
        self._restart = threading.Timer(self._restart_after, self._start_again)
        self._restart.daemon = True
        self._restart.start()
        self._restart_after = min(self._restart_after * 2, LONGEST_RESTART_SECONDS)

    def _start_again(self) -> None:
        with self._lock:
            if self._stopping or self._child is not None:
                return
            log.info("starting the Slack call process again")
            self._spawn()

    def stop(self, timeout: float = 5.0) -> None:
        """Let the child finish the calls it is making, then end it."""
        self._stopped.set()
        with self._lock:
            self._stopping = True
            child = self._child
            if self._restart is not None:
                self._restart.cancel()
        if child is None:
            return
        # No more calls: it exits once those in flight are answered. (A writer stuck on a child that stopped
        # reading holds the pipe: then the child is ended at once.)
        if not self._close_stdin(child, timeout=1):
            child.proc.kill()
        try:
            child.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()


def answer(client: KeepAliveWebClient, method: str, body: dict[str, Any], reply: list) -> SlackResponse:
    """Slack's answer to a call the child made, as `client.api_call` would have returned it (or raised)."""
    kind, *rest = reply
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
        if http_verb == "POST" and not any(kwargs.values()):
            body = json or {}
            sent = self.call_soon(api_method, body)
            if sent is not None:
                try:
                    return sent.result()
                except CallProcessStopped:
                    # Made again here: safe for these methods (see the module doc).
                    log.warning("%s: %s; making the call here", api_method, STOPPED_BEFORE_ANSWERING)
        return super().api_call(api_method, http_verb=http_verb, json=json, **kwargs)

    def call_soon(self, api_method: str, body: dict[str, Any]) -> Future | None:
        """`api_method` (views.open or views.push) sent to the call process, without waiting for Slack's answer.

        The future gets what `api_call` returns (a SlackResponse) or raises: SlackApiError, CallFailed, or
        CallProcessStopped (the call is then the caller's to make again). Its callbacks run on the thread
        that reads the child's answers, so they only hand work on. None when there is no call process, or
        no child can take the call now: the caller makes it the usual way.
        """
        process = self.call_process
        if process is None or api_method not in OFFLOADED_METHODS:
            return None
        reply = process.call(api_method, body)
        if reply is None:
            return None
        answered: Future = Future()

        def read(reply: Future) -> None:
            try:
                answered.set_result(answer(self, api_method, body, reply.result()))
            except Exception as e:  # Slack's refusal (SlackApiError), CallFailed, CallProcessStopped
                answered.set_exception(e)

        reply.add_done_callback(read)
        return answered
