"""Answers to nudges in Slack: buttons on the DMs, the meeting and re-contact modals, `/lost meeting`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.flows.review import share_review
from coach.i18n import Translator
from coach.models import Review
from coach.nudges import messages
from coach.nudges.delivery import METADATA_EVENT
from coach.nudges.rules import NudgeKind
from coach.review import rules as review_rules
from coach.review.answers import answers_from_state
from coach.review.rules import Field, RecontactChoice
from coach.review.views import errors_payload
from coach.services import Coach
from coach.slack.ids import BlockId
from coach.slack.state import element_value

log = logging.getLogger(__name__)


# Quick taps on one self-check run in parallel after their acks. Within this instance, saving an answer and
# showing the message happen under a lock per review (striped), so each update shows every answer saved
# before it and the last one shown is the latest state, not an older rendering that reached Slack last.
# (Two instances behind a load balancer could still reorder two updates; the answers themselves are safe.)
_SELF_CHECK_LOCKS = [threading.Lock() for _ in range(64)]


def _t(review: Review) -> Translator:
    return Translator(review.locale, ZoneInfo(review.timezone))


def _review_id(value: str | None) -> int | None:
    """The review id a button's value starts with; None for anything else (a forged value may be a megabyte
    of digits, more than a database integer holds)."""
    head = str(value).split(":")[0]
    if len(head) > 18:
        return None
    try:
        return int(head)
    except (TypeError, ValueError):
        return None


def _update_message(client: WebClient, message: tuple[str, str] | None, content: messages.Message) -> None:
    """Show the answer in place; a failure is logged with its reason (the answer itself is saved)."""
    if not message:
        return
    text, blocks = content
    try:
        client.chat_update(channel=message[0], ts=message[1], text=text, blocks=blocks)
    except SlackApiError as e:
        log.error("chat.update of nudge message failed: %s", e.response.get("error"))


@dataclass(frozen=True)
class ClickedNudge:
    """A button pressed on a nudge's DM: which nudge (and plan) its metadata names, and where the DM is."""

    nudge_id: int
    plan: int | None
    channel: str
    ts: str


def clicked_nudge(body: dict) -> ClickedNudge | None:
    """The nudge whose DM carries the pressed button, or None for any other message."""
    meta = (body.get("message") or {}).get("metadata") or {}
    message = message_of(body)
    if meta.get("event_type") != METADATA_EVENT or message is None:
        return None
    payload = meta.get("event_payload") or {}
    try:
        plan = int(payload["plan"]) if payload.get("plan") is not None else None
        return ClickedNudge(int(payload.get("nudge_id")), plan, *message)
    except (TypeError, ValueError):
        return None


def confirm_from_click(coach: Coach, *, user_id: str, clicked: ClickedNudge) -> None:
    """A button pressed on a nudge's DM proves the DM arrived."""
    if coach.nudges.confirm_delivered(
        clicked.nudge_id, user_id, plan=clicked.plan, channel=clicked.channel, ts=clicked.ts, now=coach.clock()
    ):
        log.info("nudge %s was in doubt; the rep pressed a button on it, so it is recorded as sent", clicked.nudge_id)


def message_of(body: dict) -> tuple[str, str] | None:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return (channel, ts) if channel and ts else None


def _own_message(coach: Coach, review_id: int, user_id: str, message: tuple[str, str] | None) -> tuple[str, str] | None:
    """The clicked message, if it is this rep's nudge DM about this review as the app recorded it; else None.

    A click's `container` (and a modal's private_metadata) is the sender's to write: a forged, signed one
    must not point chat.update at another of the bot's messages (a managers' channel post, say).
    """
    owned = coach.nudges.own_message(review_id, user_id, message)
    if message and owned is None:
        log.warning("a click by %s named a message that is not its nudge's DM: not updating it", user_id)
    return owned


def share_from_checklist(coach: Coach, client: WebClient, *, user_id: str, value: str, message) -> None:
    review = coach.nudges.review(_review_id(value) or 0, user_id)
    if review is None:
        return
    review = share_review(coach, client, review)  # a double click shares once
    coach.nudges.mark_acted(review.id, user_id, NudgeKind.CHECKLIST, now=coach.clock())
    _update_message(
        client,
        _own_message(coach, review.id, user_id, message),
        messages.checklist_message(_t(review), review, sharing_available=bool(coach.settings.manager_channel)),
    )


def meeting_done(coach: Coach, client: WebClient, *, user_id: str, value: str, message) -> None:
    review = coach.nudges.mark_acted(_review_id(value) or 0, user_id, NudgeKind.PRE_MEETING, now=coach.clock())
    if review is not None:
        _update_message(
            client,
            _own_message(coach, review.id, user_id, message),
            messages.pre_meeting_message(_t(review), review, done=True),
        )
        coach.events.rep_changed(review.team_id, user_id)


def open_meeting_modal_for(
    coach: Coach, client: WebClient, *, user_id: str, value: str | None, trigger_id: str, message
) -> None:
    review = coach.nudges.review(_review_id(value) or 0, user_id)
    open_meeting_modal(
        coach,
        client,
        team_id=review.team_id if review else None,
        user_id=user_id,
        trigger_id=trigger_id,
        review=review,
        message=message,
    )


def open_meeting_modal(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    trigger_id: str,
    review: Review | None,
    message=None,
) -> bool:
    if review is None:
        return False
    client.views_open(trigger_id=trigger_id, view=messages.meeting_modal(_t(review), review, message=message))
    return True


