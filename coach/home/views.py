"""The Home tab, the read-only review, the review list, the win modal and the win DM.

Pure functions from the service's dataclasses to Block Kit; no Slack, no
database. The Home stays within Slack's 100 blocks whatever the history:
every list is capped in the service and the rest is counted, not shown.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from coach.blockkit import (
    button,
    clip_escaped,
    context,
    divider,
    escape,
    header,
    input_block,
    long_text_sections,
    plain,
    section,
    text_input,
    titled,
)
from coach.home.service import (
    ReasonCount,
    RepHome,
    ReviewDetail,
    ReviewLine,
    ReviewPage,
    TeamHome,
)
from coach.i18n import Translator
from coach.models import Review, SelfCheck
from coach.nudges.labels import KEPT_MARK, kept_label, reaction_label, repeated_label
from coach.nudges.messages import normal_week_text, self_check_message
from coach.review.labels import change_label, deal_in_line, surface_label, underlying_label
from coach.review.messages import about_hours, full_review_blocks, interview_questions, meeting_when
from coach.review.rules import MAX_LENGTH, Field
from coach.review.views import self_denial_reframe
from coach.slack.ids import ActionId, BlockId, CallbackId
from coach.wins.service import LoggedWin, Recovery, WinLine

MAX_HOME_BLOCKS = 100
WIN_DEAL_MAX = MAX_LENGTH[Field.DEAL_NAME]


# Small pieces ------------------------------------------------------------------------


def change_of(t: Translator, code: str | None, text: str | None) -> str:
    return change_label(t, code) if code else (text or "")


def reason_label(t: Translator, code: str | None, text: str | None) -> str:
    return underlying_label(t, code) if code else escape(text or "")


def number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def recovery_days_text(t: Translator, days: int | None) -> str:
    """How long the way back took, for the win DM and the Home tab."""
    if days is None:
        return t._("No loss logged before this win.")
    if days == 0:
        return t._("Won on the same day as your last loss.")
    if days == 1:
        return t._("1 day from your last loss to this win.")
    return t._("{days} days from your last loss to this win.", days=days)


def _question_labels(t: Translator) -> dict[str, str]:
    return {
        "repeated": t._("*Did I repeat the same mistake in my meetings?*"),
        "kept": t._("*Did I keep the one change?*"),
        "reaction": t._("*How did customers' reactions change?*"),
        "meetings": t._("*How many customer meetings did I hold this week?*"),
    }


def _commitment_status(t: Translator, line: ReviewLine, now: datetime) -> str:
    if line.kept:
        return f"{KEPT_MARK.get(line.kept, '')} {kept_label(t, line.kept)}"
    if line.check_sent or line.check_due is None:
        return ":hourglass_flowing_sand: " + t._("Self-check not answered yet")
    if line.check_due > now:
        return ":calendar: " + t._("Self-check on {date}", date=t.date(line.check_due.astimezone(t.tz).date()))
    return ":hourglass_flowing_sand: " + t._("Self-check not answered yet")


def review_line_text(t: Translator, line: ReviewLine, *, now: datetime, with_rep: bool = False) -> str:
    rep = f"<@{line.user_id}> · " if with_rep else ""
    return (
        f"{rep}{deal_in_line(t, escape(line.deal_name), bold=True)} · {t.date(line.lost_on)} · "
        f"{surface_label(t, line.surface_reason)}\n"
        f":dart: {escape(change_of(t, line.change_code, line.change_text))} · "
        f"{_commitment_status(t, line, now)}" + _customer_said_line(t, line, with_rep=with_rep)
    )


def _customer_said_line(t: Translator, line: ReviewLine, *, with_rep: bool) -> str:
    """Beside the rep's surface reason: what the customer said on the follow-up call (the rep's own Home only)."""
    if with_rep or not line.customer_said:
        return ""
    words = clip_escaped(" ".join(line.customer_said.split()), 200)
    return "\n:speech_balloon: " + t._("Customer-stated reason: {words}", words=words)


def _review_entry(t: Translator, line: ReviewLine, *, now: datetime, with_rep: bool = False) -> dict[str, Any]:
    block = section(review_line_text(t, line, now=now, with_rep=with_rep))
    block["accessory"] = button(t._("View"), ActionId.VIEW_REVIEW, value=str(line.id))
    return block


def _with_button(block: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    block["accessory"] = b
    return block


def _reason_lines(t: Translator, reasons: list[ReasonCount], *, total: int, flag_repeats: bool) -> str:
    lines = []
    for r in reasons:
        line = "• " + t._(
            "{reason}: in {n} of {total} reviews", reason=reason_label(t, r.code, r.text), n=r.reviews, total=total
        )
        if flag_repeats and r.repeated:
            line += " :repeat: *" + t._("repeated") + "*"
        lines.append(line)
    return "\n".join(lines)


def _win_text(t: Translator, win: WinLine, *, with_rep: bool) -> str:
    if with_rep:
        head = t._(
            "{rep} won *{deal}* on {date}.",
            rep=f"<@{win.user_id}>",
            deal=escape(win.deal_name),
            date=t.date(win.won_on),
        )
    else:
        head = t._("Latest win: *{deal}* on {date}.", deal=escape(win.deal_name), date=t.date(win.won_on))
    return f"{head} {recovery_days_text(t, win.days_since_loss)}"


def _median_text(t: Translator, recovery: Recovery) -> str:
    if recovery.median_days is None:
        return ""
    return t._(
        "Median days from a loss to the next win: {days} (losses followed by a win: {n}).",
        days=number(recovery.median_days),
        n=recovery.measured,
    )


# The Home tab ----------------------------------------------------------------------------


def home_view(
    t: Translator,
    rep: RepHome,
    *,
    now: datetime,
    team: TeamHome | None = None,
    waiting: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`waiting`: a manager's blocks of CRM losses waiting for a rep (built by coach.crm.messages)."""
    blocks = rep_blocks(t, rep, now=now)
    if waiting:
        blocks += [divider(), *waiting]
    if team is not None:
        blocks += team_blocks(t, team, now=now)
    if len(blocks) > MAX_HOME_BLOCKS:  # never reached with the service's caps; a last guard
        blocks = blocks[: MAX_HOME_BLOCKS - 1] + [context(t._("Some of your Home could not be shown."))]
    return {"type": "home", "blocks": blocks}


