"""CRM losses as data: webhook bodies read and checked, signatures, reason mapping, retry rules.

Pure Python: no Slack, no database, no network. The HubSpot adapter and the
web routes use these; tests exercise them directly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from hubspot.utils.signature import Signature

from coach.review.rules import SurfaceReason


class Source(StrEnum):
    HUBSPOT = "hubspot"
    WEBHOOK = "webhook"  # any other CRM, through POST /crm/webhook


class EventKind(StrEnum):
    STAGE_CHANGE = "stage_change"  # HubSpot: dealstage became a lost stage
    CREATION = "creation"  # HubSpot: a deal was created (its stage is read before anything is sent)
    GENERIC = "generic"  # the signed generic webhook: the body says everything


class WriteBackPolicy(StrEnum):
    """CRM_WRITE_BACK: what a finished review sends back to the CRM."""

    SHARED = "shared"  # the full note only when the rep shared the review with their manager
    ALWAYS = "always"
    NEVER = "never"


class WriteBack(StrEnum):
    """What goes back for one finished review."""

    FULL = "full"  # the note with the review's summary, and the lost reason if the CRM has none
    MARKER = "marker"  # a neutral "reviewed" note, nothing personal
    NOTHING = "nothing"


def write_back_for(policy: WriteBackPolicy, *, shared: bool) -> WriteBack:
    if policy == WriteBackPolicy.NEVER:
        return WriteBack.NOTHING
    if policy == WriteBackPolicy.ALWAYS or shared:
        return WriteBack.FULL
    return WriteBack.MARKER


class BadEvent(ValueError):
    """A webhook body the app cannot use; the message says why (sent back with the 400)."""


# Limits on what a webhook may carry. HubSpot sends at most 100 events a request; a margin is kept.
MAX_EVENTS_PER_BATCH = 500
MAX_ID_LENGTH = 100
MAX_NAME_LENGTH = 150
MAX_REASON_LENGTH = 500
MAX_URL_LENGTH = 2000
MAX_AMOUNT = Decimal("1e13")
# Dates outside this range are typing errors or hostile, never a real loss.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=2)  # a close time "tomorrow" across time zones is fine, next year is not

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any, limit: int) -> str | None:
    """A string safe to store and show: no NUL or control characters, no lone surrogates, trimmed, cut."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadEvent("expected a string")
    text = str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become '?'
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()
    return text[:limit] or None


@dataclass(frozen=True)
class LossEvent:
    """One loss as the CRM reported it; (source, deal_id, closed_at) is its identity."""

    source: Source
    kind: EventKind
    deal_id: str
    closed_at: datetime
    event_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.source, self.deal_id, self.closed_at)


# ---------------------------------------------------------------------------
# HubSpot webhook batches
# ---------------------------------------------------------------------------

# HubSpot's object type id of deals, used by the newer generic "object.*" subscriptions.
DEAL_OBJECT_TYPE = "0-3"


def parse_lost_stages(value: str) -> frozenset[str]:
    return frozenset(s.strip() for s in value.split(",") if s.strip())


def _from_millis(value: Any, what: str, now: datetime) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadEvent(f"{what} must be a number of milliseconds")
    try:
        millis = int(value)
    except ValueError:
        raise BadEvent(f"{what} must be a number of milliseconds") from None
    try:
        moment = datetime.fromtimestamp(millis / 1000, tz=UTC).replace(microsecond=(millis % 1000) * 1000)
    except (OverflowError, OSError, ValueError):
        raise BadEvent(f"{what} is not a plausible time") from None
    return _plausible(moment, what, now)


def _plausible(moment: datetime, what: str, now: datetime) -> datetime:
    if moment < EARLIEST or moment > now + LATEST_AHEAD:
        raise BadEvent(f"{what} is not a plausible time")
    return moment


def _object_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadEvent("objectId must be a deal id")
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,30}", text):
        raise BadEvent("objectId must be a deal id")
    return text


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadEvent("the body is not JSON") from None


def parse_hubspot_batch(body: bytes, *, lost_stages: frozenset[str], now: datetime) -> list[LossEvent]:
    """The losses in one HubSpot webhook request (a JSON array of events).

    Kept: `deal.propertyChange` of `dealstage` to a lost stage, and `deal.creation` (read later, since a
    deal can be created already lost). Everything else HubSpot may send (other properties, other objects)
    is not an error, just not a loss.
    """
    data = parse_json(body)
    if not isinstance(data, list):
        raise BadEvent("expected a JSON array of events")
    if len(data) > MAX_EVENTS_PER_BATCH:
        raise BadEvent(f"more than {MAX_EVENTS_PER_BATCH} events in one request")
    events: dict[tuple, LossEvent] = {}
    for item in data:
        if not isinstance(item, dict):
            raise BadEvent("every event must be a JSON object")
        kind = _hubspot_kind(item, lost_stages)
        if kind is None:
            continue
        closed_at = _from_millis(item.get("occurredAt"), "occurredAt", now)
        event = LossEvent(
            source=Source.HUBSPOT,
            kind=kind,
            deal_id=_object_id(item.get("objectId")),
            closed_at=closed_at,
            event_id=clean_text(item.get("eventId"), MAX_ID_LENGTH),
            details={"portal_id": clean_text(item.get("portalId"), MAX_ID_LENGTH)},
        )
        events.setdefault(event.key, event)  # the same loss twice in one batch is one loss
    return list(events.values())


