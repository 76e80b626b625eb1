"""The nudges' messages and modals: pure functions from stored facts to Block Kit."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from coach.blockkit import (
    button,
    confirm_dialog,
    context,
    divider,
    escape,
    header,
    input_block,
    long_text_sections,
    option,
    plain,
    section,
    text_input,
    titled,
)
from coach.i18n import Translator
from coach.models import CustomerFollowUp, Review, SelfCheck
from coach.nudges.labels import activity_label, kept_label, reaction_label, repeated_label
from coach.nudges.rules import (
    MAX_ACTIVITY,
    MAX_MEETINGS_CHOICE,
    Activity,
    FollowUpOutcome,
    KeptChange,
    NudgeKind,
    OpenItem,
    Reaction,
    RepeatedMistake,
    activity_drops,
    open_items,
)
from coach.review import rules as review_rules
from coach.review.labels import change_label, recontact_label, surface_label, underlying_label
from coach.review.messages import customer_said_blocks, interview_questions, meeting_when, one_change
from coach.review.rules import ChangeSuggestion, Field, RecontactChoice, UnderlyingReason
from coach.slack.ids import ActionId, BlockId, CallbackId

CUSTOMER_SAID_MAX = 3000

Message = tuple[str, list[dict[str, Any]]]


def _mark(done: bool) -> str:
    return ":white_check_mark:" if done else ":white_large_square:"


def finish_review_message(t: Translator, draft_id: int, deal_name: str | None) -> Message:
    deal = escape(deal_name) if deal_name else t._("an unnamed deal")
    text = t._("Your review of {deal} is still open. Finish it while memory is fresh.", deal=deal)
    blocks = [
        section(text),
        context(t._("Review within 24 hours: the customer's exact words and where their reaction changed fade fast.")),
        {
            "type": "actions",
            "block_id": BlockId.NUDGE_ACTIONS,
            "elements": [button(t._("Finish my review"), ActionId.RESUME_DRAFT, value=str(draft_id), style="primary")],
        },
    ]
    return text, blocks


def _actions(*elements: dict[str, Any], block_id: str = BlockId.NUDGE_ACTIONS) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def _share_as_it_is(t: Translator) -> dict[str, Any]:
    """Before a review whose words read as a verdict on the rep goes to the managers' channel (報告を濁さない,
    but facts, not self-denial): the saved review cannot be rephrased any more, so Slack asks first."""
    return confirm_dialog(
        t._("Share it as it is?"),
        t._(
            "Some of your words in this review read as a verdict on yourself, not as facts. Your manager can help "
            "more with what happened: what you asked, what the customer said. Share the review as it is?"
        ),
        t._("Share as it is"),
        t._("Not now"),
    )


def checklist_message(t: Translator, review: Review, *, sharing_available: bool) -> Message:
    """The 3-day message (三日以内): only what is still open, never a list of ticks. The facts, the timeline and
    the customer's words are in the review already (the form required them); what is left is the manager and
    結論を急がない: now that three days have passed, keep or revise the one change."""
    deal = escape(review.deal_name)
    still_open = open_items(
        shared=review.shared_ts is not None,
        talked=review.manager_talk_at is not None,
        change_settled=review.change_settled_at is not None,
    )
    text = t._("3 days since you lost {deal}: what is still open", deal=deal)
    blocks: list[dict[str, Any]] = [header(t._("Within 3 days: {deal}", deal=review.deal_name))]
    if not still_open:
        blocks.append(
            section(
                ":white_check_mark: "
                + t._(
                    "Nothing is left open. Your one change for the next meeting: {change}",
                    change=escape(one_change(t, review)),
                )
            )
        )
        return t._("3 days since you lost {deal}: nothing is left open", deal=deal), blocks
    blocks.append(
        context(t._("Your facts, timeline and the customer's words are written down. This is what is still open."))
    )
    if OpenItem.SHARE in still_open:
        blocks.append(section("*" + t._("Share the review with your manager, as it is") + "*"))
        if sharing_available:
            blocks.append(
                _actions(
                    button(
                        t._("Share with my manager"),
                        ActionId.CHECKLIST_SHARE,
                        value=str(review.id),
                        style="primary",
                        confirm=_share_as_it_is(t) if review.self_denial_flagged else None,
                    ),
                    block_id=BlockId.CHECKLIST_SHARE,
                )
            )
        else:
            blocks.append(context(t._("No managers' channel is set up, so sharing isn't available yet.")))
    if OpenItem.MANAGER_TALK in still_open:
        blocks.append(
            section(
                "*"
                + t._("Talk it through with your manager")
                + "*\n"
                + t._(
                    "Ask for 15 minutes: go through the facts and the underlying reasons together. A report that "
                    "blurs the loss only gets shallow advice."
                )
            )
        )
        blocks.append(
            _actions(
                button(t._("We talked it through"), ActionId.MANAGER_TALKED, value=str(review.id)),
                block_id=BlockId.CHECKLIST_TALK,
            )
        )
    if OpenItem.ONE_CHANGE in still_open:
        blocks.append(
            section(
                "*"
                + t._("Don't rush to conclusions")
                + "*\n"
                + t._(
                    "Three days on, with everything written down: is this still the one change for your next "
                    "meeting?\n:dart: {change}",
                    change=escape(one_change(t, review)),
                )
            )
        )
        blocks.append(
            _actions(
                button(t._("Keep it"), ActionId.KEEP_CHANGE, value=str(review.id), style="primary"),
                button(t._("Revise it"), ActionId.REVISE_CHANGE, value=str(review.id)),
                block_id=BlockId.CHECKLIST_CHANGE,
            )
        )
    return text, blocks


def change_modal(t: Translator, review: Review, *, message: tuple[str, str] | None) -> dict[str, Any]:
    """Revise the one change (three days on): one suggestion, or the rep's own words in one line."""
    changes = [option(change_label(t, c), c) for c in (*ChangeSuggestion, review_rules.OWN_WORDS)]
    chosen = review.change_code or review_rules.OWN_WORDS
    radio: dict[str, Any] = {"type": "radio_buttons", "action_id": Field.CHANGE_CODE, "options": changes}
    radio["initial_option"] = next(o for o in changes if o["value"] == chosen)
    return _review_modal(
        t,
        CallbackId.CHANGE,
        t._("The one change"),
        review,
        message,
        [
            section(
                t._(
                    "*{deal}*: choose *exactly one* thing to change in your next meeting.",
                    deal=escape(review.deal_name),
                )
            ),
            input_block(Field.CHANGE_CODE, t._("The one change"), radio),
            input_block(
                Field.CHANGE_OWN,
                t._("…or in your own words"),
                text_input(
                    Field.CHANGE_OWN,
                    review_rules.MAX_LENGTH[Field.CHANGE_OWN],
                    initial=review.change_text or None,
                ),
                optional=True,
                hint=t._("Choose “In my own words (below)” above and write one change here, in one line."),
            ),
        ],
    )


