"""The server's own logging under a burst: waitress's queue warnings, folded."""

from __future__ import annotations

import logging

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
