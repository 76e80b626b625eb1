"""The composition root: every service built once from Settings, and wired together.

Settings → database → Slack clients → services (`Coach`) → Bolt → WSGI, the
nudge dispatcher and the digest, and who listens to what (`coach.events`).
Nothing else in the app constructs a service; tests build the same
Application the process runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App

from coach.app.bolt import build_bolt_app
from coach.app.jobs import start_scheduler
from coach.background import BackgroundWork, Coalesced
from coach.config import Settings
from coach.crm.hubspot import HubSpotCrm
from coach.crm.inbox import CrmInbox
from coach.crm.rules import parse_lost_stages
from coach.crm.service import CrmLossService
from coach.db import Database, upgrade_database
from coach.digest.service import Digester
from coach.events import Events
from coach.flows import crm as crm_flows
from coach.flows.home import refresh_home
from coach.home.service import HomeService
from coach.listeners.commands import LostFastPath
from coach.nudges.dispatcher import Dispatcher, DispatchPolicy
from coach.nudges.outbox import Policy, ReviewNudgePlanner
from coach.nudges.service import NudgeService
from coach.review.service import ReviewService
from coach.services import Coach
from coach.slack.call_process import CallProcess
from coach.slack.client import make_client
from coach.slack.emails import EmailDirectory
from coach.slack.managers import ManagerDirectory
from coach.slack.profiles import Profiles
from coach.web import build_wsgi_app
from coach.wins.service import WinService


@dataclass
class Application:
    coach: Coach
    bolt: App
    wsgi: Callable
    dispatcher: Dispatcher
    digester: Digester

    def start_call_process(self) -> CallProcess | None:
        """The second process that opens modals (SLACK_CALL_PROCESS; coach/slack/call_process.py), attached
        to the app's client; None when the setting is off."""
        settings = self.coach.settings
        if not settings.slack_call_process:
            return None
        client = self.coach.client
        process = CallProcess(
            settings.slack_bot_token.get_secret_value(),
            settings.slack_api_url,
            timeout=client.timeout,
            log_level=settings.log_level,
        ).start()
        client.call_process = process
        return process

    def start_jobs(self) -> BackgroundScheduler:
        """Every scheduled job: the nudge dispatcher's tick, the managers' digest, and CRM losses."""
        settings = self.coach.settings
        coach = self.coach
        return start_scheduler(
            self.dispatcher,
            settings.scheduler_tick_seconds,
            digester=self.digester,
            digest_cron=settings.digest_cron,
            team_timezone=settings.team_timezone,
            crm_work=(lambda: crm_flows.work(coach, coach.client)) if coach.crm_losses is not None else None,
        )


def build_coach(settings: Settings, db: Database) -> Coach:
    token = settings.slack_bot_token.get_secret_value()
    client = make_client(token, settings.slack_api_url)
    policy = Policy.from_settings(settings)
    events = Events()
    coach = Coach(
        settings=settings,
        db=db,
        client=client,
        profiles=Profiles(client, default_locale=settings.default_locale, default_tz=settings.default_timezone),
        reviews=ReviewService(db, ReviewNudgePlanner(policy)),
        nudges=NudgeService(db, policy),
        wins=WinService(db),
        later=BackgroundWork(),
        home=HomeService(db),
        managers=ManagerDirectory(client, manager_ids=settings.manager_ids, channel=settings.manager_channel),
        # The same Digester serves the cron job and `/lost digest`; it reads the coach's clock.
        digests=Digester.from_settings(settings, db, client, clock=lambda: coach.clock()),
        events=events,
    )
    # The Home tab follows the rep's data: review, nudge and win flows announce changes, Home republishes.
    events.on_rep_changed(lambda team_id, user_id: refresh_home(coach, coach.client, team_id, user_id))
    if settings.hubspot_client_secret or settings.crm_webhook_secret:
        coach.crm_losses = CrmLossService(db)
        coach.emails = EmailDirectory(client)
        # One pass at a time per instance: requests that store losses keep the database and the CPU.
        coach.crm_passes = Coalesced(coach.later, lambda: crm_flows.work(coach, coach.client), limit=1)
        if settings.hubspot_access_token:
            coach.hubspot = HubSpotCrm(
                access_token=settings.hubspot_access_token.get_secret_value(),
                api_url=settings.hubspot_api_url,
                lost_reason_property=settings.hubspot_lost_reason_property,
                competitor_property=settings.hubspot_competitor_property,
            )
        # A finished review may go back to the CRM: the write-back runs after the rep's summary, on its own.
        events.on_review_finished(lambda review: crm_flows.kick(coach, coach.client))
    return coach


def crm_routes(coach: Coach) -> dict:
    """POST /crm/hubspot and /crm/webhook, each only when its secret is set."""
    if coach.crm_losses is None:
        return {}
    settings = coach.settings
    inbox = CrmInbox(
        coach.crm_losses,
        clock=lambda: coach.clock(),
        hubspot_client_secret=settings.hubspot_client_secret.get_secret_value()
        if settings.hubspot_client_secret
        else None,
        lost_stages=parse_lost_stages(settings.hubspot_lost_stages),
        webhook_secret=settings.crm_webhook_secret.get_secret_value() if settings.crm_webhook_secret else None,
        on_stored=lambda: crm_flows.kick(coach, coach.client),
    )
    return inbox.routes()


def create_application(settings: Settings, *, upgrade: bool = True) -> Application:
    """Everything wired, on a database upgraded to the latest revision."""
    if upgrade:
        upgrade_database(settings.database_url)
    db = Database(settings.database_url)
    coach = build_coach(settings, db)
    bolt = build_bolt_app(coach)
    # The dispatcher handles 429s, 5xx and timeouts itself, so its client has no retry handlers.
    dispatcher = Dispatcher(
        db,
        make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url, retries="none"),
        DispatchPolicy.from_settings(settings, quiet=coach.nudges.policy.quiet),
        clock=lambda: coach.clock(),
    )
    return Application(
        coach=coach,
        bolt=bolt,
        wsgi=build_wsgi_app(bolt, db, crm_routes(coach), fast_path=LostFastPath(coach)),
        dispatcher=dispatcher,
        digester=coach.digests,
    )
