"""Review answers: read from a modal's state, stored as JSON in the draft table, and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from coach.review.rules import OWN_REASONS, Field
from coach.slack.state import values_by_block

# Kept in a draft's answers beside the fields: the deal in the CRM that started the review (not a form field).
DEAL_LINK = "deal_link"

DATE_FIELDS = frozenset({Field.LOST_ON, Field.RECONTACT_ON})
DATETIME_FIELDS = frozenset({Field.NEXT_MEETING_AT})


def to_json(values: Mapping[Field, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in values.items():
        if isinstance(value, (date, datetime)):
            value = value.isoformat()
        out[str(field)] = value
    return out


def from_json(answers: Mapping[str, Any]) -> dict[Field, Any]:
    out: dict[Field, Any] = {}
    for key, value in answers.items():
        try:
            field = Field(key)
        except ValueError:
            continue  # a field retired since the draft was saved
        if value is not None and field in DATE_FIELDS:
            value = date.fromisoformat(value)
        elif value is not None and field in DATETIME_FIELDS:
            value = datetime.fromisoformat(value)
        elif field is Field.UNDERLYING_CODES and isinstance(value, list):
            value = [c for c in value if c != OWN_REASONS]  # a form device; the own reasons are the text
        out[field] = value
    return out


def answers_from_state(state_values: Mapping[str, Any]) -> dict[Field, Any]:
    """A modal's answers by field (block ids are field names); anything else in a payload is ignored."""
    answers: dict[Field, Any] = {}
    for block_id, value in values_by_block(state_values).items():
        try:
            field = Field(block_id)
        except ValueError:
            continue
        answers[field] = bool(value) if field is Field.SHARE_WITH_MANAGER else value
    return answers
