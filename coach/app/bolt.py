"""The Bolt app: services in the context, listeners registered, one error handler."""

from __future__ import annotations

import json
import logging

from slack_bolt import App, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from coach.i18n import Translator
from coach.inbound import clean_request
from coach.listeners import register_listeners
from coach.listeners.commands import command_failed
from coach.listeners.middleware import BodyContextMiddleware
from coach.review.views import error_view, parse_meta_locale, submission_failed_text
from coach.services import Coach

log = logging.getLogger(__name__)


def _first_input(view: dict) -> str | None:
    """The block id of the submitted view's first input block (where an inline error can be shown)."""
    blocks = view.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        if (
            isinstance(block, dict)
            and block.get("type") == "input"
            and isinstance(block.get("block_id"), str)
            and block["block_id"]
        ):
            return block["block_id"]
    return None


def _client_holds_the_token(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN itself and, given a client too, warns at every start that the token goes
    unused: the client is made with that very token."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_bolt_app(coach: Coach) -> App:
    bolt_log = logging.getLogger("slack_bolt.App")
    bolt_log.addFilter(_client_holds_the_token)
    try:
        app = App(
            client=coach.client,
            signing_secret=coach.settings.slack_signing_secret.get_secret_value(),
            # No auth.test at start-up: the app starts without reaching Slack.
            token_verification_enabled=False,
            # Listeners run in the request thread and answer Slack as soon as they
            # return; anything slow after the ack goes to `coach.later`. (Bolt's
            # default would queue every ack behind earlier listeners' work.)
            process_before_response=True,
        )
    finally:
        bolt_log.removeFilter(_client_holds_the_token)

    # First of all: the payload's text made storable, and the moment it arrived noted (coach/inbound.py).
    app.use(BodyContextMiddleware(clean_request))

    def provide_services(body: dict, context: dict, next) -> None:  # noqa: A002 (Bolt's argument name)
        # Work continues after the ack in `coach.later`, so a per-request DB
        # session would be closed under it; each service call is its own
        # unit of work instead.
        context["coach"] = coach
        # Listeners call Slack through the app's client, whose connections are kept alive
        # (coach/slack/transport.py), not through the plain client Bolt makes for each request.
        context["client"] = coach.client
        next()

    app.use(BodyContextMiddleware(provide_services))

    @app.error
    def friendly_failure(error: Exception, body: dict, logger: logging.Logger) -> BoltResponse:
        kind = body.get("type") or ("slash_command" if "command" in body else "unknown")
        logger.exception("listener failed on %s: %s", kind, type(error).__name__)
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        t = coach.profiles.cached((body.get("team") or {}).get("id") or body.get("team_id"), user or "").t
        if kind == "view_submission":
            view = body.get("view") if isinstance(body.get("view"), dict) else {}
            found = parse_meta_locale(view.get("private_metadata"))
            if found is not None:
                t = Translator(*found)
            block_id = _first_input(view)
            if block_id:
                # Keep the modal and everything typed in it: an inline note asks the rep to press again.
                body_json = {"response_action": "errors", "errors": {block_id: submission_failed_text(t)}}
            else:
                body_json = {"response_action": "update", "view": error_view(t)}
            return BoltResponse(status=200, body=json.dumps(body_json), headers={"content-type": "application/json"})
        if kind == "slash_command":
            return command_failed(coach, body)
        return BoltResponse(status=200, body="")

    register_listeners(app)
    return app
