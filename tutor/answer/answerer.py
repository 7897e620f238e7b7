"""(question, retrieval) -> Answer: extractive, grounded, every sentence cited to file › heading › lines."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from tutor.notes.lines import clean_line, strip_markup
from tutor.search.focus import (
    CLOSE_UNITS,
    Sentence,
    best_sentence,
    focus,
    lead_ins_for,
    section_sentences,
    subject_terms,
)
from tutor.search.retriever import Retrieval
from tutor.terms import Analyzer, default_analyzer
from tutor.text import is_chinese
from tutor.types import Answer, Chunk, Citation, Hit, Passage

MAX_RELATED = 2
SENTENCE_CACHE = 1024  # sections whose sentences (with their terms) and headings' terms are kept between questions

TEXTS = {
    "zh": {
        "answered": "根据你的笔记（{title}）：",
        "article": "来自笔记链接的文章《{title}》：",
        "question_only": "你的笔记提出了这个问题，但没有写答案 {cite}。",
        "link_only": "你的笔记对这个问题只给了一个链接：{url} {cite}（文章尚未抓取，运行 `tutor index` 可抓取并引用它）。",
        "related": "**相关内容**（来自笔记的其他部分，不是这个问题的答案）：",
        "not_found": "你的笔记里没有关于这个问题的内容。",
    },
    "en": {
        "answered": "From your notes ({title}):",
        "article": "From the article your notes link to, “{title}”:",
        "question_only": "Your notes pose this question but hold no answer to it {cite}.",
        "link_only": "For this question your notes only give a link: {url} {cite} (not fetched yet; "
        "`tutor index` fetches it so it can be cited).",
        "related": "**Related material** (from other parts of your notes, not an answer to this question):",
        "not_found": "Your notes don't cover this.",
    },
}


@lru_cache(maxsize=64)
def _file_lines(path: str, mtime: float) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n"))
    except (OSError, UnicodeDecodeError):
        return ()


@lru_cache(maxsize=64)
def _plain_lines(path: str, mtime: float) -> tuple[str, ...]:
    """The file's lines as `locate` compares them, markup and spaces removed: once per file version, not per
    sentence cited."""
    return tuple(_squash(strip_markup(clean_line(line))) for line in _file_lines(path, mtime))


def locate(root: Path, chunk: Chunk, sentence: str) -> tuple[int, int]:
    """The exact line range of a sentence inside its chunk's lines (the whole chunk if not found)."""
    path = root / chunk.source
    try:
        lines = _plain_lines(str(path), path.stat().st_mtime)
    except OSError:
        return chunk.line_start, chunk.line_end
    probe = _squash(sentence)[:24]
    if probe:
        for no in range(chunk.line_start, min(chunk.line_end, len(lines)) + 1):
            if probe in lines[no - 1]:
                return no, no
    return chunk.line_start, chunk.line_end


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.lstrip("-*+• "))


def _top_passage(hits: tuple[Hit, ...]) -> Hit:
    """The hit the answer comes from: the best passage that is more than a bare heading."""
    return next((h for h in hits if not h.chunk.is_heading), hits[0])


