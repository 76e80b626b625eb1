"""The Home tab and `/lost won` (to be built)."""

from __future__ import annotations

from typing import Any, Callable

from slack_sdk import WebClient

from coach.services import Coach

Ack = Callable[..., Any]


def handle_won_command(coach: Coach, ack: Ack, client: WebClient, command: dict, deal_name: str) -> None:
    raise NotImplementedError
