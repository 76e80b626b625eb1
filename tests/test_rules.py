"""The coaching rules as plain Python: no Slack, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from coach.review import rules
from coach.review.rules import Field, Problem, Step, SurfaceReason, UnderlyingReason

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "surface, first",
    [
        (SurfaceReason.PRICE, UnderlyingReason.VALUE_NOT_CONVEYED),
        (SurfaceReason.STILL_CONSIDERING, UnderlyingReason.LOW_PRIORITY),
        (SurfaceReason.COMPETITOR, UnderlyingReason.NO_COMPARISON_AXIS),
    ],
)
def test_hints_for_the_surface_reason_come_first(surface, first):
    catalogue = rules.underlying_catalogue(surface)
    assert catalogue[0] is first
    assert sorted(catalogue) == sorted(UnderlyingReason)  # nothing dropped, nothing doubled


# (text, reads as self-denial): a verdict on oneself earns a reframe; facts, self-responsibility and
# statements about the product, the deal or what to stop doing do not.
SELF_DENIAL_TABLE = [
    # Japanese: verdicts on oneself
    ("正直、自分は営業に向いていないと思う", True),
    ("やっぱり自分はダメだ", True),
    ("僕って本当にダメだな", True),
    ("私のせいだ", True),
    ("全部自分のせい", True),
    ("営業失格だ", True),
    ("自分は営業として失格です", True),
    ("私には営業の才能がない", True),
    ("営業に向いてない", True),
    ("もう辞めたい", True),
    ("営業を辞めたい", True),
    # Japanese: facts, self-responsibility, the product or someone else
    ("この製品は大企業に向いていない", False),
    ("このプランは中小企業に向いてない", False),
    ("自分はこの製品が大企業に向いていないと思った", False),
    ("価格表を見せたところで反応が変わった", False),
    ("自分のヒアリングが浅かった", False),
    ("私は決裁プロセスを知らなかった", False),
    ("私のせいではない", False),
    ("自分が駄目にした提案書を作り直す", False),
    ("値引きの提案を辞めたい", False),
    ("ジョン・スミスに決裁者を確認しなかった", False),
    ("競合が入札で失格になった", False),
    ("自分はダメ元で値引きを提案した", False),
    ("自分のせいにしないで分析する", False),
    ("私のせいにされた", False),
    ("自分がダメ押しの一言を言えなかった", False),
    ("私の提案は向いていない", False),
    # English: verdicts on oneself
    ("I'm not cut out for sales", True),
    ("Honestly I’m just not cut out for this", True),
    ("I am useless at this", True),
    ("I’m a failure", True),
    ("I am just a total loser", True),
    ("It wasn't all my fault", False),
    ("Not all my fault: the budget was cut", False),
    ("I'm an idiot", True),
    ("I'm such an idiot", True),
    ("It was all my fault", True),
    ("Everything is my fault", True),
    ("I suck at this", True),
    ("I should just quit.", True),
    ("I should quit sales", True),
    ("I'll never be good at this", True),
    ("I'm a terrible salesperson", True),
    ("I am not good enough", True),
    # English: facts, self-responsibility, the product or what to stop doing
    ("I should quit offering discounts", False),
    ("I should quit leading with the demo", False),
    ("The tool is not cut out for SMBs", False),
    ("not cut out for SMBs", False),
    ("Hi suck the lemon, said the buyer", False),
    ("I didn't ask who signs off", False),
    ("It was partly my fault that we skipped the decision maker", False),
    ("The demo was a failure", False),
    ("Our pricing is useless for SMBs", False),
    ("He is an idiot", False),
    ("They said the tool was not cut to size", False),
    ("I'm not sure the CFO was in the loop", False),
]


@pytest.mark.parametrize("text, denial", SELF_DENIAL_TABLE, ids=[t for t, _ in SELF_DENIAL_TABLE])
def test_self_denial_is_told_from_facts_and_self_responsibility(text, denial):
    assert rules.reads_as_self_denial(text) is denial


def test_no_text_is_not_self_denial():
    assert not rules.reads_as_self_denial(None, "")


@pytest.mark.parametrize(
    "text, several",
    [
        ("Ask about the decision process first", False),
        ("1. Ask budget\n2. Smile", True),
        ("- open with their problem\n- shorter demo", True),
        ("Ask budget\nSmile", True),
        ("最初の五分で課題を聞く", False),
        # a list on one line
        ("1. Ask budget 2. Smile more", True),
        ("1) Ask budget 2) Smile more", True),
        ("(1) ask budget (2) smile more", True),
        ("・予算を聞く ・決裁者を確認する", True),
        ("• ask budget • smile more", True),
        ("1.予算を聞く2.決裁者を確認する", True),
        ("①予算を聞く②決裁者を確認する", True),
        ("（１）予算を聞く（２）決裁者を確認する", True),
        ("- open with their problem - shorter demo", True),
        # items split by semicolons
        ("Ask budget; confirm DM", True),
        ("予算を聞く；決裁者を確認する", True),
        # ordinary sentences
        ("Ask budget; ", False),
        ("Cut the discount to 2.5% and hold it", False),
        ("Call at 3. Then follow up at 5.", False),
        ("Ask about Q1. Then Q2.", False),
        ("Ask budget - early, before the demo", False),
        ("Show the ROI slide before the price, then stop talking", False),
        ("価格より先に、課題・影響・期限を聞く", False),
        ("ジョン・スミスに決裁プロセスを確認する", False),
        ("Open with their KPI, not our demo", False),
    ],
)
def test_one_change_means_one_item(text, several):
    assert rules.counts_as_several_changes(text) is several


@pytest.mark.parametrize(
    "code, own, field, problem",
    [
        (None, None, Field.CHANGE_CODE, Problem.NO_CHANGE),
        (rules.OWN_WORDS, "", Field.CHANGE_OWN, Problem.OWN_WORDS_REQUIRED),
        ("question_order", "Ask budget", Field.CHANGE_OWN, Problem.SUGGESTION_AND_OWN_WORDS),
        (rules.OWN_WORDS, "Ask budget; confirm DM", Field.CHANGE_OWN, Problem.MORE_THAN_ONE_CHANGE),
        (None, "1. Ask budget 2. Smile more", Field.CHANGE_OWN, Problem.MORE_THAN_ONE_CHANGE),
        ("smile_more", None, Field.CHANGE_CODE, Problem.UNKNOWN_CHOICE),
    ],
)
def test_exactly_one_change_is_enforced(code, own, field, problem):
    values = {
        Field.CHANGE_CODE: code,
        Field.CHANGE_OWN: own,
        Field.NEXT_MEETING_AT: datetime(2026, 3, 11, tzinfo=UTC),
        Field.RECONTACT_CHOICE: "one_year",
    }
    [error] = rules.validate_step(Step.COMMIT, values, now_utc=NOW, tz=TOKYO)
    assert (error.field, error.problem) == (field, problem)


@pytest.mark.parametrize(
    "code, own",
    [
        ("question_order", None),
        ("question_order", "  "),
        (rules.OWN_WORDS, "Ask who signs off"),
        (None, "Ask who signs off"),
    ],
)
def test_one_change_is_accepted_either_way(code, own):
    values = {
        Field.CHANGE_CODE: code,
        Field.CHANGE_OWN: own,
        Field.NEXT_MEETING_AT: datetime(2026, 3, 11, tzinfo=UTC),
        Field.RECONTACT_CHOICE: "one_year",
    }
    assert rules.validate_step(Step.COMMIT, values, now_utc=NOW, tz=TOKYO) == []


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


@pytest.mark.parametrize(
    "surface, choice, expected",
    [
        (SurfaceReason.PRICE, rules.RecontactChoice.SIX_MONTHS, date(2026, 9, 30)),
        (SurfaceReason.COMPETITOR, rules.RecontactChoice.ONE_YEAR, date(2027, 3, 31)),
    ],
)
def test_recontact_defaults_from_the_surface_reason(surface, choice, expected):
    assert rules.default_recontact(surface) is choice
    assert rules.recontact_date(choice, date(2026, 3, 31), None) == expected


@pytest.mark.parametrize(
    "choice, lost_on, today, expected",
    [
        # A fresh loss: counted from the date lost.
        (rules.RecontactChoice.SIX_MONTHS, date(2026, 3, 8), date(2026, 3, 10), date(2026, 9, 8)),
        (rules.RecontactChoice.ONE_YEAR, date(2026, 3, 8), date(2026, 3, 10), date(2027, 3, 8)),
        # An old loss: six months after it is past (or today), so counted from today.
        (rules.RecontactChoice.SIX_MONTHS, date(2025, 7, 1), date(2026, 3, 10), date(2026, 9, 10)),
        (rules.RecontactChoice.SIX_MONTHS, date(2025, 9, 10), date(2026, 3, 10), date(2026, 9, 10)),
        (rules.RecontactChoice.ONE_YEAR, date(2024, 1, 15), date(2026, 3, 10), date(2027, 3, 10)),
        # Still ahead: kept from the loss.
        (rules.RecontactChoice.ONE_YEAR, date(2025, 7, 1), date(2026, 3, 10), date(2026, 7, 1)),
    ],
)
def test_recontact_is_always_in_the_future(choice, lost_on, today, expected):
    on = rules.recontact_date(choice, lost_on, None, today=today)
    assert on == expected and on > today


def test_loss_moment_same_day_counts_from_the_review_start():
    started = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # 15:00 Tokyo
    assert rules.loss_moment(date(2026, 3, 10), started, TOKYO) == started
    earlier = rules.loss_moment(date(2026, 3, 8), started, TOKYO)
    assert earlier == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)  # 18:00 Tokyo
    assert rules.hours_between(earlier, started) == 45.0


def test_a_complete_review_has_no_problems():
    values = {
        Field.DEAL_NAME: "Acme",
        Field.LOST_ON: date(2026, 3, 9),
        Field.SURFACE_REASON: "price",
        Field.TIMELINE: "t",
        Field.CUSTOMER_WORDS: "w",
        Field.REACTION_CHANGE: "At the price table",
        Field.FAILED_QUESTION: "What happens if you do nothing?",
        Field.PROBLEM_VERDICT: "held",
        Field.VALUE_VERDICT: "partly",
        Field.RELATIONSHIP_VERDICT: "held",
        Field.DECISION_VERDICT: "missed",
        Field.UNDERLYING_CODES: ["low_priority", "value_not_conveyed"],
        Field.UNDERLYING_OWN: "own",
        Field.CHANGE_CODE: "question_order",
        Field.NEXT_MEETING_AT: datetime(2026, 3, 11, tzinfo=UTC),
        Field.RECONTACT_CHOICE: "one_year",
    }
    assert rules.validate_review(values, now_utc=NOW, tz=TOKYO) == {}
    values.pop(Field.TIMELINE)
    assert list(rules.validate_review(values, now_utc=NOW, tz=TOKYO)) == [Step.FACTS]
