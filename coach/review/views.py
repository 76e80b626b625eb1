"""The review modals: pure functions from a draft's answers to Block Kit views."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coach.blockkit import button, context, escape, input_block, option, plain, section, text_input
from coach.i18n import Translator
from coach.review import rules, selfdenial
from coach.review.labels import (
    change_label,
    lens_label,
    recontact_label,
    surface_label,
    underlying_label,
    verdict_label,
)
from coach.review.rules import (
    ChangeSuggestion,
    Field,
    Lens,
    RecontactChoice,
    Step,
    SurfaceReason,
    Verdict,
)
from coach.slack.ids import ActionId, BlockId, CallbackId


def lens_question(t: Translator, lens: Lens) -> str:
    return {
        # Worded so that the verdict answers them: Yes / Partly / No (できていた / 一部できていた / できていなかった).
        Lens.PROBLEM: t._("Did discovery get to a problem the customer really had?"),
        Lens.VALUE: t._("Could we say why us, beyond price?"),
        Lens.RELATIONSHIP: t._("Had we built trust?"),
        Lens.DECISION: t._("Did we know who made the final call, and how they decide?"),
    }[lens]


def step_title(t: Translator, step: Step) -> str:
    return {
        Step.FACTS: t._("Facts, not feelings"),
        Step.LENSES: t._("The four lenses"),
        Step.REASONS: t._("Underlying reasons"),
        Step.COMMIT: t._("Change one thing"),
    }[step]


def feelings_line(t: Translator) -> str:
    """The review's first words (落ち込む時間に期限を決める): feelings are allowed, with a deadline."""
    return t._("Feeling low after a loss is normal. Give it a deadline: today. Tomorrow, start again from the facts.")


def self_denial_reframe(t: Translator) -> str:
    return t._(
        "A loss is data, not a verdict on you: your bet on *who* to talk to, *what* to offer and *how* to put it "
        "didn't fit this time. Owning a loss means finding what to change; running yourself down only makes you "
        "do less. Let's look at what happened."
    )


def rephrase_before_sharing(t: Translator, phrase: str) -> str:
    """Before a verdict on oneself reaches the managers' channel: the offer to say it as facts."""
    return t._(
        "Before this goes to your manager: “{phrase}” is a verdict on you, not a fact. Your manager can help more "
        "with what happened: what you asked, what the customer said. Rephrase it as facts, or save to share it as is.",
        phrase=escape(phrase),
    )


def make_it_the_one_change(t: Translator, phrase: str) -> str:
    """A specific, fixable skill (自責): not a reframe, an invitation to make it the one change."""
    return t._(
        "You named a skill to work on: “{phrase}”. That's owning it, and it's fixable. Make it your one change.",
        phrase=escape(phrase),
    )


def coaching_block(t: Translator, step: Step, answers: Mapping[Field, Any]) -> dict[str, Any] | None:
    """At most one short coaching section per step: the reframe once in the whole form (on the step after the
    first self-denial), and on the last step the offer to rephrase before sharing (with a button to the step
    that holds the words), or the nudge to make a named skill the one change."""
    parts = []
    rephrase_on: Step | None = None
    if rules.reframe_step(answers) is step:
        parts.append(":seedling: " + self_denial_reframe(t))
    if step is rules.STEPS[-1]:
        texts = [answers.get(f) for f in rules.REFLECTIVE_FIELDS]
        denial = selfdenial.first_finding(selfdenial.Reading.SELF_DENIAL, *texts)
        critique = selfdenial.first_finding(selfdenial.Reading.SELF_CRITIQUE, *texts)
        if denial:
            parts.append(":pencil2: " + rephrase_before_sharing(t, denial.phrase))
            rephrase_on = rules.self_denial_step(answers)
        elif critique:
            parts.append(":dart: " + make_it_the_one_change(t, critique.phrase))
    if not parts:
        return None
    block = {**section("\n\n".join(parts)), "block_id": BlockId.COACHING}
    if rephrase_on is not None and rephrase_on is not step:
        block["accessory"] = button(t._("Rephrase it"), ActionId.REPHRASE, value=str(rephrase_on))
    return block


