"""`/lost export`: a CSV of the period's reviews into the requester's DM; a rep gets only their own."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.conftest import Answer, RunningApp
from tests.review_seed import insert, review

MANAGER = "UMGR1"
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
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
    insert(
        app.coach.db,
        [
            review(
                user_id="U1",
                completed_at=days_ago(2),
                deal_name="アクメ社 更新案件",
                words="「価格が合わない」",
                codes=("value_not_conveyed", "decision_process_unknown"),
                own=("デモを先にしてしまった",),
                kept="partly",
                repeated="no",
                locale="ja",
                tz="Asia/Tokyo",
            ),
            review(
                user_id="U2",
                completed_at=days_ago(3),
                deal_name="Globex expansion",
                words="Over budget",
                surface="competitor",
                codes=("no_comparison_axis",),
                own=("Never met the CFO", "Late demo"),
                change_code=None,
                change_text="Ask who signs in the first call",
                review_hours=30,
            ),
            review(user_id="U2", completed_at=days_ago(45), deal_name="Initech (45 days ago)"),
            review(user_id="U2", completed_at=days_ago(100), deal_name="Umbrella (100 days ago)"),
            review(
                user_id="U3",
                completed_at=days_ago(5),
                deal_name='=HYPERLINK("http://evil","x")',
                words="+cmd|' /C calc'!A0",
            ),
            review(user_id="U9", completed_at=days_ago(1), deal_name="Other workspace", team_id="T2"),
        ],
    )


def export(app: RunningApp, user_id: str, text: str = "export") -> tuple[Answer, list[dict[str, str]], object]:
    fake = app.slack.fake
    with time_machine.travel(NOW, tick=False):
        answer = app.slack.answer(text, user_id=user_id)
        app.settle()
    [upload] = fake.files.values()
    raw = upload.data
    assert raw.startswith("\ufeff".encode()), "UTF-8 with a BOM, so Excel shows Japanese"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    return answer, rows, upload


def test_a_manager_exports_the_teams_last_30_days(running_app: RunningApp):
    seed(running_app)
    answer, rows, upload = export(running_app, MANAGER)
    assert answer.response_type == "ephemeral" and "team's reviews from the last 30 days" in answer.text
    assert [r["Deal"] for r in rows] == ['\'=HYPERLINK("http://evil","x")', "Globex expansion", "アクメ社 更新案件"]
    assert {r["Rep (Slack user id)"] for r in rows} == {"U1", "U2", "U3"}  # not the other workspace's
    # The DM was opened first (files need a channel id), and the file shared there.
    assert running_app.slack.fake.calls_to("conversations.open")[-1].params["users"] == MANAGER
    assert upload.channels == ["D" + MANAGER[1:]] and upload.completed
    assert upload.filename.endswith("-30d.csv") and "3 reviews" in upload.initial_comment
    acme = rows[-1]
    assert acme["Underlying reasons"] == (
        "Our value did not come across / We didn't know the decision process / デモを先にしてしまった"
    )
    assert acme["The customer's words"] == "「価格が合わない」"
    assert acme["Self-check: kept the one change?"] == "Partly kept it"
    assert acme["Self-check: repeated the same mistake?"] == "No, I didn't"
    assert acme["Within 24 hours"] == "Yes" and acme["Problem"] == "Partly" and acme["Value"] == "No"
    globex = rows[1]
    assert globex["The one change for the next meeting"] == "Ask who signs in the first call"
    assert globex["Within 24 hours"] == "No" and globex["Self-check: kept the one change?"] == ""
    assert globex["Stated reason"] == "Went with a competitor" and globex["Competitor"] == "Rival Inc"
    # A cell a spreadsheet would run as a formula is defused.
    assert rows[0]["The customer's words"].startswith("'+cmd")
    # The finishing time is in the requester's zone (New York).
    assert rows[1]["Review finished"] == (NOW - timedelta(days=3)).astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")


def test_a_managers_export_leaves_out_what_reps_did_not_share_but_keeps_their_own(running_app: RunningApp):
    insert(
        running_app.coach.db,
        [
            review(user_id="U2", completed_at=days_ago(2), deal_name="Kept private", share=False),
            review(user_id=MANAGER, completed_at=days_ago(2), deal_name="The manager's own loss", share=False),
            review(user_id="U1", completed_at=days_ago(2), deal_name="Shared with managers"),
        ],
    )
    _, rows, _ = export(running_app, MANAGER)
    assert sorted(r["Deal"] for r in rows) == ["Shared with managers", "The manager's own loss"]


def test_a_reps_export_holds_only_their_own_reviews(running_app: RunningApp):
    seed(running_app)
    answer, rows, upload = export(running_app, "U2")
    assert "your reviews from the last 30 days" in answer.text
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


def test_export_days_argument(running_app: RunningApp):
    seed(running_app)
    with time_machine.travel(NOW, tick=False):
        answer = running_app.slack.answer("export 90", user_id="U2")
        running_app.settle()
    assert "last 90 days" in answer.text
    [upload] = running_app.slack.fake.files.values()
    deals = upload.data.decode("utf-8-sig")
    assert "Initech (45 days ago)" in deals and "Umbrella (100 days ago)" not in deals and "アクメ" not in deals

    answer = running_app.slack.answer("export forever", user_id="U2")
    assert "/lost export 90" in answer.text and answer.response_type == "ephemeral"
    running_app.settle()
    assert len(running_app.slack.fake.files) == 1  # a wrong argument exports nothing


def test_a_rep_exports_their_own_while_the_managers_channel_cannot_be_read(running_app: RunningApp):
    seed(running_app)
    running_app.slack.fake.fail_next("conversations.members", status=500)
    answer, rows, upload = export(running_app, "U2")
    assert answer.text.startswith(
        "I couldn't check the managers' channel just now, so this export holds only your own reviews."
    )
    assert "your reviews from the last 30 days" in answer.text
    assert [r["Deal"] for r in rows] == ["Globex expansion"]
    assert upload.channels == ["D2"] and "-mine-" in upload.filename


def test_a_japanese_rep_is_told_in_japanese_that_the_csv_is_on_its_way(running_app: RunningApp):
    seed(running_app)
    answer, rows, upload = export(running_app, "U1")
    assert answer.via == "response_url"  # nothing known about U1 before: the answer followed the ack
    assert answer.text == "直近30日の振り返りを CSV にまとめています。このアプリとの DM に届きます。"
    [row] = rows  # U1's own review only (the CSV speaks Japanese to U1 too)
    assert "アクメ社 更新案件" in row.values() and "U1" in row.values()


def test_nothing_to_export_says_so_in_the_dm(running_app: RunningApp):
    with time_machine.travel(NOW, tick=False):
        running_app.slack.answer("export", user_id="U2")
        running_app.settle()
    assert running_app.slack.fake.files == {}
    [dm] = running_app.slack.fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "D2" and "nothing to export" in dm.params["text"]


def test_a_failed_upload_is_reported_to_the_requester(running_app: RunningApp):
    seed(running_app)
    running_app.slack.fake.fail_next("files.completeUploadExternal", error="not_in_channel")
    with time_machine.travel(NOW, tick=False):
        running_app.slack.answer("export", user_id="U2")
        running_app.settle()
    [dm] = running_app.slack.fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "U2" and "not_in_channel" in dm.params["text"]


def test_export_csv_is_readable_for_a_big_team(running_app: RunningApp):
    insert(
        running_app.coach.db,
        [
            review(
                user_id=f"UB{n:03d}",
                completed_at=days_ago(1 + n % 20),
                deal_name=f"案件{n}",
                recontact_on=date(2026, 9, 1),
            )
            for n in range(1200)
        ],
    )
    _, rows, _ = export(running_app, MANAGER)
    assert len(rows) == 1200 and len({r["Review id"] for r in rows}) == 1200