def change_settled_text(t: Translator, review: Review) -> str:
    return t._("Your one change for the next meeting: {change}", change=escape(one_change(t, review)))


def pre_meeting_message(t: Translator, review: Review, *, done: bool = False) -> Message:
    change = escape(one_change(t, review))
    text = t._(
        "Your next meeting is at {when}. Your one change: {change}",
        when=meeting_when(t, review),
        change=change,
    )
    blocks: list[dict[str, Any]] = [
        header(t._("Before your next meeting")),
        section(t._("*{when}*", when=meeting_when(t, review))),
        titled(t._("The one change"), ":dart: " + change),
        titled(
            t._("Ready for the meeting?"),
            "\n".join(
                [
                    "• " + t._("*Discovery*: questions that dig into the problem ready?"),
                    "• " + t._("*Proposal*: not just a feature walkthrough?"),
                    "• " + t._("*Value*: can you say why us in one sentence?"),
                    "• " + t._("*Decision*: decision maker and process confirmed?"),
                    t._(
                        "Put in one action opposite to the cause of the loss. Watch for: your voice getting quieter, "
                        "a defensive proposal, avoiding the price conversation."
                    ),
                ]
            ),
        ),
    ]
    if done:
        blocks.append(context(":white_check_mark: " + t._("Done. One change at a time is how you come back.")))
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.NUDGE_ACTIONS,
                "elements": [
                    button(t._("I'm ready"), ActionId.MEETING_DONE, value=str(review.id), style="primary"),
                    button(t._("The meeting moved"), ActionId.MEETING_MOVED, value=str(review.id)),
                ],
            }
        )
    return text, blocks


