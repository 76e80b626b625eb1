"""What the managers' digest says, computed with SQL aggregates (METHOD §6).

No Slack here. Every figure is a COUNT / SUM / AVG with GROUP BY in the
database; the only rows that come back whole are the few quotes per lens,
the re-contacts coming due and the win day counts of the period, each
small and capped. Reviews count in the period they were *finished* in, so a
loss reviewed late is still reported once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from statistics import median

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from coach.digest.period import Period
from coach.models import CustomerFollowUp, Review, ReviewDraft, SelfCheck, UnderlyingReasonRow, Win
from coach.review.rules import Lens, Verdict

QUOTES_PER_LENS = 3
QUOTE_CHARS = 220
MAX_LISTED = 300  # repeated-reason reps and re-contacts listed by name; the rest are counted
UNANSWERED = "unanswered"


@dataclass(frozen=True)
class Repeat:
    user_id: str
    code: str
    reviews: int


@dataclass(frozen=True)
class Quote:
    user_id: str
    deal_name: str
    words: str
    note: str | None


@dataclass(frozen=True)
class CustomerSaid:
    """What a customer gave as their biggest reason on the follow-up call, beside the rep's surface reason."""

    user_id: str
    deal_name: str
    surface_reason: str
    biggest_reason: str


CUSTOMER_SAID_SHOWN = 5


@dataclass(frozen=True)
class Recontact:
    user_id: str
    deal_name: str
    on: date
    surface_reason: str


@dataclass
class DigestData:
    period: Period
    losses: int = 0
    reps: int = 0
    deal_value: Decimal | None = None
    within_24h: int = 0
    avg_review_hours: float | None = None
    open_drafts: int = 0
    surface: list[tuple[str, int]] = field(default_factory=list)
    # Underlying reasons by catalogue code; None is the reps' own words.
    underlying: list[tuple[str | None, int]] = field(default_factory=list)
    # For each surface reason, the underlying reasons behind it (most frequent first).
    behind: dict[str, list[tuple[str | None, int]]] = field(default_factory=dict)
    # The follow-up calls of the period's losses: recorded / could not be made, and what customers said
    # (quoted only from reviews shared with managers).
    followups_recorded: int = 0
    followups_unreachable: int = 0
    customer_said: list[CustomerSaid] = field(default_factory=list)
    # lens -> verdict -> count
    lenses: dict[str, dict[str, int]] = field(default_factory=dict)
    # One-change commitments made this period: change code (None: own words) -> count.
    changes: list[tuple[str | None, int]] = field(default_factory=list)
    check_window: Period | None = None
    # Week-1 self-check on those commitments: yes / partly / no / unanswered -> count.
    kept: dict[str, int] = field(default_factory=dict)
    repeated_mistake: int = 0
    repeats: list[Repeat] = field(default_factory=list)
    repeat_reps: int = 0
    quotes: dict[str, list[Quote]] = field(default_factory=dict)
    recontacts: list[Recontact] = field(default_factory=list)
    recontacts_total: int = 0
    recontacts_unshared: int = 0
    recontact_from: date | None = None
    recontact_until: date | None = None  # exclusive
    wins: int = 0
    recovery_median_days: float | None = None
    recovery_fastest_days: int | None = None

    @property
    def within_24h_share(self) -> float | None:
        return self.within_24h / self.losses if self.losses else None

    @property
    def commitments_checked(self) -> int:
        return sum(self.kept.values())


def _in_period(period: Period, team_id: str | None):
    conds = [Review.completed_at >= period.start, Review.completed_at < period.end]
    if team_id is not None:
        conds.append(Review.team_id == team_id)
    return and_(*conds)


