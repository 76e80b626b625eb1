"""Modal submissions and closes: the review steps, the nudges' modals, logging a win."""

from slack_bolt import Ack, App
from slack_sdk import WebClient

from coach.flows import home as home_flows
from coach.flows import nudges as nudge_flows
from coach.flows import review as review_flows
from coach.services import Coach
from coach.slack.ids import CallbackId


def _team(body: dict) -> str | None:
    return (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")


def handle_step_submission(ack: Ack, body: dict, view: dict, client: WebClient, context: dict) -> None:
    review_flows.submit_step(context["coach"], ack, client, team_id=_team(body), user_id=body["user"]["id"], view=view)


def handle_step_closed(ack: Ack, body: dict, view: dict, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    review_flows.keep_closed_draft(coach, user_id=body["user"]["id"], view=view)


def handle_meeting_submission(ack: Ack, body: dict, view: dict, client: WebClient, context: dict) -> None:
    nudge_flows.submit_meeting(context["coach"], ack, client, user_id=body["user"]["id"], view=view)


def handle_recontact_submission(ack: Ack, body: dict, view: dict, client: WebClient, context: dict) -> None:
    nudge_flows.submit_recontact(context["coach"], ack, client, user_id=body["user"]["id"], view=view)


def handle_win_submission(ack: Ack, body: dict, view: dict, client: WebClient, context: dict) -> None:
    home_flows.submit_win(context["coach"], ack, client, team_id=_team(body), user_id=body["user"]["id"], view=view)


def handle_followup_submission(ack: Ack, body: dict, view: dict, client: WebClient, context: dict) -> None:
    nudge_flows.submit_followup(context["coach"], ack, client, user_id=body["user"]["id"], view=view)


def handle_change_submission(ack: Ack, body: dict, view: dict, client: WebClient, context: dict) -> None:
    nudge_flows.submit_change(context["coach"], ack, client, user_id=body["user"]["id"], view=view)


def handle_normal_week_submission(ack: Ack, body: dict, view: dict, client: WebClient, context: dict) -> None:
    nudge_flows.submit_normal_week(
        context["coach"], ack, client, team_id=_team(body), user_id=body["user"]["id"], view=view
    )


def register(app: App) -> None:
    app.view_submission(CallbackId.REVIEW_STEP)(handle_step_submission)
    app.view_closed(CallbackId.REVIEW_STEP)(handle_step_closed)
    app.view_submission(CallbackId.MEETING)(handle_meeting_submission)
    app.view_submission(CallbackId.RECONTACT)(handle_recontact_submission)
    app.view_submission(CallbackId.WIN)(handle_win_submission)
    app.view_submission(CallbackId.FOLLOWUP)(handle_followup_submission)
    app.view_submission(CallbackId.CHANGE)(handle_change_submission)
    app.view_submission(CallbackId.NORMAL_WEEK)(handle_normal_week_submission)
