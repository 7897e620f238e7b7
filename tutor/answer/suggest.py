"""Next questions taken from the notes' structure: the other parts of a multi-part question,
neighbouring questions in the same topic, and the article a section links to."""

from __future__ import annotations

import re

from tutor.index.store import Index
from tutor.terms import aspect_terms, default_analyzer
from tutor.text import is_chinese
from tutor.types import Section

MAX_SUGGESTIONS = 4
# "从A和B的角度", "从A、B两个方面", "from the A and B points of view": a question asked from several angles
PARTS_ZH = re.compile(
    r"(?:分别)?(?:从|在)([^，,。？?从]+?)(?:和|与|及|以及|、)([^，,。？?]+?)(?:两个|几个|等)?的?(?:角度|方面|层面)"
)
PARTS_EN = re.compile(
    r"from (?:both )?(?:the )?([\w\- ]+?) and (?:the )?([\w\- ]+?) (?:points of view|perspectives?|views?|angles?|sides?)",
    re.IGNORECASE,
)


def _question_of(index: Index, section: Section | None) -> Section | None:
    """The question a hit belongs to: the section itself or its nearest asking ancestor."""
    while section is not None and not section.is_question:
        section = index.section_by_path.get((section.source, section.heading_path[:-1]))
    return section


def _strip_number(title: str) -> str:
    return re.sub(r"^\s*\d+(?:\.\d+)*\s*", "", title)


def _subject(title: str, clause: str) -> str:
    """What a multi-part question is about: its content terms outside the parts clause, as written."""
    rest = title.replace(clause, " ")
    analyzer = default_analyzer()
    terms = [t for t in analyzer.tokenize(rest) if t not in aspect_terms()]
    words = [analyzer.surface(rest, t) or t for t in terms]
    return " ".join(dict.fromkeys(words))


def parts_of(title: str) -> list[str]:
    """Sub-questions of a multi-part question ("分别从bagging和正则化的角度" -> two questions)."""
    title = _strip_number(title)
    m = PARTS_ZH.search(title)
    if m:
        name = _subject(title, m.group(0))
        return [f"从{part.strip()}的角度怎么理解{name}？" for part in m.groups()]
    m = PARTS_EN.search(title)
    if m:
        name = _subject(title, m.group(0))
        return [f"How do you understand {name} from the {part.strip()} point of view?" for part in m.groups()]
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