def _choice_buttons(action_id: str, review_id: int, choices: list[tuple[str, str]], chosen: str | None) -> dict:
    elements = []
    for value, label in choices:
        b = button(label, f"{action_id}:{value}", value=f"{review_id}:{value}")
        if value == chosen:
            b["style"] = "primary"
        elements.append(b)
    return {"type": "actions", "block_id": action_id, "elements": elements}


def _activity_question(t: Translator, activity: Activity) -> str:
    return {
        Activity.MEETINGS: t._("*How many customer meetings did I hold this week?*"),
        Activity.APPOINTMENTS: t._("*How many appointments did I book this week?*"),
        Activity.PROSPECTS: t._("*How many new prospects did I approach this week?*"),
    }[activity]


ACTIVITY_ACTIONS = {
    Activity.MEETINGS: ActionId.SELF_CHECK_MEETINGS,
    Activity.APPOINTMENTS: ActionId.SELF_CHECK_APPOINTMENTS,
    Activity.PROSPECTS: ActionId.SELF_CHECK_PROSPECTS,
}


def _count_select(t: Translator, review_id: int, activity: Activity, chosen: int | None) -> dict[str, Any]:
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": ACTIVITY_ACTIONS[activity],
        "placeholder": plain(t._("Choose a number")),
        "options": [
            option(str(n) if n < MAX_MEETINGS_CHOICE else f"{n}+", f"{review_id}:{n}")
            for n in range(MAX_MEETINGS_CHOICE + 1)
        ],
    }
    if chosen is not None:
        select["initial_option"] = select["options"][min(chosen, MAX_MEETINGS_CHOICE)]
    return select


def volume_blocks(
    t: Translator, review_id: int, counts: dict[str, int], normal: dict[str, int] | None
) -> list[dict[str, Any]]:
    """This week's counts against the normal week, said plainly (数字が落ちたときほど行動量を落とさない)."""
    if not counts:
        return []
    if not normal:
        return [
            context(t._("Tell me what a normal week looks like for you, and I'll say plainly how this week compares.")),
            _actions(
                button(t._("Set my normal week"), ActionId.NORMAL_WEEK_EDIT, value=f"self_check:{review_id}"),
                block_id=BlockId.NORMAL_WEEK_ASK,
            ),
        ]
    dropped = activity_drops(counts, normal)
    lines = []
    for a in Activity:
        if a not in counts:
            continue
        mark = ":small_red_triangle_down:" if a in dropped else ":white_check_mark:"
        lines.append(
            t._(
                "{mark} {what}: {now} this week, normal week {usual}",
                mark=mark,
                what=activity_label(t, a),
                now=counts[a],
                usual=normal.get(a, "-"),
            )
        )
    blocks = [section("\n".join(lines))]
    if dropped:
        blocks.append(
            section(
                ":warning: "
                + t._(
                    "{what} fell against your normal week. After a loss, activity quietly drops: this is exactly "
                    "when to keep the volume up. Volume first, then quality.",
                    what=t._(", ").join(activity_label(t, a) for a in dropped),
                )
            )
        )
    else:
        blocks.append(context(t._("Nothing fell against your normal week. Keep it up.")))
    return blocks


