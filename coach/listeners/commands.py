"""`/lost`: open the review, or answer a subcommand.

Bolt answers Slack when this listener returns (`process_before_response`),
so nothing here calls Slack before the ack. Every subcommand's ephemeral
answer goes through `answer`: inline in the ack when the rep's language and
(if the answer depends on it) manager status are already known; otherwise
the ack goes at once and the same answer follows through the command's
`response_url`, from `coach.later`.

Every `/lost` reaches `handle_lost` through `LostFastPath`, before Bolt routes the request (coach/web.py):
the signature checked and the payload cleaned as Bolt's chain does, in about 60% of its CPU. One Python
thread runs at a time, and under a burst of `/lost` the work before each `views.open` is what the last
rep's modal waits for (scripts/bench_ack.py measures it). Bolt's own route to `handle_lost` stays for
whatever the fast path leaves to it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from coach.flows import digest as digest_flows
from coach.flows import home as home_flows
from coach.flows import nudges as nudge_flows
from coach.flows import review as review_flows
from coach.flows.modals import open_soon
from coach.i18n import Translator
from coach.inbound import scrub
from coach.nudges.messages import no_review_text
from coach.review.messages import help_text, something_went_wrong_text, unknown_subcommand_text
from coach.services import Coach
from coach.slack.client import make_webhook
from coach.slack.ids import COMMAND

log = logging.getLogger(__name__)

# What an answer is made from: the rep's translator and, when asked for, whether they are a manager
# (None: the managers' channel could not be read).
Compose = Callable[[Translator, bool | None], str]

# Slack escapes exactly these three in a slash command's text (its mrkdwn control characters).
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# A single lowercase ASCII word that is no subcommand gets the help ("halp"); anything else
# ("Acme renewal", "Report", "アクメ社") is a deal name to prefill.
_UNKNOWN_WORD = re.compile(r"^[a-z]+$")
_DAYS = re.compile(r"^\d+$")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"  # how Slack sends a slash command


def decode_text(text: str) -> str:
    """`AT&amp;T` → `AT&T`; in one pass, so a typed `&amp;lt;` stays `&lt;`."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


@dataclass(frozen=True)
class Parsed:
    sub: str | None  # help, meeting, digest, export, won, new, "unknown"; None: a review (arg: the deal name)
    arg: str


def parse_text(raw: str) -> Parsed:
    """Subcommands are case-insensitive (`/lost Help`, a phone capitalises the first letter), except
    where a capitalised word reads better as the start of a deal name: `/lost New Relic renewal`,
    `/lost Export Development Canada`, `/lost Digest Media` prefill those names; `/lost New help`
    is still the way to name a deal "help"."""
    text = decode_text(raw).strip()
    if not text:
        return Parsed(None, "")
    first, *more = text.split(None, 1)  # any whitespace, the ideographic space too
    rest = more[0].strip() if more else ""
    word = first.lower()
    typed_lower = first == word
    if word in ("help", "meeting") and not rest:
        return Parsed(word, "")
    if word == "digest" and (typed_lower or not rest):
        return Parsed("digest", rest)
    if word == "export" and (typed_lower or not rest or _DAYS.match(rest)):
        return Parsed("export", rest)
    if word == "won":
        return Parsed("won", rest)
    if word == "new" and (typed_lower or not rest or parse_text(rest).sub not in (None, "unknown")):
        return Parsed("new", rest)
    if not rest and _UNKNOWN_WORD.match(first):
        return Parsed("unknown", first)
    return Parsed(None, text)


# The one way a subcommand answers --------------------------------------------------------------


def answer(coach: Coach, ack: Ack, command: dict, compose: Compose, *, needs_manager: bool = False) -> None:
    """Answer `command` with one ephemeral message in the rep's language, without calling Slack before the ack.

    When the rep's profile is cached and (with `needs_manager`) their manager status is known
    (MANAGER_USER_IDS, or a fresh membership cache), the answer is the ack itself. Otherwise the ack
    goes now, empty, and `compose` runs after it with the profile and status fetched from Slack; its
    answer is posted to the command's response_url. `compose` may hand work to `coach.later`.
    """
    team_id, user_id = command.get("team_id"), command["user_id"]
    profile = coach.profiles.peek(team_id, user_id)
    known, manager = coach.managers.known(user_id) if needs_manager else (True, None)
    url = command.get("response_url")
    if (profile is not None and known) or not url:
        # (No response_url, which Slack always sends, leaves only the ack: the best known now.)
        t = (profile or coach.profiles.fallback(user_id)).t
        ack(response_type="ephemeral", text=compose(t, manager))
        return
    ack()
    coach.later.submit(_answer_after_ack, coach, command, compose, needs_manager)


def _answer_after_ack(coach: Coach, command: dict, compose: Compose, needs_manager: bool) -> None:
    team_id, user_id = command.get("team_id"), command["user_id"]
    t = coach.profiles.get(team_id, user_id).t
    try:
        text = compose(t, coach.managers.is_manager(user_id) if needs_manager else None)
    except Exception:
        log.exception("answering /lost for %s failed", user_id)
        text = something_went_wrong_text(t)
    send_ephemeral(command["response_url"], text)