def rep_blocks(t: Translator, rep: RepHome, *, now: datetime) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        header(t._("Lost-Deal Coach")),
        context(
            t._(
                "A loss has causes, not bad luck. Review it within 24 hours, find at least three underlying "
                "reasons, and change exactly one thing in your next meeting."
            )
        ),
        {
            "type": "actions",
            "block_id": BlockId.HOME_ACTIONS,
            "elements": [
                button(t._("Review a lost deal"), ActionId.START_REVIEW, style="primary"),
                button(t._("Log a win"), ActionId.LOG_WIN),
            ],
        },
    ]
    if rep.draft is not None:
        deal = escape(rep.draft.deal_name) if rep.draft.deal_name else t._("an unnamed deal")
        blocks.append(
            _with_button(
                section(
                    t._(
                        ":pencil: Unfinished review: *{deal}*, started {started}",
                        deal=deal,
                        started=t.datetime(rep.draft.started_at),
                    )
                ),
                button(t._("Resume"), ActionId.RESUME_DRAFT, value=str(rep.draft.id), style="primary"),
            )
        )
    blocks += _meeting_blocks(t, rep, now=now)
    blocks += normal_week_blocks(t, rep.normal_week)
    blocks += _self_check_blocks(t, rep)
    blocks += _review_blocks(t, rep, now=now)
    blocks += _pattern_blocks(t, rep)
    blocks += _recontact_blocks(t, rep)
    blocks += _recovery_blocks(t, rep.recovery)
    return blocks