def _count_if(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def compute(
    session: Session, period: Period, *, team_id: str | None, recontact_from: date, recontact_until: date
) -> DigestData:
    data = DigestData(period=period, recontact_from=recontact_from, recontact_until=recontact_until)
    in_period = _in_period(period, team_id)
    _totals(session, data, in_period)
    _reasons(session, data, in_period)
    _customer_said(session, data, in_period)
    _commitments(session, data, in_period, team_id)
    _repeats(session, data, team_id)
    _quotes(session, data, in_period)
    _recontacts(session, data, team_id)
    _recovery(session, data, team_id)
    drafts = (
        select(func.count())
        .select_from(ReviewDraft)
        .where(
            ReviewDraft.started_at >= period.start,
            ReviewDraft.started_at < period.end,
            *([ReviewDraft.team_id == team_id] if team_id is not None else []),
        )
    )
    data.open_drafts = session.scalar(drafts) or 0
    return data


def _totals(session: Session, data: DigestData, in_period) -> None:
    lens_columns = []
    for lens in Lens:
        column = getattr(Review, f"{lens}_verdict")
        for verdict in Verdict:
            lens_columns.append(_count_if(column == str(verdict)).label(f"{lens}_{verdict}"))
    row = session.execute(
        select(
            func.count(Review.id).label("losses"),
            func.count(func.distinct(Review.user_id)).label("reps"),
            func.sum(Review.deal_size).label("value"),
            _count_if(Review.review_hours <= 24).label("within_24h"),
            func.avg(Review.review_hours).label("avg_hours"),
            *lens_columns,
        ).where(in_period)
    ).one()
    data.losses, data.reps = row.losses, row.reps
    data.deal_value = Decimal(row.value) if row.value is not None else None
    data.within_24h = int(row.within_24h)
    data.avg_review_hours = float(row.avg_hours) if row.avg_hours is not None else None
    data.lenses = {str(lens): {str(v): int(getattr(row, f"{lens}_{v}")) for v in Verdict} for lens in Lens}


def _reasons(session: Session, data: DigestData, in_period) -> None:
    data.surface = [
        (s, n)
        for s, n in session.execute(
            select(Review.surface_reason, func.count())
            .where(in_period)
            .group_by(Review.surface_reason)
            .order_by(func.count().desc(), Review.surface_reason)
        )
    ]
    # Surface × underlying in one GROUP BY: at most 6 × 8 rows. The period's review ids as a
    # subquery let the database walk from the few reviews to their reasons by review_id.
    cross = session.execute(
        select(Review.surface_reason, UnderlyingReasonRow.code, func.count())
        .join(Review, UnderlyingReasonRow.review_id == Review.id)
        .where(UnderlyingReasonRow.review_id.in_(select(Review.id).where(in_period).scalar_subquery()))
        .group_by(Review.surface_reason, UnderlyingReasonRow.code)
    ).all()
    totals: dict[str | None, int] = {}
    behind: dict[str, dict[str | None, int]] = {}
    for surface, code, n in cross:
        totals[code] = totals.get(code, 0) + n
        behind.setdefault(surface, {})[code] = n
    data.underlying = _ranked(totals)
    data.behind = {s: _ranked(codes) for s, codes in behind.items()}


def _customer_said(session: Session, data: DigestData, in_period) -> None:
    """Follow-up calls counted in one GROUP BY; the few latest customer-stated reasons of shared reviews."""
    for outcome, n in session.execute(
        select(CustomerFollowUp.outcome, func.count())
        .join(Review, Review.id == CustomerFollowUp.review_id)
        .where(in_period)
        .group_by(CustomerFollowUp.outcome)
    ):
        if outcome == "recorded":
            data.followups_recorded = int(n)
        else:
            data.followups_unreachable += int(n)
    rows = session.execute(
        select(
            Review.user_id,
            Review.deal_name,
            Review.surface_reason,
            func.substr(CustomerFollowUp.biggest_reason, 1, QUOTE_CHARS + 1),
        )
        .join(Review, Review.id == CustomerFollowUp.review_id)
        .where(
            in_period,
            CustomerFollowUp.outcome == "recorded",
            CustomerFollowUp.biggest_reason.is_not(None),
            Review.share_with_manager.is_(True),
        )
        .order_by(CustomerFollowUp.recorded_at.desc(), Review.id.desc())
        .limit(CUSTOMER_SAID_SHOWN)
    ).all()
    data.customer_said = [CustomerSaid(u, d, s, w) for u, d, s, w in rows]


def _ranked(counts: dict[str | None, int]) -> list[tuple[str | None, int]]:
    # Most frequent first; the reps' own words (None) after catalogue codes of the same count.
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))


def _commitments(session: Session, data: DigestData, in_period, team_id: str | None) -> None:
    data.changes = _ranked(
        {
            code: n
            for code, n in session.execute(
                select(Review.change_code, func.count()).where(in_period).group_by(Review.change_code)
            )
        }
    )
    window = data.period.self_check_window()
    data.check_window = window
    conds = [Review.lost_at >= window.start, Review.lost_at < window.end]
    if team_id is not None:
        conds.append(Review.team_id == team_id)
    answer = func.coalesce(SelfCheck.kept_change, literal(UNANSWERED))
    rows = session.execute(
        select(answer, func.count(), _count_if(SelfCheck.repeated_mistake == "yes"))
        .select_from(Review)
        .outerjoin(SelfCheck, SelfCheck.review_id == Review.id)
        .where(*conds)
        .group_by(answer)
    ).all()
    data.kept = {str(k): int(n) for k, n, _ in rows}
    data.repeated_mistake = sum(int(r) for _, _, r in rows)


