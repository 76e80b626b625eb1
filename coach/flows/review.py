"""The review flow in Slack: open, step, go back, close, finish, deliver.

Listeners translate payloads into these calls; these orchestrate the
service (storage), the rules and the Slack client.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from coach.background import trigger_too_old
from coach.blockkit import context
from coach.i18n import Translator
from coach.models import Review, ReviewDraft
from coach.review import answers as answer_codec
from coach.review import rules
from coach.review.answers import answers_from_state
from coach.review.messages import manager_share_message, sharing_not_configured_text, summary_message
from coach.review.rules import Field, Step
from coach.review.service import Incomplete
from coach.review.views import (
    error_view,
    errors_payload,
    form_too_late_message,
    opening_view,
    parse_meta,
    parse_meta_locale,
    resume_view,
    review_step_view,
)
from coach.services import Coach
from coach.slack.call_process import STOPPED_BEFORE_ANSWERING, CallProcessStopped
from coach.slack.client import Posted, post_message, send_soon
from coach.slack.profiles import Profile

log = logging.getLogger(__name__)


def _step_view(
    coach: Coach,
    profile: Profile,
    step: Step,
    draft_id: int,
    answers: dict[Field, Any],
    errors: list[rules.FieldError] | None = None,
    link: str | None = None,
) -> dict:
    today = rules.local_today(coach.clock(), profile.tz)
    return review_step_view(profile.t, step, draft_id, answers, today=today, errors=errors or (), link=link)


def step_view(coach: Coach, profile: Profile, draft: ReviewDraft) -> dict:
    """The draft's current step, with the link to the deal when a CRM started the review."""
    link = draft.answers.get(answer_codec.DEAL_LINK)
    return _step_view(coach, profile, Step(draft.step), draft.id, answer_codec.from_json(draft.answers), link=link)


def modal_profile(coach: Coach, team_id: str | None, user_id: str, view: dict, draft_id: int | None = None) -> Profile:
    """The rep's language and zone for answering a review modal, without calling Slack.

    A submission must be answered within Slack's 3 seconds, and `users.info` on a cold cache (another
    instance, a restart) can take longer. The modal carries what it was opened with; an older modal
    falls back to what its draft was started with, then to whatever is cached (or the defaults).
    """
    found = parse_meta_locale(view.get("private_metadata"))
    if found is not None:
        return Profile(user_id, *found)
    if draft_id is not None:
        draft = coach.reviews.get_draft(draft_id, user_id)
        if draft is not None and draft.locale and draft.timezone:
            try:
                return Profile(user_id, draft.locale, ZoneInfo(draft.timezone))
            except (ZoneInfoNotFoundError, ValueError):
                pass
    return coach.profiles.cached(team_id, user_id)


def start_review(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    trigger_id: str,
    received_at: float | None,
    deal_name: str | None = None,
    fill: Callable[..., Any] | None = None,
) -> None:
    """`/lost`, the shortcut and Home's button: the modal opens first and is filled in after (`open_then_fill`)
    by `fill`: `fill_review` (the open draft to resume, or a new one) unless told otherwise. A modal that
    cannot open gets the rep the one-tap DM to their draft."""
    who = {"team_id": team_id, "user_id": user_id, "deal_name": deal_name}
    open_then_fill(
        coach,
        client,
        team_id=team_id,
        user_id=user_id,
        trigger_id=trigger_id,
        received_at=received_at,
        fill=partial(fill or fill_review, coach, client, **who),
        too_late=partial(form_too_late, coach, client, **who),
    )


def resume_draft(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    view_id: str | None,
    trigger_id: str | None,
    received_at: float | None,
    fresh: bool,
    deal_name: str | None = None,
) -> None:
    """ "Resume" / "Start fresh": in the open modal (no deadline), or in a new one that opens first."""
    if view_id or not trigger_id:
        coach.later.submit(
            show_draft,
            coach,
            client,
            team_id=team_id,
            user_id=user_id,
            target={"view_id": view_id},
            fresh=fresh,
            deal_name=deal_name,
        )
        return
    start_review(
        coach,
        client,
        team_id=team_id,
        user_id=user_id,
        trigger_id=trigger_id,
        received_at=received_at,
        deal_name=deal_name,
        fill=partial(show_draft, fresh=fresh),
    )