def self_check_message(
    t: Translator, review: Review, check: SelfCheck | None, *, normal: dict[str, int] | None = None
) -> Message:
    """The one-week self-check (一週間後): three one-tap questions and the week's three counts, which are
    compared with the rep's normal week as soon as one is in."""
    c = check
    text = t._("One week since you lost {deal}: time for your self-check.", deal=escape(review.deal_name))
    blocks: list[dict[str, Any]] = [
        header(t._("One-week self-check: {deal}", deal=review.deal_name)),
        titled(t._("The one change you chose"), ":dart: " + escape(one_change(t, review))),
        section(t._("*Did I repeat the same mistake in my meetings?*")),
        _choice_buttons(
            ActionId.SELF_CHECK_REPEATED,
            review.id,
            [(v, repeated_label(t, v)) for v in RepeatedMistake],
            c.repeated_mistake if c else None,
        ),
        section(t._("*Did I keep the one change?*")),
        _choice_buttons(
            ActionId.SELF_CHECK_KEPT,
            review.id,
            [(v, kept_label(t, v)) for v in KeptChange],
            c.kept_change if c else None,
        ),
        section(t._("*How did customers' reactions change?*")),
        _choice_buttons(
            ActionId.SELF_CHECK_REACTION,
            review.id,
            [(v, reaction_label(t, v)) for v in Reaction],
            c.reaction if c else None,
        ),
    ]
    counts: dict[str, int] = {}
    for a in Activity:
        chosen = getattr(c, a) if c else None
        if chosen is not None:
            counts[a] = chosen
        blocks.append(
            {
                "type": "section",
                "block_id": ACTIVITY_ACTIONS[a],
                "text": {"type": "mrkdwn", "text": _activity_question(t, a)},
                "accessory": _count_select(t, review.id, a, chosen),
            }
        )
    # Shown as soon as a count is in (METHOD §5), whatever else is still unanswered.
    blocks += volume_blocks(t, review.id, counts, normal)
    if (
        c
        and all(v is not None for v in (c.repeated_mistake, c.kept_change, c.reaction))
        and len(counts) == len(Activity)
    ):
        blocks.append(divider())
        blocks.append(section(":memo: " + t._("Saved. Thank you: this is what turns a loss into your next win.")))
    return text, blocks


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def recontact_questions(t: Translator) -> list[str]:
    """On re-contact the reason is known: ask what changed since, to learn, never to sell."""
    return [
        t._("What has changed for you since we last spoke?"),
        t._("How is what you chose working out?"),
        t._("What matters most to you now?"),
    ]


def recontact_message(
    t: Translator,
    review: Review,
    *,
    recorded: tuple[str, date] | None = None,
    followup: CustomerFollowUp | None = None,
) -> Message:
    text = t._("Time to get back in touch about {deal}", deal=escape(review.deal_name))
    reasons = "\n".join(f"• {underlying_label(t, r.code) if r.code else escape(r.text or '')}" for r in review.reasons)
    blocks: list[dict[str, Any]] = [
        header(t._("A future opportunity: {deal}", deal=review.deal_name)),
        section(
            t._(
                "You lost this deal on {date}. A lost deal is a future opportunity: get in touch by giving "
                "information, not by selling.",
                date=t.date(review.lost_on),
            )
        ),
        titled(t._("Stated reason"), surface_label(t, review.surface_reason)),
        titled(t._("Underlying reasons"), reasons),
    ]
    blocks += long_text_sections("*" + t._("The customer's words") + "*", review.customer_words)
    if followup is not None and followup.outcome == FollowUpOutcome.RECORDED:
        blocks += customer_said_blocks(t, followup)
    if review.customer_stated_reason and (followup is None or review.customer_stated_reason != followup.biggest_reason):
        blocks += long_text_sections("*" + t._("What the customer said last time") + "*", review.customer_stated_reason)
    blocks += [
        titled(
            t._("What to bring"),
            "• " + t._("Industry news that matters to them") + "\n• " + t._("A case study from a similar customer"),
        ),
        # The reason was asked on the follow-up call already: now ask what has changed since.
        titled(t._("How to ask"), "\n".join(f"{i}. {q}" for i, q in enumerate(recontact_questions(t), 1))),
    ]
    if recorded:
        said, next_on = recorded
        blocks.append(context(":white_check_mark: " + t._("Recorded. Next re-contact: {date}", date=t.date(next_on))))
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.NUDGE_ACTIONS,
                "elements": [
                    button(
                        t._("Record what they said"), ActionId.RECONTACT_RECORD, value=str(review.id), style="primary"
                    )
                ],
            }
        )
    return text, blocks


