"""The rep's Home tab: start a review, resume a draft, recent reviews. Pure builder."""

from __future__ import annotations

from typing import Any

from coach.blockkit import button, context, divider, escape, header, section
from coach.i18n import Translator
from coach.models import Review, ReviewDraft
from coach.review.messages import one_change
from coach.review.views import surface_label
from coach.slack.ids import ActionId, BlockId


def home_view(t: Translator, draft: ReviewDraft | None, recent: list[Review]) -> dict[str, Any]:
    actions = [button(t._("Review a lost deal"), ActionId.START_REVIEW, style="primary")]
    blocks: list[dict[str, Any]] = [
        header(t._("Lost-Deal Coach")),
        section(t._("A loss is structural, not luck. Review it within 24 hours, find at least three underlying "
                    "reasons, and change exactly one thing in your next meeting.")),
    ]
    if draft is not None:
        deal = draft.answers.get("deal_name")
        blocks.append(section(t._(":pencil: Unfinished review: *{deal}*, started {started}",
                                  deal=escape(deal) if deal else t._("an unnamed deal"),
                                  started=t.datetime(draft.started_at))))
        actions.append(button(t._("Resume"), ActionId.RESUME_DRAFT, value=str(draft.id)))
    blocks.append({"type": "actions", "block_id": BlockId.HOME_ACTIONS, "elements": actions})
    blocks.append(divider())
    if recent:
        blocks.append(section("*" + t._("Your recent reviews") + "*"))
        for review in recent:
            blocks.append(section(
                f"*{escape(review.deal_name)}* · {t.date(review.lost_on)} · {surface_label(t, review.surface_reason)}\n"
                f":dart: {escape(one_change(t, review))}"))
    else:
        blocks.append(context(t._("No reviews yet. Type `/lost` after your next lost deal.")))
    return {"type": "home", "blocks": blocks}
