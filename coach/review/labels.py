"""The review's vocabulary: what each stored code is called, in the rep's language.

The form, the summary, the Home, the digest, the export and the nudges all
name reasons, lenses, verdicts and changes the same way: from here.
"""

from __future__ import annotations

from coach.i18n import Translator
from coach.review import rules
from coach.review.rules import ChangeSuggestion, Lens, RecontactChoice, SurfaceReason, UnderlyingReason, Verdict

VERDICT_MARK = {
    Verdict.HELD: ":large_green_circle:",
    Verdict.PARTLY: ":large_yellow_circle:",
    Verdict.MISSED: ":red_circle:",
}


def surface_label(t: Translator, reason: str) -> str:
    return {
        SurfaceReason.PRICE: t._("Price was too high"),
        SurfaceReason.TIMING: t._("Bad timing"),
        SurfaceReason.COMPETITOR: t._("Went with a competitor"),
        SurfaceReason.STILL_CONSIDERING: t._("Still considering"),
        SurfaceReason.NO_DECISION: t._("No decision was made"),
        SurfaceReason.OTHER: t._("Other"),
    }.get(reason, reason)


def underlying_label(t: Translator, code: str) -> str:
    return {
        UnderlyingReason.VALUE_NOT_CONVEYED: t._("Our value did not come across"),
        UnderlyingReason.LOW_PRIORITY: t._("It was a low priority for the customer"),
        UnderlyingReason.NO_COMPARISON_AXIS: t._("We never shaped the buying criteria"),
        UnderlyingReason.REAL_PROBLEM_NOT_HEARD: t._("Discovery never got to the customer's real problem"),
        UnderlyingReason.PRODUCT_BEFORE_PROBLEM: t._("We explained the product before the problem"),
        UnderlyingReason.DECISION_PROCESS_UNKNOWN: t._("We didn't know the decision process"),
        UnderlyingReason.NOT_IN_COMPARISON: t._("We never made the shortlist"),
    }.get(code, code)


def lens_label(t: Translator, lens: Lens) -> str:
    return {
        Lens.PROBLEM: t._("Problem"),
        Lens.VALUE: t._("Value"),
        Lens.RELATIONSHIP: t._("Relationship"),
        Lens.DECISION: t._("Decision"),
    }[lens]


# The lens verdicts answer the lens questions: Yes / Partly / No (できていた / 一部できていた / できていなかった).
# The stored codes stay held / partly / missed, so every saved review reads the same. A gettext context keeps
# this "Yes" apart from the export's "Yes" (はい); pybabel needs it as a literal.


def verdict_label(t: Translator, verdict: str) -> str:
    return {
        Verdict.HELD: t.pgettext("lens verdict", "Yes"),
        Verdict.PARTLY: t.pgettext("lens verdict", "Partly"),
        Verdict.MISSED: t.pgettext("lens verdict", "No"),
    }.get(verdict, verdict)


def deal_in_line(t: Translator, escaped_name: str, *, bold: bool = False) -> str:
    """A deal's name (already escaped) inside a line of text: as is or bold in English, in 「」 in Japanese."""
    # Translators: a deal's name inside a line of text; Japanese puts it in 「」.
    return t._("*{deal}*", deal=escaped_name) if bold else t._("{deal}", deal=escaped_name)


def change_label(t: Translator, code: str) -> str:
    return {
        ChangeSuggestion.QUESTION_ORDER: t._("Change only the order of my questions"),
        ChangeSuggestion.FIRST_FIVE_MINUTES: t._("Change how the first five minutes go"),
        ChangeSuggestion.CONFIRM_DECISION_MAKER: t._("Always confirm the decision maker"),
        rules.OWN_WORDS: t._("In my own words (below)"),
    }.get(code, code)


def recontact_label(t: Translator, choice: str) -> str:
    return {
        RecontactChoice.SIX_MONTHS: t._("In six months"),
        RecontactChoice.ONE_YEAR: t._("In one year"),
        RecontactChoice.DATE: t._("On a date I choose"),
    }.get(choice, choice)
