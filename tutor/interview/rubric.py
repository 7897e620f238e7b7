"""The notes' questions and their rubric: key points (the notes' own sentences, cited) and the parts a question asks.

index sections that ask -> `Question` with `KeyPoint`s and `Part`s (key_points.py) -> grading.py scores answers
against them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from tutor.config import Settings
from tutor.index.store import Index
from tutor.interview.centrality import MAX_POINTS, centrality, choose, idf_of
from tutor.interview.key_points import (
    MIN_TOPIC_POINTS,
    NUMBERING_RE,
    KeyPoint,
    Part,
    answer_chunks,
    fenced_lines,
    key_points,
    parts_of,
)
from tutor.notes.lines import is_reference_heading
from tutor.text import is_chinese
from tutor.types import Section

__all__ = [
    "MY_ANSWERS",
    "KeyPoint",
    "Part",
    "Question",
    "answer_chunks",
    "build_bank",
    "normalize_question",
    "topic_name",
]

MY_ANSWERS = "my-answers.md"  # the user's own answers, saved next to the notes (never inside them)


@dataclass(frozen=True)
class Question:
    id: str  # stable while the question's wording does not change, even if lines move
    section_id: str
    text: str
    topic: str  # the top-level heading, "一、DNN"
    topic_name: str  # "DNN"
    source: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    kind: str  # answered / question_only / link_only
    points: tuple[KeyPoint, ...] = ()  # what it is graded on: at most centrality.MAX_POINTS, the central ones
    parts: tuple[Part, ...] = ()
    more_points: tuple[KeyPoint, ...] = ()  # the section's other sentences, in the notes' order (narrow questions)

    @property
    def has_reference(self) -> bool:
        return bool(self.points)

    @property
    def chinese(self) -> bool:
        return is_chinese(self.text)


def topic_name(topic: str) -> str:
    """The heading without its numbering: 一、DNN -> DNN."""
    return NUMBERING_RE.sub("", topic).strip() or topic


def question_id(source: str, title: str) -> str:
    return f"{source}#{hashlib.sha1(normalize_question(title).encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def normalize_question(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", NUMBERING_RE.sub("", text)).casefold()


def build_bank(index: Index, settings: Settings) -> list[Question]:
    """Every question of the notes (not of the user's saved answers), in the notes' order, with its rubric."""
    lines_cache: dict[str, list[str] | None] = {}
    fenced: dict[str, frozenset[int]] = {}
    idf = None  # the index's idf, counted when a section first has more than MAX_POINTS candidates
    mine = _my_answers_source(settings)
    bank = []
    asked = [s for s in index.sections if s.is_question]
    seen: set[str] = set()
    for section in index.sections:
        if section.url or section.source == mine:
            continue
        if not section.is_question and not _topic_can_ask(section, asked):
            continue
        if section.source not in lines_cache:
            lines_cache[section.source] = _source_lines(settings, section.source)
            fenced[section.source] = fenced_lines(lines_cache[section.source] or [])
        lines = lines_cache[section.source]
        points, contexts = key_points(index, section, lines, fenced[section.source])
        if not section.is_question and len(points) < MIN_TOPIC_POINTS:
            continue  # a topic heading becomes a question only when its section answers something
        text = section.title if section.is_question else asked_with_context(section)
        parts = parts_of(section.title, points, contexts)
        if len(points) > MAX_POINTS:
            about = index.analyzer.tokenize(" ".join([text, *section.heading_path]))
            idf = idf or idf_of(index.tokens)
            points, more, parts = _central(index, points, parts, about, idf)
        else:
            more = ()
        qid = question_id(section.source, section.title if section.is_question else text)
        if qid in seen:  # the same heading twice in one file: the second is told apart by where it is
            qid = question_id(section.source, f"{text}\n{section.line_start}")
        seen.add(qid)
        bank.append(
            Question(
                id=qid,
                section_id=section.id,
                text=text,
                topic=section.topic,
                topic_name=topic_name(section.topic),
                source=section.source,
                heading_path=section.heading_path,
                line_start=section.line_start,
                line_end=section.line_end,
                kind=section.kind,
                points=points,
                parts=parts,
                more_points=more,
            )
        )
    return bank


def _central(index: Index, points: tuple[KeyPoint, ...], parts: tuple[Part, ...], about: list[str], idf):
    """The points graded (the central ones, renumbered), the rest, and the parts mapped onto the points kept."""
    scores = centrality([index.analyzer.tokenize(p.text) for p in points], about, idf)
    keep = choose(scores, [p.points for p in parts])
    if len(keep) == len(points):
        return points, (), parts
    rest = [i for i in range(len(points)) if i not in set(keep)]
    new = {old: n for n, old in enumerate(keep)}
    renumbered = [replace(points[i], citation=replace(points[i].citation, n=n)) for n, i in enumerate(keep + rest, 1)]
    kept_parts = tuple(
        Part(p.label, p.style, tuple(new[i] for i in p.points if i in new)) for p in parts if set(p.points) & new.keys()
    )
    return tuple(renumbered[: len(keep)]), tuple(renumbered[len(keep) :]), kept_parts


def _topic_can_ask(section: Section, asked: list[Section]) -> bool:
    """A heading that does not ask, with content of its own, under a parent heading that gives it context, and
    neither inside nor above a question of the notes ("4.2.3 模型特性" under "4.2 AlexNet", not "I. 数据问题"
    inside 4.1's checklist, not "一、DNN" above its questions)."""
    if section.kind not in ("answered", "topic") or not section.body.strip():
        return False
    if len(section.heading_path) < 2 or is_reference_heading(section.title):
        return False
    path = section.heading_path
    for q in asked:
        if q.source != section.source:
            continue
        if path[: len(q.heading_path)] == q.heading_path or q.heading_path[: len(path)] == path:
            return False
    return True


def asked_with_context(section: Section) -> str:
    """A topic heading as the question it implies, with its parent as context: "4.2.3 模型特性" under "4.2 AlexNet"
    is "讲一下AlexNet：模型特性"; "Limitations" under "k-means" is "Explain k-means: Limitations"."""
    title = NUMBERING_RE.sub("", section.title).strip()
    parent = NUMBERING_RE.sub("", section.heading_path[-2]).strip()
    if is_chinese(title) or is_chinese(parent):
        return f"讲一下{parent}：{title}"
    return f"Explain {parent}: {title}"


def _my_answers_source(settings: Settings) -> str:
    return f"{settings.corpus_path.name}/{MY_ANSWERS}"


def _source_lines(settings: Settings, source: str) -> list[str] | None:
    try:
        text = (settings.corpus_path.parent / source).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # the points then cite whole chunks instead of single lines
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