def _hubspot_kind(item: dict[str, Any], lost_stages: frozenset[str]) -> EventKind | None:
    subscription = item.get("subscriptionType")
    if not isinstance(subscription, str):
        raise BadEvent("every event needs a subscriptionType")
    if subscription.startswith("object."):
        if item.get("objectTypeId") != DEAL_OBJECT_TYPE:
            return None
        subscription = "deal." + subscription.removeprefix("object.")
    if subscription == "deal.creation":
        return EventKind.CREATION
    if subscription == "deal.propertyChange" and item.get("propertyName") == "dealstage":
        value = item.get("propertyValue")
        return EventKind.STAGE_CHANGE if isinstance(value, str) and value in lost_stages else None
    return None


# ---------------------------------------------------------------------------
# The generic signed webhook
# ---------------------------------------------------------------------------

GENERIC_FIELDS = (
    "deal_id",
    "deal_name",
    "amount",
    "currency",
    "closed_at",
    "owner_email",
    "slack_user_id",
    "stated_reason",
    "competitor",
    "url",
)

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,20}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


def parse_generic(body: bytes, *, now: datetime) -> LossEvent:
    """One loss from `POST /crm/webhook` (see the README for the body)."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise BadEvent("expected a JSON object")
    unknown = sorted(set(data) - set(GENERIC_FIELDS))
    if unknown:
        raise BadEvent(f"unknown field {clean_text(unknown[0], 40)!r}")
    deal_id = clean_text(data.get("deal_id"), MAX_ID_LENGTH + 1)
    if not deal_id:
        raise BadEvent("deal_id is required")
    if len(deal_id) > MAX_ID_LENGTH:
        raise BadEvent(f"deal_id is longer than {MAX_ID_LENGTH} characters")
    closed_at = parse_moment(data.get("closed_at"), now=now)
    owner_email = clean_text(data.get("owner_email"), 320)
    slack_user_id = clean_text(data.get("slack_user_id"), 32)
    if owner_email and not _EMAIL.fullmatch(owner_email):
        raise BadEvent("owner_email is not an email address")
    if slack_user_id and not _SLACK_USER.fullmatch(slack_user_id):
        raise BadEvent("slack_user_id is not a Slack user id such as U0123456789")
    if not owner_email and not slack_user_id:
        raise BadEvent("owner_email or slack_user_id is required")
    currency = clean_text(data.get("currency"), 3 + 1)
    if currency and not _CURRENCY.fullmatch(currency):
        raise BadEvent("currency must be a three-letter code such as USD or JPY")
    url = clean_text(data.get("url"), MAX_URL_LENGTH + 1)
    if url and (len(url) > MAX_URL_LENGTH or urlsplit(url).scheme not in ("http", "https")):
        raise BadEvent("url must be an http(s) link to the deal")
    amount = parse_amount(data.get("amount"))
    details = {
        "deal_name": clean_text(data.get("deal_name"), MAX_NAME_LENGTH),
        "amount": str(amount) if amount is not None else None,
        "currency": currency.upper() if currency else None,
        "owner_email": owner_email.lower() if owner_email else None,
        "slack_user_id": slack_user_id,
        "stated_reason": clean_text(data.get("stated_reason"), MAX_REASON_LENGTH),
        "competitor": clean_text(data.get("competitor"), MAX_NAME_LENGTH),
        "url": url,
    }
    return LossEvent(Source.WEBHOOK, EventKind.GENERIC, deal_id, closed_at, details=details)


def parse_moment(value: Any, *, now: datetime) -> datetime:
    """ISO 8601 with a zone, or Unix seconds; anything else (or an absurd date) is refused."""
    if isinstance(value, bool) or value is None:
        raise BadEvent("closed_at is required (ISO 8601 with a time zone, or Unix seconds)")
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise BadEvent("closed_at is not a plausible time") from None
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadEvent("closed_at must be ISO 8601 with a time zone, e.g. 2026-05-01T09:30:00Z") from None
        if moment.tzinfo is None:
            raise BadEvent("closed_at needs a time zone, e.g. 2026-05-01T09:30:00Z")
        moment = moment.astimezone(UTC)
    else:
        raise BadEvent("closed_at must be ISO 8601 with a time zone, or Unix seconds")
    return _plausible(moment.replace(microsecond=(moment.microsecond // 1000) * 1000), "closed_at", now)


def parse_amount(value: Any) -> Decimal | None:
    """A deal size: a number or a numeric string (HubSpot sends strings); never negative or absurd."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadEvent("amount must be a number")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise BadEvent("amount must be a number") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise BadEvent("amount must be a number from 0 to 10^13")
    return amount.quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------

