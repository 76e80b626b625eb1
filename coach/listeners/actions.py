"""Buttons: back a step, resume or restart a draft, answer a nudge, and the Home tab's buttons.

Each handler acks, then hands the work to `coach.later` so Slack's answer
never waits for a Slack API call.
"""

import re
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient

from coach.flows import crm as crm_flows
from coach.flows import home as home_flows
from coach.flows import nudges as nudge_flows
from coach.flows import review as review_flows
from coach.flows.modals import open_soon
from coach.listeners.middleware import BodyContextMiddleware
from coach.nudges.rules import NudgeKind
from coach.review.views import parse_resume_crm_loss, parse_resume_meta
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
    review_flows.resume_draft(
        context["coach"],
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        view_id=_in_modal(body),
        trigger_id=body.get("trigger_id"),
        received_at=context.get("received_at"),
        fresh=False,
    )


def handle_start_fresh(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    meta = (body.get("view") or {}).get("private_metadata")
    loss = parse_resume_crm_loss(meta)
    if loss is not None:  # the choice came from a CRM loss's "Review this loss": start that review
        coach.later.submit(
            crm_flows.start_loss_review_fresh,
            coach,
            client,
            team_id=_team(body),
            user_id=body["user"]["id"],
            view_id=_in_modal(body),
            loss_id=loss,
        )
        return
    deal = parse_resume_meta(meta)
    review_flows.resume_draft(
        coach,
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        view_id=_in_modal(body),
        trigger_id=body.get("trigger_id"),
        received_at=context.get("received_at"),
        fresh=True,
        deal_name=deal,
    )


def handle_crm_review(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    """The DM's "Review this loss" (a loss the CRM reported)."""
    ack()
    crm_flows.start_loss_review(
        context["coach"],
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        trigger_id=body["trigger_id"],
        loss_id=str(action.get("value") or ""),
        received_at=context.get("received_at"),
    )


def handle_home_start(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    review_flows.start_review(
        context["coach"],
        client,
        team_id=_team(body),
        user_id=body["user"]["id"],
        trigger_id=body["trigger_id"],
        received_at=context.get("received_at"),
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
    open_soon(
        coach,
        client,
        nudge_flows.open_meeting_modal_for,
        received_at=context.get("received_at"),
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


def _on_nudge_message(flow):
    """A button on a nudge's DM whose flow needs the rep, the button's value and the message."""

    def handle(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
        ack()
        coach: Coach = context["coach"]
        coach.later.submit(
            flow,
            coach,
            client,
            user_id=body["user"]["id"],
            value=action.get("value"),
            message=nudge_flows.message_of(body),
        )

    handle.__name__ = f"handle_{flow.__name__}"
    return handle


def _opening_modal(flow):
    """A button on a nudge's DM that opens a modal (the trigger id is needed within 3 seconds)."""

    def handle(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
        ack()
        open_soon(
            context["coach"],
            client,
            flow,
            received_at=context.get("received_at"),
            user_id=body["user"]["id"],
            value=action.get("value"),
            trigger_id=body["trigger_id"],
            message=nudge_flows.message_of(body),
        )

    handle.__name__ = f"handle_{flow.__name__}"
    return handle


def handle_book_meeting(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    open_soon(
        context["coach"],
        client,
        nudge_flows.open_meeting_modal_for,
        received_at=context.get("received_at"),
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
        message=nudge_flows.message_of(body),
        origin=NudgeKind.BOOK_MEETING,
    )


def handle_normal_week(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    in_modal = _in_modal(body)
    open_soon(
        context["coach"],
        client,
        nudge_flows.open_normal_week_modal,
        received_at=context.get("received_at"),
        team_id=_team(body),
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
        message=None if in_modal else nudge_flows.message_of(body),
        parent_view_id=in_modal,
    )


def handle_recontact_record(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    open_soon(
        coach,
        client,
        nudge_flows.open_recontact_modal,
        received_at=context.get("received_at"),
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
        message=nudge_flows.message_of(body),
    )


# The Home tab ---------------------------------------------------------------------------


def _open_or_update(coach: Coach, client: WebClient, body: dict, context: dict, flow: Callable, **kwargs) -> None:
    """In the modal clicked in (no deadline), or a new modal that opens first (coach/flows/modals.py)."""
    kwargs.update(
        team_id=_team(body), user_id=body["user"]["id"], trigger_id=body.get("trigger_id"), view=body.get("view")
    )
    if _in_modal(body):
        coach.later.submit(flow, coach, client, **kwargs)
    else:
        open_soon(coach, client, flow, received_at=context.get("received_at"), **kwargs)


def handle_view_review(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    _open_or_update(coach, client, body, context, home_flows.open_review_detail, value=action.get("value"))


def handle_review_page(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    _open_or_update(coach, client, body, context, home_flows.open_review_page, value=action.get("value"))


def handle_edit_meeting(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    open_soon(
        coach,
        client,
        nudge_flows.open_meeting_modal_for,
        received_at=context.get("received_at"),
        user_id=body["user"]["id"],
        value=action.get("value"),
        trigger_id=body["trigger_id"],
        message=None,
    )


def handle_log_win(ack: Ack, body: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    open_soon(
        coach,
        client,
        home_flows.open_win_modal,
        received_at=context.get("received_at"),
        team_id=_team(body),
        user_id=body["user"]["id"],
        trigger_id=body["trigger_id"],
    )


def handle_answer_self_check(ack: Ack, body: dict, action: dict, client: WebClient, context: dict) -> None:
    ack()
    coach: Coach = context["coach"]
    open_soon(
        coach,
        client,
        home_flows.open_self_check,
        received_at=context.get("received_at"),
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
    app.use(BodyContextMiddleware(confirm_nudge_delivery))
    app.action(ActionId.BACK)(handle_back)
    app.action(ActionId.REPHRASE)(handle_rephrase)
    app.action(ActionId.RESUME_DRAFT)(handle_resume)
    app.action(ActionId.START_FRESH)(handle_start_fresh)
    app.action(ActionId.START_REVIEW)(handle_home_start)
    app.action(ActionId.CRM_REVIEW_LOSS)(handle_crm_review)
    app.action(ActionId.CHECKLIST_SHARE)(handle_checklist_share)
    app.action(ActionId.MEETING_DONE)(handle_meeting_done)
    app.action(ActionId.MEETING_MOVED)(handle_meeting_moved)
    self_check = "|".join(
        re.escape(a) for a in (ActionId.SELF_CHECK_REPEATED, ActionId.SELF_CHECK_KEPT, ActionId.SELF_CHECK_REACTION)
    )
    app.action(re.compile(rf"^(?:{self_check}):"))(handle_self_check)
    for counted in (ActionId.SELF_CHECK_MEETINGS, ActionId.SELF_CHECK_APPOINTMENTS, ActionId.SELF_CHECK_PROSPECTS):
        app.action(counted)(handle_self_check)
    app.action(ActionId.FOLLOWUP_RECORD)(_opening_modal(nudge_flows.open_followup_modal))
    app.action(ActionId.FOLLOWUP_UNREACHABLE)(_on_nudge_message(nudge_flows.followup_unreachable))
    app.action(ActionId.MANAGER_TALKED)(_on_nudge_message(nudge_flows.talked_to_manager))
    app.action(ActionId.KEEP_CHANGE)(_on_nudge_message(nudge_flows.keep_change))
    app.action(ActionId.REVISE_CHANGE)(_opening_modal(nudge_flows.open_change_modal))
    app.action(ActionId.PREP_READY)(_on_nudge_message(nudge_flows.prep_ready))
    app.action(ActionId.BOOK_MEETING)(handle_book_meeting)
    app.action(ActionId.NORMAL_WEEK_EDIT)(handle_normal_week)
    app.action(ActionId.RECONTACT_RECORD)(handle_recontact_record)
    app.action(ActionId.VIEW_REVIEW)(handle_view_review)
    pages = "|".join(re.escape(a) for a in (ActionId.OLDER_REVIEWS, ActionId.TEAM_REVIEWS, ActionId.REVIEWS_PAGE))
    app.action(re.compile(rf"^(?:{pages})(?::\w+)?$"))(handle_review_page)
    app.action(ActionId.EDIT_MEETING)(handle_edit_meeting)
    app.action(ActionId.LOG_WIN)(handle_log_win)
    app.action(ActionId.ANSWER_SELF_CHECK)(handle_answer_self_check)
