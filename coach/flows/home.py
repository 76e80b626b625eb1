"""The Home tab and recovery in Slack: the read-only review, review lists, self-checks from Home,
`/lost won` and the "Log a win" modal.

Listeners translate payloads into these calls; the service answers the
queries (and decides who may read what), the views build Block Kit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.crm.messages import waiting_blocks
from coach.flows import nudges as nudge_flows
from coach.home.views import (
    WIN_DEAL_MAX,
    home_view,
    not_available_modal,
    parse_page_ref,
    review_list_modal,
    review_modal,
    self_check_modal,
    win_modal,
    win_too_long_text,
    won_message,
    won_usage_text,
)
from coach.i18n import Translator
from coach.review.views import opening_view
from coach.services import Coach
from coach.slack.client import post_message
from coach.slack.ids import BlockId, CallbackId
from coach.slack.state import element_value
from coach.wins.service import LoggedWin

log = logging.getLogger(__name__)

MAX_ID_DIGITS = 18  # a 64-bit integer


__all__ = [
    "publish_home",
    "refresh_home",
    "won_deal_ok",
    "won_refusal_text",
    "start_won",
    "log_win",
    "open_win_modal",
    "submit_win",
    "open_review_detail",
    "open_review_page",
    "open_self_check",
    "answer_self_check_in_modal",
]


def publish_home(coach: Coach, client: WebClient, team_id: str | None, user_id: str) -> dict | None:
    """Render the rep's Home (and the team view for a manager) and publish it."""
    profile = coach.profiles.get(team_id, user_id)
    now = coach.clock()
    rep = coach.home.rep_home(team_id, user_id, now=now, tz=profile.tz)
    manager = coach.managers.is_manager(user_id) is True
    team = coach.home.team_home(team_id, now=now) if manager else None
    waiting: list[dict] = []
    if manager and coach.crm_losses is not None:
        # Losses a CRM reported whose owner could not be found in Slack: kept, and shown to managers.
        waiting = waiting_blocks(profile.t, *coach.crm_losses.waiting())
    view = home_view(profile.t, rep, now=now, team=team, waiting=waiting)
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as e:
        log.error("views.publish of %s's Home failed: %s", user_id, e.response.get("error"))
        return None
    return view


def refresh_home(
    coach: Coach, client: WebClient, team_id: str | None, user_id: str | None, *, looking: bool = False
) -> None:
    """Publish the rep's Home after the ack: at once when they are `looking` (they opened the tab), else
    after everything else queued (a change made in a modal or a DM: nobody looks at Home meanwhile), and
    only if they have ever opened it."""
    if not user_id:
        return
    if looking:
        coach.home.note_opened(team_id, user_id)
    submit = coach.later.submit if looking else coach.later.submit_low
    coach.home_refresh.request(
        submit, (team_id or "", user_id), _refresh_home, coach, client, team_id, user_id, urgent=looking
    )


def _refresh_home(coach: Coach, client: WebClient, team_id: str | None, user_id: str) -> None:
    try:
        coach.home.save_openings(now=coach.clock())
    except Exception:
        # Kept in memory and stored by the next refresh; the rep who is looking still gets their Home.
        log.exception("storing which reps opened their Home failed")
    # A rep who never opened the tab has no Home to refresh: it is rendered when they first open it. (A burst
    # of first /lost commands would otherwise publish as many Homes that nobody sees.)
    if coach.home.has_opened(team_id, user_id):
        publish_home(coach, client, team_id, user_id)


def _int(value: Any) -> int | None:
    """A row id from a button's value; None for anything else (a forged value may be a megabyte of digits,
    more than a database integer holds)."""
    text = str(value)
    if len(text) > MAX_ID_DIGITS:
        return None
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _show(client: WebClient, view: dict, *, trigger_id: str | None, view_id: str | None) -> None:
    """In the modal the click came from, or a new one."""
    if view_id:
        client.views_update(view_id=view_id, view=view)
    elif trigger_id:
        client.views_open(trigger_id=trigger_id, view=view)


# The read-only review and the lists --------------------------------------------------------


def open_review_detail(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    value: str | None,
    trigger_id: str | None,
    view: dict | None = None,
) -> bool:
    """A review, read-only: the rep's own, or (for a manager) one of the team's. Anyone else sees a refusal."""
    t = coach.profiles.cached(team_id, user_id).t  # no Slack call before views.open
    review_id = _int(value)
    in_modal = view if view and view.get("type") == "modal" else None
    view_id = in_modal["id"] if in_modal else None
    detail = None
    if review_id is not None:
        detail = coach.home.visible_review(review_id, viewer_team=team_id, viewer_id=user_id, manager=False)
        if detail is None:
            manager, view_id = _manager_opened_first(coach, client, t, user_id, trigger_id, view_id)
            if manager is True:
                detail = coach.home.visible_review(review_id, viewer_team=team_id, viewer_id=user_id, manager=True)
    if detail is None:
        log.warning("review %s refused to %s: not theirs, and not their team's as a manager", value, user_id)
        _show(client, not_available_modal(t), trigger_id=trigger_id, view_id=view_id)
        return False
    back_to = None
    if in_modal and in_modal.get("callback_id") == CallbackId.REVIEW_LIST:
        back_to = parse_page_ref(in_modal.get("private_metadata"))
    _show(client, review_modal(t, detail, viewer_id=user_id, back_to=back_to), trigger_id=trigger_id, view_id=view_id)
    return True


