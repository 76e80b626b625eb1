"""A fake Slack Web API on a real loopback socket, strict like the real one.

Point ``slack_sdk.WebClient(base_url=fake.base_url)`` (or a Bolt ``App`` built
with such a client) at it. It records every call, answers in Slack's JSON
shapes, and refuses what Slack refuses: bad tokens, unknown/expired/reused
trigger ids, invalid Block Kit (see ``blockkit``), unknown users...

    with FakeSlack() as fake:
        client = fake.client()
        client.views_open(trigger_id=fake.issue_trigger_id(), view=view)
        call = fake.wait_for("views.open")[0]

Only the methods this project uses are implemented; any other answers
``unknown_method``. State (messages, views, files) lives in plain attributes
so that tests can inspect it.

A slash command's ``response_url`` can point here too (``issue_response_url``):
what the app posts there is checked like Slack does (JSON, ``response_type``,
text or blocks within limits, 5 uses in 30 minutes) and recorded as a call to
the pseudo-method ``RESPONSE_URL``.

Knobs for failures: ``fail_next`` (429 / 500 / an error, optionally *after*
the method ran, as when Slack posted and then failed to answer), ``fail_share``,
``delay`` (seconds) and ``hold`` (the answer waits until the test releases
it: ordering without timing).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

try:  # imported as part of a "tests" package
    from .blockkit import message_problems, view_problems
    from .slack_signing import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, copy_json, slack_view_object
except ImportError:  # tests/ itself is on sys.path (pytest rootdir-style imports)
    from blockkit import message_problems, view_problems  # type: ignore[no-redef]
    from slack_signing import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, copy_json, slack_view_object  # type: ignore[no-redef]

__all__ = ["Call", "FakeSlack", "Hold", "RESPONSE_URL", "UploadedFile"]

TRIGGER_TTL_SECONDS = 3.0  # Slack: a trigger_id must be used within 3 s
RESPONSE_URL = "response_url"  # the pseudo-method recording posts to a command's response_url
RESPONSE_URL_TTL_SECONDS = 30 * 60  # Slack: a response_url works for 30 minutes...
RESPONSE_URL_MAX_USES = 5  # ...and up to 5 times
MAX_VIEW_STACK = 3  # a root modal plus at most two pushed views
JSON_PARAMS = ("blocks", "view", "attachments")  # sent as JSON strings in form bodies

Json = dict[str, Any]


@dataclass
class Call:
    """One recorded Web API request and the answer the fake gave."""

    method: str
    params: Json  # query + form/JSON body merged; JSON strings of JSON_PARAMS decoded; "token" removed
    headers: dict[str, str]
    response: Json
    status: int
    # When the request reached the fake, on its `clock` (trigger ids are issued on the same clock): its last
    # byte's arrival at the socket where the front knows it (front="asyncio"), else when the fake began on it.
    at: float = 0.0


@dataclass
class UploadedFile:
    """A file announced with files.getUploadURLExternal."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None  # set once the bytes are POSTed to the upload URL
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    completed: bool = False
    initial_comment: str | None = None
    alt_txt: str | None = None


@dataclass
class _Failure:
    status: int
    retry_after: int
    error: str | None
    remaining: int
    after: bool = False  # the method runs (posts, stores...) and then the answer fails


@dataclass
class _ResponseUrl:
    team_id: str
    issued_at: float
    uses: int = 0