def _meeting_blocks(t: Translator, rep: RepHome, *, now: datetime) -> list[dict[str, Any]]:
    meeting = rep.next_meeting
    if meeting is None:
        return []
    change = escape(change_of(t, meeting.change_code, meeting.change_text))
    title = "*" + t._("Your next meeting") + "*"
    if meeting.at is None:
        body = (
            f"{title}\n" + t._("Not booked yet. Book one: after a loss, activity must not drop.") + f"\n:dart: {change}"
        )
        return [
            divider(),
            _with_button(
                section(body),
                button(t._("Set next meeting"), ActionId.EDIT_MEETING, value=str(meeting.review_id), style="primary"),
            ),
        ]
    if meeting.at > now:
        body = f"{title}\n{t.datetime(meeting.at)}\n:dart: {change}"
        label = t._("Edit next meeting")
    else:
        body = (
            f"{title}\n"
            + t._(
                "No meeting ahead: the last one was {when}. Set your next meeting so your one "
                "change gets its reminder.",
                when=t.datetime(meeting.at),
            )
            + f"\n:dart: {change}"
        )
        label = t._("Set next meeting")
    blocks = [
        divider(),
        _with_button(section(body), button(label, ActionId.EDIT_MEETING, value=str(meeting.review_id))),
    ]
    if meeting.at > now and meeting.ready_at is not None:
        blocks.append(
            context(
                ":white_check_mark: " + t._("You marked yourself ready on {when}.", when=t.datetime(meeting.ready_at))
            )
        )
    elif meeting.at > now and meeting.reminder_due is not None:
        blocks.append(
            context(
                ":alarm_clock: "
                + t._("I'll remind you of your one change on {when}.", when=t.datetime(meeting.reminder_due))
            )
        )
    return blocks


def normal_week_blocks(t: Translator, normal: dict[str, int] | None) -> list[dict[str, Any]]:
    """The rep's normal week (METHOD §5), which the week-1 self-check compares with; editable here."""
    title = "*" + t._("Your normal week") + "*"
    if not normal:
        body = title + "\n" + t._("Not set yet. Set it, and the week-1 self-check says plainly what fell.")
        label = t._("Set my normal week")
    else:
        body = title + "\n" + normal_week_text(t, normal)
        label = t._("Edit")
    return [divider(), _with_button(section(body), button(label, ActionId.NORMAL_WEEK_EDIT, value="home"))]


def _self_check_blocks(t: Translator, rep: RepHome) -> list[dict[str, Any]]:
    if not rep.pending_checks:
        return []
    labels = _question_labels(t)
    blocks = [
        divider(),
        section(
            "*" + t._("Self-checks waiting for you") + "*\n" + t._("One week after a loss: did the one change hold?")
        ),
    ]
    for check in rep.pending_checks:
        missing = " · ".join(labels[m] for m in check.missing)
        blocks.append(
            _with_button(
                section(
                    t._("*{deal}* · lost {date}", deal=escape(check.deal_name), date=t.date(check.lost_on))
                    + "\n"
                    + t._("Still to answer: {questions}", questions=missing)
                ),
                button(t._("Answer"), ActionId.ANSWER_SELF_CHECK, value=str(check.review_id), style="primary"),
            )
        )
    more = rep.pending_total - len(rep.pending_checks)
    if more > 0:
        blocks.append(context(t._("…and {n} more waiting.", n=more)))
    return blocks


def _review_blocks(t: Translator, rep: RepHome, *, now: datetime) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [divider()]
    if not rep.review_total:
        blocks.append(context(t._("No reviews yet. Type `/lost` after your next lost deal.")))
        return blocks
    c = rep.commitments
    blocks.append(section("*" + t._("Your reviews and commitments") + "*"))
    blocks.append(
        context(
            t._("Reviews: {total}, {within} of them within 24 hours.", total=rep.review_total, within=rep.within_24h),
            t._(
                "One change kept: {kept} · partly: {partly} · not yet: {no} · not answered: {open}",
                kept=c.kept,
                partly=c.partly,
                no=c.not_kept,
                open=c.unanswered,
            ),
        )
    )
    blocks += [_review_entry(t, line, now=now) for line in rep.reviews]
    if rep.review_total > len(rep.reviews):
        blocks.append(
            _with_button(
                context_section(
                    t._(
                        "Showing your latest {shown} of {total} reviews.",
                        shown=len(rep.reviews),
                        total=rep.review_total,
                    )
                ),
                button(t._("Older reviews"), ActionId.OLDER_REVIEWS, value=_page_ref(False, len(rep.reviews))),
            )
        )
    return blocks


def context_section(text: str) -> dict[str, Any]:
    return section(f"_{text}_")


