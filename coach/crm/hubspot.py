"""HubSpot's REST API through the official client (`hubspot-api-client`): deals, owners, notes.

Failures come out as one exception, `CrmFailure`, saying what to do next: wait for Retry-After (429),
retry with backoff (5xx, timeouts, connection errors), or give up and record why (any other 4xx).
The client's own retries are off except for connections that never opened (no request was sent), so
a note is never created twice by a retry here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.deals import SimplePublicObjectInput
from hubspot.crm.objects.notes import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)
from urllib3.util.retry import Retry

from coach.crm import rules

log = logging.getLogger(__name__)

# HubSpot's association type id of "note to deal" (HUBSPOT_DEFINED).
NOTE_TO_DEAL = 214
REQUEST_TIMEOUT = (5, 15)  # connect, read (seconds)


class Failure(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: wait for Retry-After
    TRANSIENT = "transient"  # 5xx, timeout, connection: retry with backoff
    PERMANENT = "permanent"  # any other 4xx: record it, do not retry


class CrmFailure(Exception):
    def __init__(self, kind: Failure, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message[:200]
        self.retry_after = retry_after


@dataclass(frozen=True)
class Deal:
    deal_id: str
    name: str | None
    amount: Decimal | None
    currency: str | None
    closed_at: datetime | None
    owner_id: str | None
    stage: str | None
    lost_reason: str | None
    competitor: str | None


def _failure(e: Exception, what: str) -> CrmFailure:
    status = getattr(e, "status", None)
    if isinstance(status, int) and status > 0:
        headers = getattr(e, "headers", None) or {}
        if status == 429:
            return CrmFailure(Failure.RATE_LIMITED, f"{what}: HTTP 429", rules.retry_after(headers.get("Retry-After")))
        if status >= 500:
            return CrmFailure(Failure.TRANSIENT, f"{what}: HTTP {status}")
        return CrmFailure(Failure.PERMANENT, f"{what}: HTTP {status} {getattr(e, 'reason', '') or ''}".strip())
    if isinstance(e, urllib3.exceptions.HTTPError | OSError) or status == 0:
        return CrmFailure(Failure.TRANSIENT, f"{what}: {type(e).__name__}")
    return CrmFailure(Failure.PERMANENT, f"{what}: {type(e).__name__}")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None


class HubSpotCrm:
    def __init__(
        self,
        *,
        access_token: str,
        api_url: str,
        lost_reason_property: str = "closed_lost_reason",
        competitor_property: str | None = None,
    ) -> None:
        # Only connections that never opened are retried by the client; the rest is the worker's call.
        retry = Retry(
            total=2,
            connect=2,
            read=0,
            status=0,
            other=0,
            redirect=0,
            backoff_factor=0.2,
            respect_retry_after_header=False,  # a 429 comes back to the worker, which waits without a thread
            raise_on_status=False,
        )
        client = HubSpot(access_token=access_token, host=api_url, retry=retry)
        self._deals = client.crm.deals.basic_api
        self._owners = client.crm.owners.owners_api
        self._notes = client.crm.objects.notes.basic_api
        self.lost_reason_property = lost_reason_property
        self.competitor_property = competitor_property

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except Exception as e:
            raise _failure(e, what) from None

    def deal(self, deal_id: str) -> Deal:
        properties = [
            "dealname",
            "amount",
            "deal_currency_code",
            "closedate",
            "hubspot_owner_id",
            "dealstage",
            self.lost_reason_property,
        ]
        if self.competitor_property:
            properties.append(self.competitor_property)
        found = self._call("read deal", self._deals.get_by_id, deal_id, properties=properties)
        p = found.properties or {}
        try:
            amount = rules.parse_amount(p.get("amount"))
        except rules.BadEvent:
            amount = None
        currency = rules.clean_text(p.get("deal_currency_code"), 3)
        return Deal(
            deal_id=str(found.id),
            name=rules.clean_text(p.get("dealname"), rules.MAX_NAME_LENGTH),
            amount=amount,
            currency=currency.upper() if currency and len(currency) == 3 else None,
            closed_at=_parse_time(p.get("closedate")),
            owner_id=rules.clean_text(p.get("hubspot_owner_id"), rules.MAX_ID_LENGTH),
            stage=p.get("dealstage"),
            lost_reason=rules.clean_text(p.get(self.lost_reason_property), rules.MAX_REASON_LENGTH),
            competitor=rules.clean_text(p.get(self.competitor_property), rules.MAX_NAME_LENGTH)
            if self.competitor_property
            else None,
        )

    def owner(self, owner_id: str) -> tuple[str | None, bool]:
        """The owner's email, and whether they are archived (deactivated); (None, False) if HubSpot has none."""
        found = None
        # HubSpot answers 404 for an archived (deactivated) owner unless asked for archived ones.
        for archived in (False, True):
            try:
                found = self._owners.get_by_id(owner_id, archived=archived, _request_timeout=REQUEST_TIMEOUT)
                break
            except Exception as e:
                if getattr(e, "status", None) != 404:
                    raise _failure(e, "read owner") from None
        if found is None:
            return None, False
        email = rules.clean_text(found.email, 320)
        return (email.lower() if email else None), bool(found.archived)

    def add_note(self, deal_id: str, html: str, *, at: datetime) -> str:
        """A note on the deal (associated to it); its id."""
        note = SimplePublicObjectInputForCreate(
            properties={"hs_note_body": html, "hs_timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z")},
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=deal_id),
                    types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=NOTE_TO_DEAL)],
                )
            ],
        )
        created = self._call("create note", self._notes.create, simple_public_object_input_for_create=note)
        return str(created.id)

    def fill_lost_reason(self, deal_id: str, reason: str) -> bool:
        """Set the deal's lost reason if it is empty; whether it was set."""
        current = self._call("read deal", self._deals.get_by_id, deal_id, properties=[self.lost_reason_property])
        if (current.properties or {}).get(self.lost_reason_property):
            return False
        self._call(
            "update deal",
            self._deals.update,
            deal_id,
            simple_public_object_input=SimplePublicObjectInput(properties={self.lost_reason_property: reason}),
        )
        return True
