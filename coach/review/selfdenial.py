"""自責 or 自己否定: how the rep's own reflective text reads (METHOD §1, the article's 自分を責めすぎる).

Pure Python: no Slack, no database. Three readings:

- SELF_DENIAL: a verdict on the person ("I'm not cut out for sales", 「自分が悪い」, 「私の力不足です」).
  Earns a short, kind reframe, and an offer to rephrase it as facts before it is shared.
- SELF_CRITIQUE: a specific, fixable skill ("I'm bad at discovery questions", 「ヒアリングが弱い」). That is
  自責, what the article wants: it earns encouragement to make it the one change, never a reframe.
- NEUTRAL: everything else (facts, the product, someone else).

Only the rep's own words count: quoted speech (「…」, “…”, "…") and reported speech (「…と言われた」,
"they said …") are the customer's, and a negated verdict (「全部自分のせいとは思わない」, "It wasn't my
fault") is not one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Reading(StrEnum):
    NEUTRAL = "neutral"
    SELF_CRITIQUE = "self_critique"
    SELF_DENIAL = "self_denial"


@dataclass(frozen=True)
class Finding:
    reading: Reading
    phrase: str  # the sentence that reads so, as the rep wrote it (apostrophes folded, quotes of others blanked)


# --- Japanese -------------------------------------------------------------------------------------------

_I = r"(?:自分|私|わたし|僕|ぼく|俺|おれ|あたし)"
_JOB = r"(?:営業職|営業|セールス|この仕事|今の仕事|仕事|この職)"
_ROLE = r"(?:営業マン|営業担当|営業|社会人|人間)"
_CLAUSE_START = r"(?:^|(?<=[。！？!?\n、\s]))"
# At most three, so a run of 「、もう、もう…」 costs linear time.
_SOFTENERS = (
    r"(?:(?:正直|やっぱり|やっぱ|もう|たぶん|多分|本当に|ほんとに|ほんと|つくづく|結局|そもそも|どうせ)[、\s]*){0,3}"
)
_BAD = r"(?:ダメ|だめ|駄目)"
_UNFIT = r"向いてい?な(?:い|かった)"

_DENIAL_JA = [
    # 向いていない: about me or my job, never about a product (「この製品は大企業に向いていない」)
    rf"{_I}(?!の)(?:って|は|には|が|、)?[^。！？!?\nはが]{{0,12}}?(?:{_JOB}に|に)?(?:は|って)?{_UNFIT}",
    rf"{_JOB}(?:に|が|は)?(?:は)?{_UNFIT}",
    # 「向いてないのかも」 on its own (not 「向いていない業界」: that is about something else)
    rf"{_CLAUSE_START}{_SOFTENERS}{_UNFIT}(?=$|[。！？!?\n、…]|の|か|ん|気|と|な|よ|し|って|みたい)",
    # ダメ, 無理
    rf"{_I}(?:って|は|が|、)?(?:本当に|やっぱり|やっぱ|もう|結局|ほんと|つくづく)?{_BAD}(?!に|元|もと|押し|おし|出し)",
    rf"{_BAD}(?:な)?(?:営業マン|営業|人間|社員|やつ|奴)",
    r"何(?:を)?やっても(?:ダメ|だめ|駄目|うまくいかない|上手くいかない)",
    rf"{_I}(?:なんか|なんて)(?:が)?[^。！？!?\n]{{0,10}}?(?:無理|ダメ|だめ|駄目|できない)",
    rf"{_I}(?:には|に|じゃ|では)[^。！？!?\n]{{0,8}}?(?:無理|むり)",
    rf"{_I}(?:なんて|なんか)(?=$|[。！？!?\n…])",  # 「私なんて」 on its own
    rf"{_I}(?:が|は|って)?(?:本当に|つくづく|ほんとに)?(?:情けない|嫌になる|嫌い|恥ずかしい)",
    rf"{_I}(?:は|って)?(?:本当に|全然)?(?:使えない|役に立たない)(?=$|[。！？!?\n、…]|な|ん|よ|と|し)",
    rf"{_CLAUSE_START}もう(?:無理|むり)",
    # せい, 悪い, 力不足, 責任
    rf"{_I}のせい(?!に(?:しない|せず|され|しては|しちゃ|する|して))",
    rf"{_I}が(?:全部|すべて|全て|一番)?悪(?:い|かった)(?=$|[。！？!?\n、]|ん|の|です|でした|と|な|よ|から|って|し)",
    rf"悪いのは(?:全部|すべて)?{_I}",
    rf"{_I}の(?:力|実力|能力)(?:が)?(?:不足|足りない|足りなかった|のなさ)",
    rf"{_CLAUSE_START}{_SOFTENERS}(?:力|実力|能力)不足",  # 「力不足でした」 on its own
    rf"(?:全部|すべて|全て|何もかも){_I}の責任",
    # 失格, 才能がない, 役立たず
    rf"{_I}(?:は|って|、)?(?:もう)?{_ROLE}?(?:として)?失格",
    rf"{_ROLE}(?:として)?失格",
    rf"(?:{_I}(?:には|は|に)|{_JOB}の)[^。！？!?\n]{{0,6}}?(?:才能|センス|素質|能力|価値)(?:が|は)?(?:ない|無い)",
    r"役立たず",
    rf"{_CLAUSE_START}{_SOFTENERS}(?:営業の)?(?:才能|センス|素質)(?:が|は)?(?:ない|無い)",
    r"(?:できない|使えない|役に立たない)(?:人間|営業|社員|やつ|奴)",
    rf"{_I}(?:は|って)?(?:本当に|結局)?(?:何も|なにも)(?:でき|出来)(?:ない|なかった)",
    # 辞めたい
    rf"(?:{_CLAUSE_START}|(?<=もう)|{_I}(?:は|、|も))\s?{_JOB}(?:を|は)?(?:もう)?(?:辞め|やめ)(?:たい|よう|るべき|た(?:ほう|方)がいい)",
    rf"{_CLAUSE_START}(?:{_I}(?:は|、)?)?(?:もう)?(?:辞め|やめ)(?:たい|るべき|た(?:ほう|方)がいい)",
]

# Specific, fixable skills: saying one is weak is 自責, the start of the one change.
_SKILL_JA = (
    r"(?:ヒアリング|質問|深掘り|掘り下げ|提案書|提案|説明|プレゼン|デモ|クロージング|価格交渉|値引き交渉|交渉"
    r"|切り返し|反論処理|ニーズ(?:の)?把握|課題(?:の)?(?:把握|聞き出し|深掘り)|決裁者(?:の)?確認"
    r"|決裁プロセス(?:の)?(?:確認|把握)|事前準備|準備|話し方|聞き方|アイスブレイク|関係(?:づくり|作り|構築)"
    r"|信頼(?:関係)?(?:づくり|構築)|価値(?:の)?(?:言語化|説明|伝え方)|比較軸(?:の)?(?:提示|作り)"
    r"|競合(?:比較|対策)|フォロー|初回(?:訪問|商談)|最初の(?:5|５|五)分|時間配分|段取り|商談(?:の)?進め方|詰め)"
)
_WEAK_JA = (
    r"(?:弱い|弱かった|苦手|下手|へた|甘い|甘かった|浅い|浅かった|足りない|足りなかった|不足|不十分|雑だった|雑"
    r"|遅い|遅かった|できていない|できていなかった)"
)
_CRITIQUE_JA = [
    rf"{_SKILL_JA}(?:力|スキル)?(?:が|は|も)?(?:まだ|全然|かなり|少し|やや|とても|本当に|いつも)?{_WEAK_JA}",
]

# What follows a verdict and takes it back: 「…とは思わない」, 「…ではない」, 「…わけではない」.
_JA_NEGATED_AFTER = re.compile(
    r"^\s*(?:だ|です|である|な)?(?:とは|とも|なんて|なんか|ってことは|というわけでは|わけでは|わけじゃ|では|じゃ)"
    r"[^。！？!?\n]{0,8}?(?:ない|なかった|ありません|思わ|言え|限ら)"
    # 「…と思ったが、そんなことはない」
    r"|^[^。！？!?\n]{0,12}?(?:が|けど|でも)、?\s*(?:そんなこと|そう)(?:は|では|じゃ)?な"
)
# What follows words that are someone else's: 「…と言われた」, 「…とのこと」.
_JA_REPORTED_AFTER = re.compile(
    r"^[^。！？!?\n]{0,10}?(?:とのこと|と言われ|と言って|と言った|って言われ|って言って|と話して|とおっしゃ"
    r"|と伝えられ|と返され|と断られ|そうです)"
)

# --- English --------------------------------------------------------------------------------------------

_SELF = r"i(?:'m|\s+am|m)\s+"
# One loop (articles included), so a long run of qualifiers costs linear time, not quadratic.
_QUALIFIER = (
    r"(?:(?:just|such|so|really|totally|completely|simply|clearly|obviously|complete|total|probably|maybe|an?"
    r"|the\s+worst)\s+)*"
)
_MY_JOB = r"(?:this|it|sales|selling|my\s+job|this\s+job|the\s+job|this\s+work|this\s+career|everything)"
_END = r"(?=\s*(?:$|[.!?,;:…)]))"
# "bad at this" is a verdict; "bad at discovery" names a skill (see _CRITIQUE_EN).
_NOT_AT_A_SKILL = r"(?!\s+(?:at|with|in)\s+(?!" + _MY_JOB + r"\b))"
_DENIAL_EN = [
    rf"\b{_SELF}{_QUALIFIER}(?:(?:idiot|failure|loser|fraud|moron|joke|disaster|useless|hopeless|worthless|incompetent"
    rf"|pathetic|stupid|no\s+good|terrible|bad|awful|lousy){_NOT_AT_A_SKILL}(?:\s+at\s+{_MY_JOB})?"
    rf"|not\s+(?:good|any\s+good)\s+at\s+{_MY_JOB}"
    r"|(?:terrible|bad|awful|lousy|useless)\s+(?:sales\s*(?:person|rep|man|woman)|seller))\b",
    rf"\b{_SELF}{_QUALIFIER}not\s+(?:good|smart|strong)\s+enough\b",
    rf"\b(?:{_SELF}{_QUALIFIER}not|i\s+was\s+never|i'?ll\s+never\s+be)\s+(?:cut\s+out|made|meant|built)\s+for\b",
    r"\bnot\s+cut\s+out\s+for\s+(?:this\s+(?:job|work|career)|sales|selling)\b",
    rf"\b{_SELF}{_QUALIFIER}not\s+(?:a\s+)?(?:sales\s*(?:person|man|woman|rep)|seller|closer)\b",
    r"\bi\s+(?:don'?t|do\s+not)\s+think\s+i(?:'m|\s+am)\s+(?:cut\s+out|made|meant)\s+for\b",
    r"\bi\s+(?:don'?t|do\s+not)\s+think\s+i\s+can\s+do\s+(?:this|sales|it|the\s+job|my\s+job)\b",
    r"\bi\s+(?:don'?t|do\s+not)\s+think\s+(?:sales|selling|this\s+job)\s+is\s+for\s+me\b",
    r"\bi\s+(?:can'?t|cannot|can\s+not)\s+do\s+(?:this|it|sales|selling|this\s+job|my\s+job|the\s+job|anything\s+right)"
    r"(?:\s+job)?(?:\s+any\s*more)?" + _END,
    r"\b(?:sales|selling|this\s+job|this\s+career|this\s+(?:line\s+of\s+)?work)\s+(?:just\s+|probably\s+|really\s+)?"
    r"(?:is\s*n'?t|is\s+not|might\s+not\s+be|may\s+not\s+be|was\s*n'?t|was\s+never)\s+(?:really\s+)?for\s+me\b",
    r"\bi\s+(?:don'?t|do\s+not)\s+belong\s+in\s+(?:sales|this\s+job|this\s+team)\b",
    r"\bi\s+(?:don'?t|do\s+not)\s+deserve\s+(?:this|my)\s+job\b",
    rf"\b{_SELF}{_QUALIFIER}not\s+(?:meant|made|built|cut\s+out)\s+to\s+be\s+in\s+(?:sales|this\s+job)\b",
    r"\b(?:sales|selling|this\s+job)\s+(?:just\s+)?(?:is\s*n'?t|is\s+not)\s+my\s+thing\b",
    r"\bi\s+keep\s+(?:failing|messing\s+(?:it\s+|things\s+)?up|screwing\s+(?:it\s+|things\s+)?up)\b",
    rf"\b{_SELF}(?:so\s+|just\s+)?done\s+with\s+(?:sales|selling|this\s+job)\b",
    r"\bi\s+give\s+up" + _END,
    r"\bi\s+(?:can'?t|cannot|can\s+not)\s+(?:sell|close)(?:\s+(?:anything|a\s+thing|at\s+all))?" + _END,
    rf"\b{_SELF}(?:just\s+)?the\s+worst" + _END,
    r"\b(?:it'?s|it\s+is|it\s+was|that'?s)\s+all\s+on\s+me" + _END,
    rf"\b{_SELF}no\s+(?:sales\s*(?:person|man|woman)|seller|closer)\b",
    r"\bi\s+(?:should\s+(?:never|not)\s+have|should\s*n'?t\s+have)\s+(?:taken|accepted|gone\s+into|gotten\s+into)"
    r"\s+(?:this\s+job|sales|this\s+career)\b",
    rf"\b{_SELF}{_QUALIFIER}(?:in\s+)?the\s+wrong\s+(?:job|career|line\s+of\s+work)\b",
    rf"\b{_SELF}{_QUALIFIER}the\s+(?:problem|weak\s+link|reason\s+we\s+(?:lost|keep\s+losing))\b",
    r"\bi\s+suck\b(?!\s+at\s+(?!" + _MY_JOB + r"\b))",
    r"\bi\s+(?:should|might\s+as\s+well|want\s+to)\s+(?:just\s+|probably\s+|really\s+)?(?:quit|give\s+up)"
    r"(?:\s+(?:sales|selling|this\s+job|my\s+job|the\s+job|this\s+career))?" + _END,
    r"\bi\s+should\s+(?:just\s+)?(?:find|look\s+for|get)\s+(?:another|a\s+different|a\s+new)\s+(?:job|career)\b",
    r"\bi'?ll\s+never\s+(?:be\s+(?:good|any\s+good|good\s+enough)|make\s+it)\b",
    r"\bi\s+always\s+(?:fail|mess\s+(?:it\s+|things\s+)?up|screw\s+(?:it\s+|things\s+)?up|ruin\s+(?:it|everything))\b",
    r"\bi\s+ruin(?:ed)?\s+everything\b",
    r"\bi\s+let\s+(?:everyone|everybody|the\s+(?:whole\s+)?team)\s+down\b",
    r"\bi\s+have\s+no\s+(?:talent|aptitude|business)\s+(?:for|in)\s+(?:sales|selling|this)\b",
    r"\bmy\s+fault\b",
    rf"\bi\s+feel\s+(?:like\s+)?{_QUALIFIER}(?:failure|fraud|loser|idiot|useless|worthless|hopeless|incompetent)\b",
    r"\bwhat'?s\s+wrong\s+with\s+me\b",
    r"\bi\s+hate\s+myself\b",
]

_SKILL_EN = (
    r"(?:discovery(?:\s+(?:questions|calls))?|asking\s+(?:good\s+|the\s+right\s+|deeper\s+|open\s+)?questions"
    r"|(?:(?:open|deeper|follow-up|probing)\s+)?questions|qualifying|qualification|closing|negotiating|negotiation"
    r"|(?:talking|handling)\s+(?:about\s+)?(?:price|pricing)|pricing\s+(?:conversations|talks)|handling\s+objections"
    r"|objection\s+handling|objections|demos?|demoing|presenting|presentations|follow(?:ing)?[\s-]?ups?"
    r"|prospecting|cold\s+calling|listening|building\s+rapport|rapport|storytelling|explaining\s+(?:our\s+)?value"
    r"|value\s+(?:selling|messaging)|(?:finding|reaching|mapping|confirming)\s+(?:the\s+)?decision[\s-]makers?"
    r"|multi-?threading|time\s+management|preparation|preparing|prep|the\s+first\s+five\s+minutes|openings?"
    r"|small\s+talk|proposals?|(?:building\s+)?(?:the\s+)?(?:roi|business\s+case)s?|(?:setting\s+)?next\s+steps"
    r"|(?:building|setting)\s+(?:the\s+)?(?:buying|comparison)\s+criteria)"
)
_CRITIQUE_EN = [
    rf"\b{_SELF}(?:\w+\s+){{0,2}}?(?:bad|weak|poor|terrible|awful|lousy|rusty|useless|hopeless|clueless|worst|no\s+good"
    r"|not\s+(?:good|great|strong|confident))"
    rf"\s+(?:at|with|in)\s+{_SKILL_EN}\b",
    rf"\bi\s+(?:really\s+)?(?:struggle|struggled|suck)\s+(?:with|at)\s+{_SKILL_EN}\b",
    rf"\bi\s+(?:need|have)\s+to\s+(?:get\s+better|improve|work)\s+(?:at|on)\s+(?:my\s+)?{_SKILL_EN}\b",
    rf"\bmy\s+{_SKILL_EN}\s+(?:is|are|was|were)\s+(?:\w+\s+)?(?:weak|poor|bad|sloppy|rushed|shallow|thin|lacking"
    r"|not\s+(?:good|strong|deep)\s+enough)\b",
    r"\b(?:partly|partially|part\s+of\s+it\s+was)\s+my\s+fault\b",
]

# Before a verdict in the same clause, a negation takes it back: "It wasn't my fault", "I don't think I'm a failure".
_EN_NEGATION = re.compile(r"\b(?:not|never|no|nobody)\b|n'?t\b(?!\s+believe)|\bcannot\b")
_EN_PARTLY = re.compile(r"\b(?:partly|partially|part\s+of\s+it\s+was|somewhat|a\s+bit|only)\s*$")
_CLAUSE_BREAK = re.compile(r"[.!?;,:\n。！？、]|\b(?:but|and|so|because|though|although|yet)\b|(?:けど|が、)")
_EN_REPORTED_BEFORE = re.compile(
    r"\b(?:they|she|he|the\s+(?:customer|client|buyer|cfo|ceo|champion|prospect))\s+(?:said|told\s+us|told\s+me"
    r"|wrote|mentioned|replied)\b"
)

# Quoted words are someone else's (the customer's), unless the rep says they thought them.
_QUOTE = re.compile(r"「[^「」]*」|『[^『』]*』|“[^“”]*”|\"[^\"\n]*\"")
_OWN_THOUGHT_AFTER = re.compile(
    r"\s*(?:と|って)(?:思|考え|感じ|落ち込)|\s*,?\s*i\s+(?:thought|think|felt|feel|told\s+myself|kept\s+thinking)",
    re.IGNORECASE,
)

_FLAGS = re.IGNORECASE
_DENIAL = [re.compile(p, _FLAGS) for p in _DENIAL_JA + _DENIAL_EN]
_CRITIQUE = [re.compile(p, _FLAGS) for p in _CRITIQUE_JA + _CRITIQUE_EN]
_JA_CHAR = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _fold(text: str) -> str:
    # Curly apostrophes come from phones; fold them so "I’m" matches "I'm". Full-width spaces read as spaces.
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u3000", " ")


def _own_words(text: str) -> str:
    """The text with other people's quoted words blanked out (same length, so positions stay)."""

    def blank(m: re.Match[str]) -> str:
        if _OWN_THOUGHT_AFTER.match(text, m.end()):
            return m.group()
        return " " * len(m.group())

    return _QUOTE.sub(blank, text)


