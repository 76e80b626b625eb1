"""CRM losses end to end: HubSpot's signed webhook batches (and the generic webhook) into the real app over
HTTP, a fake HubSpot and a fake Slack on loopback: the DM, the pre-filled review, the write-back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
import time_machine
from sqlalchemy import select, text

from coach.crm.service import LossStatus, WriteBackStatus
from coach.flows import crm as crm_flow
from coach.models import CrmLoss, Nudge, Review
from tests import review_input as ri
from tests.blockkit import message_problems, view_problems
from tests.conftest import RunningApp, serve_app
from tests.fakehubspot import (
    FakeHubSpot,
    coach_signature_header,
    deal_creation,
    hubspot_batch,
    hubspot_signature,
    millis,
    stage_change,
)
from tests.fakeslack import FakeSlack
from tests.test_review_flow import Rep, blocks_text, form_of

CLIENT_SECRET = "hubspot-client-secret"
HUBSPOT_TOKEN = "pat-na1-test"
WEBHOOK_SECRET = "coach-webhook-secret"
# Tuesday 12 May 2026, 09:00 UTC (18:00 in Tokyo, 05:00 in New York).
LOST_AT = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake_hubspot() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(token=HUBSPOT_TOKEN) as fake:
        fake.add_owner("7", email="Hana@example.com")  # U1, ja
        fake.add_owner("8", email="alex@example.com")  # U2, en
        fake.add_owner("9", email="nobody@example.com")  # not in Slack
        fake.add_owner("10", email="gone@example.com")  # deactivated in Slack
        fake.add_owner("11", email="left@example.com", archived=True)  # deactivated in HubSpot
        yield fake
    unexpected = [c for c in fake.calls if c.op == "unknown" or c.status == 400]
    assert unexpected == [], f"HubSpot would have refused: {unexpected}"


def crm_settings(settings_env: dict[str, Any], fake_hubspot: FakeHubSpot, **extra: Any) -> dict[str, Any]:
    return {
        **settings_env,
        "hubspot_client_secret": CLIENT_SECRET,
        "hubspot_access_token": HUBSPOT_TOKEN,
        "hubspot_api_url": fake_hubspot.base_url,
        "hubspot_lost_stages": "closedlost,lost_enterprise",
        "hubspot_competitor_property": "competitor_name",
        "crm_webhook_secret": WEBHOOK_SECRET,
        **extra,
    }


def add_reps(fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", tz="Asia/Tokyo", locale="ja-JP", name="Sato Hana", email="hana@example.com")
    fake_slack.add_user("U2", tz="America/New_York", locale="en-US", name="Alex Kim", email="alex@example.com")
    fake_slack.add_user("U9", tz="UTC", locale="en-US", name="Gone", email="gone@example.com", deleted=True)


@pytest.fixture
def crm_app(settings_env, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot) -> Iterator[RunningApp]:
    add_reps(fake_slack)
    with serve_app(crm_settings(settings_env, fake_hubspot), fake_slack) as app:
        yield app


def add_deal(hs: FakeHubSpot, deal_id: str, owner: str, **props: Any) -> None:
    hs.add_deal(
        deal_id,
        dealname=props.pop("dealname", "Acme renewal"),
        amount=props.pop("amount", "12000.50"),
        deal_currency_code=props.pop("currency", "USD"),
        closedate="2026-05-12T09:00:00Z",
        dealstage=props.pop("dealstage", "closedlost"),
        hubspot_owner_id=owner,
        closed_lost_reason=props.pop("reason", "Price too high"),
        **props,
    )


def post_hubspot(app: RunningApp, events: list[dict], *, secret: str = CLIENT_SECRET, **sign: Any):
    body = hubspot_batch(events)
    url = app.base_url + "/crm/hubspot"
    return requests.post(url, data=body, headers=hubspot_signature("POST", url, body, secret, **sign), timeout=10)


def post_generic(app: RunningApp, fields: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    body = json.dumps(fields).encode()
    return requests.post(
        app.base_url + "/crm/webhook", data=body, headers=coach_signature_header(body, secret, timestamp), timeout=10
    )


def prompts(fake: FakeSlack, user_id: str | None = None) -> list:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.response.get("ok")
        and (c.params.get("metadata") or {}).get("event_type") == crm_flow.PROMPT_EVENT
        and (user_id is None or c.params["channel"] == user_id)
    ]


def losses(app: RunningApp) -> list[CrmLoss]:
    with app.coach.db.session() as s:
        return list(s.scalars(select(CrmLoss).order_by(CrmLoss.id)))


def work(app: RunningApp) -> None:
    """What the scheduler's tick does (the after-answer pass is waited for first)."""
    app.settle()
    crm_flow.work(app.coach, app.coach.client)
    app.settle()


