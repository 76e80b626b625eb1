"""The Japanese catalogue covers every English string in the code, faithfully.

Message ids are extracted from the `coach` package at test time, with the same
mapping as `pybabel extract -F babel.cfg`, so adding an English string without
a Japanese translation fails here. To fix a failure, update the catalogue:

    pybabel extract -F babel.cfg -k _ -k gettext -c Translators: --no-location --sort-output \
        --no-wrap --project=lost-deal-coach -o coach/locale/messages.pot .
    pybabel update -i coach/locale/messages.pot -d coach/locale -l ja --no-wrap --ignore-obsolete

then translate the new (empty or `#, fuzzy`) entries in
coach/locale/ja/LC_MESSAGES/messages.po and delete their `#, fuzzy` line.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import coach
from coach.i18n import LOCALE_DIR, Translator

PACKAGE_DIR = Path(coach.__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
BABEL_CFG = ROOT / "babel.cfg"
JA_PO = LOCALE_DIR / "ja" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "gettext": None}
CALL_NAMES = {"_", "gettext"}
CONTEXT_CALL_NAMES = {"pgettext"}  # (context, msgid)

# Slack limits (plain_text): modal title/submit/close 24, button and option text 75.
MODAL_CHROME = ("Lost deal review", "Next", "Save review", "Later", "Cancel", "Close")
BUTTONS = ("Review a lost deal", "Resume", "Start fresh", "Back")
OPTIONS = (
    "Price was too high",
    "Bad timing",
    "Went with a competitor",
    "Still considering",
    "No decision was made",
    "Other",
    "Our value did not come across",
    "It was a low priority for the customer",
    "We never shaped the buying criteria",
    "Discovery never got to the customer's real problem",
    "We explained the product before the problem",
    "We didn't know the decision process",
    "We never made the shortlist",
    "lens verdict\x04Yes",
    "lens verdict\x04Partly",
    "lens verdict\x04No",
    "Change only the order of my questions",
    "Change how the first five minutes go",
    "Always confirm the decision maker",
    "In six months",
    "In one year",
    "On a date I choose",
    "Share this review with my manager",
    "Often behind this stated reason",
    "Reasons of my own (below)",
)
OPTION_SOFT_LIMIT = 30  # Japanese option labels read best short

# The source article's wording, which the Japanese copy must use (METHOD.md).
KEY_STRINGS = {
    "What was the biggest reason you passed this time?": "今回見送った最大の理由はどこでしたか",
    "Among the options you compared, what decided it?": "比較された中で決め手になった点は何でしたか",
    "If we could improve one thing, what would it be?": "もし改善できるとしたらどこでしょうか",
    "Problem": "課題",
    "Value": "価値",
    "Relationship": "関係",
    "Decision": "決裁",
    "The four lenses": "4つの観点",
    "Stated reason": "表向きの理由",
    "Underlying reasons": "裏の理由",
    "Facts, not feelings": "感情を入れず、事実だけ",
    "Change only the order of my questions": "質問の順番だけ変える",
    "Change how the first five minutes go": "最初の5分の話し方を変える",
    "Always confirm the decision maker": "決裁者確認を必ず入れる",
    "Our value did not come across": "価値が伝わっていない",
    "We never shaped the buying criteria": "比較軸を作れなかった",
    "In six months": "半年後",
    "In one year": "1年後",
    "Where did the customer's reaction change?": "どこで相手の反応が変わったか",
    "Which question failed to draw out the real need?": "どの質問で本音を引き出せなかったか",
}


def _msgid(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


def _key(context: str | None, msgid: str) -> str:
    """How a message is told apart: its msgid, with its context in front if it has one (gettext's "\\x04")."""
    return f"{context}\x04{msgid}" if context else msgid


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    """msgid -> where it is used, as `pybabel extract -F babel.cfg` sees the code today."""
    with BABEL_CFG.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, filename=str(BABEL_CFG))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
    ):
        found.setdefault(_key(context, _msgid(message)), []).append(f"{filename}:{lineno}")
    assert found, f"no messages extracted from {PACKAGE_DIR}: is babel.cfg mapping `coach/**.py`?"
    return found


@pytest.fixture(scope="module")
def catalogue():
    with JA_PO.open("rb") as f:
        return read_po(f, locale="ja", abort_invalid=True)