def problem_text(t: Translator, error: rules.FieldError) -> str:
    P = rules.Problem
    return {
        P.REQUIRED: t._("Please fill this in."),
        P.TOO_LONG: t._("Please keep this under {limit} characters.", limit=error.limit),
        P.NOT_A_NUMBER: t._("Please enter the deal size as a number."),
        P.NEGATIVE: t._("The deal size can't be negative."),
        P.TOO_LARGE: t._("That deal size is too large to record."),
        P.LOST_IN_FUTURE: t._("The date lost can't be in the future."),
        P.LOST_TOO_LONG_AGO: t._("Please pick a date within the last {limit} years.", limit=error.limit),
        P.COMPETITOR_REQUIRED: t._("Which competitor won? Name them so the comparison can be reviewed."),
        P.FEWER_THAN_THREE_REASONS: t._(
            "Name at least {limit} underlying reasons (ticked here plus your own, one per line). "
            "A loss is never down to one thing.",
            limit=error.limit,
        ),
        P.NO_CHANGE: t._("Choose the one thing you will change, or write it in your own words."),
        P.OWN_WORDS_REQUIRED: t._("Write your one change here, or pick one of the suggestions above."),
        P.SUGGESTION_AND_OWN_WORDS: t._(
            "You picked a suggestion above. To use your own words instead, choose “In my own words "
            "(below)”; to keep the suggestion, clear this text."
        ),
        P.MORE_THAN_ONE_CHANGE: t._(
            "Exactly one change, please: one item, not a list. Trying to fix everything changes nothing."
        ),
        P.MEETING_IN_PAST: t._("Your next meeting must be in the future."),
        P.MEETING_TOO_FAR: t._("Please pick a meeting within the next {limit} days.", limit=error.limit),
        P.RECONTACT_DATE_REQUIRED: t._("Pick the re-contact date."),
        P.RECONTACT_NOT_IN_FUTURE: t._("The re-contact date must be in the future."),
        P.RECONTACT_TOO_FAR: t._("Please pick a re-contact date within the next {limit} years.", limit=error.limit),
        P.UNKNOWN_CHOICE: t._("Please pick one of the options."),
    }[error.problem]


def errors_payload(t: Translator, errors: list[rules.FieldError]) -> dict[str, str]:
    """`response_action: errors` body: block id → message in the rep's language."""
    return {str(e.field): problem_text(t, e) for e in errors}


def _meta(t: Translator, step: Step, draft_id: int) -> str:
    # The rep's language and zone travel with the modal, so a submission is answered without asking
    # Slack who the rep is (users.info can take seconds; Slack waits 3).
    meta: dict[str, Any] = {"step": str(step), "draft": draft_id, "lang": t.lang}
    if getattr(t.tz, "key", None):
        meta["tz"] = t.tz.key
    return json.dumps(meta, separators=(",", ":"))


def parse_meta(private_metadata: str | None) -> tuple[Step, int] | None:
    try:
        meta = json.loads(private_metadata or "")
        return Step(meta["step"]), int(meta["draft"])
    except (ValueError, KeyError, TypeError):
        return None


def parse_meta_locale(private_metadata: str | None) -> tuple[str, ZoneInfo] | None:
    """The rep's language and time zone as the review modal was opened with, if it carries them."""
    try:
        meta = json.loads(private_metadata or "")
        lang, tz = meta["lang"], meta["tz"]
        if not isinstance(lang, str) or not isinstance(tz, str):
            return None
        return lang, ZoneInfo(tz)
    except (ValueError, KeyError, TypeError, AttributeError, ZoneInfoNotFoundError):
        return None