def click_review(app: RunningApp, rep: Rep, prompt) -> dict:
    """The DM's "Review this loss" button: the review modal that opens."""
    fake = app.slack.fake
    before = len(fake.calls_to("views.open"))
    rep.click(crm_flow_action(), value=_button(prompt)["value"], view={"blocks": prompt.params["blocks"]})
    opened = fake.wait_for("views.open", before + 1)[-1]
    rep.view = form_of(app, opened)  # the modal opens first and is filled in (issue 8)
    return rep.view


def crm_flow_action() -> str:
    from coach.slack.ids import ActionId

    return ActionId.CRM_REVIEW_LOSS


def _button(prompt) -> dict:
    return next(
        e for b in prompt.params["blocks"] if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"
    )


def initial(view: dict, block_id: str) -> Any:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    for key in ("initial_value", "initial_date", "initial_option"):
        if key in element:
            return element[key] if key != "initial_option" else element[key]["value"]
    return None


# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "user", "opening", "button", "team", "note_words"),
    [
        ("8", "U2", "was marked lost in HubSpot", "Review this loss", "en", ("Underlying reasons", "did not come")),
        (
            "7",
            "U1",
            "HubSpotで「Acme renewal」が失注になりました",
            "この失注を振り返る",
            "ja",
            ("裏の理由", "価値が"),
        ),
    ],
)
def test_a_hubspot_loss_prompts_the_rep_opens_a_prefilled_review_and_goes_back_to_the_deal(
    settings_env, fake_slack, fake_hubspot: FakeHubSpot, owner, user, opening, button, team, note_words
):
    add_reps(fake_slack)
    with serve_app(crm_settings(settings_env, fake_hubspot, default_locale=team), fake_slack) as crm_app:
        _loss_to_note(crm_app, fake_hubspot, owner, user, opening, button, note_words)


def _loss_to_note(crm_app: RunningApp, fake_hubspot: FakeHubSpot, owner, user, opening, button, note_words) -> None:
    fake = crm_app.slack.fake
    add_deal(fake_hubspot, "101", owner, competitor_name="Globex")
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True) as clock:
        resp = post_hubspot(crm_app, [stage_change("101", millis(LOST_AT))])
        assert resp.status_code == 200 and resp.json() == {"ok": True, "losses": 1, "new": 1}
        crm_app.settle()  # the pass started right after the answer: no tick needed
        [prompt] = prompts(fake, user)
        assert message_problems(prompt.params["blocks"], prompt.params["text"]) == []
        shown = blocks_text(prompt.params["blocks"])
        assert opening in shown and "12,000.5 USD" in shown and "62515/record/0-3/101" in shown
        assert _button(prompt)["text"]["text"] == button

        # The draft began at HubSpot's close time: the "finish your review" reminder comes within 20 h of it
        # (earlier when the 20th hour falls in the rep's quiet hours).
        with crm_app.coach.db.session() as s:
            reminder = s.scalar(select(Nudge).where(Nudge.user_id == user, Nudge.kind == "finish_review"))
        assert reminder is not None and LOST_AT + timedelta(hours=10) < reminder.due_at <= LOST_AT + timedelta(hours=20)

        rep = Rep(crm_app, user)
        view = click_review(crm_app, rep, prompt)
        assert view_problems(view) == []
        assert initial(view, "deal_name") == "Acme renewal"
        assert initial(view, "deal_size") == "12000.5"
        assert initial(view, "surface_reason") == "price"  # "Price too high" in HubSpot
        assert initial(view, "competitor") == "Globex"
        lost_on = LOST_AT.astimezone(crm_app.coach.profiles.get("T1", user).tz).date()
        assert initial(view, "lost_on") == lost_on.isoformat()
        assert "62515/record/0-3/101" in json.dumps(view["blocks"])

        clock.shift(timedelta(hours=3))
        meeting = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)
        facts = ri.facts(lost_on=lost_on, deal="Acme renewal", size="12000.5", surface="price", competitor="Globex")
        assert rep.submit(facts)["response_action"] == "update"
        assert rep.submit(ri.lenses())["response_action"] == "update"
        assert rep.submit(ri.reasons())["response_action"] == "update"
        assert rep.submit(ri.commit(meeting=meeting, share=True)) == {}
        crm_app.settle()
        with crm_app.coach.db.session() as s:
            review = s.scalar(select(Review).where(Review.user_id == user))
        # The 24 hours ran from the CRM's close time.
        assert review.lost_at == LOST_AT and review.review_hours == pytest.approx(3.0, abs=0.1)
        work(crm_app)

    [note] = fake_hubspot.notes_on("101")
    body = note["properties"]["hs_note_body"]
    assert all(words in body for words in note_words)  # in the team's language (DEFAULT_LOCALE)
    assert "Demoed before hearing the problem" in body and "It&#x27;s over our budget" in body
    [row] = losses(crm_app)
    assert row.writeback_status == WriteBackStatus.DONE and row.writeback_kind == "full"
    # The deal had a reason already: left as it was.
    assert fake_hubspot.deals["101"]["closed_lost_reason"] == "Price too high"
    assert fake_hubspot.calls_to("deal.update") == []


