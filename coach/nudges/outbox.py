"""The nudge outbox: planning rows, claiming due ones atomically, recording outcomes.

Claiming is one statement: PostgreSQL takes rows with
`FOR UPDATE SKIP LOCKED`, so two app instances never claim the same nudge;
SQLite serialises writers, and the `status = 'pending'` guard in the same
UPDATE makes the claim conditional.

How a claim uses the row's columns:

- `claimed_by`: the instance holding the claim. A `sending` row with no
  `claimed_by` is *in doubt*: a send got no clear answer (a timeout, a 5xx),
  Slack may have posted it, nobody holds it, and at `due_at` the rep's DM is
  checked for it before it is ever sent again.
- `updated_at`: when the claim was taken (or taken over); the lease runs
  from it.
- `claimed_at`: when this plan was first claimed for sending. It is kept
  across hand-backs, retries and takeovers and reset only by a new plan, so
  the DM is searched from the first moment the message can have been posted,
  however long the app was down; the message metadata carries it too, so a
  message of an earlier plan of the same nudge (before the meeting moved) is
  not taken for this one.

Lease times are the app's clock, as every due time is (the time-travel tests
move it). Instances' clocks are assumed to agree to well within the lease
(NTP: milliseconds, against a 120 s lease).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from coach.db import UTCDateTime
from coach.models import Nudge
from coach.nudges import rules
from coach.nudges.rules import NudgeKind, NudgeStatus, Planned, QuietHours


@dataclass(frozen=True)
class Policy:
    """The operator's nudge settings, as the rules need them."""

    quiet: QuietHours
    lead: timedelta

    @classmethod
    def from_settings(cls, settings) -> Policy:
        return cls(QuietHours.parse(settings.quiet_hours), timedelta(minutes=settings.reminder_lead_minutes))


def plan(
    session: Session,
    planned: Planned,
    *,
    team_id: str,
    user_id: str,
    now: datetime,
    review_id: int | None = None,
    draft_id: int | None = None,
) -> Nudge:
    """Insert or replace the one nudge of this kind for the review (or draft): back to pending.

    A nudge that went out already is replaced only for a new occasion (`rules.replaces`): a moved
    meeting re-arms its reminder, a 24-hour reminder is never sent twice however often the draft's loss
    date is edited.
    """
    owner = Nudge.review_id == review_id if review_id is not None else Nudge.draft_id == draft_id
    nudge = session.scalar(select(Nudge).where(owner, Nudge.kind == planned.kind).with_for_update())
    if nudge is None:
        nudge = Nudge(kind=planned.kind, team_id=team_id, user_id=user_id, review_id=review_id, draft_id=draft_id)
        session.add(nudge)
    elif not rules.replaces(
        nudge.kind, nudge.status, planned, expires_at=nudge.expires_at, settled_at=nudge.sent_at or nudge.updated_at
    ):
        return nudge
    nudge.due_at, nudge.expires_at = planned.due_at, planned.expires_at
    nudge.status, nudge.attempts, nudge.last_error = NudgeStatus.PENDING, 0, None
    nudge.claimed_by = nudge.claimed_at = nudge.sent_at = nudge.acted_at = None
    nudge.channel_id = nudge.message_ts = None
    nudge.updated_at = now
    return nudge


def cancel(
    session: Session, kind: NudgeKind, *, now: datetime, review_id: int | None = None, draft_id: int | None = None
) -> None:
    owner = Nudge.review_id == review_id if review_id is not None else Nudge.draft_id == draft_id
    session.execute(
        update(Nudge)
        .where(owner, Nudge.kind == kind, Nudge.status == NudgeStatus.PENDING)
        .values(status=NudgeStatus.CANCELLED, updated_at=now)
    )


def plan_review(session: Session, policy: Policy, *, review, now: datetime) -> None:
    """Everything a saved review schedules; the draft's reminder is no longer needed."""
    tz = ZoneInfo(review.timezone)
    for planned in rules.plan_after_review(
        lost_at=review.lost_at,
        completed_at=review.completed_at,
        meeting_at=review.next_meeting_at,
        recontact_on=review.recontact_on,
        tz=tz,
        quiet=policy.quiet,
        lead=policy.lead,
    ):
        plan(session, planned, team_id=review.team_id, user_id=review.user_id, review_id=review.id, now=now)


def _claim(session: Session, picked: Select, still: ColumnElement[bool], values: dict) -> list[Nudge]:
    """UPDATE the rows `picked` selects, at most its LIMIT of them.

    The pick is a MATERIALIZED CTE: as an `IN (subquery)`, PostgreSQL may
    re-run a `LIMIT ... FOR UPDATE SKIP LOCKED` subquery per row and claim
    far more than the limit. `still` re-checks the state in the UPDATE itself.
    """
    chosen = picked.cte("chosen").prefix_with("MATERIALIZED")
    return list(
        session.scalars(
            update(Nudge).where(Nudge.id == chosen.c.id, still).values(**values).returning(Nudge),
            execution_options={"synchronize_session": False},
        )
    )


