"""`/lost`: open the review, or answer a subcommand."""

from __future__ import annotations

import re

from slack_bolt import Ack, App
from slack_sdk import WebClient

from coach.digest import flows as digest_flows
from coach.home import flows as home_flows
from coach.nudges import flows as nudge_flows
from coach.nudges.messages import no_review_text
from coach.review import flows
from coach.review.messages import help_text, unknown_subcommand_text
from coach.services import Coach
from coach.slack.ids import COMMAND

# A single lowercase ASCII word is read as a subcommand; anything else
# ("Acme renewal", "アクメ社") is a deal name to prefill.
_SUBCOMMAND = re.compile(r"^[a-z]+$")


def handle_lost(ack: Ack, command: dict, client: WebClient, context: dict) -> None:
    coach: Coach = context["coach"]
    text = (command.get("text") or "").strip()
    team_id, user_id = command.get("team_id"), command["user_id"]
    word, _, rest = text.partition(" ")
    if text == "meeting":
        _move_meeting(coach, ack, client, command)
        return
    if word == "digest":
        digest_flows.handle_digest_command(coach, ack, client, command)
        return
    if word == "export":
        digest_flows.handle_export_command(coach, ack, client, command)
        return
    if word == "won":
        home_flows.handle_won_command(coach, ack, client, command, rest.strip())
        return
    if text and _SUBCOMMAND.match(text) and text != "new":
        t = coach.profiles.cached(team_id, user_id).t
        ack(response_type="ephemeral", text=help_text(t) if text == "help" else unknown_subcommand_text(t, text))
        return
    deal_name = rest.strip() if word == "new" else text
    ack()
    coach.later.submit(flows.open_review, coach, client, team_id=team_id, user_id=user_id,
                       trigger_id=command["trigger_id"], deal_name=deal_name or None)


def _move_meeting(coach: Coach, ack: Ack, client: WebClient, command: dict) -> None:
    """`/lost meeting`: set or move the next meeting of the latest review."""
    team_id, user_id = command.get("team_id"), command["user_id"]
    review = coach.nudges.latest_review(team_id, user_id)
    if review is None:
        ack(response_type="ephemeral", text=no_review_text(coach.profiles.get(team_id, user_id).t))
        return
    ack()
    coach.later.submit(nudge_flows.open_meeting_modal, coach, client, team_id=team_id, user_id=user_id,
                       trigger_id=command["trigger_id"], review=review)


def register(app: App) -> None:
    app.command(COMMAND)(handle_lost)
