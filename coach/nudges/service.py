"""What a rep's answers to nudges change: meeting times, self-checks, re-contacts, acknowledgements.

Every method checks the review belongs to the rep who clicked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from coach.db import Database
from coach.models import Nudge, RecontactNote, Review, SelfCheck
from coach.nudges import outbox, rules
from coach.nudges.outbox import Policy
from coach.nudges.rules import NudgeKind


@dataclass(frozen=True)
class SelfCheckState:
    review: Review
    check: SelfCheck
    volume: tuple[bool, float | None] | None  # set once the meetings count is known


# A second submission of the same re-contact form this soon (a double click, Slack's retry) is the same one.
RECONTACT_RESUBMIT_WINDOW = timedelta(minutes=10)


SELF_CHECK_COLUMNS = {
    "repeated": ("repeated_mistake", rules.RepeatedMistake),
    "kept": ("kept_change", rules.KeptChange),
    "reaction": ("reaction", rules.Reaction),
}


class NudgeService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db, self.policy = db, policy

    def _own_review(self, s: Session, review_id: int, user_id: str) -> Review | None:
        review = s.get(Review, review_id, options=[selectinload(Review.reasons)])
        return review if review is not None and review.user_id == user_id else None

    def review(self, review_id: int, user_id: str) -> Review | None:
        with self.db.session() as s:
            return self._own_review(s, review_id, user_id)

    def own_message(self, review_id: int, user_id: str, message: tuple[str, str] | None) -> tuple[str, str] | None:
        """`message` (channel, ts) if it is a nudge's DM the app recorded posting to this rep about this review.

        A click's `container` is the sender's to write: a forged one could point `chat.update` at any of the
        bot's messages (the managers' channel). Only a message recorded here is ever updated.
        """
        if not message:
            return None
        with self.db.session() as s:
            found = s.scalar(
                select(Nudge.id)
                .where(
                    Nudge.review_id == review_id,
                    Nudge.user_id == user_id,
                    Nudge.channel_id == message[0],
                    Nudge.message_ts == message[1],
                )
                .limit(1)
            )
        return message if found is not None else None

    def latest_review(self, team_id: str | None, user_id: str) -> Review | None:
        with self.db.session() as s:
            q = select(Review).where(Review.user_id == user_id).order_by(Review.completed_at.desc()).limit(1)
            if team_id:
                q = q.where(Review.team_id == team_id)
            review = s.scalar(q.options(selectinload(Review.reasons)))
            return review

    def move_meeting(self, review_id: int, user_id: str, meeting_at: datetime, *, now: datetime) -> Review | None:
        """The meeting moved: store it and move its reminder (a new reminder even if one was sent)."""
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            review.next_meeting_at = meeting_at
            planned = rules.plan_pre_meeting(
                meeting_at, now, self.policy.lead, tz=ZoneInfo(review.timezone), quiet=self.policy.quiet
            )
            if planned:
                outbox.plan(s, planned, team_id=review.team_id, user_id=user_id, review_id=review.id, now=now)
            return review

    def confirm_delivered(
        self, nudge_id: int, user_id: str, *, plan: int | None, channel: str, ts: str, now: datetime
    ) -> bool:
        """The rep pressed a button on this nudge's DM, so it was posted: a nudge still 'sending' (in doubt
        after a timeout or a 5xx, or claimed by an instance that died before writing down the send) is sent,
        and is never checked for, or sent, again. An instance still sending it finds it settled. A button on
        the message of an earlier plan (the reminder before the meeting moved) settles nothing."""
        with self.db.session() as s:
            nudge = s.get(Nudge, nudge_id, with_for_update=True)
            if (
                nudge is None
                or nudge.user_id != user_id
                or nudge.status != rules.NudgeStatus.SENDING
                or (plan is not None and outbox.plan_marker(nudge) != plan)
            ):
                return False
            nudge.status, nudge.channel_id, nudge.message_ts = rules.NudgeStatus.SENT, channel, ts
            nudge.sent_at, nudge.last_error, nudge.updated_at = now, None, now
            return True

    def mark_acted(self, review_id: int, user_id: str, kind: NudgeKind, *, now: datetime) -> Review | None:
        """The nudge's closing button; the first click counts, repeats change nothing."""
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            s.execute(
                update(Nudge)
                .where(Nudge.review_id == review_id, Nudge.kind == kind, Nudge.acted_at.is_(None))
                .values(acted_at=now, updated_at=now)
            )
            return review

    def answer_self_check(
        self, review_id: int, user_id: str, question: str, value: str, *, now: datetime
    ) -> SelfCheckState | None:
        try:
            return self._answer_self_check(review_id, user_id, question, value, now=now)
        except IntegrityError:
            # A double click raced us to create the row: it exists now, so update it.
            return self._answer_self_check(review_id, user_id, question, value, now=now)

    def _answer_self_check(
        self, review_id: int, user_id: str, question: str, value: str, *, now: datetime
    ) -> SelfCheckState | None:
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            check = s.get(SelfCheck, review_id, with_for_update=True)
            if check is None:
                check = SelfCheck(review_id=review_id, team_id=review.team_id, user_id=user_id, answered_at=now)
                s.add(check)
            if question == "meetings":
                try:
                    check.meetings = max(0, min(int(value), rules.MAX_MEETINGS_CHOICE))
                except ValueError:
                    return None
            elif question in SELF_CHECK_COLUMNS:
                column, allowed = SELF_CHECK_COLUMNS[question]
                if value not in allowed.__members__.values():
                    return None
                setattr(check, column, value)
            else:
                return None
            check.answered_at = now
            s.flush()
            volume = None
            if check.meetings is not None:
                volume = rules.volume_dropped(check.meetings, self._baseline_weeks(s, review))
            return SelfCheckState(review, check, volume)

    @staticmethod
    def _baseline_weeks(s: Session, review: Review) -> list[int]:
        """The rep's meeting counts from the self-checks of their earlier losses (the latest few).

        Earlier means lost before this one (same moment: saved before it), so answering an old
        self-check late never compares it with the weeks that came after it.
        """
        earlier = or_(Review.lost_at < review.lost_at, and_(Review.lost_at == review.lost_at, Review.id < review.id))
        return list(
            s.scalars(
                select(SelfCheck.meetings)
                .join(Review, Review.id == SelfCheck.review_id)
                .where(
                    SelfCheck.team_id == review.team_id,
                    SelfCheck.user_id == review.user_id,
                    SelfCheck.meetings.is_not(None),
                    earlier,
                )
                .order_by(Review.lost_at.desc(), Review.id.desc())
                .limit(rules.BASELINE_CHECKS)
            )
        )

    def record_recontact(
        self, review_id: int, user_id: str, *, said: str, next_on: date, now: datetime
    ) -> Review | None:
        """What the customer said, beside the rep's analysis; the next re-contact is planned.

        Idempotent: the same form submitted again (a double click, Slack retrying the submission) records
        one note.
        """
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            review.customer_stated_reason = said
            review.recontact_on = next_on
            # Writing the review first takes its lock (PostgreSQL's row lock, SQLite's write lock): a second
            # submission racing this one waits here, then sees this one's note below.
            s.flush()
            already = s.scalar(
                select(RecontactNote.id)
                .where(
                    RecontactNote.review_id == review_id,
                    RecontactNote.customer_said == said,
                    RecontactNote.next_recontact_on == next_on,
                    RecontactNote.recorded_at >= now - RECONTACT_RESUBMIT_WINDOW,
                )
                .limit(1)
            )
            if already is not None:
                return review
            s.add(RecontactNote(review_id=review_id, customer_said=said, next_recontact_on=next_on, recorded_at=now))
            outbox.plan(
                s,
                rules.plan_recontact(next_on, ZoneInfo(review.timezone), self.policy.quiet),
                team_id=review.team_id,
                user_id=user_id,
                review_id=review.id,
                now=now,
            )
            return review