def meeting_modal(
    t: Translator, review: Review, *, message: tuple[str, str] | None, origin: str | None = None
) -> dict[str, Any]:
    """`origin`: the nudge kind whose message opened it (its answer is shown there), if not the reminder."""
    picker: dict[str, Any] = {"type": "datetimepicker", "action_id": Field.NEXT_MEETING_AT}
    if review.next_meeting_at is not None:
        picker["initial_date_time"] = int(review.next_meeting_at.timestamp())
    return _review_modal(
        t,
        CallbackId.MEETING,
        t._("Next meeting"),
        review,
        message,
        [
            section(
                t._(
                    "When is your next sales meeting? Your one change for *{deal}*: {change}",
                    deal=escape(review.deal_name),
                    change=escape(one_change(t, review)),
                )
            ),
            input_block(Field.NEXT_MEETING_AT, t._("Your next sales meeting (any customer)"), picker),
        ],
        origin=origin,
    )


def recontact_modal(t: Translator, review: Review, *, message: tuple[str, str] | None) -> dict[str, Any]:
    choices = [option(recontact_label(t, c), c) for c in RecontactChoice]
    return _review_modal(
        t,
        CallbackId.RECONTACT,
        t._("Re-contact"),
        review,
        message,
        [
            section(
                t._(
                    "What has changed for the customer since you lost *{deal}*? Their own words, as close as you can.",
                    deal=escape(review.deal_name),
                )
            ),
            input_block(
                BlockId.CUSTOMER_SAID,
                t._("What has changed since, in their words"),
                text_input(BlockId.CUSTOMER_SAID, CUSTOMER_SAID_MAX, multiline=True),
            ),
            input_block(
                Field.RECONTACT_CHOICE,
                t._("Next re-contact"),
                {
                    "type": "radio_buttons",
                    "action_id": Field.RECONTACT_CHOICE,
                    "options": choices,
                    "initial_option": choices[0],
                },
            ),
            input_block(
                Field.RECONTACT_ON,
                t._("Re-contact date"),
                {"type": "datepicker", "action_id": Field.RECONTACT_ON},
                optional=True,
                hint=t._("Only when you chose a date."),
            ),
        ],
    )


# The prep list (次の商談までに整えること) -------------------------------------------------


def opposite_action(t: Translator, code: str) -> str:
    """失注の原因と真逆の行動: for each underlying reason, one action that does the opposite."""
    return {
        UnderlyingReason.VALUE_NOT_CONVEYED: t._("Say why us in one sentence, before price comes up"),
        UnderlyingReason.LOW_PRIORITY: t._("Ask what it costs them to leave the problem for another quarter"),
        UnderlyingReason.NO_COMPARISON_AXIS: t._("Propose the axis of comparison yourself, early"),
        UnderlyingReason.REAL_PROBLEM_NOT_HEARD: t._("Hear the problem out to the end before proposing anything"),
        UnderlyingReason.PRODUCT_BEFORE_PROBLEM: t._("No product talk until the customer has confirmed the problem"),
        UnderlyingReason.DECISION_PROCESS_UNKNOWN: t._("Ask who makes the final call, and how, in this meeting"),
        UnderlyingReason.NOT_IN_COMPARISON: t._("Ask which options they are comparing, and get onto that table"),
    }.get(code, code)


