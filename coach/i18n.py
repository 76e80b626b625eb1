"""Translations through a gettext catalogue (Babel reads `coach/locale/*/messages.po`).

Message ids are the English copy; `ja` comes from the catalogue. Dates and
times are formatted by Babel in the rep's locale and time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SUPPORTED = ("en", "ja")


def pick_locale(slack_locale: str | None, default: str) -> str:
    """Slack sends e.g. `ja-JP` or `en-US`; we speak `ja` and `en`."""
    lang = (slack_locale or "").split("-")[0].split("_")[0].lower()
    return lang if lang in SUPPORTED else default


@cache
def _catalogue(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    return {
        _key(m.context, m.id): m.string for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.id, str)
    }


def _key(context: str | None, message: str) -> str:
    # gettext's own convention for a message with a context: "context\x04message".
    return f"{context}\x04{message}" if context else message


@cache
def _babel_locale(lang: str) -> Locale:
    return Locale.parse(lang)


class Translator:
    def __init__(self, lang: str, tz: ZoneInfo | None = None) -> None:
        self.lang = lang if lang in SUPPORTED else "en"
        self.tz = tz or ZoneInfo("UTC")
        self._strings = _catalogue(self.lang)
        self._babel_locale = _babel_locale(self.lang)

    def gettext(self, message: str, **params: object) -> str:
        text = self._strings.get(message, message)
        return text.format(**params) if params else text

    _ = gettext

    def pgettext(self, context: str, message: str, **params: object) -> str:
        """A message whose English is shared with another meaning ("Yes" as a lens verdict is not "Yes")."""
        text = self._strings.get(_key(context, message), message)
        return text.format(**params) if params else text

    def date(self, value: date) -> str:
        return format_date(value, format="long" if self.lang == "ja" else "medium", locale=self._babel_locale)

    def datetime(self, value: datetime) -> str:
        """A UTC instant shown in the rep's time zone, e.g. 'Tue, Dec 1, 2026, 10:00 (Asia/Tokyo)'."""
        fmt = "yyyy年M月d日(E) H:mm" if self.lang == "ja" else "EEE, MMM d, y, h:mm a"
        return f"{format_datetime(value, fmt, tzinfo=self.tz, locale=self._babel_locale)} ({self.tz.key})"

    def amount(self, value) -> str:
        return format_decimal(value, locale=self._babel_locale)
