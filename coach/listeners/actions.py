"""Buttons: back a step, resume or restart a draft, start a review from Home."""

from slack_bolt import Ack, App
from slack_sdk import WebClient

from coach.review import flows
from coach.review.views import parse_resume_meta
from coach.slack.ids import ActionId


def _team(body: dict) -> str | None:
    return (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")


def _in_modal(body: dict) -> str | None:
    view = body.get("view") or {}
    return view.get("id") if view.get("type") == "modal" else None


def handle_back(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    flows.go_back(context["coach"], client, team_id=_team(body), user_id=body["user"]["id"], view=body["view"])


def handle_resume(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    flows.show_draft(context["coach"], client, team_id=_team(body), user_id=body["user"]["id"],
                     view_id=_in_modal(body), trigger_id=body.get("trigger_id"), fresh=False)


def handle_start_fresh(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    deal = parse_resume_meta((body.get("view") or {}).get("private_metadata"))
    flows.show_draft(context["coach"], client, team_id=_team(body), user_id=body["user"]["id"],
                     view_id=_in_modal(body), trigger_id=body.get("trigger_id"), fresh=True, deal_name=deal)


def handle_home_start(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    flows.open_review(context["coach"], client, team_id=_team(body), user_id=body["user"]["id"],
                      trigger_id=body["trigger_id"])


def register(app: App) -> None:
    app.action(ActionId.BACK)(handle_back)
    app.action(ActionId.RESUME_DRAFT)(handle_resume)
    app.action(ActionId.START_FRESH)(handle_start_fresh)
    app.action(ActionId.START_REVIEW)(handle_home_start)