class Answerer:
    """Builds the extractive answer; `root` is where citation sources (repo-relative paths) live.

    `weight` is the index's idf of a term (BM25), `unit` the cosine of one calibrated unit (Retriever.unit) and
    `section_chunks` a section's passages in the index; without them every term weighs the same, only the top
    passage counts as close, and a section is what the hits hold of it.
    """

    def __init__(
        self,
        root: Path,
        analyzer: Analyzer | None = None,
        weight: Callable[[str], float] | None = None,
        unit: float | None = None,
        section_chunks: Callable[[str], Sequence[Chunk]] | None = None,
    ) -> None:
        self.root = root
        self.analyzer = analyzer or default_analyzer()
        self.weight = weight or (lambda term: 1.0)
        self.unit = unit
        self.section_chunks = section_chunks
        # a section is split into sentences and tokenized once, not at every question it answers
        self._sentences = lru_cache(maxsize=SENTENCE_CACHE)(
            lambda chunks: tuple(section_sentences(chunks, self.analyzer))
        )
        self._subject_terms = lru_cache(maxsize=SENTENCE_CACHE)(lambda heading: subject_terms(heading, self.analyzer))

    def _section(self, top: Chunk, hits: tuple[Hit, ...]) -> list[Chunk]:
        """The passages of the top hit's section that answer alike: its body, or the same linked article."""
        found = self.section_chunks(top.section_id) if self.section_chunks else [h.chunk for h in hits]
        same = [
            c
            for c in found
            if c.section_id == top.section_id
            and c.kind == top.kind
            and c.url == top.url
            and c.heading_path == top.heading_path
        ]
        return same if any(c.id == top.id for c in same) else [*same, top]

    def answer(self, question: str, retrieval: Retrieval, notices: tuple[str, ...] = ()) -> Answer:
        lang = "zh" if is_chinese(question) else "en"
        text = TEXTS[lang]
        hits = retrieval.hits
        if retrieval.status == "not_found" or not hits:
            return Answer(question, retrieval.query, "not_found", text["not_found"], (), hits, notices=notices)
        if retrieval.status == "question_only":
            return self._question_only(question, retrieval, text, notices)
        top = _top_passage(hits)
        sents = list(self._sentences(tuple(self._section(top.chunk, hits))))
        margin = CLOSE_UNITS * self.unit if self.unit else 0.0
        score = {h.chunk.id: h.score for h in hits}

        def close(chunk: Chunk) -> bool:
            return chunk.id == top.chunk.id or score.get(chunk.id, -math.inf) >= top.score - margin

        asks = self._subject_terms(top.chunk.heading_path[-1]) if top.chunk.heading_path else frozenset()
        shown, rest = focus(sents, retrieval.tokens, self.weight, close, asks)
        if not shown:  # nothing but code or markup: the passage itself is the answer
            cite = Citation.from_chunk(1, top.chunk)
            body = f"{text['answered'].format(title=_title(top.chunk))}\n\n{cited_passage(top.chunk.text.strip())}"
            return Answer(question, retrieval.query, "answered", body, (cite,), hits, notices=notices)
        body, citations = self._compose(sents, shown, text)
        more = tuple(
            Passage(s.text, s.chunk.source, s.chunk.heading_path, *locate(self.root, s.chunk, s.text)) for s in rest
        )
        return Answer(question, retrieval.query, "answered", body, citations, hits, notices=notices, more=more)

    def _compose(self, sents: list[Sentence], shown: list[Sentence], text: dict) -> tuple[str, tuple[Citation, ...]]:
        """The answer text, a paragraph per passage, and its citations: sentences of one line picked together
        share one marker; a lead-in ("解决办法：") right before a shown sentence introduces it, uncited."""
        citations: list[Citation] = []
        blocks: list[tuple[str, str, list[str]]] = []  # (heading line, passage id, its lines)
        group: list[Sentence] = []
        where: tuple[int, int] | None = None

        def cite_group() -> None:
            if not group:
                return
            n = len(citations) + 1
            joiner = "" if is_chinese(group[0].text) else " "
            quote = group[0].text
            for before, sent in zip(group, group[1:], strict=False):
                quote += (joiner if sent.position == before.position + 1 else " … ") + sent.text
            citations.append(Citation.from_chunk(n, group[0].chunk, quote, where))
            blocks[-1][2].append(f"{quote} [{n}]")
            group.clear()

        picked = lead_ins_for(sents, shown) | {s.position for s in shown}
        for sent in [s for s in sents if s.position in picked]:
            if not blocks or blocks[-1][1] != sent.chunk.id:
                cite_group()
                blocks.append((_head(sent.chunk, text), sent.chunk.id, []))
            if sent.lead_in:
                cite_group()
                blocks[-1][2].append(sent.text)
                continue
            lines = locate(self.root, sent.chunk, sent.text)
            if group and lines != where:
                cite_group()
            group.append(sent)
            where = lines
        cite_group()
        parts: list[str] = []
        for n, (head, _, texts) in enumerate(blocks):
            if n == 0 or head != blocks[n - 1][0]:
                parts.append(head)
            parts.append(_join(texts))
        return "\n\n".join(parts), tuple(citations)

    def _question_only(self, question: str, retrieval: Retrieval, text: dict, notices) -> Answer:
        section = retrieval.section
        hits = retrieval.hits
        top = hits[0].chunk
        q_chunk = next(
            (h.chunk for h in hits if h.chunk.section_id == top.section_id and h.chunk.kind == "question"), top
        )
        citations = [Citation.from_chunk(1, q_chunk)]
        if section is not None and section.links:
            link_chunk = next(
                (h.chunk for h in hits if h.chunk.section_id == section.id and h.chunk.kind == "link"), None
            )
            if link_chunk is not None:
                citations = [Citation.from_chunk(1, link_chunk)]
            lead = text["link_only"].format(url=section.links[0], cite="[1]")
        else:
            lead = text["question_only"].format(cite="[1]")
        related = []
        for hit in hits[1:]:
            chunk = hit.chunk
            if chunk.section_id == top.section_id or chunk.kind not in ("body", "reference") or hit.lexical <= 0:
                continue
            found = best_sentence(self._sentences((chunk,)), retrieval.tokens, self.weight)
            if found is None:
                continue
            best = found.text
            n = len(citations) + 1
            start, end = locate(self.root, chunk, best)
            citations.append(Citation.from_chunk(n, chunk, best, (start, end), related=True))
            related.append(f"- {best.lstrip('-*+• ')} [{n}]")
            if len(related) >= MAX_RELATED:
                break
        body = lead + ("\n\n" + text["related"] + "\n" + "\n".join(related) if related else "")
        return Answer(question, retrieval.query, "question_only", body, tuple(citations), hits, notices=notices)


def _title(chunk: Chunk) -> str:
    return " › ".join(chunk.heading_path[1:] or chunk.heading_path)


def _head(chunk: Chunk, text: dict) -> str:
    if chunk.kind == "reference":
        return text["article"].format(title=chunk.title)
    return text["answered"].format(title=_title(chunk))


def cited_passage(passage: str) -> str:
    """A passage of code or a table with its [1] where markdown still reads it as a marker: after a code block or a
    table on a line of its own (a code block the passage leaves open, a long one split between passages, is
    closed first); after prose or a formula right behind it."""
    fences = [line.strip()[:3] for line in passage.split("\n") if line.strip().startswith(("```", "~~~"))]
    if len(fences) % 2:
        passage += f"\n{fences[-1]}"
    in_block = fences or passage.rsplit("\n", 1)[-1].lstrip().startswith("|")
    return passage + ("\n\n[1]" if in_block else " [1]")


def _join(lines: list[str]) -> str:
    """List items stay one per line; prose sentences run on as a paragraph."""
    out: list[str] = []
    for line in lines:
        if line.startswith(("-", "*", "+", "•")) or (out and out[-1].startswith(("-", "*", "+", "•"))):
            out.append("\n" + line)
        elif out and out[-1].endswith("]"):
            out.append(" " + line)  # "…的过程。 [3] 然而…": a marker never runs into the next sentence
        else:
            out.append(line)
    return "".join(out).strip()
