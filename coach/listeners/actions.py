"""Buttons: back a step, resume or restart a draft, answer a nudge, and the Home tab's buttons.

Each handler acks, then hands the work to `coach.later` so Slack's answer
never waits for a Slack API call.
"""

import re
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient

from coach.flows import home as home_flows
from coach.flows import nudges as nudge_flows
from coach.flows import review as review_flows
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
    coach.later.submit(
        review_flows.go_back, coach, client, team_id=_team(body), user_id=body["user"]["id"], view=body["view"]
    )


def handle_rephrase(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    to = ((body.get("actions") or [{}])[0] or {}).get("value")
    coach.later.submit(
        review_flows.go_back, coach, client, team_id=_team(body), user_id=body["user"]["id"], view=body["view"], to=to
    )


def handle_resume(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        review_flows.show_draft,
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        view_id=_in_modal(body),
        trigger_id=body.get("trigger_id"),
        fresh=False,
    )


def handle_start_fresh(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    deal = parse_resume_meta((body.get("view") or {}).get("private_metadata"))
    coach.later.submit(
        review_flows.show_draft,
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        view_id=_in_modal(body),
        trigger_id=body.get("trigger_id"),
        fresh=True,
        deal_name=deal,
    )


def handle_home_start(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        review_flows.open_review,
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        trigger_id=body["trigger_id"],
    )


def handle_checklist_share(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        nudge_flows.share_from_checklist,
        coach,
        client,
        user_id=body["user"]["id"],
        value=action.get("value"),
        message=nudge_flows.message_of(body),
    )


def handle_meeting_done(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        nudge_flows.meeting_done,
        coach,
        client,
        user_id=body["user"]["id"],
        value=action.get("value"),
        message=nudge_flows.message_of(body),
    )


def handle_meeting_moved(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        nudge_flows.open_meeting_modal_for,
        coach,
        client,
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
        message=nudge_flows.message_of(body),
    )


def handle_self_check(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    if _in_modal(body):  # answered in the modal opened from Home
        coach.later.submit(
            home_flows.answer_self_check_in_modal,
            coach,
            client,
            team_id=_team(body),
            user_id=body["user"]["id"],
            action=action,
            view=body["view"],
        )
        return
    coach.later.submit(
        nudge_flows.answer_self_check,
        coach,
        client,
        user_id=body["user"]["id"],
        action=action,
        message=nudge_flows.message_of(body),
    )


def handle_recontact_record(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        nudge_flows.open_recontact_modal,
        coach,
        client,
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
        message=nudge_flows.message_of(body),
    )


# The Home tab ---------------------------------------------------------------------------


def handle_view_review(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        home_flows.open_review_detail,
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body.get("trigger_id"),
        view=body.get("view"),
    )


def handle_review_page(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        home_flows.open_review_page,
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body.get("trigger_id"),
        view=body.get("view"),
    )


def handle_edit_meeting(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        nudge_flows.open_meeting_modal_for,
        coach,
        client,
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
        message=None,
    )


def handle_log_win(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        home_flows.open_win_modal,
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        trigger_id=body["trigger_id"],
    )


def handle_answer_self_check(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    coach.later.submit(
        home_flows.open_self_check,
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
    )


def confirm_nudge_delivery(body: dict, context: dict, next: Callable[[], None]) -> None:  # noqa: A002 (Bolt's name)
    """Any button pressed on a nudge's DM settles a nudge whose send was in doubt (before the listener runs)."""
    clicked = nudge_flows.clicked_nudge(body) if body.get("type") == "block_actions" else None
    if clicked is not None:
        coach: Coach = context["coach"]
        coach.later.submit(nudge_flows.confirm_from_click, coach, user_id=body["user"]["id"], clicked=clicked)
    next()


def register(app: App) -> None:
    app.middleware(confirm_nudge_delivery)
    app.action(ActionId.BACK)(handle_back)
    app.action(ActionId.REPHRASE)(handle_rephrase)
    app.action(ActionId.RESUME_DRAFT)(handle_resume)
    app.action(ActionId.START_FRESH)(handle_start_fresh)
    app.action(ActionId.START_REVIEW)(handle_home_start)
    app.action(ActionId.CHECKLIST_SHARE)(handle_checklist_share)
    app.action(ActionId.MEETING_DONE)(handle_meeting_done)
    app.action(ActionId.MEETING_MOVED)(handle_meeting_moved)
    self_check = "|".join(
        re.escape(a) for a in (ActionId.SELF_CHECK_REPEATED, ActionId.SELF_CHECK_KEPT, ActionId.SELF_CHECK_REACTION)
    )
    app.action(re.compile(rf"^(?:{self_check}):"))(handle_self_check)
    app.action(ActionId.SELF_CHECK_MEETINGS)(handle_self_check)
    app.action(ActionId.RECONTACT_RECORD)(handle_recontact_record)
    app.action(ActionId.VIEW_REVIEW)(handle_view_review)
    pages = "|".join(re.escape(a) for a in (ActionId.OLDER_REVIEWS, ActionId.TEAM_REVIEWS, ActionId.REVIEWS_PAGE))
    app.action(re.compile(rf"^(?:{pages})(?::\w+)?$"))(handle_review_page)
    app.action(ActionId.EDIT_MEETING)(handle_edit_meeting)
    app.action(ActionId.LOG_WIN)(handle_log_win)
    app.action(ActionId.ANSWER_SELF_CHECK)(handle_answer_self_check)