def _clause_before(text: str, start: int) -> str:
    prefix = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(prefix))
    return prefix[breaks[-1].end() :] if breaks else prefix


def _taken_back(text: str, m: re.Match[str]) -> bool:
    """The match is negated, hedged to a part, or someone else's words."""
    after = text[m.end() :]
    if _JA_NEGATED_AFTER.match(after) or _JA_REPORTED_AFTER.match(after):
        return True
    if _JA_CHAR.match(m.group()):
        return False  # Japanese negates after the verdict, never before it
    before = _clause_before(text, m.start())
    if _EN_REPORTED_BEFORE.search(before.lower()):
        return True
    return bool(_EN_NEGATION.search(before.lower()) or _EN_PARTLY.search(before.lower()))


_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?=\s|$)")
PHRASE_MAX = 80


def _sentence(text: str, m: re.Match[str]) -> str:
    """The sentence the match is in, as the rep wrote it (the offer to rephrase quotes it back)."""
    ends = [e.end() for e in _SENTENCE_END.finditer(text, 0, m.start())]
    start = ends[-1] if ends else 0
    end_match = _SENTENCE_END.search(text, m.end())
    end = end_match.start() if end_match else len(text)
    sentence = text[start:end].strip(" 、。\t")
    return sentence if len(sentence) <= PHRASE_MAX else sentence[: PHRASE_MAX - 1] + "…"


