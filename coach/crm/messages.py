"""What the rep and the manager read about CRM losses (pure Block Kit builders)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from coach.blockkit import button, context, escape, section
from coach.i18n import Translator
from coach.models import CrmLoss
from coach.slack.ids import ActionId, BlockId

REVIEW_WITHIN = timedelta(hours=24)


def crm_name(t: Translator, source: str) -> str:
    return "HubSpot" if source == "hubspot" else t._("your CRM")


def deal_title(t: Translator, loss: CrmLoss) -> str:
    return loss.deal_name or t._("Deal {id}", id=loss.deal_id)


def money(t: Translator, amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None:
        return None
    return f"{t.amount(amount)} {currency}" if currency else t.amount(amount)


def prompt_message(t: Translator, loss: CrmLoss, *, now: datetime) -> tuple[str, list[dict[str, Any]]]:
    """The DM when the CRM records a loss: a kind opening, the deal, and one button into the review."""
    deal = escape(deal_title(t, loss))
    crm = crm_name(t, loss.source)
    facts = [t._("Lost {when}", when=t.datetime(loss.closed_at))]
    size = money(t, loss.amount, loss.currency)
    if size:
        facts.insert(0, escape(size))
    if loss.url:
        label = t._("Open the deal in {crm}", crm=crm)
        facts.append(f"<{loss.url}|{label}>")
    deadline = loss.closed_at + REVIEW_WITHIN
    by = t.datetime(deadline)
    when = (
        t._("Review it by {deadline}, within 24 hours of the loss, while memory is fresh.", deadline=by)
        if deadline > now
        else t._("The 24 hours have passed, but a review is still worth it: memory fades, facts stay.")
    )
    blocks = [
        section(
            t._(
                "*{deal}* was marked lost in {crm}. It stings, and it's fine to feel it today. "
                "Tomorrow, facts: a short review turns this loss into analysis, not self-reproach.",
                deal=deal,
                crm=crm,
            )
        ),
        context(" · ".join(facts)),
        section(when),
        {
            "type": "actions",
            "block_id": BlockId.CRM_PROMPT,
            "elements": [
                button(t._("Review this loss"), ActionId.CRM_REVIEW_LOSS, value=str(loss.id), style="primary")
            ],
        },
    ]
    text = t._("{deal} was marked lost in {crm}. Review this loss within 24 hours.", deal=deal, crm=crm)
    return text, blocks


def waiting_blocks(t: Translator, losses: list[CrmLoss], total: int) -> list[dict[str, Any]]:
    """The manager's Home: losses no rep could be found for in Slack (nothing is dropped)."""
    if not total:
        return []
    lines = []
    for loss in losses:
        who = escape(loss.owner_email) if loss.owner_email else t._("no owner in the CRM")
        name = escape(deal_title(t, loss))
        name = f"<{loss.url}|{name}>" if loss.url else name
        lines.append(f"• {name} · {t.date(loss.closed_at.astimezone(t.tz).date())} · {who}")
    more = total - len(losses)
    if more > 0:
        lines.append(t._("…and {n} more", n=more))
    return [
        section(
            "*"
            + t._("Losses waiting for a rep ({n})", n=total)
            + "*\n"
            + t._("The CRM reported these losses, but their owner has no active Slack account the app could find:")
            + "\n"
            + "\n".join(lines)
        ),
    ]
