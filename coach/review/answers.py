"""Review answers as JSON for the draft table, and back to Python values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from coach.review.rules import Field

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
        out[field] = value
    return out
