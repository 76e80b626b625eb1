"""Modals opened with a click's trigger_id: first, on threads of their own, or not at all when too late.

A trigger_id works for Slack's 3 seconds from the click. Every interaction that opens a modal hands the
opening to `open_soon` right after its ack: the flow's `views.open` is its first Slack call, it runs on
`coach.later`'s openers (never queued behind Home refreshes or DMs), and a trigger that is past its budget
when its turn comes is not spent on a doomed call: the rep gets a DM saying so instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.services import Coach
from coach.slack.client import post_message

log = logging.getLogger(__name__)


def open_soon(
    coach: Coach,
    client: WebClient,
    opener: Callable[..., Any],
    /,
    *,
    received_at: float | None,
    user_id: str,
    **kwargs: Any,
) -> None:
    """Run `opener(coach, client, user_id=..., **kwargs)` on the openers' threads (see module doc)."""

    @wraps(opener)
    def open_or_say_so(coach: Coach, client: WebClient, **kwargs: Any) -> Any:
        try:
            return opener(coach, client, **kwargs)
        except SlackApiError as e:
            error = e.response.get("error")
            if error == "exchanged_trigger_id":  # a retry after a 5xx: the first try opened it
                log.info("views.open for %s: the modal had opened on the first try", kwargs.get("user_id"))
                return None
            if error != "expired_trigger_id":
                raise
            log.warning("views.open for %s came too late for Slack", kwargs.get("user_id"))
            coach.later.submit(say_too_late, coach, client, team_id=kwargs.get("team_id"), user_id=kwargs["user_id"])
            return None

    coach.later.open_modal(
        open_or_say_so,
        coach,
        client,
        user_id=user_id,
        **kwargs,
        received_at=received_at if received_at is not None else time.monotonic(),
        too_late=partial(say_too_late, coach, client, team_id=kwargs.get("team_id"), user_id=user_id),
    )


def say_too_late(coach: Coach, client: WebClient, *, team_id: str | None, user_id: str) -> None:
    """The rep pressed a button whose modal could not open in time: say so rather than nothing."""
    t = coach.profiles.get(team_id, user_id).t
    post_message(client, user_id, text=t._("Sorry, that took too long to open. Please press the button again."))
