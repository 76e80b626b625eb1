"""CRM losses in Slack: prompt the rep, open the pre-filled review, write the finished review back.

The webhook stored the loss before answering (coach.crm.inbox); from there everything runs from the
`crm_losses` table, after the answer (`coach.later`) and on the scheduler's tick, so a loss whose
instance died is picked up by another after the lease. Each row is claimed atomically: one prompt per
loss however many instances run. The prompt carries the loss id as message metadata, so a row taken over
after a crash is looked for in the rep's DM before anything is sent again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.crm import rules, writeback
from coach.crm.hubspot import CrmFailure, Failure
from coach.crm.messages import prompt_message
from coach.crm.rules import EventKind, Source, WriteBack, WriteBackPolicy
from coach.crm.service import LossStatus, WriteBackStatus
from coach.db import instance_name
from coach.flows.modals import say_too_late
from coach.flows.review import fill_view, open_then_fill, step_view
from coach.i18n import Translator
from coach.models import CrmLoss
from coach.review.rules import Field
from coach.review.views import error_view, resume_view
from coach.services import Coach
from coach.slack.client import maybe_posted
from coach.slack.emails import NotInSlack
from coach.slack.history import UNKNOWN, find_by_metadata

log = logging.getLogger(__name__)

INSTANCE = instance_name()
LEASE = timedelta(minutes=2)
# A loss waiting for a rep (no Slack account, deactivated) is looked at again once a day, a few times.
RECHECK_WAITING = timedelta(days=1)
# Claimed per round trip; small enough that a batch is done well within the lease, even with HubSpot slow.
BATCH = 25
PROMPT_EVENT = "lost_deal_coach_crm_loss"
# Slack errors about the rep (not the app): the loss waits for a rep instead of being retried.
REP_ERRORS = frozenset({"user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot", "not_allowed"})


def _error(e: Exception) -> str:
    if isinstance(e, SlackApiError):
        return str(e.response.get("error") or f"http_{e.response.status_code}")
    return type(e).__name__


# ---------------------------------------------------------------------------------------------
# The worker: one pass over what is due
# ---------------------------------------------------------------------------------------------


def work(coach: Coach, client: WebClient, *, instance: str = INSTANCE) -> int:
    """Prompt every due loss, link finished reviews, write them back. How many rows were handled."""
    if coach.crm_losses is None:
        return 0
    done = 0
    hold_until: datetime | None = None
    while hold_until is None:
        claimed = coach.crm_losses.claim_due(now=coach.clock(), lease=LEASE, limit=BATCH, instance=instance)
        for loss in claimed:
            if hold_until is not None:  # HubSpot said wait: the rest of the batch waits too, unasked
                coach.crm_losses.finish(loss.id, instance, now=coach.clock(), next_attempt_at=hold_until)
                continue
            hold_until = prompt(coach, client, loss, instance=instance)
        done += len(claimed)
        if len(claimed) < BATCH:
            break
    policy = WriteBackPolicy(coach.settings.crm_write_back)
    coach.crm_losses.link_finished_reviews(now=coach.clock(), write_back=policy != WriteBackPolicy.NEVER)
    for loss in coach.crm_losses.claim_write_backs(now=coach.clock(), lease=LEASE, limit=BATCH, instance=instance):
        write_back(coach, loss, instance=instance)
        done += 1
    return done


def kick(coach: Coach, client: WebClient) -> None:
    """Start a pass after the webhook's answer (the scheduler's tick would get there too, a little later)."""
    if coach.crm_passes is not None:
        coach.crm_passes.request()
    else:
        coach.later.submit(work, coach, client)


# ---------------------------------------------------------------------------------------------
# Prompting the rep
# ---------------------------------------------------------------------------------------------


def prompt(coach: Coach, client: WebClient, loss: CrmLoss, *, instance: str) -> datetime | None:
    """Read the deal, find the rep, start the draft, send the DM; the outcome recorded on the row.
    Returns when to ask HubSpot again if it rate-limited us (None otherwise)."""
    losses = coach.crm_losses
    now = coach.clock()
    try:
        fields = _read_deal(coach, loss) if loss.source == Source.HUBSPOT else {}
    except CrmFailure as e:
        return _retry_or_fail(coach, loss, instance, e, now)
    if fields.get("status"):
        losses.finish(loss.id, instance, now=now, **fields)
        log.info("CRM loss %s (deal %s): %s", loss.id, loss.deal_id, fields["status"])
        return None
    for key, value in fields.items():
        setattr(loss, key, value)
    try:
        member = _find_rep(coach, loss)
    except NotInSlack:
        member = None
    except Exception as e:  # Slack is down or rate-limits past the client's retries: later
        _retry_or_fail(coach, loss, instance, CrmFailure(Failure.TRANSIENT, f"slack: {_error(e)}"), now, **fields)
        return None
    if member is None or member.deactivated:
        why = "rep deactivated in Slack" if member else f"no Slack account for {loss.owner_email or 'the owner'}"
        log.warning("CRM loss %s (deal %s) waits for a rep: %s", loss.id, loss.deal_id, why)
        losses.finish(
            loss.id,
            instance,
            now=now,
            status=LossStatus.WAITING,
            last_error=why[:200],
            next_attempt_at=now + RECHECK_WAITING,
            **({"user_id": member.user_id} if member else {}),
            **fields,
        )
        return None
    team_id = member.team_id or ""
    profile = coach.profiles.get(team_id, member.user_id)
    loss.team_id, loss.user_id = team_id, member.user_id
    # A retry after a failed DM finds the draft of its first try (recorded on the row at once).
    draft_started = _start_draft(coach, loss, profile.locale, profile.tz, now) if not loss.draft_started_at else None
    posted = _post_prompt(coach, client, loss, profile.t, now)
    if posted is None:
        if loss.attempts >= rules.MAX_ATTEMPTS:  # never a second copy: better a loss the manager can see
            losses.finish(loss.id, instance, now=now, status=LossStatus.FAILED, last_error="DM in doubt", **fields)
            log.error("CRM loss %s: whether its DM went out cannot be told; not sending it again", loss.id)
        return None  # in doubt: stays claimed, and the next claim (after the lease) looks in the DM first
    channel, ts, error = posted
    if error in REP_ERRORS:
        losses.finish(
            loss.id,
            instance,
            now=now,
            status=LossStatus.WAITING,
            last_error=f"slack: {error}",
            next_attempt_at=now + RECHECK_WAITING,
            **fields,
        )
        return None
    if error:
        _retry_or_fail(coach, loss, instance, CrmFailure(Failure.TRANSIENT, f"slack: {error}"), now, **fields)
        return None
    losses.finish(
        loss.id,
        instance,
        now=now,
        status=LossStatus.PROMPTED,
        team_id=team_id,
        user_id=member.user_id,
        prompted_at=now,
        prompt_channel=channel,
        prompt_ts=ts,
        last_error=None,
        **({"draft_started_at": draft_started} if draft_started else {}),
        **fields,
    )
    log.info("CRM loss %s (deal %s): %s prompted", loss.id, loss.deal_id, member.user_id)
    if draft_started:
        coach.events.rep_changed(team_id, member.user_id)  # the draft shows on Home


def _read_deal(coach: Coach, loss: CrmLoss) -> dict[str, Any]:
    """The deal's facts from HubSpot, as columns; or a final status when there is nothing to prompt for."""
    if coach.hubspot is None:
        return {"status": LossStatus.FAILED, "last_error": "HUBSPOT_ACCESS_TOKEN is not set: cannot read the deal"}
    deal = coach.hubspot.deal(loss.deal_id)
    stages = rules.parse_lost_stages(coach.settings.hubspot_lost_stages)
    if loss.kind == EventKind.CREATION and deal.stage not in stages:
        return {"status": LossStatus.IGNORED, "last_error": None}
    if coach.crm_losses.same_loss_prompted(loss):
        return {"status": LossStatus.DUPLICATE, "last_error": None}
    email, archived = coach.hubspot.owner(deal.owner_id) if deal.owner_id else (None, False)
    fields: dict[str, Any] = dict(
        deal_name=deal.name,
        amount=deal.amount,
        currency=deal.currency,
        crm_reason=deal.lost_reason,
        competitor=deal.competitor,
        owner_email=email,
        url=rules.hubspot_deal_url((loss.payload or {}).get("portal_id"), loss.deal_id),
    )
    if archived:
        return {
            **fields,
            "status": LossStatus.WAITING,
            "last_error": "owner archived in HubSpot",
            "next_attempt_at": coach.clock() + RECHECK_WAITING,
        }
    return fields


