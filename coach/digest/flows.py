"""`/lost digest` and `/lost export` (to be built)."""

from __future__ import annotations

from typing import Any, Callable

from slack_sdk import WebClient

from coach.services import Coach

Ack = Callable[..., Any]


def handle_digest_command(coach: Coach, ack: Ack, client: WebClient, command: dict) -> None:
    raise NotImplementedError


def handle_export_command(coach: Coach, ack: Ack, client: WebClient, command: dict) -> None:
    raise NotImplementedError