def _pattern_blocks(t: Translator, rep: RepHome) -> list[dict[str, Any]]:
    if not rep.reasons:
        return []
    notes = [t._("Same loss, never twice: a reason that keeps coming back is the one to work on.")]
    if rep.repeated_total:
        notes.append(t._("Underlying reasons that came up in more than one review: {n}.", n=rep.repeated_total))
    return [
        divider(),
        titled(
            t._("Your patterns: the most frequent underlying reasons"),
            _reason_lines(t, rep.reasons, total=rep.review_total, flag_repeats=True),
        ),
        context(*notes),
    ]


def _recontact_blocks(t: Translator, rep: RepHome) -> list[dict[str, Any]]:
    if not rep.recontacts:
        return []
    lines = []
    for r in rep.recontacts:
        line = f"• {t.date(r.on)} · {deal_in_line(t, escape(r.deal_name), bold=True)}"
        if r.customer_said:
            said = r.customer_said if len(r.customer_said) <= 80 else r.customer_said[:79] + "…"
            line += " · " + t._("last time they said: “{said}”", said=escape(said))
        lines.append(line)
    blocks = [
        divider(),
        titled(t._("Upcoming re-contacts"), "\n".join(lines)),
        context(t._("A lost deal is a future opportunity: get in touch by giving information, not by selling.")),
    ]
    more = rep.recontact_total - len(rep.recontacts)
    if more > 0:
        blocks[-1]["elements"].append(context(t._("…and {n} more later.", n=more))["elements"][0])
    return blocks


def _recovery_blocks(t: Translator, recovery: Recovery) -> list[dict[str, Any]]:
    title = t._("Recovery: from a loss to your next win")
    if recovery.latest is None:
        return [
            divider(),
            titled(
                title,
                escape(
                    t._(
                        "No win logged yet. When you win your next deal, log it with "
                        "`/lost won <deal>` or the *Log a win* button."
                    )
                ),
            ),
        ]
    lines = [_win_text(t, recovery.latest, with_rep=False)]
    median = _median_text(t, recovery)
    if median:
        lines.append(median)
    return [divider(), titled(title, "\n".join(lines)), context(t._("Wins logged: {n}.", n=recovery.wins))]


def team_blocks(t: Translator, team: TeamHome, *, now: datetime) -> list[dict[str, Any]]:
    share = f"{round(100 * team.within_24h / team.losses)}%" if team.losses else "-"
    value = t.amount(team.loss_value) if team.loss_value is not None else "-"
    median = number(team.recovery.median_days)
    blocks: list[dict[str, Any]] = [
        divider(),
        header(t._("Your team: the last {days} days", days=team.days)),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*" + t._("Losses") + f"*\n{team.losses} · {value}"},
                {
                    "type": "mrkdwn",
                    "text": "*"
                    + t._("Reviewed within 24 hours")
                    + "*\n"
                    + t._("{share} ({n} of {total})", share=share, n=team.within_24h, total=team.losses),
                },
                {"type": "mrkdwn", "text": "*" + t._("Reps with a loss") + f"*\n{team.reps_with_losses}"},
                {
                    "type": "mrkdwn",
                    "text": "*"
                    + t._("Wins")
                    + "*\n"
                    + t._("{wins} · median days to recover: {days}", wins=team.recovery.wins, days=median),
                },
            ],
        },
    ]
    if team.reasons:
        blocks.append(
            titled(
                t._("Most common underlying reasons"),
                _reason_lines(t, team.reasons, total=team.losses, flag_repeats=False),
            )
        )
    if team.repeaters:
        lines = [
            t._("• {rep}: {reason} (×{n})", rep=f"<@{r.user_id}>", reason=reason_label(t, r.code, r.text), n=r.reviews)
            for r in team.repeaters
        ]
        blocks.append(titled(t._("Reps repeating an underlying reason"), "\n".join(lines)))
        more = team.repeater_total - len(team.repeaters)
        if more > 0:
            blocks.append(context(t._("…and {n} more.", n=more)))
    if team.latest_wins:
        blocks.append(
            titled(t._("Latest wins"), "\n".join("• " + _win_text(t, w, with_rep=True) for w in team.latest_wins))
        )
    if team.latest_reviews:
        blocks.append(section("*" + t._("Latest team reviews") + "*"))
        blocks += [_review_entry(t, line, now=now, with_rep=True) for line in team.latest_reviews]
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.TEAM_ACTIONS,
                "elements": [button(t._("All team reviews"), ActionId.TEAM_REVIEWS, value=_page_ref(True, 0))],
            }
        )
    elif not team.losses:
        blocks.append(context(t._("No losses in your team in this period.")))
    return blocks


