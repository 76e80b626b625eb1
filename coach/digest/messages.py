"""Short replies for `/lost digest` and `/lost export`. Pure."""

from __future__ import annotations

from coach.blockkit import escape
from coach.i18n import Translator


def no_manager_channel_text(t: Translator) -> str:
    return t._(
        "The managers' digest goes to the managers' channel, and none is set up yet. "
        "Ask your Slack admin to set MANAGER_CHANNEL (and invite the app there)."
    )


def digest_refused_text(t: Translator) -> str:
    return t._(
        "Sorry, the team digest is for sales managers. Your own reviews and patterns are on the app's "
        "Home tab, and `/lost export` sends you your reviews as a CSV."
    )


def could_not_check_text(t: Translator) -> str:
    return t._("Sorry, I couldn't check the managers' channel just now. Please try again in a moment.")


def digest_on_its_way_text(t: Translator, channel: str) -> str:
    return t._("The digest of the last 7 days is on its way to <#{channel}>.", channel=channel)


def digest_failed_text(t: Translator, error: str) -> str:
    return t._(
        "Sorry, the digest could not be posted to the managers' channel ({error}). Is the app invited there?",
        error=escape(error),
    )


def export_usage_text(t: Translator) -> str:
    return t._("Use `/lost export` for the last 30 days, or `/lost export 90` for another number of days (1 to 366).")


def export_on_its_way_text(t: Translator, days: int, *, team: bool) -> str:
    if team:
        return t._(
            "Preparing a CSV of your team's reviews from the last {days} days. It will arrive in your DM with me.",
            days=days,
        )
    return t._(
        "Preparing a CSV of your reviews from the last {days} days. It will arrive in your DM with me.", days=days
    )


def export_own_only_text(t: Translator) -> str:
    return t._(
        "I couldn't check the managers' channel just now, so this export holds only your own reviews. "
        "Managers: try `/lost export` again in a minute for the team's."
    )


def export_title(t: Translator, days: int, *, team: bool) -> str:
    if team:
        return t._("Team's lost-deal reviews, last {days} days", days=days)
    return t._("My lost-deal reviews, last {days} days", days=days)


def export_comment(t: Translator, count: int, days: int, *, team: bool) -> str:
    if team:
        return t._("Your team's {count} reviews from the last {days} days, one row each.", count=count, days=days)
    return t._("Your {count} reviews from the last {days} days, one row each.", count=count, days=days)


def export_empty_text(t: Translator, days: int) -> str:
    return t._("No reviews were finished in the last {days} days, so there is nothing to export.", days=days)


def export_maybe_failed_text(t: Translator, error: str) -> str:
    return t._(
        "Slack had a problem while sending the CSV ({error}), so it may not have arrived. If it is not "
        "in this DM, please try `/lost export` again in a moment.",
        error=escape(error),
    )


def export_failed_text(t: Translator, error: str) -> str:
    return t._("Sorry, the CSV could not be sent ({error}). Please try again later.", error=escape(error))
