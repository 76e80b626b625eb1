"""`/lost export`: a CSV of the period's reviews into the requester's DM; a rep gets only their own."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine

from coach.digest import flows
from tests.conftest import RunningApp
from tests.review_seed import insert, review

MANAGER = "UMGR1"
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def settings_env(settings_env):
    return {**settings_env, "manager_user_ids": MANAGER}


@pytest.fixture(autouse=True)
def _manager(fake_slack):
    fake_slack.add_user(MANAGER, tz="America/New_York", locale="en-US", name="Morgan Lee")
    fake_slack.channel_members["CMANAGERS"] = []


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def seed(app: RunningApp) -> None:
    insert(app.coach.db, [
        review(user_id="U1", completed_at=days_ago(2), deal_name="アクメ社 更新案件", words="「価格が合わない」",
               codes=("value_not_conveyed", "decision_process_unknown"), own=("デモを先にしてしまった",),
               kept="partly", repeated="no", locale="ja", tz="Asia/Tokyo"),
        review(user_id="U2", completed_at=days_ago(3), deal_name="Globex expansion", words="Over budget",
               surface="competitor", codes=("no_comparison_axis",), own=("Never met the CFO", "Late demo"),
               change_code=None, change_text="Ask who signs in the first call", review_hours=30),
        review(user_id="U2", completed_at=days_ago(45), deal_name="Initech (45 days ago)"),
        review(user_id="U2", completed_at=days_ago(100), deal_name="Umbrella (100 days ago)"),
        review(user_id="U3", completed_at=days_ago(5), deal_name="=HYPERLINK(\"http://evil\",\"x\")",
               words="+cmd|' /C calc'!A0"),
        review(user_id="U9", completed_at=days_ago(1), deal_name="Other workspace", team_id="T2"),
    ])


def export(app: RunningApp, user_id: str, text: str = "export") -> tuple[dict, list[dict[str, str]], object]:
    fake = app.slack.fake
    with time_machine.travel(NOW, tick=False):
        body = app.slack.json(app.slack.command(text, user_id=user_id))
        app.settle()
    [upload] = fake.files.values()
    raw = upload.data
    assert raw.startswith("\ufeff".encode()), "UTF-8 with a BOM, so Excel shows Japanese"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    return body, rows, upload


def test_a_manager_exports_the_teams_last_30_days(running_app: RunningApp):
    seed(running_app)
    body, rows, upload = export(running_app, MANAGER)
    assert body["response_type"] == "ephemeral" and "team's reviews from the last 30 days" in body["text"]
    assert [r["Deal"] for r in rows] == ["'=HYPERLINK(\"http://evil\",\"x\")", "Globex expansion", "アクメ社 更新案件"]
    assert {r["Rep (Slack user id)"] for r in rows} == {"U1", "U2", "U3"}  # not the other workspace's
    # The DM was opened first (files need a channel id), and the file shared there.
    assert running_app.slack.fake.calls_to("conversations.open")[-1].params["users"] == MANAGER
    assert upload.channels == ["D" + MANAGER[1:]] and upload.completed
    assert upload.filename.endswith("-30d.csv") and "3 reviews" in upload.initial_comment
    acme = rows[-1]
    assert acme["Underlying reasons"] == ("Our value did not come across / We didn't know the decision process / "
                                          "デモを先にしてしまった")
    assert acme["The customer's words"] == "「価格が合わない」"
    assert acme["Self-check: kept the one change?"] == "Partly kept it"
    assert acme["Self-check: repeated the same mistake?"] == "No, I didn't"
    assert acme["Within 24 hours"] == "Yes" and acme["Problem"] == "Partly" and acme["Value"] == "Missed"
    globex = rows[1]
    assert globex["The one change for the next meeting"] == "Ask who signs in the first call"
    assert globex["Within 24 hours"] == "No" and globex["Self-check: kept the one change?"] == ""
    assert globex["Surface reason"] == "Went with a competitor" and globex["Competitor"] == "Rival Inc"
    # A cell a spreadsheet would run as a formula is defused.
    assert rows[0]["The customer's words"].startswith("'+cmd")
    # The finishing time is in the requester's zone (New York).
    assert rows[1]["Review finished"] == (NOW - timedelta(days=3)).astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")


def test_a_reps_export_holds_only_their_own_reviews(running_app: RunningApp):
    seed(running_app)
    body, rows, upload = export(running_app, "U2")
    assert "your reviews from the last 30 days" in body["text"]
    assert [r["Deal"] for r in rows] == ["Globex expansion"]
    assert {r["Rep (Slack user id)"] for r in rows} == {"U2"}
    raw = upload.data.decode("utf-8-sig")
    for other in ("U1", "U3", "アクメ", "HYPERLINK", "価格が合わない", "Other workspace"):
        assert other not in raw, f"{other} leaked into U2's export"
    assert upload.channels == ["D2"]


def test_a_rep_in_the_managers_channel_is_a_manager_for_the_export(running_app: RunningApp):
    seed(running_app)
    running_app.slack.fake.channel_members["CMANAGERS"] = ["U2"]
    _, rows, _ = export(running_app, "U2")
    assert {r["Rep (Slack user id)"] for r in rows} == {"U1", "U2", "U3"}


def test_export_of_the_last_90_days_through_slack(running_app: RunningApp):
    seed(running_app)
    _, rows, upload = export(running_app, MANAGER, "export 90")
    assert "Initech (45 days ago)" in [r["Deal"] for r in rows]


class _Ack:
    def __init__(self) -> None:
        self.kwargs: dict | None = None

    def __call__(self, **kwargs) -> None:
        self.kwargs = kwargs


def _command(user_id: str, text: str) -> dict:
    return {"team_id": "T1", "user_id": user_id, "text": text, "trigger_id": "x", "channel_id": "C1"}


def test_export_days_argument_once_routed(running_app: RunningApp):
    seed(running_app)
    coach = running_app.coach
    with time_machine.travel(NOW, tick=False):
        ack = _Ack()
        flows.handle_export_command(coach, ack, coach.client, _command("U2", "export 90"))
        running_app.settle()
    assert "last 90 days" in ack.kwargs["text"]
    [upload] = running_app.slack.fake.files.values()
    deals = upload.data.decode("utf-8-sig")
    assert "Initech (45 days ago)" in deals and "Umbrella (100 days ago)" not in deals and "アクメ" not in deals

    ack = _Ack()
    flows.handle_export_command(coach, ack, coach.client, _command("U2", "export forever"))
    assert "/lost export 90" in ack.kwargs["text"] and ack.kwargs["response_type"] == "ephemeral"


def test_nothing_to_export_says_so_in_the_dm(running_app: RunningApp):
    with time_machine.travel(NOW, tick=False):
        running_app.slack.json(running_app.slack.command("export", user_id="U2"))
        running_app.settle()
    assert running_app.slack.fake.files == {}
    [dm] = running_app.slack.fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "D2" and "nothing to export" in dm.params["text"]


def test_a_failed_upload_is_reported_to_the_requester(running_app: RunningApp):
    seed(running_app)
    running_app.slack.fake.fail_next("files.completeUploadExternal", error="not_in_channel")
    with time_machine.travel(NOW, tick=False):
        running_app.slack.json(running_app.slack.command("export", user_id="U2"))
        running_app.settle()
    [dm] = running_app.slack.fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "U2" and "not_in_channel" in dm.params["text"]


def test_export_csv_is_readable_for_a_big_team(running_app: RunningApp):
    insert(running_app.coach.db, [review(user_id=f"UB{n:03d}", completed_at=days_ago(1 + n % 20),
                                         deal_name=f"案件{n}", recontact_on=date(2026, 9, 1)) for n in range(1200)])
    _, rows, _ = export(running_app, MANAGER)
    assert len(rows) == 1200 and len({r["Review id"] for r in rows}) == 1200
