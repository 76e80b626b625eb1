"""The managers' digest end to end: seeded reviews, the clock at the cron time, posts in a fake Slack.

Exactly once per period (run twice, two app instances racing, a crash
mid-post), the figures for known data, Japanese and English, who may ask
for it, long digests split within Slack's 50 blocks, and the chart upload.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from coach import i18n
from coach.app.jobs import start_scheduler
from coach.app.wiring import create_application
from coach.config import Settings
from coach.digest import blocks
from coach.digest import period as periods
from coach.digest.blocks import Section, heat_bar, split_messages
from coach.digest.data import DigestData, Repeat
from coach.digest.runs import Kind, claim, take_over
from coach.digest.service import METADATA_EVENT
from coach.i18n import Translator
from coach.models import DigestRun
from tests.blockkit import message_problems
from tests.conftest import MANAGER_CHANNEL, RunningApp
from tests.review_seed import insert, insert_win, review
from tests.test_review_flow import blocks_text

CRON = "0 9 * * mon"
# Monday 9 March 2026, 09:00 in Tokyo: the digest of Mon 2 March 09:00 – Mon 9 March 09:00 (Tokyo).
FIRE = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
PERIOD_START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
NOW = FIRE + timedelta(seconds=3)
MANAGER = "UMGR1"

# What the translator is expected to write for the new strings the tests read in Japanese.
# (The catalogue is filled in at the end; these stand in until then and never override it.)
PROPOSED_JA = {
    "Never lose the same way twice": "同じ失注は二度と繰り返さない",
    "Losses reviewed": "振り返った失注",
    "Sorry, the team digest is for sales managers. Your own reviews and patterns are on the app's Home tab, "
    "and `/lost export` sends you your reviews as a CSV.": (
        "申し訳ありません。チームのダイジェストは営業マネージャー向けです。"
        "ご自身の振り返りと傾向はアプリのホームタブで確認でき、"
        "`/lost export` でご自身の振り返りを CSV で受け取れます。"
    ),
}


@pytest.fixture
def settings_env(settings_env, request):
    """conftest's settings plus the digest's; a test may add more with indirect parametrisation."""
    return {
        **settings_env,
        "team_timezone": "Asia/Tokyo",
        "digest_cron": CRON,
        "manager_user_ids": MANAGER,
        **getattr(request, "param", {}),
    }


@pytest.fixture(autouse=True)
def _managers(fake_slack):
    fake_slack.add_user(MANAGER, tz="America/New_York", locale="en-US", name="Morgan Lee")
    fake_slack.add_user("UMGR2", tz="Asia/Tokyo", locale="ja-JP", name="Suzuki Ken")
    fake_slack.channel_members[MANAGER_CHANNEL] = ["UMGR2", "UBOT"]


@pytest.fixture
def proposed_ja(monkeypatch):
    catalogue = i18n._catalogue("ja")
    for msgid, text in PROPOSED_JA.items():
        if msgid not in catalogue:
            monkeypatch.setitem(catalogue, msgid, text)


def at(day: int, hour: int = 3, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def seed_known_team(app: RunningApp) -> None:
    """Four losses in the period, and the history around it that the digest looks back on."""
    db = app.coach.db
    insert(db, _known_rows())
    for user, day, days in (("U1", 4, 4), ("U2", 5, 10), ("U3", 7, 30)):
        insert_win(db, user_id=user, won_at=at(day), days_since_loss=days)
    insert_win(db, user_id="U5", won_at=at(6), days_since_loss=None)  # no loss before: counted, no recovery time
    insert_win(db, user_id="U1", won_at=at(20, month=2), days_since_loss=2)  # before the period


def _known_rows():
    feb = lambda d: at(d, month=2)  # noqa: E731
    return [
        # In the period: four losses by three reps.
        review(
            user_id="U1",
            completed_at=at(3),
            surface="price",
            codes=("value_not_conveyed", "decision_process_unknown"),
            own=("Demoed before hearing the problem",),
            review_hours=5,
            deal_size=1_000_000,
            verdicts={"problem": "held", "value": "missed", "relationship": "held", "decision": "missed"},
            words="「価格が合わない」と言われた",
            deal_name="Acme renewal",
            change_code="confirm_decision_maker",
            recontact_on=date(2026, 3, 12),
            locale="ja",
            tz="Asia/Tokyo",
        ),
        review(
            user_id="U2",
            completed_at=at(4),
            surface="price",
            codes=("value_not_conveyed", "no_comparison_axis"),
            own=(),
            review_hours=30,
            deal_size=2_500_000,
            verdicts={"problem": "partly", "value": "missed", "relationship": "partly", "decision": "held"},
            words="It's over our budget this year",
            deal_name="Globex expansion",
            change_code="question_order",
            notes={"value": "Couldn't say why us"},
        ),
        review(
            user_id="U2",
            completed_at=at(5),
            surface="competitor",
            codes=("not_in_comparison", "no_comparison_axis", "real_problem_not_heard"),
            own=(),
            review_hours=12,
            deal_size=None,
            verdicts={"problem": "missed", "value": "held", "relationship": "held", "decision": "missed"},
            words="SECRET: the rival had a clearer comparison",
            deal_name="Initech (not shared)",
            share=False,
            change_code=None,
            change_text="Ask about budget first",
            recontact_on=date(2026, 3, 15),
        ),
        review(
            user_id="U3",
            completed_at=at(6),
            surface="still_considering",
            codes=("low_priority", "real_problem_not_heard", "product_before_problem"),
            own=(),
            review_hours=20,
            deal_size=500_000,
            verdicts={"problem": "partly", "value": "partly", "relationship": "partly", "decision": "missed"},
            words="We'll think about it",
            deal_name="Umbrella pilot",
            change_code="first_five_minutes",
            recontact_on=date(2026, 3, 20),
        ),
        # Before the period: U1 named "value not conveyed" in January too (a repeat within 90 days).
        review(
            user_id="U1",
            completed_at=at(15, month=1),
            codes=("value_not_conveyed", "low_priority"),
            own=(),
            recontact_on=date(2026, 3, 25),
            locale="ja",
            tz="Asia/Tokyo",
        ),
        # U3's "low priority" in October is more than 90 days back: no repeat.
        review(
            user_id="U3", completed_at=datetime(2025, 10, 1, 3, tzinfo=UTC), codes=("low_priority",), own=("x", "y")
        ),
        # U4 repeated a reason, but not in this period: not this digest's news.
        review(user_id="U4", completed_at=at(10, month=1), codes=("decision_process_unknown",), own=("a", "b")),
        review(user_id="U4", completed_at=feb(1), codes=("decision_process_unknown",), own=("a", "b")),
        # Lost 16–23 February: their week-1 self-check came due the week before. One answer each.
        review(user_id="U5", completed_at=feb(17), kept="yes", recontact_on=date(2026, 3, 9), codes=("low_priority",)),
        review(user_id="U6", completed_at=feb(18), kept="partly", repeated="yes", codes=("low_priority",)),
        review(user_id="U7", completed_at=feb(19), kept="no", codes=("low_priority",)),
        review(user_id="U8", completed_at=feb(20), codes=("low_priority",)),
    ]


def digest_posts(app: RunningApp, since: int = 0):
    return [c for c in app.slack.fake.calls_to("chat.postMessage")[since:] if c.params["channel"] == MANAGER_CHANNEL]


def runs_in_db(app: RunningApp) -> list[DigestRun]:
    with app.coach.db.session() as s:
        return list(s.scalars(select(DigestRun).order_by(DigestRun.id)))


def assert_valid(call) -> None:
    assert call.response["ok"], call.response
    assert message_problems(call.params["blocks"], call.params.get("text")) == []


# --------------------------------------------------------------------------
# The period (pure)
# --------------------------------------------------------------------------


def test_scheduled_period_is_the_previous_cron_period_in_the_team_zone():
    p = periods.scheduled_period(CRON, "Asia/Tokyo", NOW)
    assert (p.start, p.end) == (PERIOD_START, FIRE)
    # A fire a little late, or a catch-up hours later, still names the same period.
    assert periods.scheduled_period(CRON, "Asia/Tokyo", FIRE + timedelta(hours=5)) == p
    # Just before the fire time it is still last week's.
    assert periods.scheduled_period(CRON, "Asia/Tokyo", FIRE - timedelta(seconds=1)).end == PERIOD_START


def test_scheduled_period_across_the_daylight_saving_change():
    # New York moved its clocks on Sunday 8 March 2026: the week is an hour short, both ends at 09:00 local.
    p = periods.scheduled_period(CRON, "America/New_York", datetime(2026, 3, 9, 13, 0, 1, tzinfo=UTC))
    assert p.start == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert p.end == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert p.length == timedelta(days=7, hours=-1)


@pytest.mark.parametrize(
    "cron, now, start, end",
    [
        (
            "*/15 * * * *",
            datetime(2026, 3, 9, 10, 7, tzinfo=UTC),
            datetime(2026, 3, 9, 9, 45, tzinfo=UTC),
            datetime(2026, 3, 9, 10, 0, tzinfo=UTC),
        ),
        (
            "0 8 1 * *",
            datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
            datetime(2026, 2, 1, 8, 0, tzinfo=UTC),
            datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        ),
        (
            "0 9 * * mon-fri",
            datetime(2026, 3, 9, 9, 30, tzinfo=UTC),  # Monday: since Friday
            datetime(2026, 3, 6, 9, 0, tzinfo=UTC),
            datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_scheduled_period_for_other_cron_lines(cron, now, start, end):
    p = periods.scheduled_period(cron, "UTC", now)
    assert (p.start, p.end) == (start, end)


def test_export_days_argument():
    assert periods.parse_export_days("export") == 30
    assert periods.parse_export_days("export 90") == 90
    assert periods.parse_export_days("export 0") is None
    assert periods.parse_export_days("export 400") is None
    assert periods.parse_export_days("export lots") is None
    assert periods.parse_export_days("export ²") is None  # a digit, but no number
    assert periods.parse_export_days("export ９０") == 90  # typed with a Japanese keyboard


def test_heat_bar_always_has_ten_squares():
    assert heat_bar({"held": 1, "partly": 1, "missed": 1}).count(":large_") == 10
    assert heat_bar({"held": 0, "partly": 0, "missed": 3}) == ":large_red_square:" * 10
    assert heat_bar({"held": 2, "partly": 1, "missed": 1}) == (
        ":large_green_square:" * 5 + ":large_yellow_square:" * 3 + ":large_red_square:" * 2
    )
    assert heat_bar({}) == ":white_large_square:" * 10


# --------------------------------------------------------------------------
# Exactly once
# --------------------------------------------------------------------------


def test_scheduler_has_the_digest_cron_job_at_monday_nine_in_the_team_zone(running_app: RunningApp):
    application = running_app.application
    scheduler = start_scheduler(
        application.dispatcher, 3600, digester=application.digester, digest_cron=CRON, team_timezone="Asia/Tokyo"
    )
    try:
        job = scheduler.get_job("managers_digest")
        fire = job.trigger.get_next_fire_time(None, PERIOD_START + timedelta(hours=1))
        assert fire == FIRE  # Monday 09:00 in Tokyo
        assert scheduler.get_job("digest_recovery") is not None
    finally:
        scheduler.shutdown(wait=True)


def test_scheduled_digest_posts_once_per_period_even_when_run_again(running_app: RunningApp):
    seed_known_team(running_app)
    digester = running_app.application.digester
    with time_machine.travel(NOW, tick=False) as clock:
        first = digester.run_scheduled()
        again = digester.run_scheduled()
        clock.shift(timedelta(minutes=30))
        recovered = digester.recover()  # the minute tick: nothing to catch up
    assert first.outcome == "posted" and again.outcome == "duplicate" and recovered == []
    posts = digest_posts(running_app)
    assert len(posts) == len(first.message_ts) == 1
    assert_valid(posts[0])
    meta = posts[0].params["metadata"]
    assert meta["event_type"] == METADATA_EVENT and meta["event_payload"]["run_id"] == first.run_id
    [run] = runs_in_db(running_app)
    assert (run.kind, run.status, run.period_start, run.period_end) == ("scheduled", "posted", PERIOD_START, FIRE)
    assert run.message_ts == posts[0].response["ts"] and run.channel_id == MANAGER_CHANNEL
    assert run.last_error is None


def _race(digesters, now: datetime) -> list:
    barrier = threading.Barrier(len(digesters))
    results: list = [None] * len(digesters)

    def go(i: int) -> None:
        barrier.wait()
        results[i] = digesters[i].run_scheduled(now)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(digesters))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    return results


def test_two_app_instances_racing_at_the_scheduled_minute_post_one_digest(running_app: RunningApp, settings_env):
    seed_known_team(running_app)
    other = create_application(Settings(**settings_env))  # a second instance: its own engine, its own claim name
    try:
        digesters = [running_app.application.digester, other.digester]
        assert digesters[0].instance != digesters[1].instance
        outcomes = []
        for week in range(4):  # four Mondays, a race each
            fire = FIRE + timedelta(weeks=week)
            outcomes.append(sorted(r.outcome for r in _race(digesters, fire + timedelta(seconds=1))))
    finally:
        other.coach.later.shutdown()
        other.coach.db.dispose()
    assert outcomes == [["duplicate", "posted"]] * 4
    runs = runs_in_db(running_app)
    assert len(runs) == 4 and {r.status for r in runs} == {"posted"}
    assert len(digest_posts(running_app)) == 4  # one message each (a small team)


def test_a_digest_left_posting_by_a_dead_instance_is_found_in_the_channel_not_posted_again(running_app: RunningApp):
    seed_known_team(running_app)
    app = running_app.application
    digester = app.digester
    period = periods.scheduled_period(CRON, "Asia/Tokyo", NOW)
    with time_machine.travel(NOW, tick=False) as clock:
        # The dead instance claimed the period and got its message out, then died before recording it.
        run = claim(app.coach.db, Kind.SCHEDULED, period, instance="dead-host:1:abc", now=NOW)
        text, message_blocks = digester.build(period, with_chart=False).messages[0]
        sent = running_app.coach.client.chat_postMessage(
            channel=MANAGER_CHANNEL,
            text=text,
            blocks=message_blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"run_id": run.id, "part": 1, "parts": 1}},
        )
        assert digester.run_scheduled().outcome == "duplicate"  # claimed: nobody else posts it
        assert digester.recover() == []  # within the lease: left alone
        clock.shift(digester.lease + timedelta(seconds=1))
        [result] = digester.recover()
    assert result.outcome == "recovered" and result.message_ts == [sent["ts"]]
    assert len(digest_posts(running_app)) == 1  # the dead instance's, only
    history = running_app.slack.fake.calls_to("conversations.history")
    assert history and history[-1].params["include_all_metadata"] in ("1", "true", True)
    [stored] = runs_in_db(running_app)
    assert stored.status == "posted" and stored.message_ts == sent["ts"] and stored.claimed_by == digester.instance


def test_a_second_takeover_still_finds_what_the_first_instance_posted(running_app: RunningApp):
    seed_known_team(running_app)
    app = running_app.application
    digester = app.digester
    period = periods.scheduled_period(CRON, "Asia/Tokyo", NOW)
    with time_machine.travel(NOW, tick=False) as clock:
        run = claim(app.coach.db, Kind.SCHEDULED, period, instance="dead-host:1:abc", now=NOW)
        text, message_blocks = digester.build(period, with_chart=False).messages[0]
        running_app.coach.client.chat_postMessage(
            channel=MANAGER_CHANNEL,
            text=text,
            blocks=message_blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"run_id": run.id, "part": 1, "parts": 1}},
        )
        # A second instance takes the run over and dies before reading the channel.
        clock.shift(digester.lease + timedelta(minutes=10))
        assert take_over(app.coach.db, run, instance="dead-too:2:def", now=datetime.now(UTC))
        clock.shift(digester.lease + timedelta(minutes=10))
        [result] = digester.recover()
    assert result.outcome == "recovered"
    assert len(digest_posts(running_app)) == 1


def test_a_claim_that_never_posted_is_posted_once_after_the_lease(running_app: RunningApp):
    seed_known_team(running_app)
    digester = running_app.application.digester
    period = periods.scheduled_period(CRON, "Asia/Tokyo", NOW)
    with time_machine.travel(NOW, tick=False) as clock:
        claim(running_app.coach.db, Kind.SCHEDULED, period, instance="dead-host:1:abc", now=NOW)
        clock.shift(digester.lease + timedelta(seconds=1))
        [result] = digester.recover()
        assert digester.recover() == []
    assert result.outcome == "recovered"
    assert len(digest_posts(running_app)) == 1
    assert runs_in_db(running_app)[0].status == "posted"


def test_the_app_down_at_the_fire_time_posts_the_digest_when_it_is_back(running_app: RunningApp):
    digester = running_app.application.digester
    with time_machine.travel(FIRE + timedelta(hours=3), tick=False):
        [result] = digester.recover()
        assert digester.recover() == []
    assert result.outcome == "posted" and len(digest_posts(running_app)) == 1
    with time_machine.travel(FIRE + periods.CATCH_UP + timedelta(hours=1), tick=False):
        assert digester.recover() == []  # too late for a catch-up of a period that was posted anyway


def test_slack_down_at_the_fire_time_is_retried_after_the_lease(running_app: RunningApp):
    fake = running_app.slack.fake
    digester = running_app.application.digester
    with time_machine.travel(NOW, tick=False) as clock:
        # A 500 may mean Slack posted: the client does not post again; the recovery looks in the channel first.
        fake.fail_next("chat.postMessage", status=500)
        first = digester.run_scheduled()
        assert first.outcome == "retrying"
        [run] = runs_in_db(running_app)
        assert run.status == "posting" and run.last_error == "internal_error"
        clock.shift(digester.lease + timedelta(seconds=1))
        [result] = digester.recover()
    assert result.outcome == "recovered"
    assert len([c for c in digest_posts(running_app) if c.response["ok"]]) == 1
    [run] = runs_in_db(running_app)
    assert run.status == "posted" and run.last_error is None


def test_a_permanent_slack_error_is_recorded_and_not_retried(running_app: RunningApp):
    fake = running_app.slack.fake
    digester = running_app.application.digester
    with time_machine.travel(NOW, tick=False) as clock:
        fake.fail_next("chat.postMessage", error="not_in_channel")
        assert digester.run_scheduled().outcome == "failed"
        clock.shift(timedelta(hours=1))
        assert digester.recover() == []
    [run] = runs_in_db(running_app)
    assert run.status == "failed" and run.last_error == "not_in_channel"
    assert len(fake.calls_to("chat.postMessage")) == 1


# --------------------------------------------------------------------------
# What it says
# --------------------------------------------------------------------------


def test_digest_figures_for_a_known_team(running_app: RunningApp):
    seed_known_team(running_app)
    digester = running_app.application.digester
    d = digester.compute(periods.scheduled_period(CRON, "Asia/Tokyo", NOW))
    assert (d.losses, d.reps, d.deal_value, d.within_24h) == (4, 3, Decimal("4000000"), 3)
    assert d.within_24h_share == 0.75
    assert dict(d.surface) == {"price": 2, "competitor": 1, "still_considering": 1}
    assert dict(d.underlying) == {
        "value_not_conveyed": 2,
        "no_comparison_axis": 2,
        "real_problem_not_heard": 2,
        "decision_process_unknown": 1,
        "not_in_comparison": 1,
        "low_priority": 1,
        "product_before_problem": 1,
        None: 1,
    }
    assert d.behind["price"][:2] == [("value_not_conveyed", 2), ("decision_process_unknown", 1)]
    assert d.lenses == {
        "problem": {"held": 1, "partly": 2, "missed": 1},
        "value": {"held": 1, "partly": 1, "missed": 2},
        "relationship": {"held": 2, "partly": 2, "missed": 0},
        "decision": {"held": 1, "partly": 0, "missed": 3},
    }
    assert dict(d.changes) == {"confirm_decision_maker": 1, "question_order": 1, "first_five_minutes": 1, None: 1}
    assert d.kept == {"yes": 1, "partly": 1, "no": 1, "unanswered": 1} and d.repeated_mistake == 1
    assert [(r.user_id, r.code, r.reviews) for r in d.repeats] == [
        ("U1", "value_not_conveyed", 2),
        ("U2", "no_comparison_axis", 2),
    ]
    # Quotes come from shared reviews only: U2's unshared competitor loss is never quoted.
    assert [q.deal_name for q in d.quotes["value"]] == ["Globex expansion", "Acme renewal"]
    assert [q.deal_name for q in d.quotes["decision"]] == ["Umbrella pilot", "Acme renewal"]
    assert "problem" not in d.quotes and "relationship" not in d.quotes
    assert [(r.user_id, r.on) for r in d.recontacts] == [
        ("U5", date(2026, 3, 9)),
        ("U1", date(2026, 3, 12)),
        ("U3", date(2026, 3, 20)),
    ]
    assert (d.recontacts_total, d.recontacts_unshared) == (4, 1)  # U2's unshared loss: counted, not named
    assert (d.wins, d.recovery_median_days, d.recovery_fastest_days) == (4, 10, 4)


def test_digest_in_english_reads_right(running_app: RunningApp):
    seed_known_team(running_app)
    with time_machine.travel(NOW, tick=False):
        running_app.application.digester.run_scheduled()
    [post] = digest_posts(running_app)
    assert_valid(post)
    text = blocks_text(post.params["blocks"])
    assert "Lost-deal digest: Mar 2, 2026 – Mar 9, 2026" in text
    assert "(Asia/Tokyo)" in text  # times in the team's zone
    assert "*Losses reviewed*\n4" in text and "*Deal value lost*\n4,000,000" in text
    assert "*Reviewed within 24 hours*\n75% (3 of 4)" in text
    assert "4 wins · median 10 days after the last loss (fastest 4)" in text
    assert "• Price was too high ×2" in text and "• Our value did not come across ×2" in text
    assert "• In the rep's own words ×1" in text
    assert "*Price was too high* ×2 → Our value did not come across (2)" in text
    squares = ":large_green_square:" * 3 + ":large_yellow_square:" * 2 + ":large_red_square:" * 5
    assert f"{squares}  *Value*  yes 1 · partly 1 · no 2" in text
    assert "Weakest lens: *Decision* (a no in 3 of 4 losses)." in text
    assert ":white_check_mark: Kept it 1" in text and ":grey_question: No answer 1" in text
    assert "1 of 4 kept their one change. 1 said they repeated the same mistake." in text
    assert "Never lose the same way twice" in text
    assert "• <@U1>: Our value did not come across (2 reviews)" in text
    assert "• <@U2>: We never shaped the buying criteria (2 reviews)" in text
    assert "<@U3>:" not in text and "<@U4>:" not in text
    assert "“It's over our budget this year”" in text and "_Couldn't say why us_" in text
    assert "SECRET" not in text and "Initech" not in text  # not shared with managers
    assert "• Mar 12, 2026 · <@U1> · Acme renewal (Price was too high)" in text
    assert "Mar 25, 2026" not in text and "Mar 15, 2026" not in text
    assert "1 more from reviews not shared with managers." in text


def test_digest_in_japanese_when_that_is_the_team_language(running_app: RunningApp, proposed_ja, monkeypatch):
    seed_known_team(running_app)
    digester = running_app.application.digester
    monkeypatch.setattr(digester, "locale", "ja")
    with time_machine.travel(NOW, tick=False):
        digester.run_scheduled()
    [post] = digest_posts(running_app)
    assert_valid(post)
    text = blocks_text(post.params["blocks"])
    assert "2026年3月2日" in text and "2026年3月9日" in text
    assert "同じ失注は二度と繰り返さない" in text
    assert "*振り返った失注*\n4" in text
    assert "価格が高い" in text  # surface reasons in the catalogue's words
    for lens in ("課題", "価値", "関係", "決裁"):
        assert f"*{lens}*" in text
    [chart] = running_app.slack.fake.files.values()
    assert chart.data.startswith(b"\x89PNG")


def test_an_empty_period_still_posts_a_short_digest(running_app: RunningApp):
    with time_machine.travel(NOW, tick=False):
        result = running_app.application.digester.run_scheduled()
    [post] = digest_posts(running_app)
    assert_valid(post)
    assert "No lost deals were reviewed in this period." in blocks_text(post.params["blocks"])
    assert running_app.slack.fake.files == {}  # nothing to chart
    assert result.outcome == "posted"


# --------------------------------------------------------------------------
# The chart
# --------------------------------------------------------------------------


def test_the_chart_is_uploaded_to_the_managers_channel(running_app: RunningApp):
    seed_known_team(running_app)
    with time_machine.travel(NOW, tick=False):
        running_app.application.digester.run_scheduled()
    [chart] = running_app.slack.fake.files.values()
    assert chart.completed and chart.channels == [MANAGER_CHANNEL]
    assert chart.data.startswith(b"\x89PNG") and chart.filename == "lost-deal-digest-2026-03-09.png"
    assert "Stated reasons beside underlying reasons" in chart.title
    assert chart.initial_comment.startswith("Lost-deal digest: Mar 2, 2026 – Mar 9, 2026")


def test_a_failed_chart_upload_leaves_the_text_digest_and_is_recorded(running_app: RunningApp):
    seed_known_team(running_app)
    running_app.slack.fake.fail_next("files.getUploadURLExternal", error="not_allowed_token_type")
    with time_machine.travel(NOW, tick=False):
        result = running_app.application.digester.run_scheduled()
    assert result.outcome == "posted" and len(digest_posts(running_app)) == 1
    [run] = runs_in_db(running_app)
    assert run.status == "posted" and run.last_error == "chart: not_allowed_token_type"


# --------------------------------------------------------------------------
# /lost digest
# --------------------------------------------------------------------------


def test_a_manager_asks_for_the_digest_and_it_goes_to_the_managers_channel(running_app: RunningApp):
    seed_known_team(running_app)
    with time_machine.travel(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), tick=False):
        answer = running_app.slack.answer("digest", user_id=MANAGER)
        running_app.settle()
    assert answer.response_type == "ephemeral" and f"<#{MANAGER_CHANNEL}>" in answer.text
    [post] = digest_posts(running_app)
    assert_valid(post)
    text = blocks_text(post.params["blocks"])
    assert f"Asked for by <@{MANAGER}>." in text
    assert "*Losses reviewed*\n4" in text  # the last 7 days: 28 Feb 12:00 – 7 Mar 12:00
    [run] = runs_in_db(running_app)
    assert (run.kind, run.requested_by, run.status) == ("on_demand", MANAGER, "posted")
    assert run.period_end - run.period_start == timedelta(days=7)


def test_an_on_demand_digest_that_fails_tells_the_manager(running_app: RunningApp):
    running_app.slack.fake.fail_next("chat.postMessage", error="not_in_channel")
    running_app.slack.answer("digest", user_id=MANAGER)
    running_app.settle()
    [failed, dm] = running_app.slack.fake.calls_to("chat.postMessage")
    assert failed.params["channel"] == MANAGER_CHANNEL and not failed.response["ok"]
    assert dm.params["channel"] == MANAGER and "not_in_channel" in dm.params["text"]
    [run] = runs_in_db(running_app)
    assert (run.status, run.last_error) == ("failed", "not_in_channel")


def test_on_demand_digests_are_not_deduplicated(running_app: RunningApp):
    with time_machine.travel(NOW, tick=False):
        for _ in range(2):
            running_app.slack.answer("digest", user_id=MANAGER)
            running_app.settle()
    assert len(digest_posts(running_app)) == 2 and len(runs_in_db(running_app)) == 2


def test_a_member_of_the_managers_channel_is_a_manager_and_membership_is_cached(running_app: RunningApp):
    answers = [running_app.slack.answer("digest", user_id="UMGR2") for _ in range(2)]
    running_app.settle()
    assert all(f"<#{MANAGER_CHANNEL}>" in a.text and "ダイジェスト" in a.text for a in answers)  # UMGR2 reads Japanese
    # The first answer needed Slack (language, membership), so it came after the ack; the second
    # was known already and came in the ack itself.
    assert [a.via for a in answers] == ["response_url", "ack"]
    assert len(digest_posts(running_app)) == 2
    assert len(running_app.slack.fake.calls_to("conversations.members")) == 1


def test_a_rep_is_politely_refused_in_english(running_app: RunningApp):
    answer = running_app.slack.answer("digest", user_id="U2")
    running_app.settle()
    assert answer.response_type == "ephemeral"
    assert answer.text.startswith("Sorry, the team digest is for sales managers.")
    assert digest_posts(running_app) == [] and runs_in_db(running_app) == []


def test_a_japanese_rep_on_a_cold_cache_is_refused_in_japanese(running_app: RunningApp, proposed_ja):
    # Nothing is known about U1 yet: the ack cannot wait for users.info, so the refusal follows it,
    # in U1's language all the same.
    answer = running_app.slack.answer("digest", user_id="U1")
    assert answer.via == "response_url" and answer.ack == {}
    assert answer.response_type == "ephemeral"
    assert answer.text.startswith("申し訳ありません、チームのダイジェストは営業マネージャー向けです。")
    running_app.settle()
    assert digest_posts(running_app) == []


def test_the_managers_channel_unreadable_asks_to_try_again(running_app: RunningApp):
    running_app.slack.fake.fail_next("conversations.members", error="channel_not_found")
    answer = running_app.slack.answer("digest", user_id="U2")
    assert "try again" in answer.text and digest_posts(running_app) == []


def test_the_ack_does_not_wait_for_the_managers_channel(running_app: RunningApp):
    fake = running_app.slack.fake
    running_app.slack.answer("help", user_id="U2")  # U2's language is known from now on
    gate = fake.hold("conversations.members")
    try:
        resp = running_app.slack.command("digest", user_id="U2")
        assert running_app.slack.json(resp) == {}
        assert gate.answered == 0, "the ack waited for conversations.members"
        fake.wait_for("conversations.members")
        assert fake.responses_to(resp.response_url) == []
    finally:
        gate.release()
    answer = running_app.slack.answer_of(resp)
    assert answer.text.startswith("Sorry, the team digest is for sales managers.")


@pytest.mark.parametrize("settings_env", [{"manager_channel": None}], indirect=True)
def test_without_a_managers_channel_the_command_explains(running_app: RunningApp):
    answer = running_app.slack.answer("digest", user_id=MANAGER)
    assert answer.response_type == "ephemeral" and "MANAGER_CHANNEL" in answer.text
    assert running_app.slack.fake.calls_to("chat.postMessage") == []
    with time_machine.travel(NOW, tick=False):
        assert running_app.application.digester.run_scheduled().outcome == "no_channel"
    assert runs_in_db(running_app) == []


@pytest.mark.parametrize("private, warned", [(False, True), (True, False)], ids=["public", "private"])
def test_a_public_managers_channel_is_warned_about_once(running_app: RunningApp, caplog, private, warned):
    running_app.slack.fake.channel_info[MANAGER_CHANNEL] = {"is_private": private}
    with caplog.at_level("WARNING", logger="coach.slack.managers"):
        for _ in range(2):
            running_app.slack.answer("digest", user_id="U2")
            running_app.coach.managers.forget()  # the next lookup reads the channel again
    warnings = [r for r in caplog.records if r.name == "coach.slack.managers" and r.levelname == "WARNING"]
    assert len(warnings) == (1 if warned else 0)
    if warned:
        message = warnings[0].getMessage()
        assert MANAGER_CHANNEL in message and "public" in message
        assert "private channel" in message and "MANAGER_USER_IDS" in message
    assert len(running_app.slack.fake.calls_to("conversations.members")) == 2
    assert len(running_app.slack.fake.calls_to("conversations.info")) == 1


# --------------------------------------------------------------------------
# Long digests
# --------------------------------------------------------------------------


def _big_team(reps: int, *, per_rep: int = 2) -> list:
    rows = []
    for n in range(reps):
        for k in range(per_rep):
            rows.append(
                review(
                    user_id=f"UT{n:04d}",
                    completed_at=at(2 + k % 6, hour=1 + n % 20),
                    codes=("value_not_conveyed", "no_comparison_axis", "low_priority"),
                    surface=["price", "timing", "competitor"][k % 3],
                    deal_name=f"株式会社テスト{n}-{k} " + "長い案件名" * 10,
                    words="「今期は予算が取れませんでした」" * 30,
                    recontact_on=date(2026, 3, 10 + k % 10),
                )
            )
    return rows


@pytest.mark.parametrize("reps, per_rep", [(200, 2), (1, 300)], ids=["team-of-200-reps", "one-rep-300-reviews"])
def test_long_digests_split_into_valid_messages_without_cutting_a_section(running_app: RunningApp, reps, per_rep):
    insert(running_app.coach.db, _big_team(reps, per_rep=per_rep))
    with time_machine.travel(NOW, tick=False):
        result = running_app.application.digester.run_scheduled()
    posts = digest_posts(running_app)
    assert result.outcome == "posted" and len(posts) == len(result.message_ts)
    for i, post in enumerate(posts, start=1):
        assert_valid(post)
        assert len(post.params["blocks"]) <= 50
        assert post.params["blocks"][0]["type"] == "header"
        assert post.params["metadata"]["event_payload"] == {"run_id": result.run_id, "part": i, "parts": len(posts)}
    if reps == 200:
        assert len(posts) >= 2
        assert "(continued)" in posts[1].params["blocks"][0]["text"]["text"]
        text = "\n".join(blocks_text(p.params["blocks"]) for p in posts)
        assert text.count("• <@UT") >= 200  # every repeating rep is named
        # A section never straddles two messages: each section's title appears once, in one message.
        title = "*:repeat: Never lose the same way twice*"
        assert sum(title in blocks_text(p.params["blocks"]) for p in posts) == 1


def test_split_messages_packs_whole_sections_and_cuts_only_an_oversized_one():
    t = Translator("en")

    def sec(title: str, n: int) -> Section:
        return Section(
            title, [{"type": "section", "text": {"type": "mrkdwn", "text": f"{title} {i}"}} for i in range(n)]
        )

    messages = split_messages(t, "Digest", [sec("A", 30), sec("B", 30), sec("C", 120), sec("D", 5)])
    assert all(len(m) <= 50 for m in messages)
    assert all(message_problems(m, "x") == [] for m in messages)
    texts = [[b.get("text", {}).get("text", "") for b in m] for m in messages]
    # A and B whole, each in one message; C over three; D whole.
    assert sum(any(x.startswith("A ") for x in m) for m in texts) == 1
    assert sum(any(x.startswith("B ") for x in m) for m in texts) == 1
    assert sum(any(x.startswith("C ") for x in m) for m in texts) == 3
    assert all(m[0]["type"] == "header" for m in messages[1:])
    assert sum(1 for m in texts for x in m if x.startswith("C ")) == 120


def test_digest_messages_count_their_parts():
    t = Translator("en")
    data = DigestData(period=periods.Period(PERIOD_START, FIRE))
    data.repeats = [Repeat(f"U{n:04d}", "low_priority", 2) for n in range(900)]
    data.repeat_reps = 900
    parts = blocks.digest_messages(t, data)
    assert len(parts) >= 2
    assert parts[1][0].endswith(f"(part 2 of {len(parts)})")
    assert all(message_problems(b, text) == [] for text, b in parts)


def test_customer_quotes_full_of_markup_are_shown_whole_and_within_limits():
    """Escaping makes "&" five characters long: the quotes are clipped after escaping, so none is cut off."""
    from coach.digest.data import Quote

    t = Translator("en")
    data = DigestData(period=periods.Period(PERIOD_START, FIRE))
    data.losses = 12
    data.lenses = {lens: {"missed": 3} for lens in ("problem", "value", "relationship", "decision")}
    data.quotes = {lens: [Quote(f"U{n}", "&" * 200, "<" * 300, "&<>" * 200) for n in range(3)] for lens in data.lenses}
    parts = blocks.digest_messages(t, data)
    assert all(message_problems(b, text) == [] for text, b in parts)
    quote_blocks = [
        b["text"]["text"]
        for _, bs in parts
        for b in bs
        if b["type"] == "section" and "&amp;" * 10 in b.get("text", {}).get("text", "")
    ]
    assert len(quote_blocks) == 4  # one section per lens
    for text in quote_blocks:
        assert len(text) <= 3000
        assert text.count("> — <@U") == 3  # every quote keeps its attribution: nothing was cut at the end