def review_step_view(
    t: Translator,
    step: Step,
    draft_id: int,
    answers: Mapping[Field, Any],
    *,
    today: date,
    errors: Sequence[rules.FieldError] = (),
    link: str | None = None,
) -> dict[str, Any]:
    """One step of the review. `errors` (from a final check) are shown in the view itself, under their fields.
    `link` is the deal in the CRM that reported the loss, shown with the facts."""
    index = rules.STEPS.index(step)
    last = index == len(rules.STEPS) - 1
    blocks: list[dict[str, Any]] = [
        context(t._("Step {n} of {total} · *{title}*", n=index + 1, total=len(rules.STEPS), title=step_title(t, step))),
    ]
    if link and step is Step.FACTS and len(link) <= 2000:
        label = t._("Open the deal in your CRM")
        blocks.append(context(f"<{link}|{label}>"))
    if errors:
        blocks.append(
            section(":warning: " + t._("Before the review can be saved, please fix what is marked below on this step."))
        )
    coaching = coaching_block(t, step, answers)
    if coaching:
        blocks.append(coaching)
    step_blocks = _STEP_BLOCKS[step](t, answers, today)
    if errors:
        step_blocks = _with_errors(t, step_blocks, errors)
    blocks += step_blocks
    if index > 0:
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.NAVIGATION,
                "elements": [button(t._("Back"), ActionId.BACK, value=str(step))],
            }
        )
    return {
        "type": "modal",
        "callback_id": CallbackId.REVIEW_STEP,
        "private_metadata": _meta(t, step, draft_id),
        "notify_on_close": True,
        "title": plain(t._("Lost deal review"), 24),
        "submit": plain(t._("Save review") if last else t._("Next"), 24),
        "close": plain(t._("Later"), 24),
        "blocks": blocks,
    }


def _with_errors(
    t: Translator, blocks: list[dict[str, Any]], errors: Sequence[rules.FieldError]
) -> list[dict[str, Any]]:
    """A context line with each problem right under its input (a view update can't show Slack's inline errors)."""
    by_block = {str(e.field): problem_text(t, e) for e in errors}
    out: list[dict[str, Any]] = []
    for block in blocks:
        out.append(block)
        message = by_block.pop(block.get("block_id"), None) if block.get("type") == "input" else None
        if message:
            out.append(context(":warning: " + message))
    for message in by_block.values():  # a field this step doesn't show: still say what is wrong
        out.append(context(":warning: " + message))
    return out


def _text(
    field: Field, answers: Mapping[Field, Any], *, multiline: bool = False, placeholder: str | None = None
) -> dict[str, Any]:
    value = answers.get(field)
    return text_input(
        field,
        rules.MAX_LENGTH[field],
        initial=value if isinstance(value, str) else None,
        multiline=multiline,
        placeholder=placeholder,
    )


def _radio(field: Field, options: list[dict[str, Any]], selected: str | None) -> dict[str, Any]:
    el: dict[str, Any] = {"type": "radio_buttons", "action_id": field, "options": options}
    chosen = next((o for o in options if o["value"] == selected), None)
    if chosen:
        el["initial_option"] = chosen
    return el