def test_an_empty_lost_reason_is_filled_and_an_unshared_review_writes_only_a_neutral_marker(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot
):
    fake = crm_app.slack.fake
    add_deal(fake_hubspot, "201", "8", reason="")
    add_deal(fake_hubspot, "202", "8", dealname="Initech pilot", reason="")
    meeting = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True):
        assert post_hubspot(crm_app, [stage_change("201", millis(LOST_AT))]).status_code == 200
        crm_app.settle()
        rep = Rep(crm_app, "U2")
        click_review(crm_app, rep, prompts(fake, "U2")[0])
        complete(rep, lost_on=date(2026, 5, 12), meeting=meeting, share=True, surface="timing")
        work(crm_app)
        assert fake_hubspot.deals["201"]["closed_lost_reason"] == "Bad timing"

        assert post_hubspot(crm_app, [stage_change("202", millis(LOST_AT + timedelta(hours=1)))]).status_code == 200
        crm_app.settle()
        click_review(crm_app, rep, prompts(fake, "U2")[1])
        complete(rep, lost_on=date(2026, 5, 12), meeting=meeting, share=False, deal="Initech pilot")
        work(crm_app)

    [marker] = fake_hubspot.notes_on("202")
    body = marker["properties"]["hs_note_body"]
    assert body.startswith("<p>This loss was reviewed in Lost-Deal Coach on")
    for personal in ("budget", "Demoed", "value", "Price", "CFO"):
        assert personal not in body
    assert fake_hubspot.deals["202"]["closed_lost_reason"] == ""  # nothing personal: not even the reason
    assert [r.writeback_kind for r in losses(crm_app)] == ["full", "marker"]


def test_a_review_button_whose_modal_slack_refuses_asks_the_rep_to_press_it_again(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot
):
    fake = crm_app.slack.fake
    add_deal(fake_hubspot, "203", "8")
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True):
        assert post_hubspot(crm_app, [stage_change("203", millis(LOST_AT))]).status_code == 200
        crm_app.settle()
        [prompt] = prompts(fake, "U2")
        rep = Rep(crm_app, "U2")
        fake.fail_next("views.open", error="expired_trigger_id")  # Slack's 3 seconds were over
        rep.click(crm_flow_action(), value=_button(prompt)["value"], view={"blocks": prompt.params["blocks"]})
        crm_app.settle()
        [sorry] = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "U2" and c != prompt]
        assert "press the button again" in sorry.params["text"]
        # Pressed again, the button opens this loss's review, pre-filled.
        view = click_review(crm_app, rep, prompt)
    assert initial(view, "deal_name") == "Acme renewal"


