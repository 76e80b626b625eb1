"""The global shortcut "Review a lost deal": the same flow as `/lost`."""

from slack_bolt import Ack, App
from slack_sdk import WebClient

from coach.flows import review as review_flows
from coach.services import Coach
from coach.slack.ids import ShortcutId


def handle_review_shortcut(ack: Ack, shortcut: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    review_flows.start_review(
        coach,
        client,
        team_id=(shortcut.get("team") or {}).get("id") or context.get("team_id"),
        user_id=shortcut["user"]["id"],
        trigger_id=shortcut["trigger_id"],
        received_at=context.get("received_at"),
    )


def register(app: App) -> None:
    app.shortcut(ShortcutId.REVIEW_LOST_DEAL)(handle_review_shortcut)