def _facts_blocks(t: Translator, a: Mapping[Field, Any], today: date) -> list[dict[str, Any]]:
    surface_options = [option(surface_label(t, r), r) for r in SurfaceReason]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": Field.SURFACE_REASON,
        "placeholder": plain(t._("What the customer gave as the reason")),
        "options": surface_options,
    }
    chosen = next((o for o in surface_options if o["value"] == a.get(Field.SURFACE_REASON)), None)
    if chosen:
        select["initial_option"] = chosen
    size: dict[str, Any] = {
        "type": "number_input",
        "action_id": Field.DEAL_SIZE,
        "is_decimal_allowed": True,
        "min_value": "0",
    }
    if a.get(Field.DEAL_SIZE) not in (None, ""):
        size["initial_value"] = str(a[Field.DEAL_SIZE])
    lost_on = a.get(Field.LOST_ON) or today
    return [
        # One section, as before: the feelings line opens the review without making the step longer.
        section(
            ":seedling: "
            + feelings_line(t)
            + "\n"
            + t._("Below, write down only what happened, no verdicts, while memory is fresh: the first 24 hours count.")
        ),
        input_block(Field.DEAL_NAME, t._("Deal / customer"), _text(Field.DEAL_NAME, a)),
        input_block(Field.DEAL_SIZE, t._("Deal size"), size, optional=True),
        input_block(
            Field.LOST_ON,
            t._("Date lost"),
            {"type": "datepicker", "action_id": Field.LOST_ON, "initial_date": lost_on.isoformat()},
        ),
        input_block(
            Field.SURFACE_REASON,
            t._("Stated reason"),
            select,
            hint=t._("The reason as the customer gave it. The underlying reasons come later."),
        ),
        input_block(
            Field.COMPETITOR,
            t._("Competitor that won"),
            _text(Field.COMPETITOR, a),
            optional=True,
            hint=t._("Only if the customer went with a competitor."),
        ),
        input_block(
            Field.TIMELINE,
            t._("Timeline of the deal"),
            _text(Field.TIMELINE, a, multiline=True, placeholder=t._("Each meeting and step in order, with dates")),
        ),
        input_block(
            Field.CUSTOMER_WORDS,
            t._("The customer's words"),
            _text(Field.CUSTOMER_WORDS, a, multiline=True, placeholder=t._("As close to verbatim as you can recall")),
        ),
        input_block(
            Field.REACTION_CHANGE,
            t._("Where did the customer's reaction change?"),
            _text(Field.REACTION_CHANGE, a, multiline=True),
        ),
        input_block(
            Field.FAILED_QUESTION,
            t._("Which question failed to draw out the real need?"),
            _text(Field.FAILED_QUESTION, a, multiline=True),
        ),
    ]


def _lenses_blocks(t: Translator, a: Mapping[Field, Any], today: date) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [section(t._("Break the loss down. Judge each lens on the facts you wrote."))]
    verdicts = [option(verdict_label(t, v), v) for v in Verdict]
    for lens, (verdict_field, note_field) in rules.LENS_FIELDS.items():
        blocks.append(
            input_block(
                verdict_field,
                t._("{lens}: {question}", lens=lens_label(t, lens), question=lens_question(t, lens)),
                _radio(verdict_field, verdicts, a.get(verdict_field)),
            )
        )
        if lens is Lens.DECISION:
            blocks.append(
                input_block(
                    Field.DECISION_MAKER, t._("Who made the final call?"), _text(Field.DECISION_MAKER, a), optional=True
                )
            )
        blocks.append(
            input_block(
                note_field,
                t._("{lens}: note", lens=lens_label(t, lens)),
                _text(note_field, a, multiline=True),
                optional=True,
            )
        )
    return blocks


def _reasons_blocks(t: Translator, a: Mapping[Field, Any], today: date) -> list[dict[str, Any]]:
    surface = a.get(Field.SURFACE_REASON)
    surface_enum = SurfaceReason(surface) if surface in SurfaceReason.__members__.values() else None
    hints = rules.HINTS.get(surface_enum, ()) if surface_enum else ()
    options = [
        option(underlying_label(t, r), r, t._("Often behind this stated reason") if r in hints else None)
        for r in rules.underlying_catalogue(surface_enum)
    ]
    options.append(option(t._("Reasons of my own (below)"), rules.OWN_REASONS))
    checkboxes: dict[str, Any] = {"type": "checkboxes", "action_id": Field.UNDERLYING_CODES, "options": options}
    ticked = set(a.get(Field.UNDERLYING_CODES) or [])
    if rules.own_reason_lines(a.get(Field.UNDERLYING_OWN)):
        ticked.add(rules.OWN_REASONS)  # own reasons written: show "of my own" ticked
    selected = [o for o in options if o["value"] in ticked]
    if selected:
        checkboxes["initial_options"] = selected
    intro = t._(
        "Stated reason: *{reason}*. A loss never comes down to one line: name at least 3 underlying reasons.",
        reason=surface_label(t, surface) if surface else "-",
    )
    return [
        section(intro),
        input_block(
            Field.UNDERLYING_CODES,
            t._("Underlying reasons"),
            checkboxes,
            hint=t._(
                "The usual ones behind your stated reason come first. You decide. Reasons of your own: tick the "
                "last box and write them below."
            ),
        ),
        input_block(
            Field.UNDERLYING_OWN,
            t._("Your own underlying reasons"),
            _text(Field.UNDERLYING_OWN, a, multiline=True, placeholder=t._("One per line")),
            optional=True,
            hint=t._("Ticked plus your own must make at least 3."),
        ),
    ]


