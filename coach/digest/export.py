"""`/lost export`: the reviews of a period as a CSV. No Slack here.

A manager's export holds the reviews of their workspace that the reps
shared with managers; a rep's holds their own and nothing else (the query
filters by user; tested). The file is
UTF-8 with a byte order mark so Excel shows Japanese, one row per review,
underlying reasons joined in one cell, the week-1 self-check alongside.
Cells a spreadsheet would run as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from coach.digest.period import Period
from coach.i18n import Translator
from coach.models import Review, SelfCheck
from coach.nudges.labels import kept_label, reaction_label, repeated_label
from coach.review.labels import change_label, surface_label, underlying_label, verdict_label

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500


@dataclass(frozen=True)
class Scope:
    team_id: str
    user_id: str | None  # None: the whole team (a manager's export)
    requester: str | None = None  # a manager's own reviews are in their team export, shared or not


def reviews_in(session: Session, period: Period, scope: Scope) -> Iterable[tuple[Review, SelfCheck | None]]:
    """The scope's reviews finished in the period, oldest first, with their self-check."""
    conds = [Review.team_id == scope.team_id, Review.completed_at >= period.start, Review.completed_at < period.end]
    if scope.user_id is not None:
        conds.append(Review.user_id == scope.user_id)
    else:  # a rep who turned sharing off keeps that review to themselves
        conds.append(or_(Review.share_with_manager.is_(True), Review.user_id == scope.requester))
    stmt = (
        select(Review, SelfCheck)
        .outerjoin(SelfCheck, SelfCheck.review_id == Review.id)
        .where(*conds)
        .order_by(Review.completed_at, Review.id)
        .options(selectinload(Review.reasons))
        .execution_options(yield_per=BATCH)
    )
    yield from session.execute(stmt)


def _safe(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def headers(t: Translator) -> list[str]:
    return [
        t._("Review id"),
        t._("Rep (Slack user id)"),
        t._("Deal"),
        t._("Deal size"),
        t._("Lost on"),
        t._("Review finished"),
        t._("Hours to review"),
        t._("Within 24 hours"),
        t._("Stated reason"),
        t._("Competitor"),
        t._("Underlying reasons"),
        t._("Problem"),
        t._("Value"),
        t._("Relationship"),
        t._("Decision"),
        t._("Decision maker"),
        t._("Timeline of the deal"),
        t._("The customer's words"),
        t._("Where did the customer's reaction change?"),
        t._("Which question failed to draw out the real need?"),
        t._("The one change for the next meeting"),
        t._("Next meeting"),
        t._("Re-contact on"),
        t._("What the customer said on re-contact"),
        t._("Shared with managers"),
        t._("Self-check: repeated the same mistake?"),
        t._("Self-check: kept the one change?"),
        t._("Self-check: customer reaction"),
        t._("Self-check: meetings that week"),
    ]


def row(t: Translator, review: Review, check: SelfCheck | None) -> list[str]:
    yes, no = t._("Yes"), t._("No")
    reasons = " / ".join(underlying_label(t, r.code) if r.code else (r.text or "") for r in review.reasons)
    change = change_label(t, review.change_code) if review.change_code else review.change_text

    def local(dt) -> str:
        return dt.astimezone(t.tz).strftime("%Y-%m-%d %H:%M") if dt is not None else ""  # "" : not booked yet

    cells: list[object] = [
        review.id,
        review.user_id,
        review.deal_name,
        review.deal_size,
        review.lost_on.isoformat(),
        local(review.completed_at),
        review.review_hours,
        yes if review.review_hours <= 24 else no,
        surface_label(t, review.surface_reason),
        review.competitor,
        reasons,
        verdict_label(t, review.problem_verdict),
        verdict_label(t, review.value_verdict),
        verdict_label(t, review.relationship_verdict),
        verdict_label(t, review.decision_verdict),
        review.decision_maker,
        review.timeline,
        review.customer_words,
        review.reaction_change,
        review.failed_question,
        change,
        local(review.next_meeting_at),
        review.recontact_on.isoformat(),
        review.customer_stated_reason,
        yes if review.share_with_manager else no,
        repeated_label(t, check.repeated_mistake) if check and check.repeated_mistake else "",
        kept_label(t, check.kept_change) if check and check.kept_change else "",
        reaction_label(t, check.reaction) if check and check.reaction else "",
        check.meetings if check and check.meetings is not None else "",
    ]
    return [_safe(c) for c in cells]


def export_csv(t: Translator, rows: Iterable[tuple[Review, SelfCheck | None]]) -> tuple[bytes, int]:
    """The CSV bytes (UTF-8 with BOM, CRLF lines as Excel expects) and the number of reviews in it."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(t))
    n = 0
    for review, check in rows:
        writer.writerow(row(t, review, check))
        n += 1
    return out.getvalue().encode("utf-8"), n


def build_export(session: Session, t: Translator, period: Period, scope: Scope) -> tuple[bytes, int]:
    return export_csv(t, reviews_in(session, period, scope))
