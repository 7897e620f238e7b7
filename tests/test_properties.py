"""Bad input, property-based: the notes parser, the chunker, the tokenizer, chat input, the answerer and the grader never
let an exception reach the user, whatever the text (control characters, lone surrogates, CR line ends, huge
lines, thousands of headings, deep nesting, mixed scripts), and chunks keep their invariants."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from conftest import NOTES, settings_for
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tutor import terms as terms_mod
from tutor import text as text_mod
from tutor.answer.chat import ChatSession, InputError, Tutor, clean_message
from tutor.index.store import build_index, load_index
from tutor.interview.grading import Grader, grade
from tutor.interview.rubric import build_bank
from tutor.notes.markdown import parse_markdown
from tutor.notes.tree import _headings

# The test command is deterministic (same examples every run, so CI cannot turn red at random);
# TUTOR_HYPOTHESIS_EXPLORE=<n> draws fresh random examples, n times as many, to hunt for new failures.
EXPLORE = int(os.environ.get("TUTOR_HYPOTHESIS_EXPLORE", "0") or 0)
_BASE = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=not EXPLORE)
FAST = settings(_BASE, max_examples=60 * max(EXPLORE, 1))
MODEST = settings(_BASE, max_examples=25 * max(EXPLORE, 1))

# any code point, lone surrogates and control characters included
ANY_CHAR = st.characters(codec=None, categories=None)
NASTY = st.sampled_from(["\x00", "\x1b[31m", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\ufeff", "\ud800",
                         "\udfff", "\u202e", "\u200b", "\t", "\r", "🙂", "𠀀", "ﾃｽﾄ", "مرحبا", "שלום", "Ωμέγα"])  # fmt: skip
WORDS = st.sampled_from(["梯度消失", "为什么", "dropout", "BN", "batch normalization", "学习率", "lr", "？", "?", "。",
                         "，", "**", "__", "`", "[链接](https://example.com/a)", "https://example.com/p?q=1", "(", "）",
                         "1x1卷积", "（2）", "#", ">", "|", "\\", " ", "  ", "过拟合", "what is", "How",
                         "``", "****", "** **", "`` ``", "[]()", "__"])  # fmt: skip
PHRASE = st.lists(st.one_of(WORDS, NASTY, st.text(ANY_CHAR, max_size=6)), max_size=10).map("".join)

LINE = st.one_of(
    st.just(""),
    st.builds(lambda n, sp, t: "#" * n + sp + t, st.integers(1, 7), st.sampled_from([" ", "\t", "", "  "]), PHRASE),
    st.builds(lambda ind, t: ind + t, st.sampled_from(["", "    ", "\t\t", "        ", "   "]), PHRASE),
    st.builds(
        lambda mark, t: mark + t, st.sampled_from(["- ", "* ", "1. ", "2) ", "• ", "  - ", "        - "]), PHRASE
    ),
    st.builds(lambda t, c: f"**{t}**{c}", PHRASE, st.sampled_from(["", "：", ":"])),
    st.builds(lambda t: f"（1）{t}", PHRASE),
    st.sampled_from(
        [
            "```",
            "~~~",
            "```python",
            "---",
            "***",
            "> ",
            ">> ",
            "<!-- -->",
            "| a | b |",
            "``",
            "** **",
            "# ``",
            "#\t \t",
            "****",
        ]
    ),  # markup with nothing inside
    st.builds(lambda depth, t: "> " * depth + t, st.integers(1, 30), PHRASE),
    st.text(ANY_CHAR, max_size=40),
)
MARKDOWN = st.builds(
    lambda lines, eol, bom: ("\ufeff" if bom else "") + eol.join(lines),
    st.lists(LINE, max_size=40),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
)


def heading_lines(lines: list[str]) -> set[int]:
    """1-based numbers of the lines that CommonMark reads as headings (outside code fences)."""
    return set(_headings("\n".join(lines))[0])


def check_invariants(text: str) -> tuple[list, list]:
    sections, chunks = parse_markdown(text, "corpus/x.md")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    headings = heading_lines(lines)
    section_ids = {s.id for s in sections}
    for s in sections:
        assert 1 <= s.line_start <= s.line_end <= len(lines), s
    for c in chunks:
        assert 1 <= c.line_start <= c.line_end <= len(lines), c
        assert lines[c.line_start - 1].strip() and lines[c.line_end - 1].strip(), c
        assert c.text.strip(), c
        assert not headings & set(range(c.line_start + 1, c.line_end + 1)), f"{c} spans a heading"
        assert c.section_id in section_ids, c
        assert c.embed_text().strip()
    return sections, chunks


@FAST
@given(MARKDOWN)
def test_any_markdown_parses_into_chunks_within_their_lines(text):
    check_invariants(text)


@FAST
@given(st.text(ANY_CHAR, max_size=400))
def test_any_text_at_all_parses(text):
    check_invariants(text)


@FAST
@given(st.lists(st.text(st.sampled_from("梯度消失的原因。，！？abc dx1 \t"), min_size=1, max_size=120), min_size=1,
                max_size=60))  # fmt: skip
def test_long_paragraphs_split_within_the_window_and_keep_their_lines(paragraph_lines):
    """The chunker's own path: a block longer than MAX_CHUNK_CHARS is split, each piece with its exact lines."""
    text = "# 标题\n\n" + "\n".join(line if line.strip() else "x" for line in paragraph_lines)
    _, chunks = check_invariants(text)
    for c in chunks:
        if c.kind == "body":
            assert len(c.text) <= 330, len(c.text)


