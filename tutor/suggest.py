"""Next questions taken from the notes' structure: the other parts of a multi-part question,
neighbouring questions in the same topic, and the article a section links to."""

from __future__ import annotations

import re

from .index import Index
from .text import is_chinese
from .types import Section

MAX_SUGGESTIONS = 4
PARTS_ZH = re.compile(r"分别从(.+?)和(.+?)的?角度")
PARTS_EN = re.compile(r"from (?:both )?the (.+?) and (?:the )?(.+?) (?:points of view|perspectives|views?)", re.I)
SUBJECT = re.compile(r"理解([A-Za-z][\w\- ]*?)[，,]|([A-Za-z][A-Za-z\- ]{2,})")


def _question_of(index: Index, section: Section | None) -> Section | None:
    """The question a hit belongs to: the section itself or its nearest asking ancestor."""
    while section is not None and not section.is_question:
        section = index.section_by_path.get((section.source, section.heading_path[:-1]))
    return section


def _strip_number(title: str) -> str:
    return re.sub(r"^\s*\d+(?:\.\d+)*\s*", "", title)


def parts_of(title: str) -> list[str]:
    """Sub-questions of a multi-part question ("分别从bagging和正则化的角度" -> two questions)."""
    title = _strip_number(title)
    m = PARTS_ZH.search(title)
    if m:
        subject = SUBJECT.search(title)
        name = (subject.group(1) or subject.group(2)).strip() if subject else ""
        return [f"从{part.strip()}的角度怎么理解{name}？" for part in m.groups()]
    pieces = [p.strip() for p in re.split(r"(?<=[？?])\s*", title) if p.strip()]
    return pieces if len(pieces) > 1 else []


def suggestions_for(index: Index, section: Section | None, asked: str) -> tuple[str, ...]:
    question = _question_of(index, section)
    if question is None:
        return ()
    out: list[str] = parts_of(question.title)
    questions = index.note_questions
    here = index.note_question_position.get(question.id)
    if here is not None:
        for neighbour in questions[here + 1 : here + 2] + questions[max(here - 1, 0) : here]:
            if neighbour.topic == question.topic:
                out.append(_strip_number(neighbour.title))
    titles = index.reference_titles.get(question.id, set())
    for title in sorted(titles):
        out.append(f"《{title}》讲了什么？" if is_chinese(asked) else f"What does “{title}” say?")
    asked_norm = re.sub(r"\W", "", asked)
    unique = [q for q in dict.fromkeys(out) if re.sub(r"\W", "", q) != asked_norm]
    return tuple(unique[:MAX_SUGGESTIONS])
