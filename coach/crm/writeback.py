"""What a finished review writes back to the CRM: a note on the deal, and the lost reason if it had none.

Pure builders (no network): HTML for HubSpot's note body (`hs_note_body` takes simple HTML), in the team's
language. An unshared review under CRM_WRITE_BACK=shared writes only a neutral marker: nothing the rep
kept to themselves reaches the CRM.
"""

from __future__ import annotations

from html import escape

from coach.i18n import Translator
from coach.models import Review
from coach.review.labels import change_label, lens_label, surface_label, underlying_label, verdict_label
from coach.review.rules import Lens

MAX_NOTE_CHARACTERS = 60_000  # HubSpot caps a note's body at 65,536


def _p(title: str, body: str) -> str:
    return f"<p><strong>{escape(title)}</strong><br>{body}</p>"


def _strong(title: str) -> str:
    return f"<p><strong>{escape(title)}</strong></p>"


def _plain(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _text(value: str | None) -> str:
    return escape(value or "").replace("\n", "<br>")


def note_html(t: Translator, review: Review) -> str:
    """The review's summary: stated vs underlying reasons, the four lenses, the one change, the customer's words."""
    surface = surface_label(t, review.surface_reason)
    if review.competitor:
        surface += f" ({review.competitor})"
    reasons = "".join(
        f"<li>{escape(underlying_label(t, r.code)) if r.code else _text(r.text)}</li>" for r in review.reasons
    )
    lenses = []
    for lens in Lens:
        verdict = verdict_label(t, getattr(review, f"{lens}_verdict"))
        note = getattr(review, f"{lens}_note")
        line = f"{escape(lens_label(t, lens))}: {escape(verdict)}"
        if note:
            line += f" — {_text(note)}"
        if lens is Lens.DECISION and review.decision_maker:
            line += " · " + escape(t._("final call: {who}", who=review.decision_maker))
        lenses.append(f"<li>{line}</li>")
    change = change_label(t, review.change_code) if review.change_code else review.change_text
    day = t.date(review.completed_at.astimezone(t.tz).date())
    parts = [
        _strong(t._("Lost-deal review from Lost-Deal Coach")),
        _p(t._("Stated reason"), escape(surface)),
        _strong(t._("Underlying reasons")) + f"<ul>{reasons}</ul>",
        _strong(t._("The four lenses")) + f"<ul>{''.join(lenses)}</ul>",
        _p(t._("The one change for your next meeting"), _text(change)),
        _p(t._("The customer's words"), _text(review.customer_words)),
        _plain(t._("Reviewed on {date}.", date=day)),
    ]
    html = "".join(parts)
    return html if len(html) <= MAX_NOTE_CHARACTERS else html[: MAX_NOTE_CHARACTERS - 1] + "…"


def marker_html(t: Translator, review: Review) -> str:
    """Neutral: that the loss was reviewed, and when; nothing from the review itself."""
    day = t.date(review.completed_at.astimezone(t.tz).date())
    return _plain(t._("This loss was reviewed in Lost-Deal Coach on {date}.", date=day))


def lost_reason_value(t: Translator, review: Review) -> str:
    """For the deal's lost-reason property when the CRM has none: the stated (surface) reason."""
    value = surface_label(t, review.surface_reason)
    return f"{value} ({review.competitor})" if review.competitor else value
