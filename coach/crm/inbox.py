"""The two CRM webhooks: check the signature, read the body, store the losses, then answer.

`POST /crm/hubspot` (HubSpot's batches, X-HubSpot-Signature-v3) and `POST /crm/webhook` (any other CRM,
X-Coach-Signature). The answer is 2xx only once the losses are committed; the work (reading the deal,
finding the rep, the DM) happens afterwards, from the table, so nothing is lost if the app dies right
after answering. A forged, stale or unsigned request gets 401; a body that cannot be read, 400.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from coach.crm import rules
from coach.crm.rules import BadEvent
from coach.crm.service import CrmLossService
from coach.web import HttpRequest

log = logging.getLogger(__name__)

HUBSPOT_PATH = "/crm/hubspot"
WEBHOOK_PATH = "/crm/webhook"


class CrmInbox:
    def __init__(
        self,
        losses: CrmLossService,
        *,
        clock: Callable[[], datetime],
        hubspot_client_secret: str | None,
        lost_stages: frozenset[str],
        webhook_secret: str | None,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.losses = losses
        self.clock = clock
        self.hubspot_client_secret = hubspot_client_secret
        self.lost_stages = lost_stages
        self.webhook_secret = webhook_secret
        self.on_stored = on_stored  # starts the work on the new rows after the answer

    def routes(self) -> dict[str, Callable[[HttpRequest], tuple[int, dict]]]:
        routes = {}
        if self.hubspot_client_secret:
            routes[HUBSPOT_PATH] = self.hubspot
        if self.webhook_secret:
            routes[WEBHOOK_PATH] = self.webhook
        return routes

    def hubspot(self, request: HttpRequest) -> tuple[int, dict]:
        now = self.clock()
        assert self.hubspot_client_secret
        if not rules.hubspot_signature_valid(
            client_secret=self.hubspot_client_secret,
            method=request.method,
            uris=request.urls,
            body=request.body,
            timestamp=request.headers.get("x-hubspot-request-timestamp"),
            signature=request.headers.get("x-hubspot-signature-v3"),
            now=now,
        ):
            log.warning("HubSpot webhook refused: bad or stale X-HubSpot-Signature-v3")
            return 401, {"ok": False, "error": "invalid_signature"}
        try:
            events = rules.parse_hubspot_batch(request.body, lost_stages=self.lost_stages, now=now)
        except BadEvent as e:
            log.warning("HubSpot webhook refused: %s", e)
            return 400, {"ok": False, "error": "bad_request", "detail": str(e)}
        return self._store(events, now)

    def webhook(self, request: HttpRequest) -> tuple[int, dict]:
        now = self.clock()
        assert self.webhook_secret
        if not rules.coach_signature_valid(
            secret=self.webhook_secret, header=request.headers.get("x-coach-signature"), body=request.body, now=now
        ):
            log.warning("CRM webhook refused: bad or stale X-Coach-Signature")
            return 401, {"ok": False, "error": "invalid_signature"}
        try:
            event = rules.parse_generic(request.body, now=now)
        except BadEvent as e:
            log.warning("CRM webhook refused: %s", e)
            return 400, {"ok": False, "error": "bad_request", "detail": str(e)}
        return self._store([event], now)

    def _store(self, events: list[rules.LossEvent], now: datetime) -> tuple[int, dict]:
        new = self.losses.record(events, now=now)
        if new:
            log.info("CRM: %d new loss(es) stored, %d already known", new, len(events) - new)
            self.on_stored()
        return 200, {"ok": True, "losses": len(events), "new": new}