def open_then_fill(
    coach: Coach,
    client: WebClient,
    *,
    trigger_id: str,
    received_at: float | None,
    team_id: str | None,
    user_id: str,
    fill: Callable[..., Any],
    too_late: Callable[[], Any],
) -> None:
    """Open the review modal as the first Slack call, in the language known now (cached, or the default), then
    `fill(target=...)` it from the ordinary queue (`views.update` has no deadline).

    When the call process is ready, this thread (the listener's) hands it the `views.open` and goes on: the
    answer's arrival queues the filling-in, and no thread waits on Slack meanwhile. Otherwise the openers'
    threads make the call (coach/background.py). A trigger past its budget is not spent on a doomed call,
    and one Slack refuses gets the rep `too_late()` (the one-tap DM) instead; the draft is kept either way.
    """
    received_at = received_at if received_at is not None else time.monotonic()
    t = coach.profiles.cached(team_id, user_id).t
    # The external id finds the modal even when Slack opened it but its answer was lost (a retry after a 5xx
    # then ends in exchanged_trigger_id, with no view id).
    external_id = f"review-{hashlib.sha256(trigger_id.encode()).hexdigest()[:40]}"
    request = {"trigger_id": trigger_id, "view": opening_view(t, external_id)}
    opened = partial(_opened, coach, user_id=user_id, external_id=external_id, fill=fill, too_late=too_late)
    on_openers = partial(
        coach.later.open_modal, _open, client, request, opened, received_at=received_at, too_late=too_late
    )
    sent = None if trigger_too_old(received_at) else send_soon(client, "views.open", request)
    if sent is None:
        on_openers()
    else:
        coach.later.opening_sent(sent, then=partial(_answered, opened=opened, again=on_openers))


def _open(client: WebClient, request: dict, opened: Callable[..., None]) -> None:
    """On an opener's thread: the views.open, made and waited for."""
    try:
        response = client.views_open(**request)
    except SlackApiError as e:
        opened(error=e)
    else:
        opened(response=response)


def _answered(answered: Future, *, opened: Callable[..., None], again: Callable[[], Any]) -> None:
    """The call process's answer to a views.open it was handed (on the thread that reads its answers)."""
    try:
        response = answered.result()
    except SlackApiError as e:
        opened(error=e)
    except CallProcessStopped:
        # Made again from an opener's thread, in the app's own process: safe (a modal Slack had opened
        # then gives exchanged_trigger_id).
        log.warning("views.open: %s; making the call here", STOPPED_BEFORE_ANSWERING)
        again()
    else:
        opened(response=response)


def _opened(
    coach: Coach,
    *,
    user_id: str,
    external_id: str,
    fill: Callable[..., Any],
    too_late: Callable[[], Any],
    response: SlackResponse | None = None,
    error: SlackApiError | None = None,
) -> None:
    """Slack answered the views.open: fill the modal it opened in, or tell the rep it could not open."""
    if error is None:
        target = {"view_id": response["view"]["id"]}
    elif error.response.get("error") == "exchanged_trigger_id":
        log.info("views.open for %s: the modal had opened on the first try", user_id)
        target = {"external_id": external_id}
    else:
        # Usually the 3-second trigger window passed while Slack or we were busy: the rep must not be left
        # wondering. The draft is kept and one tap opens it.
        log.warning("views.open for %s failed: %s", user_id, error.response.get("error"))
        coach.later.submit(too_late)
        return
    coach.later.submit(fill, target=target)


def fill_review(
    coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, target: dict, deal_name: str | None = None
) -> None:
    """The opened modal becomes the rep's review, in their own language: the draft to resume, or a new one."""
    profile = coach.profiles.get(team_id, user_id)
    draft, created = coach.reviews.open_or_start_draft(
        team_id, user_id, now=coach.clock(), deal_name=deal_name, locale=profile.locale, tz=profile.tz
    )
    if created:
        view = _step_view(coach, profile, Step.FACTS, draft.id, answer_codec.from_json(draft.answers))
    else:
        started = profile.t.datetime(draft.started_at)
        view = resume_view(profile.t, draft.id, draft.answers.get(Field.DEAL_NAME), started, prefill=deal_name)
    fill_view(client, target, view, user_id)
    if created:
        coach.events.rep_changed(team_id, user_id)  # the new draft shows on Home, with its resume button


