"""The managers' digest as Block Kit messages. Pure builders: data in, JSON out.

The digest is a list of sections (overview, reported vs real reasons, the
four lenses, commitments, repeated reasons, quotes, re-contacts). Sections
are packed whole into messages of at most 50 blocks; a continuation message
starts with its own header. Only a section too long for any message is
split, at a block boundary, with its title repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from coach.blockkit import clip, clip_escaped, context, divider, header, mrkdwn, section
from coach.digest.data import UNANSWERED, DigestData
from coach.i18n import Translator
from coach.nudges.labels import KEPT_MARK, kept_label
from coach.nudges.rules import KeptChange
from coach.review.labels import (
    change_label,
    deal_in_line,
    lens_label,
    surface_label,
    underlying_label,
    verdict_label,
)
from coach.review.rules import Lens, Verdict

MAX_BLOCKS = 50
LINES_PER_BLOCK = 12
BLOCK_CHARS = 2800  # under Slack's 3,000 per section text, with room for a title
SQUARES = 10
SQUARE = {
    Verdict.HELD: ":large_green_square:",
    Verdict.PARTLY: ":large_yellow_square:",
    Verdict.MISSED: ":large_red_square:",
}
QUOTE_MARKS = ("“", "「", "『", '"', "'")
KEPT_MARKS = {**KEPT_MARK, UNANSWERED: ":grey_question:"}  # and one for a check not answered

Message = tuple[str, list[dict[str, Any]]]


@dataclass
class Section:
    title: str  # repeated (marked as continued) if the section must be split
    blocks: list[dict[str, Any]]


# --------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------


def heat_bar(counts: dict[str, int]) -> str:
    """Ten squares shared out by the largest remainder: held, then partly, then missed."""
    total = sum(counts.get(str(v), 0) for v in Verdict)
    if not total:
        return ":white_large_square:" * SQUARES
    exact = {v: counts.get(str(v), 0) * SQUARES / total for v in Verdict}
    shares = {v: int(x) for v, x in exact.items()}
    for v in sorted(Verdict, key=lambda v: -(exact[v] - shares[v]))[: SQUARES - sum(shares.values())]:
        shares[v] += 1
    return "".join(SQUARE[v] * shares[v] for v in Verdict)


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def reason_label(t: Translator, code: str | None) -> str:
    return underlying_label(t, code) if code else t._("In the rep's own words")


def commitment_label(t: Translator, code: str | None) -> str:
    return change_label(t, code) if code else t._("In the rep's own words")


def period_label(t: Translator, data: DigestData) -> str:
    return t._(
        "{start} – {end}",
        start=t.date(data.period.start.astimezone(t.tz).date()),
        end=t.date(data.period.end.astimezone(t.tz).date()),
    )


def chunk_lines(lines: list[str], *, per_block: int = LINES_PER_BLOCK, chars: int = BLOCK_CHARS) -> list[str]:
    """Lines joined into block texts of at most `per_block` lines and `chars` characters; no line is cut."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = clip(line, chars)
        if current and (len(current) >= per_block or size + len(line) + 1 > chars):
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------


def overview_section(t: Translator, data: DigestData, *, title: str, requested_by: str | None) -> Section:
    start, end = t.datetime(data.period.start), t.datetime(data.period.end)
    about = t._("Reviews finished from {start} to {end}.", start=start, end=end)
    if requested_by:
        about += " " + t._("Asked for by <@{user}>.", user=requested_by)
    blocks: list[dict[str, Any]] = [header(title), context(about)]
    if not data.losses:
        blocks.append(section(t._("No lost deals were reviewed in this period.")))
    n = data.losses
    value = t.amount(data.deal_value) if data.deal_value is not None else "–"
    share = (
        t._("{percent}% ({done} of {total})", percent=percent(data.within_24h, n), done=data.within_24h, total=n)
        if n
        else "–"
    )
    if data.wins:
        if data.recovery_median_days is not None:
            recovery = t._(
                "{wins} wins · median {days} days after the last loss (fastest {fastest})",
                wins=data.wins,
                days=_number(data.recovery_median_days),
                fastest=data.recovery_fastest_days,
            )
        else:
            recovery = t._("{wins} wins", wins=data.wins)
    else:
        recovery = t._("No wins logged yet")
    fields = [
        (t._("Losses reviewed"), str(n)),
        (t._("Deal value lost"), value),
        (t._("Reviewed within 24 hours"), share),
        (t._("Reps with a loss"), str(data.reps)),
        (t._("Recovery (won again)"), recovery),
        (t._("Reviews still unfinished"), str(data.open_drafts)),
    ]
    blocks.append({"type": "section", "fields": [mrkdwn(clip(f"*{k}*\n{v}", 2000)) for k, v in fields]})
    if n and data.within_24h < n:
        blocks.append(
            context(
                t._("Review within 24 hours: the customer's exact words and where their reaction changed fade fast.")
            )
        )
    return Section(title, blocks)


