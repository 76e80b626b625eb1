"""Seeding due nudges in bulk, for delivery tests and the nudge benchmark.

    ids = seed_due_nudges(db, count=300, users=300, now=utcnow())

inserts `count` complete reviews (every NOT NULL column with a value the
review flow itself could have stored, three underlying reasons each) and one
pending nudge per review, due a minute before `now`, spread round-robin over
`users` reps `U0000`, `U0001`, ... Rows go in with one executemany INSERT per
table, so 10,000 take a second or two. The Slack users themselves are not
created: call `register_users(fake, users)` for a FakeSlack.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from coach.db import Database
from coach.models import Nudge, Review, UnderlyingReasonRow
from coach.nudges.rules import NudgeKind, NudgeStatus
from coach.review.rules import (
    ChangeSuggestion,
    RecontactChoice,
    SurfaceReason,
    UnderlyingReason,
    Verdict,
    hours_between,
)

try:  # imported as part of a "tests" package
    from .slack_signing import TEAM_ID
except ImportError:  # tests/ itself on sys.path
    from slack_signing import TEAM_ID  # type: ignore[no-redef]

__all__ = ["seed_due_nudges", "user_id", "register_users"]

REPS = (("ja", "Asia/Tokyo"), ("en", "America/New_York"))
_SURFACES = [r for r in SurfaceReason if r is not SurfaceReason.COMPETITOR]
_REASONS = list(UnderlyingReason)
_VERDICTS = list(Verdict)


def user_id(n: int) -> str:
    """The n-th seeded rep: U0000, U0001, ..."""
    return f"U{n:04d}"


def register_users(fake, users: int) -> None:
    """Add the seeded reps to a FakeSlack (Slack refuses a DM to an unknown user)."""
    for n in range(users):
        locale, tz = REPS[n % 2]
        fake.add_user(user_id(n), tz=tz, locale="ja-JP" if locale == "ja" else "en-US")


def _review_row(i: int, *, rep: str, now: datetime) -> dict:
    locale, tz_name = REPS[i % 2]
    tz = ZoneInfo(tz_name)
    lost_on: date = (now - timedelta(days=183)).astimezone(tz).date()
    lost_at = datetime.combine(lost_on, time(18, 0), tzinfo=tz).astimezone(UTC)
    completed_at = lost_at + timedelta(hours=15)
    started_at = completed_at - timedelta(minutes=25)
    own_change = i % 3 == 2
    surface = _SURFACES[i % len(_SURFACES)]
    ja = locale == "ja"
    return {
        "team_id": TEAM_ID,
        "user_id": rep,
        "locale": locale,
        "timezone": tz_name,
        "deal_name": (f"株式会社サンプル{i} 更新案件" if ja else f"Sample Corp {i} renewal"),
        "deal_size": Decimal(1_200_000 + i * 1000) if i % 4 else None,
        "lost_on": lost_on,
        "lost_at": lost_at,
        "surface_reason": str(surface),
        "competitor": None,
        "timeline": (
            "4月 初回訪問\n5月 デモ\n6月 見積提出\n7月 失注連絡"
            if ja
            else "Apr first visit\nMay demo\nJun quote sent\nJul told we lost"
        ),
        "customer_words": ("「今期は予算が取れませんでした」" if ja else '"We could not get budget this term."'),
        "reaction_change": ("デモの後で質問が減った" if ja else "Fewer questions after the demo") if i % 2 else None,
        "failed_question": None,
        "problem_verdict": str(_VERDICTS[i % 3]),
        "problem_note": None,
        "value_verdict": str(_VERDICTS[(i + 1) % 3]),
        "value_note": None,
        "relationship_verdict": str(_VERDICTS[(i + 2) % 3]),
        "relationship_note": None,
        "decision_verdict": str(Verdict.MISSED),
        "decision_note": None,
        "decision_maker": ("部長 山田" if ja else "VP Finance") if i % 5 == 0 else None,
        # Exactly one change: a suggestion, or the rep's own words.
        "change_code": None if own_change else str(list(ChangeSuggestion)[i % len(ChangeSuggestion)]),
        "change_text": (
            "最初の5分で決裁プロセスを確認する" if ja else "Confirm the decision process in the first five minutes"
        )
        if own_change
        else "",
        "next_meeting_at": completed_at + timedelta(days=3),
        "recontact_choice": str(RecontactChoice.SIX_MONTHS),
        "recontact_on": lost_on + relativedelta(months=6),
        "share_with_manager": i % 2 == 0,
        "self_denial_flagged": False,
        "started_at": started_at,
        "completed_at": completed_at,
        "review_hours": hours_between(lost_at, completed_at),
        "customer_stated_reason": None,
        "summary_ts": None,
        "summary_error": None,
        "shared_ts": None,
        "share_error": None,
    }


def seed_due_nudges(
    db: Database, *, count: int, users: int, now: datetime, kind: str = NudgeKind.RECONTACT
) -> list[int]:
    """Insert `count` reviews, each with one pending nudge of `kind` due at now - 1 minute.

    Returns the nudge ids, in review order (nudge i belongs to rep i % users).
    """
    if count < 0 or users < 1:
        raise ValueError("count >= 0 and users >= 1")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if not count:
        return []
    due = now - timedelta(minutes=1)
    reps = [user_id(i % users) for i in range(count)]
    with db.session() as s:
        review_ids = _reserve_ids(s, Review, count)
        s.execute(
            _bulk_insert(Review),
            [{"id": rid, **_review_row(i, rep=rep, now=now)} for i, (rid, rep) in enumerate(zip(review_ids, reps))],
        )
        s.execute(
            _bulk_insert(UnderlyingReasonRow),
            [
                {"review_id": rid, "position": p, "code": str(_REASONS[(i + p) % len(_REASONS)]), "text": None}
                for i, rid in enumerate(review_ids)
                for p in range(3)
            ],
        )
        nudge_ids = _reserve_ids(s, Nudge, count)
        s.execute(
            _bulk_insert(Nudge),
            [
                {
                    "id": nid,
                    "kind": str(kind),
                    "team_id": TEAM_ID,
                    "user_id": rep,
                    "review_id": rid,
                    "draft_id": None,
                    "due_at": due,
                    "expires_at": None,
                    "status": str(NudgeStatus.PENDING),
                    "attempts": 0,
                    "last_error": None,
                    "claimed_by": None,
                    "claimed_at": None,
                    "sent_at": None,
                    "channel_id": None,
                    "message_ts": None,
                    "acted_at": None,
                    "updated_at": now,
                }
                for nid, rep, rid in zip(nudge_ids, reps, review_ids)
            ],
        )
    return nudge_ids


def _bulk_insert(model):
    # render_nulls: every row has the same columns, so each table is one executemany
    # (ORM bulk INSERT otherwise groups rows by which values are None).
    return insert(model).execution_options(render_nulls=True)


def _reserve_ids(session: Session, model, n: int) -> list[int]:
    """Ids for `n` new rows, known before inserting them.

    RETURNING with parameter order is what SQLAlchemy would otherwise need,
    and on SQLite that falls back to one INSERT per row (slow for 10,000).
    PostgreSQL: take them from the table's sequence, so later inserts don't
    collide. SQLite: the next ids after the current maximum (the caller's
    transaction is the only writer).
    """
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        seq = session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
        return list(session.scalars(select(func.nextval(seq)).select_from(func.generate_series(1, n))))
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
    return list(range(start, start + n))
