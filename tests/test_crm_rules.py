"""CRM rules without Slack, database or network: signatures, webhook bodies, reason mapping, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from coach.crm import rules
from coach.crm.rules import BadEvent, EventKind, WriteBack, WriteBackPolicy
from coach.review.rules import SurfaceReason
from tests.fakehubspot import (
    coach_signature_header,
    deal_creation,
    hubspot_batch,
    hubspot_signature,
    millis,
    stage_change,
)

NOW = datetime(2026, 5, 12, 9, 30, tzinfo=UTC)
SECRET = "hubspot-client-secret"
URL = "https://coach.example.com/crm/hubspot"
LOST = frozenset({"closedlost", "lost_enterprise"})


def _valid(body: bytes, headers: dict[str, str], *, uris=(URL,), now=NOW, secret=SECRET, method="POST") -> bool:
    return rules.hubspot_signature_valid(
        client_secret=secret,
        method=method,
        uris=uris,
        body=body,
        timestamp=headers.get("X-HubSpot-Request-Timestamp"),
        signature=headers.get("X-HubSpot-Signature-v3"),
        now=now,
    )


def test_hubspot_v3_signature_is_accepted_only_with_the_secret_the_uri_and_a_fresh_timestamp():
    body = hubspot_batch([stage_change("101", millis(NOW))])
    headers = hubspot_signature("POST", URL, body, SECRET, timestamp_ms=millis(NOW - timedelta(seconds=30)))
    assert _valid(body, headers)
    assert not _valid(body, headers, secret="another-secret")
    assert not _valid(body + b" ", headers)
    assert not _valid(body, headers, uris=("https://coach.example.com/crm/other",))
    assert not _valid(body, headers, method="PUT")
    # Older than five minutes, or more than five minutes ahead: refused.
    assert not _valid(body, headers, now=NOW + timedelta(minutes=5))
    assert not _valid(body, headers, now=NOW - timedelta(minutes=6))
    assert not _valid(body, {**headers, "X-HubSpot-Request-Timestamp": "not-a-number"})
    assert not _valid(body, {"X-HubSpot-Request-Timestamp": headers["X-HubSpot-Request-Timestamp"]})


def test_hubspot_v3_signature_decodes_the_characters_hubspot_decodes_in_the_uri():
    body = b"[]"
    signed_uri = "https://coach.example.com/crm/hubspot?portal=1:2@x"  # what HubSpot signs
    headers = hubspot_signature("POST", signed_uri, body, SECRET, timestamp_ms=millis(NOW))
    received = "https://coach.example.com/crm/hubspot?portal=1%3A2%40x"  # what reached the app
    assert _valid(body, headers, uris=(received,))


def test_hubspot_signature_is_checked_against_every_scheme_the_request_may_have_had():
    body = b"[]"
    headers = hubspot_signature("POST", URL, body, SECRET, timestamp_ms=millis(NOW))
    assert _valid(body, headers, uris=("http://coach.example.com/crm/hubspot", URL))


def test_coach_signature_is_stripe_style_with_a_five_minute_window():
    body = json.dumps({"deal_id": "1"}).encode()
    header = coach_signature_header(body, "s3cret", timestamp=int(NOW.timestamp()))["X-Coach-Signature"]
    assert rules.coach_signature_valid(secret="s3cret", header=header, body=body, now=NOW)
    assert header == rules.coach_signature("s3cret", body, int(NOW.timestamp()))
    # Several v1 values (a secret being rolled) are fine as long as one matches.
    assert rules.coach_signature_valid(secret="s3cret", header=f"{header},v1=deadbeef", body=body, now=NOW)
    assert not rules.coach_signature_valid(secret="other", header=header, body=body, now=NOW)
    assert not rules.coach_signature_valid(secret="s3cret", header=header, body=body + b"x", now=NOW)
    assert not rules.coach_signature_valid(
        secret="s3cret", header=header, body=body, now=NOW + timedelta(minutes=5, seconds=1)
    )
    for broken in (None, "", "t=abc,v1=00", "v1=00", f"t={int(NOW.timestamp())}", "x" * 2000):
        assert not rules.coach_signature_valid(secret="s3cret", header=broken, body=body, now=NOW)


def test_a_hubspot_batch_keeps_lost_stage_changes_and_creations_and_nothing_else():
    at = millis(NOW - timedelta(minutes=1))
    body = hubspot_batch(
        [
            stage_change("101", at),
            stage_change("102", at, stage="lost_enterprise"),
            stage_change("103", at, stage="closedwon"),
            {**stage_change("104", at), "propertyName": "amount", "propertyValue": "100"},
            {**stage_change("105", at), "subscriptionType": "contact.propertyChange"},
            deal_creation("106", at),
            stage_change("101", at),  # HubSpot delivered it twice in one batch
            {**stage_change("107", at), "subscriptionType": "object.propertyChange", "objectTypeId": "0-3"},
            {**stage_change("108", at), "subscriptionType": "object.propertyChange", "objectTypeId": "0-1"},
        ]
    )
    events = rules.parse_hubspot_batch(body, lost_stages=LOST, now=NOW)
    assert [(e.deal_id, e.kind) for e in events] == [
        ("101", EventKind.STAGE_CHANGE),
        ("102", EventKind.STAGE_CHANGE),
        ("106", EventKind.CREATION),
        ("107", EventKind.STAGE_CHANGE),
    ]
    assert events[0].closed_at == datetime.fromtimestamp(at / 1000, tz=UTC)
    assert events[0].details == {"portal_id": "62515"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"not": "a list"}',
        b"[1]",
        b'[{"objectId": 1}]',
        json.dumps([stage_change("1", 10**20)]).encode(),  # absurd occurredAt
        json.dumps([stage_change("1", millis(NOW + timedelta(days=400)))]).encode(),
        json.dumps([{**stage_change("1", millis(NOW)), "objectId": "1; DROP TABLE"}]).encode(),
        json.dumps([stage_change("1", millis(NOW))] * (rules.MAX_EVENTS_PER_BATCH + 1)).encode(),
        b"\xff\xfe[]",
        b"[" * 100000,
    ],
)
def test_a_malformed_hubspot_batch_is_a_bad_event(body):
    with pytest.raises(BadEvent):
        rules.parse_hubspot_batch(body, lost_stages=LOST, now=NOW)


def _generic(**fields) -> bytes:
    base = {"deal_id": "SF-0061", "closed_at": "2026-05-12T08:00:00Z", "owner_email": "Hana@Example.com"}
    return json.dumps({**base, **fields}).encode()


def test_the_generic_webhook_body_is_read_and_cleaned():
    event = rules.parse_generic(
        _generic(
            deal_name="Acme\x00 renewal\ud800",
            amount="12,000.5",
            currency="jpy",
            stated_reason="Price too high",
            competitor="Globex",
            url="https://crm.example.com/deal/1",
        ),
        now=NOW,
    )
    assert event.deal_id == "SF-0061"
    assert event.closed_at == datetime(2026, 5, 12, 8, tzinfo=UTC)
    assert event.details["deal_name"] == "Acme renewal?"
    assert event.details["amount"] == "12000.50"
    assert event.details["currency"] == "JPY"
    assert event.details["owner_email"] == "hana@example.com"
    assert rules.parse_generic(_generic(closed_at=1778572800), now=NOW).closed_at == datetime(
        2026, 5, 12, 8, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"deal_id": None}, "deal_id is required"),
        ({"deal_id": "x" * 101}, "deal_id is longer"),
        ({"closed_at": "2026-05-12T08:00:00"}, "time zone"),
        ({"closed_at": "yesterday"}, "ISO 8601"),
        ({"closed_at": "1899-01-01T00:00:00Z"}, "plausible"),
        ({"closed_at": 1e30}, "plausible"),
        ({"owner_email": None}, "owner_email or slack_user_id"),
        ({"owner_email": "not-an-email"}, "not an email"),
        ({"slack_user_id": "bob"}, "Slack user id"),
        ({"amount": -5}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "1e40"}, "amount"),
        ({"currency": "dollars"}, "currency"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"surprise": 1}, "unknown field"),
        ({"deal_name": {"nested": 1}}, "string"),
    ],
)
def test_a_bad_generic_body_says_what_is_wrong(fields, message):
    with pytest.raises(BadEvent, match=message):
        rules.parse_generic(_generic(**fields), now=NOW)


@pytest.mark.parametrize(
    ("crm_reason", "surface"),
    [
        ("Price", SurfaceReason.PRICE),
        ("Budget cut", SurfaceReason.PRICE),
        ("Went with a cheaper competitor", SurfaceReason.COMPETITOR),
        ("Lost to Globex", SurfaceReason.COMPETITOR),
        ("timing", SurfaceReason.TIMING),
        ("Revisit next year", SurfaceReason.TIMING),
        ("Still considering options", SurfaceReason.STILL_CONSIDERING),
        ("No decision made", SurfaceReason.NO_DECISION),
        ("価格が高い", SurfaceReason.PRICE),
        ("競合他社に決定", SurfaceReason.COMPETITOR),
        ("社内で検討中", SurfaceReason.STILL_CONSIDERING),
        ("still_considering", SurfaceReason.STILL_CONSIDERING),
        ("Champion left the company", None),
        ("", None),
        (None, None),
    ],
)
def test_the_crm_reason_maps_to_a_surface_reason_only_where_it_matches(crm_reason, surface):
    assert rules.map_reason(crm_reason) == surface


def test_what_goes_back_follows_the_policy_and_the_reps_sharing_choice():
    assert rules.write_back_for(WriteBackPolicy.SHARED, shared=True) == WriteBack.FULL
    assert rules.write_back_for(WriteBackPolicy.SHARED, shared=False) == WriteBack.MARKER
    assert rules.write_back_for(WriteBackPolicy.ALWAYS, shared=False) == WriteBack.FULL
    assert rules.write_back_for(WriteBackPolicy.NEVER, shared=True) == WriteBack.NOTHING


def test_retries_back_off_and_retry_after_is_honoured_within_bounds():
    assert [rules.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert rules.retry_delay(30) == timedelta(hours=1)
    assert rules.retry_after("7") == timedelta(seconds=7)
    assert rules.retry_after(None) == timedelta(seconds=10)
    assert rules.retry_after("soon") == timedelta(seconds=10)
    assert rules.retry_after("99999999") == timedelta(hours=1)