def fill_view(client: WebClient, target: dict, view: dict, user_id: str) -> None:
    try:
        client.views_update(**target, view=view)
    except SlackApiError as e:
        # not_found: the rep closed the modal before it was filled in. The draft is kept either way.
        log.info("filling in the review modal of %s failed: %s", user_id, e.response.get("error"))


def form_too_late(coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, deal_name: str | None = None):
    """The modal could not open in time: keep (or start) the draft and DM the rep one tap that opens it."""
    profile = coach.profiles.get(team_id, user_id)
    draft, created = coach.reviews.open_or_start_draft(
        team_id, user_id, now=coach.clock(), deal_name=deal_name, locale=profile.locale, tz=profile.tz
    )
    text, blocks = form_too_late_message(profile.t, draft.id)
    post_message(client, user_id, text=text, blocks=blocks)
    if created:
        coach.events.rep_changed(team_id, user_id)


def show_draft(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    target: dict,
    fresh: bool,
    deal_name: str | None = None,
) -> None:
    """Resume the draft at its step, or replace it with a fresh one, in the modal `target` names."""
    profile = coach.profiles.get(team_id, user_id)
    draft = None if fresh else coach.reviews.open_draft(team_id, user_id)
    started = draft is None
    if draft is None:
        draft = coach.reviews.start_draft(
            team_id, user_id, now=coach.clock(), deal_name=deal_name, locale=profile.locale, tz=profile.tz
        )
    view = step_view(coach, profile, draft)
    if any(target.values()):
        fill_view(client, target, view, user_id)
    if started:
        coach.events.rep_changed(team_id, user_id)


def submit_step(coach: Coach, ack: Ack, client: WebClient, *, team_id: str, user_id: str, view: dict) -> None:
    """A step's Next / Save: inline errors, the next step, or the saved review."""
    meta = parse_meta(view.get("private_metadata"))
    if meta is None:
        log.warning("view_submission with unreadable private_metadata from %s", user_id)
        ack(response_action="update", view=error_view(coach.profiles.cached(team_id, user_id).t))
        return
    step, draft_id = meta
    profile = modal_profile(coach, team_id, user_id, view, draft_id)  # no Slack call before the ack
    t = profile.t
    now = coach.clock()
    values = {
        f: v
        for f, v in answers_from_state(view.get("state", {}).get("values", {})).items()
        if f in rules.STEP_FIELDS[step]
    }
    errors = rules.validate_step(step, values, now_utc=now, tz=profile.tz)
    index = rules.STEPS.index(step)
    last = index == len(rules.STEPS) - 1
    # Keep what was typed even when it is refused: nothing is lost.
    next_step = step if errors or last else rules.STEPS[index + 1]
    draft = coach.reviews.save_answers(draft_id, user_id, next_step, values, now=now)
    if draft is None:
        # Saved already (a double submit) or started afresh elsewhere: close quietly.
        ack()
        return
    if errors:
        ack(response_action="errors", errors=errors_payload(t, errors))
        return
    if not last:
        ack(
            response_action="update",
            view=_step_view(coach, profile, next_step, draft_id, answer_codec.from_json(draft.answers)),
        )
        return
    result = coach.reviews.complete(draft_id, user_id, locale=profile.locale, tz=profile.tz, now=now)
    if isinstance(result, Incomplete):
        # An earlier step changed since it was checked (e.g. edited in the modal on another device):
        # take the rep back there, with what to fix shown on it, and resume there next time.
        back = coach.reviews.save_answers(draft_id, user_id, result.step, {}, now=now) or draft
        ack(
            response_action="update",
            view=_step_view(
                coach,
                profile,
                result.step,
                draft_id,
                answer_codec.from_json(back.answers),
                errors=result.errors,
                link=back.answers.get(answer_codec.DEAL_LINK),
            ),
        )
        return
    ack()
    if isinstance(result, Review):
        log.info("review %s saved for %s (%.1f h after the loss)", result.id, user_id, result.review_hours)
        coach.later.submit(deliver_review, coach, client, result)
        coach.events.rep_changed(result.team_id, user_id)