def _find_rep(coach: Coach, loss: CrmLoss):
    if loss.user_id:
        return coach.emails.by_id(loss.user_id)
    if not loss.owner_email:
        raise NotInSlack("no owner email")
    return coach.emails.by_email(loss.owner_email)


def _retry_or_fail(
    coach: Coach, loss: CrmLoss, instance: str, failure: CrmFailure, now: datetime, **fields: Any
) -> datetime | None:
    """429: again after Retry-After (returned, so the batch waits too); 5xx and the like: backoff, up to
    MAX_ATTEMPTS; anything else: failed, with the reason on the row."""
    if failure.kind == Failure.RATE_LIMITED:
        until = now + (failure.retry_after or rules.retry_after(None))
        coach.crm_losses.finish(loss.id, instance, now=now, next_attempt_at=until, last_error=failure.message, **fields)
        log.warning("CRM loss %s: %s; again at %s", loss.id, failure.message, until)
        return until
    if failure.kind == Failure.TRANSIENT and loss.attempts < rules.MAX_ATTEMPTS:
        wait = rules.retry_delay(loss.attempts)
        coach.crm_losses.finish(
            loss.id, instance, now=now, next_attempt_at=now + wait, last_error=failure.message, **fields
        )
        log.warning("CRM loss %s: %s; try %d again in %s", loss.id, failure.message, loss.attempts, wait)
        return None
    coach.crm_losses.finish(loss.id, instance, now=now, status=LossStatus.FAILED, last_error=failure.message, **fields)
    log.error("CRM loss %s (deal %s) failed: %s", loss.id, loss.deal_id, failure.message)
    return None