def send_ephemeral(response_url: str, text: str) -> bool:
    """Post an ephemeral answer to a command's response_url; False (logged) when Slack did not take it."""
    try:
        resp = make_webhook(response_url).send(text=text, response_type="ephemeral")
    except Exception as e:  # timeouts, connection errors
        log.error("answer to response_url failed: %s", type(e).__name__)
        return False
    if resp.status_code != 200:
        log.error("answer to response_url refused: %s %s", resp.status_code, resp.body)
        return False
    return True


# /lost ------------------------------------------------------------------------------------------


def handle_lost(ack: Ack, command: dict, client: WebClient, context: dict) -> None:
    coach: Coach = context["coach"]
    team_id, user_id = command.get("team_id"), command["user_id"]
    parsed = parse_text(command.get("text") or "")
    sub, arg = parsed.sub, parsed.arg
    if sub == "help":
        answer(coach, ack, command, lambda t, _: help_text(t))
    elif sub == "unknown":
        answer(coach, ack, command, lambda t, _: unknown_subcommand_text(t, arg))
    elif sub == "meeting":
        _move_meeting(coach, ack, client, command, context.get("received_at"))
    elif sub == "digest":
        answer(
            coach,
            ack,
            command,
            lambda t, manager: digest_flows.digest_reply(coach, client, command, t, manager),
            needs_manager=digest_flows.digest_needs_manager(coach),
        )
    elif sub == "export":
        text = f"export {arg}".strip()
        answer(
            coach,
            ack,
            command,
            lambda t, manager: digest_flows.export_reply(coach, client, command, t, manager, text),
            needs_manager=digest_flows.export_needs_manager(text),
        )
    elif sub == "won" and home_flows.won_deal_ok(arg):
        ack()
        home_flows.start_won(coach, client, command, arg)
    elif sub == "won":
        answer(coach, ack, command, lambda t, _: home_flows.won_refusal_text(t, arg))
    else:  # a review: `/lost`, `/lost Acme renewal`, `/lost new help`
        ack()
        review_flows.start_review(
            coach,
            client,
            team_id=team_id,
            user_id=user_id,
            trigger_id=command["trigger_id"],
            received_at=context.get("received_at"),
            deal_name=arg or None,
        )


def command_failed(coach: Coach, command: Mapping) -> BoltResponse:
    """The ack of a `/lost` whose listener failed: "something went wrong", to the rep alone (never a 500)."""
    t = coach.profiles.cached(command.get("team_id"), command.get("user_id") or "").t
    body = json.dumps({"response_type": "ephemeral", "text": something_went_wrong_text(t)})
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})


class LostFastPath:
    """`/lost` answered without Bolt's routing (see the module doc): `handle_lost` called with the command as
    Bolt would pass it, once the request is shown to be a signed `/lost` form from Slack. Anything else
    (unsigned, stale, another command, a body that is no form) gets None: Bolt answers it, as before."""

    def __init__(self, coach: Coach) -> None:
        self._coach = coach
        self._verifier = SignatureVerifier(coach.settings.slack_signing_secret.get_secret_value())

    def __call__(self, body: str, headers: Mapping[str, str]) -> BoltResponse | None:
        received_at = time.monotonic()
        # (A form's text inputs and an interaction's payload hold "=" only escaped: no other body has this.)
        if "command=" not in body or not headers.get("content-type", "").startswith(FORM_CONTENT_TYPE):
            return None
        # (coach/web.py has refused a timestamp that is no number: `is_valid` would raise on it.)
        if not self._verifier.is_valid(
            body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        ):
            return None
        # Parsed and cleaned as Bolt and the app's first middleware (coach/inbound.py) would.
        command = scrub(dict(parse_qsl(body, keep_blank_values=True)))
        if command.get("command") != COMMAND:
            return None
        ack = Ack()
        try:
            handle_lost(ack, command, self._coach.client, {"coach": self._coach, "received_at": received_at})
        except Exception as e:
            log.exception("listener failed on slash_command: %s", type(e).__name__)
            return command_failed(self._coach, command)
        return ack.response or BoltResponse(status=200, body="")


def _move_meeting(coach: Coach, ack: Ack, client: WebClient, command: dict, received_at: float | None) -> None:
    """`/lost meeting`: set or move the next meeting of the latest review."""
    team_id, user_id = command.get("team_id"), command["user_id"]
    review = coach.nudges.latest_review(team_id, user_id)
    if review is None:
        answer(coach, ack, command, lambda t, _: no_review_text(t))
        return
    ack()
    open_soon(
        coach,
        client,
        nudge_flows.open_meeting_modal,
        received_at=received_at,
        team_id=team_id,
        user_id=user_id,
        trigger_id=command["trigger_id"],
        review=review,
    )


def register(app: App) -> None:
    app.command(COMMAND)(handle_lost)
