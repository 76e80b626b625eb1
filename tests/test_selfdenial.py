"""自責 or 自己否定, as plain Python: no Slack, no database (coach/review/selfdenial.py).

A verdict on the person earns a reframe; a specific, fixable skill earns encouragement to make it the one
change; facts, the product, someone else and the customer's own words earn nothing.
"""

from __future__ import annotations

import re

import pytest

from coach.review import rules, selfdenial
from coach.review.rules import Field
from coach.review.selfdenial import Reading

DENIAL, CRITIQUE, NEUTRAL = Reading.SELF_DENIAL, Reading.SELF_CRITIQUE, Reading.NEUTRAL

JA_CASES = [
    # verdicts on oneself (自己否定)
    ("正直、自分は営業に向いていないと思う", DENIAL),
    ("やっぱり自分はダメだ", DENIAL),
    ("自分が悪い", DENIAL),
    ("全部自分が悪いんです", DENIAL),
    ("結局、私が悪かったんだと思います", DENIAL),
    ("悪いのは自分です", DENIAL),
    ("私の力不足です", DENIAL),
    ("今回の失注は僕の力不足でした", DENIAL),
    ("自分の実力が足りない", DENIAL),
    ("向いてないのかも", DENIAL),
    ("やっぱり向いてないのかな", DENIAL),
    ("もう、向いていないのかもしれない", DENIAL),
    ("営業向いてない", DENIAL),
    ("私は営業に向いてないのかも", DENIAL),
    ("全部自分のせいだ", DENIAL),
    ("私のせいで負けた", DENIAL),
    ("全部私の責任です", DENIAL),
    ("自分は営業として失格です", DENIAL),
    ("営業マン失格", DENIAL),
    ("私には営業の才能がない", DENIAL),
    ("自分にはセンスがない", DENIAL),
    ("もう辞めたい", DENIAL),
    ("営業を辞めたい", DENIAL),
    ("この仕事を辞めたほうがいいのかも", DENIAL),
    ("私には無理です", DENIAL),
    ("もう無理", DENIAL),
    ("何をやってもダメ", DENIAL),
    ("自分なんかには無理だった", DENIAL),
    ("自分はダメな営業だ", DENIAL),
    ("役立たずだと思う", DENIAL),
    ("僕は何もできない", DENIAL),
    ("「自分は営業に向いていない」と思ってしまった", DENIAL),  # the rep's own thought, quoted
    # negations: not a verdict
    ("全部自分のせいとは思わない", NEUTRAL),
    ("自分が悪いとは思わない。決裁者に会えなかった", NEUTRAL),
    ("私のせいではない", NEUTRAL),
    ("自分が悪いわけではない", NEUTRAL),
    ("営業に向いていないとは思わない", NEUTRAL),
    ("自分はダメだとは思っていない", NEUTRAL),
    ("私の力不足とは限らない", NEUTRAL),
    ("自分のせいにしないで分析する", NEUTRAL),
    # specific, fixable skills (自責)
    ("ヒアリングが弱い", CRITIQUE),
    ("自分のヒアリングが浅かった", CRITIQUE),
    ("質問力が足りない", CRITIQUE),
    ("クロージングが苦手", CRITIQUE),
    ("価格交渉が下手", CRITIQUE),
    ("提案の詰めが甘かった", CRITIQUE),
    ("決裁者確認ができていなかった", CRITIQUE),
    ("価値の言語化が不十分だった", CRITIQUE),
    ("事前準備が足りなかった", CRITIQUE),
    ("デモの説明が雑だった", CRITIQUE),
    ("ヒアリングは苦手ではない", NEUTRAL),
    # the customer's words, the product, someone else, facts
    ("「今のシステムはもうやめたいんですよね」と言われた", NEUTRAL),
    ("顧客は「今のシステムはもうやめたいんですよね」と話していた", NEUTRAL),
    ("今のシステムはもうやめたいとのこと", NEUTRAL),
    ("「うちには向いていない」と言われた", NEUTRAL),
    ("「御社には無理でしょう」と断られた", NEUTRAL),
    ("『もう辞めたい』と担当者がこぼしていた", NEUTRAL),
    ("この製品は大企業に向いていない", NEUTRAL),
    ("価格表を見せたところで反応が変わった", NEUTRAL),
    ("私は決裁プロセスを知らなかった", NEUTRAL),
    ("値引き営業をやめたい", NEUTRAL),
    ("競合が入札で失格になった", NEUTRAL),
    ("自分はダメ元で値引きを提案した", NEUTRAL),
    ("自分が悪い印象を与えたかもしれない", NEUTRAL),
    ("先方の担当者が悪かった", NEUTRAL),
    ("予算の確認が遅れた", NEUTRAL),
    ("向いていない業界だった", NEUTRAL),
    ("私なんて", DENIAL),
    ("自分が情けない", DENIAL),
    ("自分には営業は無理", DENIAL),
    ("才能ない", DENIAL),
    ("自分は使えない", DENIAL),
    ("力不足でした", DENIAL),
    ("提案力不足", CRITIQUE),
    ("使えない機能が多い", NEUTRAL),
    ("私には予算の確認が無理ではなかった", NEUTRAL),
    ("もう無理かもと思ったが、そんなことはない", NEUTRAL),
]