def _post_prompt(
    coach: Coach, client: WebClient, loss: CrmLoss, t: Translator, now: datetime
) -> tuple[str | None, str | None, str | None] | None:
    """(channel, ts, error) of the DM. A row taken over after a crash (or a send Slack may have made) is
    first looked for in the DM by its metadata, so the rep never gets it twice. None: in doubt, left
    claimed for the next pass to look again."""
    marker = {"event_type": PROMPT_EVENT, "event_payload": {"crm_loss_id": loss.id}}

    def already_sent() -> Any:
        return find_by_metadata(
            client,
            loss.user_id,
            since=(loss.received_at - timedelta(minutes=1)).timestamp(),
            matches=lambda meta: (
                meta.get("event_type") == PROMPT_EVENT
                and (meta.get("event_payload") or {}).get("crm_loss_id") == loss.id
            ),
        )

    if loss.attempts > 1:
        found = already_sent()
        if found is UNKNOWN:
            return None
        if found:
            return found[0].get("channel"), found[0]["ts"], None
    text, blocks = prompt_message(t, loss, now=now)
    try:
        resp = client.chat_postMessage(
            channel=loss.user_id, text=text, blocks=blocks, metadata=marker, unfurl_links=False
        )
        return resp.get("channel"), resp.get("ts"), None
    except Exception as e:
        if maybe_posted(e):
            found = already_sent()
            if found and found is not UNKNOWN:
                return found[0].get("channel"), found[0]["ts"], None
        return None, None, _error(e)


