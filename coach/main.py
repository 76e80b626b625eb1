"""Wiring: settings → database (upgraded) → Slack client → services → Bolt → server."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from coach.config import ConfigError, Settings, load_settings
from coach.db import Database, upgrade_database
from coach.digest.service import Digester
from coach.logs import configure_logging
from coach.nudges.dispatcher import Dispatcher
from coach.nudges.scheduler import start_scheduler
from coach.services import Coach
from coach.slack.bolt import build_bolt_app
from coach.slack.client import make_client
from coach.web import build_wsgi_app

log = logging.getLogger("coach")


@dataclass
class Application:
    coach: Coach
    bolt: App
    wsgi: Callable
    dispatcher: Dispatcher
    digester: Digester


def create_application(settings: Settings, *, upgrade: bool = True) -> Application:
    """Everything wired, on a database upgraded to the latest revision."""
    if upgrade:
        upgrade_database(settings.database_url)
    db = Database(settings.database_url)
    client = make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    coach = Coach.build(settings, db, client)
    bolt = build_bolt_app(coach)
    # The dispatcher handles 429s, 5xx and timeouts itself, so its client has no retry handlers.
    dispatcher = Dispatcher(
        db,
        make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url, retries="none"),
        clock=lambda: coach.clock(),
        batch_size=settings.nudge_batch_size,
        max_attempts=settings.nudge_max_attempts,
        lease=timedelta(seconds=settings.nudge_lease_seconds),
        messages_per_second=settings.slack_messages_per_second,
        locale_default=settings.default_locale,
        sharing_available=bool(settings.manager_channel),
        quiet=coach.nudges.policy.quiet,
        lookups_per_minute=settings.slack_lookups_per_minute,
    )
    # The managers' digest: the same Digester serves the cron job and `/lost digest`.
    return Application(
        coach=coach, bolt=bolt, wsgi=build_wsgi_app(bolt, db), dispatcher=dispatcher, digester=coach.digests
    )


def http_server(application: Application, host: str, port: int):
    """waitress, bound to host:port (an OSError here: the port is taken or not ours to use)."""
    from waitress.server import create_server

    return create_server(application.wsgi, host=host, port=port, threads=16, ident="lost-deal-coach")


def _stop(message: str) -> NoReturn:
    """One clear line for the operator, no traceback."""
    print(message, file=sys.stderr)
    sys.exit(2)


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as e:
        _stop(str(e))
    configure_logging(settings.log_level)
    try:
        upgrade_database(settings.database_url)
    except Exception as e:
        _stop(f"Could not upgrade the database at DATABASE_URL: {type(e).__name__}: {e}")
    try:
        application = create_application(settings, upgrade=False)
    except Exception as e:
        _stop(f"Could not start the app: {type(e).__name__}: {e}")
    server = None
    try:
        server = http_server(application, settings.host, settings.port)
    except OSError as e:
        where = f"{settings.host}:{settings.port} (HOST, PORT): {e.strerror or e}"
        if not settings.slack_app_token:
            _stop(f"Could not listen on {where}")
        # Socket Mode needs no port: only the health endpoint is lost.
        log.warning("no /healthz: could not listen on %s", where)
    socket_mode = None
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("connecting to Slack in Socket Mode")
        socket_mode = SocketModeHandler(application.bolt, settings.slack_app_token.get_secret_value())
        try:
            socket_mode.connect()
        except SlackApiError as e:
            _stop(f"Could not connect to Slack in Socket Mode: {e.response.get('error')} (check SLACK_APP_TOKEN)")
        except Exception as e:  # Slack unreachable
            _stop(f"Could not connect to Slack in Socket Mode: {type(e).__name__}: {e}")
        log.info("connected to Slack in Socket Mode")
    else:
        log.info("serving Slack requests on http://%s:%d/slack/events", settings.host, settings.port)
    scheduler = start_scheduler(
        application.dispatcher,
        settings.scheduler_tick_seconds,
        digester=application.digester,
        digest_cron=settings.digest_cron,
        team_timezone=settings.team_timezone,
    )
    try:
        if server is not None:
            # In Socket Mode, Slack's requests come over the socket; HTTP still answers /healthz.
            log.info("health checks: http://%s:%d/healthz", settings.host, settings.port)
            server.run()
        else:
            threading.Event().wait()
    finally:
        scheduler.shutdown(wait=False)
        if socket_mode is not None:
            socket_mode.close()
