"""Every new message and modal of the follow-through (follow-up call, 3-day message, prep list, booking nudge,
normal week, self-check counts) passes Slack's Block Kit checks in both languages, with the longest answers a
rep can give, and says what the article says. Pure builders: no Slack, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach.i18n import Translator
from coach.models import CustomerFollowUp, Review, SelfCheck, UnderlyingReasonRow
from coach.nudges import messages
from coach.nudges.rules import FollowUpOutcome
from coach.review.messages import full_review_blocks, summary_message
from coach.review.rules import MAX_LENGTH, Field, UnderlyingReason
from tests.blockkit import message_problems, view_problems

NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
NASTY = "&<>「」 <@U123> *bold* "


def translator(lang: str) -> Translator:
    return Translator(lang, ZoneInfo("Asia/Tokyo" if lang == "ja" else "America/New_York"))


def review(*, longest: bool = False, meeting: datetime | None = NOW + timedelta(days=2)) -> Review:
    deal = (NASTY * 20)[: MAX_LENGTH[Field.DEAL_NAME]] if longest else "Acme renewal"
    own = (NASTY * 200)[: MAX_LENGTH[Field.UNDERLYING_OWN]] if longest else "Never met the CFO"
    r = Review(
        id=7,
        team_id="T1",
        user_id="U1",
        locale="en",
        timezone="Asia/Tokyo",
        deal_name=deal,
        lost_on=date(2026, 3, 9),
        lost_at=NOW - timedelta(hours=10),
        surface_reason="price",
        competitor=None,
        timeline="Apr visit",
        customer_words="Too expensive",
        problem_verdict="held",
        value_verdict="missed",
        relationship_verdict="partly",
        decision_verdict="missed",
        change_code=None,
        change_text=(NASTY * 20)[: MAX_LENGTH[Field.CHANGE_OWN]] if longest else "Confirm the decision maker",
        next_meeting_at=meeting,
        recontact_choice="six_months",
        recontact_on=date(2026, 9, 9),
        share_with_manager=True,
        self_denial_flagged=False,
        started_at=NOW - timedelta(hours=1),
        completed_at=NOW,
        review_hours=10.0,
        shared_ts=None,
        manager_talk_at=None,
        change_settled_at=None,
    )
    r.reasons = [UnderlyingReasonRow(position=i, code=str(c)) for i, c in enumerate(UnderlyingReason)]
    r.reasons.append(UnderlyingReasonRow(position=99, text=own))
    return r


def followup(*, longest: bool = False, outcome: str = FollowUpOutcome.RECORDED) -> CustomerFollowUp:
    text = (NASTY * 100)[: messages.FOLLOWUP_MAX] if longest else "The budget went to security"
    return CustomerFollowUp(
        review_id=7,
        team_id="T1",
        user_id="U1",
        outcome=outcome,
        biggest_reason=text if outcome == FollowUpOutcome.RECORDED else None,
        would_have_chosen=text if outcome == FollowUpOutcome.RECORDED else None,
        priority_now=text if outcome == FollowUpOutcome.RECORDED else None,
        their_words=text if outcome == FollowUpOutcome.RECORDED else None,
        recorded_at=NOW,
    )


LANGS = ["en", "ja"]


def ok(content: messages.Message) -> str:
    text, blocks = content
    assert message_problems(blocks, text) == []
    return text + "\n" + str(blocks)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("longest", [False, True])
def test_the_follow_up_call_in_every_state_passes_block_kit(lang, longest):
    t, r = translator(lang), review(longest=longest)
    ask = ok(messages.followup_call_message(t, r))
    assert ("今回見送った最大の理由はどこでしたか" if lang == "ja" else "biggest reason you passed") in ask
    for state in (followup(longest=longest), followup(outcome=FollowUpOutcome.UNREACHABLE)):
        ok(messages.followup_call_message(t, r, state))
    recorded = ok(messages.followup_call_message(t, r, followup()))
    assert ("顧客が語った表向きの理由" if lang == "ja" else "Customer-stated reason") in recorded
    assert ("自分が挙げた表向きの理由" if lang == "ja" else "Your stated reason") in recorded
    for state in (None, followup(longest=longest)):
        assert view_problems(messages.followup_modal(t, r, state, message=("D1", "1.2"))) == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_3_day_message_lists_only_what_is_open_and_is_never_a_list_of_ticks(lang):
    t, r = translator(lang), review(longest=True)
    everything = ok(messages.checklist_message(t, r, sharing_available=True))
    assert ("結論を急がない" if lang == "ja" else "Don't rush to conclusions") in everything
    assert ":white_large_square:" not in everything
    r.shared_ts, r.manager_talk_at = "1.1", NOW
    only_change = ok(messages.checklist_message(t, r, sharing_available=True))
    assert "checklist_share" not in only_change and "checklist_manager_talked" not in only_change
    assert "checklist_keep_change" in only_change and "checklist_revise_change" in only_change
    r.change_settled_at = NOW
    text, blocks = messages.checklist_message(t, r, sharing_available=False)
    assert message_problems(blocks, text) == [] and len(blocks) == 2  # a header and one line
    assert view_problems(messages.change_modal(t, r, message=None)) == []


@pytest.mark.parametrize("lang", LANGS)
def test_sharing_a_review_whose_words_read_as_self_denial_asks_first(lang):
    t, r = translator(lang), review()
    plain_share = _share_button(messages.checklist_message(t, r, sharing_available=True))
    assert "confirm" not in plain_share  # nothing to ask about: one tap shares
    r.self_denial_flagged = True
    text, blocks = messages.checklist_message(t, r, sharing_available=True)
    assert message_problems(blocks, text) == []
    confirm = _share_button((text, blocks))["confirm"]
    asked = confirm["text"]["text"]
    assert ("自分への評価" if lang == "ja" else "a verdict on yourself") in asked
    assert confirm["confirm"]["text"] == ("このまま共有する" if lang == "ja" else "Share as it is")


def _share_button(message) -> dict:
    _, blocks = message
    return next(e for b in blocks for e in b.get("elements", []) if e.get("action_id") == "checklist_share")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("longest", [False, True])
def test_the_prep_list_has_the_four_items_the_opposite_action_and_what_to_avoid(lang, longest):
    t = translator(lang)
    shown = ok(messages.prep_message(t, review(longest=longest), lead_minutes=60))
    expected = (
        [
            "課題を深掘りする質問",
            "失注の原因と真逆の行動を1つ入れる",
            "声が小さくなる",
            "提案が守りに入る",
            "価格交渉を避ける",
            "60分前",
        ]
        if lang == "ja"
        else [
            "Hearing",
            "opposite to the cause of the loss",
            "voice getting quieter",
            "defensive proposal",
            "price conversation",
            "60 minutes before",
        ]
    )
    for words in expected:
        assert words in shown
    ok(messages.prep_message(t, review(longest=longest), lead_minutes=60, done=True))


@pytest.mark.parametrize("lang", LANGS)
def test_the_booking_nudge_and_an_unbooked_meeting_everywhere(lang):
    t, r = translator(lang), review(meeting=None)
    shown = ok(messages.book_meeting_message(t, r))
    assert "book_meeting" in shown
    summary = ok(summary_message(t, r, ask_normal_week=True))
    assert ("まだ決まっていません" if lang == "ja" else "Not booked yet") in summary
    assert "normal_week_edit" in summary
    assert view_problems(messages.meeting_modal(t, r, message=None)) == []
    ok(messages.pre_meeting_message(t, r))


@pytest.mark.parametrize("lang", LANGS)
def test_the_self_check_says_plainly_which_count_fell_against_the_normal_week(lang):
    t, r = translator(lang), review()
    check = SelfCheck(review_id=7, meetings=2, appointments=6, prospects=0, answered_at=NOW)
    shown = ok(messages.self_check_message(t, r, check, normal={"meetings": 5, "appointments": 4, "prospects": 3}))
    if lang == "ja":
        assert "商談数：今週2件（普段は5件）" in shown and "普段の1週間より落ちています：商談数、新規開拓数" in shown
    else:
        assert "Customer meetings: 2 this week, normal week 5" in shown
        assert "Customer meetings, New prospects approached fell against your normal week" in shown
    no_normal = ok(messages.self_check_message(t, r, check, normal=None))
    assert "normal_week_edit" in no_normal
    assert view_problems(messages.normal_week_modal(t, None)) == []
    assert view_problems(messages.normal_week_modal(t, {"meetings": 5, "appointments": 4, "prospects": 3})) == []


@pytest.mark.parametrize("lang", LANGS)
def test_re_contact_asks_what_changed_since_and_shows_what_the_customer_said_after_the_loss(lang):
    t, r = translator(lang), review(longest=True)
    r.customer_stated_reason = followup().biggest_reason
    shown = ok(messages.recontact_message(t, r, followup=followup(longest=True)))
    assert (
        "前回お話ししてから、状況はどう変わりましたか" if lang == "ja" else "changed for you since we last spoke"
    ) in shown
    assert ("今回見送った最大の理由はどこでしたか" if lang == "ja" else "biggest reason you passed") not in shown
    assert view_problems(messages.recontact_modal(t, r, message=None)) == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_full_review_shows_the_customer_stated_reason_beside_the_reps_reasons(lang):
    t, r = translator(lang), review(longest=True)
    blocks = full_review_blocks(t, r, followup=followup(longest=True))
    assert message_problems(blocks, "x") == []
    assert ("顧客が語った表向きの理由" if lang == "ja" else "Customer-stated reason") in str(blocks)
