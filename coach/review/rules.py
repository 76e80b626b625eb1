"""What a complete lost-deal review is (METHOD.md §1, §2, §4).

Pure Python: no Slack, no database. Values are plain Python objects keyed by
`Field`; the Slack adapter turns view state into them and back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from coach.review import selfdenial


class Step(StrEnum):
    FACTS = "facts"
    LENSES = "lenses"
    REASONS = "reasons"
    COMMIT = "commit"


STEPS: tuple[Step, ...] = tuple(Step)


class Field(StrEnum):
    """Every answer in a review. Also used as Slack block ids (one input each)."""

    DEAL_NAME = "deal_name"
    DEAL_SIZE = "deal_size"
    LOST_ON = "lost_on"
    SURFACE_REASON = "surface_reason"
    COMPETITOR = "competitor"
    TIMELINE = "timeline"
    CUSTOMER_WORDS = "customer_words"
    REACTION_CHANGE = "reaction_change"
    FAILED_QUESTION = "failed_question"
    PROBLEM_VERDICT = "problem_verdict"
    PROBLEM_NOTE = "problem_note"
    VALUE_VERDICT = "value_verdict"
    VALUE_NOTE = "value_note"
    RELATIONSHIP_VERDICT = "relationship_verdict"
    RELATIONSHIP_NOTE = "relationship_note"
    DECISION_VERDICT = "decision_verdict"
    DECISION_NOTE = "decision_note"
    DECISION_MAKER = "decision_maker"
    UNDERLYING_CODES = "underlying_codes"
    UNDERLYING_OWN = "underlying_own"
    CHANGE_CODE = "change_code"
    CHANGE_OWN = "change_own"
    NEXT_MEETING_AT = "next_meeting_at"
    RECONTACT_CHOICE = "recontact_choice"
    RECONTACT_ON = "recontact_on"
    SHARE_WITH_MANAGER = "share_with_manager"


class SurfaceReason(StrEnum):
    """表向きの理由: what the customer or the rep says the loss was about."""

    PRICE = "price"
    TIMING = "timing"
    COMPETITOR = "competitor"
    STILL_CONSIDERING = "still_considering"
    NO_DECISION = "no_decision"
    OTHER = "other"


class UnderlyingReason(StrEnum):
    """裏にある可能性: the structural gaps (代表的なズレ) and surface→underlying hints."""

    VALUE_NOT_CONVEYED = "value_not_conveyed"
    LOW_PRIORITY = "low_priority"
    NO_COMPARISON_AXIS = "no_comparison_axis"
    REAL_PROBLEM_NOT_HEARD = "real_problem_not_heard"
    PRODUCT_BEFORE_PROBLEM = "product_before_problem"
    DECISION_PROCESS_UNKNOWN = "decision_process_unknown"
    NOT_IN_COMPARISON = "not_in_comparison"


# The form offers these first for the chosen surface reason (METHOD §1 table).
HINTS: dict[SurfaceReason, tuple[UnderlyingReason, ...]] = {
    SurfaceReason.PRICE: (UnderlyingReason.VALUE_NOT_CONVEYED,),
    SurfaceReason.STILL_CONSIDERING: (UnderlyingReason.LOW_PRIORITY,),
    SurfaceReason.COMPETITOR: (UnderlyingReason.NO_COMPARISON_AXIS, UnderlyingReason.NOT_IN_COMPARISON),
    SurfaceReason.TIMING: (UnderlyingReason.LOW_PRIORITY,),
    SurfaceReason.NO_DECISION: (UnderlyingReason.DECISION_PROCESS_UNKNOWN,),
    SurfaceReason.OTHER: (),
}


def underlying_catalogue(surface: SurfaceReason | None) -> list[UnderlyingReason]:
    """The catalogue with the hints for `surface` first, then the rest in order."""
    hints = list(HINTS.get(surface, ())) if surface else []
    return hints + [r for r in UnderlyingReason if r not in hints]


class Lens(StrEnum):
    """四つの観点."""

    PROBLEM = "problem"
    VALUE = "value"
    RELATIONSHIP = "relationship"
    DECISION = "decision"


class Verdict(StrEnum):
    HELD = "held"
    PARTLY = "partly"
    MISSED = "missed"


LENS_FIELDS: dict[Lens, tuple[Field, Field]] = {
    Lens.PROBLEM: (Field.PROBLEM_VERDICT, Field.PROBLEM_NOTE),
    Lens.VALUE: (Field.VALUE_VERDICT, Field.VALUE_NOTE),
    Lens.RELATIONSHIP: (Field.RELATIONSHIP_VERDICT, Field.RELATIONSHIP_NOTE),
    Lens.DECISION: (Field.DECISION_VERDICT, Field.DECISION_NOTE),
}


class ChangeSuggestion(StrEnum):
    """次の商談で一つだけ変える: the suggestions the form offers."""

    QUESTION_ORDER = "question_order"
    FIRST_FIVE_MINUTES = "first_five_minutes"
    CONFIRM_DECISION_MAKER = "confirm_decision_maker"


# The commit step's radio option for "the change is in my own words (the text below)". Radio buttons
# can't be un-selected in Slack, so this is how a rep who picked a suggestion gets back to own words.
# Stored on the draft only; a saved review has change_code NULL and the words in change_text.
OWN_WORDS = "own_words"

# The reasons step's checkbox for "my own reasons (the text below)": with it, the checkboxes are a required
# input that every rep can answer truthfully, and neither input is labelled optional. A form device only:
# drafts read back without it (answers.from_json) and a saved review never holds it.
OWN_REASONS = "own_reasons"


class RecontactChoice(StrEnum):
    SIX_MONTHS = "six_months"
    ONE_YEAR = "one_year"
    DATE = "date"


# A competitor won: their contract usually runs a year. Otherwise, half a year.
RECONTACT_DEFAULT: dict[SurfaceReason, RecontactChoice] = {
    SurfaceReason.COMPETITOR: RecontactChoice.ONE_YEAR,
}


def default_recontact(surface: SurfaceReason | None) -> RecontactChoice:
    return RECONTACT_DEFAULT.get(surface, RecontactChoice.SIX_MONTHS) if surface else RecontactChoice.SIX_MONTHS


RECONTACT_AFTER: dict[RecontactChoice, relativedelta] = {
    RecontactChoice.SIX_MONTHS: relativedelta(months=6),
    RecontactChoice.ONE_YEAR: relativedelta(years=1),
}


def recontact_date(
    choice: RecontactChoice, lost_on: date, chosen: date | None, *, today: date | None = None
) -> date | None:
    """When to get back in touch.

    "Six months" and "one year" count from the date lost, which is what they mean for a fresh loss (a
    competitor's contract runs a year from when they won). A rep reviewing an old loss means "from now":
    when that date is not after `today` (the rep's local date), it is counted from today instead, so the
    re-contact date is always in the future. A date the rep chose is theirs (validated to be in the future).
    """
    after = RECONTACT_AFTER.get(choice)
    if after is None:
        return chosen
    on = lost_on + after
    if today is not None and on <= today:
        on = today + after
    return on


# Text limits. Slack enforces `max_length` in the client; we check again
# because a payload can be crafted.
MAX_LENGTH: dict[Field, int] = {
    Field.DEAL_NAME: 150,
    Field.COMPETITOR: 150,
    Field.TIMELINE: 3000,
    Field.CUSTOMER_WORDS: 3000,
    Field.REACTION_CHANGE: 1500,
    Field.FAILED_QUESTION: 1500,
    Field.PROBLEM_NOTE: 1000,
    Field.VALUE_NOTE: 1000,
    Field.RELATIONSHIP_NOTE: 1000,
    Field.DECISION_NOTE: 1000,
    Field.DECISION_MAKER: 150,
    Field.UNDERLYING_OWN: 1500,
    Field.CHANGE_OWN: 300,
}
MAX_DEAL_SIZE = Decimal("1e13")

# How far dates may reach. Slack's pickers go from year 0 to 9999, and dates that far out overflow
# whatever adds a reminder lead or a quiet-hours shift to them; none of them means anything here.
MAX_YEARS_SINCE_LOSS = 10
MAX_DAYS_TO_NEXT_MEETING = 366
MAX_YEARS_TO_RECONTACT = 5

STEP_FIELDS: dict[Step, tuple[Field, ...]] = {
    Step.FACTS: (
        Field.DEAL_NAME,
        Field.DEAL_SIZE,
        Field.LOST_ON,
        Field.SURFACE_REASON,
        Field.COMPETITOR,
        Field.TIMELINE,
        Field.CUSTOMER_WORDS,
        Field.REACTION_CHANGE,
        Field.FAILED_QUESTION,
    ),
    Step.LENSES: (
        Field.PROBLEM_VERDICT,
        Field.PROBLEM_NOTE,
        Field.VALUE_VERDICT,
        Field.VALUE_NOTE,
        Field.RELATIONSHIP_VERDICT,
        Field.RELATIONSHIP_NOTE,
        Field.DECISION_VERDICT,
        Field.DECISION_NOTE,
        Field.DECISION_MAKER,
    ),
    Step.REASONS: (Field.UNDERLYING_CODES, Field.UNDERLYING_OWN),
    Step.COMMIT: (
        Field.CHANGE_CODE,
        Field.CHANGE_OWN,
        Field.NEXT_MEETING_AT,
        Field.RECONTACT_CHOICE,
        Field.RECONTACT_ON,
        Field.SHARE_WITH_MANAGER,
    ),
}

REQUIRED: frozenset[Field] = frozenset(
    {
        Field.DEAL_NAME,
        Field.LOST_ON,
        Field.SURFACE_REASON,
        Field.TIMELINE,
        Field.CUSTOMER_WORDS,
        # The core of the verification (どこで相手の反応が変わったか / どの質問で本音を引き出せなかったか).
        Field.REACTION_CHANGE,
        Field.FAILED_QUESTION,
        Field.PROBLEM_VERDICT,
        Field.VALUE_VERDICT,
        Field.RELATIONSHIP_VERDICT,
        Field.DECISION_VERDICT,
        Field.RECONTACT_CHOICE,
    }
)
# Not required: the next meeting may not be booked yet (a nudge to book one follows).

MIN_UNDERLYING_REASONS = 3


class Problem(StrEnum):
    """Why a field was refused. The Slack adapter words each in the rep's language."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"
    LOST_IN_FUTURE = "lost_in_future"
    LOST_TOO_LONG_AGO = "lost_too_long_ago"
    COMPETITOR_REQUIRED = "competitor_required"
    FEWER_THAN_THREE_REASONS = "fewer_than_three_reasons"
    NO_CHANGE = "no_change"
    MORE_THAN_ONE_CHANGE = "more_than_one_change"
    OWN_WORDS_REQUIRED = "own_words_required"
    SUGGESTION_AND_OWN_WORDS = "suggestion_and_own_words"
    MEETING_IN_PAST = "meeting_in_past"
    MEETING_TOO_FAR = "meeting_too_far"
    RECONTACT_DATE_REQUIRED = "recontact_date_required"
    RECONTACT_NOT_IN_FUTURE = "recontact_not_in_future"
    RECONTACT_TOO_FAR = "recontact_too_far"
    UNKNOWN_CHOICE = "unknown_choice"


@dataclass(frozen=True)
class FieldError:
    field: Field
    problem: Problem
    limit: int | None = None


def own_reason_lines(text: str | None) -> list[str]:
    """The rep's own underlying reasons: one per line, list markers stripped."""
    lines = []
    for raw in (text or "").splitlines():
        line = re.sub(r"^\s*(?:[-*・•●]|\d+[.)．、])\s*", "", raw).strip()
        if line:
            lines.append(line)
    return lines


# More than one change hides in one text box: several lines, items separated by semicolons, or a list
# written on one line ("1. Ask budget 2. Smile more", "・予算を聞く ・決裁者を確認する").
_BEFORE_MARKER = r"(?:^|(?<=[\s\u3000-\u9fff\uff00-\uffef]))"  # start, a space, or Japanese text
_BULLET = re.compile(r"(?:^|(?<=\s))[・•●○◦▪■□◆◇‣](?=\s*\S)")
_DASH_ITEM = re.compile(r"^[-*+–—]\s+\S.*\s[-*+–—]\s+\S")  # "- ask budget - smile more"
_NUMBER = re.compile(
    r"[(（](?P<p>[0-9０-９]{1,2})[)）]"  # (1) （１）
    r"|(?P<c>[①-⑳])"  # ①
    rf"|{_BEFORE_MARKER}(?P<n>[0-9０-９]{{1,2}})(?:[.)．）、])(?![0-9０-９])"  # 1. 1) １．
)
_SEMICOLON = re.compile(r"[;；]")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _item_numbers(text: str) -> list[int]:
    found = []
    for m in _NUMBER.finditer(text):
        if m.group("c"):
            found.append(ord(m.group("c")) - ord("①") + 1)
        else:
            found.append(int((m.group("p") or m.group("n")).translate(_FULLWIDTH_DIGITS)))
    return found


def counts_as_several_changes(text: str) -> bool:
    """True when `text` lists more than one change: several lines, items split by ";" or "；",
    or two list markers on one line (bullets, or numbers that follow each other: 1 then 2).

    An ordinary sentence (commas, "and", "2.5%", "at 3 p.m.", one dash) is one change.
    """
    lines = own_reason_lines(text)
    if len(lines) > 1:
        return True
    line = text.strip()
    if sum(1 for part in _SEMICOLON.split(line) if part.strip()) > 1:
        return True
    if len(_BULLET.findall(line)) >= 2 or _DASH_ITEM.search(line):
        return True
    numbers = _item_numbers(line)
    return any(b == a + 1 for a, b in zip(numbers, numbers[1:]))


def local_today(now_utc: datetime, tz: ZoneInfo) -> date:
    return now_utc.astimezone(tz).date()


def validate_step(step: Step, values: Mapping[Field, Any], *, now_utc: datetime, tz: ZoneInfo) -> list[FieldError]:
    """The problems with one step's answers; empty when the step is complete."""
    errors: list[FieldError] = []
    fields = STEP_FIELDS[step]

    def add(field: Field, problem: Problem, limit: int | None = None) -> None:
        if not any(e.field is field for e in errors):
            errors.append(FieldError(field, problem, limit))

    for field in fields:
        value = values.get(field)
        if field in REQUIRED and _is_empty(value):
            add(field, Problem.REQUIRED)
        if isinstance(value, str) and field in MAX_LENGTH and len(value) > MAX_LENGTH[field]:
            add(field, Problem.TOO_LONG, MAX_LENGTH[field])

    today = local_today(now_utc, tz)
    if step is Step.FACTS:
        size = values.get(Field.DEAL_SIZE)
        if not _is_empty(size):
            amount = parse_amount(size)
            if amount is None:
                add(Field.DEAL_SIZE, Problem.NOT_A_NUMBER)
            elif amount < 0:
                add(Field.DEAL_SIZE, Problem.NEGATIVE)
            elif amount >= MAX_DEAL_SIZE:
                add(Field.DEAL_SIZE, Problem.TOO_LARGE)
        lost_on = values.get(Field.LOST_ON)
        if isinstance(lost_on, date) and lost_on > today:
            add(Field.LOST_ON, Problem.LOST_IN_FUTURE)
        elif isinstance(lost_on, date) and lost_on < _years_before(today, MAX_YEARS_SINCE_LOSS):
            add(Field.LOST_ON, Problem.LOST_TOO_LONG_AGO, MAX_YEARS_SINCE_LOSS)
        surface = values.get(Field.SURFACE_REASON)
        if surface and surface not in SurfaceReason.__members__.values():
            add(Field.SURFACE_REASON, Problem.UNKNOWN_CHOICE)
        if surface == SurfaceReason.COMPETITOR and _is_empty(values.get(Field.COMPETITOR)):
            add(Field.COMPETITOR, Problem.COMPETITOR_REQUIRED)
    elif step is Step.LENSES:
        for verdict_field, _ in LENS_FIELDS.values():
            v = values.get(verdict_field)
            if v and v not in Verdict.__members__.values():
                add(verdict_field, Problem.UNKNOWN_CHOICE)
    elif step is Step.REASONS:
        codes = [c for c in values.get(Field.UNDERLYING_CODES) or [] if c != OWN_REASONS]
        if any(c not in UnderlyingReason.__members__.values() for c in codes):
            add(Field.UNDERLYING_CODES, Problem.UNKNOWN_CHOICE)
        total = len(set(codes)) + len(own_reason_lines(values.get(Field.UNDERLYING_OWN)))
        if total < MIN_UNDERLYING_REASONS:
            add(Field.UNDERLYING_CODES, Problem.FEWER_THAN_THREE_REASONS, MIN_UNDERLYING_REASONS)
    elif step is Step.COMMIT:
        code, own = values.get(Field.CHANGE_CODE), (values.get(Field.CHANGE_OWN) or "").strip()
        if code and code != OWN_WORDS and code not in ChangeSuggestion.__members__.values():
            add(Field.CHANGE_CODE, Problem.UNKNOWN_CHOICE)
        elif not code and not own:
            add(Field.CHANGE_CODE, Problem.NO_CHANGE)
        elif code == OWN_WORDS and not own:
            add(Field.CHANGE_OWN, Problem.OWN_WORDS_REQUIRED)
        elif code and code != OWN_WORDS and own:
            add(Field.CHANGE_OWN, Problem.SUGGESTION_AND_OWN_WORDS)
        elif own and counts_as_several_changes(own):
            add(Field.CHANGE_OWN, Problem.MORE_THAN_ONE_CHANGE)
        meeting = values.get(Field.NEXT_MEETING_AT)
        if isinstance(meeting, datetime) and meeting <= now_utc:
            add(Field.NEXT_MEETING_AT, Problem.MEETING_IN_PAST)
        elif meeting_too_far(meeting, now_utc):
            add(Field.NEXT_MEETING_AT, Problem.MEETING_TOO_FAR, MAX_DAYS_TO_NEXT_MEETING)
        choice = values.get(Field.RECONTACT_CHOICE)
        if choice and choice not in RecontactChoice.__members__.values():
            add(Field.RECONTACT_CHOICE, Problem.UNKNOWN_CHOICE)
        elif choice == RecontactChoice.DATE:
            chosen = values.get(Field.RECONTACT_ON)
            if not isinstance(chosen, date):
                add(Field.RECONTACT_ON, Problem.RECONTACT_DATE_REQUIRED)
            elif chosen <= today:
                add(Field.RECONTACT_ON, Problem.RECONTACT_NOT_IN_FUTURE)
            elif chosen > _years_before(today, -MAX_YEARS_TO_RECONTACT):
                add(Field.RECONTACT_ON, Problem.RECONTACT_TOO_FAR, MAX_YEARS_TO_RECONTACT)
    return errors


def meeting_too_far(meeting: Any, now_utc: datetime) -> bool:
    """A next meeting more than MAX_DAYS_TO_NEXT_MEETING ahead (a year-9999 pick) is not one to plan for."""
    return isinstance(meeting, datetime) and meeting - now_utc > timedelta(days=MAX_DAYS_TO_NEXT_MEETING)


def _years_before(day: date, years: int) -> date:
    return day - relativedelta(years=years)


def validate_review(values: Mapping[Field, Any], *, now_utc: datetime, tz: ZoneInfo) -> dict[Step, list[FieldError]]:
    """Every step's problems; a review is complete when this is empty."""
    found = {s: validate_step(s, values, now_utc=now_utc, tz=tz) for s in STEPS}
    return {s: errs for s, errs in found.items() if errs}


def parse_amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _is_empty(value: Any) -> bool:
    return value is None or (
        isinstance(value, (str, list, tuple, set)) and not (value.strip() if isinstance(value, str) else value)
    )


# Self-denial (自己否定) is not self-responsibility (自責): the detector lives in selfdenial.py. Only the rep's
# own reflective text is read; the customer's words, the deal's name, the competitor and the decision maker
# are other people's (「今のシステムはもうやめたいんですよね」 from a customer is no verdict on the rep).
REFLECTIVE_FIELDS: tuple[Field, ...] = (
    Field.REACTION_CHANGE,
    Field.FAILED_QUESTION,
    Field.PROBLEM_NOTE,
    Field.VALUE_NOTE,
    Field.RELATIONSHIP_NOTE,
    Field.DECISION_NOTE,
    Field.UNDERLYING_OWN,
    Field.CHANGE_OWN,
)


def reads_as_self_denial(*texts: str | None) -> bool:
    return selfdenial.reads_as_self_denial(*texts)


def self_denial_step(values: Mapping[Field, Any]) -> Step | None:
    """The first step whose reflective text reads as self-denial, if any."""
    for step in STEPS:
        if reads_as_self_denial(*(values.get(f) for f in STEP_FIELDS[step] if f in REFLECTIVE_FIELDS)):
            return step
    return None


def reframe_step(values: Mapping[Field, Any]) -> Step | None:
    """The one step of the form that shows the reframe: the one after the first step whose reflective text
    reads as self-denial (None when nothing does, or only the last step's). Once, not on every step."""
    found = self_denial_step(values)
    if found is None or found is STEPS[-1]:
        return None
    return STEPS[STEPS.index(found) + 1]


def loss_moment(lost_on: date, started_at_utc: datetime, tz: ZoneInfo) -> datetime:
    """When the loss happened, for the 24-hour measure.

    A loss logged on the same local day counts from when the rep opened the
    review; an earlier one from the end of the working day (18:00 local) it
    was lost, never later than the review's start.
    """
    started_local = started_at_utc.astimezone(tz)
    if lost_on >= started_local.date():
        return started_at_utc
    end_of_day = datetime.combine(lost_on, time(18, 0), tzinfo=tz).astimezone(UTC)
    return min(end_of_day, started_at_utc)


def hours_between(start_utc: datetime, end_utc: datetime) -> float:
    return round(max((end_utc - start_utc) / timedelta(hours=1), 0.0), 1)
