"""Answers to nudges in Slack: buttons on the DMs, the meeting and re-contact modals, `/lost meeting`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.flows.review import share_review, summary_content
from coach.home.views import self_check_modal
from coach.i18n import Translator
from coach.inbound import clean_text
from coach.models import Review
from coach.nudges import messages, rules
from coach.nudges.delivery import METADATA_EVENT
from coach.nudges.rules import FollowUpOutcome, NudgeKind
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
    coach: Coach,
    client: WebClient,
    *,
    user_id: str,
    value: str | None,
    trigger_id: str,
    message,
    origin: str | None = None,
) -> None:
    """`origin`: the nudge whose message the button is on (book_meeting, prep), so its answer fits it; a
    button's value may name it too ("<review>:prep")."""
    review = coach.nudges.review(_review_id(value) or 0, user_id)
    origin = origin or str(value or "").partition(":")[2]
    origin = origin if origin in (NudgeKind.BOOK_MEETING, NudgeKind.PREP) else None
    open_meeting_modal(
        coach,
        client,
        team_id=review.team_id if review else None,
        user_id=user_id,
        trigger_id=trigger_id,
        review=review,
        message=message,
        origin=origin,
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
    origin: str | None = None,
) -> bool:
    if review is None:
        return False
    view = messages.meeting_modal(_t(review), review, message=message, origin=origin)
    client.views_open(trigger_id=trigger_id, view=view)
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
        origin = messages.parse_modal_origin(view.get("private_metadata"))
        lead = coach.settings.reminder_lead_minutes
        coach.later.submit(_confirm_meeting_moved, client, t, review, message, origin, lead)
        coach.events.rep_changed(review.team_id, user_id)


def _confirm_meeting_moved(
    client: WebClient, t: Translator, review: Review, message, origin: str | None = None, lead: int = 60
) -> None:
    """The message the rep pressed "moved" (or "book") on now shows the new time; without one, a DM says so."""
    user_id, meeting_at = review.user_id, review.next_meeting_at
    if message:
        if origin == NudgeKind.BOOK_MEETING:
            content = messages.book_meeting_message(t, review)
        elif origin == NudgeKind.PREP:
            content = messages.prep_message(t, review, lead_minutes=lead)
        else:
            content = messages.pre_meeting_message(t, review)
        _update_message(client, message, content)
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
        "self_check_appointments": "appointments",
        "self_check_prospects": "prospects",
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
                messages.self_check_message(_t(state.review), state.review, state.check, normal=state.normal),
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


# The follow-up call (失注後フォロー) ------------------------------------------------------------


def _clean(text: str | None) -> str:
    """Typed text as the database can keep it (`coach.inbound.clean_text`), trimmed."""
    return clean_text(text or "").strip()


def open_followup_modal(
    coach: Coach, client: WebClient, *, user_id: str, value: str | None, trigger_id: str, message
) -> None:
    review = coach.nudges.review(_review_id(value) or 0, user_id)
    if review is None:
        return
    followup = coach.nudges.followup(review.id, user_id)
    client.views_open(
        trigger_id=trigger_id, view=messages.followup_modal(_t(review), review, followup, message=message)
    )


def followup_unreachable(coach: Coach, client: WebClient, *, user_id: str, value: str | None, message) -> None:
    """Could not reach them, or a call was not the right thing: recorded, and the door stays open."""
    review_id = _review_id(value) or 0
    existing = coach.nudges.followup(review_id, user_id)
    if existing is not None and existing.outcome == FollowUpOutcome.RECORDED:
        return  # what the customer said is kept; a stale button on an old message changes nothing
    recorded = coach.nudges.record_followup(review_id, user_id, FollowUpOutcome.UNREACHABLE, {}, now=coach.clock())
    if recorded is None:
        return
    review, followup = recorded
    _update_message(client, message, messages.followup_call_message(_t(review), review, followup))
    coach.events.rep_changed(review.team_id, user_id)


