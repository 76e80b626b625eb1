"""The review loop end to end: signed requests into /slack/events, a fake Slack on loopback."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from coach.models import Review, ReviewDraft
from tests import review_input as ri
from tests.blockkit import message_problems, view_problems
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.slack_signing import block_actions_payload, view_closed_payload, view_submission_payload

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
# Tuesday 10 March 2026, 10:00 in Tokyo, 21:00 the day before in New York.
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


class Rep:
    """A rep clicking through the modals as Slack would send it."""

    def __init__(self, app: RunningApp, user_id: str) -> None:
        self.app, self.user_id = app, user_id
        self.view: dict | None = None

    def lost(self, text: str = "") -> dict:
        before = len(self.app.slack.fake.calls_to("views.open"))
        resp = self.app.slack.command(text, user_id=self.user_id)
        assert resp.status_code == 200 and resp.text == ""
        opened = self.app.slack.fake.wait_for("views.open", before + 1)[-1]
        assert opened.response["ok"], opened.response
        # The modal opens first and is filled in (views.update) a moment later: the form as the rep sees it.
        self.app.settle()
        self.view = self.app.slack.fake.views[opened.response["view"]["id"]]
        return self.view

    def submit(self, values: dict) -> dict:
        assert self.view is not None
        resp = self.app.slack.interact(view_submission_payload(self.view, values, user_id=self.user_id))
        body = self.app.slack.json(resp)
        if body.get("response_action") == "update":
            # Slack keeps the view id across response_action updates.
            self.view = {**body["view"], "id": self.view["id"]}
            assert view_problems(self.view) == []
        return body

    def close(self, values: dict) -> None:
        resp = self.app.slack.interact(view_closed_payload(self.view, values, user_id=self.user_id))
        assert resp.status_code == 200

    def click(self, action_id: str, value: str = "", values: dict | None = None, view: dict | None = None) -> None:
        view = view or self.view
        block_id = next(
            b["block_id"]
            for b in view["blocks"]
            if b["type"] == "actions" and any(e.get("action_id") == action_id for e in b["elements"])
        )
        payload = block_actions_payload(
            {"type": "button", "action_id": action_id, "block_id": block_id, "value": value},
            view=view,
            values=values or {},
            user_id=self.user_id,
            trigger_id=self.app.slack.fake.issue_trigger_id(),
        )
        assert self.app.slack.interact(payload).status_code == 200


def form_of(app: RunningApp, opened) -> dict:
    """The modal a views.open call opened, as the rep sees it once the app has filled it in."""
    assert opened.response["ok"], opened.response
    app.settle()
    return app.slack.fake.views[opened.response["view"]["id"]]


def blocks_text(blocks: list[dict]) -> str:
    out = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return "\n".join(out)


def input_ids(view: dict) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def complete_review(rep: Rep, *, lost_on: date, meeting: datetime, facts: dict | None = None, **commit_kwargs) -> dict:
    assert rep.submit(ri.facts(lost_on=lost_on, **(facts or {})))["response_action"] == "update"
    assert rep.submit(ri.lenses())["response_action"] == "update"
    assert rep.submit(ri.reasons())["response_action"] == "update"
    return rep.submit(ri.commit(meeting=meeting, **commit_kwargs))


def saved_reviews(app: RunningApp) -> list[Review]:
    with app.coach.db.session() as s:
        reviews = list(s.scalars(select(Review).order_by(Review.id)))
        for r in reviews:
            s.refresh(r, ["reasons"])
        return reviews


def test_japanese_rep_completes_review_and_gets_summary_in_japanese(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True) as clock:
        rep = Rep(running_app, "U1")
        view = rep.lost("Acme renewal")
        assert view_problems(view) == []
        assert view["title"]["text"] == "失注の振り返り"
        deal = next(b for b in view["blocks"] if b.get("block_id") == "deal_name")
        assert deal["element"]["initial_value"] == "Acme renewal"
        lost_on = next(b for b in view["blocks"] if b.get("block_id") == "lost_on")
        assert lost_on["element"]["initial_date"] == "2026-03-10"  # today in Tokyo, not in UTC

        clock.shift(timedelta(hours=3))
        assert rep.submit(ri.facts(lost_on=date(2026, 3, 10)))["response_action"] == "update"
        assert "課題" in blocks_text(rep.view["blocks"]) and "決裁" in blocks_text(rep.view["blocks"])
        rep.submit(ri.lenses())
        # Hints for the surface reason "price" come first in the catalogue.
        checkboxes = next(b for b in rep.view["blocks"] if b.get("block_id") == "underlying_codes")
        assert checkboxes["element"]["options"][0]["value"] == "value_not_conveyed"
        assert checkboxes["element"]["options"][0]["text"]["text"] == "価値が伝わっていない"
        rep.submit(ri.reasons())
        meeting = datetime(2026, 3, 12, 5, 30, tzinfo=UTC)  # 14:30 in Tokyo
        assert rep.submit(ri.commit(meeting=meeting)) == {}

        dm, share = fake.wait_for("chat.postMessage", 2)
    assert dm.params["channel"] == "U1" and dm.response["ok"]
    assert message_problems(dm.params["blocks"], dm.params.get("text")) == []
    text = blocks_text(dm.params["blocks"])
    assert "表向きの理由" in text and "価値が伝わっていない" in text
    assert "決裁者確認を必ず入れる" in text
    assert "14:30" in text and "Asia/Tokyo" in text
    assert "今回見送った最大の理由はどこでしたか" in text
    assert "2026年9月10日" in text  # re-contact six months after the loss

    assert share.params["channel"] == MANAGER_CHANNEL and share.response["ok"]
    assert message_problems(share.params["blocks"], share.params.get("text")) == []
    assert "<@U1>" in blocks_text(share.params["blocks"])
    assert "11/5 they said no." in blocks_text(share.params["blocks"])

    running_app.settle()
    [review] = saved_reviews(running_app)
    assert review.user_id == "U1" and review.locale == "ja" and review.timezone == "Asia/Tokyo"
    assert review.deal_name == "Acme renewal" and str(review.deal_size) == "1200000.00"
    assert review.customer_words == '「価格が合わない」と言われた / "It\'s over our budget this year"'
    assert [r.code or r.text for r in review.reasons] == [
        "value_not_conveyed",
        "decision_process_unknown",
        "Demoed before hearing the problem",
    ]
    assert review.next_meeting_at == meeting
    assert review.recontact_on == date(2026, 9, 10)
    assert review.review_hours == 3.0  # lost the same day: counted from opening /lost
    assert review.summary_ts == dm.response["ts"] and review.shared_ts == share.response["ts"]
    with running_app.coach.db.session() as s:
        assert s.scalar(select(ReviewDraft)) is None


def test_english_rep_in_new_york_sees_local_dates_and_english(running_app: RunningApp):
    fake = running_app.slack.fake
    with time_machine.travel(START, tick=True) as clock:
        rep = Rep(running_app, "U2")
        view = rep.lost()
        assert view["title"]["text"] == "Lost deal review"
        lost_on = next(b for b in view["blocks"] if b.get("block_id") == "lost_on")
        assert lost_on["element"]["initial_date"] == "2026-03-09"  # still Monday evening in New York
        clock.shift(timedelta(days=2))
        meeting = datetime(2026, 3, 13, 14, 0, tzinfo=UTC)  # 10:00 EDT (DST began 8 March)
        assert (
            complete_review(
                rep,
                lost_on=date(2026, 3, 8),
                meeting=meeting,
                change_code=None,
                change_own="Ask who signs off in the first five minutes",
                recontact="one_year",
                facts={"surface": "competitor", "competitor": "Initech"},
            )
            == {}
        )
        dm = fake.wait_for("chat.postMessage", 2)[0]
    text = blocks_text(dm.params["blocks"])
    assert "Stated reason" in text and "Went with a competitor (Initech)" in text
    assert "Our value did not come across" in text
    assert "Ask who signs off in the first five minutes" in text
    assert "Fri, Mar 13, 2026, 10:00 AM (America/New_York)" in text
    assert "What was the biggest reason you passed this time?" in text
    assert "Next time, try to review within 24 hours" in text
    [review] = saved_reviews(running_app)
    assert review.locale == "en" and review.change_code is None
    assert review.change_text == "Ask who signs off in the first five minutes"
    assert review.recontact_on == date(2027, 3, 8)
    # Lost on Sunday 8 March (18:00 New York), reviewed Thursday 12 March 01:00 UTC.
    assert review.review_hours == round(
        (START + timedelta(days=2) - datetime(2026, 3, 8, 22, 0, tzinfo=UTC)) / timedelta(hours=1), 1
    )


def test_unknown_locale_falls_back_to_the_configured_default(running_app: RunningApp):
    rep = Rep(running_app, "U3")  # fr-FR: not a language we speak
    assert rep.lost()["title"]["text"] == "Lost deal review"


def test_global_shortcut_opens_the_same_review(running_app: RunningApp):
    fake = running_app.slack.fake
    payload = {
        "type": "shortcut",
        "callback_id": "review_lost_deal",
        "trigger_id": fake.issue_trigger_id(),
        "user": {"id": "U2", "username": "alex", "team_id": "T1"},
        "team": {"id": "T1", "domain": "x"},
        "token": "t",
        "action_ts": "1.2",
        "api_app_id": "A1",
        "is_enterprise_install": False,
    }
    assert running_app.slack.interact(payload).status_code == 200
    opened = fake.wait_for("views.open")[0]
    # The modal opens first (no users.info, no database before it), then is filled in with the form.
    # (auth.test is Bolt's own, once per process, before any listener runs.)
    assert [c for c in fake.calls if c.method != "auth.test"][0] is opened
    assert opened.response["ok"] and opened.params["view"]["callback_id"] == "review_opening"
    running_app.settle()
    form = fake.views[opened.response["view"]["id"]]
    assert form["callback_id"] == "review_step"
    assert "deal_name" in input_ids(form)


def test_closed_modal_keeps_draft_and_next_lost_offers_resume(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost("Globex")
    today = ri.today()
    rep.submit(ri.facts(lost_on=today, deal="Globex expansion"))
    partial = ri.lenses(problem="missed", notes={"problem": "They never said what hurt"})
    rep.close(partial)
    with running_app.coach.db.session() as s:
        draft = s.scalar(select(ReviewDraft))
        assert draft.step == "lenses"
        assert draft.answers["problem_note"] == "They never said what hurt"
        assert draft.answers["deal_name"] == "Globex expansion"

    resume = rep.lost()
    assert resume["callback_id"] == "review_resume"
    assert "Globex expansion" in blocks_text(resume["blocks"])
    before = len(fake.calls_to("views.update"))
    rep.click("draft_resume", value=str(draft.id), view=resume)
    updated = fake.wait_for("views.update", before + 1)[-1]
    assert updated.response["ok"]
    blocks = {b.get("block_id"): b for b in updated.params["view"]["blocks"]}
    assert blocks["problem_note"]["element"]["initial_value"] == "They never said what hurt"
    assert blocks["problem_verdict"]["element"]["initial_option"]["value"] == "missed"


def test_start_fresh_discards_the_draft_and_keeps_the_new_deal_name(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost("Old deal")
    rep.close(ri.state(deal_name=ri.text("Old deal"), timeline=ri.text("a")))
    resume = rep.lost("New Deal")
    before = len(fake.calls_to("views.update"))
    rep.click("draft_start_fresh", view=resume)
    view = fake.wait_for("views.update", before + 1)[-1].params["view"]
    deal = next(b for b in view["blocks"] if b.get("block_id") == "deal_name")
    assert deal["element"]["initial_value"] == "New Deal"
    assert "timeline" not in (deal.get("element") or {})
    with running_app.coach.db.session() as s:
        [draft] = s.scalars(select(ReviewDraft)).all()
        assert draft.answers == {"deal_name": "New Deal"}


def test_closing_an_untouched_modal_leaves_no_draft(running_app: RunningApp):
    rep = Rep(running_app, "U2")
    rep.lost()
    rep.close(ri.state(deal_name=ri.text(None), timeline=ri.text(None)))
    with running_app.coach.db.session() as s:
        assert s.scalar(select(ReviewDraft)) is None
    assert rep.lost()["callback_id"] == "review_step"  # no resume prompt


def test_back_goes_to_previous_step_without_losing_what_was_typed(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    rep.submit(ri.facts(lost_on=ri.today(), timeline="Step one\nStep two"))
    typed = ri.lenses(notes={"relationship": "Champion left in October"})
    before = len(fake.calls_to("views.update"))
    rep.click("review_back", values=typed)
    back = fake.wait_for("views.update", before + 1)[-1]
    assert back.response["ok"]
    blocks = {b.get("block_id"): b for b in back.params["view"]["blocks"]}
    assert blocks["timeline"]["element"]["initial_value"] == "Step one\nStep two"
    # Forward again: the lenses typed before going back are still there.
    rep.view = {**back.params["view"], "id": rep.view["id"]}
    rep.submit(ri.facts(lost_on=ri.today(), timeline="Step one\nStep two"))
    blocks = {b.get("block_id"): b for b in rep.view["blocks"]}
    assert blocks["relationship_note"]["element"]["initial_value"] == "Champion left in October"


def test_every_view_and_message_sent_passed_slacks_checks(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U1")
    rep.lost()
    long = "長" * 3000
    complete_review_values = [
        ri.facts(
            lost_on=ri.today(),
            deal="D" * 150,
            timeline=long,
            words=long,
            reaction="r" * 1500,
            question="q" * 1500,
            surface="competitor",
            competitor="C" * 150,
        ),
        ri.lenses(maker="M" * 150, notes={k: "n" * 1000 for k in ("problem", "value", "relationship", "decision")}),
        ri.reasons(own="\n".join(f"Reason {i} " + "x" * 100 for i in range(12))[:1500]),
    ]
    for values in complete_review_values:
        assert rep.submit(values)["response_action"] == "update"
    rep.submit(ri.commit(meeting=datetime.now(UTC) + timedelta(days=1), change_code=None, change_own="y" * 300))
    posts = fake.wait_for("chat.postMessage", 2)
    for call in posts + fake.calls_to("views.open"):
        assert call.response["ok"], call.response
    share = posts[1]
    # Long answers are split across sections, never cut.
    assert blocks_text(share.params["blocks"]).count("長") == 6000


def test_self_denial_gets_a_kind_reframe_in_the_flow_and_the_summary(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    rep.submit(ri.facts(lost_on=ri.today(), reaction="Honestly I'm not cut out for sales"))
    reframe = "A loss is data, not a verdict on you"
    assert reframe in blocks_text(rep.view["blocks"])
    rep.submit(ri.lenses())
    rep.submit(ri.reasons())
    rep.submit(ri.commit(meeting=datetime.now(UTC) + timedelta(days=1)))
    dm = fake.wait_for("chat.postMessage")[0]
    assert reframe in blocks_text(dm.params["blocks"])
    [review] = saved_reviews(running_app)
    assert review.self_denial_flagged is True


def test_a_double_submit_saves_one_review(running_app: RunningApp):
    fake = running_app.slack.fake
    rep = Rep(running_app, "U2")
    rep.lost()
    rep.submit(ri.facts(lost_on=ri.today()))
    rep.submit(ri.lenses())
    rep.submit(ri.reasons())
    final = ri.commit(meeting=datetime.now(UTC) + timedelta(days=1))
    assert rep.submit(final) == {}
    assert rep.submit(final) == {}  # Slack shows the modal closed either way
    running_app.settle()
    assert len(saved_reviews(running_app)) == 1
    assert [c.params["channel"] for c in fake.calls_to("chat.postMessage")] == ["U2", MANAGER_CHANNEL]
