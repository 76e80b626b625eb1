"""Work after the ack: a modal waiting on Slack's 3-second trigger_id goes ahead of queued work."""

from __future__ import annotations

import threading
import time

import pytest

from coach import background
from coach.background import NORMAL, TRIGGER_BUDGET_SECONDS, BackgroundWork


def test_work_with_a_trigger_id_goes_ahead_of_queued_work_and_the_rest_keeps_its_order():
    work = BackgroundWork(workers=1)
    gate, ran = threading.Event(), []
    try:
        work.submit(gate.wait)  # the only worker is busy
        for n in range(3):
            work.submit(ran.append, f"home refresh {n}")
        work.submit(lambda trigger_id: ran.append("open the modal"), trigger_id="13345224609.738474920.8088930838")
        work.submit(ran.append, "home refresh 3")
        gate.set()
        assert work.wait_idle(5)
    finally:
        work.shutdown()
    assert ran == ["open the modal", "home refresh 0", "home refresh 1", "home refresh 2", "home refresh 3"]


def test_a_failure_is_logged_and_kept_on_the_future(caplog):
    work = BackgroundWork(workers=2)
    try:
        future = work.submit(int, "not a number")
        with pytest.raises(ValueError):
            future.result(timeout=5)
        assert work.submit(int, "42").result(timeout=5) == 42
        assert work.wait_idle(5)
    finally:
        work.shutdown()
    assert any("work after ack failed in int" in r.getMessage() for r in caplog.records)


def test_a_modal_opens_on_its_own_threads_while_every_worker_is_busy():
    work = BackgroundWork(workers=1, openers=1)
    gate, opened = threading.Event(), threading.Event()
    try:
        work.submit(gate.wait)  # the only worker is busy with something slow
        work.submit(lambda: None)  # and more is queued behind it
        work.open_modal(opened.set, received_at=time.monotonic())
        assert opened.wait(5), "the modal waited behind the queued work"
        gate.set()
        assert work.wait_idle(5)
    finally:
        gate.set()
        work.shutdown()


def test_a_trigger_past_its_budget_is_not_spent_and_the_rep_gets_the_fallback():
    work = BackgroundWork(workers=1, openers=1)
    ran: list[str] = []
    try:
        stale = time.monotonic() - TRIGGER_BUDGET_SECONDS - 0.1
        work.open_modal(ran.append, "views.open", received_at=stale, too_late=lambda: ran.append("fallback"))
        work.open_modal(ran.append, "views.open (fresh)", received_at=time.monotonic(), too_late=ran.clear)
        assert work.wait_idle(5)
    finally:
        work.shutdown()
    assert sorted(ran) == ["fallback", "views.open (fresh)"]


def test_filling_in_waits_for_a_burst_of_openings_to_pass_not_for_a_gap_between_two(monkeypatch):
    # Widened so that a slow machine's gaps between openings still count as one burst.
    monkeypatch.setattr(background, "BURST_GAP_SECONDS", 1.0)
    monkeypatch.setitem(background.MAX_DEFER_SECONDS, NORMAL, 30.0)
    work = BackgroundWork(workers=1, openers=1)
    ran: list[str] = []
    try:
        filled = work.submit(ran.append, "fill in the first modal")
        for n in range(5):  # one after the other: between two, no modal is opening
            work.open_modal(ran.append, f"open modal {n}", received_at=time.monotonic()).result(timeout=5)
            time.sleep(0.02)
        filled.result(timeout=10)
    finally:
        work.shutdown()
    assert ran == [f"open modal {n}" for n in range(5)] + ["fill in the first modal"]


def test_a_rep_alone_gets_the_form_filled_in_at_once_after_their_modal_opened(monkeypatch):
    monkeypatch.setattr(background, "BURST_GAP_SECONDS", 30.0)
    monkeypatch.setitem(background.MAX_DEFER_SECONDS, NORMAL, 30.0)
    work = BackgroundWork(workers=1, openers=1)
    try:
        opened = work.open_modal(lambda: "opened", received_at=time.monotonic())
        assert opened.result(timeout=5) == "opened"
        # Its own opening began before the filling-in was submitted: nothing to give way to.
        assert work.submit(lambda: "filled").result(timeout=5) == "filled"
    finally:
        work.shutdown()


def test_coalesced_runs_are_limited_and_a_request_while_busy_runs_once_more():
    from coach.background import Coalesced

    work = BackgroundWork(workers=4)
    gate, started, runs = threading.Event(), threading.Event(), []

    def pass_over_the_table() -> None:
        runs.append(len(runs))
        started.set()
        gate.wait(5)

    passes = Coalesced(work, pass_over_the_table, limit=1)
    try:
        passes.request()
        assert started.wait(5)
        for _ in range(10):  # a burst of webhooks while the pass runs
            passes.request()
        gate.set()
        assert work.wait_idle(5)
    finally:
        work.shutdown()
    assert runs == [0, 1]  # the pass that was running, and one more for everything asked meanwhile
