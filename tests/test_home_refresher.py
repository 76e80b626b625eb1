"""Home refreshes coalesce, and a rep who opens the tab is not kept behind a refresh waiting at the back."""

from __future__ import annotations

import threading

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


def test_refreshes_of_one_rep_coalesce_while_one_is_queued():
    refresher = HomeRefresher()
    queued: list = []
    ran: list[str] = []
    assert refresher.request(queued.append, REP, ran.append, "change 1")
    assert not refresher.request(queued.append, REP, ran.append, "change 2")
    assert refresher.request(queued.append, REP, ran.append, "looking", urgent=True)  # queued again, urgently
    assert not refresher.request(queued.append, REP, ran.append, "looking again", urgent=True)
    assert not refresher.request(queued.append, REP, ran.append, "change 3")
    assert refresher.request(queued.append, ("T1", "U2"), ran.append, "another rep")
    change_1, looking, another_rep = queued
    for job in (looking, change_1, another_rep):  # the urgent one first, as the work queue runs them
        job()
    assert ran == ["looking", "another rep"]
    # Once it ran, a change queues a fresh rendering.
    assert refresher.request(queued.append, REP, ran.append, "change 4")
    queued[-1]()
    assert ran == ["looking", "another rep", "change 4"]


def test_a_refresh_that_could_not_be_queued_leaves_the_one_before_in_place():
    refresher = HomeRefresher()
    queued: list = []
    ran: list[str] = []

    def full(job):
        raise RuntimeError("queue closed")

    assert refresher.request(queued.append, REP, ran.append, "change")
    try:
        refresher.request(full, REP, ran.append, "looking", urgent=True)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failure to queue must reach the caller")
    queued[0]()
    assert ran == ["change"]  # still rendered by the refresh queued before
    assert refresher.request(queued.append, REP, ran.append, "next change")  # and the rep's refreshes go on


def test_a_refresh_whose_first_job_ran_is_not_stuck_when_the_urgent_one_cannot_be_queued():
    refresher = HomeRefresher()
    queued: list = []
    ran: list[str] = []

    def runs_the_first_then_fails(job):
        queued[0]()  # a worker takes the refresh queued before, meanwhile
        raise RuntimeError("queue closed")

    assert refresher.request(queued.append, REP, ran.append, "change")
    try:
        refresher.request(runs_the_first_then_fails, REP, ran.append, "looking", urgent=True)
    except RuntimeError:
        pass
    assert ran == ["change"]  # one of the two rendered
    # The rep's next change queues a refresh (nothing is left waiting for a job that already ran).
    assert refresher.request(queued.append, REP, ran.append, "next change")
    queued[-1]()
    assert ran == ["change", "next change"]


def test_the_other_job_of_a_refresh_does_nothing_whichever_runs_first():
    refresher = HomeRefresher()
    queued: list = []
    ran: list[str] = []
    assert refresher.request(queued.append, REP, ran.append, "change")
    assert refresher.request(queued.append, REP, ran.append, "looking", urgent=True)
    queued[0]()  # the change's job ran first after all
    queued[1]()
    assert ran == ["change"]