def big_inputs() -> dict[str, str]:
    return {
        "a 5 MB single line": "# 长行\n\n" + "梯度消失和梯度爆炸" * 580_000,
        "a 5 MB line without any separator": "x" * 5_000_000,
        "10,000 headings": "\n\n".join(f"{'#' * (1 + i % 6)} 第{i}节为什么？\n\n正文{i}" for i in range(10_000)),
        "10,000 bare headings": "\n".join(f"# h{i}" for i in range(10_000)),
        "a 50,000-item list": "# 列表\n\n" + "\n".join(f"{'  ' * (i % 40)}- 第{i}项：原因" for i in range(50_000)),
        "lists nested 2,000 deep": "# 嵌套\n\n" + "\n".join("  " * i + f"- 第{i}层" for i in range(2_000)),
        "blockquotes nested 5,000 deep": "# 引用\n\n" + ">" * 5_000 + " 深处的一句话\n" + "> " * 2_000 + "# 标题",
        "100,000 blank lines then a line": "# 空\n" + "\n" * 100_000 + "最后一行是什么？",
        "control characters everywhere": "".join(chr(c) for c in range(32)) * 2_000 + "\n# 标题\n内容",
        "mixed scripts": "# Ωμέγα مرحبا שלום 𠀀🙂\n\n" + "ﾃｽﾄ ٣ ₂ ﬁ Ⅻ \u202e反向\u202c 梯度 dropout " * 2_000,
    }


@pytest.mark.parametrize("name", list(big_inputs()))
def test_huge_and_deep_inputs_parse_in_reasonable_time(name):
    started = time.perf_counter()
    check_invariants(big_inputs()[name])
    # a linear parser does each of these in a few seconds even on a busy machine; a quadratic one takes minutes
    assert time.perf_counter() - started < 60, name


def reference_canonicalize(text: str) -> str:
    """The alias replacement as first written: a flat alternation, longest variant first."""
    analyzer = terms_mod.default_analyzer()
    parts = []
    for variant in sorted(analyzer.variants, key=len, reverse=True):
        escaped = r"[\s_\-]?".join(re.escape(p) for p in variant.split(" "))
        if re.match(r"[a-z0-9]", variant):
            escaped = rf"(?<![a-z0-9]){escaped}"
        if re.search(r"[a-z0-9]$", variant):
            escaped = rf"{escaped}(?![a-z0-9])"
        parts.append(escaped)
    pattern = re.compile("|".join(parts))
    return pattern.sub(lambda m: f" {analyzer._canonical_of(m.group(0))} ", text_mod.normalize(text))


