"""The digest's chart: surface reasons beside underlying reasons, as a PNG. No Slack.

Two bar panels side by side say at a glance what the text can only list:
what reps were told ("price") against what their reviews found ("our value
did not come across"). Drawn with matplotlib's object API on the Agg
backend (no pyplot, no display, safe in worker threads). Japanese labels use
the IPAex Gothic font that the matplotlib-fontja package ships; without it
the chart falls back to English rather than drawing empty boxes.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import threading
from pathlib import Path

from coach.digest.blocks import period_label, reason_label
from coach.digest.data import DigestData
from coach.i18n import Translator
from coach.review.labels import surface_label

log = logging.getLogger(__name__)

JAPANESE_FONT = "IPAexGothic"
_font_lock = threading.Lock()
_font_ready: bool | None = None


def _japanese_font() -> bool:
    """Register the bundled Japanese font with matplotlib once; False if it is not installed."""
    global _font_ready
    with _font_lock:
        if _font_ready is None:
            spec = importlib.util.find_spec("matplotlib_fontja")  # found without importing (it would restyle)
            path = (
                Path(spec.submodule_search_locations[0]) / "fonts" / "ipaexg.ttf"
                if spec and spec.submodule_search_locations
                else None
            )
            if path and path.exists():
                from matplotlib import font_manager

                font_manager.fontManager.addfont(str(path))
                _font_ready = True
            else:
                log.warning("matplotlib-fontja is not installed; digest charts are drawn in English")
                _font_ready = False
        return _font_ready


def reasons_chart_png(t: Translator, data: DigestData) -> bytes | None:
    """The PNG, or None when the period has no losses to draw."""
    if not data.losses or not (data.surface or data.underlying):
        return None
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if t.lang == "ja" and not _japanese_font():
        t = Translator("en", t.tz)
    families = [JAPANESE_FONT, "DejaVu Sans"] if t.lang == "ja" else ["DejaVu Sans"]

    surface = list(reversed(data.surface))  # biggest bar on top
    underlying = list(reversed(data.underlying))
    rows = max(len(surface), len(underlying), 3)
    with rc_context({"font.family": families, "font.size": 10, "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(11, 1.2 + 0.42 * rows), dpi=110, layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2, width_ratios=[1, 1.35])
        _bars(left, [surface_label(t, s) for s, _ in surface], [n for _, n in surface], ["#8f9ba8"] * len(surface))
        # The reps' own words in a paler shade: real reasons, but not one of the structural gaps.
        _bars(
            right,
            [reason_label(t, c) for c, _ in underlying],
            [n for _, n in underlying],
            ["#d9534f" if c else "#eba8a6" for c, _ in underlying],
        )
        left.set_title(t._("Stated reasons (what was said)"), loc="left", fontsize=12)
        right.set_title(t._("Underlying reasons (what happened)"), loc="left", fontsize=12)
        fig.suptitle(t._("Lost-deal digest: {period}", period=period_label(t, data)), x=0.01, ha="left", fontsize=13)
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()


def _bars(ax, labels: list[str], values: list[int], colors: list[str]) -> None:
    positions = range(len(labels))
    bars = ax.barh(list(positions), values, color=colors, height=0.6)
    ax.set_yticks(list(positions), labels=[_wrap(label) for label in labels])
    ax.bar_label(bars, padding=3)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.margins(x=0.15)


def _wrap(label: str, width: int = 34) -> str:
    if len(label) <= width:
        return label
    cut = label.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    return label[:cut].rstrip() + "\n" + label[cut:].lstrip()