def _start_draft(coach: Coach, loss: CrmLoss, locale: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The review draft for this loss, begun at the CRM's close time (the 24-hour clock, and the 20-hour
    reminder, run from there), unless the rep already has a draft open: theirs is never replaced."""
    draft = coach.reviews.start_prefilled_draft(
        loss.team_id,
        loss.user_id,
        started_at=min(loss.closed_at, now),
        prefill=prefill(loss, tz),
        locale=locale,
        tz=tz,
        now=now,
        replace=False,
        link=loss.url,
    )
    if draft is None:
        return None
    coach.crm_losses.set_draft(loss.id, started_at=draft.started_at, now=now)
    loss.draft_started_at = draft.started_at
    return draft.started_at


def prefill(loss: CrmLoss, tz: ZoneInfo) -> dict[Field, Any]:
    """The review's facts the CRM already knows: the deal, its size, the date lost, the mapped surface
    reason (only where the CRM's reason matches one) and the competitor."""
    values: dict[Field, Any] = {Field.LOST_ON: min(loss.closed_at, loss.received_at).astimezone(tz).date()}
    if loss.deal_name:
        values[Field.DEAL_NAME] = loss.deal_name
    if loss.amount is not None:
        values[Field.DEAL_SIZE] = format(loss.amount.normalize(), "f")
    surface = rules.map_reason(loss.crm_reason)
    if surface is not None:
        values[Field.SURFACE_REASON] = str(surface)
    if loss.competitor:
        values[Field.COMPETITOR] = loss.competitor
    return values


# ---------------------------------------------------------------------------------------------
# The button: open the review of this loss
# ---------------------------------------------------------------------------------------------


def start_loss_review(
    coach: Coach,
    client: WebClient,
    *,
    team_id: str | None,
    user_id: str,
    trigger_id: str,
    loss_id: str,
    received_at: float | None,
) -> None:
    """The DM's "Review this loss": the modal opens first, as for `/lost` (`open_then_fill`), and this loss's
    review fills it in after. When it cannot open in time, the rep is asked to press the button again."""
    open_then_fill(
        coach,
        client,
        team_id=team_id,
        user_id=user_id,
        trigger_id=trigger_id,
        received_at=received_at,
        fill=partial(fill_loss_review, coach, client, team_id=team_id, user_id=user_id, loss_id=loss_id),
        too_late=partial(say_too_late, coach, client, team_id=team_id, user_id=user_id),
    )


def fill_loss_review(
    coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, target: dict, loss_id: str
) -> None:
    """This loss's draft at its step, or a new one pre-filled, in the opened modal; never another draft lost."""
    loss = coach.crm_losses.get(int(loss_id)) if coach.crm_losses and loss_id.isdigit() else None
    profile = coach.profiles.get(team_id, user_id)
    if loss is None or loss.user_id != user_id:
        log.warning("crm review button from %s for loss %r that is not theirs", user_id, loss_id)
        fill_view(client, target, error_view(profile.t), user_id)
        return
    team_id = loss.team_id or team_id or ""
    now = coach.clock()
    draft = coach.reviews.open_draft(team_id, user_id)
    started = loss.draft_started_at or min(loss.closed_at, now)
    if draft is not None and draft.started_at != started:
        # Another deal's review is open: the rep chooses (resume it, or start this one).
        view = resume_view(
            profile.t,
            draft.id,
            draft.answers.get(Field.DEAL_NAME),
            profile.t.datetime(draft.started_at),
            crm_loss=loss.id,
        )
        fill_view(client, target, view, user_id)
        return
    if draft is None:
        draft = coach.reviews.start_prefilled_draft(
            team_id,
            user_id,
            started_at=started,
            prefill=prefill(loss, profile.tz),
            locale=profile.locale,
            tz=profile.tz,
            now=now,
            replace=False,
            link=loss.url,
        )
        if draft is None:  # a draft of the rep's began this very moment: it is theirs to resume
            draft = coach.reviews.open_draft(team_id, user_id)
            if draft is None:
                return
        else:
            coach.crm_losses.set_draft(loss.id, started_at=draft.started_at, now=now)
            coach.events.rep_changed(team_id, user_id)
    fill_view(client, target, step_view(coach, profile, draft), user_id)


def start_loss_review_fresh(
    coach: Coach, client: WebClient, *, team_id: str | None, user_id: str, view_id: str | None, loss_id: int
) -> None:
    """From the resume choice: the other draft is dropped (the rep said so), this loss's review begins."""
    loss = coach.crm_losses.get(loss_id) if coach.crm_losses else None
    if loss is None or loss.user_id != user_id or not view_id:
        return
    profile = coach.profiles.get(team_id, user_id)
    now = coach.clock()
    draft = coach.reviews.start_prefilled_draft(
        loss.team_id or team_id or "",
        user_id,
        started_at=min(loss.closed_at, now),
        prefill=prefill(loss, profile.tz),
        locale=profile.locale,
        tz=profile.tz,
        now=now,
        replace=True,
        link=loss.url,
    )
    coach.crm_losses.set_draft(loss.id, started_at=draft.started_at, now=now)
    client.views_update(view_id=view_id, view=step_view(coach, profile, draft))
    coach.events.rep_changed(loss.team_id or team_id or "", user_id)


# ---------------------------------------------------------------------------------------------
# Write-back
# ---------------------------------------------------------------------------------------------


def write_back(coach: Coach, loss: CrmLoss, *, instance: str) -> None:
    """The finished review to the CRM: never blocks the rep's summary (it runs on its own, from the table)."""
    losses = coach.crm_losses
    now = coach.clock()
    review = coach.reviews.get(loss.review_id) if loss.review_id else None
    policy = WriteBackPolicy(coach.settings.crm_write_back)
    if review is None or loss.source != Source.HUBSPOT or coach.hubspot is None:
        # The generic webhook has no API to write to; a review deleted since: nothing to write.
        losses.finish(loss.id, instance, now=now, writeback_status=WriteBackStatus.SKIPPED)
        return
    kind = rules.write_back_for(policy, shared=review.share_with_manager)
    if kind == WriteBack.NOTHING:
        losses.finish(loss.id, instance, now=now, writeback_status=WriteBackStatus.SKIPPED)
        return
    t = Translator(coach.settings.default_locale, ZoneInfo(coach.settings.team_timezone))
    try:
        note_id = loss.note_id
        if note_id is None:
            html = writeback.note_html(t, review) if kind == WriteBack.FULL else writeback.marker_html(t, review)
            note_id = coach.hubspot.add_note(loss.deal_id, html, at=review.completed_at)
            # Kept at once: a retry of the lost-reason step must not add a second note.
            losses.keep_note(loss.id, instance, note_id=note_id, now=now)
        if kind == WriteBack.FULL:
            coach.hubspot.fill_lost_reason(loss.deal_id, writeback.lost_reason_value(t, review))
    except CrmFailure as e:
        if e.kind == Failure.RATE_LIMITED:
            due = now + (e.retry_after or rules.retry_after(None))
            losses.finish(loss.id, instance, now=now, writeback_due_at=due, writeback_error=e.message)
        elif e.kind == Failure.TRANSIENT and loss.writeback_attempts < rules.MAX_ATTEMPTS:
            due = now + rules.retry_delay(loss.writeback_attempts)
            losses.finish(loss.id, instance, now=now, writeback_due_at=due, writeback_error=e.message)
        else:
            losses.finish(
                loss.id, instance, now=now, writeback_status=WriteBackStatus.FAILED, writeback_error=e.message
            )
            log.error("CRM write-back of loss %s (deal %s) failed: %s", loss.id, loss.deal_id, e.message)
        return
    losses.record_write_back(loss.id, instance, now=now, kind=kind, note_id=note_id)
    log.info("CRM write-back of loss %s (deal %s): %s", loss.id, loss.deal_id, kind)