ALIAS_PIECES = st.sampled_from(
    sorted(terms_mod.default_analyzer().variants) + ["x", "1", " ", "-", "的", "a", "\n", "BN", "LR", "Ⅻ"]
)
ALIAS_TEXT = st.lists(st.one_of(ALIAS_PIECES, ALIAS_PIECES.map(lambda v: v[:2]), ALIAS_PIECES.map(str.upper)),
                      max_size=12).map("".join)  # fmt: skip


@FAST
@given(st.one_of(ALIAS_TEXT, st.text(ANY_CHAR, max_size=80)))
def test_the_trie_alias_pattern_matches_the_flat_alternation(text):
    assert terms_mod.canonicalize(text) == reference_canonicalize(text)


@FAST
@given(st.one_of(PHRASE, st.text(ANY_CHAR, max_size=200)))
def test_tokenize_and_sentences_take_any_text(text):
    for token in terms_mod.tokenize(text):
        assert token and token == token.strip()
    text_mod.sentences(text)
    text_mod.is_chinese(text)


@FAST
@given(st.one_of(st.none(), PHRASE, st.text(ANY_CHAR, max_size=300)), st.integers(1, 3000))
def test_clean_message_gives_clean_text_or_the_empty_message(message, limit):
    try:
        text, notices = clean_message(message, limit)
    except InputError as exc:
        assert "question" in str(exc)
        return
    assert text and len(text) <= limit and text == text.strip()
    text.encode("utf-8")  # no lone surrogates left
    assert not any(ord(ch) < 32 for ch in text)
    assert all("only the first" in n for n in notices)


def answer_is_printable(answer) -> None:
    """What `tutor ask --json` and the UI print: JSON that encodes as UTF-8."""
    assert answer.status in ("answered", "question_only", "not_found")
    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")
    answer.answer.encode("utf-8")
    for c in answer.citations:
        assert c.line_start <= c.line_end


QUESTION = st.one_of(PHRASE, st.text(ANY_CHAR, max_size=120), st.sampled_from(
    ["dropout为什么能防止过拟合？", "那怎么解决？", "tanh呢？", "它呢", "what about it?", "/reset", "。", "？？？"]))  # fmt: skip


@MODEST
@given(st.lists(QUESTION, min_size=1, max_size=3))
def test_any_conversation_gets_answers_or_the_empty_message(notes_tutor, messages):
    session = ChatSession(notes_tutor)
    for message in messages:
        try:
            answer = session.ask(message)
        except InputError:
            continue
        answer_is_printable(answer)


@pytest.mark.parametrize(
    "message",
    ["梯度消失" * 1_250_000, "x" * 5_000_000, "\ud800" * 10_000 + "dropout", "\x00" * 100_000, "？" * 300_000],
    ids=["5 MB Chinese", "5 MB ASCII", "surrogates", "NULs", "question marks"],
)
def test_huge_chat_messages(notes_tutor, message):
    try:
        answer = notes_tutor.ask(message)
    except InputError:
        return
    answer_is_printable(answer)


@MODEST
@given(MARKDOWN, st.lists(QUESTION, min_size=1, max_size=2))
def test_any_notes_and_any_question_through_index_retriever_and_answerer(notes, questions):
    """Arbitrary notes are indexed (fast embedder) and asked arbitrary questions: no exception but InputError."""
    assume(notes.strip())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "corpus").mkdir()
        (root / "corpus" / "notes.md").write_text(notes, encoding="utf-8", errors="surrogatepass")
        settings_ = settings_for(root, embeddings="hash:64")
        build_index(settings_)
        tutor = Tutor(settings_, load_index(settings_))
        session = ChatSession(tutor)
        for question in questions:
            with contextlib.suppress(InputError):
                answer_is_printable(session.ask(question))


