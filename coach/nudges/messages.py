"""The nudges' messages and modals: pure functions from stored facts to Block Kit."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from coach.blockkit import (
    button,
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
from coach.models import Review, SelfCheck
from coach.nudges.labels import kept_label, reaction_label, repeated_label
from coach.nudges.rules import MAX_MEETINGS_CHOICE, KeptChange, Reaction, RepeatedMistake
from coach.review.labels import recontact_label, surface_label, underlying_label
from coach.review.messages import interview_questions, one_change
from coach.review.rules import Field, RecontactChoice
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


def checklist_message(t: Translator, review: Review, *, sharing_available: bool) -> Message:
    shared = review.shared_ts is not None
    items = [
        (True, t._("Loss reasons written down as facts")),
        (bool(review.timeline), t._("The deal's timeline, in order")),
        (bool(review.customer_words), t._("The customer's words, as close to verbatim as you can")),
        (shared, t._("Shared with my manager, as it is")),
    ]
    text = t._("Your 3-day checklist for {deal}", deal=escape(review.deal_name))
    blocks: list[dict[str, Any]] = [
        header(t._("3-day checklist: {deal}", deal=review.deal_name)),
        section("\n".join(f"{_mark(done)} {label}" for done, label in items)),
    ]
    if not shared and sharing_available:
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.NUDGE_ACTIONS,
                "elements": [
                    button(
                        t._("Share with my manager"), ActionId.CHECKLIST_SHARE, value=str(review.id), style="primary"
                    )
                ],
            }
        )
    elif not shared:
        blocks.append(context(t._("No managers' channel is set up, so sharing isn't available yet.")))
    blocks.append(
        context(t._("Don't rush to conclusions: the quality of the analysis depends on how much you write down."))
    )
    return text, blocks


def pre_meeting_message(t: Translator, review: Review, *, done: bool = False) -> Message:
    change = escape(one_change(t, review))
    text = t._(
        "Your next meeting is at {when}. Your one change: {change}",
        when=t.datetime(review.next_meeting_at),
        change=change,
    )
    blocks: list[dict[str, Any]] = [
        header(t._("Before your next meeting")),
        section(t._("*{when}*", when=t.datetime(review.next_meeting_at))),
        titled(t._("The one change"), ":dart: " + change),
        titled(
            t._("Ready for the meeting?"),
            "\n".join(
                [
                    "• " + t._("*Discovery*: questions that dig into the problem ready?"),
                    "• " + t._("*Proposal*: not just a feature walkthrough?"),
                    "• " + t._("*Value*: can you say why us in one sentence?"),
                    "• " + t._("*Decision*: decision maker and process confirmed?"),
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


def self_check_message(
    t: Translator, review: Review, check: SelfCheck | None, *, volume: tuple[bool, float | None] | None = None
) -> Message:
    c = check
    text = t._("One week since you lost {deal}: time for your self-check.", deal=escape(review.deal_name))
    meetings_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": ActionId.SELF_CHECK_MEETINGS,
        "placeholder": plain(t._("Customer meetings this week")),
        "options": [
            option(str(n) if n < MAX_MEETINGS_CHOICE else f"{n}+", f"{review.id}:{n}")
            for n in range(MAX_MEETINGS_CHOICE + 1)
        ],
    }
    if c and c.meetings is not None:
        meetings_select["initial_option"] = meetings_select["options"][min(c.meetings, MAX_MEETINGS_CHOICE)]
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
        {
            "type": "section",
            "block_id": ActionId.SELF_CHECK_MEETINGS,
            "text": {"type": "mrkdwn", "text": t._("*How many customer meetings did I hold this week?*")},
            "accessory": meetings_select,
        },
    ]
    if c and c.meetings is not None and volume is not None:
        # Shown as soon as the count is in (METHOD §5), whatever else is still unanswered.
        dropped, baseline = volume
        if dropped:
            blocks.append(
                section(
                    ":warning: "
                    + t._(
                        "You held {now} customer meetings this week, down from your usual {usual}. After a loss it is "
                        "natural to slow down, but this is exactly when to keep the volume up: volume first, then "
                        "quality.",
                        now=c.meetings,
                        usual=_number(baseline),
                    )
                )
            )
        elif baseline is not None:
            blocks.append(
                context(
                    t._(
                        "{now} meetings this week; your usual is {usual}. Keep it up.",
                        now=c.meetings,
                        usual=_number(baseline),
                    )
                )
            )
        else:
            # No earlier self-check to compare with: no drop to speak of, only the start of a baseline.
            blocks.append(
                context(
                    t._(
                        "{now} customer meetings this week. This is your first count, so from "
                        "now on I'll compare with it.",
                        now=c.meetings,
                    )
                )
            )
    if c and all(v is not None for v in (c.repeated_mistake, c.kept_change, c.reaction, c.meetings)):
        blocks.append(divider())
        blocks.append(section(":memo: " + t._("Saved. Thank you: this is what turns a loss into your next win.")))
    return text, blocks


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def recontact_message(t: Translator, review: Review, *, recorded: tuple[str, date] | None = None) -> Message:
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
    if review.customer_stated_reason:
        blocks += long_text_sections("*" + t._("What the customer said last time") + "*", review.customer_stated_reason)
    blocks += [
        titled(
            t._("What to bring"),
            "• " + t._("Industry news that matters to them") + "\n• " + t._("A case study from a similar customer"),
        ),
        titled(t._("How to ask"), "\n".join(f"{i}. {q}" for i, q in enumerate(interview_questions(t), 1))),
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


def meeting_modal(t: Translator, review: Review, *, message: tuple[str, str] | None) -> dict[str, Any]:
    picker: dict[str, Any] = {
        "type": "datetimepicker",
        "action_id": Field.NEXT_MEETING_AT,
        "initial_date_time": int(review.next_meeting_at.timestamp()),
    }
    return {
        "type": "modal",
        "callback_id": CallbackId.MEETING,
        "private_metadata": json.dumps({"review": review.id, "message": list(message) if message else None}),
        "title": plain(t._("Next meeting"), 24),
        "submit": plain(t._("Save"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": [
            section(
                t._(
                    "When is your next sales meeting? Your one change for *{deal}*: {change}",
                    deal=escape(review.deal_name),
                    change=escape(one_change(t, review)),
                )
            ),
            input_block(Field.NEXT_MEETING_AT, t._("Your next sales meeting (any customer)"), picker),
        ],
    }


def recontact_modal(t: Translator, review: Review, *, message: tuple[str, str] | None) -> dict[str, Any]:
    choices = [option(recontact_label(t, c), c) for c in RecontactChoice]
    return {
        "type": "modal",
        "callback_id": CallbackId.RECONTACT,
        "private_metadata": json.dumps({"review": review.id, "message": list(message) if message else None}),
        "title": plain(t._("Re-contact"), 24),
        "submit": plain(t._("Save"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": [
            section(
                t._(
                    "What did the customer say about *{deal}*? Their own words, as close as you can.",
                    deal=escape(review.deal_name),
                )
            ),
            input_block(
                BlockId.CUSTOMER_SAID,
                t._("What the customer said"),
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
