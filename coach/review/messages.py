"""Messages about a finished review: the rep's summary and the managers' share. Pure builders."""

from __future__ import annotations

from typing import Any

from coach.blockkit import (
    button,
    context,
    divider,
    escape,
    fits_header,
    header,
    long_sections,
    long_text_sections,
    section,
    titled,
)
from coach.i18n import Translator
from coach.inbound import shorten
from coach.models import CustomerFollowUp, Review
from coach.review.labels import VERDICT_MARK, change_label, lens_label, surface_label, underlying_label, verdict_label
from coach.review.rules import Lens
from coach.review.views import self_denial_reframe
from coach.slack.ids import ActionId, BlockId


def interview_questions(t: Translator) -> list[str]:
    """失注理由ヒアリング: how you ask is 90% (METHOD §4)."""
    return [
        t._("What was the biggest reason you passed this time?"),
        t._("Among the options you compared, what decided it?"),
        t._("If we could improve one thing, what would it be?"),
    ]


def customer_said_blocks(t: Translator, followup: CustomerFollowUp | None) -> list[dict[str, Any]]:
    """What the customer said on the follow-up call, to read beside the rep's own reasons; nothing if no call."""
    if followup is None:
        return []
    if followup.outcome != "recorded":
        return [context(t._("Follow-up call: could not reach them, or it was not the moment."))]
    blocks: list[dict[str, Any]] = []
    for label, value in (
        (t._("Customer-stated reason"), followup.biggest_reason),
        (t._("What would have made them choose us"), followup.would_have_chosen),
        (t._("What they prioritise now"), followup.priority_now),
        (t._("Their words"), followup.their_words),
    ):
        if value:
            blocks += long_text_sections(f"*{label}*", value)
    return blocks


def meeting_when(t: Translator, review: Review) -> str:
    """The next meeting, or that it is not booked yet."""
    if review.next_meeting_at is None:
        return t._("Not booked yet")
    return t.datetime(review.next_meeting_at)


def one_change(t: Translator, review: Review) -> str:
    return change_label(t, review.change_code) if review.change_code else review.change_text


def _reasons(t: Translator, review: Review) -> str:
    return "\n".join(f"• {underlying_label(t, r.code) if r.code else escape(r.text or '')}" for r in review.reasons)


def _surface(t: Translator, review: Review) -> str:
    text = surface_label(t, review.surface_reason)
    if review.competitor:
        text += f" ({escape(review.competitor)})"
    return text


def _verdict_line(t: Translator, review: Review, lens: Lens) -> str:
    verdict = getattr(review, f"{lens}_verdict")
    line = t._("*{lens}*: {verdict}", lens=lens_label(t, lens), verdict=verdict_label(t, verdict))
    return f"{VERDICT_MARK.get(verdict, '')} {line}"


def _final_call(t: Translator, review: Review, lens: Lens) -> str | None:
    if lens is Lens.DECISION and review.decision_maker:
        return t._("final call: {who}", who=escape(review.decision_maker))
    return None


def lens_sections(t: Translator, review: Review, *, with_notes: bool) -> list[dict[str, Any]]:
    """The four lenses: one line each; with notes, each lens its own section(s), so no note is ever cut."""
    if not with_notes:
        lines = [
            " · ".join(filter(None, [_verdict_line(t, review, lens), _final_call(t, review, lens)])) for lens in Lens
        ]
        return [titled(t._("The four lenses"), "\n".join(lines))]
    blocks: list[dict[str, Any]] = []
    for i, lens in enumerate(Lens):
        line = _verdict_line(t, review, lens)
        if i == 0:
            line = "*" + t._("The four lenses") + "*\n" + line
        note = getattr(review, f"{lens}_note")
        parts = [p for p in (escape(note) if note else None, _final_call(t, review, lens)) if p]
        blocks += long_sections(line, "\n".join(parts))
    return blocks


def _titled_sections(title: str, body: str) -> list[dict[str, Any]]:
    """A bold title over an (escaped) body, in as many sections as the body needs."""
    return long_sections(f"*{title}*", body)


def _heading(t: Translator, title: str, deal: str) -> list[dict[str, Any]]:
    """The header with the deal's name; a name too long for a header gets a section, so it is shown whole."""
    if fits_header(title):
        return [header(title)]
    return [header(t._("Lost deal review"))] + _titled_sections(t._("Deal / customer"), escape(deal))


def about_hours(t: Translator, hours: float) -> str:
    """A time since the loss in whole hours, as people say it: "about 2 hours" (約2時間), never "2.0 hours"."""
    if hours < 1:
        return t._("less than an hour")
    whole = round(hours)
    return t._("about an hour") if whole == 1 else t._("about {n} hours", n=whole)


def _timing(t: Translator, review: Review) -> str:
    took = about_hours(t, review.review_hours)
    if review.review_hours <= 24:
        return t._("{took} from the loss to this review: within 24 hours, while memory was fresh.", took=took)
    return t._("{took} from the loss to this review. Next time, try to review within 24 hours.", took=took)