def complete(rep: Rep, *, lost_on: date, meeting: datetime, share: bool, surface="price", deal="Acme renewal"):
    assert rep.submit(ri.facts(lost_on=lost_on, deal=deal, surface=surface))["response_action"] == "update"
    assert rep.submit(ri.lenses())["response_action"] == "update"
    assert rep.submit(ri.reasons())["response_action"] == "update"
    assert rep.submit(ri.commit(meeting=meeting, share=share)) == {}
    rep.app.settle()


def test_a_duplicate_batch_and_a_duplicate_event_make_one_prompt(crm_app: RunningApp, fake_hubspot: FakeHubSpot):
    add_deal(fake_hubspot, "301", "8")
    events = [stage_change("301", millis(LOST_AT)), deal_creation("301", millis(LOST_AT) + 2000)]
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True):
        first = post_hubspot(crm_app, events)
        again = post_hubspot(crm_app, events)  # HubSpot delivers the same batch again
        assert first.json()["new"] == 2 and again.json()["new"] == 0
        work(crm_app)
        work(crm_app)
    assert len(prompts(crm_app.slack.fake)) == 1
    assert sorted(r.status for r in losses(crm_app)) == [LossStatus.DUPLICATE, LossStatus.PROMPTED]


def test_a_deal_lost_again_after_being_reopened_is_a_new_loss(crm_app: RunningApp, fake_hubspot: FakeHubSpot):
    add_deal(fake_hubspot, "302", "8")
    with time_machine.travel(LOST_AT + timedelta(days=30), tick=True):
        post_hubspot(crm_app, [stage_change("302", millis(LOST_AT))])
        post_hubspot(crm_app, [stage_change("302", millis(LOST_AT + timedelta(days=29)))])
        work(crm_app)
    assert len(prompts(crm_app.slack.fake, "U2")) == 2


def test_a_batch_the_app_failed_to_store_is_stored_when_hubspot_retries_it(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot
):
    add_deal(fake_hubspot, "401", "8")
    events = [stage_change("401", millis(LOST_AT))]
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True):
        with crm_app.coach.db.engine.begin() as conn:  # the table is gone for a moment: the store fails
            conn.execute(text("ALTER TABLE crm_losses RENAME TO crm_losses_away"))
        failed = post_hubspot(crm_app, events)
        with crm_app.coach.db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE crm_losses_away RENAME TO crm_losses"))
        assert failed.status_code == 503 and "Traceback" not in failed.text
        assert prompts(crm_app.slack.fake) == []
        retried = post_hubspot(crm_app, events)  # HubSpot retries a 5xx
        assert retried.status_code == 200 and retried.json()["new"] == 1
        work(crm_app)
    assert len(prompts(crm_app.slack.fake, "U2")) == 1


@pytest.mark.parametrize(
    "sign",
    [
        {"secret": "not-the-client-secret"},
        {"timestamp_ms": millis(LOST_AT - timedelta(minutes=6))},  # stale: a replay
        {"timestamp_ms": millis(LOST_AT + timedelta(minutes=6))},
    ],
)
def test_a_forged_or_stale_hubspot_request_is_refused_and_nothing_is_stored(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot, sign
):
    add_deal(fake_hubspot, "501", "8")
    with time_machine.travel(LOST_AT, tick=True):
        resp = post_hubspot(crm_app, [stage_change("501", millis(LOST_AT))], **sign)
        assert resp.status_code == 401 and resp.json()["error"] == "invalid_signature"
        unsigned = requests.post(crm_app.base_url + "/crm/hubspot", data=b"[]", timeout=10)
        assert unsigned.status_code == 401
        work(crm_app)
    assert losses(crm_app) == [] and prompts(crm_app.slack.fake) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b'{"an": "object"}', 400),
        (
            b'[{"subscriptionType": "deal.propertyChange", "propertyName": "dealstage", "propertyValue": "closedlost",'
            b' "objectId": "1\\u0000", "occurredAt": 1778576400000}]',
            400,
        ),
        (b'[{"subscriptionType": "deal.creation", "objectId": "\\ud800", "occurredAt": 1}]', 400),
        (b"[" * 50_000, 400),
        (b"\xff\xfe\x00", 401),  # not UTF-8: HubSpot never signed that
        (b"[" + b'{"a": "' + b"x" * 1_100_000 + b'"}]', 413),
    ],
)
def test_a_malformed_or_oversized_body_gets_a_4xx_never_a_5xx(crm_app: RunningApp, body: bytes, status: int):
    url = crm_app.base_url + "/crm/hubspot"
    resp = requests.post(url, data=body, headers=hubspot_signature("POST", url, body, CLIENT_SECRET), timeout=10)
    assert resp.status_code == status, resp.text
    assert losses(crm_app) == []


