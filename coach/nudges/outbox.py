"""The nudge outbox: planning rows, claiming due ones atomically, recording outcomes.

Claiming is one statement: PostgreSQL takes rows with
`FOR UPDATE SKIP LOCKED`, so two app instances never claim the same nudge;
SQLite serialises writers, and the `status = 'pending'` guard in the same
UPDATE makes the claim conditional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, bindparam, select, update
from sqlalchemy.orm import Session

from coach.models import Nudge
from coach.nudges import rules
from coach.nudges.rules import NudgeKind, NudgeStatus, Planned, QuietHours


@dataclass(frozen=True)
class Policy:
    """The operator's nudge settings, as the rules need them."""

    quiet: QuietHours
    lead: timedelta

    @classmethod
    def from_settings(cls, settings) -> "Policy":
        return cls(QuietHours.parse(settings.quiet_hours), timedelta(minutes=settings.reminder_lead_minutes))


def plan(session: Session, planned: Planned, *, team_id: str, user_id: str, now: datetime,
         review_id: int | None = None, draft_id: int | None = None) -> Nudge:
    """Insert or replace the one nudge of this kind for the review (or draft): back to pending."""
    owner = Nudge.review_id == review_id if review_id is not None else Nudge.draft_id == draft_id
    nudge = session.scalar(select(Nudge).where(owner, Nudge.kind == planned.kind).with_for_update())
    if nudge is None:
        nudge = Nudge(kind=planned.kind, team_id=team_id, user_id=user_id, review_id=review_id, draft_id=draft_id)
        session.add(nudge)
    nudge.due_at, nudge.expires_at = planned.due_at, planned.expires_at
    nudge.status, nudge.attempts, nudge.last_error = NudgeStatus.PENDING, 0, None
    nudge.claimed_by = nudge.claimed_at = nudge.sent_at = nudge.acted_at = None
    nudge.channel_id = nudge.message_ts = None
    nudge.updated_at = now
    return nudge


def cancel(session: Session, kind: NudgeKind, *, now: datetime, review_id: int | None = None,
           draft_id: int | None = None) -> None:
    owner = Nudge.review_id == review_id if review_id is not None else Nudge.draft_id == draft_id
    session.execute(update(Nudge).where(owner, Nudge.kind == kind, Nudge.status == NudgeStatus.PENDING)
                    .values(status=NudgeStatus.CANCELLED, updated_at=now))


def plan_review(session: Session, policy: Policy, *, review, now: datetime) -> None:
    """Everything a saved review schedules; the draft's reminder is no longer needed."""
    tz = ZoneInfo(review.timezone)
    for planned in rules.plan_after_review(lost_at=review.lost_at, completed_at=review.completed_at,
                                           meeting_at=review.next_meeting_at, recontact_on=review.recontact_on,
                                           tz=tz, quiet=policy.quiet, lead=policy.lead):
        plan(session, planned, team_id=review.team_id, user_id=review.user_id, review_id=review.id, now=now)


def _claim(session: Session, picked: Select, still: ColumnElement[bool], values: dict) -> list[Nudge]:
    """UPDATE the rows `picked` selects, at most its LIMIT of them.

    The pick is a MATERIALIZED CTE: as an `IN (subquery)`, PostgreSQL may
    re-run a `LIMIT ... FOR UPDATE SKIP LOCKED` subquery per row and claim
    far more than the limit. `still` re-checks the state in the UPDATE itself.
    """
    chosen = picked.cte("chosen").prefix_with("MATERIALIZED")
    return list(session.scalars(
        update(Nudge).where(Nudge.id == chosen.c.id, still).values(**values).returning(Nudge),
        execution_options={"synchronize_session": False},
    ))


def claim_due(session: Session, *, now: datetime, limit: int, instance: str) -> list[Nudge]:
    due = (select(Nudge.id).where(Nudge.status == NudgeStatus.PENDING, Nudge.due_at <= now)
           .order_by(Nudge.due_at).limit(limit).with_for_update(skip_locked=True))
    return _claim(session, due, Nudge.status == NudgeStatus.PENDING,
                  dict(status=NudgeStatus.SENDING, claimed_by=instance, claimed_at=now, updated_at=now))


def claim_stale(session: Session, *, now: datetime, lease: timedelta, limit: int, instance: str) -> list[Nudge]:
    """Nudges an instance claimed and never finished (it crashed mid-send): take them over."""
    cutoff = now - lease
    stale = (select(Nudge.id).where(Nudge.status == NudgeStatus.SENDING, Nudge.claimed_at < cutoff)
             .order_by(Nudge.claimed_at).limit(limit).with_for_update(skip_locked=True))
    return _claim(session, stale, and_(Nudge.status == NudgeStatus.SENDING, Nudge.claimed_at < cutoff),
                  dict(claimed_by=instance, claimed_at=now, updated_at=now))


_OUTCOME_COLUMNS = ("status", "due_at", "attempts", "last_error", "sent_at", "channel_id", "message_ts")


def record(session: Session, rows: list[dict], *, instance: str, now: datetime) -> None:
    """Outcomes of a batch in one executemany UPDATE.

    Only rows still claimed by this instance change: a nudge re-planned
    meanwhile (the meeting moved) keeps its new plan.
    """
    if not rows:
        return
    table = Nudge.__table__
    stmt = (update(table)
            .where(table.c.id == bindparam("b_id"), table.c.claimed_by == bindparam("b_instance"),
                   table.c.status == NudgeStatus.SENDING)
            .values({c: bindparam(f"b_{c}") for c in _OUTCOME_COLUMNS} | {"updated_at": bindparam("b_now")}))
    params = [{"b_id": r["id"], "b_instance": instance, "b_now": now,
               **{f"b_{c}": r.get(c) for c in _OUTCOME_COLUMNS}} for r in rows]
    session.connection().execute(stmt, params)
