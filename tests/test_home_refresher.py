"""Home refreshes coalesce, and a rep who opens the tab is not kept behind a refresh waiting at the back."""

from __future__ import annotations

import threading

import pytest

from coach.background import BackgroundWork
from coach.home.refresher import HomeRefresher

REP = ("T1", "U1")


def test_a_rep_opening_home_while_a_changes_refresh_waits_is_served_first_and_rendered_once():
    later = BackgroundWork(workers=1, openers=1)
    refresher = HomeRefresher()
    ran: list[str] = []
    gate = threading.Event()
    try:
        later.submit(gate.wait)  # the one worker is busy
        assert refresher.request(later.submit_low, REP, ran.append, "after a change")
        later.submit_low(ran.append, "another rep's refresh")  # queued before the rep opened the tab
        assert refresher.request(later.submit, REP, ran.append, "the rep is looking", urgent=True)
        gate.set()
        assert later.wait_idle(10)
    finally:
        gate.set()
        later.shutdown()
    # The rep's Home is rendered once, ahead of the refreshes at the back of the queue.
    assert ran == ["the rep is looking", "another rep's refresh"]


class _ByHand:
    """Refreshes submitted to a list the test runs by hand; `rendered` says which request's rendering ran."""

    def __init__(self) -> None:
        self.refresher = HomeRefresher()
        self.jobs: list = []
        self.rendered: list[str] = []

    def request(self, name: str, *, key: tuple[str, str] = REP, urgent: bool = False, submit=None) -> bool:
        return self.refresher.request(submit or self.jobs.append, key, self.rendered.append, name, urgent=urgent)


def test_refreshes_of_one_rep_coalesce_while_one_is_queued():
    q = _ByHand()
    assert q.request("change 1")
    assert not q.request("change 2")
    assert q.request("looking", urgent=True)  # queued again, urgently
    assert not q.request("looking again", urgent=True)
    assert not q.request("change 3")
    assert q.request("another rep", key=("T1", "U2"))
    change_1, looking, another_rep = q.jobs
    for job in (looking, change_1, another_rep):  # the urgent one first, as the work queue runs them
        job()
    assert q.rendered == ["looking", "another rep"]
    # Once it ran, a change queues a fresh rendering.
    assert q.request("change 4")
    q.jobs[-1]()
    assert q.rendered == ["looking", "another rep", "change 4"]


def _closed(job) -> None:
    raise RuntimeError("queue closed")


def test_a_refresh_that_could_not_be_queued_leaves_the_one_before_in_place():
    q = _ByHand()
    assert q.request("change")
    with pytest.raises(RuntimeError):  # the failure to queue reaches the caller
        q.request("looking", urgent=True, submit=_closed)
    q.jobs[0]()
    assert q.rendered == ["change"]  # still rendered by the refresh queued before
    assert q.request("next change")  # and the rep's refreshes go on


def test_a_refresh_whose_first_job_ran_is_not_stuck_when_the_urgent_one_cannot_be_queued():
    q = _ByHand()

    def runs_the_first_then_fails(job) -> None:
        q.jobs[0]()  # a worker takes the refresh queued before, meanwhile
        _closed(job)

    assert q.request("change")
    with pytest.raises(RuntimeError):
        q.request("looking", urgent=True, submit=runs_the_first_then_fails)
    assert q.rendered == ["change"]  # one of the two rendered
    # The rep's next change queues a refresh (nothing is left waiting for a job that already ran).
    assert q.request("next change")
    q.jobs[-1]()
    assert q.rendered == ["change", "next change"]


def test_the_other_job_of_a_refresh_does_nothing_whichever_runs_first():
    q = _ByHand()
    assert q.request("change")
    assert q.request("looking", urgent=True)
    for job in q.jobs:  # the change's job ran first after all
        job()
    assert q.rendered == ["change"]