def _commit_blocks(t: Translator, a: Mapping[Field, Any], today: date) -> list[dict[str, Any]]:
    changes = [option(change_label(t, c), c) for c in (*ChangeSuggestion, rules.OWN_WORDS)]
    chosen_change = a.get(Field.CHANGE_CODE)
    if not chosen_change and isinstance(a.get(Field.CHANGE_OWN), str) and a[Field.CHANGE_OWN].strip():
        chosen_change = rules.OWN_WORDS  # written in own words without picking: show it picked
    meeting: dict[str, Any] = {"type": "datetimepicker", "action_id": Field.NEXT_MEETING_AT}
    if a.get(Field.NEXT_MEETING_AT):
        meeting["initial_date_time"] = int(a[Field.NEXT_MEETING_AT].timestamp())
    surface = a.get(Field.SURFACE_REASON)
    default_choice = rules.default_recontact(
        SurfaceReason(surface) if surface in SurfaceReason.__members__.values() else None
    )
    recontact = [option(recontact_label(t, c), c) for c in RecontactChoice]
    recontact_on: dict[str, Any] = {"type": "datepicker", "action_id": Field.RECONTACT_ON}
    if a.get(Field.RECONTACT_ON):
        recontact_on["initial_date"] = a[Field.RECONTACT_ON].isoformat()
    share_option = option(t._("Share this review with my manager"), "yes")
    share: dict[str, Any] = {"type": "checkboxes", "action_id": Field.SHARE_WITH_MANAGER, "options": [share_option]}
    if a.get(Field.SHARE_WITH_MANAGER, True):
        share["initial_options"] = [share_option]
    return [
        section(
            t._("Trying to fix everything changes nothing. Choose *exactly one* thing to change in your next meeting.")
        ),
        input_block(Field.CHANGE_CODE, t._("The one change"), _radio(Field.CHANGE_CODE, changes, chosen_change)),
        input_block(
            Field.CHANGE_OWN,
            t._("…or in your own words"),
            _text(Field.CHANGE_OWN, a),
            optional=True,
            hint=t._("Only with “In my own words (below)” above: one change, in one line."),
        ),
        input_block(
            Field.NEXT_MEETING_AT,
            t._("Your next sales meeting (any customer)"),
            meeting,
            optional=True,
            hint=t._(
                "You'll get the prep list the day before and your one change shortly before it. Not booked yet? "
                "Leave it empty: in two business days I'll remind you to book one."
            ),
        ),
        input_block(
            Field.RECONTACT_CHOICE,
            t._("Re-contact this customer"),
            _radio(Field.RECONTACT_CHOICE, recontact, a.get(Field.RECONTACT_CHOICE) or default_choice),
            hint=t._(
                "A lost deal is a future opportunity. Keep the door open. Six months and one year "
                "count from the date lost, or from today if that date has already passed."
            ),
        ),
        input_block(
            Field.RECONTACT_ON,
            t._("Re-contact date"),
            recontact_on,
            optional=True,
            hint=t._("Only when you chose a date."),
        ),
        input_block(Field.SHARE_WITH_MANAGER, t._("Share"), share, optional=True),
    ]


