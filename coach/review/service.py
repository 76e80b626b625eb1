"""Storing reviews: drafts kept on every step, finished reviews saved whole.

Each public method is one unit of work (one transaction) and returns
detached objects, so callers never hold a session across Slack calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coach.db import Database
from coach.models import Review, ReviewDraft, UnderlyingReasonRow
from coach.review import answers as answer_codec
from coach.review import rules
from coach.review.rules import Field, FieldError, Step


class NudgePlanner(Protocol):
    """Plans a draft's and a review's nudges in the same transaction (`coach.nudges.outbox.ReviewNudgePlanner`)."""

    def draft_started(self, session: Session, draft: ReviewDraft, *, loss_at: datetime, now: datetime) -> None: ...

    def draft_finished(self, session: Session, draft: ReviewDraft, *, now: datetime) -> None: ...

    def review_saved(self, session: Session, review: Review, *, now: datetime) -> None: ...


@dataclass(frozen=True)
class Incomplete:
    """The review cannot be saved yet: the first step with problems, and them."""

    step: Step
    errors: list[FieldError]


class ReviewService:
    def __init__(self, db: Database, planner: NudgePlanner) -> None:
        self.db = db
        self.planner = planner

    # Drafts ---------------------------------------------------------------

    def get_draft(self, draft_id: int, user_id: str) -> ReviewDraft | None:
        """The rep's draft by id (None if it is gone or someone else's)."""
        with self.db.session() as s:
            draft = s.get(ReviewDraft, draft_id)
            return draft if draft is not None and draft.user_id == user_id else None

    def open_draft(self, team_id: str, user_id: str) -> ReviewDraft | None:
        with self.db.session() as s:
            return s.scalar(select(ReviewDraft).where(ReviewDraft.team_id == team_id, ReviewDraft.user_id == user_id))

    def start_draft(
        self, team_id: str, user_id: str, *, now: datetime, locale: str, tz: ZoneInfo, deal_name: str | None = None
    ) -> ReviewDraft:
        """A fresh draft, replacing any open one (the rep chose to start over), with its 24-hour reminder."""
        answers = _deal_name_only(deal_name)
        with self.db.session() as s:
            s.execute(delete(ReviewDraft).where(ReviewDraft.team_id == team_id, ReviewDraft.user_id == user_id))
            draft = self._insert_draft(s, team_id, user_id, answers, started_at=now, now=now, locale=locale, tz=tz)
        return draft

    def open_or_start_draft(
        self, team_id: str, user_id: str, *, now: datetime, locale: str, tz: ZoneInfo, deal_name: str | None = None
    ) -> tuple[ReviewDraft, bool]:
        """The rep's open draft, or a new one: (draft, created). One transaction, as `/lost` is hot."""
        with self.db.session() as s:
            draft = s.scalar(select(ReviewDraft).where(ReviewDraft.team_id == team_id, ReviewDraft.user_id == user_id))
            if draft is not None:
                return draft, False
            answers = _deal_name_only(deal_name)
            draft = self._insert_draft(s, team_id, user_id, answers, started_at=now, now=now, locale=locale, tz=tz)
        return draft, True

    def start_prefilled_draft(
        self,
        team_id: str,
        user_id: str,
        *,
        started_at: datetime,
        prefill: Mapping[Field, Any],
        locale: str,
        tz: ZoneInfo,
        now: datetime,
        replace: bool,
        link: str | None = None,
    ) -> ReviewDraft | None:
        """A draft that began before the rep opened it: a loss another system recorded at `started_at`, so
        the 24-hour clock and its reminder run from then. With `replace` False an open draft is kept and
        None returned (the rep's own draft is never dropped unasked)."""
        answers = answer_codec.to_json(prefill)
        for field, limit in rules.MAX_LENGTH.items():
            if isinstance(answers.get(str(field)), str):
                answers[str(field)] = answers[str(field)][:limit]
        if link:
            answers[answer_codec.DEAL_LINK] = link
        try:
            with self.db.session() as s:
                mine = (ReviewDraft.team_id == team_id, ReviewDraft.user_id == user_id)
                if replace:
                    s.execute(delete(ReviewDraft).where(*mine))
                elif s.scalar(select(ReviewDraft.id).where(*mine)) is not None:
                    return None
                draft = self._insert_draft(
                    s, team_id, user_id, answers, started_at=started_at, now=now, locale=locale, tz=tz
                )
        except IntegrityError:
            if replace:
                raise
            return None  # a draft of the rep's began meanwhile (two losses at once): theirs stays
        return draft

    def _insert_draft(
        self,
        s: Session,
        team_id: str,
        user_id: str,
        answers: dict[str, Any],
        *,
        started_at: datetime,
        now: datetime,
        locale: str,
        tz: ZoneInfo,
    ) -> ReviewDraft:
        """A new draft at the first step, with its 24-hour reminder running from `started_at` (the loss)."""
        draft = ReviewDraft(
            team_id=team_id,
            user_id=user_id,
            step=Step.FACTS,
            answers=answers,
            started_at=started_at,
            updated_at=now,
            locale=locale,
            timezone=tz.key,
        )
        s.add(draft)
        s.flush()
        self._plan_finish_reminder(s, draft, loss_at=started_at, now=now)
        return draft

    def _plan_finish_reminder(self, s: Session, draft: ReviewDraft, *, loss_at: datetime, now: datetime) -> None:
        self.planner.draft_started(s, draft, loss_at=loss_at, now=now)

    def save_answers(
        self, draft_id: int, user_id: str, step: Step, values: Mapping[Field, Any], *, now: datetime
    ) -> ReviewDraft | None:
        """Merge one step's answers into the rep's draft and remember the step."""
        with self.db.session() as s:
            draft = s.get(ReviewDraft, draft_id, with_for_update=True)
            if draft is None or draft.user_id != user_id:
                return None
            before = draft.answers.get(Field.LOST_ON)
            draft.answers = {**draft.answers, **answer_codec.to_json(values)}
            draft.step = step
            draft.updated_at = now
            lost_on = values.get(Field.LOST_ON)
            if lost_on is not None and lost_on.isoformat() != before:
                # An older loss moves the reminder earlier: 20 hours after the loss itself.
                tz = ZoneInfo(draft.timezone or "UTC")
                self._plan_finish_reminder(s, draft, loss_at=rules.loss_moment(lost_on, draft.started_at, tz), now=now)
        return draft

    # Finishing -------------------------------------------------------------

    def complete(
        self, draft_id: int, user_id: str, *, locale: str, tz: ZoneInfo, now: datetime
    ) -> Review | Incomplete | None:
        """Turn a complete draft into a Review; None when the draft is gone (already saved)."""
        with self.db.session() as s:
            draft = s.get(ReviewDraft, draft_id, with_for_update=True)
            if draft is None or draft.user_id != user_id:
                return None
            values = answer_codec.from_json(draft.answers)
            problems = rules.validate_review(values, now_utc=now, tz=tz)
            if problems:
                step = next(st for st in rules.STEPS if st in problems)
                return Incomplete(step, problems[step])
            review = build_review(
                values,
                team_id=draft.team_id,
                user_id=user_id,
                locale=locale,
                tz=tz,
                started_at=draft.started_at,
                now=now,
            )
            s.add(review)
            self.planner.draft_finished(s, draft, now=now)
            s.delete(draft)
            s.flush()
            self.planner.review_saved(s, review, now=now)
            s.refresh(review, ["reasons"])
        return review

    def discard_if_empty(self, draft_id: int, user_id: str) -> bool:
        """A draft opened and closed with nothing typed is not worth offering back."""
        with self.db.session() as s:
            draft = s.get(ReviewDraft, draft_id)
            if draft is None or draft.user_id != user_id:
                return False
            if any(
                v not in (None, "", [], False)
                for k, v in draft.answers.items()
                if k not in (Field.LOST_ON, Field.SHARE_WITH_MANAGER, Field.RECONTACT_CHOICE)
            ):
                return False
            s.delete(draft)
        return True

    SHARING = "sharing"
    IN_DOUBT = "in-doubt"  # Slack may have posted the share (a 5xx, a timeout) and could not be asked

    def claim_share(self, review_id: int) -> bool:
        """Only one of two concurrent clicks on "share" gets to post."""
        with self.db.session() as s:
            claimed = s.execute(
                update(Review).where(Review.id == review_id, Review.shared_ts.is_(None)).values(shared_ts=self.SHARING)
            )
            return claimed.rowcount == 1

    def record_delivery(self, review_id: int, **fields: str | bool | None) -> None:
        allowed = {"summary_ts", "summary_error", "shared_ts", "share_error", "share_with_manager"}
        with self.db.session() as s:
            review = s.get(Review, review_id)
            for key, value in fields.items():
                if key in allowed:
                    setattr(review, key, value)

    def get(self, review_id: int) -> Review | None:
        with self.db.session() as s:
            review = s.get(Review, review_id)
            if review is not None:
                s.refresh(review, ["reasons"])
            return review

    def recent(self, team_id: str, user_id: str, limit: int = 5) -> list[Review]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Review)
                    .where(Review.team_id == team_id, Review.user_id == user_id)
                    .order_by(Review.completed_at.desc())
                    .limit(limit)
                )
            )


