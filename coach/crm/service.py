"""The table of CRM losses: stored before the webhook answers, then worked through like an outbox.

Each public method is one unit of work and returns detached rows. Claims are atomic (PostgreSQL
`FOR UPDATE SKIP LOCKED`, SQLite a conditional `UPDATE ... RETURNING`), so any number of instances may
run the worker; a row claimed by an instance that died is taken over after the lease.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import sqlite

from coach.crm import rules
from coach.crm.rules import EventKind, LossEvent, WriteBack
from coach.db import Database, UTCDateTime
from coach.models import CrmLoss, Review


class LossStatus(StrEnum):
    RECEIVED = "received"  # stored; the rep not yet prompted
    PROMPTED = "prompted"  # the rep has the DM
    WAITING = "waiting"  # no Slack account matches the owner, or the rep is deactivated: on the manager's Home
    IGNORED = "ignored"  # not a loss after all (a created deal in an open stage)
    DUPLICATE = "duplicate"  # the same loss reported twice (creation and stage change)
    FAILED = "failed"  # the CRM refused to tell us about the deal; the reason is on the row


class WriteBackStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # CRM_WRITE_BACK=never, or no CRM to write to (the generic webhook)


# A creation and a stage change this close together are one loss.
SAME_LOSS_WITHIN = timedelta(minutes=5)


class CrmLossService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Receiving ---------------------------------------------------------------

    def record(self, events: Iterable[LossEvent], *, now: datetime) -> int:
        """Store the losses not stored yet, in one statement and one transaction; how many were new."""
        rows = [self._row(e, now) for e in events]
        if not rows:
            return 0
        if len({len(r) for r in rows}) > 1:  # one statement needs the same columns in every row
            names = set().union(*rows)
            rows = [{n: r.get(n) for n in names} for r in rows]
        with self.db.session() as s:
            if s.get_bind().dialect.name == "postgresql":
                return self._record_postgres(s, rows, now)
            # One statement, rows as parameters: SQLAlchemy sends them as multi-row VALUES from a cached
            # compilation ("insertmanyvalues"), and RETURNING gives back only the rows actually inserted.
            stmt = (
                sqlite.insert(CrmLoss.__table__)
                .on_conflict_do_nothing(index_elements=["source", "deal_id", "closed_at"])
                .returning(CrmLoss.__table__.c.id)
            )
            return len(s.execute(stmt, rows).all())

    # PostgreSQL: the batch as one JSON parameter of a short statement. A multi-row VALUES of 100 rows has
    # thousands of placeholders, and psycopg parses such a query afresh each time (~10 ms of CPU per batch).
    _POSTGRES_COLUMNS = (
        ("source", "text"),
        ("kind", "text"),
        ("deal_id", "text"),
        ("closed_at", "timestamptz"),
        ("event_id", "text"),
        ("payload", "json"),
        ("deal_name", "text"),
        ("amount", "numeric"),
        ("currency", "text"),
        ("owner_email", "text"),
        ("user_id", "text"),
        ("crm_reason", "text"),
        ("competitor", "text"),
        ("url", "text"),
    )
    _POSTGRES_INSERT = text(
        "INSERT INTO crm_losses ("
        + ", ".join(c for c, _ in _POSTGRES_COLUMNS)
        + ", status, attempts, writeback_attempts, next_attempt_at, received_at, updated_at) SELECT "
        + ", ".join(c for c, _ in _POSTGRES_COLUMNS)
        + ", :status, 0, 0, :now, :now, :now FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r("
        + ", ".join(f"{c} {t}" for c, t in _POSTGRES_COLUMNS)
        + ") ON CONFLICT (source, deal_id, closed_at) DO NOTHING RETURNING id"
    ).bindparams(bindparam("now", type_=UTCDateTime()))

    def _record_postgres(self, s, rows: list[dict[str, Any]], now: datetime) -> int:
        def value(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat()
            return str(v) if isinstance(v, Decimal) else v

        batch = json.dumps([{c: value(r.get(c)) for c, _ in self._POSTGRES_COLUMNS} for r in rows])
        found = s.execute(self._POSTGRES_INSERT, {"rows": batch, "now": now, "status": str(LossStatus.RECEIVED)})
        return len(found.all())

    @staticmethod
    def _row(event: LossEvent, now: datetime) -> dict[str, Any]:
        d = event.details
        row: dict[str, Any] = dict(
            source=str(event.source),
            kind=str(event.kind),
            deal_id=event.deal_id,
            closed_at=event.closed_at,
            event_id=event.event_id,
            payload=dict(d),
            status=LossStatus.RECEIVED,
            attempts=0,
            writeback_attempts=0,
            next_attempt_at=now,
            received_at=now,
            updated_at=now,
        )
        if event.kind == EventKind.GENERIC:
            row.update(
                deal_name=d.get("deal_name"),
                amount=Decimal(d["amount"]) if d.get("amount") else None,
                currency=d.get("currency"),
                owner_email=d.get("owner_email"),
                user_id=d.get("slack_user_id"),
                crm_reason=d.get("stated_reason"),
                competitor=d.get("competitor"),
                url=d.get("url"),
            )
        return row

    # Working through the losses ----------------------------------------------

    def claim_due(self, *, now: datetime, lease: timedelta, limit: int, instance: str) -> list[CrmLoss]:
        """Losses to prompt for: due, and unclaimed or claimed by an instance silent longer than the lease.
        A loss waiting for a rep is looked at again when due (daily, a few times): the rep may have joined."""
        to_prompt = or_(
            CrmLoss.status == LossStatus.RECEIVED,
            and_(CrmLoss.status == LossStatus.WAITING, CrmLoss.attempts < rules.MAX_ATTEMPTS),
        )
        return self._claim(
            _due(to_prompt, CrmLoss.next_attempt_at, now, lease),
            CrmLoss.next_attempt_at,
            limit,
            dict(claimed_by=instance, claimed_at=now, attempts=CrmLoss.attempts + 1, updated_at=now),
        )

    def claim_write_backs(self, *, now: datetime, lease: timedelta, limit: int, instance: str) -> list[CrmLoss]:
        return self._claim(
            _due(CrmLoss.writeback_status == WriteBackStatus.PENDING, CrmLoss.writeback_due_at, now, lease),
            CrmLoss.writeback_due_at,
            limit,
            dict(
                claimed_by=instance,
                claimed_at=now,
                writeback_attempts=CrmLoss.writeback_attempts + 1,
                updated_at=now,
            ),
        )

    def _claim(self, still: ColumnElement[bool], order, limit: int, values: dict) -> list[CrmLoss]:
        picked: Select = select(CrmLoss.id).where(still).order_by(order).limit(limit).with_for_update(skip_locked=True)
        # MATERIALIZED: PostgreSQL may otherwise re-run the LIMIT ... SKIP LOCKED pick per row (see nudges/outbox).
        chosen = picked.cte("chosen").prefix_with("MATERIALIZED")
        with self.db.session() as s:
            return list(
                s.scalars(
                    update(CrmLoss).where(CrmLoss.id == chosen.c.id, still).values(**values).returning(CrmLoss),
                    execution_options={"synchronize_session": False},
                )
            )

    def finish(self, loss_id: int, instance: str, *, now: datetime, **fields: Any) -> bool:
        """Record what became of a claimed loss (only while this instance still holds it)."""
        with self.db.session() as s:
            done = s.execute(
                update(CrmLoss)
                .where(CrmLoss.id == loss_id, CrmLoss.claimed_by == instance)
                .values(claimed_by=None, updated_at=now, **fields)
            )
            return done.rowcount == 1

    def keep_note(self, loss_id: int, instance: str, *, note_id: str, now: datetime) -> None:
        """The note is in the CRM: remembered at once (the claim is kept), so a retry never adds a second."""
        with self.db.session() as s:
            s.execute(
                update(CrmLoss)
                .where(CrmLoss.id == loss_id, CrmLoss.claimed_by == instance)
                .values(note_id=note_id, updated_at=now)
            )

    def same_loss_prompted(self, loss: CrmLoss) -> bool:
        """Another row of the same deal, within minutes, already reached (or is waiting for) the rep."""
        with self.db.session() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(CrmLoss)
                    .where(
                        CrmLoss.source == loss.source,
                        CrmLoss.deal_id == loss.deal_id,
                        CrmLoss.id != loss.id,
                        CrmLoss.status.in_((LossStatus.PROMPTED, LossStatus.WAITING)),
                        CrmLoss.closed_at.between(loss.closed_at - SAME_LOSS_WITHIN, loss.closed_at + SAME_LOSS_WITHIN),
                    )
                )
                or 0
            ) > 0

    def get(self, loss_id: int) -> CrmLoss | None:
        with self.db.session() as s:
            return s.get(CrmLoss, loss_id)

    def set_draft(self, loss_id: int, *, started_at: datetime, now: datetime) -> None:
        """The rep's review draft for this loss began (at the CRM's close time)."""
        with self.db.session() as s:
            s.execute(update(CrmLoss).where(CrmLoss.id == loss_id).values(draft_started_at=started_at, updated_at=now))

    def waiting(self, limit: int = 10) -> tuple[list[CrmLoss], int]:
        """Losses no rep could be found for (newest first) and how many there are in all."""
        with self.db.session() as s:
            rows = list(
                s.scalars(
                    select(CrmLoss)
                    .where(CrmLoss.status == LossStatus.WAITING)
                    .order_by(CrmLoss.closed_at.desc())
                    .limit(limit)
                )
            )
            total = s.scalar(select(func.count()).select_from(CrmLoss).where(CrmLoss.status == LossStatus.WAITING))
            return rows, total or 0

    # Finished reviews --------------------------------------------------------

    def link_finished_reviews(self, *, now: datetime, write_back: bool) -> int:
        """Losses whose review is done: the review began at the loss's close time (its draft was started for it).

        Found by (team, rep, started_at), so a review finished while the app died on the way is still found.
        """
        with self.db.session() as s:
            pairs = s.execute(
                select(CrmLoss.id, Review.id)
                .join(
                    Review,
                    and_(
                        Review.team_id == CrmLoss.team_id,
                        Review.user_id == CrmLoss.user_id,
                        Review.started_at == CrmLoss.draft_started_at,
                    ),
                )
                .where(CrmLoss.review_id.is_(None), CrmLoss.draft_started_at.is_not(None))
                .limit(500)
            ).all()
            for loss_id, review_id in pairs:
                s.execute(
                    update(CrmLoss)
                    .where(CrmLoss.id == loss_id, CrmLoss.review_id.is_(None))
                    .values(
                        review_id=review_id,
                        writeback_status=WriteBackStatus.PENDING if write_back else WriteBackStatus.SKIPPED,
                        writeback_due_at=now,
                        updated_at=now,
                    )
                )
            return len(pairs)

    def record_write_back(
        self, loss_id: int, instance: str, *, now: datetime, kind: WriteBack, note_id: str | None = None
    ) -> None:
        self.finish(
            loss_id,
            instance,
            now=now,
            writeback_status=WriteBackStatus.DONE,
            writeback_kind=str(kind),
            written_at=now,
            note_id=note_id,
            writeback_error=None,
        )


def _due(state: ColumnElement[bool], due_column, now: datetime, lease: timedelta) -> ColumnElement[bool]:
    return and_(
        state,
        due_column <= now,
        or_(CrmLoss.claimed_by.is_(None), CrmLoss.claimed_at < now - lease),
    )