def reasons_section(t: Translator, data: DigestData) -> Section:
    title = t._("What was reported, and what happened")
    surface = "\n".join(f"• {surface_label(t, s)} ×{n}" for s, n in data.surface) or "–"
    underlying = "\n".join(f"• {reason_label(t, c)} ×{n}" for c, n in data.underlying) or "–"
    blocks: list[dict[str, Any]] = [
        section(f"*{title}*"),
        {
            "type": "section",
            "fields": [
                mrkdwn(clip("*" + t._("Stated reasons (what was said)") + "*\n" + surface, 2000)),
                mrkdwn(clip("*" + t._("Underlying reasons (what happened)") + "*\n" + underlying, 2000)),
            ],
        },
    ]
    blocks += customer_said_blocks(t, data)
    lines = []
    for s, n in data.surface:
        # The catalogue's structural gaps; the reps' own words are counted in the list above.
        top = [(c, k) for c, k in data.behind.get(s, []) if c][:3]
        if top:
            behind = " · ".join(f"{reason_label(t, c)} ({k})" for c, k in top)
            lines.append(f"*{surface_label(t, s)}* ×{n} → {behind}")
    if lines:
        blocks.append(section("*" + t._("Behind each stated reason") + "*\n" + "\n".join(lines)))
    blocks.append(
        context(
            t._(
                "A loss is never down to one thing: each review names at least three underlying "
                "reasons, so they outnumber the losses."
            )
        )
    )
    return Section(title, blocks)


def customer_said_blocks(t: Translator, data: DigestData) -> list[dict[str, Any]]:
    """What customers said on the follow-up call, beside what the reps reported (失注後フォロー)."""
    calls = data.followups_recorded + data.followups_unreachable
    if not calls:
        return [context(t._("What customers said: no follow-up call recorded for these losses yet."))]
    lines = []
    for said in data.customer_said:
        words = clip_escaped(_one_line(said.biggest_reason), 160)
        if not words.startswith(QUOTE_MARKS):
            words = f"“{words}”"
        lines.append(
            t._(
                "• {words} · {deal} (reported: {surface}) · <@{rep}>",
                words=words,
                deal=clip_escaped(said.deal_name, 80),
                surface=surface_label(t, said.surface_reason),
                rep=said.user_id,
            )
        )
    head = "*" + t._("What customers said") + "*"
    blocks: list[dict[str, Any]] = [section(clip("\n".join([head, *lines]), 3000))] if lines else []
    blocks.append(
        context(
            t._(
                "Follow-up calls: {recorded} recorded, {missed} could not be made, of {losses} losses. "
                "Quoted only from reviews the rep shared with managers.",
                recorded=data.followups_recorded,
                missed=data.followups_unreachable,
                losses=data.losses,
            )
        )
    )
    return blocks


def lenses_section(t: Translator, data: DigestData) -> Section:
    title = t._("The four lenses")
    lines = []
    worst: tuple[float, Lens] | None = None
    for lens in Lens:
        counts = data.lenses.get(str(lens), {})
        total = sum(counts.values())
        held, partly, missed = (counts.get(str(v), 0) for v in Verdict)
        lines.append(
            f"{heat_bar(counts)}  *{lens_label(t, lens)}*  "
            + t._("yes {held} · partly {partly} · no {missed}", held=held, partly=partly, missed=missed)
        )
        if total and (worst is None or missed / total > worst[0]):
            worst = (missed / total, lens)
    blocks = [
        section(f"*{title}*\n" + "\n".join(lines)),
        context(
            f"{SQUARE[Verdict.HELD]} {verdict_label(t, Verdict.HELD)}   "
            f"{SQUARE[Verdict.PARTLY]} {verdict_label(t, Verdict.PARTLY)}   "
            f"{SQUARE[Verdict.MISSED]} {verdict_label(t, Verdict.MISSED)}"
        ),
    ]
    if worst and worst[0] > 0:
        counts = data.lenses[str(worst[1])]
        blocks.append(
            section(
                t._(
                    "Weakest lens: *{lens}* (a no in {missed} of {total} losses).",
                    lens=lens_label(t, worst[1]),
                    missed=counts[str(Verdict.MISSED)],
                    total=sum(counts.values()),
                )
            )
        )
    return Section(title, blocks)