def go_back(coach: Coach, client: WebClient, *, team_id: str, user_id: str, view: dict, to: str | None = None) -> None:
    """Back a step, keeping what this one holds; `to` names an earlier step to go straight to (the offer to
    rephrase a verdict on oneself before sharing jumps to the step holding the words)."""
    meta = parse_meta(view.get("private_metadata"))
    if meta is None:
        return
    step, draft_id = meta
    index = rules.STEPS.index(step)
    previous = rules.STEPS[max(index - 1, 0)]
    if to in rules.STEPS[:index]:
        previous = rules.Step(to)
    values = {
        f: v
        for f, v in answers_from_state(view.get("state", {}).get("values", {})).items()
        if f in rules.STEP_FIELDS[step]
    }
    draft = coach.reviews.save_answers(draft_id, user_id, previous, values, now=coach.clock())
    if draft is None:
        return
    profile = modal_profile(coach, team_id, user_id, view, draft_id)  # the language the modal speaks
    client.views_update(view_id=view["id"], view=step_view(coach, profile, draft))


def keep_closed_draft(coach: Coach, *, user_id: str, view: dict) -> None:
    """The rep closed the modal: keep what this step held (unvalidated) in the draft."""
    meta = parse_meta(view.get("private_metadata"))
    if meta is None:
        return
    step, draft_id = meta
    values = {
        f: v
        for f, v in answers_from_state(view.get("state", {}).get("values", {})).items()
        if f in rules.STEP_FIELDS[step]
    }
    coach.reviews.save_answers(draft_id, user_id, step, values, now=coach.clock())
    coach.reviews.discard_if_empty(draft_id, user_id)
    coach.events.rep_changed(view.get("team_id"), user_id)  # kept (or dropped if empty): Home shows which


def deliver_review(coach: Coach, client: WebClient, review: Review) -> None:
    """The rep's summary DM and, when asked, the full review in the managers' channel.

    slack_sdk's retry handlers cover 429s and 5xx; whatever still fails is
    recorded on the review, not swallowed.
    """
    channel = coach.settings.manager_channel
    text, blocks = summary_content(coach, review)
    summary = post_message(client, review.user_id, text=text, blocks=blocks)
    coach.reviews.record_delivery(review.id, summary_ts=summary.ts, summary_error=_delivery_error(summary))
    if review.share_with_manager and channel:
        share_review(coach, client, review)
    coach.events.review_finished(review)


def summary_content(coach: Coach, review: Review, *, followup=None) -> tuple[str, list[dict]]:
    """The rep's summary as it stands: with what the customer said once the follow-up call is recorded, and
    (asked once, METHOD §5) the normal week while the rep has none."""
    t = Translator(review.locale, ZoneInfo(review.timezone))
    ask_normal_week = coach.nudges.normal_week(review.team_id, review.user_id) is None
    text, blocks = summary_message(t, review, followup=followup, ask_normal_week=ask_normal_week)
    if review.share_with_manager and not coach.settings.manager_channel:
        blocks.append(context(":information_source: " + sharing_not_configured_text(t)))
    return text, blocks


def share_review(coach: Coach, client: WebClient, review: Review) -> Review:
    """The full review in the managers' channel, in the team's language; the outcome is recorded."""
    channel = coach.settings.manager_channel
    if not channel or not coach.reviews.claim_share(review.id):
        return coach.reviews.get(review.id) or review
    team_t = Translator(coach.settings.default_locale, ZoneInfo(review.timezone))
    text, blocks = manager_share_message(team_t, review)
    share = post_message(client, channel, text=text, blocks=blocks)
    # A share that Slack may have posted keeps its claim (IN_DOUBT), so no click posts a second copy.
    shared_ts = share.ts or (coach.reviews.IN_DOUBT if share.in_doubt else None)
    coach.reviews.record_delivery(
        review.id,
        shared_ts=shared_ts,
        share_error=_delivery_error(share),
        **({"share_with_manager": True} if share.ts else {}),
    )
    return coach.reviews.get(review.id) or review


def _delivery_error(posted: Posted) -> str | None:
    return f"in doubt: {posted.error}" if posted.in_doubt else posted.error
