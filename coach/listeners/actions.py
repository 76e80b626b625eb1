"""Buttons: back a step, resume or restart a draft, start a review from Home, answer a nudge.

Each handler acks, then hands the work to `coach.later` so Slack's answer
never waits for a Slack API call.
"""

import re

from slack_bolt import Ack, App
from slack_sdk import WebClient

from coach.nudges import flows as nudge_flows
from coach.review import flows
from coach.review.views import parse_resume_meta
from coach.services import Coach
from coach.slack.ids import ActionId


def _team(body: dict) -> str | None:
    return (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")


def _in_modal(body: dict) -> str | None:
    view = body.get("view") or {}
    return view.get("id") if view.get("type") == "modal" else None


def handle_back(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(flows.go_back, coach, client, team_id=_team(body), user_id=body["user"]["id"],
                       view=body["view"])


def handle_resume(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(flows.show_draft, coach, client, team_id=_team(body), user_id=body["user"]["id"],
                       view_id=_in_modal(body), trigger_id=body.get("trigger_id"), fresh=False)


def handle_start_fresh(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    deal = parse_resume_meta((body.get("view") or {}).get("private_metadata"))
    coach.later.submit(flows.show_draft, coach, client, team_id=_team(body), user_id=body["user"]["id"],
                       view_id=_in_modal(body), trigger_id=body.get("trigger_id"), fresh=True, deal_name=deal)


def handle_home_start(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(flows.open_review, coach, client, team_id=_team(body), user_id=body["user"]["id"],
                       trigger_id=body["trigger_id"])


def handle_checklist_share(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(nudge_flows.share_from_checklist, coach, client, user_id=body["user"]["id"],
                       value=action.get("value"), message=nudge_flows.message_of(body))


def handle_meeting_done(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(nudge_flows.meeting_done, coach, client, user_id=body["user"]["id"],
                       value=action.get("value"), message=nudge_flows.message_of(body))


def handle_meeting_moved(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(nudge_flows.open_meeting_modal_for, coach, client, user_id=body["user"]["id"],
                       value=action.get("value"), trigger_id=body["trigger_id"],
                       message=nudge_flows.message_of(body))


def handle_self_check(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(nudge_flows.answer_self_check, coach, client, user_id=body["user"]["id"], action=action,
                       message=nudge_flows.message_of(body))


def handle_recontact_record(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(nudge_flows.open_recontact_modal, coach, client, user_id=body["user"]["id"],
                       value=action.get("value"), trigger_id=body["trigger_id"],
                       message=nudge_flows.message_of(body))


def register(app: App) -> None:
    app.action(ActionId.BACK)(handle_back)
    app.action(ActionId.RESUME_DRAFT)(handle_resume)
    app.action(ActionId.START_FRESH)(handle_start_fresh)
    app.action(ActionId.START_REVIEW)(handle_home_start)
    app.action(ActionId.CHECKLIST_SHARE)(handle_checklist_share)
    app.action(ActionId.MEETING_DONE)(handle_meeting_done)
    app.action(ActionId.MEETING_MOVED)(handle_meeting_moved)
    self_check = "|".join(re.escape(a) for a in (ActionId.SELF_CHECK_REPEATED, ActionId.SELF_CHECK_KEPT,
                                                 ActionId.SELF_CHECK_REACTION))
    app.action(re.compile(rf"^(?:{self_check}):"))(handle_self_check)
    app.action(ActionId.SELF_CHECK_MEETINGS)(handle_self_check)
    app.action(ActionId.RECONTACT_RECORD)(handle_recontact_record)