def _modal_review(coach: Coach, view: dict, user_id: str) -> tuple[Review | None, tuple[str, str] | None]:
    """The review a nudge modal is about (only the rep's own), and the message to update."""
    meta = messages.parse_modal_meta(view.get("private_metadata"))
    if meta is None:
        return None, None
    review = coach.nudges.review(meta[0], user_id)
    return review, _own_message(coach, review.id, user_id, meta[1]) if review is not None else None


def submit_meeting(coach: Coach, ack: Ack, client: WebClient, *, user_id: str, view: dict) -> None:
    review, message = _modal_review(coach, view, user_id)
    if review is None:
        ack()
        return
    t = _t(review)
    answers = answers_from_state(view.get("state", {}).get("values", {}))
    meeting_at = answers.get(Field.NEXT_MEETING_AT)
    now = coach.clock()
    if meeting_at is None:
        ack(response_action="errors", errors={Field.NEXT_MEETING_AT: t._("Please fill this in.")})
        return
    if meeting_at <= now:
        ack(response_action="errors", errors={Field.NEXT_MEETING_AT: t._("Your next meeting must be in the future.")})
        return
    if review_rules.meeting_too_far(meeting_at, now):
        limit = review_rules.MAX_DAYS_TO_NEXT_MEETING
        error = review_rules.FieldError(Field.NEXT_MEETING_AT, review_rules.Problem.MEETING_TOO_FAR, limit)
        ack(response_action="errors", errors=errors_payload(t, [error]))
        return
    review = coach.nudges.move_meeting(review.id, user_id, meeting_at, now=now)
    ack()
    if review is not None:
        coach.later.submit(_confirm_meeting_moved, client, t, review, message)
        coach.events.rep_changed(review.team_id, user_id)


def _confirm_meeting_moved(client: WebClient, t: Translator, review: Review, message) -> None:
    user_id, meeting_at = review.user_id, review.next_meeting_at
    if message:
        text, blocks = messages.pre_meeting_message(t, review)
        _update_message(client, message, (text, blocks))
    else:
        try:
            client.chat_postMessage(channel=user_id, text=messages.meeting_moved_text(t, meeting_at))
        except SlackApiError as e:
            log.error("confirming the moved meeting to %s failed: %s", user_id, e.response.get("error"))


def answer_self_check(coach: Coach, client: WebClient, *, user_id: str, action: dict, message) -> None:
    action_id = action.get("action_id", "")
    question = {
        "self_check_repeated": "repeated",
        "self_check_kept": "kept",
        "self_check_reaction": "reaction",
        "self_check_meetings": "meetings",
    }.get(action_id.split(":")[0])
    # Buttons carry "review:answer" in value; the meetings select in its option value.
    raw = (
        (action.get("selected_option") or {}).get("value")
        if action.get("type") == "static_select"
        else action.get("value")
    )
    review_id, value = _review_id(raw), str(raw or "").partition(":")[2]
    if question is None or review_id is None or not value:
        return
    with _SELF_CHECK_LOCKS[review_id % len(_SELF_CHECK_LOCKS)]:
        state = coach.nudges.answer_self_check(review_id, user_id, question, value, now=coach.clock())
        if state is not None:
            _update_message(
                client,
                _own_message(coach, review_id, user_id, message),
                messages.self_check_message(_t(state.review), state.review, state.check, volume=state.volume),
            )
    if state is not None:
        coach.events.rep_changed(state.review.team_id, user_id)


def open_recontact_modal(
    coach: Coach, client: WebClient, *, user_id: str, value: str, trigger_id: str, message
) -> None:
    review = coach.nudges.review(_review_id(value) or 0, user_id)
    if review is not None:
        client.views_open(trigger_id=trigger_id, view=messages.recontact_modal(_t(review), review, message=message))


def submit_recontact(coach: Coach, ack: Ack, client: WebClient, *, user_id: str, view: dict) -> None:
    review, message = _modal_review(coach, view, user_id)
    if review is None:
        ack()
        return
    t = _t(review)
    values = view.get("state", {}).get("values", {})
    said = next((element_value(e) for e in (values.get(BlockId.CUSTOMER_SAID) or {}).values()), None)
    answers = answers_from_state(values)
    now = coach.clock()
    tz = ZoneInfo(review.timezone)
    if not (said or "").strip():
        ack(response_action="errors", errors={BlockId.CUSTOMER_SAID: t._("Please fill this in.")})
        return
    if len(said) > messages.CUSTOMER_SAID_MAX:
        ack(
            response_action="errors",
            errors={
                BlockId.CUSTOMER_SAID: t._(
                    "Please keep this under {limit} characters.", limit=messages.CUSTOMER_SAID_MAX
                )
            },
        )
        return
    choice_raw = answers.get(Field.RECONTACT_CHOICE) or RecontactChoice.SIX_MONTHS
    values_for_rules = {Field.RECONTACT_CHOICE: choice_raw, Field.RECONTACT_ON: answers.get(Field.RECONTACT_ON)}
    errors = [
        e
        for e in review_rules.validate_step(review_rules.Step.COMMIT, values_for_rules, now_utc=now, tz=tz)
        if e.field in (Field.RECONTACT_CHOICE, Field.RECONTACT_ON)
    ]
    if errors:
        ack(response_action="errors", errors=errors_payload(t, errors))
        return
    today = review_rules.local_today(now, tz)
    next_on = review_rules.recontact_date(RecontactChoice(choice_raw), today, answers.get(Field.RECONTACT_ON))
    review = coach.nudges.record_recontact(review.id, user_id, said=said.strip(), next_on=next_on, now=now)
    ack()
    if review is not None:
        coach.events.rep_changed(review.team_id, user_id)
    if review is not None and message:
        coach.later.submit(
            _update_message, client, message, messages.recontact_message(t, review, recorded=(said, next_on))
        )