def test_an_owner_with_no_slack_account_waits_on_the_managers_home_without_retrying(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot
):
    fake = crm_app.slack.fake
    add_deal(fake_hubspot, "601", "9", dealname="Umbrella Corp")
    add_deal(fake_hubspot, "602", "10", dealname="Soylent")  # a deactivated rep
    add_deal(fake_hubspot, "603", "11", dealname="Tyrell")  # an owner archived in HubSpot
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True) as clock:
        events = [stage_change(deal, millis(LOST_AT)) for deal in ("601", "602", "603")]
        post_hubspot(crm_app, events)
        work(crm_app)
        lookups = len(fake.calls_to("users.lookupByEmail"))
        clock.shift(timedelta(hours=2))
        work(crm_app)  # nothing left to do: no error loop
        assert len(fake.calls_to("users.lookupByEmail")) == lookups
    rows = losses(crm_app)
    assert [r.status for r in rows] == [LossStatus.WAITING] * 3
    assert "no Slack account for nobody@example.com" in rows[0].last_error
    assert "deactivated" in rows[1].last_error
    assert "archived in HubSpot" in rows[2].last_error
    assert prompts(fake) == []

    # A manager opens Home: the losses waiting for a rep are listed.
    fake.channel_members["CMANAGERS"] = ["U2"]
    resp = crm_app.slack.event({"type": "app_home_opened", "user": "U2", "channel": "D2", "tab": "home"})
    assert resp.status_code == 200
    published = fake.wait_for("views.publish")[-1]
    shown = blocks_text(published.params["view"]["blocks"])
    assert "Losses waiting for a rep (3)" in shown and "Umbrella Corp" in shown and "nobody@example.com" in shown

    # The owner joins Slack: a day later the loss is looked at again, and they get it (late, and told so).
    fake.add_user("U7", tz="Europe/London", locale="en-GB", name="Nobody Yet", email="nobody@example.com")
    with time_machine.travel(LOST_AT + timedelta(days=1, hours=1), tick=True):
        work(crm_app)
    [prompt] = prompts(fake, "U7")
    assert "The 24 hours have passed" in blocks_text(prompt.params["blocks"])
    assert [r.status for r in losses(crm_app)] == [LossStatus.PROMPTED, LossStatus.WAITING, LossStatus.WAITING]


def test_hubspot_429_waits_for_retry_after_and_5xx_backs_off_on_write_back(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot
):
    fake = crm_app.slack.fake
    add_deal(fake_hubspot, "701", "8")
    fake_hubspot.fail_next("deal.read", status=429, retry_after=30)
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True) as clock:
        post_hubspot(crm_app, [stage_change("701", millis(LOST_AT))])
        work(crm_app)
        [row] = losses(crm_app)
        assert row.status == LossStatus.RECEIVED and "429" in row.last_error
        assert 29 <= (row.next_attempt_at - datetime.now(UTC)).total_seconds() <= 31
        work(crm_app)  # not due yet: HubSpot is not asked again before Retry-After
        assert len(fake_hubspot.calls_to("deal.read")) == 1
        clock.shift(timedelta(seconds=31))
        work(crm_app)
        assert len(prompts(fake, "U2")) == 1

        rep = Rep(crm_app, "U2")
        click_review(crm_app, rep, prompts(fake, "U2")[0])
        fake_hubspot.fail_next("note.create", status=503, times=2)
        complete(rep, lost_on=date(2026, 5, 12), meeting=datetime(2026, 5, 20, 1, tzinfo=UTC), share=True)
        summary = [c for c in fake.calls_to("chat.postMessage") if c not in prompts(fake)]
        assert summary, "the rep's summary went out whatever HubSpot does"
        work(crm_app)
        assert losses(crm_app)[0].writeback_status == WriteBackStatus.PENDING
        clock.shift(timedelta(seconds=31))
        work(crm_app)
        clock.shift(timedelta(seconds=61))
        work(crm_app)
    [row] = losses(crm_app)
    assert row.writeback_status == WriteBackStatus.DONE and len(fake_hubspot.notes_on("701")) == 1