@pytest.fixture(scope="module")
def ja() -> dict[str, str]:
    with JA_PO.open("rb") as f:
        catalog = read_po(f, locale="ja")
    return {
        _key(m.context, m.id): m.string for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def _fields(text: str) -> set[tuple[str, str, str]]:
    """`{name!conv:spec}` fields of a str.format template."""
    return {
        (name, conv or "", spec or "") for _lit, name, spec, conv in string.Formatter().parse(text) if name is not None
    }


def _literal(arg: ast.expr | None) -> str | None:
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _source_calls() -> list[tuple[str, int, ast.expr | None]]:
    """Every `_(...)` / `x._(...)` / `x.gettext(...)` / `x.pgettext(...)` call in the package, including inside
    f-strings. A pgettext call is given as one string constant: its context and msgid joined as in `_key`."""
    calls = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in CALL_NAMES:
                calls.append((str(path.relative_to(ROOT)), node.lineno, node.args[0] if node.args else None))
            elif name in CONTEXT_CALL_NAMES:
                context, msgid = (_literal(a) for a in (node.args + [None, None])[:2])
                arg = ast.Constant(_key(context, msgid)) if context and msgid else None
                calls.append((str(path.relative_to(ROOT)), node.lineno, arg))
    return calls


def test_po_file_parses(catalogue):
    assert catalogue.locale is not None and str(catalogue.locale) == "ja"
    assert catalogue.plural_forms == "nplurals=1; plural=0;"
    assert len([m for m in catalogue if m.id]) > 0


def test_every_translatable_call_is_visible_to_pybabel(extracted):
    """A msgid pybabel cannot see never reaches the catalogue, so it can never be translated.

    Python 3.11 tokenizes an f-string as one token: `f"*{t._('Label')}*"` hides the call from
    `pybabel extract`. Call `t._()` outside the f-string, e.g. `"*" + t._("Label") + "*"`.
    A non-literal first argument (variable, f-string, concatenation with a variable) cannot be
    extracted either.
    """
    problems = []
    for where, lineno, arg in _source_calls():
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            problems.append(f"{where}:{lineno}: msgid is not a string literal")
        elif where not in {w.rsplit(":", 1)[0] for w in extracted.get(arg.value, ())}:
            problems.append(f"{where}:{lineno}: {arg.value!r} is not extracted from this file (inside an f-string?)")
    assert not problems, "\n".join(problems)


def test_every_msgid_has_a_japanese_translation(extracted, catalogue):
    used = {msgid: list(where) for msgid, where in extracted.items()}
    for where, lineno, arg in _source_calls():  # also what pybabel cannot see (see the test above)
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            used.setdefault(arg.value, []).append(f"{where}:{lineno}")
    by_id = {_key(m.context, m.id): m for m in catalogue if m.id}
    missing = [
        f"{msgid!r} ({', '.join(where)})"
        for msgid, where in sorted(used.items())
        if msgid not in by_id or not by_id[msgid].string
    ]
    fuzzy = [repr(msgid) for msgid in sorted(used) if msgid in by_id and by_id[msgid].fuzzy]
    assert not missing, "untranslated, run pybabel extract/update and translate:\n" + "\n".join(missing)
    assert not fuzzy, "fuzzy (check the Japanese, then drop `#, fuzzy`):\n" + "\n".join(fuzzy)


def test_no_untranslated_or_fuzzy_entries_in_catalogue(catalogue):
    bad = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
    assert not bad, bad


def test_placeholders_are_identical(catalogue):
    bad = []
    for m in catalogue:
        if not m.id or not m.string:
            continue
        try:
            src, dst = _fields(m.id), _fields(m.string)
        except ValueError as e:  # unbalanced braces
            bad.append(f"{m.id!r}: {e}")
            continue
        if src != dst:
            bad.append(f"{m.id!r}: {sorted(src)} != {sorted(dst)}")
            continue
        sample = {name: "x" for name, _c, _s in src}
        m.string.format(**sample)
    assert not bad, "\n".join(bad)


def test_slack_markup_survives(catalogue):
    """Emoji codes, slash commands and env names stay; bold and code markers stay balanced."""
    bad = []
    for m in catalogue:
        if not m.id or not m.string:
            continue
        for pattern in (r":[a-z0-9_+-]+:", r"/lost\b", r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", r"\n"):
            if sorted(re.findall(pattern, m.id)) != sorted(re.findall(pattern, m.string)):
                bad.append(f"{m.id!r}: {pattern} differs")
        for marker in ("*", "`"):
            if m.id.count(marker) and m.string.count(marker) % 2:
                bad.append(f"{m.id!r}: unbalanced {marker}")
    assert not bad, "\n".join(bad)


def test_slack_length_limits(ja):
    for msgid in MODAL_CHROME:
        assert len(ja.get(msgid, "")) <= 24, (msgid, ja.get(msgid))
    for msgid in BUTTONS + OPTIONS:
        assert len(ja.get(msgid, "")) <= 75, (msgid, ja.get(msgid))
    for msgid in OPTIONS:
        assert len(ja.get(msgid, "")) <= OPTION_SOFT_LIMIT, (msgid, ja.get(msgid))


@pytest.mark.parametrize(("msgid", "expected"), sorted(KEY_STRINGS.items()))
def test_translator_speaks_the_method_in_japanese(msgid, expected):
    assert Translator("ja").gettext(msgid) == expected


@pytest.mark.parametrize(
    ("msgid", "expected"), [("Yes", "できていた"), ("Partly", "一部できていた"), ("No", "できていなかった")]
)
def test_lens_verdicts_answer_the_lens_questions(msgid, expected):
    # 「課題：問題なし」 read as "the customer had no problem"; the verdict now answers "did we?".
    assert Translator("ja").pgettext("lens verdict", msgid) == expected
    assert Translator("en").pgettext("lens verdict", msgid) == msgid


def test_a_context_keeps_a_shared_english_word_apart():
    assert Translator("ja").gettext("Yes") == "はい" and Translator("ja").gettext("No") == "いいえ"


def test_translator_formats_japanese_with_placeholders():
    t = Translator("ja")
    assert t.gettext("Please keep this under {limit} characters.", limit=200) == "200文字以内で入力してください。"
    assert t._("final call: {who}", who="佐藤部長") == "最終判断者：佐藤部長"


def test_english_stays_english():
    assert Translator("en").gettext("Problem") == "Problem"


# The house style of the Japanese copy (issue 9, docs/GLOSSARY.md), checked on every entry of the catalogue.
JA_STYLE = {
    "uses あなた (say nothing, or 自分)": re.compile(r"あなた"),
    "counts 裏にある可能性 (the term is 裏の理由)": re.compile(r"裏にある可能性"),
    "has a half-width colon after Japanese text (use ：)": re.compile(
        r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e」』）]\s?:(?![a-z0-9_+-]+:)"
    ),
    "shows hours with a decimal (say 約2時間)": re.compile(r"\d+\.\d+\s?時間|\{hours\}"),
    "writes a number in kanji (24時間, 3日, 3つ)": re.compile(
        r"(?<!不)(?!十分)[一二三四五六七八九十]+(?:時間|日|週間|分|か月|ヶ月|年|件|つ|人|行)"
    ),
    "names the manager other than マネージャー": re.compile(r"上司|先輩"),
    "shows a deal name without 「」": re.compile(r"(?<!「)\{deal\}|\{deal\}(?!」)"),
    "runs an emoji code into the text (Slack needs a space)": re.compile(r":[a-z0-9_+-]+:(?=[^\s])"),
    "ends a sentence in plain form (です・ます throughout)": re.compile(
        r"(?:だ|である|(?<!ませ)ない|(?<!でし|まし)た|(?<!ま)す(?<!です)(?<!ます)|る|(?<!ましょ)う)[。！]"
    ),
}


@pytest.mark.parametrize("rule", sorted(JA_STYLE))
def test_japanese_house_style(catalogue, rule):
    pattern = JA_STYLE[rule]
    bad = [m.string for m in catalogue if m.id and m.string and pattern.search(m.string)]
    assert not bad, f"{rule}:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "text, rule",
    [
        ("あなたの振り返り", "uses あなた (say nothing, or 自分)"),
        ("裏にある可能性を三つ挙げる", "counts 裏にある可能性 (the term is 裏の理由)"),
        ("最終判断者: 佐藤", "has a half-width colon after Japanese text (use ：)"),
        ("失注から2.0時間後", "shows hours with a decimal (say 約2時間)"),
        ("二十四時間以内", "writes a number in kanji (24時間, 3日, 3つ)"),
        ("三日以内にやること", "writes a number in kanji (24時間, 3日, 3つ)"),
        ("上司に共有する", "names the manager other than マネージャー"),
        ("{deal} の振り返り", "shows a deal name without 「」"),
        ("自分はダメだ。", "ends a sentence in plain form (です・ます throughout)"),
        (":tada:「Acme」を受注しました", "runs an emoji code into the text (Slack needs a space)"),
    ],
)
def test_the_house_style_rules_catch_what_they_name(text, rule):
    assert JA_STYLE[rule].search(text)
    assert not any(
        p.search("「{deal}」の振り返りは、24時間以内に :white_check_mark: 約2時間でした。") for p in JA_STYLE.values()
    )