# The read-only review ----------------------------------------------------------------------


def review_detail_blocks(t: Translator, detail: ReviewDetail, *, viewer_id: str) -> list[dict[str, Any]]:
    """The full review, as its rep wrote it, with what happened since (self-check, re-contacts)."""
    review = detail.review
    owner = review.user_id == viewer_id
    size = f" · {t.amount(review.deal_size)}" if review.deal_size is not None else ""
    blocks: list[dict[str, Any]] = [
        header(review.deal_name),
        context(
            t._(
                "{rep} · lost {date}{size} · reviewed {took} after the loss",
                rep=f"<@{review.user_id}>",
                date=t.date(review.lost_on),
                size=size,
                took=about_hours(t, review.review_hours),
            )
        ),
    ]
    if owner and review.self_denial_flagged:
        blocks.append(section(":seedling: " + self_denial_reframe(t)))
    blocks += full_review_blocks(t, review, followup=detail.followup)
    blocks.append(titled(t._("Next meeting"), meeting_when(t, review)))
    if detail.check is not None:
        blocks.append(titled(t._("One-week self-check"), _self_check_lines(t, detail.check)))
    blocks.append(context(t._("Re-contact: {date}", date=t.date(review.recontact_on))))
    if detail.notes:
        for note in detail.notes:
            blocks += long_text_sections(
                "*"
                + t._("What the customer said on {date}", date=t.date(note.recorded_at.astimezone(t.tz).date()))
                + "*",
                note.customer_said,
            )
    elif review.customer_stated_reason:
        blocks += long_text_sections("*" + t._("What the customer said last time") + "*", review.customer_stated_reason)
    if owner:
        blocks.append(
            titled(
                t._("Three questions for your follow-up call"),
                "\n".join(f"{i}. {q}" for i, q in enumerate(interview_questions(t), 1)),
            )
        )
    return blocks


def _self_check_lines(t: Translator, check: SelfCheck) -> str:
    labels = _question_labels(t)
    answers = {
        "repeated": repeated_label(t, check.repeated_mistake) if check.repeated_mistake else None,
        "kept": kept_label(t, check.kept_change) if check.kept_change else None,
        "reaction": reaction_label(t, check.reaction) if check.reaction else None,
        "meetings": str(check.meetings) if check.meetings is not None else None,
    }
    return "\n".join(f"{labels[k]} {v if v is not None else '-'}" for k, v in answers.items())


def _page_ref(team: bool, offset: int) -> str:
    return f"{'team' if team else 'mine'}:{max(offset, 0)}"


def parse_page_ref(value: str | None) -> tuple[bool, int] | None:
    scope, _, offset = str(value or "").partition(":")
    if scope not in ("team", "mine") or len(offset) > 9:  # a forged offset may be any number of digits
        return None
    try:
        return scope == "team", max(int(offset), 0)
    except ValueError:
        return None


def review_modal(
    t: Translator, detail: ReviewDetail, *, viewer_id: str, back_to: tuple[bool, int] | None = None
) -> dict[str, Any]:
    blocks = review_detail_blocks(t, detail, viewer_id=viewer_id)
    if back_to is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.REVIEWS_NAV,
                "elements": [button(t._("Back to the list"), ActionId.REVIEWS_PAGE, value=_page_ref(*back_to))],
            }
        )
    return {
        "type": "modal",
        "callback_id": CallbackId.REVIEW_DETAIL,
        "private_metadata": json.dumps({"review": detail.review.id}),
        "title": plain(t._("Lost deal review"), 24),
        "close": plain(t._("Close"), 24),
        "blocks": blocks[:MAX_HOME_BLOCKS],
    }


