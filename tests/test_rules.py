"""The coaching rules as plain Python: no Slack, no database."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from coach.review import rules
from coach.review.rules import Field, Problem, Step, SurfaceReason, UnderlyingReason

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("surface, first", [
    (SurfaceReason.PRICE, UnderlyingReason.VALUE_NOT_CONVEYED),
    (SurfaceReason.STILL_CONSIDERING, UnderlyingReason.LOW_PRIORITY),
    (SurfaceReason.COMPETITOR, UnderlyingReason.NO_COMPARISON_AXIS),
])
def test_hints_for_the_surface_reason_come_first(surface, first):
    catalogue = rules.underlying_catalogue(surface)
    assert catalogue[0] is first
    assert sorted(catalogue) == sorted(UnderlyingReason)  # nothing dropped, nothing doubled


@pytest.mark.parametrize("text", [
    "正直、自分は営業に向いていないと思う", "やっぱり自分はダメだ", "I'm not cut out for sales",
    "I am useless at this", "I’m a failure",
])
def test_self_denial_is_recognised(text):
    assert rules.reads_as_self_denial(text)


@pytest.mark.parametrize("text", [
    "価格表を見せたところで反応が変わった", "I didn't ask who signs off", "自分のヒアリングが浅かった",
    "They said the tool was not cut to size", None,
])
def test_facts_and_self_responsibility_are_not_flagged(text):
    assert not rules.reads_as_self_denial(text)


@pytest.mark.parametrize("text, several", [
    ("Ask about the decision process first", False),
    ("1. Ask budget\n2. Smile", True),
    ("- open with their problem\n- shorter demo", True),
    ("Ask budget\nSmile", True),
    ("最初の五分で課題を聞く", False),
])
def test_one_change_means_one_item(text, several):
    assert rules.counts_as_several_changes(text) is several


def test_three_underlying_reasons_counting_own_lines_and_no_duplicates():
    values = {Field.UNDERLYING_CODES: ["low_priority", "low_priority"], Field.UNDERLYING_OWN: "・予算確認が遅れた\n\n"}
    [error] = rules.validate_step(Step.REASONS, values, now_utc=NOW, tz=TOKYO)
    assert error.problem is Problem.FEWER_THAN_THREE_REASONS
    values[Field.UNDERLYING_OWN] = "・予算確認が遅れた\n・決裁者に会えていない"
    assert rules.validate_step(Step.REASONS, values, now_utc=NOW, tz=TOKYO) == []


def test_date_lost_is_judged_in_the_reps_time_zone():
    # 01:00 UTC on 10 March is already 10 March in Tokyo: not in the future there.
    ok = {Field.LOST_ON: date(2026, 3, 10)}
    problems = rules.validate_step(Step.FACTS, ok, now_utc=NOW, tz=TOKYO)
    assert Field.LOST_ON not in {e.field for e in problems}
    problems = rules.validate_step(Step.FACTS, ok, now_utc=NOW, tz=ZoneInfo("America/New_York"))
    assert any(e.field is Field.LOST_ON and e.problem is Problem.LOST_IN_FUTURE for e in problems)


@pytest.mark.parametrize("surface, choice, expected", [
    (SurfaceReason.PRICE, rules.RecontactChoice.SIX_MONTHS, date(2026, 9, 30)),
    (SurfaceReason.COMPETITOR, rules.RecontactChoice.ONE_YEAR, date(2027, 3, 31)),
])
def test_recontact_defaults_from_the_surface_reason(surface, choice, expected):
    assert rules.default_recontact(surface) is choice
    assert rules.recontact_date(choice, date(2026, 3, 31), None) == expected


def test_loss_moment_same_day_counts_from_the_review_start():
    started = datetime(2026, 3, 10, 6, 0, tzinfo=timezone.utc)  # 15:00 Tokyo
    assert rules.loss_moment(date(2026, 3, 10), started, TOKYO) == started
    earlier = rules.loss_moment(date(2026, 3, 8), started, TOKYO)
    assert earlier == datetime(2026, 3, 8, 9, 0, tzinfo=timezone.utc)  # 18:00 Tokyo
    assert rules.hours_between(earlier, started) == 45.0


def test_a_complete_review_has_no_problems():
    values = {
        Field.DEAL_NAME: "Acme", Field.LOST_ON: date(2026, 3, 9), Field.SURFACE_REASON: "price",
        Field.TIMELINE: "t", Field.CUSTOMER_WORDS: "w",
        Field.PROBLEM_VERDICT: "held", Field.VALUE_VERDICT: "partly", Field.RELATIONSHIP_VERDICT: "held",
        Field.DECISION_VERDICT: "missed", Field.UNDERLYING_CODES: ["low_priority", "value_not_conveyed"],
        Field.UNDERLYING_OWN: "own", Field.CHANGE_CODE: "question_order",
        Field.NEXT_MEETING_AT: datetime(2026, 3, 11, tzinfo=timezone.utc), Field.RECONTACT_CHOICE: "one_year",
    }
    assert rules.validate_review(values, now_utc=NOW, tz=TOKYO) == {}
    values.pop(Field.TIMELINE)
    assert list(rules.validate_review(values, now_utc=NOW, tz=TOKYO)) == [Step.FACTS]
