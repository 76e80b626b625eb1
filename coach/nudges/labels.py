"""The self-check's vocabulary: what each answer is called, and its mark, in the rep's language."""

from __future__ import annotations

from coach.i18n import Translator
from coach.nudges.rules import Activity, KeptChange, Reaction, RepeatedMistake

KEPT_MARK = {KeptChange.YES: ":white_check_mark:", KeptChange.PARTLY: ":large_yellow_circle:", KeptChange.NO: ":x:"}


def repeated_label(t: Translator, value: str) -> str:
    return {RepeatedMistake.YES: t._("Yes, I did"), RepeatedMistake.NO: t._("No, I didn't")}.get(value, value)


def kept_label(t: Translator, value: str) -> str:
    return {
        KeptChange.YES: t._("Kept it"),
        KeptChange.PARTLY: t._("Partly kept it"),
        KeptChange.NO: t._("Not yet"),
    }.get(value, value)


def reaction_label(t: Translator, value: str) -> str:
    return {Reaction.BETTER: t._("Better"), Reaction.SAME: t._("No change"), Reaction.WORSE: t._("Worse")}.get(
        value, value
    )


def activity_label(t: Translator, activity: str) -> str:
    """The three counts of a week (METHOD §5): 商談数, アポ数, 新規開拓数."""
    return {
        Activity.MEETINGS: t._("Customer meetings"),
        Activity.APPOINTMENTS: t._("Appointments booked"),
        Activity.PROSPECTS: t._("New prospects approached"),
    }.get(activity, activity)
