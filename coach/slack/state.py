"""Slack view state → plain Python values (text, option values, dates), keyed by block id."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any


def element_value(element: Mapping[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = element.get("value")
        return value if value is None else str(value)
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = element.get("selected_option")
        return option.get("value") if option else None
    if kind in ("checkboxes", "multi_static_select"):
        return [o.get("value") for o in element.get("selected_options") or [] if o.get("value")]
    if kind == "datepicker":
        raw = element.get("selected_date")
        return _parse_date(raw)
    if kind == "datetimepicker":
        raw = element.get("selected_date_time")
        try:
            return datetime.fromtimestamp(int(raw), tz=UTC) if raw is not None else None
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def values_by_block(state_values: Mapping[str, Any]) -> dict[str, Any]:
    """Each input block's value (its first element's), keyed by block id; malformed parts are skipped."""
    values: dict[str, Any] = {}
    if not isinstance(state_values, Mapping):
        return values
    for block_id, actions in state_values.items():
        if not isinstance(actions, Mapping):
            continue
        for element in actions.values():
            if isinstance(element, Mapping):
                values[block_id] = element_value(element)
    return values


def _parse_date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None