EN_CASES = [
    # verdicts on oneself
    ("I'm not cut out for sales", DENIAL),
    ("Honestly I’m just not cut out for this", DENIAL),
    ("I can't do this job", DENIAL),
    ("I can't do this anymore.", DENIAL),
    ("I cannot do this job", DENIAL),
    ("Maybe sales isn't for me", DENIAL),
    ("Maybe sales just isn't for me.", DENIAL),
    ("This job is not for me", DENIAL),
    ("Selling might not be for me", DENIAL),
    ("It's my fault", DENIAL),
    ("It was all my fault", DENIAL),
    ("Everything is my fault", DENIAL),
    ("This is my fault, nobody else's", DENIAL),
    ("I don't think I'm cut out for this", DENIAL),
    ("I don't think I can do this", DENIAL),
    ("I'm not made for sales", DENIAL),
    ("I'm just not a salesperson", DENIAL),
    ("I'm a failure", DENIAL),
    ("I'm such an idiot", DENIAL),
    ("I am useless at this", DENIAL),
    ("I'm bad at this", DENIAL),
    ("I suck at this", DENIAL),
    ("I suck", DENIAL),
    ("I'm a terrible salesperson", DENIAL),
    ("I'm the problem", DENIAL),
    ("I should just quit.", DENIAL),
    ("Maybe I should find another job", DENIAL),
    ("I'll never make it", DENIAL),
    ("I always mess things up", DENIAL),
    ("I let the whole team down", DENIAL),
    ("I have no talent for sales", DENIAL),
    ("I'm in the wrong job", DENIAL),
    ("What's wrong with me", DENIAL),
    ("I don't belong in sales", DENIAL),
    ('"I\'m not cut out for this," I thought', DENIAL),  # the rep's own thought, quoted
    # negations
    ("It wasn't my fault", NEUTRAL),
    ("It wasn't all my fault", NEUTRAL),
    ("Not all my fault: the budget was cut", NEUTRAL),
    ("I don't think it's my fault", NEUTRAL),
    ("I don't think I'm a failure", NEUTRAL),
    ("I'm not a failure, I just skipped discovery", NEUTRAL),
    ("It's not that I can't do this job", NEUTRAL),
    # specific, fixable skills (self-responsibility)
    ("I'm bad at discovery questions", CRITIQUE),
    ("I'm weak at closing", CRITIQUE),
    ("I'm terrible at negotiating", CRITIQUE),
    ("I'm not good at handling objections", CRITIQUE),
    ("I struggle with pricing conversations", CRITIQUE),
    ("I suck at cold calling", CRITIQUE),
    ("I need to get better at qualifying", CRITIQUE),
    ("My discovery was shallow", CRITIQUE),
    ("My demo was rushed", CRITIQUE),
    ("It was partly my fault that we skipped the decision maker", CRITIQUE),
    # the customer's words, the product, someone else, facts
    ('The CFO said "this tool isn\'t for me"', NEUTRAL),
    ("“Honestly, it's my fault we waited so long,” the buyer told us", NEUTRAL),
    ("They said they can't do this without board approval", NEUTRAL),
    ("The customer said it was my fault the demo ran long", NEUTRAL),
    ('She told us "we should just quit this project"', NEUTRAL),
    ("I should quit offering discounts", NEUTRAL),
    ("I can't do this without the CFO in the room", NEUTRAL),
    ("The tool is not cut out for SMBs", NEUTRAL),
    ("I didn't ask who signs off", NEUTRAL),
    ("The demo was a failure", NEUTRAL),
    ("He is an idiot", NEUTRAL),
    ("I'm not sure the CFO was in the loop", NEUTRAL),
    ("Hi suck the lemon, said the buyer", NEUTRAL),
    ("I feel like a failure", DENIAL),
    ("My questions were too shallow", CRITIQUE),
    ("I'm not meant to be in sales", DENIAL),
    ("Sales isn't my thing", DENIAL),
    ("I keep failing", DENIAL),
    ("I give up", DENIAL),
    ("I can't close anything", DENIAL),
    ("It's all on me", DENIAL),
    ("I should never have taken this job", DENIAL),
    ("I'm the worst at discovery", CRITIQUE),
    ("I can't sell against their discount", NEUTRAL),
    ("I give up on this account for now", NEUTRAL),
    ("It's on me to book the next call", NEUTRAL),
]

