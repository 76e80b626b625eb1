"""The HTTP server itself: waitress's queue warnings folded, slow requests dropped, large answers sent whole."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from waitress.task import ThreadedTaskDispatcher

from coach.web import QUEUE_WARNING_EVERY_SECONDS, FoldQueueWarnings, create_http_server


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def queue_logger():
    """waitress's queue logger with no filter; its filters restored after."""
    logger = logging.getLogger("waitress.queue")
    saved = list(logger.filters)
    logger.filters[:] = []
    yield logger
    logger.filters[:] = saved


@pytest.fixture
def queue_log(queue_logger: logging.Logger):
    """waitress's queue logger with a folding filter on a clock the test moves."""
    clock = _Clock()
    queue_logger.addFilter(FoldQueueWarnings(clock=clock))
    return clock


def _dispatcher_with_no_free_thread() -> ThreadedTaskDispatcher:
    # No threads: every task added finds them all busy, as in a burst, and waitress warns of each.
    return ThreadedTaskDispatcher()


def test_a_burst_that_finds_every_thread_busy_logs_one_line_that_says_how_many_it_stands_for(
    queue_log: _Clock, caplog: pytest.LogCaptureFixture
):
    dispatcher = _dispatcher_with_no_free_thread()
    with caplog.at_level(logging.WARNING, logger="waitress.queue"):
        for _ in range(300):
            dispatcher.add_task(object())
        assert [r.getMessage() for r in caplog.records] == ["Task queue depth is 1"]

        queue_log.now += QUEUE_WARNING_EVERY_SECONDS  # the next window: the next warning is kept, with the count
        dispatcher.add_task(object())
    assert [r.getMessage() for r in caplog.records] == [
        "Task queue depth is 1",
        "Task queue depth is 301 (and 299 more since the last such line, the deepest 300)",
    ]


def test_a_queue_warning_after_a_quiet_spell_is_logged_as_it_was(queue_log: _Clock, caplog: pytest.LogCaptureFixture):
    dispatcher = _dispatcher_with_no_free_thread()
    with caplog.at_level(logging.WARNING, logger="waitress.queue"):
        dispatcher.add_task(object())
        queue_log.now += 3600
        dispatcher.add_task(object())
    assert [r.getMessage() for r in caplog.records] == ["Task queue depth is 1", "Task queue depth is 2"]


def test_the_server_folds_queue_warnings_once_however_often_it_is_created(queue_logger: logging.Logger):
    for _ in range(3):
        server = create_http_server(lambda environ, start_response: [], "127.0.0.1", 0)
        server.close()
    assert sum(isinstance(f, FoldQueueWarnings) for f in queue_logger.filters) == 1


def test_a_request_still_arriving_after_the_deadline_is_dropped_while_others_are_answered(
    caplog: pytest.LogCaptureFixture,
):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = create_http_server(app, "127.0.0.1", 0, request_deadline=0.5)
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    port = server.effective_port
    try:
        with caplog.at_level(logging.INFO, logger="coach.web"):
            slow = socket.create_connection(("127.0.0.1", port), timeout=10)
            slow.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")  # 3 of 100
            idle = socket.create_connection(("127.0.0.1", port), timeout=10)  # connected, nothing sent yet
            started = time.monotonic()
            # The trickler is cut off after the deadline (checked every second), not left to hold its thread.
            assert slow.recv(100) == b""
            assert 0.5 <= time.monotonic() - started < 5
            # A connection that had not begun a request is not dropped: its request is answered.
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.recv(1000).startswith(b"HTTP/1.1 200 OK")
        assert "dropped a request still arriving after 0.5 s" in caplog.text
    finally:
        slow.close()
        idle.close()
        server.close()
        serving.join(5)


def test_an_answer_larger_than_the_socket_takes_arrives_whole_and_the_connection_serves_the_next_request():
    """The loop leaves a running task's output to the task's thread; what the socket would not take then goes
    out after the task ends, and the connection is read again."""
    chunk = bytes(range(256)) * 4096  # 1 MiB
    chunks = 8

    def app(environ, start_response):
        start_response(
            "200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(chunks * len(chunk)))]
        )
        return [chunk] * chunks

    server = create_http_server(app, "127.0.0.1", 0)
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=10) as client:
            for _ in range(2):
                client.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                time.sleep(0.3)  # not reading yet: the server's socket fills up mid-answer
                received = b""
                while b"\r\n\r\n" not in received:
                    received += client.recv(65536)
                head, _, body = received.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200 OK")
                while len(body) < chunks * len(chunk):
                    data = client.recv(1 << 20)
                    assert data, "the connection closed mid-answer"
                    body += data
                assert body == chunk * chunks
    finally:
        server.close()
        serving.join(5)