def build_review(
    values: Mapping[Field, Any],
    *,
    team_id: str,
    user_id: str,
    locale: str,
    tz: ZoneInfo,
    started_at: datetime,
    now: datetime,
) -> Review:
    surface = rules.SurfaceReason(values[Field.SURFACE_REASON])
    lost_on = values[Field.LOST_ON]
    lost_at = rules.loss_moment(lost_on, started_at, tz)
    choice = rules.RecontactChoice(values[Field.RECONTACT_CHOICE])
    # "In my own words" is how the form picks the text box; the review keeps the words, with no code.
    change_code = values.get(Field.CHANGE_CODE) or None
    if change_code not in rules.ChangeSuggestion.__members__.values():
        change_code = None
    size = rules.parse_amount(values[Field.DEAL_SIZE]) if values.get(Field.DEAL_SIZE) not in (None, "") else None
    codes = [c for c in dict.fromkeys(values.get(Field.UNDERLYING_CODES) or []) if c != rules.OWN_REASONS]
    own = rules.own_reason_lines(values.get(Field.UNDERLYING_OWN))
    reasons = [UnderlyingReasonRow(position=i, code=c) for i, c in enumerate(codes)]
    reasons += [UnderlyingReasonRow(position=len(codes) + i, text=t) for i, t in enumerate(own)]

    def text(field: Field) -> str | None:
        v = values.get(field)
        return v.strip() if isinstance(v, str) and v.strip() else None

    return Review(
        team_id=team_id,
        user_id=user_id,
        locale=locale,
        timezone=tz.key,
        deal_name=text(Field.DEAL_NAME),
        deal_size=size.quantize(Decimal("0.01")) if size is not None else None,
        lost_on=lost_on,
        lost_at=lost_at,
        surface_reason=surface,
        competitor=text(Field.COMPETITOR),
        timeline=text(Field.TIMELINE),
        customer_words=text(Field.CUSTOMER_WORDS),
        reaction_change=text(Field.REACTION_CHANGE),
        failed_question=text(Field.FAILED_QUESTION),
        problem_verdict=values[Field.PROBLEM_VERDICT],
        problem_note=text(Field.PROBLEM_NOTE),
        value_verdict=values[Field.VALUE_VERDICT],
        value_note=text(Field.VALUE_NOTE),
        relationship_verdict=values[Field.RELATIONSHIP_VERDICT],
        relationship_note=text(Field.RELATIONSHIP_NOTE),
        decision_verdict=values[Field.DECISION_VERDICT],
        decision_note=text(Field.DECISION_NOTE),
        decision_maker=text(Field.DECISION_MAKER),
        change_code=change_code,
        change_text="" if change_code else text(Field.CHANGE_OWN) or "",
        next_meeting_at=values.get(Field.NEXT_MEETING_AT),  # None: not booked yet
        recontact_choice=choice,
        recontact_on=rules.recontact_date(
            choice, lost_on, values.get(Field.RECONTACT_ON), today=rules.local_today(now, tz)
        ),
        share_with_manager=bool(values.get(Field.SHARE_WITH_MANAGER, True)),
        self_denial_flagged=rules.reads_as_self_denial(*(values.get(f) for f in rules.REFLECTIVE_FIELDS)),
        started_at=started_at,
        completed_at=now,
        review_hours=rules.hours_between(lost_at, now),
        reasons=reasons,
    )


def _deal_name_only(deal_name: str | None) -> dict[str, Any]:
    """A new draft's answers when the rep typed a deal name after `/lost` (cut to the field's limit)."""
    return {str(Field.DEAL_NAME): deal_name[: rules.MAX_LENGTH[Field.DEAL_NAME]]} if deal_name else {}