def commitments_section(t: Translator, data: DigestData) -> Section:
    title = t._("One change for the next meeting")
    lines = [f"• :dart: {commitment_label(t, c)} ×{n}" for c, n in data.changes]
    body = "\n".join(lines) if lines else t._("No new commitments this period.")
    blocks = [section(f"*{title}*\n{body}")]
    window = data.check_window
    if window is not None:
        checked = data.commitments_checked
        heading = t._(
            "Week-1 self-check on the commitments from losses of {start} – {end}",
            start=t.date(window.start.astimezone(t.tz).date()),
            end=t.date(window.end.astimezone(t.tz).date()),
        )
        if checked:
            no_answer = t._("No answer")
            parts = [
                f"{KEPT_MARKS[k]} {kept_label(t, k) if k != UNANSWERED else no_answer} {data.kept.get(str(k), 0)}"
                for k in (*KeptChange, UNANSWERED)
            ]
            kept = data.kept.get(str(KeptChange.YES), 0)
            summary = t._("{kept} of {total} kept their one change.", kept=kept, total=checked)
            text = f"*{heading}*\n" + "   ".join(parts) + "\n" + summary
            if data.repeated_mistake:
                text += " " + t._("{n} said they repeated the same mistake.", n=data.repeated_mistake)
        else:
            text = f"*{heading}*\n" + t._("No commitments came due for their week-1 check.")
        blocks.append(section(text))
    return Section(title, blocks)


def repeats_section(t: Translator, data: DigestData) -> Section:
    title = ":repeat: " + t._("Never lose the same way twice")
    blocks: list[dict[str, Any]] = [
        section(
            f"*{title}*\n"
            + t._(
                "Reps who named the same underlying reason in two or more reviews within "
                "90 days, one of them in this period."
            )
        ),
    ]
    if not data.repeats:
        blocks.append(section(t._("No rep repeated an underlying reason.")))
        return Section(title, blocks)
    by_rep: dict[str, list[str]] = {}
    for r in data.repeats:
        by_rep.setdefault(r.user_id, []).append(
            t._("{reason} ({n} reviews)", reason=reason_label(t, r.code), n=r.reviews)
        )
    lines = [f"• <@{user}>: " + " · ".join(reasons) for user, reasons in by_rep.items()]
    blocks += [section(chunk) for chunk in chunk_lines(lines)]
    if data.repeat_reps > len(by_rep):
        blocks.append(context(t._("…and {n} more reps.", n=data.repeat_reps - len(by_rep))))
    return Section(title, blocks)


def quotes_section(t: Translator, data: DigestData) -> Section | None:
    if not data.quotes:
        return None
    title = t._("The customer's words where a lens was a no")
    blocks: list[dict[str, Any]] = [section(f"*{title}*")]
    for lens in Lens:
        quotes = data.quotes.get(str(lens))
        if not quotes:
            continue
        missed = data.lenses.get(str(lens), {}).get(str(Verdict.MISSED), 0)
        lines = [t._("*{lens}* (no: {n})", lens=lens_label(t, lens), n=missed)]
        for q in quotes:
            words = clip_escaped(_one_line(q.words), 200)
            if not words.startswith(QUOTE_MARKS):  # the rep may have quoted the customer already
                words = f"“{words}”"
            line = f"> {words}\n> — <@{q.user_id}>, {deal_in_line(t, clip_escaped(q.deal_name, 80))}"
            if q.note:
                line += f" · _{clip_escaped(_one_line(q.note), 120)}_"
            lines.append(line)
        blocks.append(section("\n".join(lines)))
    blocks.append(context(t._("Quoted only from reviews the rep shared with managers.")))
    return Section(title, blocks)


