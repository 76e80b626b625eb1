"""Finished reviews in bulk, for digest and export tests and the digest benchmark.

    review(user_id="U1", completed_at=..., surface="price", codes=("value_not_conveyed", ...))

builds one review as plain values (every NOT NULL column filled as the
review flow would), and `insert(db, reviews)` stores any number of them with
their underlying reasons and self-checks in one executemany INSERT per
table. `seed_team(db, reviews=50_000, reps=500, now=...)` spreads a
realistic team's history over the past year for the benchmark.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy import insert as sa_insert
from sqlalchemy.orm import Session

from coach.db import Database
from coach.models import Review, SelfCheck, UnderlyingReasonRow, Win
from coach.review.rules import ChangeSuggestion, Lens, SurfaceReason, UnderlyingReason, Verdict

try:  # imported as part of a "tests" package
    from .slack_signing import TEAM_ID
except ImportError:  # tests/ itself on sys.path (scripts)
    from slack_signing import TEAM_ID  # type: ignore[no-redef]

__all__ = ["SeedReview", "review", "insert", "insert_win", "seed_team", "rep_id", "TEAM_ID"]


def rep_id(n: int) -> str:
    return f"UR{n:05d}"


@dataclass
class SeedReview:
    row: dict
    reasons: list[tuple[str | None, str | None]] = field(default_factory=list)
    self_check: dict | None = None


def review(
    *,
    user_id: str,
    completed_at: datetime,
    surface: str = "price",
    codes: tuple[str, ...] = ("value_not_conveyed", "decision_process_unknown"),
    own: tuple[str, ...] = ("Demoed before hearing the problem",),
    verdicts: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    review_hours: float = 5.0,
    deal_size: Decimal | int | None = 1_000_000,
    deal_name: str | None = None,
    words: str = "We could not get budget this term.",
    change_code: str | None = "confirm_decision_maker",
    change_text: str = "",
    share: bool = True,
    recontact_on: date | None = None,
    kept: str | None = None,
    repeated: str | None = None,
    checked: bool | None = None,
    locale: str = "en",
    tz: str = "America/New_York",
    team_id: str = TEAM_ID,
) -> SeedReview:
    verdicts = {
        "problem": "partly",
        "value": "missed",
        "relationship": "held",
        "decision": "missed",
        **(verdicts or {}),
    }
    notes = notes or {}
    lost_at = completed_at - timedelta(hours=review_hours)
    lost_on = lost_at.astimezone(ZoneInfo(tz)).date()
    row = {
        "team_id": team_id,
        "user_id": user_id,
        "locale": locale,
        "timezone": tz,
        "deal_name": deal_name or f"Deal of {user_id} at {completed_at:%Y-%m-%d %H:%M}",
        "deal_size": Decimal(deal_size) if deal_size is not None else None,
        "lost_on": lost_on,
        "lost_at": lost_at,
        "surface_reason": surface,
        "competitor": "Rival Inc" if surface == "competitor" else None,
        "timeline": "Apr first visit\nMay demo\nJun quote\nJul lost",
        "customer_words": words,
        "reaction_change": "After the price table",
        "failed_question": None,
        **{f"{lens}_verdict": verdicts[str(lens)] for lens in Lens},
        **{f"{lens}_note": notes.get(str(lens)) for lens in Lens},
        "decision_maker": "CFO",
        "change_code": change_code,
        "change_text": change_text if change_code is None else "",
        "next_meeting_at": completed_at + timedelta(days=3),
        "recontact_choice": "six_months",
        "recontact_on": recontact_on or lost_on + relativedelta(months=6),
        "share_with_manager": share,
        "self_denial_flagged": False,
        "started_at": completed_at - timedelta(minutes=20),
        "completed_at": completed_at,
        "review_hours": review_hours,
        "customer_stated_reason": None,
        "summary_ts": None,
        "summary_error": None,
        "shared_ts": None,
        "share_error": None,
    }
    reasons = [(c, None) for c in codes] + [(None, text) for text in own]
    check = None
    if checked or kept is not None or repeated is not None:
        check = {
            "repeated_mistake": repeated,
            "kept_change": kept,
            "reaction": "same",
            "meetings": 4,
            "answered_at": lost_at + timedelta(days=7, hours=1),
        }
    return SeedReview(row, reasons, check)


def insert(db: Database, reviews: list[SeedReview]) -> list[int]:
    """Store the reviews (with reasons and self-checks); their ids in order."""
    if not reviews:
        return []
    with db.session() as s:
        ids = _reserve_ids(s, Review, len(reviews))
        s.execute(_bulk(Review), [{"id": rid, **r.row} for rid, r in zip(ids, reviews)])
        reason_rows = [
            {"review_id": rid, "position": p, "code": code, "text": text}
            for rid, r in zip(ids, reviews)
            for p, (code, text) in enumerate(r.reasons)
        ]
        if reason_rows:
            s.execute(_bulk(UnderlyingReasonRow), reason_rows)
        checks = [
            {"review_id": rid, "team_id": r.row["team_id"], "user_id": r.row["user_id"], **r.self_check}
            for rid, r in zip(ids, reviews)
            if r.self_check is not None
        ]
        if checks:
            s.execute(_bulk(SelfCheck), checks)
    return ids


def insert_win(
    db: Database,
    *,
    user_id: str,
    won_at: datetime,
    days_since_loss: int | None,
    team_id: str = TEAM_ID,
    deal_name: str = "Won deal",
) -> None:
    with db.session() as s:
        s.add(
            Win(
                team_id=team_id,
                user_id=user_id,
                deal_name=deal_name,
                won_on=won_at.date(),
                won_at=won_at,
                last_loss_review_id=None,
                days_since_loss=days_since_loss,
            )
        )


def seed_team(
    db: Database, *, reviews: int, reps: int, now: datetime, days: int = 365, seed: int = 1, batch: int = 5000
) -> None:
    """A team's year: `reviews` reviews over `days` days before `now`, round-robin over `reps` reps.

    Every review has three catalogue reasons and one in the rep's own words;
    most have a self-check; one win per rep every few weeks.
    """
    rng = random.Random(seed)
    surfaces = list(SurfaceReason)
    codes = list(UnderlyingReason)
    verdicts = list(Verdict)
    changes = [*ChangeSuggestion, None]
    span = timedelta(days=days).total_seconds()
    pending: list[SeedReview] = []
    for i in range(reviews):
        completed = now - timedelta(seconds=rng.random() * span)
        rep = rep_id(i % reps)
        ja = i % reps % 2 == 0
        pending.append(
            review(
                user_id=rep,
                completed_at=completed,
                surface=str(rng.choice(surfaces)),
                codes=tuple(str(c) for c in rng.sample(codes, 3)),
                own=("Own words reason",),
                verdicts={str(lens): str(rng.choice(verdicts)) for lens in Lens},
                review_hours=round(rng.uniform(1, 60), 1),
                deal_size=rng.randrange(100_000, 10_000_000, 1000),
                deal_name=(f"株式会社サンプル{i} 更新案件" if ja else f"Sample Corp {i} renewal"),
                words=("「今期は予算が取れませんでした」" if ja else "We could not get budget this term."),
                change_code=(str(c) if (c := rng.choice(changes)) else None),
                change_text="Ask about budget first",
                share=rng.random() < 0.7,
                kept=rng.choice(["yes", "partly", "no", None]),
                checked=rng.random() < 0.8,
                locale="ja" if ja else "en",
                tz="Asia/Tokyo" if ja else "America/New_York",
            )
        )
        if len(pending) >= batch:
            insert(db, pending)
            pending = []
    insert(db, pending)
    wins = []
    for r in range(reps):
        for k in range(days // 30):
            wins.append(
                {
                    "team_id": TEAM_ID,
                    "user_id": rep_id(r),
                    "deal_name": f"Win {k}",
                    "won_on": (now - timedelta(days=30 * k + r % 30)).date(),
                    "won_at": now - timedelta(days=30 * k + r % 30, hours=3),
                    "last_loss_review_id": None,
                    "days_since_loss": rng.randrange(1, 60),
                }
            )
    with db.session() as s:
        s.execute(_bulk(Win), wins)


def _bulk(model):
    # render_nulls: every row has the same columns, so each table is one executemany.
    return sa_insert(model).execution_options(render_nulls=True)


def _reserve_ids(session: Session, model, n: int) -> list[int]:
    """Ids known before inserting: PostgreSQL from the table's sequence, SQLite after the current maximum."""
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        seq = session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
        return list(session.scalars(select(func.nextval(seq)).select_from(func.generate_series(1, n))))
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
    return list(range(start, start + n))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