def _first(patterns: list[re.Pattern[str]], text: str) -> str | None:
    for pattern in patterns:
        for m in pattern.finditer(text):
            if not _taken_back(text, m):
                return _sentence(text, m)
    return None


# The longest answer the form takes is 3,000 characters; a crafted longer one is refused by the rules, and
# read no further than this.
READ_MAX = 5000


def read(text: str | None) -> Finding:
    """How one text of the rep's reads: a verdict on themselves wins over a skill to work on."""
    if not text or not text.strip():
        return Finding(Reading.NEUTRAL, "")
    own = _own_words(_fold(text[:READ_MAX]))
    phrase = _first(_DENIAL, own)
    if phrase:
        return Finding(Reading.SELF_DENIAL, phrase)
    phrase = _first(_CRITIQUE, own)
    if phrase:
        return Finding(Reading.SELF_CRITIQUE, phrase)
    return Finding(Reading.NEUTRAL, "")


def reads_as_self_denial(*texts: str | None) -> bool:
    return any(read(t).reading is Reading.SELF_DENIAL for t in texts)


def first_finding(reading: Reading, *texts: str | None) -> Finding | None:
    """The first text that reads so, with its phrase."""
    for t in texts:
        found = read(t)
        if found.reading is reading:
            return found
    return None