GLOSSARY = ROOT / "docs" / "GLOSSARY.md"


def _glossary_terms() -> list[tuple[list[str], list[str]]]:
    """The "Terms" table of docs/GLOSSARY.md: (English forms, Japanese forms) per row."""
    table = GLOSSARY.read_text(encoding="utf-8").split("## Terms", 1)[1].split("\n## ", 1)[0]
    terms = []
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("Idea (article)", "") or set(cells[0]) <= {"-"}:
            continue
        terms.append(([e.strip() for e in cells[1].split(",")], [j.strip() for j in cells[2].split(" / ")]))
    return terms


def test_the_glossary_has_the_method_terms():
    english = {e for forms, _ in _glossary_terms() for e in forms}
    assert {"stated reason", "underlying reason", "one change", "re-contact", "self-check"} <= english


@pytest.mark.parametrize(
    "english, japanese", _glossary_terms(), ids=lambda v: "/".join(v) if isinstance(v, list) else v
)
def test_each_glossary_term_is_said_the_same_way_everywhere(catalogue, english, japanese):
    words = re.compile("|".join(rf"\b{re.escape(e)}\b" for e in english), re.IGNORECASE)
    bad = [
        f"{m.id!r} -> {m.string!r}"
        for m in catalogue
        if m.id and m.string and words.search(m.id) and not any(j in m.string for j in japanese)
    ]
    assert not bad, f"say {' / '.join(japanese)} for {', '.join(english)}:\n" + "\n".join(bad)