def test_a_deal_hubspot_does_not_know_is_recorded_as_failed(crm_app: RunningApp, fake_hubspot: FakeHubSpot):
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True):
        post_hubspot(crm_app, [stage_change("999", millis(LOST_AT))])
        work(crm_app)
        work(crm_app)
    [row] = losses(crm_app)
    assert row.status == LossStatus.FAILED and "404" in row.last_error
    assert len(fake_hubspot.calls_to("deal.read")) == 1


def test_a_created_deal_is_a_loss_only_when_it_is_in_a_lost_stage(crm_app: RunningApp, fake_hubspot: FakeHubSpot):
    add_deal(fake_hubspot, "801", "8", dealstage="appointmentscheduled")
    add_deal(fake_hubspot, "802", "8", dealstage="lost_enterprise")
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True):
        post_hubspot(crm_app, [deal_creation("801", millis(LOST_AT)), deal_creation("802", millis(LOST_AT))])
        work(crm_app)
    assert [r.status for r in losses(crm_app)] == [LossStatus.IGNORED, LossStatus.PROMPTED]


def test_the_generic_webhook_prompts_the_rep_once_and_refuses_a_stale_signature(crm_app: RunningApp):
    fake = crm_app.slack.fake
    loss = {
        "deal_id": "006Qy00000A1",
        "deal_name": "Wayne Enterprises",
        "amount": 5000000,
        "currency": "JPY",
        "closed_at": "2026-05-12T09:00:00Z",
        "slack_user_id": "U1",
        "stated_reason": "競合他社に決定",
        "competitor": "Globex",
        "url": "https://example.my.salesforce.com/006Qy00000A1",
    }
    with time_machine.travel(LOST_AT + timedelta(minutes=2), tick=True):
        stale = post_generic(crm_app, loss, timestamp=int((LOST_AT - timedelta(minutes=10)).timestamp()))
        assert stale.status_code == 401
        bad = post_generic(crm_app, {**loss, "closed_at": "next tuesday"})
        assert bad.status_code == 400 and "closed_at" in bad.json()["detail"]
        assert post_generic(crm_app, loss).json() == {"ok": True, "losses": 1, "new": 1}
        assert post_generic(crm_app, loss).json()["new"] == 0
        work(crm_app)
        [prompt] = prompts(fake, "U1")
        assert "あなたのCRM" not in blocks_text(prompt.params["blocks"])
        assert "Wayne Enterprises" in blocks_text(prompt.params["blocks"])
        rep = Rep(crm_app, "U1")
        view = click_review(crm_app, rep, prompt)
        assert initial(view, "surface_reason") == "competitor" and initial(view, "competitor") == "Globex"
        complete(rep, lost_on=date(2026, 5, 12), meeting=datetime(2026, 5, 20, 1, tzinfo=UTC), share=True)
        work(crm_app)
    [row] = losses(crm_app)
    assert row.writeback_status == WriteBackStatus.SKIPPED  # no API to write to


def test_without_crm_settings_the_endpoints_do_not_exist(running_app: RunningApp):
    for path in ("/crm/hubspot", "/crm/webhook"):
        assert requests.post(running_app.base_url + path, data=b"[]", timeout=10).status_code == 404