def summary_message(
    t: Translator,
    review: Review,
    *,
    followup: CustomerFollowUp | None = None,
    ask_normal_week: bool = False,
) -> tuple[str, list[dict[str, Any]]]:
    """The rep's DM: analysis, not self-reproach, and what to do next. Every answer shown is shown whole.

    `followup`: what the customer said on the follow-up call, shown beside the rep's reasons (the summary
    is updated once it is recorded). `ask_normal_week`: the rep has no normal week yet; asked once, here,
    with a button that opens the form.
    """
    deal = escape(review.deal_name)
    blocks: list[dict[str, Any]] = _heading(t, t._("Your review: {deal}", deal=review.deal_name), review.deal_name)
    blocks.append(context(t._("A loss has causes you can work on; it isn't bad luck. This is analysis, not blame.")))
    if review.self_denial_flagged:
        blocks.append(section(":seedling: " + self_denial_reframe(t)))
    blocks += _titled_sections(t._("Stated reason"), _surface(t, review))
    blocks += _titled_sections(t._("Underlying reasons"), _reasons(t, review))
    blocks += customer_said_blocks(t, followup)
    blocks += lens_sections(t, review, with_notes=False)
    blocks.append(divider())
    blocks += _titled_sections(t._("The one change for your next meeting"), ":dart: " + escape(one_change(t, review)))
    blocks += [
        titled(t._("Your next meeting"), meeting_when(t, review)),
        titled(t._("Re-contact this customer"), t.date(review.recontact_on)),
        divider(),
        titled(
            t._("Three questions for your follow-up call"),
            t._("Thank them first, then ask to learn, without defending price or features:")
            + "\n"
            + "\n".join(f"{i}. {q}" for i, q in enumerate(interview_questions(t), 1)),
        ),
        context(t._("On the next business day I'll remind you to make the call; record what they said in one tap.")),
        context(_timing(t, review)),
    ]
    if ask_normal_week:
        blocks += [
            divider(),
            section(
                t._(
                    "After a loss, activity quietly drops. What does a normal week look like for you? I'll compare "
                    "your week-1 numbers with it."
                )
            ),
            {
                "type": "actions",
                "block_id": BlockId.NORMAL_WEEK_ASK,
                "elements": [
                    button(t._("Set my normal week"), ActionId.NORMAL_WEEK_EDIT, value=f"summary:{review.id}")
                ],
            },
        ]
    text = t._(
        "Your review of {deal} is saved. Your one change: {change}", deal=deal, change=escape(one_change(t, review))
    )
    return text, blocks


def full_review_blocks(
    t: Translator, review: Review, *, followup: CustomerFollowUp | None = None
) -> list[dict[str, Any]]:
    """Every answer of the review, whole: the managers' share and the read-only review on Home (with what the
    customer said on the follow-up call, beside the rep's reasons)."""
    blocks = _titled_sections(t._("Stated reason"), _surface(t, review))
    blocks += _titled_sections(t._("Underlying reasons"), _reasons(t, review))
    blocks += customer_said_blocks(t, followup)
    blocks += lens_sections(t, review, with_notes=True)
    for label, value in (
        (t._("Timeline of the deal"), review.timeline),
        (t._("The customer's words"), review.customer_words),
        (t._("Where did the customer's reaction change?"), review.reaction_change),
        (t._("Which question failed to draw out the real need?"), review.failed_question),
    ):
        if value:
            blocks += long_text_sections(f"*{label}*", value)
    blocks += _titled_sections(t._("The one change for the next meeting"), ":dart: " + escape(one_change(t, review)))
    return blocks


def manager_share_message(t: Translator, review: Review) -> tuple[str, list[dict[str, Any]]]:
    """The full review for the managers' channel (報告を濁さない): every answer, nothing cut.

    Each answer gets as many sections as it needs (escaping makes "&" five characters long); the
    longest review possible stays well inside a message's 50 blocks.
    """
    rep = f"<@{review.user_id}>"
    size = f" · {t.amount(review.deal_size)}" if review.deal_size is not None else ""
    blocks: list[dict[str, Any]] = _heading(t, t._("Lost deal review: {deal}", deal=review.deal_name), review.deal_name)
    blocks.append(
        context(
            t._(
                "{rep} · lost {date}{size} · reviewed {took} after the loss",
                rep=rep,
                date=t.date(review.lost_on),
                size=size,
                took=about_hours(t, review.review_hours),
            )
        )
    )
    blocks += full_review_blocks(t, review)
    blocks.append(context(t._("Re-contact: {date}", date=t.date(review.recontact_on))))
    text = t._("{rep} reviewed the lost deal {deal}", rep=rep, deal=escape(review.deal_name))
    return text, blocks


def help_text(t: Translator) -> str:
    # Escaped: Slack would read the "<deal>" placeholders as links and hide them.
    return "\n".join(
        escape(line)
        for line in [
            t._("*Lost-Deal Coach*: turn a lost deal into lessons for the next one, not blame."),
            t._("• `/lost`: review a lost deal (facts, four lenses, underlying reasons, one change)"),
            t._("• `/lost Acme renewal`: start a review with the deal name filled in"),
            t._("• `/lost new <deal>`: the same, for a deal whose name looks like a command"),
            t._("• `/lost meeting`: set or move your next meeting (for the reminder of your one change)"),
            t._("• `/lost won <deal>`: log a win, and see how long recovery took"),
            t._("• `/lost export`: your reviews as a CSV (managers: the team's; `/lost export 90` for 90 days)"),
            t._("• `/lost digest`: managers: post the team digest to the managers' channel now"),
            t._("• `/lost help`: this message"),
            t._("An unfinished review is kept as a draft; `/lost` offers to resume it."),
        ]
    )


def unknown_subcommand_text(t: Translator, word: str) -> str:
    return t._("I don't know `{word}`.", word=escape(shorten(word))) + "\n\n" + help_text(t)


def something_went_wrong_text(t: Translator) -> str:
    return t._("Sorry, something went wrong on our side. Please try again in a moment.")


def sharing_not_configured_text(t: Translator) -> str:
    return t._(
        "Sharing is on, but no managers' channel is set up yet, so the review was not shared. "
        "Ask your Slack admin to set MANAGER_CHANNEL."
    )