def recontacts_section(t: Translator, data: DigestData) -> Section:
    title = t._("Re-contacts coming due")
    first, until = data.recontact_from, data.recontact_until
    span = ""
    if first and until:
        span = t._("{start} – {end}", start=t.date(first), end=t.date(until - timedelta(days=1)))
    head = f"*{title}* ({span})" if span else f"*{title}*"
    if not data.recontacts_total:
        return Section(title, [section(head + "\n" + t._("No re-contacts in the next two weeks."))])
    lines = [
        f"• {t.date(r.on)} · <@{r.user_id}> · {deal_in_line(t, clip_escaped(r.deal_name, 80))} "
        f"({surface_label(t, r.surface_reason)})"
        for r in data.recontacts
    ]
    chunks = chunk_lines(lines) or [""]
    blocks = [section(head + "\n" + chunks[0])] + [section(c) for c in chunks[1:]]
    more = data.recontacts_total - data.recontacts_unshared - len(data.recontacts)
    notes = []
    if more > 0:
        notes.append(t._("…and {n} more.", n=more))
    if data.recontacts_unshared:
        notes.append(t._("{n} more from reviews not shared with managers.", n=data.recontacts_unshared))
    notes.append(t._("A lost deal is a future opportunity. Keep the door open."))
    blocks.append(context(*notes))
    return Section(title, blocks)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


# --------------------------------------------------------------------------
# The whole digest
# --------------------------------------------------------------------------


def digest_title(t: Translator, data: DigestData) -> str:
    return t._("Lost-deal digest: {period}", period=period_label(t, data))


def digest_sections(t: Translator, data: DigestData, *, requested_by: str | None = None) -> list[Section]:
    title = digest_title(t, data)
    sections = [overview_section(t, data, title=title, requested_by=requested_by)]
    if data.losses:
        sections += [reasons_section(t, data), lenses_section(t, data)]
    sections.append(commitments_section(t, data))
    sections.append(repeats_section(t, data))
    quotes = quotes_section(t, data)
    if quotes:
        sections.append(quotes)
    sections.append(recontacts_section(t, data))
    export_hint = t._("`/lost export` sends you the team's reviews of the last 30 days as a CSV.")
    sections[-1].blocks.append(context(export_hint))
    return sections


def split_messages(t: Translator, title: str, sections: list[Section], *, limit: int = MAX_BLOCKS) -> list[list[dict]]:
    """Whole sections packed into messages of at most `limit` blocks.

    Sections are separated by dividers; a continuation message starts with a
    header; a section that fits in no message is cut at block boundaries,
    each piece under its title marked as continued.
    """
    room = limit - 1  # a continuation message gives one block to its header
    pieces: list[Section] = []
    for s in sections:
        if len(s.blocks) <= room - 1:
            pieces.append(s)
            continue
        size = room - 2  # the piece's own "continued" title, and a divider before it
        first = s.blocks[:size]
        pieces.append(Section(s.title, first))
        rest = s.blocks[size:]
        while rest:
            pieces.append(Section(s.title, [section(f"*{s.title}* " + t._("(continued)"))] + rest[: size - 1]))
            rest = rest[size - 1 :]
    messages: list[list[dict]] = []
    current: list[dict] = []
    for piece in pieces:
        need = len(piece.blocks) + (1 if current else 0)
        if current and len(current) + need > limit:
            messages.append(current)
            current = []
        if not current and messages:
            current = [header(clip(title, 120) + " " + t._("(continued)"))]
        if current and current[-1]["type"] != "header":
            current.append(divider())
        current.extend(piece.blocks)
    if current:
        messages.append(current)
    return messages


def digest_messages(
    t: Translator, data: DigestData, *, requested_by: str | None = None, limit: int = MAX_BLOCKS
) -> list[Message]:
    title = digest_title(t, data)
    parts = split_messages(t, title, digest_sections(t, data, requested_by=requested_by), limit=limit)
    texts = []
    for i, _ in enumerate(parts):
        if i == 0:
            texts.append(t._("{title}: {n} losses reviewed", title=title, n=data.losses))
        else:
            texts.append(t._("{title} (part {part} of {parts})", title=title, part=i + 1, parts=len(parts)))
    return list(zip(texts, parts))
