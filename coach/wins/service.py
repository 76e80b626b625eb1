"""Wins (復活): a rep logs a won deal, and the way back from a loss is measured.

`WinService.log_win` records a win once (a double submit is the same win)
with the days since the rep's last loss. The read helpers give the Home
its latest wins and the median days from a loss to the first win after it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.orm import Session

from coach.db import Database
from coach.models import Review, Win
from coach.review.rules import local_today


@dataclass(frozen=True)
class WinLine:
    user_id: str
    deal_name: str
    won_on: date
    days_since_loss: int | None
    loss_deal: str | None


@dataclass(frozen=True)
class Recovery:
    latest: WinLine | None
    wins: int
    median_days: float | None  # days from a loss to the first win after it
    measured: int  # how many losses were followed by a win


@dataclass(frozen=True)
class LoggedWin:
    id: int
    user_id: str
    deal_name: str
    won_on: date
    days_since_loss: int | None
    loss_deal: str | None
    loss_on: date | None
    change_code: str | None
    change_text: str | None
    created: bool  # False: the same win was logged already (a double submit)


def _median(session: Session, values: Select) -> tuple[float | None, int]:
    """The median of a one-column query, in SQL (count, then the middle one or two rows)."""
    sub = values.subquery()
    column = sub.c[0]
    n = session.scalar(select(func.count()).select_from(sub)) or 0
    if not n:
        return None, 0
    middle = list(session.scalars(select(column).order_by(column).offset((n - 1) // 2).limit(2 - n % 2)))
    return float(sum(middle)) / len(middle), n


def of_rep(team_id: str | None, user_id: str):
    return and_(Win.team_id == team_id, Win.user_id == user_id) if team_id else Win.user_id == user_id


def win_lines(s: Session, where, limit: int) -> list[WinLine]:
    rows = s.execute(
        select(Win.user_id, Win.deal_name, Win.won_on, Win.days_since_loss, Review.deal_name)
        .outerjoin(Review, Review.id == Win.last_loss_review_id)
        .where(where)
        .order_by(Win.won_at.desc(), Win.id.desc())
        .limit(limit)
    ).all()
    return [WinLine(*r) for r in rows]


def recovery(s: Session, where) -> Recovery:
    latest = win_lines(s, where, 1)
    wins = s.scalar(select(func.count()).select_from(Win).where(where)) or 0
    # Recovery is the way back from a loss: the first win after each loss counts.
    first_wins = (
        select(func.min(Win.days_since_loss).label("days"))
        .where(where, Win.last_loss_review_id.is_not(None), Win.days_since_loss.is_not(None))
        .group_by(Win.last_loss_review_id)
    )
    median, measured = _median(s, first_wins)
    return Recovery(latest[0] if latest else None, wins, median, measured)


class WinService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def log_win(self, team_id: str | None, user_id: str, deal_name: str, *, now: datetime, tz: ZoneInfo) -> LoggedWin:
        """Record a win and the days since the rep's last loss (None before any loss).

        The same deal logged twice on the same local day is the same win (a
        double submit, or the command typed twice): the first one is returned,
        with created=False. The rep's wins are written one at a time, so two
        concurrent submissions cannot both insert.
        """
        team_id = team_id or ""
        won_on = local_today(now, tz)
        with self.db.session() as s:
            _serialise_rep(s, team_id, user_id)
            existing = s.execute(
                select(Win.id, Win.deal_name, Win.won_on, Win.days_since_loss, Win.last_loss_review_id)
                .where(
                    Win.team_id == team_id,
                    Win.user_id == user_id,
                    Win.won_on == won_on,
                    func.lower(Win.deal_name) == deal_name.lower(),
                )
                .order_by(Win.id)
                .limit(1)
            ).first()
            if existing is not None:
                loss = s.get(Review, existing.last_loss_review_id) if existing.last_loss_review_id else None
                return _logged(
                    existing.id,
                    user_id,
                    existing.deal_name,
                    existing.won_on,
                    existing.days_since_loss,
                    loss,
                    created=False,
                )
            loss = s.scalar(
                select(Review)
                .where(Review.team_id == team_id, Review.user_id == user_id, Review.lost_on <= won_on)
                .order_by(Review.lost_on.desc(), Review.completed_at.desc(), Review.id.desc())
                .limit(1)
            )
            days = (won_on - loss.lost_on).days if loss is not None else None
            win = Win(
                team_id=team_id,
                user_id=user_id,
                deal_name=deal_name,
                won_on=won_on,
                won_at=now,
                last_loss_review_id=loss.id if loss is not None else None,
                days_since_loss=days,
            )
            s.add(win)
            s.flush()
            return _logged(win.id, user_id, deal_name, won_on, days, loss, created=True)


def _logged(
    win_id: int, user_id: str, deal_name: str, won_on: date, days: int | None, loss: Review | None, *, created: bool
) -> LoggedWin:
    return LoggedWin(
        win_id,
        user_id,
        deal_name,
        won_on,
        days,
        loss.deal_name if loss else None,
        loss.lost_on if loss else None,
        loss.change_code if loss else None,
        loss.change_text if loss else None,
        created,
    )


def _serialise_rep(s: Session, team_id: str, user_id: str) -> None:
    """Hold the rep's win lock for this transaction: PostgreSQL advisory lock; SQLite's write lock."""
    if s.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"win:{team_id}:{user_id}".encode(), digest_size=8).digest()
        s.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True))))
    else:
        # A write (of nothing) as the first statement takes SQLite's single write lock now,
        # so the check below sees any win a concurrent writer committed.
        s.connection().execute(update(Win.__table__).where(Win.__table__.c.id < 0).values(deal_name=""))