def claim_due(session: Session, *, now: datetime, limit: int, instance: str) -> list[Nudge]:
    due = (
        select(Nudge.id)
        .where(Nudge.status == NudgeStatus.PENDING, Nudge.due_at <= now)
        .order_by(Nudge.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    first_claim = func.coalesce(Nudge.claimed_at, literal(now, UTCDateTime()))
    return _claim(
        session,
        due,
        Nudge.status == NudgeStatus.PENDING,
        dict(status=NudgeStatus.SENDING, claimed_by=instance, claimed_at=first_claim, updated_at=now),
    )


def _needs_check(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    """Claimed by an instance that went quiet for longer than the lease (it died mid-send), or in doubt and due."""
    return and_(
        Nudge.status == NudgeStatus.SENDING,
        or_(
            and_(Nudge.claimed_by.is_not(None), Nudge.updated_at < now - lease),
            and_(Nudge.claimed_by.is_(None), Nudge.due_at <= now),
        ),
    )


def claim_stale(session: Session, *, now: datetime, lease: timedelta, limit: int, instance: str) -> list[Nudge]:
    """Nudges Slack may have posted without anyone recording it: take them over, to look in the DM.

    `claimed_at` is left as it is: the DM is searched from the first claim, not from this takeover.
    """
    stale = (
        select(Nudge.id)
        .where(_needs_check(now, lease))
        .order_by(Nudge.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return _claim(session, stale, _needs_check(now, lease), dict(claimed_by=instance, updated_at=now))


# Written by `record`, in this order; the dispatcher gives every one of them for every row.
OUTCOME_COLUMNS: tuple[tuple[str, object], ...] = (
    ("status", String()),
    ("due_at", UTCDateTime()),
    ("attempts", Integer()),
    ("last_error", String()),
    ("sent_at", UTCDateTime()),
    ("channel_id", String()),
    ("message_ts", String()),
    ("claimed_by", String()),
)


def record(session: Session, rows: list[dict], *, instance: str, now: datetime) -> None:
    """Outcomes of a batch in one UPDATE statement, however many rows: `UPDATE ... FROM (VALUES ...)`.

    (An executemany would be one statement per row on the server.) Only rows still claimed by this
    instance change: a nudge re-planned meanwhile (the meeting moved) keeps its new plan.
    """
    if not rows:
        return
    table = Nudge.__table__
    binds, tuples = [], []
    for r, row in enumerate(rows):
        names = [f":o{r}_id"]
        binds.append(bindparam(f"o{r}_id", row["id"], type_=Integer()))
        for c, (name, type_) in enumerate(OUTCOME_COLUMNS):
            binds.append(bindparam(f"o{r}_{c}", row.get(name), type_=type_))
            names.append(f":o{r}_{c}")
        tuples.append("(" + ", ".join(names) + ")")
    # VALUES names its columns column1, column2, ... on both SQLite and PostgreSQL.
    outcomes = (
        text("VALUES " + ", ".join(tuples))
        .bindparams(*binds)
        .columns(
            column("column1", Integer()),
            *(column(f"column{i}", t) for i, (_, t) in enumerate(OUTCOME_COLUMNS, start=2)),
        )
        .cte("outcomes")
    )
    # PostgreSQL types a VALUES column of only NULLs as text: say what each one is. (SQLite needs no
    # cast, and CAST(... AS DATETIME) there would turn the stored text into a number.)
    postgres = session.get_bind().dialect.name == "postgresql"
    values = {
        name: cast(outcomes.c[f"column{i}"], type_) if postgres else outcomes.c[f"column{i}"]
        for i, (name, type_) in enumerate(OUTCOME_COLUMNS, start=2)
    }
    stmt = (
        update(table)
        .where(table.c.id == outcomes.c.column1, table.c.claimed_by == instance, table.c.status == NudgeStatus.SENDING)
        .values(**values, updated_at=now)
    )
    session.connection().execute(stmt)


def plan_marker(nudge: Nudge) -> int | None:
    """When this plan of the nudge was first claimed (whole seconds): tells its message from an earlier plan's."""
    return int(nudge.claimed_at.timestamp()) if nudge.claimed_at is not None else None


def outcome(nudge: Nudge, status: str, *, instance: str, **changes: Any) -> dict[str, Any]:
    """A complete outcome row for `record`: the nudge as it was, with `changes`.

    Pending rows are released (no `claimed_by`): any instance may take them next.
    """
    row = {
        "id": nudge.id,
        "status": status,
        "due_at": nudge.due_at,
        "attempts": nudge.attempts,
        "last_error": nudge.last_error,
        "sent_at": None,
        "channel_id": None,
        "message_ts": None,
        "claimed_by": None if status == NudgeStatus.PENDING else instance,
    }
    row.update(changes)
    return row


def in_doubt(nudge: Nudge, due_at: datetime, *, instance: str, **changes: Any) -> dict[str, Any]:
    """Slack may have posted it: released, and checked for in the DM at `due_at` before any resend."""
    return outcome(nudge, NudgeStatus.SENDING, instance=instance, due_at=due_at, claimed_by=None, **changes)


class ReviewNudgePlanner:
    """What a review's life plans in the outbox, inside the review's own transaction.

    `ReviewService` is handed one (by the composition root), so a saved
    review and its nudges commit together, and `coach.review` never imports
    the nudges package.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def draft_started(self, session: Session, draft, *, loss_at: datetime, now: datetime) -> None:
        """The reminder to finish the review within 24 hours of the loss (moved when the loss date is)."""
        tz = ZoneInfo(draft.timezone or "UTC")
        planned = rules.plan_finish_review(loss_at, draft.started_at, now, tz, self.policy.quiet)
        plan(session, planned, team_id=draft.team_id, user_id=draft.user_id, draft_id=draft.id, now=now)

    def draft_finished(self, session: Session, draft, *, now: datetime) -> None:
        """The draft became a review: its 24-hour reminder is no longer needed."""
        cancel(session, NudgeKind.FINISH_REVIEW, draft_id=draft.id, now=now)

    def review_saved(self, session: Session, review, *, now: datetime) -> None:
        """Everything the saved review schedules."""
        plan_review(session, self.policy, review=review, now=now)
