"""The small frozen types that flow through the whole pipeline.

corpus -> Section, Chunk; retriever -> Hit; answerer -> Citation, Passage, Answer; chat -> Turn.
The JSON shapes of `Answer.to_dict()` are a public contract (see README).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Literal

Status = Literal["answered", "question_only", "not_found"]
SectionKind = Literal["answered", "question_only", "link_only", "topic"]
# link: a bare link or a reference title; heading: a heading that does not ask, searched on its own (its path)
ChunkKind = Literal["question", "heading", "body", "link", "reference"]


def _fields(obj) -> dict:
    """A dataclass's fields by name, in order, as `asdict` gives them without its deep copy (the values here are
    strings, numbers and tuples of strings), which showed in every answer's JSON."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


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
        """What the embedder sees: the heading path gives a short paragraph its context."""
        head = " › ".join(self.heading_path)
        if self.kind == "question" or not head:
            return self.text
        if self.kind == "heading":
            return head
        return f"{head}\n{self.text}"


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    dense: float = 0.0  # cosine similarity of the query and the chunk
    lexical: float = 0.0  # share of the query's content terms found in the chunk

    def to_dict(self) -> dict:
        c = self.chunk
        d = {
            "source": c.source,
            "heading_path": list(c.heading_path),
            "line_start": c.line_start,
            "line_end": c.line_end,
            "score": round(float(self.score), 4),
        }
        if c.url:
            d["url"] = c.url
            d["title"] = c.title
        return d


def line_span(start: int, end: int) -> str:
    """ "line 13" or "lines 13–17"."""
    return f"line {start}" if end <= start else f"lines {start}–{end}"


@dataclass(frozen=True)
class Citation:
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

    def to_dict(self) -> dict:
        d = _fields(self)
        d["heading_path"] = list(self.heading_path)
        for key in ("url", "title", "verified"):
            if d[key] is None:
                del d[key]
        if not d["related"]:
            del d["related"]
        return d


@dataclass(frozen=True)
class Passage:
    """A sentence of the answering section that the answer does not show ("more" in the answer object)."""

    text: str
    source: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int

    @property
    def lines(self) -> str:
        return line_span(self.line_start, self.line_end)

    def to_dict(self) -> dict:
        d = _fields(self)
        d["heading_path"] = list(self.heading_path)
        return d


@dataclass(frozen=True)
class Answer:
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

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "query": self.query,
            "status": self.status,
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "hits": [h.to_dict() for h in self.hits[:10]],
            "generator": self.generator,
            "general_answer": self.general_answer,
            "notices": list(self.notices),
            "suggestions": list(self.suggestions),
            "more": [p.to_dict() for p in self.more],
        }


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer
    topic_terms: tuple[str, ...] = field(default=())


def note_questions(sections: Iterable[Section]) -> list[Section]:
    """The questions the notes ask (not those of fetched reference articles), in corpus order."""
    return [s for s in sections if s.is_question and s.url is None]