class Hold:
    """Answers to a method wait until ``release()``: the call is recorded (Slack got it) and its
    answer is held back. ``answered`` counts the held calls answered so far, so a test can tell
    whether something happened before or after the answer, without timing anything.

    ``timeout`` keeps a test that waits on the held call from hanging: the answer then goes out
    anyway (and ``answered`` shows it did, after the test's point of reference).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.answered = 0

    def release(self) -> None:
        self._released.set()

    def _wait(self) -> None:
        self._released.wait(self.timeout)
        with self._lock:
            self.answered += 1


@dataclass(frozen=True)
class Answer:
    """What the fake answers one HTTP request: a JSON object, or text."""

    status: int
    body: Json | str
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None  # the Web API method, for delay and hold

    def encoded(self) -> tuple[bytes, str]:
        """The body as sent, and its Content-Type."""
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), "application/json; charset=utf-8"


@dataclass
class _Trigger:
    issued_at: float
    view_id: str | None  # the view the interaction came from (for views.push stacking)
    used: bool = False


class _SlackError(Exception):
    """Raised by method handlers; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class FakeSlack:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        users: dict[str, dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        check_block_kit: bool = True,
        issued_elsewhere: Callable[[str], float | None] | None = None,
        front: str = "threads",
    ) -> None:
        """``users`` maps user id to ``add_user`` keyword arguments
        (``tz``, ``locale``, ``name``, ``is_bot``). Default: one user ``U1``
        in Asia/Tokyo / ja-JP. ``clock`` is the monotonic clock used for
        trigger id expiry; inject a fake one to test expiry without sleeping.
        ``check_block_kit=False`` skips the Block Kit checks of views and
        blocks (benchmarks: Slack checks on its own servers, the fake would
        check on the same cores as the app it measures). Tests keep them.
        ``issued_elsewhere`` accepts trigger ids this fake did not issue (a
        benchmark's load process mints its own): it gives a trigger id's issue
        time on ``clock``, or None for one it does not know. ``front="asyncio"``
        answers on one asyncio loop instead of http.server's thread per
        connection (benchmarks: less CPU per call, on the cores of the app
        they measure).
        """
        self.bot_token = bot_token
        self.clock = clock
        self.check_block_kit = check_block_kit
        self.issued_elsewhere = issued_elsewhere
        self.front = front
        self._lock = threading.RLock()
        self._checks = threading.local()  # Block Kit problems found before taking the lock (see _dispatch)
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = itertools.count(1)

        self.calls: list[Call] = []
        self.users: dict[str, Json] = {}
        self.channel_members: dict[str, list[str]] = {}
        self.messages: dict[tuple[str, str], Json] = {}  # (channel, ts) -> message
        self.ephemerals: list[Json] = []
        self.views: dict[str, Json] = {}  # view id -> view as Slack stores it
        self.home_views: dict[str, str] = {}  # user id -> view id
        self.files: dict[str, UploadedFile] = {}
        self._external_ids: dict[str, str] = {}  # external_id -> view id
        self._triggers: dict[str, _Trigger] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._drops: dict[str, int] = {}  # method -> calls left whose connection is closed unanswered
        self.connections = 0  # connections clients opened to this fake (the app's client keeps them alive)
        self._share_failures: dict[str, tuple[float, int, int, Any]] = {}
        self._ts_counter = itertools.count(100)
        self._opened_ims: set[str] = set()
        # Per-method artificial latency in seconds: the call is recorded (Slack
        # accepted it), then the answer waits this long. ``fake.delay[m] = 0.03``.
        self.delay: dict[str, float] = {}
        self._holds: dict[str, Hold] = {}
        self.channel_info: dict[str, Json] = {}  # channel id -> conversations.info fields (is_private...)
        self._response_urls: dict[str, _ResponseUrl] = {}  # path -> issued response_url

        for user_id, spec in (users if users is not None else {"U1": {}}).items():
            self.add_user(user_id, **spec)
        self.add_user(BOT_USER_ID, name="lost-deal-coach", is_bot=True, tz="America/Los_Angeles", locale="en-US")

        self._handlers: dict[str, Callable[[Json], Json]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # ------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        if self.front == "asyncio":
            self._server = _AsyncioFront(self)
            return self
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as Slack's API: the app's client reuses its connections. Every reply has a
            # Content-Length; Nagle off, or the body written after the headers waits for an ACK.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake.connections += 1

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                fake._serve(self)

            def do_GET(self) -> None:  # noqa: N802
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        class Server(ThreadingHTTPServer):
            # http.server's backlog of 5 drops connections under load (the client's SYN is retried a second
            # later); Slack's API does not.
            request_queue_size = 1024

        server = Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        # A short poll interval keeps stop() (server.shutdown()) fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if isinstance(server, _AsyncioFront):
            server.stop()
        elif server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` expects: ends with ``/api/``."""
        return f"{self.root_url}/api/"

    def client(self, **kwargs: Any) -> WebClient:
        """A WebClient authenticated with the bot token and pointed at this fake."""
        kwargs.setdefault("token", self.bot_token)
        return WebClient(base_url=self.base_url, **kwargs)

    # ------------------------------------------------------------------
    # Test controls
    # ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` were recorded."""
        with self._changed:
            done = self._changed.wait_for(lambda: len(self.calls_to(method)) >= count, timeout=timeout)
            if not done:
                seen = [c.method for c in self.calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, "
                    f"got {len(self.calls_to(method))}; recorded calls: {seen}"
                )
            return self.calls_to(method)

    def issue_trigger_id(self, *, view_id: str | None = None) -> str:
        """A fresh trigger id, valid for 3 s of ``clock`` and for one use.

        Pass ``view_id`` when simulating an interaction inside an open modal,
        so that ``views.push`` with this trigger stacks onto that modal.
        """
        n = next(self._counter)
        trigger_id = f"{1000 + n}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = _Trigger(issued_at=self.clock(), view_id=view_id)
        return trigger_id

    def trigger_issued_at(self, trigger_id: str) -> float | None:
        """When ``trigger_id`` was issued, on ``clock`` (None if this fake never issued it)."""
        with self._lock:
            trigger = self._triggers.get(trigger_id)
            return trigger.issued_at if trigger is not None else None

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        times: int = 1,
        after: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail.

        status 429 -> HTTP 429 with ``Retry-After: retry_after`` and error
        ``ratelimited``; status 500 -> HTTP 500 ``internal_error``; with
        ``error`` given -> HTTP 200 ``{"ok": false, "error": error}``.
        Failures apply after authentication and before the method runs, so
        a failed views.open does not use up its trigger id. With
        ``after=True`` the method runs first (a message is posted, a view
        opened) and only the answer fails: Slack did it but the app cannot
        know. The recorded call keeps the failure as its response.
        """
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, error, times, after))

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` run (a message is posted...), then their connection is
        closed without an answer: the client sees the connection dropped, and cannot know what Slack did."""
        with self._lock:
            self._drops[method] = self._drops.get(method, 0) + times

    def hold(self, method: str, *, timeout: float = 5.0) -> Hold:
        """Hold back the answers to ``method`` until the returned ``Hold`` is released."""
        gate = Hold(timeout)
        with self._lock:
            self._holds[method] = gate
        return gate

    def issue_response_url(self, team_id: str = TEAM_ID) -> str:
        """A fresh response_url for a slash command, pointing at this fake."""
        path = f"/commands/{team_id}/{next(self._counter)}{secrets.randbelow(10**9):09d}/{secrets.token_hex(12)}"
        with self._lock:
            self._response_urls[path] = _ResponseUrl(team_id=team_id, issued_at=self.clock())
        return self.root_url + path

    def responses_to(self, response_url: str | None = None) -> list[Call]:
        """The accepted posts to response_urls (to one, if given), oldest first."""
        path = urlsplit(response_url).path if response_url else None
        return [
            c
            for c in self.calls_to(RESPONSE_URL)
            if c.response.get("ok") and (path is None or c.params.get("_path") == path)
        ]

    def wait_for_response(self, response_url: str, timeout: float = 5.0) -> Call:
        """Block until the app posted (successfully) to ``response_url``; the first such post."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.responses_to(response_url), timeout=timeout):
                raise AssertionError(
                    f"nothing was posted to {response_url} within {timeout}s; recorded calls: "
                    f"{[c.method for c in self.calls]}"
                )
            return self.responses_to(response_url)[0]

    def fail_share(self, method: str, *, ratio: float, status: int = 429, retry_after: int = 1, seed: int = 7) -> None:
        """Fail about `ratio` of all later calls to `method` (reproducibly, by `seed`)."""
        import random

        with self._lock:
            self._share_failures[method] = (ratio, status, retry_after, random.Random(seed))

    def add_user(
        self,
        user_id: str,
        *,
        tz: str = "Asia/Tokyo",
        locale: str = "ja-JP",
        name: str | None = None,
        is_bot: bool = False,
        email: str | None = None,
        deleted: bool = False,
    ) -> None:
        ZoneInfo(tz)  # fail fast on a misspelt zone
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "tz": tz,
                "locale": locale,
                "name": name or f"user-{user_id.lower()}",
                "is_bot": is_bot,
                "email": email,
                "deleted": deleted,
            }

    def reset(self) -> None:
        """Forget recorded calls, pending failures and holds (state is kept)."""
        with self._lock:
            self.calls.clear()
            self._failures.clear()
            holds, self._holds = list(self._holds.values()), {}
        for gate in holds:
            gate.release()

    # ------------------------------------------------------------------
    # HTTP plumbing
    # ------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        """http.server's front: a thread per connection."""
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        answer = self.answer(request.path, dict(request.headers.items()), body)
        if answer is None:
            request.close_connection = True  # closed when the handler returns, with nothing written
            return
        self._wait_before_answering(answer.method)
        self._reply(request, answer)

    def answer(
        self, target: str, headers: dict[str, str], body: bytes, *, arrived_at: float | None = None
    ) -> Answer | None:
        """The answer to one HTTP request (its target, headers and body), recorded; None when the connection
        is to be dropped unanswered (``drop_next``). Any front may serve it. ``arrived_at`` (on ``clock``):
        when the request reached the fake, if the front knows it; a trigger id's 3 s count to then."""
        url = urlsplit(target)
        if url.path.startswith("/upload/"):
            return self._serve_upload(url.path.rsplit("/", 1)[-1], body)
        if url.path.startswith(("/commands/", "/actions/")):
            return Answer(*self._response_url(url.path, headers, body))
        if not url.path.startswith("/api/"):
            return Answer(404, {"ok": False, "error": "not_found"})
        method = url.path[len("/api/") :]
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            params.update(self._parse_body(headers.get("Content-Type", ""), body))
        except ValueError:
            return Answer(200, {"ok": False, "error": "invalid_json"})
        status, response, extra_headers = self._dispatch(method, params, headers, arrived_at)
        with self._lock:
            dropped = self._drops.get(method, 0)
            if dropped:
                self._drops[method] = dropped - 1
        if dropped:
            return None
        return Answer(status, response, extra_headers, method)

    def _wait_before_answering(self, method: str | None) -> None:
        """``delay`` and ``hold``: outside the lock, so other requests go on meanwhile."""
        pause = self.delay.get(method) if method else None
        if pause:
            time.sleep(pause)
        gate = self._holds.get(method) if method else None
        if gate is not None:
            gate._wait()

    @staticmethod
    def _parse_body(content_type: str, body: bytes) -> Json:
        if not body:
            return {}
        ctype = content_type.split(";")[0].strip().lower()
        if ctype == "application/json":
            parsed = json.loads(body.decode("utf-8"))
            if not isinstance(parsed, dict):
                raise ValueError("JSON body must be an object")
            params: Json = parsed
        elif ctype == "multipart/form-data":
            message = BytesParser(policy=HTTP_POLICY).parsebytes(
                b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
            )
            params = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    params[name] = payload if part.get_filename() else payload.decode("utf-8")
        else:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        for key in JSON_PARAMS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass  # left as a string; the method reports it as malformed
        return params

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, answer: Answer) -> None:
        data, ctype = answer.encoded()
        try:
            request.send_response(answer.status)
            request.send_header("Content-Type", ctype)
            request.send_header("Content-Length", str(len(data)))
            for key, value in answer.headers.items():
                request.send_header(key, value)
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout under test): Slack would not notice either

    def _dispatch(
        self, method: str, params: Json, headers: dict[str, str], arrived_at: float | None = None
    ) -> tuple[int, Json, dict[str, str]]:
        token = params.pop("token", None)
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
        status, extra_headers = 200, dict[str, str]()
        received = self.clock() if arrived_at is None else arrived_at
        self._checks.received = received  # the handlers' "now" for this call (a trigger id's age)
        # Block Kit is checked before taking the lock: the checks are pure and the slowest part of a call, and
        # Slack does not make one app's calls wait for each other's validation.
        self._checks.found = self._block_kit_checks(params)
        with self._lock:
            handler = self._handlers.get(method)
            if handler is None:
                response: Json = {"ok": False, "error": "unknown_method", "req_method": method}
            elif not token:
                response = {"ok": False, "error": "not_authed"}
            elif token != self.bot_token:
                response = {"ok": False, "error": "invalid_auth"}
            elif (failure := self._take_failure(method)) is not None and not failure[3]:
                status, response, extra_headers = failure[:3]
            else:
                try:
                    response = {"ok": True, **handler(params)}
                except _SlackError as exc:
                    response = {"ok": False, "error": exc.error, **exc.extra}
                except Exception as exc:  # a bug or an input the fake does not handle: say so loudly
                    status = 500
                    response = {"ok": False, "error": "fake_slack_crashed", "detail": repr(exc)}
                if failure is not None:  # fail_next(after=True): done, but the answer is lost
                    status, response, extra_headers = failure[:3]
            self.calls.append(Call(method, copy_json(params), headers, copy_json(response), status, received))
            self._changed.notify_all()
        return status, response, extra_headers

    def _block_kit_checks(self, params: Json) -> dict[int, list[str]]:
        """Problems of the call's view and blocks, by the id() of the object checked (none when not checking)."""
        found: dict[int, list[str]] = {}
        view, blocks, text = params.get("view"), params.get("blocks"), params.get("text")
        if not self.check_block_kit:
            return {id(x): [] for x in (view, blocks) if isinstance(x, (dict, list))}
        if isinstance(view, dict):
            found[id(view)] = view_problems(view)
        if isinstance(blocks, list):
            found[id(blocks)] = message_problems(blocks, text if isinstance(text, str) else None)
        return found

    def _take_failure(self, method: str) -> tuple[int, Json, dict[str, str], bool] | None:
        """(status, answer, headers, after) of the failure due for this call, if any."""
        plans = self._failures.get(method)
        if not plans:
            share = self._share_failures.get(method)
            if share and share[3].random() < share[0]:
                ratio, status, retry_after, _ = share
                if status == 429:
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}, False
                return status, {"ok": False, "error": "internal_error"}, {}, False
            return None
        plan = plans[0]
        plan.remaining -= 1
        if plan.remaining <= 0:
            plans.pop(0)
        if plan.error is not None:
            return 200, {"ok": False, "error": plan.error}, {}, plan.after
        if plan.status == 429:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(plan.retry_after)}, plan.after
        return plan.status, {"ok": False, "error": "internal_error"}, {}, plan.after

    def _serve_upload(self, file_id: str, body: bytes) -> Answer:
        """The bytes must be exactly the ``length`` announced to files.getUploadURLExternal; otherwise
        the upload is refused and the file stays without data (files.completeUploadExternal then
        fails with file_not_found), as Slack refuses a mismatched upload."""
        with self._lock:
            upload = self.files.get(file_id)
            matches = upload is not None and len(body) == upload.length
            if matches:
                upload.data = body
        if upload is None:
            return Answer(404, "Not Found")
        if not matches:
            return Answer(400, f"size mismatch: announced {upload.length} bytes, got {len(body)}")
        return Answer(200, f"OK - {len(body)}")

    def _response_url(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Json | str]:
        """A post to a command's response_url, checked and recorded like a Web API call."""
        status, answer = 200, "ok"
        params: Json = {}
        with self._lock:
            issued = self._response_urls.get(path)
            try:
                ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
                parsed = json.loads(body.decode("utf-8")) if ctype == "application/json" else None
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                params = parsed
            if issued is None:
                status, answer = 404, "no_service"
            elif self.clock() - issued.issued_at > RESPONSE_URL_TTL_SECONDS:
                status, answer = 404, "expired_url"
            elif issued.uses >= RESPONSE_URL_MAX_USES:
                status, answer = 404, "used_url"
            elif not isinstance(parsed, dict):
                status, answer = 400, "invalid_payload"
            elif parsed.get("response_type") not in (None, "ephemeral", "in_channel"):
                status, answer = 400, "invalid_payload"
            else:
                try:
                    self._message_content(parsed)
                except _SlackError as exc:
                    status, answer = 400, exc.error
            if status == 200 and issued is not None:
                issued.uses += 1
            response: Json = {"ok": status == 200} if status == 200 else {"ok": False, "error": answer}
            self.calls.append(Call(RESPONSE_URL, {**copy_json(params), "_path": path}, dict(headers), response, status))
            self._changed.notify_all()
        return status, answer

    # ------------------------------------------------------------------
    # Helpers for handlers (called with the lock held)
    # ------------------------------------------------------------------

    def _next_ts(self) -> str:
        # Seconds follow the (possibly time-travelled) wall clock, as Slack's do;
        # the counter keeps every ts unique.
        n = next(self._ts_counter)
        return f"{int(time.time())}.{n % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08X}"

    @staticmethod
    def _new_hash() -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    @staticmethod
    def _dm_channel(user_id: str) -> str:
        return "D" + user_id[1:]

    @staticmethod
    def _invalid_arguments(*messages: str) -> _SlackError:
        return _SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})

    def _resolve_channel(self, channel: Any, *, user_id_ok: bool = True) -> str:
        if not channel or not isinstance(channel, str):
            raise _SlackError("channel_not_found")
        if channel[0] in "UW":  # posting to a user id opens/uses the DM with them
            if channel not in self.users or not user_id_ok:  # other methods need the DM's channel id
                raise _SlackError("channel_not_found")
            return self._dm_channel(channel)
        return channel

    def _message_content(self, p: Json, *, require_content: bool = True) -> tuple[str, list[Json] | None]:
        text, blocks = p.get("text"), p.get("blocks")
        if blocks is not None and not isinstance(blocks, list):
            raise _SlackError("invalid_blocks_format")
        if require_content and not text and not blocks and not p.get("attachments"):
            raise _SlackError("no_text")
        if isinstance(text, str) and len(text) > 40_000:
            raise _SlackError("msg_too_long")
        if blocks is not None:
            problems = getattr(self._checks, "found", {}).get(id(blocks))
            if problems is None:
                problems = message_problems(blocks, text if isinstance(text, str) else None)
            if problems:
                raise _SlackError(
                    "invalid_blocks",
                    errors=problems,
                    response_metadata={"messages": [f"[ERROR] {m}" for m in problems]},
                )
        return (text if isinstance(text, str) else ""), blocks

    def _message_echo(self, text: str, blocks: list[Json] | None, ts: str, p: Json) -> Json:
        message: Json = {
            "type": "message",
            "subtype": "bot_message",
            "text": text,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        if blocks is not None:
            message["blocks"] = slack_view_object({"blocks": blocks})["blocks"]  # fills in block_ids
        if p.get("thread_ts"):
            message["thread_ts"] = p["thread_ts"]
        if p.get("metadata"):
            message["metadata"] = p["metadata"]
        return message

    def _use_trigger(self, p: Json) -> _Trigger:
        trigger_id = p.get("trigger_id")
        if not trigger_id:
            raise self._invalid_arguments("missing required field: trigger_id [json-pointer:/trigger_id]")
        trigger = self._triggers.get(trigger_id)
        if trigger is None and self.issued_elsewhere is not None:
            issued_at = self.issued_elsewhere(trigger_id)
            if issued_at is not None:
                trigger = self._triggers[trigger_id] = _Trigger(issued_at=issued_at, view_id=None)
        if trigger is None:
            raise _SlackError("invalid_trigger_id")
        if trigger.used:
            raise _SlackError("exchanged_trigger_id")
        if self._checks.received - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise _SlackError("expired_trigger_id")
        return trigger

    def _checked_view(self, p: Json) -> Json:
        view = p.get("view")
        if view is None:
            raise self._invalid_arguments("missing required field: view [json-pointer:/view]")
        if not isinstance(view, dict):
            raise self._invalid_arguments("view must be a JSON object [json-pointer:/view]")
        problems = getattr(self._checks, "found", {}).get(id(view))
        if problems is None:
            problems = view_problems(view)
        if problems:
            raise self._invalid_arguments(*problems)
        return view

    def _store_view(self, view: Json, *, view_id: str, root_view_id: str | None, previous_view_id: str | None) -> Json:
        stored = slack_view_object(
            {**view, "id": view_id, "hash": None, "state": {"values": {}}},
            view_hash=self._new_hash(),
            root_view_id=root_view_id or view_id,
            previous_view_id=previous_view_id,
        )
        self.views[view_id] = stored
        if stored.get("external_id"):
            self._external_ids[stored["external_id"]] = view_id
        return copy_json(stored)

    def _check_external_id(self, view: Json, *, own_view_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if external_id and self._external_ids.get(external_id, own_view_id) != own_view_id:
            raise _SlackError("duplicate_external_id")

    def _check_hash(self, p: Json, stored: Json) -> None:
        if p.get("hash") and p["hash"] != stored["hash"]:
            raise _SlackError("hash_conflict")

    # ------------------------------------------------------------------
    # Methods
    # ------------------------------------------------------------------

    def _apps_connections_open(self, p: Json) -> Json:
        # Socket Mode needs an app-level token; any other token was already refused as invalid_auth,
        # and the bot token gets Slack's answer for the wrong kind of token.
        raise _SlackError("not_allowed_token_type")

    def _auth_test(self, p: Json) -> Json:
        return {
            "url": "https://lostdeal-test.slack.com/",
            "team": "Lost Deal Test",
            "user": "lost-deal-coach",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, p: Json) -> Json:
        channel = self._resolve_channel(p.get("channel"))
        text, blocks = self._message_content(p)
        ts = self._next_ts()
        message = self._message_echo(text, blocks, ts, p)
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": copy_json(message)}

    def _chat_post_ephemeral(self, p: Json) -> Json:
        channel = self._resolve_channel(p.get("channel"))
        user = p.get("user")
        if not user or user not in self.users:
            raise _SlackError("user_not_found")
        text, blocks = self._message_content(p)
        ts = self._next_ts()
        self.ephemerals.append({"channel": channel, "user": user, **self._message_echo(text, blocks, ts, p)})
        return {"message_ts": ts}

    def _existing_message(self, p: Json) -> tuple[str, str]:
        channel = self._resolve_channel(p.get("channel"), user_id_ok=False)
        ts = p.get("ts")
        if not ts or (channel, ts) not in self.messages:
            raise _SlackError("message_not_found")
        return channel, ts

    def _chat_update(self, p: Json) -> Json:
        channel, ts = self._existing_message(p)
        text, blocks = self._message_content(p)
        # An update without `metadata` leaves the message without it here. Whether Slack keeps the old
        # metadata is not something the app relies on, so the fake takes the stricter reading.
        message = self._message_echo(text, blocks, ts, p)
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "text": text, "message": copy_json(message)}

    def _chat_delete(self, p: Json) -> Json:
        channel, ts = self._existing_message(p)
        del self.messages[(channel, ts)]
        return {"channel": channel, "ts": ts}

    def _conversations_history(self, p: Json) -> Json:
        """Newest first, `limit` a page (Slack's default 100), `oldest` exclusive unless `inclusive`, and a
        `next_cursor` while more remain: a caller that reads one page only misses what is on the next."""
        channel = self._resolve_channel(p.get("channel"), user_id_ok=False)
        oldest = float(p.get("oldest") or 0)
        inclusive = str(p.get("inclusive", "")).lower() in ("1", "true")
        limit = max(1, min(int(p.get("limit") or 100), 999))
        start = int(p.get("cursor") or 0)
        with_metadata = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        found = sorted(
            (
                m
                for (c, ts), m in self.messages.items()
                if c == channel and (float(ts) >= oldest if inclusive else float(ts) > oldest)
            ),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        out = []
        for m in found[start : start + limit]:
            m = copy_json(m)
            if not with_metadata:
                m.pop("metadata", None)
            out.append(m)
        more = start + limit < len(found)
        return {
            "messages": out,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_open(self, p: Json) -> Json:
        raw = p.get("users")
        users = raw if isinstance(raw, list) else [u for u in str(raw or "").split(",") if u]
        if not users:
            raise _SlackError("users_list_not_supplied")
        for user in users:
            if user not in self.users:
                raise _SlackError("user_not_found")
        channel = self._dm_channel(users[0]) if len(users) == 1 else "G" + secrets.token_hex(4).upper()
        already_open = channel in self._opened_ims
        self._opened_ims.add(channel)
        result: Json = {"channel": {"id": channel}}
        if already_open:
            result.update(no_op=True, already_open=True)
        return result

    def _conversations_members(self, p: Json) -> Json:
        channel = p.get("channel")
        if channel not in self.channel_members:
            raise _SlackError("channel_not_found")
        members = list(self.channel_members[channel])
        limit = int(p.get("limit") or 100) or 100
        start = int(p.get("cursor") or 0)  # the cursor is simply an offset here
        page = members[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(members) else ""
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_info(self, p: Json) -> Json:
        channel = p.get("channel")
        if not isinstance(channel, str) or (channel not in self.channel_info and channel not in self.channel_members):
            raise _SlackError("channel_not_found")
        info = {"is_private": channel.startswith("G"), **self.channel_info.get(channel, {})}
        return {
            "channel": {
                "id": channel,
                "name": info.pop("name", channel.lower()),
                "is_channel": True,
                "is_im": False,
                "is_mpim": False,
                "is_archived": False,
                **info,
            }
        }

    def _users_lookup_by_email(self, p: Json) -> Json:
        """Needs users:read.email in Slack; finds the member whose profile email matches (case-insensitively)."""
        email = str(p.get("email") or "").strip().lower()
        if not email:
            raise _SlackError("invalid_arguments")
        user = next((u for u in self.users.values() if (u.get("email") or "").lower() == email), None)
        if user is None:
            raise _SlackError("users_not_found")
        return self._users_info({"user": user["id"], "include_locale": "true"})

    def _users_info(self, p: Json) -> Json:
        user = self.users.get(p.get("user") or "")
        if user is None:
            raise _SlackError("user_not_found")
        now = datetime.now(ZoneInfo(user["tz"]))
        offset = now.utcoffset()
        info: Json = {
            "id": user["id"],
            "team_id": TEAM_ID,
            "name": user["name"],
            "deleted": user.get("deleted", False),
            "real_name": user["name"],
            "tz": user["tz"],
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": user["is_bot"],
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": user["name"],
                "display_name": user["name"],
                "team": TEAM_ID,
                **({"email": user["email"]} if user.get("email") else {}),
            },
        }
        if str(p.get("include_locale", "")).lower() in ("1", "true"):
            info["locale"] = user["locale"]
        return {"user": info}

    def _views_open(self, p: Json) -> Json:
        trigger = self._use_trigger(p)
        view = self._checked_view(p)
        self._check_external_id(view)
        trigger.used = True
        view_id = self._new_id("V")
        return {"view": self._store_view(view, view_id=view_id, root_view_id=None, previous_view_id=None)}

    def _views_push(self, p: Json) -> Json:
        trigger = self._use_trigger(p)
        view = self._checked_view(p)
        self._check_external_id(view)
        root_id: str | None = None
        if trigger.view_id is not None and trigger.view_id in self.views:
            depth, cursor = 0, self.views.get(trigger.view_id)
            while cursor is not None:
                depth += 1
                cursor = self.views.get(cursor.get("previous_view_id") or "")
            if depth >= MAX_VIEW_STACK:
                raise _SlackError("push_limit_reached")
            root_id = self.views[trigger.view_id]["root_view_id"]
        trigger.used = True
        view_id = self._new_id("V")
        return {"view": self._store_view(view, view_id=view_id, root_view_id=root_id, previous_view_id=trigger.view_id)}

    def _views_update(self, p: Json) -> Json:
        view_id = p.get("view_id") or self._external_ids.get(p.get("external_id") or "")
        if not p.get("view_id") and not p.get("external_id"):
            raise self._invalid_arguments("either view_id or external_id is required")
        stored = self.views.get(view_id or "")
        if stored is None:
            raise _SlackError("not_found")
        self._check_hash(p, stored)
        view = self._checked_view(p)
        self._check_external_id(view, own_view_id=stored["id"])
        return {
            "view": self._store_view(
                view,
                view_id=stored["id"],
                root_view_id=stored["root_view_id"],
                previous_view_id=stored["previous_view_id"],
            )
        }

    def _views_publish(self, p: Json) -> Json:
        user_id = p.get("user_id")
        if not user_id:
            raise self._invalid_arguments("missing required field: user_id [json-pointer:/user_id]")
        if user_id not in self.users:
            raise _SlackError("user_not_found")
        view = self._checked_view(p)
        if view.get("type") != "home":
            raise self._invalid_arguments("views.publish needs a view of type home [json-pointer:/view/type]")
        existing = self.home_views.get(user_id)
        if existing is not None:
            self._check_hash(p, self.views[existing])
        view_id = existing or self._new_id("V")
        self.home_views[user_id] = view_id
        return {"view": self._store_view(view, view_id=view_id, root_view_id=None, previous_view_id=None)}

    def _files_get_upload_url(self, p: Json) -> Json:
        filename, length = p.get("filename"), p.get("length")
        if not filename or length in (None, ""):
            raise self._invalid_arguments("filename and length are required")
        try:
            size = int(length)
        except (TypeError, ValueError):
            raise self._invalid_arguments("length must be an integer") from None
        file_id = self._new_id("F")
        self.files[file_id] = UploadedFile(
            file_id=file_id, filename=str(filename), length=size, alt_txt=p.get("alt_txt") or None
        )
        return {"upload_url": f"{self.root_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: Json) -> Json:
        raw = p.get("files")
        try:
            entries = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise self._invalid_arguments("files must be a JSON array") from None
        if not isinstance(entries, list) or not entries:
            raise self._invalid_arguments("files must be a non-empty JSON array")
        # A user id shares into the DM with that user, as chat.postMessage does.
        channels = [
            self._resolve_channel(c) for c in [p.get("channel_id"), *str(p.get("channels") or "").split(",")] if c
        ]
        done: list[Json] = []
        for entry in entries:
            upload = self.files.get(entry.get("id", "") if isinstance(entry, dict) else "")
            if upload is None or upload.data is None:
                raise _SlackError("file_not_found")
            upload.title = entry.get("title") or upload.filename
            upload.channels = channels
            upload.initial_comment = p.get("initial_comment") or None
            upload.completed = True
            done.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": upload.title,
                    "size": len(upload.data),
                    "channels": [c for c in channels if c[0] == "C"],
                    "ims": [c for c in channels if c[0] == "D"],
                    "groups": [c for c in channels if c[0] == "G"],
                }
            )
        return {"files": done}


# Linux's SO_TIMESTAMPNS (the socket module does not name it): each read then carries the kernel's receive time.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
_STAMP_SPACE = socket.CMSG_SPACE(16) if SO_TIMESTAMPNS is not None else 0


def _kernel_receive_time(ancdata: list[tuple[int, int, bytes]]) -> float | None:
    """The receive time (time.time()) of the last bytes a recvmsg read, from its SO_TIMESTAMPNS message."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack_from("qq", data)
            return seconds + nanoseconds / 1e9
    return None


class _AsyncioFront:
    """The fake's HTTP/1.1 on one asyncio loop: keep-alive, Content-Length bodies (what the app's clients
    send; no chunked ones). For benchmarks, which run the fake on the cores of the server they measure:
    http.server's thread per connection and its email header parser took more of them per call.
    ``delay`` and ``hold`` wait on a worker thread, so other calls go on meanwhile.

    One loop answers every call in turn, so a call may wait while the fake answers others (a views.update
    with a whole form takes it about 0.4 ms). Slack's servers do not make one call wait for another, so
    each request is stamped with the moment its last byte reached the fake's socket, as the kernel
    recorded it (SO_TIMESTAMPNS, on Linux; elsewhere, when the loop read it): a views.open reached "Slack"
    then, and its trigger id's 3 s count to then."""

    def __init__(self, fake: FakeSlack) -> None:
        self._fake = fake
        self._loop = asyncio.new_event_loop()
        listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        if SO_TIMESTAMPNS is not None:
            # On the listener, so that a connection inherits it from the start: its first request may arrive
            # before the busy loop accepts the connection.
            listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        listener.setblocking(False)
        self._listener = listener
        self.server_address = listener.getsockname()
        self._loop.add_reader(listener, self._accept)
        self._thread = threading.Thread(target=self._loop.run_forever, name="FakeSlack", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._fake._lock:
                self._fake.connections += 1
            _Connection(self, sock)

    def _answer_later(self, connection: _Connection, answer: Answer) -> None:
        self._fake._wait_before_answering(answer.method)
        self._loop.call_soon_threadsafe(connection.write, _http_response(answer))

    def stop(self) -> None:
        def close() -> None:
            self._loop.remove_reader(self._listener)
            self._listener.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(close)
        self._thread.join(timeout=5)


class _Connection:
    """One client connection of the asyncio front: requests in, answers out, on the front's loop."""

    def __init__(self, front: _AsyncioFront, sock: socket.socket) -> None:
        self._front = front
        self._loop = front._loop
        self._sock = sock
        self._buffer = bytearray()
        self._unsent = b""
        self._loop.add_reader(sock, self._read)

    def _read(self) -> None:
        fake = self._front._fake
        try:
            data, ancdata, _, _ = self._sock.recvmsg(1 << 16, _STAMP_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        now = fake.clock()
        received = _kernel_receive_time(ancdata)
        arrived_at = now if received is None else now - max(0.0, time.time() - received)
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            lines = self._buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().title()] = value.strip()
            length = int(headers.get("Content-Length") or 0)
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            target = lines[0].split(" ")[1]
            answer = fake.answer(target, headers, body, arrived_at=arrived_at)
            if answer is None:
                self.close()
                return
            if answer.method in fake.delay or answer.method in fake._holds:
                self._loop.run_in_executor(None, self._front._answer_later, self, answer)
            else:
                self.write(_http_response(answer))

    def write(self, data: bytes) -> None:
        if self._sock.fileno() < 0:
            return  # closed meanwhile: the client gave up
        if self._unsent:
            self._unsent += data
            return
        self._unsent = data
        self._flush()

    def _flush(self) -> None:
        try:
            sent = self._sock.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.close()
            return
        self._unsent = self._unsent[sent:]
        if self._unsent:
            self._loop.add_writer(self._sock, self._flush)
        else:
            self._loop.remove_writer(self._sock)

    def close(self) -> None:
        if self._sock.fileno() >= 0:
            self._loop.remove_reader(self._sock)
            self._loop.remove_writer(self._sock)
            self._sock.close()


def _http_response(answer: Answer) -> bytes:
    data, ctype = answer.encoded()
    head = [
        f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}",
        f"Content-Type: {ctype}",
        f"Content-Length: {len(data)}",
        *(f"{k}: {v}" for k, v in answer.headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data