def prep_message(t: Translator, review: Review, *, lead_minutes: int, done: bool = False) -> Message:
    """The day before the next meeting: the four prep items, one action opposite to the cause of the loss,
    and the behaviours a loss brings into the next meeting (声が小さくなる, 提案が守りに入る, 価格交渉を避ける)."""
    when = meeting_when(t, review)
    text = t._("Your next meeting is {when}. Time to prepare.", when=when)
    opposites = [f"• {opposite_action(t, r.code)}" for r in review.reasons if r.code][:3]
    blocks: list[dict[str, Any]] = [
        header(t._("Prepare for your next meeting")),
        section(t._("*{when}*", when=when)),
        titled(
            t._("Before the next meeting, have these ready"),
            "\n".join(
                [
                    "• " + t._("*Hearing*: questions that dig into the problem ready?"),
                    "• " + t._("*Proposal*: not just a feature walkthrough?"),
                    "• " + t._("*Value*: can you say why us in one sentence?"),
                    "• " + t._("*Decision*: decision maker and process confirmed?"),
                ]
            ),
        ),
        titled(
            t._("Put in one action opposite to the cause of the loss"),
            t._("What you found behind losing *{deal}*:", deal=escape(review.deal_name))
            + "\n"
            + "\n".join(
                f"• {underlying_label(t, r.code) if r.code else escape(r.text or '')}" for r in review.reasons[:5]
            )
            + ("\n" + t._("For example:") + "\n" + "\n".join(opposites) if opposites else ""),
        ),
        titled(
            t._("Watch for what a loss brings into the next meeting"),
            "\n".join(
                [
                    "• " + t._("Your voice getting quieter"),
                    "• " + t._("A defensive proposal"),
                    "• " + t._("Avoiding the price conversation"),
                ]
            ),
        ),
        context(
            t._(
                ":dart: Your one change: {change}. I'll remind you {minutes} minutes before the meeting.",
                change=escape(one_change(t, review)),
                minutes=lead_minutes,
            )
        ),
    ]
    if done:
        blocks.append(context(":white_check_mark: " + t._("Prepared. Go in with your one change.")))
    else:
        blocks.append(
            _actions(
                button(t._("I'm prepared"), ActionId.PREP_READY, value=str(review.id), style="primary"),
                button(t._("The meeting moved"), ActionId.MEETING_MOVED, value=f"{review.id}:{NudgeKind.PREP}"),
            )
        )
    return text, blocks


# Not booked yet --------------------------------------------------------------------


def book_meeting_message(t: Translator, review: Review) -> Message:
    """Two business days after the review with no next meeting: book one (行動量を落とさない)."""
    if review.next_meeting_at is not None:
        text = t._("Your next meeting is booked: {when}", when=t.datetime(review.next_meeting_at))
        return text, [section(":white_check_mark: " + text)]
    text = t._("Your next sales meeting isn't booked yet. Book one now: activity must not drop after a loss.")
    blocks: list[dict[str, Any]] = [
        header(t._("Book your next meeting")),
        section(
            t._(
                "Your next sales meeting (any customer) isn't booked yet. After a loss, activity quietly drops: "
                "fewer appointments, no new prospects. Book one now, then try your one change there."
            )
        ),
        titled(t._("Your one change"), ":dart: " + escape(one_change(t, review))),
        _actions(button(t._("Set my next meeting"), ActionId.BOOK_MEETING, value=str(review.id), style="primary")),
    ]
    return text, blocks


# The follow-up call (失注後フォロー) -------------------------------------------------