def _manager_opened_first(
    coach: Coach, client: WebClient, t: Translator, user_id: str, trigger_id: str | None, view_id: str | None
) -> tuple[bool | None, str | None]:
    """Whether the rep is a manager, with no Slack call before a new modal is open: when that is not known
    without asking Slack, the modal opens first (saying so) and is filled in after. Returns (is_manager,
    the modal to show in: the one clicked in, the one just opened, or None to open one)."""
    known, manager = coach.managers.known(user_id)
    if known:
        return manager, view_id
    if not view_id and trigger_id:
        view_id = client.views_open(trigger_id=trigger_id, view=opening_view(t, text=t._("Opening…")))["view"]["id"]
    return coach.managers.is_manager(user_id), view_id


def open_review_page(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    value: str | None,
    trigger_id: str | None,
    view: dict | None = None,
) -> bool:
    """A page of the rep's reviews, or (managers only) of the team's."""
    t = coach.profiles.cached(team_id, user_id).t  # no Slack call before views.open
    in_modal = view["id"] if view and view.get("type") == "modal" else None
    ref = parse_page_ref(value)
    if ref is None:
        return False
    team, offset = ref
    manager = None
    if team:
        manager, in_modal = _manager_opened_first(coach, client, t, user_id, trigger_id, in_modal)
    if team and manager is not True:
        log.warning("team review list refused to %s: not a manager", user_id)
        _show(client, not_available_modal(t), trigger_id=trigger_id, view_id=in_modal)
        return False
    page = coach.home.review_page(team_id, None if team else user_id, offset=offset)
    _show(client, review_list_modal(t, page, now=coach.clock()), trigger_id=trigger_id, view_id=in_modal)
    return True


# The one-week self-check, answered from Home ---------------------------------------------


def open_self_check(
    coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, value: str | None, trigger_id: str
) -> bool:
    t = coach.profiles.cached(team_id, user_id).t  # no Slack call before views.open
    found = coach.home.own_self_check(_int(value) or 0, user_id)
    if found is None:
        client.views_open(trigger_id=trigger_id, view=not_available_modal(t))
        return False
    normal = coach.nudges.normal_week(team_id or "", user_id)
    client.views_open(trigger_id=trigger_id, view=self_check_modal(t, *found, normal))
    return True


def answer_self_check_in_modal(
    coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, action: dict, view: dict
) -> None:
    """The same answer as on the DM (saved by the nudge flow, which refreshes Home), shown in the modal."""
    nudge_flows.answer_self_check(coach, client, user_id=user_id, action=action, message=None)
    try:
        review_id = int(json.loads(view.get("private_metadata") or "")["review"])
    except (ValueError, KeyError, TypeError):
        return
    found = coach.home.own_self_check(review_id, user_id)
    if found is not None:
        t = coach.profiles.get(team_id, user_id).t
        normal = coach.nudges.normal_week(team_id or "", user_id)
        client.views_update(view_id=view["id"], view=self_check_modal(t, *found, normal))


# Recovery (復活): `/lost won` and the "Log a win" modal ----------------------------------------


def won_deal_ok(deal: str) -> bool:
    """`/lost won <deal>` names a deal of a length the win can keep."""
    return bool(deal) and len(deal) <= WIN_DEAL_MAX


def won_refusal_text(t: Translator, deal: str) -> str:
    """Why `/lost won <deal>` logs nothing: no deal named, or a name too long."""
    return won_usage_text(t) if not deal else win_too_long_text(t)


def start_won(coach: Coach, client: WebClient, command: dict, deal: str) -> None:
    """`/lost won <deal>` with a good deal name: the win is logged, the DM sent and Home refreshed after the ack."""
    coach.later.submit(
        log_win, coach, client, team_id=command.get("team_id"), user_id=command["user_id"], deal_name=deal
    )


def open_win_modal(coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, trigger_id: str) -> None:
    # In the language known now (cached, or the default): views.open is the first Slack call.
    client.views_open(trigger_id=trigger_id, view=win_modal(coach.profiles.cached(team_id, user_id).t))


def submit_win(coach: Coach, ack: Ack, client: WebClient, *, team_id: str | None, user_id: str, view: dict) -> None:
    values = (view.get("state") or {}).get("values") or {}
    raw = next((element_value(e) for e in (values.get(BlockId.WIN_DEAL) or {}).values() if isinstance(e, dict)), None)
    deal = (raw or "").strip()
    t = coach.profiles.cached(team_id, user_id).t
    if not deal:
        ack(response_action="errors", errors={BlockId.WIN_DEAL: t._("Please fill this in.")})
        return
    if len(deal) > WIN_DEAL_MAX:
        ack(
            response_action="errors",
            errors={BlockId.WIN_DEAL: t._("Please keep this under {limit} characters.", limit=WIN_DEAL_MAX)},
        )
        return
    ack()
    coach.later.submit(log_win, coach, client, team_id=team_id, user_id=user_id, deal_name=deal)


def log_win(coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, deal_name: str) -> LoggedWin:
    """Record the win (once), tell the rep how long the way back took, refresh Home."""
    profile = coach.profiles.get(team_id, user_id)
    win = coach.wins.log_win(team_id, user_id, deal_name, now=coach.clock(), tz=profile.tz)
    if win.created:
        log.info("win %s logged for %s: %s days since the last loss", win.id, user_id, win.days_since_loss)
        text, blocks = won_message(profile.t, win)
        post_message(client, user_id, text=text, blocks=blocks)
        coach.events.rep_changed(team_id, user_id)
    else:
        log.info("win %s for %s was logged already (double submit); nothing sent again", win.id, user_id)
    return win