def _repeats(session: Session, data: DigestData, team_id: str | None) -> None:
    """Reps naming the same underlying reason in two or more reviews within 90 days, one of them this period.

    One GROUP BY (rep, reason) with HAVING; what comes back is one row per
    flagged pair (at most reps × 7), ranked here: the reps with the most
    repeats first.
    """
    period = data.period
    window = [Review.completed_at >= period.repeat_window_start(), Review.completed_at < period.end]
    if team_id is not None:
        window.append(Review.team_id == team_id)
    n_reviews = func.count(func.distinct(Review.id))
    rows = session.execute(
        select(Review.user_id, UnderlyingReasonRow.code, n_reviews)
        .select_from(UnderlyingReasonRow)
        .join(Review, UnderlyingReasonRow.review_id == Review.id)
        .where(
            UnderlyingReasonRow.review_id.in_(select(Review.id).where(*window).scalar_subquery()),
            UnderlyingReasonRow.code.is_not(None),
        )
        .group_by(Review.user_id, UnderlyingReasonRow.code)
        .having(n_reviews >= 2, func.max(Review.completed_at) >= period.start)
    ).all()
    worst: dict[str, int] = {}
    for user, _, n in rows:
        worst[user] = max(worst.get(user, 0), int(n))
    ranked = sorted(rows, key=lambda r: (-worst[r[0]], r[0], -r[2], r[1]))
    data.repeat_reps = len(worst)
    listed = set(sorted(worst, key=lambda u: (-worst[u], u))[:MAX_LISTED])
    data.repeats = [Repeat(u, c, int(n)) for u, c, n in ranked if u in listed]


def _quotes(session: Session, data: DigestData, in_period) -> None:
    """The customer's words from reviews where a lens was missed, a few per lens.

    Only reviews the rep chose to share with managers are quoted; everything
    else in the digest is counts.
    """
    for lens in Lens:
        verdict, note = getattr(Review, f"{lens}_verdict"), getattr(Review, f"{lens}_note")
        rows = session.execute(
            select(
                Review.user_id,
                Review.deal_name,
                func.substr(Review.customer_words, 1, QUOTE_CHARS + 1),
                func.substr(note, 1, QUOTE_CHARS + 1),
            )
            .where(in_period, verdict == str(Verdict.MISSED), Review.share_with_manager.is_(True))
            .order_by(Review.completed_at.desc(), Review.id.desc())
            .limit(QUOTES_PER_LENS)
        ).all()
        if rows:
            data.quotes[str(lens)] = [Quote(u, d, w, n) for u, d, w, n in rows]


def _recontacts(session: Session, data: DigestData, team_id: str | None) -> None:
    """Re-contacts coming due. Named only from reviews shared with managers; the rest are counted."""
    conds = [Review.recontact_on >= data.recontact_from, Review.recontact_on < data.recontact_until]
    if team_id is not None:
        conds.append(Review.team_id == team_id)
    total, unshared = session.execute(
        select(func.count(), _count_if(Review.share_with_manager.is_(False))).select_from(Review).where(*conds)
    ).one()
    data.recontacts_total, data.recontacts_unshared = int(total), int(unshared)
    rows = session.execute(
        select(Review.user_id, Review.deal_name, Review.recontact_on, Review.surface_reason)
        .where(*conds, Review.share_with_manager.is_(True))
        .order_by(Review.recontact_on, Review.user_id, Review.id)
        .limit(MAX_LISTED)
    ).all()
    data.recontacts = [Recontact(u, d, on, s) for u, d, on, s in rows]


def _recovery(session: Session, data: DigestData, team_id: str | None) -> None:
    """Wins logged this period (復活) and how many days after the rep's last loss."""
    conds = [Win.won_at >= data.period.start, Win.won_at < data.period.end]
    if team_id is not None:
        conds.append(Win.team_id == team_id)
    data.wins = session.scalar(select(func.count()).select_from(Win).where(*conds)) or 0
    # The day counts of one period's wins: a short list of integers, not reviews.
    days = list(session.scalars(select(Win.days_since_loss).where(*conds, Win.days_since_loss.is_not(None))))
    if days:
        data.recovery_median_days = float(median(days))
        data.recovery_fastest_days = min(days)