def followup_call_message(t: Translator, review: Review, followup: CustomerFollowUp | None = None) -> Message:
    """The next business day: call the customer, thank them, ask the three questions; one tap to record."""
    deal = escape(review.deal_name)
    text = t._("Today: a follow-up call about {deal}", deal=deal)
    blocks: list[dict[str, Any]] = [
        header(t._("Follow-up call: {deal}", deal=review.deal_name)),
        section(
            t._(
                "Don't go silent after a loss. Call the customer today: thank them first, then ask the reasons "
                "to learn, without defending price or features. Keep the door open."
            )
        ),
        titled(
            t._("Three questions for your follow-up call"),
            "\n".join(f"{i}. {q}" for i, q in enumerate(interview_questions(t), 1)),
        ),
        context(t._("How you ask is 90%: ask to be taught, and they will tell you what really happened.")),
    ]
    if followup is None:
        blocks.append(
            _actions(
                button(t._("Record what they said"), ActionId.FOLLOWUP_RECORD, value=str(review.id), style="primary"),
                button(
                    t._("Couldn't reach them / not the moment"), ActionId.FOLLOWUP_UNREACHABLE, value=str(review.id)
                ),
            )
        )
        return text, blocks
    blocks.append(divider())
    if followup.outcome == FollowUpOutcome.RECORDED:
        blocks += [
            titled(t._("Your stated reason"), surface_label(t, review.surface_reason)),
            titled(
                t._("Your underlying reasons"),
                "\n".join(
                    f"• {underlying_label(t, r.code) if r.code else escape(r.text or '')}" for r in review.reasons
                ),
            ),
        ]
        blocks += customer_said_blocks(t, followup)
        blocks.append(
            context(
                ":white_check_mark: "
                + t._("Recorded beside your own analysis. Where they differ is where to look next time.")
            )
        )
    else:
        blocks.append(
            context(":white_check_mark: " + t._("Noted: no call this time. The re-contact date keeps the door open."))
        )
    blocks.append(_actions(button(t._("Edit what they said"), ActionId.FOLLOWUP_RECORD, value=str(review.id))))
    return text, blocks


FOLLOWUP_MAX = 1500
FOLLOWUP_BLOCKS = (BlockId.BIGGEST_REASON, BlockId.WOULD_HAVE_CHOSEN, BlockId.PRIORITY_NOW, BlockId.THEIR_WORDS)


def followup_modal(
    t: Translator, review: Review, followup: CustomerFollowUp | None, *, message: tuple[str, str] | None
) -> dict[str, Any]:
    """What the customer said: their biggest reason (required), and what else they told."""
    recorded = followup if followup is not None and followup.outcome == FollowUpOutcome.RECORDED else None

    def field(block: BlockId, label: str, *, optional: bool, multiline: bool = False) -> dict[str, Any]:
        initial = getattr(recorded, str(block)) if recorded else None
        return input_block(
            block,
            label,
            text_input(block, FOLLOWUP_MAX, initial=initial, multiline=multiline),
            optional=optional,
        )

    return _review_modal(
        t,
        CallbackId.FOLLOWUP,
        t._("Follow-up call"),
        review,
        message,
        [
            section(
                t._(
                    "What did the customer say about *{deal}*? Their words, as they said them.",
                    deal=escape(review.deal_name),
                )
            ),
            field(BlockId.BIGGEST_REASON, t._("Their biggest reason for passing"), optional=False),
            field(BlockId.WOULD_HAVE_CHOSEN, t._("What would have made them choose us"), optional=True),
            field(BlockId.PRIORITY_NOW, t._("What they prioritise now"), optional=True),
            field(BlockId.THEIR_WORDS, t._("Their words"), optional=True, multiline=True),
        ],
    )


# The normal week (METHOD §5) ---------------------------------------------------------

NORMAL_WEEK_BLOCKS = {
    Activity.MEETINGS: BlockId.NORMAL_MEETINGS,
    Activity.APPOINTMENTS: BlockId.NORMAL_APPOINTMENTS,
    Activity.PROSPECTS: BlockId.NORMAL_PROSPECTS,
}