def test_the_real_notes_keep_the_invariants():
    check_invariants(NOTES.read_text(encoding="utf-8"))


def reference_bm25(docs: list[list[str]], terms: list[str], k1: float = 1.2, b: float = 0.75) -> dict[int, float]:
    """Okapi BM25 as first written: a Python loop over each term's postings."""
    from collections import Counter, defaultdict
    from math import log

    lengths = [len(d) for d in docs]
    avg = sum(lengths) / len(docs)
    postings = defaultdict(list)
    for i, doc in enumerate(docs):
        for term, tf in Counter(doc).items():
            postings[term].append((i, tf))
    out: dict[int, float] = defaultdict(float)
    for term in set(terms):
        if term not in postings:
            continue
        idf = log(1 + (len(docs) - len(postings[term]) + 0.5) / (len(postings[term]) + 0.5))
        for doc, tf in postings[term]:
            out[doc] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[doc] / avg))
    return dict(out)


TERMS = st.sampled_from(["梯度", "消失", "dropout", "bn", "学习率", "a", "b", "c", "d", "e"])


@FAST
@given(st.lists(st.lists(TERMS, max_size=12), min_size=1, max_size=30), st.lists(TERMS, max_size=6))
def test_vectorised_bm25_scores_as_the_loop_did(docs, query):
    from tutor.search.bm25 import BM25

    got = BM25(docs).scores(query)
    want = reference_bm25(docs, query)
    assert got.keys() == want.keys()
    for doc, score in want.items():
        assert abs(got[doc] - score) < 1e-9 * max(1.0, score)


# ---------------------------------------------------------------- the grader


@pytest.fixture(scope="module")
def grading(notes_tutor, notes_settings):
    bank = build_bank(notes_tutor.index, notes_settings)
    answered = [q for q in bank if q.points]
    return Grader(notes_tutor.index, bank, notes_tutor.embedder), answered, [q for q in bank if not q.points]


ANSWER = st.one_of(
    PHRASE,
    st.text(ANY_CHAR, max_size=400),
    st.lists(st.sampled_from(["dropout", "随机丢掉", "bagging", "正则化", "梯度", "sigmoid", "0.25", "学习率", "\n",
                              "- ", "。", "？", "不知道", "🙂", "\ud800", "\x00", "<script>", "  "]),
             max_size=40).map("".join),
)  # fmt: skip


@FAST
@given(st.integers(0, 2), ANSWER)
def test_any_answer_is_graded_without_an_exception(grading, which, answer):
    grader, answered, _ = grading
    q = answered[which % len(answered)]
    fb, credits = grade(grader, q, answer)
    assert isinstance(fb.score, int) and 0 <= fb.score <= 100
    assert all(0.0 <= c <= 1.0 for c in credits.values()) and len(credits) == len(q.points)
    assert set(fb.covered) <= {p.text for p in q.points}
    json.dumps(fb.to_dict(), ensure_ascii=False).encode("utf-8")  # what `tutor grade --json` prints


@FAST
@given(st.sampled_from(["", " ", "不知道", "不会", "I don't know", "pass", "？", "\x00\x01", "\ud800", "。。。"]),
       st.integers(0, 2), st.text(" \t\n\u3000", max_size=5))  # fmt: skip
def test_non_answers_score_near_zero(grading, non_answer, which, padding):
    grader, answered, _ = grading
    fb, _ = grade(grader, answered[which % len(answered)], padding + non_answer + padding)
    assert fb.score is not None and fb.score <= 10, (non_answer, fb.score)


@MODEST
@given(ANSWER)
def test_a_question_without_reference_records_any_answer_with_no_score(grading, answer):
    grader, _, bare = grading
    fb, credits = grade(grader, bare[0], answer)
    assert fb.score is None and fb.reason and credits == {}
