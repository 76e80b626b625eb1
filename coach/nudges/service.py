"""What a rep's answers to nudges change: meeting times, self-checks, re-contacts, acknowledgements.

Every method checks the review belongs to the rep who clicked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from coach.db import Database
from coach.models import CustomerFollowUp, NormalWeek, Nudge, RecontactNote, Review, SelfCheck
from coach.nudges import outbox, rules
from coach.nudges.outbox import Policy
from coach.nudges.rules import Activity, FollowUpOutcome, NudgeKind


@dataclass(frozen=True)
class SelfCheckState:
    review: Review
    check: SelfCheck
    normal: dict[str, int] | None  # the rep's normal week, to compare this week's counts with


def week_counts(row: NormalWeek | SelfCheck | None) -> dict[str, int] | None:
    """A normal week (or a self-check's week) as {activity: count}, only the counts it has."""
    if row is None:
        return None
    return {a: getattr(row, a) for a in Activity if getattr(row, a) is not None}


# The follow-up call's answers, as the modal's blocks name them.
FOLLOWUP_FIELDS = ("biggest_reason", "would_have_chosen", "priority_now", "their_words")


# A second submission of the same re-contact form this soon (a double click, Slack's retry) is the same one.
RECONTACT_RESUBMIT_WINDOW = timedelta(minutes=10)


COUNT_QUESTIONS = frozenset(Activity)

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
        """The meeting is booked or moved: store it and (re)start its chain, the prep list and the one-change
        reminder (new ones even if earlier ones were sent). Booked at last: no nudge to book one any more."""
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            review.next_meeting_at = meeting_at
            self._plan_meeting(s, review, now=now)
            # Booked at last: a pending nudge to book one is not needed; a sent one is answered.
            outbox.cancel(s, NudgeKind.BOOK_MEETING, review_id=review.id, now=now)
            s.execute(
                update(Nudge)
                .where(Nudge.review_id == review.id, Nudge.kind == NudgeKind.BOOK_MEETING, Nudge.acted_at.is_(None))
                .where(Nudge.status == rules.NudgeStatus.SENT)
                .values(acted_at=now, updated_at=now)
            )
            return review

    def _plan_meeting(self, s: Session, review: Review, *, now: datetime) -> None:
        if review.next_meeting_at is None:
            return
        chain = rules.plan_meeting(
            review.next_meeting_at, now, self.policy.lead, tz=ZoneInfo(review.timezone), quiet=self.policy.quiet
        )
        for planned in chain:
            outbox.plan(s, planned, team_id=review.team_id, user_id=review.user_id, review_id=review.id, now=now)
        if all(p.kind != NudgeKind.PREP for p in chain):
            # Moved so soon that the reminder carries the prep items: a prep list still pending is not needed.
            outbox.cancel(s, NudgeKind.PREP, review_id=review.id, now=now)

    # The 3-day message ---------------------------------------------------------------

    def talked_to_manager(self, review_id: int, user_id: str, *, now: datetime) -> Review | None:
        """The rep talked the review through with their manager; the first click counts."""
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is not None and review.manager_talk_at is None:
                review.manager_talk_at = now
            return review

    def keep_change(self, review_id: int, user_id: str, *, now: datetime) -> Review | None:
        """結論を急がない: three days on, the rep keeps the one change they chose."""
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is not None and review.change_settled_at is None:
                review.change_settled_at = now
            return review

    def revise_change(
        self, review_id: int, user_id: str, *, code: str | None, text: str, now: datetime
    ) -> Review | None:
        """The rep revises the one change (a suggestion's code, or their own words): its reminders are planned
        again, so the pending ones carry the new change."""
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            review.change_code, review.change_text = code, "" if code else text
            review.change_settled_at = now
            self._plan_meeting(s, review, now=now)
            return review

    # The follow-up call --------------------------------------------------------------

    def followup(self, review_id: int, user_id: str) -> CustomerFollowUp | None:
        with self.db.session() as s:
            row = s.get(CustomerFollowUp, review_id)
            return row if row is not None and row.user_id == user_id else None

    def record_followup(
        self, review_id: int, user_id: str, outcome: FollowUpOutcome, answers: dict[str, str | None], *, now: datetime
    ) -> tuple[Review, CustomerFollowUp] | None:
        """What the customer said on the follow-up call (or that the call could not be made). Recording again
        replaces the answers (the rep corrects them); the customer's biggest reason becomes the review's
        customer-stated reason, shown beside the rep's surface and underlying reasons."""
        try:
            return self._record_followup(review_id, user_id, outcome, answers, now=now)
        except IntegrityError:
            # A double click raced us to create the row: it exists now, so update it.
            return self._record_followup(review_id, user_id, outcome, answers, now=now)

    def _record_followup(
        self, review_id: int, user_id: str, outcome: FollowUpOutcome, answers: dict[str, str | None], *, now: datetime
    ) -> tuple[Review, CustomerFollowUp] | None:
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            row = s.get(CustomerFollowUp, review_id, with_for_update=True)
            if row is None:
                row = CustomerFollowUp(review_id=review_id, team_id=review.team_id, user_id=user_id)
                s.add(row)
            row.outcome, row.recorded_at = outcome, now
            for name in FOLLOWUP_FIELDS:
                value = (answers.get(name) or "").strip() if outcome == FollowUpOutcome.RECORDED else ""
                setattr(row, name, value or None)
            if outcome == FollowUpOutcome.RECORDED and row.biggest_reason:
                review.customer_stated_reason = row.biggest_reason
            s.execute(
                update(Nudge)
                .where(Nudge.review_id == review_id, Nudge.kind == NudgeKind.FOLLOWUP_CALL, Nudge.acted_at.is_(None))
                .values(acted_at=now, updated_at=now)
            )
            s.flush()
            return review, row

    # The normal week (METHOD §5) ------------------------------------------------------

    def normal_week(self, team_id: str, user_id: str) -> dict[str, int] | None:
        with self.db.session() as s:
            return week_counts(s.get(NormalWeek, (team_id, user_id)))

    def set_normal_week(self, team_id: str, user_id: str, counts: dict[str, int], *, now: datetime) -> dict[str, int]:
        try:
            return self._set_normal_week(team_id, user_id, counts, now=now)
        except IntegrityError:  # a double submission raced us to create the row
            return self._set_normal_week(team_id, user_id, counts, now=now)

    def _set_normal_week(self, team_id: str, user_id: str, counts: dict[str, int], *, now: datetime) -> dict[str, int]:
        with self.db.session() as s:
            row = s.get(NormalWeek, (team_id, user_id), with_for_update=True)
            if row is None:
                row = NormalWeek(team_id=team_id, user_id=user_id)
                s.add(row)
            for a in Activity:
                setattr(row, a, counts[a])
            row.updated_at = now
            s.flush()
            return week_counts(row) or {}

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

    def self_check_state(self, review_id: int, user_id: str) -> SelfCheckState | None:
        """The rep's self-check as it stands (answers so far, the normal week), to show it again."""
        with self.db.session() as s:
            review = self._own_review(s, review_id, user_id)
            if review is None:
                return None
            check = s.get(SelfCheck, review_id)
            if check is None:
                check = SelfCheck(review_id=review_id, team_id=review.team_id, user_id=user_id)
            return SelfCheckState(review, check, week_counts(s.get(NormalWeek, (review.team_id, review.user_id))))

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
            if question in COUNT_QUESTIONS:
                try:
                    setattr(check, question, max(0, min(int(value), rules.MAX_MEETINGS_CHOICE)))
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
            return SelfCheckState(review, check, week_counts(s.get(NormalWeek, (review.team_id, review.user_id))))

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
