"""What the Home tab shows, read with SQL aggregates and limits.

Every method is one unit of work and returns plain frozen dataclasses, so
the view builders never touch the database. Sizes are bounded here: a rep
with a thousand reviews costs the same handful of indexed queries as a rep
with three, and nothing loads a rep's reviews wholesale.

Privacy is decided in the queries: a rep's methods filter on the rep's own
`(team_id, user_id)`; a manager reads another rep's review (the team list,
the read-only view) only if the rep shared it with managers, as the digest
quotes only shared reviews; team figures count every review.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from coach.db import Database
from coach.models import (
    CustomerFollowUp,
    HomeViewer,
    NormalWeek,
    Nudge,
    RecontactNote,
    Review,
    ReviewDraft,
    SelfCheck,
    UnderlyingReasonRow,
    Win,
)
from coach.nudges.rules import Activity, NudgeKind, NudgeStatus
from coach.review.rules import local_today
from coach.wins import service as wins
from coach.wins.service import Recovery, WinLine

REVIEWS_ON_HOME = 8
PAGE_SIZE = 15
TOP_REASONS = 5
PENDING_SHOWN = 3
RECONTACTS_SHOWN = 5
TEAM_WINDOW_DAYS = 30
TEAM_REPEATERS_SHOWN = 8
TEAM_REVIEWS_SHOWN = 5
TEAM_WINS_SHOWN = 3
NOTES_SHOWN = 3
REPEATED_AT = 2  # a reason in this many reviews is a repeated one (同じ失注は二度と繰り返さない)
WITHIN_HOURS = 24


# Shapes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    id: int
    deal_name: str | None
    started_at: datetime


@dataclass(frozen=True)
class NextMeeting:
    review_id: int
    deal_name: str
    at: datetime | None  # None: not booked yet
    change_code: str | None
    change_text: str
    reminder_due: datetime | None  # the pending "before your meeting" reminder
    ready_at: datetime | None  # when the rep pressed "I'm ready"


@dataclass(frozen=True)
class PendingSelfCheck:
    review_id: int
    deal_name: str
    lost_on: date
    missing: tuple[str, ...]  # "repeated", "kept", "reaction", "meetings"


@dataclass(frozen=True)
class ReviewLine:
    id: int
    user_id: str
    deal_name: str
    lost_on: date
    surface_reason: str
    change_code: str | None
    change_text: str
    review_hours: float
    kept: str | None  # the week-1 answer: yes / partly / no, or None
    check_due: datetime | None  # when the self-check was (or will be) sent
    check_sent: bool
    customer_said: str | None = None  # the customer-stated reason (the follow-up call), if recorded


@dataclass(frozen=True)
class ReasonCount:
    code: str | None
    text: str | None
    reviews: int

    @property
    def repeated(self) -> bool:
        return self.reviews >= REPEATED_AT


@dataclass(frozen=True)
class Recontact:
    review_id: int
    deal_name: str
    on: date
    customer_said: str | None


@dataclass(frozen=True)
class Commitments:
    kept: int = 0
    partly: int = 0
    not_kept: int = 0
    unanswered: int = 0


@dataclass(frozen=True)
class RepHome:
    user_id: str
    today: date
    draft: Draft | None
    next_meeting: NextMeeting | None
    pending_checks: list[PendingSelfCheck]
    pending_total: int
    reviews: list[ReviewLine]
    review_total: int
    within_24h: int
    commitments: Commitments
    reasons: list[ReasonCount]
    repeated_total: int
    recontacts: list[Recontact]
    recontact_total: int
    recovery: Recovery
    normal_week: dict[str, int] | None = None  # what a normal week looks like (METHOD §5)


@dataclass(frozen=True)
class Repeater:
    user_id: str
    code: str | None
    text: str | None
    reviews: int


@dataclass(frozen=True)
class TeamHome:
    since: datetime
    days: int
    losses: int
    loss_value: Decimal | None
    reps_with_losses: int
    within_24h: int
    reasons: list[ReasonCount]
    repeaters: list[Repeater]
    repeater_total: int
    recovery: Recovery
    latest_wins: list[WinLine]
    latest_reviews: list[ReviewLine]  # the newest few; all of them are a button away, paged


@dataclass(frozen=True)
class ReviewPage:
    lines: list[ReviewLine]
    total: int
    offset: int
    limit: int
    team: bool


@dataclass(frozen=True)
class ReviewDetail:
    review: Review
    check: SelfCheck | None
    notes: list[RecontactNote] = field(default_factory=list)
    followup: CustomerFollowUp | None = None  # what the customer said on the follow-up call


# The service ---------------------------------------------------------------------


SELF_CHECK_QUESTIONS = (
    ("repeated", SelfCheck.repeated_mistake),
    ("kept", SelfCheck.kept_change),
    ("reaction", SelfCheck.reaction),
    ("meetings", SelfCheck.meetings),
)


def _self_check_nudge():
    return and_(Nudge.review_id == Review.id, Nudge.kind == NudgeKind.SELF_CHECK)


def _line_columns() -> tuple[Any, ...]:
    return (
        Review.id,
        Review.user_id,
        Review.deal_name,
        Review.lost_on,
        Review.surface_reason,
        Review.change_code,
        Review.change_text,
        Review.review_hours,
        SelfCheck.kept_change,
        Nudge.due_at,
        Nudge.status,
        Review.customer_stated_reason,
    )


def _line(row) -> ReviewLine:
    return ReviewLine(
        id=row[0],
        user_id=row[1],
        deal_name=row[2],
        lost_on=row[3],
        surface_reason=row[4],
        change_code=row[5],
        change_text=row[6] or "",
        review_hours=row[7],
        kept=row[8],
        check_due=row[9],
        check_sent=row[10] == NudgeStatus.SENT,
        customer_said=row[11],
    )


def _with_line_joins(q: Select) -> Select:
    return q.outerjoin(SelfCheck, SelfCheck.review_id == Review.id).outerjoin(Nudge, _self_check_nudge())


def _shared_with_managers():
    """Reviews a manager may read whole: the rep kept "share with my manager" on (or shared it later)."""
    return Review.share_with_manager.is_(True)


def _newest_first_in(team_id: str | None):
    """The team's reviews, for a newest-first (id DESC) list with a LIMIT.

    Compared as an expression on purpose: the planner then walks the primary
    key backwards and stops after a page, instead of fetching every review of
    the team through the (team, rep, completed) index and sorting them. The
    app serves one workspace, so nearly every row is the team's.
    """
    return func.coalesce(Review.team_id, "") == (team_id or "")


def _norm_text():
    return func.lower(func.trim(UnderlyingReasonRow.text))


class HomeService:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Reps known to have opened their Home. Only that is cached: once opened, always opened; a rep not
        # found is looked up again (another instance may have seen them open it).
        self._viewers: set[tuple[str, str]] = set()
        self._unsaved: set[tuple[str, str]] = set()  # openings noted in the listener, stored by the next refresh
        self._viewers_lock = threading.Lock()

    # Who has a Home to keep up to date ----------------------------------------------

    def note_opened(self, team_id: str | None, user_id: str) -> None:
        """The rep opened their Home (app_home_opened); noted at once, without the database (the listener
        answers Slack right after), and stored by `save_openings`."""
        key = (team_id or "", user_id)
        with self._viewers_lock:
            if key not in self._viewers:
                self._viewers.add(key)
                self._unsaved.add(key)

    def save_openings(self, *, now: datetime) -> None:
        """Store the openings noted since the last call."""
        with self._viewers_lock:
            keys, self._unsaved = self._unsaved, set()
        if not keys:
            return
        rows = [{"team_id": team_id, "user_id": user_id, "first_opened_at": now} for team_id, user_id in keys]
        try:
            with self.db.session() as s:
                dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
                s.execute(dialect.insert(HomeViewer).on_conflict_do_nothing(), rows)
        except Exception:
            with self._viewers_lock:
                self._unsaved |= keys  # tried again by the next refresh
            raise

    def has_opened(self, team_id: str | None, user_id: str) -> bool:
        """Whether the rep ever opened their Home: if not, publishing it would be work nobody sees."""
        key = (team_id or "", user_id)
        with self._viewers_lock:
            if key in self._viewers:
                return True
        with self.db.session() as s:
            opened = s.get(HomeViewer, key) is not None
        if opened:
            with self._viewers_lock:
                self._viewers.add(key)
        return opened

    # The rep's Home ---------------------------------------------------------------

    def rep_home(
        self, team_id: str | None, user_id: str, *, now: datetime, tz: ZoneInfo, reviews_shown: int = REVIEWS_ON_HOME
    ) -> RepHome:
        today = local_today(now, tz)
        mine = (
            and_(Review.team_id == (team_id or ""), Review.user_id == user_id) if team_id else Review.user_id == user_id
        )
        with self.db.session() as s:
            return RepHome(
                user_id=user_id,
                today=today,
                draft=self._draft(s, team_id, user_id),
                next_meeting=self._next_meeting(s, mine),
                **self._pending_checks(s, mine),
                **self._reviews(s, mine, reviews_shown),
                reasons=self._reasons(s, mine, TOP_REASONS),
                repeated_total=self._repeated_total(s, mine),
                **self._recontacts(s, mine, today),
                recovery=wins.recovery(s, wins.of_rep(team_id, user_id)),
                normal_week=self._normal_week(s, team_id, user_id),
            )

    @staticmethod
    def _normal_week(s: Session, team_id: str | None, user_id: str) -> dict[str, int] | None:
        row = s.get(NormalWeek, (team_id or "", user_id))
        return None if row is None else {a: getattr(row, a) for a in Activity}

    @staticmethod
    def _draft(s: Session, team_id: str | None, user_id: str) -> Draft | None:
        q = select(ReviewDraft.id, ReviewDraft.answers, ReviewDraft.started_at).where(ReviewDraft.user_id == user_id)
        if team_id:
            q = q.where(ReviewDraft.team_id == team_id)
        row = s.execute(q.limit(1)).first()
        if row is None:
            return None
        deal = (row.answers or {}).get("deal_name")
        return Draft(row.id, deal if isinstance(deal, str) and deal.strip() else None, row.started_at)

    @staticmethod
    def _next_meeting(s: Session, mine) -> NextMeeting | None:
        """The latest review's meeting (the one `/lost meeting` moves) and its reminder."""
        latest = (
            select(Review.id)
            .where(mine)
            .order_by(Review.completed_at.desc(), Review.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        row = s.execute(
            select(
                Review.id,
                Review.deal_name,
                Review.next_meeting_at,
                Review.change_code,
                Review.change_text,
                Nudge.due_at,
                Nudge.status,
                Nudge.acted_at,
            )
            .outerjoin(Nudge, and_(Nudge.review_id == Review.id, Nudge.kind == NudgeKind.PRE_MEETING))
            .where(Review.id == latest)
        ).first()
        if row is None:
            return None
        pending = row.status == NudgeStatus.PENDING
        return NextMeeting(
            row.id,
            row.deal_name,
            row.next_meeting_at,
            row.change_code,
            row.change_text or "",
            reminder_due=row.due_at if pending else None,
            ready_at=row.acted_at,
        )

    @staticmethod
    def _pending_checks(s: Session, mine) -> dict[str, Any]:
        incomplete = or_(SelfCheck.review_id.is_(None), *(c.is_(None) for _, c in SELF_CHECK_QUESTIONS))
        rows = s.execute(
            select(
                Review.id,
                Review.deal_name,
                Review.lost_on,
                *(c for _, c in SELF_CHECK_QUESTIONS),
                func.count().over().label("total"),
            )
            .join(Nudge, and_(_self_check_nudge(), Nudge.status == NudgeStatus.SENT))
            .outerjoin(SelfCheck, SelfCheck.review_id == Review.id)
            .where(mine, incomplete)
            .order_by(Nudge.sent_at.desc(), Review.id.desc())
            .limit(PENDING_SHOWN)
        ).all()
        checks = [
            PendingSelfCheck(
                r[0], r[1], r[2], tuple(name for (name, _), v in zip(SELF_CHECK_QUESTIONS, r[3:7]) if v is None)
            )
            for r in rows
        ]
        return {"pending_checks": checks, "pending_total": rows[0].total if rows else 0}

    @staticmethod
    def _reviews(s: Session, mine, shown: int) -> dict[str, Any]:
        lines = [
            _line(r)
            for r in s.execute(
                _with_line_joins(select(*_line_columns()))
                .where(mine)
                .order_by(Review.completed_at.desc(), Review.id.desc())
                .limit(shown)
            )
        ]
        total, within = s.execute(
            select(
                func.count(), func.coalesce(func.sum(case((Review.review_hours <= WITHIN_HOURS, 1), else_=0)), 0)
            ).where(mine)
        ).one()
        counts = dict(
            s.execute(
                select(SelfCheck.kept_change, func.count())
                .select_from(Review)
                .outerjoin(SelfCheck, SelfCheck.review_id == Review.id)
                .where(mine)
                .group_by(SelfCheck.kept_change)
            ).all()
        )
        commitments = Commitments(
            kept=counts.get("yes", 0),
            partly=counts.get("partly", 0),
            not_kept=counts.get("no", 0),
            unanswered=counts.get(None, 0),
        )
        return {"reviews": lines, "review_total": total, "within_24h": int(within), "commitments": commitments}

    @staticmethod
    def _reason_groups(where) -> Select:
        norm = _norm_text()
        n = func.count(func.distinct(UnderlyingReasonRow.review_id))
        return (
            select(UnderlyingReasonRow.code, func.min(UnderlyingReasonRow.text).label("text"), n.label("n"))
            .join(Review, Review.id == UnderlyingReasonRow.review_id)
            .where(where)
            .group_by(UnderlyingReasonRow.code, norm)
        )

    def _reasons(self, s: Session, where, limit: int) -> list[ReasonCount]:
        q = self._reason_groups(where)
        sub = q.subquery()
        rows = s.execute(
            select(sub.c.code, sub.c.text, sub.c.n)
            .order_by(sub.c.n.desc(), sub.c.code.is_(None), sub.c.code, sub.c.text)
            .limit(limit)
        ).all()
        return [ReasonCount(r.code, r.text if r.code is None else None, r.n) for r in rows]

    def _repeated_total(self, s: Session, where) -> int:
        sub = (
            self._reason_groups(where)
            .having(func.count(func.distinct(UnderlyingReasonRow.review_id)) >= REPEATED_AT)
            .subquery()
        )
        return s.scalar(select(func.count()).select_from(sub)) or 0

    @staticmethod
    def _recontacts(s: Session, mine, today: date) -> dict[str, Any]:
        rows = s.execute(
            select(
                Review.id,
                Review.deal_name,
                Review.recontact_on,
                Review.customer_stated_reason,
                func.count().over().label("total"),
            )
            .where(mine, Review.recontact_on >= today)
            .order_by(Review.recontact_on, Review.id)
            .limit(RECONTACTS_SHOWN)
        ).all()
        return {
            "recontacts": [Recontact(r[0], r[1], r[2], r[3]) for r in rows],
            "recontact_total": rows[0].total if rows else 0,
        }

    # The team view (managers) -------------------------------------------------------

    def team_home(self, team_id: str | None, *, now: datetime, days: int = TEAM_WINDOW_DAYS) -> TeamHome:
        since = now - timedelta(days=days)
        team = Review.team_id == (team_id or "")
        # A review is completed after its loss (completed_at >= lost_at), so the second bound changes no
        # answer; it lets the (team, rep, completed_at) index skip old reviews without reading their rows.
        recent = and_(team, Review.lost_at >= since, Review.completed_at >= since)
        with self.db.session() as s:
            losses, value, reps, within = s.execute(
                select(
                    func.count(),
                    func.sum(Review.deal_size),
                    func.count(func.distinct(Review.user_id)),
                    func.coalesce(func.sum(case((Review.review_hours <= WITHIN_HOURS, 1), else_=0)), 0),
                ).where(recent)
            ).one()
            # A rep's own words are theirs to share: the team view names them only from shared reviews.
            reasons_seen = and_(recent, or_(UnderlyingReasonRow.code.is_not(None), _shared_with_managers()))
            repeaters, repeater_total = self._repeaters(s, reasons_seen)
            team_wins = and_(Win.team_id == (team_id or ""), Win.won_at >= since)
            latest_reviews = [
                _line(r)
                for r in s.execute(
                    _with_line_joins(select(*_line_columns()))
                    .where(_newest_first_in(team_id), _shared_with_managers())
                    .order_by(Review.id.desc())
                    .limit(TEAM_REVIEWS_SHOWN)
                )
            ]
            return TeamHome(
                since=since,
                days=days,
                losses=losses,
                loss_value=value,
                reps_with_losses=reps,
                within_24h=int(within),
                reasons=self._reasons(s, reasons_seen, TOP_REASONS),
                repeaters=repeaters,
                repeater_total=repeater_total,
                recovery=wins.recovery(s, team_wins),
                latest_wins=wins.win_lines(s, team_wins, TEAM_WINS_SHOWN),
                latest_reviews=latest_reviews,
            )

    @staticmethod
    def _repeaters(s: Session, where) -> tuple[list[Repeater], int]:
        """Reps whose reviews in the window share an underlying reason: each rep's most repeated one."""
        n = func.count(func.distinct(UnderlyingReasonRow.review_id))
        groups = (
            select(
                Review.user_id, UnderlyingReasonRow.code, func.min(UnderlyingReasonRow.text).label("text"), n.label("n")
            )
            .join(Review, Review.id == UnderlyingReasonRow.review_id)
            .where(where)
            .group_by(Review.user_id, UnderlyingReasonRow.code, _norm_text())
            .having(n >= REPEATED_AT)
            .subquery()
        )
        ranked = select(
            groups,
            func.row_number()
            .over(
                partition_by=groups.c.user_id,
                order_by=(groups.c.n.desc(), groups.c.code.is_(None), groups.c.code, groups.c.text),
            )
            .label("rank"),
        ).subquery()
        rows = s.execute(
            select(ranked.c.user_id, ranked.c.code, ranked.c.text, ranked.c.n, func.count().over().label("total"))
            .where(ranked.c.rank == 1)
            .order_by(ranked.c.n.desc(), ranked.c.user_id)
            .limit(TEAM_REPEATERS_SHOWN)
        ).all()
        return (
            [Repeater(r.user_id, r.code, r.text if r.code is None else None, r.n) for r in rows],
            rows[0].total if rows else 0,
        )

    # Lists and the read-only review -----------------------------------------------

    def review_page(
        self, team_id: str | None, user_id: str | None, *, offset: int, limit: int = PAGE_SIZE
    ) -> ReviewPage:
        """One page of reviews, newest first: the rep's own, or (user_id None) those the team shared."""
        offset = max(offset, 0)
        where = (
            and_(_newest_first_in(team_id), _shared_with_managers())
            if user_id is None
            else (and_(Review.team_id == team_id, Review.user_id == user_id) if team_id else Review.user_id == user_id)
        )
        order = (Review.id.desc(),) if user_id is None else (Review.completed_at.desc(), Review.id.desc())
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(Review).where(where)) or 0
            lines = [
                _line(r)
                for r in s.execute(
                    _with_line_joins(select(*_line_columns())).where(where).order_by(*order).offset(offset).limit(limit)
                )
            ]
        return ReviewPage(lines, total, offset, limit, team=user_id is None)

    def visible_review(
        self, review_id: int, *, viewer_team: str | None, viewer_id: str, manager: bool
    ) -> ReviewDetail | None:
        """The review, if this viewer may read it: its own rep, or a manager of the same team it was shared with."""
        allowed = Review.user_id == viewer_id
        if manager and viewer_team:
            allowed = or_(allowed, and_(Review.team_id == viewer_team, _shared_with_managers()))
        with self.db.session() as s:
            review = s.scalar(
                select(Review).where(Review.id == review_id, allowed).options(selectinload(Review.reasons))
            )
            if review is None:
                return None
            check = s.get(SelfCheck, review.id)
            notes = list(
                s.scalars(
                    select(RecontactNote)
                    .where(RecontactNote.review_id == review.id)
                    .order_by(RecontactNote.recorded_at.desc())
                    .limit(NOTES_SHOWN)
                )
            )
            return ReviewDetail(review, check, notes, s.get(CustomerFollowUp, review.id))

    def own_self_check(self, review_id: int, user_id: str) -> tuple[Review, SelfCheck | None] | None:
        with self.db.session() as s:
            review = s.scalar(
                select(Review)
                .where(Review.id == review_id, Review.user_id == user_id)
                .options(selectinload(Review.reasons))
            )
            if review is None:
                return None
            return review, s.get(SelfCheck, review_id)
