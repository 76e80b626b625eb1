"""`/lost digest` and `/lost export` in Slack: check who asks, ack at once, work after the ack."""

from __future__ import annotations

import logging
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.digest import messages
from coach.digest.export import Scope, build_export
from coach.digest.period import Period, export_period, on_demand_period, parse_export_days
from coach.services import Coach

log = logging.getLogger(__name__)

Ack = Callable[..., Any]

# /lost digest ---------------------------------------------------------------

def handle_digest_command(coach: Coach, ack: Ack, client: WebClient, command: dict) -> None:
    team_id, user_id = command.get("team_id"), command["user_id"]
    t = coach.profiles.get(team_id, user_id).t
    if not coach.settings.manager_channel:
        ack(response_type="ephemeral", text=messages.no_manager_channel_text(t))
        return
    manager = coach.managers.is_manager(user_id)
    if manager is None:
        ack(response_type="ephemeral", text=messages.could_not_check_text(t))
        return
    if not manager:
        ack(response_type="ephemeral", text=messages.digest_refused_text(t))
        return
    period = on_demand_period(coach.clock())
    ack(response_type="ephemeral", text=messages.digest_on_its_way_text(t, coach.settings.manager_channel))
    coach.later.submit(post_on_demand, coach, client, period=period, team_id=team_id, user_id=user_id)


def post_on_demand(coach: Coach, client: WebClient, *, period: Period, team_id: str | None, user_id: str) -> None:
    result = coach.digests.run_on_demand(period, requested_by=user_id, team_id=team_id)
    if result.outcome in ("posted",):
        return
    t = coach.profiles.get(team_id, user_id).t
    try:
        client.chat_postMessage(channel=user_id, text=messages.digest_failed_text(t, result.error or result.outcome))
    except SlackApiError as e:
        log.error("could not tell %s the digest failed: %s", user_id, e.response.get("error"))


# /lost export ---------------------------------------------------------------

def handle_export_command(coach: Coach, ack: Ack, client: WebClient, command: dict) -> None:
    team_id, user_id = command.get("team_id") or "", command["user_id"]
    t = coach.profiles.get(team_id, user_id).t
    days = parse_export_days((command.get("text") or "").strip())
    if days is None:
        ack(response_type="ephemeral", text=messages.export_usage_text(t))
        return
    manager = coach.managers.is_manager(user_id)
    if manager is None:
        ack(response_type="ephemeral", text=messages.could_not_check_text(t))
        return
    scope = Scope(team_id=team_id, user_id=None if manager else user_id)
    ack(response_type="ephemeral", text=messages.export_on_its_way_text(t, days, team=scope.user_id is None))
    coach.later.submit(send_export, coach, client, period=export_period(coach.clock(), days), days=days,
                       scope=scope, user_id=user_id)


def send_export(coach: Coach, client: WebClient, *, period: Period, days: int, scope: Scope, user_id: str) -> None:
    t = coach.profiles.get(scope.team_id, user_id).t
    with coach.db.session() as s:
        data, count = build_export(s, t, period, scope)
    try:
        # files.completeUploadExternal shares into a channel id, so open the DM first.
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        if not count:
            client.chat_postMessage(channel=channel, text=messages.export_empty_text(t, days))
            return
        local_day = period.end.astimezone(t.tz)
        who = "team" if scope.user_id is None else "mine"
        client.files_upload_v2(
            channel=channel, file=data, filename=f"lost-deals-{who}-{local_day:%Y%m%d}-{days}d.csv",
            title=messages.export_title(t, days, team=scope.user_id is None),
            initial_comment=messages.export_comment(t, count, days, team=scope.user_id is None),
        )
        log.info("export of %d review(s) sent to %s", count, user_id)
    except SlackApiError as e:
        error = e.response.get("error") or f"http_{e.response.status_code}"
        log.error("export for %s failed: %s", user_id, error)
        _tell(client, user_id, messages.export_failed_text(t, str(error)))
    except Exception as e:
        log.error("export for %s failed: %s", user_id, type(e).__name__)
        _tell(client, user_id, messages.export_failed_text(t, type(e).__name__))


def _tell(client: WebClient, user_id: str, text: str) -> None:
    try:
        client.chat_postMessage(channel=user_id, text=text)
    except Exception as e:
        log.error("could not tell %s: %s", user_id, getattr(e, "response", e))
