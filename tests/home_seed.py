"""Seeding a team's history in bulk, for the Home tab's tests and its benchmark.

    ids = seed_history(db, reps={"U1": 300, "U2": 5}, now=utcnow())

inserts, for each rep, that many complete reviews spread over `spread_days`
(oldest first), each with three underlying reasons (catalogue codes cycling,
so reasons repeat as they do in life), its planned nudges (checklist,
self-check, pre-meeting, re-contact; sent when their time has passed),
week-1 self-checks for most reviews (kept / partly / not yet, cycling; every
fifth one left half-answered), and a win after every fourth loss. Every
table is one executemany INSERT, so 50,000 reviews take seconds, not minutes.
Returns the review ids per rep, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from coach.db import Database
from coach.models import Nudge, Review, SelfCheck, UnderlyingReasonRow, Win
from coach.nudges.rules import KeptChange, NudgeKind, NudgeStatus, Reaction, RepeatedMistake
from coach.review.rules import ChangeSuggestion, RecontactChoice, SurfaceReason, UnderlyingReason, Verdict

try:  # imported as part of a "tests" package
    from .slack_signing import TEAM_ID
except ImportError:  # tests/ itself on sys.path (the benchmark)
    from slack_signing import TEAM_ID  # type: ignore[no-redef]

__all__ = ["SeedPlan", "seed_history", "rep_zone"]

ZONES = (("ja", "Asia/Tokyo"), ("en", "America/New_York"))
REASONS = list(UnderlyingReason)
KEPT = [KeptChange.YES, KeptChange.PARTLY, KeptChange.NO]


def rep_zone(user_id: str, n: int) -> tuple[str, str]:
    return ZONES[n % 2]


@dataclass
class SeedPlan:
    """What was inserted, for assertions."""

    reviews: dict[str, list[int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _bulk(model):
    # render_nulls keeps every row the same shape: one executemany per table.
    return insert(model).execution_options(render_nulls=True)


def _reserve_ids(session: Session, model, n: int) -> list[int]:
    """Ids known before inserting (PostgreSQL: from the table's sequence; SQLite: after the max)."""
    table = model.__table__
    if not n:
        return []
    if session.get_bind().dialect.name == "postgresql":
        seq = session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
        return list(session.scalars(select(func.nextval(seq)).select_from(func.generate_series(1, n))))
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
    return list(range(start, start + n))


def seed_history(
    db: Database,
    *,
    reps: dict[str, int],
    now: datetime,
    team_id: str = TEAM_ID,
    spread_days: int = 720,
    zones: dict[str, tuple[str, str]] | None = None,
    wins: bool = True,
    batch: int = 20_000,
) -> SeedPlan:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    plan = SeedPlan()
    reviews: list[dict] = []
    for n, (user_id, count) in enumerate(reps.items()):
        locale, tz_name = (zones or {}).get(user_id) or rep_zone(user_id, n)
        for k in range(count):
            days_ago = max(1, round(spread_days * (count - k) / count))
            reviews.append(
                _review(k, user_id=user_id, team_id=team_id, locale=locale, tz_name=tz_name, now=now, days_ago=days_ago)
            )
    reviews.sort(key=lambda r: (r["completed_at"], r["user_id"]))  # ids in the order reviews were saved
    with db.session() as s:
        ids = _reserve_ids(s, Review, len(reviews))
        for rid, row in zip(ids, reviews):
            row["id"] = rid
            plan.reviews.setdefault(row["user_id"], []).append(rid)
        reasons, nudges, checks, win_rows = [], [], [], []
        for row in reviews:
            k = row.pop("_k")
            reasons += [
                {"review_id": row["id"], "position": p, "code": str(REASONS[(k + p) % len(REASONS)]), "text": None}
                for p in range(3)
            ]
            nudges += _nudges(row, now=now)
            check = _self_check(row, k, now=now)
            if check:
                checks.append(check)
            if wins and k % 4 == 3:
                win = _win(row, k, now=now)
                if win:
                    win_rows.append(win)
        nudge_ids = _reserve_ids(s, Nudge, len(nudges))
        for nid, nudge in zip(nudge_ids, nudges):
            nudge["id"] = nid
        win_ids = _reserve_ids(s, Win, len(win_rows))
        for wid, win in zip(win_ids, win_rows):
            win["id"] = wid
        for model, rows in (
            (Review, reviews),
            (UnderlyingReasonRow, reasons),
            (Nudge, nudges),
            (SelfCheck, checks),
            (Win, win_rows),
        ):
            for i in range(0, len(rows), batch):
                s.execute(_bulk(model), rows[i : i + batch])
            plan.rows[model.__tablename__] = len(rows)
    return plan


def _review(k: int, *, user_id: str, team_id: str, locale: str, tz_name: str, now: datetime, days_ago: int) -> dict:
    tz = ZoneInfo(tz_name)
    lost_on: date = (now - timedelta(days=days_ago)).astimezone(tz).date()
    lost_at = datetime.combine(lost_on, time(18, 0), tzinfo=tz).astimezone(UTC)
    hours = 6 if k % 3 else 30  # two in three reviewed within 24 hours
    completed_at = min(lost_at + timedelta(hours=hours), now - timedelta(minutes=1))
    ja = locale == "ja"
    own_change = k % 3 == 2
    return {
        "_k": k,
        "team_id": team_id,
        "user_id": user_id,
        "locale": locale,
        "timezone": tz_name,
        "deal_name": (f"株式会社サンプル{k} 更新案件" if ja else f"Sample Corp {k} renewal"),
        "deal_size": Decimal(1_000_000 + k * 1000) if k % 4 else None,
        "lost_on": lost_on,
        "lost_at": lost_at,
        "surface_reason": str([r for r in SurfaceReason if r is not SurfaceReason.COMPETITOR][k % 5]),
        "competitor": None,
        "timeline": "4月 初回訪問\n5月 デモ\n6月 見積提出" if ja else "Apr first visit\nMay demo\nJun quote",
        "customer_words": "「今期は予算が取れませんでした」" if ja else '"No budget this term."',
        "reaction_change": None,
        "failed_question": None,
        "problem_verdict": str(Verdict.PARTLY),
        "problem_note": None,
        "value_verdict": str(Verdict.MISSED),
        "value_note": None,
        "relationship_verdict": str(Verdict.HELD),
        "relationship_note": None,
        "decision_verdict": str(Verdict.MISSED),
        "decision_note": None,
        "decision_maker": None,
        "change_code": None if own_change else str(list(ChangeSuggestion)[k % 3]),
        "change_text": ("最初の5分で決裁プロセスを確認する" if ja else "Confirm the decision process first")
        if own_change
        else "",
        "next_meeting_at": completed_at + timedelta(days=3),
        "recontact_choice": str(RecontactChoice.SIX_MONTHS),
        "recontact_on": lost_on + relativedelta(months=6),
        "share_with_manager": True,
        "self_denial_flagged": False,
        "started_at": completed_at - timedelta(minutes=25),
        "completed_at": completed_at,
        "review_hours": round((completed_at - lost_at) / timedelta(hours=1), 1),
        "customer_stated_reason": None,
        "summary_ts": None,
        "summary_error": None,
        "shared_ts": None,
        "share_error": None,
    }


def _nudges(review: dict, *, now: datetime) -> list[dict]:
    recontact_at = datetime.combine(review["recontact_on"], time(10), tzinfo=ZoneInfo(review["timezone"]))
    planned = [
        (NudgeKind.CHECKLIST, review["lost_at"] + timedelta(days=2)),
        (NudgeKind.SELF_CHECK, review["lost_at"] + timedelta(days=7)),
        (NudgeKind.PRE_MEETING, review["next_meeting_at"] - timedelta(hours=1)),
        (NudgeKind.RECONTACT, recontact_at.astimezone(UTC)),
    ]
    rows = []
    for kind, due in planned:
        sent = due <= now
        rows.append(
            {
                "kind": str(kind),
                "team_id": review["team_id"],
                "user_id": review["user_id"],
                "review_id": review["id"],
                "draft_id": None,
                "due_at": due,
                "expires_at": None,
                "status": str(NudgeStatus.SENT if sent else NudgeStatus.PENDING),
                "attempts": 1 if sent else 0,
                "last_error": None,
                "claimed_by": None,
                "claimed_at": None,
                "sent_at": due if sent else None,
                "channel_id": "D" + review["user_id"] if sent else None,
                "message_ts": f"{due.timestamp():.6f}" if sent else None,
                "acted_at": None,
                "updated_at": now,
            }
        )
    return rows


def _self_check(review: dict, k: int, *, now: datetime) -> dict | None:
    answered_at = review["lost_at"] + timedelta(days=7, hours=1)
    if answered_at > now or k % 10 == 9:  # not due yet, or never answered
        return None
    partial = k % 5 == 4
    return {
        "review_id": review["id"],
        "team_id": review["team_id"],
        "user_id": review["user_id"],
        "repeated_mistake": str(RepeatedMistake.NO if k % 2 else RepeatedMistake.YES),
        "kept_change": str(KEPT[k % 3]),
        "reaction": None if partial else str(Reaction.BETTER),
        "meetings": None if partial else 4 + k % 5,
        "answered_at": answered_at,
    }


def _win(review: dict, k: int, *, now: datetime) -> dict | None:
    days = 3 + k % 11
    won_on = review["lost_on"] + timedelta(days=days)
    won_at = datetime.combine(won_on, time(15), tzinfo=ZoneInfo(review["timezone"])).astimezone(UTC)
    if won_at > now:
        return None
    return {
        "team_id": review["team_id"],
        "user_id": review["user_id"],
        "deal_name": f"{review['deal_name']} (won)",
        "won_on": won_on,
        "won_at": won_at,
        "last_loss_review_id": review["id"],
        "days_since_loss": days,
    }
