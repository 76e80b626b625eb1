"""A fake HubSpot CRM REST API on a real loopback socket, and webhook batches signed as HubSpot signs them.

The app's `hubspot-api-client` is pointed at ``fake.base_url`` (HUBSPOT_API_URL). Implemented: read and
update a deal (``/crm/v3/objects/deals/{id}``), read an owner (``/crm/v3/owners/{id}``), create a note with
its associations (``/crm/v3/objects/notes``). Every request is recorded (``calls``); a wrong bearer token
gets HubSpot's 401. Knobs: ``fail_next`` (429 with Retry-After, 5xx, any status) and ``hold`` (answers
wait until released: ordering without timing).

    with FakeHubSpot(token="pat-test") as hs:
        hs.add_owner("7", email="hana@example.com")
        hs.add_deal("101", dealname="Acme", dealstage="closedlost", hubspot_owner_id="7")
        body = hubspot_batch([stage_change("101", occurred_at_ms)])
        headers = hubspot_signature("POST", url, body, CLIENT_SECRET)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

Json = dict[str, Any]

PORTAL_ID = 62515
APP_ID = 54321
NOTE_TO_DEAL = 214


@dataclass
class Call:
    op: str  # "deal.read", "deal.update", "owner.read", "note.create", or "unknown"
    method: str
    path: str
    query: dict[str, list[str]]
    body: Json | None
    status: int
    response: Json


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    remaining: int


class FakeHubSpot:
    def __init__(self, *, token: str = "pat-test") -> None:
        self.token = token
        self.deals: dict[str, Json] = {}  # deal id -> properties
        self.owners: dict[str, Json] = {}
        self.notes: dict[str, Json] = {}  # note id -> {"properties": ..., "associations": ...}
        self.calls: list[Call] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._ids = itertools.count(9001)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None

    # Lifecycle -----------------------------------------------------------------

    def start(self) -> FakeHubSpot:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake._serve(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._serve(self)

            def do_PATCH(self) -> None:  # noqa: N802
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeHubSpot", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        for gate in self._holds.values():
            gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHubSpot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeHubSpot is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # Test controls -------------------------------------------------------------

    def add_owner(self, owner_id: str, *, email: str, archived: bool = False, first: str = "Sam") -> None:
        with self._lock:
            self.owners[owner_id] = {
                "id": owner_id,
                "email": email,
                "firstName": first,
                "lastName": "Rep",
                "userId": int(owner_id) + 1000 if owner_id.isdigit() else 1,
                "archived": archived,
                "createdAt": "2024-01-01T00:00:00Z",
                "updatedAt": "2024-01-01T00:00:00Z",
                "teams": [],
            }

    def add_deal(self, deal_id: str, **properties: Any) -> None:
        with self._lock:
            self.deals[deal_id] = {k: (None if v is None else str(v)) for k, v in properties.items()}

    def fail_next(self, op: str, *, status: int = 429, retry_after: int | None = 10, times: int = 1) -> None:
        """The next `times` requests of `op` answer `status` (429 carries Retry-After)."""
        with self._lock:
            self._failures.setdefault(op, []).append(_Failure(status, retry_after, times))

    def hold(self, op: str) -> threading.Event:
        """Requests of `op` are recorded, then wait for the returned event before being answered."""
        gate = threading.Event()
        with self._lock:
            self._holds[op] = gate
        return gate

    def calls_to(self, op: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.op == op]

    def wait_for(self, op: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.calls_to(op)) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} {op} call(s); got {[c.op for c in self.calls]}")
            return self.calls_to(op)

    def notes_on(self, deal_id: str) -> list[Json]:
        with self._lock:
            return [
                n
                for n in self.notes.values()
                if any(
                    a["to"]["id"] == deal_id
                    and {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214} in a["types"]
                    for a in n["associations"]
                )
            ]

    # HTTP ----------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        query: dict[str, list[str]] = {}
        for k, v in parse_qsl(url.query, keep_blank_values=True):
            query.setdefault(k, []).append(v)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        op, args = self._route(request.command, url.path)
        body: Json | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                self._answer(request, Call(op, request.command, url.path, query, None, 400, _error("Invalid JSON")))
                return
        extra: dict[str, str] = {}
        with self._lock:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                status, response = 401, _error("Authentication credentials not found.", "INVALID_AUTHENTICATION")
            elif (failure := self._take_failure(op)) is not None:
                status = failure.status
                response = _error("You have reached your secondly limit.", "RATE_LIMITS") if status == 429 else {}
                if status != 429:
                    response = _error("Internal error", "INTERNAL_ERROR")
                if status == 429 and failure.retry_after is not None:
                    extra["Retry-After"] = str(failure.retry_after)
            else:
                status, response = self._handle(op, args, query, body)
            call = Call(op, request.command, url.path, query, body, status, response)
            self.calls.append(call)
            self._changed.notify_all()
            gate = self._holds.get(op)
        if gate is not None:
            gate.wait(30)
        self._answer(request, call, extra)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, call: Call, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(call.response).encode()
        request.send_response(call.status)
        request.send_header("Content-Type", "application/json;charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(data)

    @staticmethod
    def _route(method: str, path: str) -> tuple[str, list[str]]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:4] == ["crm", "v3", "objects", "deals"] and len(parts) == 5:
            return ("deal.read" if method == "GET" else "deal.update" if method == "PATCH" else "unknown"), [parts[4]]
        if parts[:3] == ["crm", "v3", "owners"] and len(parts) == 4 and method == "GET":
            return "owner.read", [parts[3]]
        if parts == ["crm", "v3", "objects", "notes"] and method == "POST":
            return "note.create", []
        return "unknown", []

    def _take_failure(self, op: str) -> _Failure | None:
        queue = self._failures.get(op) or []
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    def _handle(self, op: str, args: list[str], query: dict[str, list[str]], body: Json | None) -> tuple[int, Json]:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        if op == "deal.read":
            deal = self.deals.get(args[0])
            if deal is None:
                return 404, _error("Object not found.", "OBJECT_NOT_FOUND")
            wanted = [p for v in query.get("properties", []) for p in v.split(",") if p]
            props = {k: deal.get(k) for k in wanted} if wanted else dict(deal)
            props["hs_object_id"] = args[0]
            return 200, {"id": args[0], "properties": props, "createdAt": now, "updatedAt": now, "archived": False}
        if op == "deal.update":
            deal = self.deals.get(args[0])
            if deal is None:
                return 404, _error("Object not found.", "OBJECT_NOT_FOUND")
            props = (body or {}).get("properties")
            if not isinstance(props, dict):
                return 400, _error("Invalid input JSON", "VALIDATION_ERROR")
            deal.update({k: str(v) for k, v in props.items()})
            return 200, {"id": args[0], "properties": dict(deal), "createdAt": now, "updatedAt": now, "archived": False}
        if op == "owner.read":
            owner = self.owners.get(args[0])
            archived = (query.get("archived") or ["false"])[0].lower() == "true"
            if owner is None or owner["archived"] != archived:  # HubSpot: archived owners only when asked
                return 404, _error("Owner not found", "OBJECT_NOT_FOUND")
            return 200, owner
        if op == "note.create":
            props = (body or {}).get("properties") or {}
            associations = (body or {}).get("associations") or []
            if not props.get("hs_timestamp") or "hs_note_body" not in props:
                return 400, _error("hs_timestamp and hs_note_body are required", "VALIDATION_ERROR")
            for a in associations:
                if a["to"]["id"] not in self.deals:
                    return 400, _error("Association target not found", "VALIDATION_ERROR")
            note_id = str(next(self._ids))
            self.notes[note_id] = {"properties": props, "associations": associations}
            return 201, {"id": note_id, "properties": props, "createdAt": now, "updatedAt": now, "archived": False}
        return 404, _error("Unknown endpoint", "OBJECT_NOT_FOUND")


def _error(message: str, category: str = "VALIDATION_ERROR") -> Json:
    return {"status": "error", "message": message, "correlationId": "00000000-0000", "category": category}


# ---------------------------------------------------------------------------
# Webhooks, as HubSpot sends them
# ---------------------------------------------------------------------------

_event_ids = itertools.count(100)


def stage_change(deal_id: str, occurred_at_ms: int, stage: str = "closedlost", **extra: Any) -> Json:
    """A `deal.propertyChange` event of `dealstage` (HubSpot's webhook payload shape)."""
    return {
        "eventId": next(_event_ids),
        "subscriptionId": 1234,
        "portalId": PORTAL_ID,
        "appId": APP_ID,
        "occurredAt": occurred_at_ms,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": int(deal_id),
        "propertyName": "dealstage",
        "propertyValue": stage,
        "changeSource": "CRM_UI",
        "sourceId": "userId:1001",
        **extra,
    }


def deal_creation(deal_id: str, occurred_at_ms: int) -> Json:
    return {
        "eventId": next(_event_ids),
        "subscriptionId": 1235,
        "portalId": PORTAL_ID,
        "appId": APP_ID,
        "occurredAt": occurred_at_ms,
        "subscriptionType": "deal.creation",
        "attemptNumber": 0,
        "objectId": int(deal_id),
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
    }


def hubspot_batch(events: list[Json]) -> bytes:
    return json.dumps(events, separators=(",", ":")).encode()


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def hubspot_signature(
    method: str, uri: str, body: bytes, client_secret: str, timestamp_ms: int | None = None
) -> dict[str, str]:
    """X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp, computed as HubSpot documents it:
    base64(HMAC-SHA256(client secret, method + uri + body + timestamp))."""
    ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    source = method.encode() + uri.encode() + body + ts.encode()
    digest = hmac.new(client_secret.encode(), source, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": ts,
        "X-HubSpot-Signature-Version": "v3",
    }


def coach_signature_header(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """X-Coach-Signature for POST /crm/webhook: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Coach-Signature": f"t={t},v1={digest}"}
