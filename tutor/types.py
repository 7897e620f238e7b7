"""The small frozen types that flow through the whole pipeline.

corpus -> Section, Chunk; retriever -> Hit; answerer -> Citation, Passage, Answer; chat -> Turn; grader -> Feedback.
Those that cross a boundary are `Wire` types: tutor/wire.py writes their JSON (`to_json()`, the `--json` output and
the app's saved chats) and reads it back; `tutor schema` prints the shapes as JSON Schema (tutor/schema.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from tutor.wire import Wire, unset

Status = Literal["answered", "question_only", "not_found"]
SectionKind = Literal["answered", "question_only", "link_only", "topic"]
# link: a bare link or a reference title; heading: a heading that does not ask, searched on its own (its path)
ChunkKind = Literal["question", "heading", "body", "link", "reference"]


# a heading's own numbering besides plain digits: "一、", "（3）", "Q1:" (tutor/notes/lines.py reads it too)
NUMBER_MARKS = r"[一二三四五六七八九十百]+[、.．]|[（(]\s*(?:\d+|[一二三四五六七八九十]+)\s*[)）]|(?:q|question|问题?)\s*(?:\d+\s*(?:[:：.\-–—)）]|\s)|[:：.])"
# ... and "21. ", "4.2.1 ", "10.6.5.": digits must end in a mark or a space, so "3D卷积" and "1x1卷积" keep theirs
HEADING_NUMBER_RE = re.compile(rf"^\s*(?:\d+(?:\.\d+)*(?:[.、)）]|\s)|{NUMBER_MARKS})\s*", re.IGNORECASE)


def unnumbered(title: str) -> str:
    """A heading without its numbering, or as written when nothing else is left."""
    return HEADING_NUMBER_RE.sub("", title, count=1).strip() or title


@dataclass(frozen=True)
class Section:
    """A heading (or a question line) and the body it owns, up to the next unit."""

    id: str  # "<source>:<first line>", stable while the line does not move
    source: str  # path relative to the repository root, e.g. "corpus/dl-interview-notes.md"
    heading_path: tuple[str, ...]
    line_start: int  # the heading / question line, 1-based
    line_end: int  # last non-blank line of the body (== line_start for a bare heading)
    title: str  # the heading or question text, markup stripped
    is_question: bool  # a heading that asks, or a question line
    kind: SectionKind  # answered / question_only / link_only / topic (structural heading)
    body: str = ""  # body text (no sub-sections), original lines joined with "\n"
    links: tuple[str, ...] = ()  # http(s) links in the body
    url: str | None = None  # set for a fetched reference article
    topic: str = ""  # the top-level heading, e.g. "一、DNN"

    @property
    def label(self) -> str:
        return " › ".join(self.heading_path)


@dataclass(frozen=True)
class Chunk:
    """The unit that is embedded and retrieved; never spans two headings."""

    id: str  # content-derived: sha1 of source, heading path, lines and text
    source: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    text: str
    kind: ChunkKind
    section_id: str  # the Section this chunk belongs to (for a reference: the linking section)
    url: str | None = None
    title: str | None = None

    @property
    def is_heading(self) -> bool:
        """A heading's own chunk (one that asks, or one that states its topic): it holds no answer."""
        return self.kind in ("question", "heading")

    def embed_text(self) -> str:
        """What the embedder sees: the heading path gives a short paragraph its context. A heading's numbering
        ("21. ", "4.2.1 ", "一、", "（3）") is left out: to the embedder it is noise that pulls every numbered
        heading a little away from a question ("想让感受野变大可以用哪些办法" is 0.918 from "21. 增大感受野的方法？" and
        0.937 from "增大感受野的方法？")."""
        head = " › ".join(unnumbered(h) for h in self.heading_path)
        if self.kind == "question" or not head:
            return unnumbered(self.text) if self.kind == "question" else self.text
        if self.kind == "heading":
            return head
        return f"{head}\n{self.text}"


def _no_url(hit: Hit) -> bool:
    return not hit.chunk.url


@dataclass(frozen=True)
class Hit(Wire):
    chunk: Chunk
    score: float
    dense: float = 0.0  # cosine similarity of the query and the chunk
    lexical: float = 0.0  # share of the query's content terms found in the chunk

    # a hit is written as the place it points at and its score; url and title only for a linked article
    __json__ = {
        "source": "chunk.source",
        "heading_path": "chunk.heading_path",
        "line_start": "chunk.line_start",
        "line_end": "chunk.line_end",
        "score": "score",
        "url": "chunk.url",
        "title": "chunk.title",
    }
    __json_omit__ = {"url": _no_url, "title": _no_url}


def line_span(start: int, end: int) -> str:
    """ "line 13" or "lines 13–17"."""
    return f"line {start}" if end <= start else f"lines {start}–{end}"