def test_a_loss_acknowledged_by_an_instance_killed_right_after_is_prompted_once_by_the_next(
    settings_env, database_url, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, tmp_path
):
    """HubSpot got its 200; the instance was SIGKILLed before it could read the deal. Nothing is lost: the
    next instance takes the loss over after the lease and the rep gets exactly one DM."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    fake_slack.add_user("U2", tz="America/New_York", locale="en-US", name="Alex Kim", email="alex@example.com")
    add_deal(fake_hubspot, "901", "8")
    reading = fake_hubspot.hold("deal.read")  # the first instance gets no further than asking HubSpot
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_", "CRM_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN=settings_env["slack_bot_token"],
        SLACK_SIGNING_SECRET=settings_env["slack_signing_secret"],
        SLACK_API_URL=fake_slack.base_url,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        HUBSPOT_CLIENT_SECRET=CLIENT_SECRET,
        HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
        HUBSPOT_API_URL=fake_hubspot.base_url,
        SCHEDULER_TICK_SECONDS="3600",
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, str(root / "app.py")], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # the process's start-up: waiting on a real process, not on app logic
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
            time.sleep(0.1)
        body = hubspot_batch([stage_change("901", millis(datetime.now(UTC)))])
        url = base + "/crm/hubspot"
        resp = requests.post(url, data=body, headers=hubspot_signature("POST", url, body, CLIENT_SECRET), timeout=10)
        assert resp.status_code == 200 and resp.json()["new"] == 1
        fake_hubspot.wait_for("deal.read", timeout=10)  # the instance is working on it...
        proc.send_signal(signal.SIGKILL)  # ...and dies
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        reading.set()
    assert prompts(fake_slack) == []

    with serve_app(crm_settings(settings_env, fake_hubspot), fake_slack) as second:
        fake_hubspot.hold("deal.read").set()  # HubSpot answers again
        work(second)  # within the lease: the dead instance's claim is respected
        assert prompts(fake_slack) == []
        with time_machine.travel(datetime.now(UTC) + crm_flow.LEASE + timedelta(seconds=5), tick=True):
            work(second)
            work(second)
        [row] = losses(second)
    assert row.status == LossStatus.PROMPTED and row.attempts == 2
    assert len(prompts(fake_slack, "U2")) == 1


def test_a_rep_with_another_review_open_keeps_it_and_chooses_to_start_this_loss(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot
):
    from coach.slack.ids import ActionId

    fake = crm_app.slack.fake
    add_deal(fake_hubspot, "1001", "8", dealname="Stark Industries")
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True):
        rep = Rep(crm_app, "U2")
        rep.lost("Own deal I was reviewing")  # a draft of the rep's own
        post_hubspot(crm_app, [stage_change("1001", millis(LOST_AT))])
        work(crm_app)
        [prompt] = prompts(fake, "U2")
        with crm_app.coach.db.session() as s:
            draft_started = s.scalar(select(CrmLoss.draft_started_at))
        assert draft_started is None  # the rep's own draft was not replaced
        choice = click_review(crm_app, rep, prompt)
        assert choice["callback_id"] == "review_resume" and "Own deal I was reviewing" in blocks_text(choice["blocks"])
        before = len(fake.calls_to("views.update"))
        rep.click(ActionId.START_FRESH, value="x", view=choice)
        crm_app.settle()
        updated = fake.wait_for("views.update", before + 1)[-1]
    view = updated.params["view"]
    assert view_problems(view) == []
    assert initial(view, "deal_name") == "Stark Industries" and initial(view, "surface_reason") == "price"
    [row] = losses(crm_app)
    assert row.draft_started_at == LOST_AT


def test_a_dm_slack_posted_before_failing_to_answer_is_found_and_never_sent_twice(
    crm_app: RunningApp, fake_hubspot: FakeHubSpot
):
    fake = crm_app.slack.fake
    add_deal(fake_hubspot, "1101", "8")
    fake.fail_next("chat.postMessage", status=500, after=True)  # Slack posted it, then answered 500
    with time_machine.travel(LOST_AT + timedelta(minutes=1), tick=True) as clock:
        post_hubspot(crm_app, [stage_change("1101", millis(LOST_AT))])
        work(crm_app)
        clock.shift(timedelta(hours=1))
        work(crm_app)
    posted = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "U2"]
    assert len(posted) == 1  # the one Slack posted; found in the DM's history, not sent again
    [row] = losses(crm_app)
    assert row.status == LossStatus.PROMPTED and row.prompt_ts