SIGNATURE_WINDOW = timedelta(minutes=5)

# HubSpot: "decode any of the URL-encoded characters listed" before signing (the query's leading ? is kept).
_HUBSPOT_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ENCODED = re.compile("|".join(_HUBSPOT_DECODED), re.IGNORECASE)


def hubspot_uri(uri: str) -> str:
    return _ENCODED.sub(lambda m: _HUBSPOT_DECODED[m.group(0).upper()], uri)


def hubspot_signature_valid(
    *,
    client_secret: str,
    method: str,
    uris: tuple[str, ...],
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: datetime,
) -> bool:
    """X-HubSpot-Signature-v3: base64 HMAC-SHA256 (client secret) of method + URI + body + timestamp.

    The timestamp (X-HubSpot-Request-Timestamp, milliseconds) must be within 5 minutes of now. `uris` are
    the URLs the request may have been sent to (behind a proxy the scheme is not always known).
    """
    if not signature or not timestamp or not timestamp.isdigit() or len(timestamp) > 16:
        return False
    sent = datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC)
    if abs(now - sent) > SIGNATURE_WINDOW:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    for uri in uris:
        expected = Signature.get_signature(client_secret, text, "v3", hubspot_uri(uri), method.upper(), timestamp)
        if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return True
    return False


def coach_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Coach-Signature` value for a body: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def coach_signature_valid(*, secret: str, header: str | None, body: bytes, now: datetime) -> bool:
    """Stripe's scheme: any `v1` of the header matches, and `t` is within 5 minutes of now."""
    if not header or len(header) > 1000:
        return False
    timestamp: str | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12 or not candidates:
        return False
    if abs(now - datetime.fromtimestamp(int(timestamp), tz=UTC)) > SIGNATURE_WINDOW:
        return False
    expected = coach_signature(secret, body, int(timestamp)).split("v1=", 1)[1].encode()
    return any(hmac.compare_digest(expected, c.encode("utf-8", "replace")) for c in candidates)


# ---------------------------------------------------------------------------
# The CRM's reason, read as a surface reason
# ---------------------------------------------------------------------------

# Words a CRM's lost reason (free text or a picklist value) uses, per surface reason. The first match wins,
# in this order: "no decision" before "decision", competitor before price ("cheaper competitor").
_REASON_WORDS: tuple[tuple[SurfaceReason, tuple[str, ...]], ...] = (
    (
        SurfaceReason.NO_DECISION,
        ("no decision", "no_decision", "nodecision", "status quo", "did nothing", "no-decision", "決まらな", "決裁"),
    ),
    (
        SurfaceReason.COMPETITOR,
        ("competitor", "competition", "went with", "chose another", "lost to", "競合", "他社"),
    ),
    (
        SurfaceReason.STILL_CONSIDERING,
        ("still considering", "still_considering", "considering", "thinking", "on hold", "検討中", "保留"),
    ),
    (SurfaceReason.PRICE, ("price", "pricing", "budget", "cost", "expensive", "too high", "価格", "予算", "高い")),
    (SurfaceReason.TIMING, ("timing", "not now", "next year", "later", "bad time", "時期", "タイミング")),
)


def map_reason(text: str | None) -> SurfaceReason | None:
    """The surface reason a CRM's lost reason names, or None when it names none (the rep picks)."""
    if not text:
        return None
    lowered = text.strip().lower()
    try:
        return SurfaceReason(lowered)
    except ValueError:
        pass
    for reason, words in _REASON_WORDS:
        if any(w in lowered for w in words):
            return reason
    return None


# ---------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
LONGEST_RETRY_AFTER = timedelta(hours=1)


def retry_delay(attempt: int) -> timedelta:
    """Backoff after the `attempt`-th failed try: 30 s, 1 min, 2 min ... at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempt - 1, 0)), LONGEST_RETRY)


def retry_after(header: str | None) -> timedelta:
    """HubSpot's Retry-After (seconds); a missing or odd value waits 10 s, never more than an hour."""
    try:
        seconds = float(header) if header is not None else 10.0
    except ValueError:
        seconds = 10.0
    if seconds != seconds or seconds < 1:  # NaN or too short
        seconds = 1.0
    return min(timedelta(seconds=seconds), LONGEST_RETRY_AFTER)


def hubspot_deal_url(portal_id: str | None, deal_id: str) -> str | None:
    return f"https://app.hubspot.com/contacts/{portal_id}/record/0-3/{deal_id}" if portal_id else None