def normal_week_modal(
    t: Translator,
    normal: dict[str, int] | None,
    *,
    origin: str | None = None,
    message: tuple[str, str] | None = None,
    parent_view_id: str | None = None,
) -> dict[str, Any]:
    """What a normal week looks like: meetings held, appointments booked, new prospects approached."""
    blocks: list[dict[str, Any]] = [
        section(
            t._(
                "What does a normal week look like for you? When numbers fall, keep the volume up: I'll compare your "
                "week after a loss with this."
            )
        )
    ]
    for a, block in NORMAL_WEEK_BLOCKS.items():
        element: dict[str, Any] = {
            "type": "number_input",
            "action_id": block,
            "is_decimal_allowed": False,
            "min_value": "0",
            "max_value": str(MAX_ACTIVITY),
        }
        if normal and normal.get(a) is not None:
            element["initial_value"] = str(normal[a])
        blocks.append(input_block(block, t._("{what} in a normal week", what=activity_label(t, a)), element))
    return {
        "type": "modal",
        "callback_id": CallbackId.NORMAL_WEEK,
        "private_metadata": json.dumps(
            {
                "origin": (origin or "")[:100] or None,
                "message": list(message) if message else None,
                "parent": (parent_view_id or "")[:64] or None,
                "lang": t.lang,  # the submission is answered in it without asking Slack who the rep is
            }
        ),
        "title": plain(t._("A normal week"), 24),
        "submit": plain(t._("Save"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": blocks,
    }


def normal_week_text(t: Translator, normal: dict[str, int]) -> str:
    return " · ".join(t._("{what}: {n}", what=activity_label(t, a), n=normal[a]) for a in Activity if a in normal)


def parse_normal_week_meta(
    private_metadata: str | None,
) -> tuple[str | None, tuple[str, str] | None, str | None]:
    """Where the normal-week form was opened from ("summary:<review>", "self_check:<review>", "home"), the
    message to update and the modal it was pushed onto, if any."""
    try:
        meta = json.loads(private_metadata or "")
        origin, message, parent = meta.get("origin"), meta.get("message"), meta.get("parent")
        return (
            origin if isinstance(origin, str) else None,
            (str(message[0]), str(message[1])) if message else None,
            parent if isinstance(parent, str) else None,
        )
    except (ValueError, AttributeError, TypeError, IndexError):
        return None, None, None


def parse_modal_lang(private_metadata: str | None) -> str | None:
    try:
        lang = json.loads(private_metadata or "").get("lang")
    except (ValueError, AttributeError):
        return None
    return lang if isinstance(lang, str) else None


def parse_modal_origin(private_metadata: str | None) -> str | None:
    try:
        origin = json.loads(private_metadata or "").get("origin")
    except (ValueError, AttributeError):
        return None
    return origin if isinstance(origin, str) else None


def _review_modal(
    t: Translator,
    callback_id: str,
    title: str,
    review: Review,
    message: tuple[str, str] | None,
    blocks: list[dict[str, Any]],
    **meta: Any,
) -> dict[str, Any]:
    """A modal about one review, opened from a nudge's DM: it remembers the review and that message (to update
    it once saved), read back by `parse_modal_meta`."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"review": review.id, "message": list(message) if message else None, **meta}),
        "title": plain(title, 24),
        "submit": plain(t._("Save"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": blocks,
    }


def parse_modal_meta(private_metadata: str | None) -> tuple[int, tuple[str, str] | None] | None:
    try:
        meta = json.loads(private_metadata or "")
        message = meta.get("message")
        return int(meta["review"]), (str(message[0]), str(message[1])) if message else None
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def meeting_moved_text(t: Translator, when: datetime) -> str:
    return t._("Your next meeting is now {when}. I'll remind you of your one change before it.", when=t.datetime(when))


def no_review_text(t: Translator) -> str:
    return t._("You have no saved review yet. Type `/lost` to review a lost deal first.")
