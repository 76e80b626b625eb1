"""Tables. Times are stored in UTC (`UTCDateTime`); dates are the rep's local dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coach.db import Base, UTCDateTime


class ReviewDraft(Base):
    """A review in progress: one per rep, kept on every step and when the modal closes."""

    __tablename__ = "review_drafts"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_review_drafts_rep"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(16))
    # The rep's language and zone when the draft began, for its reminder.
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Answers as JSON-friendly values keyed by coach.review.rules.Field.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Review(Base):
    """A finished review of one lost deal."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_rep_completed", "team_id", "user_id", "completed_at"),
        # The team's reviews of a period (the digest, the manager's Home): a range scan, not the whole table.
        Index("ix_reviews_team_completed", "team_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))

    deal_name: Mapped[str] = mapped_column(String(150))
    deal_size: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    lost_on: Mapped[date] = mapped_column(Date)
    lost_at: Mapped[datetime] = mapped_column(UTCDateTime())
    surface_reason: Mapped[str] = mapped_column(String(32))
    competitor: Mapped[str | None] = mapped_column(String(150))
    timeline: Mapped[str] = mapped_column(Text)
    customer_words: Mapped[str] = mapped_column(Text)
    reaction_change: Mapped[str | None] = mapped_column(Text)
    failed_question: Mapped[str | None] = mapped_column(Text)

    problem_verdict: Mapped[str] = mapped_column(String(16))
    problem_note: Mapped[str | None] = mapped_column(Text)
    value_verdict: Mapped[str] = mapped_column(String(16))
    value_note: Mapped[str | None] = mapped_column(Text)
    relationship_verdict: Mapped[str] = mapped_column(String(16))
    relationship_note: Mapped[str | None] = mapped_column(Text)
    decision_verdict: Mapped[str] = mapped_column(String(16))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decision_maker: Mapped[str | None] = mapped_column(String(150))

    change_code: Mapped[str | None] = mapped_column(String(32))
    change_text: Mapped[str] = mapped_column(String(300))
    # None: not booked yet (a nudge to book one follows; the pre-meeting chain starts once it is set).
    next_meeting_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recontact_choice: Mapped[str] = mapped_column(String(16))
    recontact_on: Mapped[date] = mapped_column(Date)
    share_with_manager: Mapped[bool] = mapped_column(Boolean)
    self_denial_flagged: Mapped[bool] = mapped_column(Boolean, default=False)

    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_hours: Mapped[float] = mapped_column(Float)

    customer_stated_reason: Mapped[str | None] = mapped_column(Text)

    # The 3-day message (三日以内): talked it through with the manager; kept or revised the one change.
    manager_talk_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    change_settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Delivery record: a Slack failure is kept here, never swallowed.
    summary_ts: Mapped[str | None] = mapped_column(String(32))
    summary_error: Mapped[str | None] = mapped_column(String(200))
    shared_ts: Mapped[str | None] = mapped_column(String(32))
    share_error: Mapped[str | None] = mapped_column(String(200))

    reasons: Mapped[list[UnderlyingReasonRow]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="UnderlyingReasonRow.position"
    )
    # What the customer said on the follow-up call; loaded only where asked for (selectinload).
    followup: Mapped[CustomerFollowUp | None] = relationship(viewonly=True, uselist=False, lazy="raise")


class UnderlyingReasonRow(Base):
    """One underlying reason: a catalogue code, or the rep's own words (code NULL)."""

    __tablename__ = "review_reasons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(32), index=True)
    text: Mapped[str | None] = mapped_column(String(1500))

    review: Mapped[Review] = relationship(back_populates="reasons")


class Nudge(Base):
    """One planned direct message: the outbox row the dispatcher sends exactly once.

    One per review (or draft) and kind, so re-planning replaces instead of
    adding. Status moves pending → sending (claimed) → sent / failed /
    expired / cancelled; see coach.nudges.rules.NudgeStatus.
    """

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("review_id", "kind", name="uq_nudges_review_kind"),
        UniqueConstraint("draft_id", "kind", name="uq_nudges_draft_kind"),
        Index("ix_nudges_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("review_drafts.id", ondelete="SET NULL"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # When the rep pressed the nudge's closing button ("done", "shared"...).
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SelfCheck(Base):
    """The one-week self-check (一週間後): one row per review, one column per question."""

    __tablename__ = "self_checks"

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    repeated_mistake: Mapped[str | None] = mapped_column(String(16))
    kept_change: Mapped[str | None] = mapped_column(String(16))
    reaction: Mapped[str | None] = mapped_column(String(16))
    meetings: Mapped[int | None] = mapped_column(Integer)
    appointments: Mapped[int | None] = mapped_column(Integer)  # アポ数: appointments booked this week
    prospects: Mapped[int | None] = mapped_column(Integer)  # 新規開拓: new prospects approached this week
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecontactNote(Base):
    """What the customer said when the rep got back in touch (the customer-stated reason)."""

    __tablename__ = "recontact_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    customer_said: Mapped[str] = mapped_column(Text)
    next_recontact_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerFollowUp(Base):
    """The follow-up call after the loss (失注後フォロー): what the customer said, in their terms.

    One per review. `outcome` is coach.nudges.rules.FollowUpOutcome: recorded, or could not reach them /
    not appropriate (then the answers are empty).
    """

    __tablename__ = "customer_followups"

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    biggest_reason: Mapped[str | None] = mapped_column(Text)  # 今回見送った最大の理由
    would_have_chosen: Mapped[str | None] = mapped_column(Text)  # what would have made them choose us
    priority_now: Mapped[str | None] = mapped_column(Text)  # what they prioritise now
    their_words: Mapped[str | None] = mapped_column(Text)  # verbatim
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NormalWeek(Base):
    """What a normal week looks like for a rep (METHOD §5), asked once, editable on Home."""

    __tablename__ = "normal_weeks"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    meetings: Mapped[int] = mapped_column(Integer)
    appointments: Mapped[int] = mapped_column(Integer)
    prospects: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HomeViewer(Base):
    """A rep who has opened the app's Home tab. Their Home is published again whenever something on it
    changes; a rep who never opened it gets it rendered when they first do (app_home_opened)."""

    __tablename__ = "home_viewers"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Win(Base):
    """A won deal (復活): how long recovery took since the rep's last loss."""

    __tablename__ = "wins"
    __table_args__ = (Index("ix_wins_rep_won", "team_id", "user_id", "won_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    deal_name: Mapped[str] = mapped_column(String(150))
    won_on: Mapped[date] = mapped_column(Date)  # the rep's local date
    won_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The rep's latest loss before this win, and the days between them (None: no loss before).
    last_loss_review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    days_since_loss: Mapped[int | None] = mapped_column(Integer)


class DigestRun(Base):
    """One managers' digest. A scheduled period is posted exactly once (unique period, claimed first)."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("kind", "period_start", name="uq_digest_runs_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "scheduled" or "on_demand"
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # posting / posted / failed
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(32))
    # The ts of every message the digest took (it may be split), comma-separated.
    message_ts: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(String(200))


class CrmLoss(Base):
    """A loss a CRM reported (HubSpot or the generic webhook): the outbox row behind the rep's prompt.

    Stored before the webhook is answered, so nothing is lost if the app dies right after. One row per
    (source, deal id, close time): a retried or duplicated delivery finds its row already there. Status moves
    received → prompted, or waiting (no Slack match: shown on the manager's Home), ignored (not a loss after
    all), duplicate, failed; see coach.crm.service.LossStatus. Write-back of the finished review has its own
    status (writeback_*).
    """

    __tablename__ = "crm_losses"
    __table_args__ = (
        UniqueConstraint("source", "deal_id", "closed_at", name="uq_crm_losses_loss"),
        Index("ix_crm_losses_due", "status", "next_attempt_at"),
        Index("ix_crm_losses_writeback_due", "writeback_status", "writeback_due_at"),
        Index("ix_crm_losses_rep_started", "team_id", "user_id", "draft_started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    deal_id: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[str | None] = mapped_column(String(100))
    # What the webhook said (the generic one says everything; HubSpot's says the portal), as sent.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # The deal as read from the CRM (or as the generic webhook gave it).
    deal_name: Mapped[str | None] = mapped_column(String(150))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    owner_email: Mapped[str | None] = mapped_column(String(320))
    crm_reason: Mapped[str | None] = mapped_column(String(500))
    competitor: Mapped[str | None] = mapped_column(String(150))
    url: Mapped[str | None] = mapped_column(String(2000))

    # The rep, once found in Slack.
    team_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(32))

    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    prompt_channel: Mapped[str | None] = mapped_column(String(32))
    prompt_ts: Mapped[str | None] = mapped_column(String(32))
    # The review draft started for this loss begins at the CRM's close time (the 24-hour clock); the review
    # it becomes is found by (team, rep, started_at).
    draft_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))

    writeback_status: Mapped[str | None] = mapped_column(String(16))
    writeback_kind: Mapped[str | None] = mapped_column(String(16))
    writeback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    writeback_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    writeback_error: Mapped[str | None] = mapped_column(String(200))
    written_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note_id: Mapped[str | None] = mapped_column(String(100))

    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
