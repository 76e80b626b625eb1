"""Recovery (復活): `/lost won <deal>` and the Home's "Log a win" record a win with the days since the last loss."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import select

from coach.models import Win
from tests.blockkit import message_problems
from tests.conftest import RunningApp
from tests.slack_signing import view_submission_payload
from tests.test_home import START, buttons, open_home, opened_modal, press, publishes, second_review, text_of
from tests.test_nudges import review_saved
from tests.test_review_flow import blocks_text


def wins(app: RunningApp) -> list[Win]:
    with app.coach.db.session() as s:
        return list(s.scalars(select(Win).order_by(Win.id)))


def dms_to(app: RunningApp, user_id: str) -> list:
    return [c for c in app.slack.fake.calls_to("chat.postMessage") if c.params["channel"] == user_id]


def win_dms(app: RunningApp, user_id: str) -> list:
    return [
        c
        for c in dms_to(app, user_id)
        if "won" in (c.params.get("text") or "").lower() or "winning" in (c.params.get("text") or "")
    ]


def test_lost_won_without_a_deal_gives_a_usage_hint(running_app: RunningApp):
    for text in ("won", "won   ", "Won"):
        answer = running_app.slack.answer(text, user_id="U2")
        assert answer.response_type == "ephemeral"
        assert "/lost won Acme renewal" in answer.text
    running_app.settle()
    assert wins(running_app) == [] and running_app.slack.fake.calls_to("chat.postMessage") == []


def test_a_japanese_rep_gets_the_usage_hint_in_japanese(running_app: RunningApp):
    answer = running_app.slack.answer("won", user_id="U1")
    assert answer.via == "response_url"  # U1's language was not known yet: looked up after the ack
    assert (
        answer.text
        == "受注した案件を `/lost won A社 更新案件` のように教えてください。前回の失注から何日かかったかを記録します。"
    )
    running_app.settle()
    assert wins(running_app) == []


def test_a_deal_name_with_slacks_escapes_is_logged_as_typed(running_app: RunningApp):
    # Slack sends `/lost won AT&T <renewal>` with &, < and > escaped.
    with time_machine.travel(START, tick=True):
        assert running_app.slack.json(running_app.slack.command("won AT&amp;T &lt;renewal&gt;", user_id="U2")) == {}
        running_app.settle()
    [win] = wins(running_app)
    assert win.deal_name == "AT&T <renewal>"


def test_lost_won_with_a_too_long_name_says_so(running_app: RunningApp):
    answer = running_app.slack.answer("won " + "x" * 151, user_id="U2")
    assert answer.response_type == "ephemeral" and "150" in answer.text
    running_app.settle()
    assert wins(running_app) == []


def test_a_win_before_any_loss_has_no_recovery_days(running_app: RunningApp):
    with time_machine.travel(START, tick=True):
        open_home(running_app, "U2")
        before = len(publishes(running_app, "U2"))
        assert running_app.slack.json(running_app.slack.command("won Acme renewal", user_id="U2")) == {}
        running_app.settle()
    [win] = wins(running_app)
    assert (win.user_id, win.deal_name, win.days_since_loss, win.last_loss_review_id) == (
        "U2",
        "Acme renewal",
        None,
        None,
    )
    assert win.won_on == date(2026, 3, 9)  # Monday evening in New York
    [dm] = dms_to(running_app, "U2")
    assert message_problems(dm.params["blocks"], dm.params["text"]) == []
    assert "No loss logged before this win." in blocks_text(dm.params["blocks"])
    assert len(publishes(running_app, "U2")) > before, "the Home was refreshed"


def test_recovery_days_count_in_the_reps_time_zone(running_app: RunningApp):
    with time_machine.travel(START, tick=True) as clock:
        review = review_saved(running_app, "U1", lost_on=date(2026, 3, 10), meeting=START + timedelta(days=1))
        # 16 March 16:00 UTC is already 17 March 01:00 in Tokyo: 7 days, where UTC would say 6.
        clock.move_to(datetime(2026, 3, 16, 16, 0, tzinfo=UTC))
        before = len(dms_to(running_app, "U1"))
        assert running_app.slack.json(running_app.slack.command("won Beta 商事", user_id="U1")) == {}
        running_app.settle()
        home = open_home(running_app, "U1")
    [win] = wins(running_app)
    assert (win.won_on, win.days_since_loss, win.last_loss_review_id) == (date(2026, 3, 17), 7, review.id)
    [dm] = dms_to(running_app, "U1")[before:]
    text = blocks_text(dm.params["blocks"])
    assert "前回の失注からこの受注まで7日でした。" in dm.params["text"]
    assert "Acme renewal" in text and "決裁者確認を必ず入れる" in text  # the loss, and the one change made since
    assert "Beta 商事" in text_of(home) and "前回の失注からこの受注まで7日でした。" in text_of(home)


def test_the_last_loss_is_the_one_lost_last_not_the_one_reviewed_last(running_app: RunningApp):
    with time_machine.travel(START, tick=True) as clock:
        recent = review_saved(running_app, "U2", lost_on=date(2026, 3, 9), meeting=START + timedelta(days=5))
        second_review(running_app, "U2", deal="Older loss", lost_on=date(2026, 3, 2), meeting=START + timedelta(days=5))
        clock.move_to(START + timedelta(days=3))  # Thursday 12 March in New York
        running_app.slack.command("won Gamma", user_id="U2")
        running_app.settle()
    [win] = wins(running_app)
    assert (win.last_loss_review_id, win.days_since_loss) == (recent.id, 3)


def test_log_a_win_from_home(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True):
        review_saved(running_app, "U2", lost_on=date(2026, 3, 6), meeting=START + timedelta(days=5))
        home = open_home(running_app, "U2")
        before = len(fake.calls_to("views.open"))
        press(running_app, "U2", home, "home_log_win")
        modal = opened_modal(running_app, before)
        assert modal["callback_id"] == "log_win"
        empty = running_app.slack.json(
            running_app.slack.interact(
                view_submission_payload(
                    modal, {"win_deal": {"win_deal": {"type": "plain_text_input", "value": "  "}}}, user_id="U2"
                )
            )
        )
        assert empty["response_action"] == "errors" and "win_deal" in empty["errors"]
        published = len(publishes(running_app, "U2"))
        ok = running_app.slack.interact(
            view_submission_payload(
                modal, {"win_deal": {"win_deal": {"type": "plain_text_input", "value": " Delta Corp "}}}, user_id="U2"
            )
        )
        assert running_app.slack.json(ok) == {}
        running_app.settle()
    [win] = wins(running_app)
    assert (win.deal_name, win.days_since_loss) == ("Delta Corp", 3)
    assert len(win_dms(running_app, "U2")) == 1
    assert len(publishes(running_app, "U2")) > published
    home = publishes(running_app, "U2")[-1].params["view"]
    assert "Latest win: *Delta Corp* on Mar 9, 2026. 3 days from your last loss to this win." in blocks_text(
        home["blocks"]
    )
    assert buttons(home, "home_log_win")


def test_a_double_submit_logs_one_win_and_sends_one_message(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True):
        review_saved(running_app, "U2", lost_on=date(2026, 3, 6), meeting=START + timedelta(days=5))
        home = open_home(running_app, "U2")
        before = len(fake.calls_to("views.open"))
        press(running_app, "U2", home, "home_log_win")
        modal = opened_modal(running_app, before)
        payload = view_submission_payload(
            modal, {"win_deal": {"win_deal": {"type": "plain_text_input", "value": "Delta Corp"}}}, user_id="U2"
        )
        answers: list[int] = []
        barrier = threading.Barrier(3)

        def submit() -> None:
            barrier.wait()
            answers.append(running_app.slack.interact(payload).status_code)

        threads = [threading.Thread(target=submit) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        running_app.settle()
        # The same deal again later that day, by command: still the same win.
        running_app.slack.command("won delta corp", user_id="U2")
        running_app.settle()
    assert answers == [200, 200, 200]
    assert len(wins(running_app)) == 1
    assert len(win_dms(running_app, "U2")) == 1