def submit_followup(coach: Coach, ack: Ack, client: WebClient, *, user_id: str, view: dict) -> None:
    """What the customer said: their biggest reason is required; every answer within its limit."""
    review, message = _modal_review(coach, view, user_id)
    if review is None:
        ack()
        return
    t = _t(review)
    values = view.get("state", {}).get("values", {})
    answers = {
        str(block): _clean(next((element_value(e) for e in (values.get(block) or {}).values()), None))
        for block in messages.FOLLOWUP_BLOCKS
    }
    errors = {}
    for block, text in answers.items():
        if len(text) > messages.FOLLOWUP_MAX:
            errors[block] = t._("Please keep this under {limit} characters.", limit=messages.FOLLOWUP_MAX)
    if not answers[BlockId.BIGGEST_REASON]:
        errors[BlockId.BIGGEST_REASON] = t._("Please fill this in.")
    if errors:
        ack(response_action="errors", errors=errors)
        return
    recorded = coach.nudges.record_followup(review.id, user_id, FollowUpOutcome.RECORDED, answers, now=coach.clock())
    ack()
    if recorded is None:
        return
    review, followup = recorded
    coach.later.submit(_show_followup, coach, client, review, followup, message)
    coach.events.rep_changed(review.team_id, user_id)


def _show_followup(coach: Coach, client: WebClient, review: Review, followup, message) -> None:
    """The follow-up DM and the review's summary (in the same DM) show what the customer said."""
    t = _t(review)
    _update_message(client, message, messages.followup_call_message(t, review, followup))
    if message and review.summary_ts:
        _update_message(client, (message[0], review.summary_ts), summary_content(coach, review, followup=followup))


# The 3-day message: the manager talk and 結論を急がない ---------------------------------------------


def _show_checklist(coach: Coach, client: WebClient, review: Review, message) -> None:
    content = messages.checklist_message(_t(review), review, sharing_available=bool(coach.settings.manager_channel))
    _update_message(client, message, content)


def talked_to_manager(coach: Coach, client: WebClient, *, user_id: str, value: str | None, message) -> None:
    review = coach.nudges.talked_to_manager(_review_id(value) or 0, user_id, now=coach.clock())
    if review is not None:
        _show_checklist(coach, client, review, message)
        coach.events.rep_changed(review.team_id, user_id)


def keep_change(coach: Coach, client: WebClient, *, user_id: str, value: str | None, message) -> None:
    review = coach.nudges.keep_change(_review_id(value) or 0, user_id, now=coach.clock())
    if review is not None:
        _show_checklist(coach, client, review, message)
        coach.events.rep_changed(review.team_id, user_id)


def open_change_modal(
    coach: Coach, client: WebClient, *, user_id: str, value: str | None, trigger_id: str, message
) -> None:
    review = coach.nudges.review(_review_id(value) or 0, user_id)
    if review is not None:
        client.views_open(trigger_id=trigger_id, view=messages.change_modal(_t(review), review, message=message))


def submit_change(coach: Coach, ack: Ack, client: WebClient, *, user_id: str, view: dict) -> None:
    """Revise the one change, checked as the review's last step checks it (exactly one); its reminders re-planned."""
    review, message = _modal_review(coach, view, user_id)
    if review is None:
        ack()
        return
    t = _t(review)
    answers = answers_from_state(view.get("state", {}).get("values", {}))
    values = {Field.CHANGE_CODE: answers.get(Field.CHANGE_CODE), Field.CHANGE_OWN: answers.get(Field.CHANGE_OWN)}
    now = coach.clock()
    errors = [
        e
        for e in review_rules.validate_step(review_rules.Step.COMMIT, values, now_utc=now, tz=ZoneInfo(review.timezone))
        if e.field in (Field.CHANGE_CODE, Field.CHANGE_OWN)
    ]
    if errors:
        ack(response_action="errors", errors=errors_payload(t, errors))
        return
    code = values[Field.CHANGE_CODE]
    code = code if code in review_rules.ChangeSuggestion.__members__.values() else None
    own = _clean(values[Field.CHANGE_OWN])
    review = coach.nudges.revise_change(review.id, user_id, code=code, text=own, now=now)
    ack()
    if review is not None:
        coach.later.submit(_show_checklist, coach, client, review, message)
        coach.events.rep_changed(review.team_id, user_id)


