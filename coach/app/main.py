"""The process: settings, the database upgraded, the app wired (`wiring`), served, its jobs started."""

from __future__ import annotations

import gc
import logging
import sys
import threading
from typing import NoReturn

from slack_sdk.errors import SlackApiError

from coach.app.wiring import Application, create_application
from coach.config import ConfigError, load_settings
from coach.db import upgrade_database
from coach.logs import configure_logging
from coach.web import create_http_server

log = logging.getLogger("coach")


def http_server(application: Application, host: str, port: int):
    """waitress with the app's limits (coach/web.py), bound to host:port (an OSError here: the port is taken
    or not ours to use)."""
    return create_http_server(application.wsgi, host, port)


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
    calls = application.start_call_process()  # after any stop above: nothing to start for a failed start
    scheduler = application.start_jobs()
    # Everything built so far lives as long as the app: left out of full collections (16 to 61 ms each here
    # when they walked it), which then walk only what requests leave behind.
    gc.freeze()
    try:
        if server is not None:
            # In Socket Mode, Slack's requests come over the socket; HTTP still answers /healthz.
            log.info("health checks: http://%s:%d/healthz", settings.host, settings.port)
            server.run()
        else:
            threading.Event().wait()
    finally:
        scheduler.shutdown(wait=False)
        if calls is not None:
            calls.stop()
        if socket_mode is not None:
            socket_mode.close()
