"""The relevance decision: is the best passage about the question, or is it answered not_found?

Read in the index's calibrated units (tutor/index/calibrate.py) and in shares of the question's content terms
(idf-weighted). A question in another language than its answering passage is decided by the terms the notes use;
a name the notes never use, or a value the top section never states, makes it not_found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

from tutor.index.calibrate import Calibration
from tutor.index.store import Index
from tutor.notes.lines import is_reference_heading
from tutor.terms import Analyzer, aspect_terms
from tutor.text import data_lines, is_chinese, prose_chinese
from tutor.types import Chunk, Hit, Status

# in calibrated units (1 unit: the cosine gap from a typical unrelated question to a typical answered one) and in
# shares of the query's content terms (idf-weighted)
SURE_UNITS = 1.25  # this close to a typical answer, the query is about the passage even with no shared term
HIGH_UNITS = 0.75  # a close match needs fewer shared terms
FLOOR_SPREADS = 2.0  # further below a typical unrelated question than this many of their spreads, nothing is about it
COVERAGE_MIN = 0.30  # share of the query's content terms that the top section holds
COVERAGE_LOW = 0.15  # enough shared terms when the match is close (HIGH_UNITS)


# a name: a Latin word written with a capital or a digit (BERT, Xavier, word2vec, LeNet-5), not a sentence's first word
NAME_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[\-+.][A-Za-z0-9]+)*\+*")
SENTENCE_START = re.compile(r"(?:^|[.!?。！？]\s*)$")

# a number a passage states, not a list item's or a heading's numbering ("- 1 ", "3. ", "10.6.5.")
STATED_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:\.\d+)?(?!\.\d)")
LIST_NUMBER_RE = re.compile(r"(?m)^[\s>*+\-]*(?:\d+(?:\.\d+)*[.、)）]?\s|[（(]\d+[)）])")


# a question that asks for sources to read: a list of them answers it
READING_RE = re.compile(
    r"参考|资料|文章|链接|论文|博客|教程|推荐|\b(?:references?|reading|articles?|links?|papers?|blogs?|tutorials?|sources?)\b",
    re.I,
)


@lru_cache(maxsize=1)
def quantity_cues() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{line})" for line in data_lines("quantity.txt")), re.IGNORECASE)


def _floor(scale) -> float:
    """In units: this far below a typical unrelated question, nothing is about the query."""
    return -FLOOR_SPREADS * scale.spread / scale.gap


class _TermWeights(Protocol):
    term_ids: dict[str, int]

    def weight(self, term: str) -> float: ...


class Relevance:
    """Mixed into `Retriever`: it uses the retriever's calibration, analyzer, BM25 weights and section terms."""

    index: Index
    analyzer: Analyzer
    calibration: Calibration | None
    bm25: _TermWeights
    _vocabulary: set[str] | None
    _vocabulary_by_language: dict[bool, set[str]] | None
    _heading_terms: Callable[[tuple[str, ...]], tuple[str, ...]]

    def section_tokens(self, section_id: str) -> frozenset[str]:
        raise NotImplementedError

    def _coverage(self, tokens: list[str], doc: frozenset[str] | set[str] | list[str]) -> float:
        raise NotImplementedError

    def _unanswered(self, chunk: Chunk) -> bool:
        raise NotImplementedError

    def relevant(self, query: str, dense: float, coverage: float) -> bool:
        """Is the best passage about the query? Dense similarity in this index's units, plus shared terms."""
        scale = self.calibration.scale(query) if self.calibration else None
        if scale is None or not scale.reliable:
            return coverage >= COVERAGE_MIN
        units = scale.units(dense)
        return units >= SURE_UNITS or (
            units >= _floor(scale) and (coverage >= COVERAGE_MIN or (coverage >= COVERAGE_LOW and units >= HIGH_UNITS))
        )

    def cross_lingual(self, query: str, passage: Chunk) -> bool:
        """A question in another language than the passage that would answer it: English on Chinese notes, or the
        reverse. Notes that mix in an English file answer English questions there like any others. A passage that is
        only a formula is in the language of its section's text."""
        return is_chinese(query) != self.passage_chinese(passage)

    def passage_chinese(self, passage: Chunk) -> bool:
        own = prose_chinese(passage.text)
        if own is not None:
            return own
        rows = self.index.chunks_by_section.get(passage.section_id, [])
        around = prose_chinese("\n".join([self.index.chunks[i].text for i in rows] + list(passage.heading_path)))
        return is_chinese(passage.text) if around is None else around

    def relevant_across(self, query: str, dense: float, tokens: list[str], passage: Chunk) -> bool:
        """The decision for a question in the other language. Its cosines sit lower than a same-language scale
        predicts, and its words that these notes never use may be translations of words they do use, so shared
        terms decide: the share of the query's terms that the notes use at all (mapped through the glossary and
        the notes' own pairs: "learning rate" is 学习率) which the top section holds. Dense similarity only vetoes
        a match far below anything unrelated."""
        # a term of the table (glossary, the notes' pairs) reads the same in both languages: when the notes lack
        # it, they lack it ("kernel trick" is 核技巧 whichever way it is written). Any other word counts only where
        # the notes use it in the passage's language: "position" in "位置编码（Position encoding）" does, while
        # "actually" or "necessary" from an English file beside Chinese notes says nothing of a Chinese section
        written = self.vocabulary_in(self.passage_chinese(passage))
        known = [t for t in dict.fromkeys(tokens) if t in self.analyzer.canonical or t in written]
        # what is asked about ("fix", "why") is no evidence of a subject: "How do I fix a flat tire?" shares only
        # 解决 with notes on gradients
        if not any(t not in aspect_terms() for t in known):
            return False
        if self._coverage(known, self.section_tokens(passage.section_id)) < COVERAGE_MIN:
            return False
        scale = self.calibration.scale(query) if self.calibration else None
        # a scale too narrow to trust (MiniLM on Chinese questions) vetoes nothing, as in `relevant`
        return scale is None or not scale.reliable or scale.gap <= 0 or scale.units(dense) >= _floor(scale)

    def vocabulary(self) -> set[str]:
        """Every term of the passages and their headings, in either language."""
        if self._vocabulary is None:
            self._vocabulary = self.vocabulary_in(True) | self.vocabulary_in(False)
        return self._vocabulary

    def vocabulary_in(self, chinese: bool) -> set[str]:
        """The terms of the passages written in one language (Chinese or not), their headings included."""
        if self._vocabulary_by_language is None:
            by_language: dict[bool, set[str]] = {True: set(), False: set()}
            for i, chunk in enumerate(self.index.chunks):
                words = by_language[is_chinese(chunk.text)]
                words.update(self.index.tokens[i])
                words.update(self._heading_terms(chunk.heading_path))
            self._vocabulary_by_language = by_language
        return self._vocabulary_by_language[chinese]

    def names(self, query: str) -> list[tuple[str, list[str]]]:
        """The names a query uses, each with its terms: in an English sentence a Latin word written with a capital
        or a digit ("BERT", "LeNet-5"; "bug" and "trick" may be everyday English and prove nothing); inside a Chinese
        sentence every Latin word."""
        chinese = is_chinese(query)
        whole = set(self.analyzer.tokenize(query))  # "batch size" is one term, not two unknown words
        found = []
        for match in NAME_RE.finditer(query):
            word = match.group(0)
            letters = re.sub(r"[^A-Za-z]", "", word)
            capital = any(ch.isupper() for ch in word[1:]) or (
                word[0].isupper() and (chinese or not SENTENCE_START.search(query[: match.start()]))
            )
            digit = (letters != word and any(ch.isdigit() for ch in word)) or word.endswith("+")  # C++, k-means++
            if not letters or len(word) < 2 or (len(letters) < 2 and not digit):
                continue
            if not (capital or digit or chinese):
                continue
            forms = [t for t in self.analyzer.tokenize(word) if not t.isdigit()]
            if not forms or not all(t in whole for t in forms):
                continue
            if re.search(r"[\-.+]", word):
                forms = forms[:1]  # "Q-learning" is one name: the notes' "learning" says nothing of it
            found.append((word, forms, match.span()))
        return self._joined(query, found)

    def _joined(self, query: str, found: list[tuple[str, list[str], tuple[int, int]]]) -> list[tuple[str, list[str]]]:
        """Two names side by side that the notes write as one word are one name: "value head" is the notes'
        "valuehead", "word piece" their "WordPiece". (A function word is no name: "drop out" stays "drop".)"""
        out: list[tuple[str, list[str], tuple[int, int]]] = []
        for word, forms, span in found:
            if out and not query[out[-1][2][1] : span[0]].strip():
                joined = self.analyzer.tokenize(out[-1][0] + word)
                if len(joined) == 1 and joined[0] in self.vocabulary():
                    out[-1] = (f"{out[-1][0]} {word}", joined, (out[-1][2][0], span[1]))
                    continue
            out.append((word, forms, span))
        return [(word, forms) for word, forms, _ in out]

    def missing_names(self, names: list[tuple[str, list[str]]]) -> list[str]:
        """Names the query asks about that these notes never use: "BERT的预训练任务", "Xavier初始化的方差公式",
        "What is the kernel trick in SVM?", "学习率warmup有什么作用". The notes cannot answer a question about
        something they never name, however close its other words come."""
        vocabulary = self.vocabulary()
        return [word for word, forms in names if not any(t in vocabulary for t in forms)]

    def close(self, query: str, dense: float) -> bool:
        """A close match in this index's units (or no scale to tell: then shared terms decide alone)."""
        scale = self.calibration.scale(query) if self.calibration else None
        return scale is None or not scale.reliable or scale.units(dense) >= HIGH_UNITS

    def lacks_rarest_name(self, names: list[tuple[str, list[str]]], section_id: str) -> bool:
        """The rarest name the query uses is not in the top section: "ResNet的残差连接为什么能缓解梯度消失" is not
        answered by a section on RNNs' vanishing gradients, though the notes name ResNet elsewhere. Only a match
        that is not close is held to it: a close one may name its subject by an example ("换成relu这类激活函数能缓解
        梯度消失吗" is answered by "使用不同的激活函数")."""
        if not names:
            return False
        rarest = max((forms for _, forms in names), key=lambda forms: max(self.bm25.weight(t) for t in forms))
        return not any(t in self.section_tokens(section_id) for t in rarest)

    def states_no_quantity(self, query: str, section_id: str) -> bool:
        """A question that asks for a value ("dropout的比例一般设多少", "What is the default value of beta2?") and a
        top section that states no number: the notes hold the topic but not the point asked."""
        if not quantity_cues().search(query):
            return False
        rows = self.index.chunks_by_section.get(section_id, [])
        text = "\n".join(self.index.chunks[i].text for i in rows if not self.index.chunks[i].is_heading)
        text = LIST_NUMBER_RE.sub("", text)
        return not STATED_NUMBER_RE.search(text)

    def only_a_reading_list(self, query: str, passage: Chunk) -> bool:
        """The best the notes have is an entry of a list of sources ("**参考资料**" / "- [U-Net 论文笔记](…)"): where to
        read about the topic, not what the question asks. It answers only a question that asks for reading."""
        section = self.index.section_by_id.get(passage.section_id)
        listed = section is not None and is_reference_heading(section.title)
        return passage.kind == "link" and listed and not READING_RE.search(query)

    def _decide(self, query: str, hits: list[Hit], tokens: list[str], coverage: float) -> Status:
        names = self.names(query)  # read once: both name checks below use them
        if not hits or self.missing_names(names):
            return "not_found"
        top = hits[0]
        if self.cross_lingual(query, top.chunk):
            ok = self.relevant_across(query, top.dense, tokens, top.chunk)
        else:
            ok = self.relevant(query, top.dense, coverage)
        if not ok or self.states_no_quantity(query, top.chunk.section_id):
            return "not_found"
        if not self.close(query, top.dense) and self.lacks_rarest_name(names, top.chunk.section_id):
            return "not_found"
        if self.only_a_reading_list(query, top.chunk):
            return "not_found"
        return "question_only" if self._unanswered(top.chunk) else "answered"
