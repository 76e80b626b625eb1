"""`/lost digest` and `/lost export` in Slack: who asks decides the answer; the work comes after the ack.

The `*_reply` functions are called by the `/lost` listener's answer helper
(coach/listeners/commands.py) with the rep's translator and manager status,
either before the ack (when both are known without calling Slack) or right
after it; they return the ephemeral answer and hand any work to `coach.later`.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.digest import messages
from coach.digest.export import Scope, build_export
from coach.digest.period import Period, export_period, on_demand_period, parse_export_days
from coach.i18n import Translator
from coach.services import Coach
from coach.slack.client import api_method, post_message

log = logging.getLogger(__name__)

# /lost digest ---------------------------------------------------------------


def digest_needs_manager(coach: Coach) -> bool:
    return bool(coach.settings.manager_channel)


def digest_reply(coach: Coach, client: WebClient, command: dict, t: Translator, manager: bool | None) -> str:
    team_id, user_id = command.get("team_id"), command["user_id"]
    if not coach.settings.manager_channel:
        return messages.no_manager_channel_text(t)
    if manager is None:
        return messages.could_not_check_text(t)
    if not manager:
        return messages.digest_refused_text(t)
    period = on_demand_period(coach.clock())
    coach.later.submit(post_on_demand, coach, client, period=period, team_id=team_id, user_id=user_id)
    return messages.digest_on_its_way_text(t, coach.settings.manager_channel)


def post_on_demand(coach: Coach, client: WebClient, *, period: Period, team_id: str | None, user_id: str) -> None:
    result = coach.digests.run_on_demand(period, requested_by=user_id, team_id=team_id)
    if result.outcome in ("posted",):
        return
    t = coach.profiles.get(team_id, user_id).t
    _tell(client, user_id, messages.digest_failed_text(t, result.error or result.outcome))


# /lost export ---------------------------------------------------------------


def export_needs_manager(text: str) -> bool:
    """A usage hint needs no manager check; an export does (team or own)."""
    return parse_export_days(text) is not None


def export_reply(coach: Coach, client: WebClient, command: dict, t: Translator, manager: bool | None, text: str) -> str:
    """`text` is the command text, decoded ("export", "export 90")."""
    team_id, user_id = command.get("team_id") or "", command["user_id"]
    days = parse_export_days(text)
    if days is None:
        return messages.export_usage_text(t)
    # A manager gets the team's reviews. When the managers' channel cannot be read just now, the rep
    # still gets their own (all anyone may have without being a manager), and is told why.
    scope = Scope(team_id=team_id, user_id=None if manager else user_id, requester=user_id)
    coach.later.submit(
        send_export, coach, client, period=export_period(coach.clock(), days), days=days, scope=scope, user_id=user_id
    )
    on_its_way = messages.export_on_its_way_text(t, days, team=scope.user_id is None)
    if manager is None:
        return messages.export_own_only_text(t) + " " + on_its_way
    return on_its_way


def send_export(coach: Coach, client: WebClient, *, period: Period, days: int, scope: Scope, user_id: str) -> None:
    t = coach.profiles.get(scope.team_id, user_id).t
    with coach.db.session() as s:
        data, count = build_export(s, t, period, scope)
    try:
        # files.completeUploadExternal shares into a channel id, so open the DM first.
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        if not count:
            _tell(client, channel, messages.export_empty_text(t, days))
            return
        local_day = period.end.astimezone(t.tz)
        who = "team" if scope.user_id is None else "mine"
        client.files_upload_v2(
            channel=channel,
            file=data,
            filename=f"lost-deals-{who}-{local_day:%Y%m%d}-{days}d.csv",
            title=messages.export_title(t, days, team=scope.user_id is None),
            initial_comment=messages.export_comment(t, count, days, team=scope.user_id is None),
        )
        log.info("export of %d review(s) sent to %s", count, user_id)
    except SlackApiError as e:
        error = e.response.get("error") or f"http_{e.response.status_code}"
        log.error("export for %s failed: %s", user_id, error)
        if e.response.status_code >= 500 and api_method(e.response.api_url) == "files.completeUploadExternal":
            # Not retried (it may have shared the file): the CSV may be in the DM all the same.
            _tell(client, user_id, messages.export_maybe_failed_text(t, str(error)))
        else:
            _tell(client, user_id, messages.export_failed_text(t, str(error)))
    except Exception as e:
        log.error("export for %s failed: %s", user_id, type(e).__name__)
        _tell(client, user_id, messages.export_failed_text(t, type(e).__name__))


def _tell(client: WebClient, channel: str, text: str) -> None:
    """A short DM; post_message logs a failure and never posts it twice."""
    post_message(client, channel, text=text)