CASES = JA_CASES + EN_CASES


def test_the_table_is_big_enough_and_balanced():
    assert len(CASES) >= 120
    assert len(JA_CASES) >= 60 and len(EN_CASES) >= 60
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    assert all(japanese.search(text) for text, _ in JA_CASES)
    assert not any(japanese.search(text) for text, _ in EN_CASES)


@pytest.mark.parametrize("text, reading", CASES, ids=[text for text, _ in CASES])
def test_each_text_reads_as_the_rep_meant_it(text, reading):
    assert selfdenial.read(text).reading is reading


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("決裁者に会えなかった。やっぱり自分はダメだ。", "やっぱり自分はダメだ"),
        (
            "Demo went long. Honestly I'm not cut out for sales. Next time, ask first.",
            "Honestly I'm not cut out for sales",
        ),
        ("I'm bad at discovery questions", "I'm bad at discovery questions"),
    ],
)
def test_the_finding_quotes_the_sentence_that_reads_so(text, phrase):
    assert selfdenial.read(text).phrase == phrase


def test_a_verdict_outweighs_a_skill_in_the_same_text():
    assert selfdenial.read("I'm bad at discovery questions. Maybe sales isn't for me.").reading is DENIAL
    assert selfdenial.read("ヒアリングが弱い。自分は営業に向いていない").reading is DENIAL


def test_nothing_written_reads_as_nothing():
    assert selfdenial.read(None).reading is NEUTRAL
    assert selfdenial.read("  \n").reading is NEUTRAL
    assert not rules.reads_as_self_denial(None, "")


def test_only_the_reps_reflective_answers_are_read():
    others = {Field.CUSTOMER_WORDS, Field.DEAL_NAME, Field.COMPETITOR, Field.DECISION_MAKER, Field.TIMELINE}
    assert not others & set(rules.REFLECTIVE_FIELDS)
    assert {Field.REACTION_CHANGE, Field.FAILED_QUESTION, Field.UNDERLYING_OWN} <= set(rules.REFLECTIVE_FIELDS)
    assert all(f in rules.MAX_LENGTH for f in rules.REFLECTIVE_FIELDS)  # every one is free text


@pytest.mark.parametrize("n", [2_000, 20_000])
def test_hostile_text_is_read_in_linear_time(n):
    # Long runs of qualifiers, quotes and clause breaks must not make the regexes backtrack for ever.
    assert selfdenial.read("I'm " + "just " * n + "fine").reading is NEUTRAL
    assert selfdenial.read("「" * n + "自分").reading is NEUTRAL
    assert selfdenial.read('"' * n).reading is NEUTRAL
    assert selfdenial.read("私" * n + "向いて").reading is NEUTRAL
    assert selfdenial.read("no, " * min(n, 1200) + "my fault").reading is DENIAL  # the last clause stands alone
    assert selfdenial.read("the " * n).reading is NEUTRAL
    assert selfdenial.read("、もう" * n).reading is NEUTRAL
    assert selfdenial.read(" " * 6000 + "営業を辞めたい").reading is NEUTRAL  # past what is read (READ_MAX)
    assert selfdenial.read(" " * 4000 + "営業を辞めたい").reading is DENIAL
