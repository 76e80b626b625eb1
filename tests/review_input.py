"""Answers for each review step, shaped as Slack's `view.state.values`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from coach.review.rules import Field

# The westernmost zone of conftest's reps (U2); Tokyo (U1) and London (U3) are ahead of it.
WESTERNMOST_REP_ZONE = ZoneInfo("America/New_York")


def today() -> date:
    """Today for the test reps: where the day began last, so that it is not a future date for any of them
    (the machine's `date.today()` in UTC is tomorrow in New York for a few hours each night)."""
    return datetime.now(WESTERNMOST_REP_ZONE).date()


def text(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def number(value: str | None) -> dict[str, Any]:
    return {"type": "number_input", "value": value}


def select(value: str | None, kind: str = "static_select") -> dict[str, Any]:
    return {
        "type": kind,
        "selected_option": {"text": {"type": "plain_text", "text": value or ""}, "value": value} if value else None,
    }


def radio(value: str | None) -> dict[str, Any]:
    return select(value, "radio_buttons")


def checks(*values: str) -> dict[str, Any]:
    return {
        "type": "checkboxes",
        "selected_options": [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values],
    }


def datepicker(value: date | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": value.isoformat() if value else None}


def datetimepicker(value: datetime | None) -> dict[str, Any]:
    return {"type": "datetimepicker", "selected_date_time": int(value.timestamp()) if value else None}


def state(**fields: dict[str, Any]) -> dict[str, Any]:
    """state(deal_name=text("Acme")) → {"deal_name": {"deal_name": {...}}}; block id = action id = field."""
    return {Field(k).value: {Field(k).value: v} for k, v in fields.items()}


def facts(
    *,
    deal="Acme renewal",
    size="1200000",
    lost_on: date,
    surface="price",
    competitor=None,
    timeline="10/1 first call. 10/20 proposal. 11/5 they said no.",
    words='「価格が合わない」と言われた / "It\'s over our budget this year"',
    reaction="When we showed the price table",
    question="I never asked what happens if they do nothing",
):
    return state(
        deal_name=text(deal),
        deal_size=number(size),
        lost_on=datepicker(lost_on),
        surface_reason=select(surface),
        competitor=text(competitor),
        timeline=text(timeline),
        customer_words=text(words),
        reaction_change=text(reaction),
        failed_question=text(question),
    )


def lenses(
    problem="partly",
    value="missed",
    relationship="held",
    decision="missed",
    maker="CFO Tanaka",
    notes: dict[str, str] | None = None,
):
    notes = notes or {}
    return state(
        problem_verdict=radio(problem),
        problem_note=text(notes.get("problem")),
        value_verdict=radio(value),
        value_note=text(notes.get("value", "Couldn't say why us")),
        relationship_verdict=radio(relationship),
        relationship_note=text(notes.get("relationship")),
        decision_verdict=radio(decision),
        decision_note=text(notes.get("decision")),
        decision_maker=text(maker),
    )


def reasons(codes=("value_not_conveyed", "decision_process_unknown"), own="Demoed before hearing the problem"):
    return state(underlying_codes=checks(*codes), underlying_own=text(own))


def commit(
    *,
    meeting: datetime | None,
    change_code="confirm_decision_maker",
    change_own=None,
    recontact="six_months",
    recontact_on: date | None = None,
    share=True,
):
    return state(
        change_code=radio(change_code),
        change_own=text(change_own),
        next_meeting_at=datetimepicker(meeting),
        recontact_choice=radio(recontact),
        recontact_on=datepicker(recontact_on),
        share_with_manager=checks("yes") if share else checks(),
    )