_STEP_BLOCKS = {
    Step.FACTS: _facts_blocks,
    Step.LENSES: _lenses_blocks,
    Step.REASONS: _reasons_blocks,
    Step.COMMIT: _commit_blocks,
}


def resume_view(
    t: Translator,
    draft_id: int,
    deal_name: str | None,
    started: str,
    prefill: str | None = None,
    crm_loss: int | None = None,
) -> dict[str, Any]:
    """Resume or start fresh; `prefill` is the deal named in `/lost <deal>`, kept for a fresh start;
    `crm_loss` the CRM loss whose review a fresh start begins."""
    deal = escape(deal_name) if deal_name else t._("an unnamed deal")
    meta: dict[str, Any] = {"draft": draft_id}
    if prefill:
        meta["deal"] = prefill[: rules.MAX_LENGTH[Field.DEAL_NAME]]
    if crm_loss is not None:
        meta["crm_loss"] = crm_loss
    return {
        "type": "modal",
        "callback_id": CallbackId.RESUME_CHOICE,
        "private_metadata": json.dumps(meta, ensure_ascii=False),
        "title": plain(t._("Lost deal review"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": [
            section(
                t._(
                    "You have an unfinished review of *{deal}*, started {started}. Nothing you typed was lost.",
                    deal=deal,
                    started=started,
                )
            ),
            {
                "type": "actions",
                "block_id": BlockId.RESUME,
                "elements": [
                    button(t._("Resume"), ActionId.RESUME_DRAFT, value=str(draft_id), style="primary"),
                    button(t._("Start fresh"), ActionId.START_FRESH, value=str(draft_id)),
                ],
            },
        ],
    }


def parse_resume_meta(private_metadata: str | None) -> str | None:
    """The deal name to prefill on a fresh start, if any."""
    try:
        deal = json.loads(private_metadata or "").get("deal")
    except (ValueError, AttributeError):
        return None
    return deal if isinstance(deal, str) else None


def parse_resume_crm_loss(private_metadata: str | None) -> int | None:
    """The CRM loss a fresh start begins the review of, if the choice came from its button."""
    try:
        loss = json.loads(private_metadata or "").get("crm_loss")
    except (ValueError, AttributeError):
        return None
    return loss if isinstance(loss, int) and not isinstance(loss, bool) else None


def submission_failed_text(t: Translator) -> str:
    """Shown on the open modal when answering its submission failed on our side: what was typed stays."""
    return t._(
        "Sorry, something went wrong on our side. Nothing you typed is lost: please press the button again in a moment."
    )


def opening_view(t: Translator, external_id: str | None = None, text: str | None = None) -> dict[str, Any]:
    """A review modal as it opens: shown at once, in the language known so far, and filled in a moment
    later (`views.update`) with the rep's draft (or `text`'s subject) in their own language."""
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": CallbackId.OPENING,
        "title": plain(t._("Lost deal review"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": [section(":hourglass_flowing_sand: " + (text or t._("Opening your review…")))],
    }
    if external_id:
        view["external_id"] = external_id
    return view


def form_too_late_message(t: Translator, draft_id: int) -> tuple[str, list[dict[str, Any]]]:
    """The DM for a rep whose review form could not open in Slack's 3 seconds: one tap opens it."""
    text = t._("Sorry, the review form didn't open in time. Your draft is kept: open it here.")
    blocks = [
        section(text),
        {
            "type": "actions",
            "block_id": BlockId.OPEN_FORM,
            "elements": [
                button(t._("Open the review form"), ActionId.RESUME_DRAFT, value=str(draft_id), style="primary")
            ],
        },
    ]
    return text, blocks


def error_view(t: Translator) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.ERROR,
        "title": plain(t._("Lost deal review"), 24),
        "close": plain(t._("Close"), 24),
        "blocks": [
            section(
                t._(
                    "Sorry, something went wrong on our side. Your answers are kept as a draft: type `/lost` to "
                    "pick up where you left off."
                )
            )
        ],
    }