def not_available_modal(t: Translator) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.NOT_AVAILABLE,
        "title": plain(t._("Lost deal review"), 24),
        "close": plain(t._("Close"), 24),
        "blocks": [
            section(t._("This review isn't available to you. You can open your own reviews from your Home tab."))
        ],
    }


def review_list_modal(t: Translator, page: ReviewPage, *, now: datetime) -> dict[str, Any]:
    title = t._("Team reviews") if page.team else t._("Your reviews")
    blocks: list[dict[str, Any]] = []
    if page.lines:
        blocks.append(
            context(
                t._(
                    "Reviews {first} to {last} of {total}, newest first.",
                    first=page.offset + 1,
                    last=page.offset + len(page.lines),
                    total=page.total,
                )
            )
        )
        blocks += [_review_entry(t, line, now=now, with_rep=page.team) for line in page.lines]
    else:
        blocks.append(context(t._("No more reviews.")))
    nav = []
    if page.offset > 0:
        nav.append(
            button(t._("Newer"), f"{ActionId.REVIEWS_PAGE}:newer", value=_page_ref(page.team, page.offset - page.limit))
        )
    if page.offset + len(page.lines) < page.total:
        nav.append(
            button(t._("Older"), f"{ActionId.REVIEWS_PAGE}:older", value=_page_ref(page.team, page.offset + page.limit))
        )
    if nav:
        blocks.append({"type": "actions", "block_id": BlockId.REVIEWS_NAV, "elements": nav})
    return {
        "type": "modal",
        "callback_id": CallbackId.REVIEW_LIST,
        "private_metadata": _page_ref(page.team, page.offset),
        "title": plain(title, 24),
        "close": plain(t._("Close"), 24),
        "blocks": blocks,
    }


# The self-check, answered from Home --------------------------------------------------------


def self_check_modal(
    t: Translator, review: Review, check: SelfCheck | None, normal: dict[str, int] | None = None
) -> dict[str, Any]:
    _, blocks = self_check_message(t, review, check, normal=normal)
    return {
        "type": "modal",
        "callback_id": CallbackId.SELF_CHECK,
        "private_metadata": json.dumps({"review": review.id}),
        "title": plain(t._("Self-check"), 24),
        "close": plain(t._("Close"), 24),
        "blocks": blocks,
    }


# Recovery (復活): logging a win --------------------------------------------------------------


def win_modal(t: Translator) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.WIN,
        "title": plain(t._("Log a win"), 24),
        "submit": plain(t._("Save"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": [
            section(t._("Which deal did you win? I'll note how long it took from your last loss.")),
            input_block(BlockId.WIN_DEAL, t._("Deal / customer"), text_input(BlockId.WIN_DEAL, WIN_DEAL_MAX)),
        ],
    }


def won_message(t: Translator, win: LoggedWin) -> tuple[str, list[dict[str, Any]]]:
    deal = escape(win.deal_name)
    days = recovery_days_text(t, win.days_since_loss)
    text = t._("Congratulations on winning {deal}! {days}", deal=deal, days=days)
    blocks: list[dict[str, Any]] = [
        header(t._(":tada: You won {deal}", deal=win.deal_name)),
        section(t._("Congratulations! *{days}*", days=days)),
    ]
    if win.loss_deal and win.loss_on:
        lines = [t._("Your last loss: *{deal}* on {date}.", deal=escape(win.loss_deal), date=t.date(win.loss_on))]
        change = change_of(t, win.change_code, win.change_text)
        if change:
            lines.append(t._("The one change you chose then: {change}", change=escape(change)))
        blocks.append(section("\n".join(lines)))
        blocks.append(
            context(
                t._(
                    "That's the way back: you found what caused the loss and changed it. "
                    "Keep the one change, and keep your activity up."
                )
            )
        )
    else:
        blocks.append(context(t._("From your next loss on, I'll also tell you how long the way back took.")))
    return text, blocks


def won_usage_text(t: Translator) -> str:
    return t._(
        "Tell me which deal you won, like `/lost won Acme renewal`. I'll note how many days it took from "
        "your last loss."
    )


def win_too_long_text(t: Translator) -> str:
    return t._("Please keep the deal name under {limit} characters.", limit=WIN_DEAL_MAX)