@dataclass(frozen=True)
class Citation(Wire):
    n: int
    source: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    quote: str
    url: str | None = None
    title: str | None = None
    verified: bool | None = None  # set by the LLM verifier; None for extractive answers
    related: bool = False  # cited as related material, not as the answer

    @classmethod
    def from_chunk(
        cls, n: int, chunk: Chunk, quote: str | None = None, lines: tuple[int, int] | None = None, **kw
    ) -> Citation:
        start, end = lines or (chunk.line_start, chunk.line_end)
        return cls(
            n=n,
            source=chunk.source,
            heading_path=chunk.heading_path,
            line_start=start,
            line_end=end,
            quote=chunk.text if quote is None else quote,
            url=chunk.url,
            title=chunk.title,
            **kw,
        )

    @property
    def lines(self) -> str:
        return line_span(self.line_start, self.line_end)

    @property
    def label(self) -> str:
        where = " › ".join(self.heading_path)
        if self.url:
            return f"{self.title or self.url} ({self.url}) › {self.lines}"
        return f"{self.source} › {where} › {self.lines}"

    __json_omit__ = {
        "url": unset("url"),
        "title": unset("title"),
        "verified": unset("verified"),
        "related": lambda c: not c.related,
    }


@dataclass(frozen=True)
class Passage(Wire):
    """A sentence of the answering section that the answer does not show ("more" in the answer object)."""

    text: str
    source: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int

    @property
    def lines(self) -> str:
        return line_span(self.line_start, self.line_end)


MAX_JSON_HITS = 10  # the answer's JSON lists the best ten hits


@dataclass(frozen=True)
class Answer(Wire):
    question: str
    query: str  # the standalone query actually searched
    status: Status
    answer: str  # markdown with [n] markers
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    generator: str = "extractive"
    general_answer: str | None = None
    notices: tuple[str, ...] = ()  # one-line notes for the user (trimmed input, LLM fallback)
    suggestions: tuple[str, ...] = ()  # next questions from the notes' structure
    more: tuple[Passage, ...] = ()  # the rest of the answering section, in notes order

    __json__ = {f: f for f in ("question", "query", "status", "answer", "citations")} | {"hits": "top_hits"}
    __json__ |= {f: f for f in ("generator", "general_answer", "notices", "suggestions", "more")}

    @property
    def top_hits(self) -> tuple[Hit, ...]:
        return self.hits[:MAX_JSON_HITS]


# ---------------------------------------------------------------- grading (tutor/interview/grading.py)

# a Citation's JSON, kept as such inside Feedback (the page, the CLI and the progress store read it so);
# `tutor schema` describes it as a Citation
CitationJSON = Annotated[dict[str, Any], Citation]


class PointJSON(TypedDict):
    point: str  # a key point in the notes' own words
    citation: CitationJSON


class PartJSON(TypedDict):
    part: str  # "bagging", "有哪些解决方法"
    coverage: float  # mean credit of its points, 0-1
    covered: bool
    points: list[int]  # its key points, numbered from 1


@dataclass(frozen=True)
class Feedback(Wire):
    """The grade of one answer; built once by the grader, then changed only by copies (`dataclasses.replace`)."""

    question: str
    score: int | None
    covered: tuple[str, ...] = ()
    missed: tuple[PointJSON, ...] = ()
    contradicted: tuple[PointJSON, ...] = ()  # missed points the answer denies
    reference_answer: str = ""
    citations: tuple[CitationJSON, ...] = ()
    follow_up: str | None = None
    question_id: str | None = None
    topic: str | None = None
    has_reference: bool = True
    parts: tuple[PartJSON, ...] = ()
    reason: str | None = None  # why score is None
    notices: tuple[str, ...] = ()  # trimmed answer, offer to save
    matched_question: str | None = None  # `grade`: the notes' question a free-form question was matched to
    is_follow_up: bool = False
    grader: str = "offline"  # or "<backend>:<model>" when a language model graded it

    __json_omit__ = {key: unset(key) for key in ("question_id", "topic", "reason", "matched_question")}


@dataclass(frozen=True)
class Ungraded(Wire):
    """`tutor grade` on a question the notes do not hold (nor a close one): no score, and why."""

    question: str
    reason: str
    score: None = None
    covered: tuple[()] = ()
    missed: tuple[()] = ()
    reference_answer: Literal[""] = ""
    citations: tuple[()] = ()
    follow_up: None = None

    __json__ = {key: key for key in ("question", "score", "covered", "missed", "reference_answer", "citations")}
    __json__ |= {"follow_up": "follow_up", "reason": "reason"}


# ---------------------------------------------------------------- chat


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer
    topic_terms: tuple[str, ...] = field(default=())


def note_questions(sections: Iterable[Section]) -> list[Section]:
    """The questions the notes ask (not those of fetched reference articles), in corpus order."""
    return [s for s in sections if s.is_question and s.url is None]