# The prep list --------------------------------------------------------------------------------


def prep_ready(coach: Coach, client: WebClient, *, user_id: str, value: str | None, message) -> None:
    review = coach.nudges.mark_acted(_review_id(value) or 0, user_id, NudgeKind.PREP, now=coach.clock())
    if review is not None:
        lead = coach.settings.reminder_lead_minutes
        _update_message(client, message, messages.prep_message(_t(review), review, lead_minutes=lead, done=True))
        coach.events.rep_changed(review.team_id, user_id)


# The normal week (METHOD §5) ---------------------------------------------------------------------


def open_normal_week_modal(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    value: str | None,
    trigger_id: str,
    message,
    parent_view_id: str | None = None,
) -> None:
    """The normal-week form, from the summary, the self-check (DM or Home modal) or the Home tab. From a modal
    (the self-check opened on Home) it is pushed on top, and that modal shows the comparison once saved.
    The rep's language as known now (no users.info before views.open: the trigger lasts 3 seconds)."""
    t = coach.profiles.cached(team_id, user_id).t
    normal = coach.nudges.normal_week(team_id or "", user_id)
    view = messages.normal_week_modal(t, normal, origin=value, message=message, parent_view_id=parent_view_id)
    if parent_view_id:
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)


def submit_normal_week(
    coach: Coach, ack: Ack, client: WebClient, *, team_id: str | None, user_id: str, view: dict
) -> None:
    profile = coach.profiles.cached(team_id, user_id)
    lang = messages.parse_modal_lang(view.get("private_metadata"))
    t = Translator(lang, profile.tz) if lang else profile.t
    values = view.get("state", {}).get("values", {})
    counts: dict[str, int] = {}
    errors: dict[str, str] = {}
    for activity, block in messages.NORMAL_WEEK_BLOCKS.items():
        raw = next((element_value(e) for e in (values.get(block) or {}).values()), None)
        count = rules.parse_count(raw)
        if count is None:
            errors[block] = t._("Please enter a whole number from 0 to {limit}.", limit=rules.MAX_ACTIVITY)
        else:
            counts[activity] = count
    if errors:
        ack(response_action="errors", errors=errors)
        return
    normal = coach.nudges.set_normal_week(team_id or "", user_id, counts, now=coach.clock())
    ack()
    origin, message, parent = messages.parse_normal_week_meta(view.get("private_metadata"))
    coach.later.submit(_show_normal_week, coach, client, user_id, normal, origin, message, parent)
    coach.events.rep_changed(team_id, user_id)


def _show_normal_week(
    coach: Coach,
    client: WebClient,
    user_id: str,
    normal: dict,
    origin: str | None,
    message,
    parent_view_id: str | None = None,
) -> None:
    """What the form was opened from shows the comparison (a self-check, on a DM or in the Home's modal) or
    stops asking (a summary)."""
    if not origin or not (message or parent_view_id):
        return
    kind, _, ref = origin.partition(":")
    review_id = _review_id(ref)
    if review_id is None:
        return
    if kind == "self_check":
        state = coach.nudges.self_check_state(review_id, user_id)
        if state is None:
            return
        t = _t(state.review)
        if parent_view_id:
            view = self_check_modal(t, state.review, state.check, normal)
            try:
                client.views_update(view_id=parent_view_id, view=view)
            except SlackApiError as e:
                log.error("views.update of the self-check modal failed: %s", e.response.get("error"))
        else:
            _update_message(client, message, messages.self_check_message(t, state.review, state.check, normal=normal))
    elif kind == "summary":
        review = coach.nudges.review(review_id, user_id)
        if review is not None:
            followup = coach.nudges.followup(review.id, user_id)
            _update_message(client, message, summary_content(coach, review, followup=followup))
