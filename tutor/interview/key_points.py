"""Key points of a question: the notes' own sentences under it, each cited, and the parts a multi-part question asks.

rubric.py builds the question bank with them; grading.py scores answers against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.index.store import Index
from tutor.notes.lines import LEAD_IN_RE as PART_LEAD_IN_RE
from tutor.notes.lines import NUMBERED_LEAD_RE, clean_line, strip_markup
from tutor.search.focus import is_noise
from tutor.terms import tokenize
from tutor.text import INVISIBLE_RE, sentences
from tutor.types import Chunk, Citation, Section
from tutor.urls import URL_RE

MAX_REFERENCE_POINTS = 6  # a fetched article is long; its first chunks stand for its key points
MIN_TOPIC_POINTS = 2  # a topic heading with fewer checkable points is no question to ask
MIN_POINT_CHARS = 5  # shorter fragments ("参考", "- BN") carry no checkable point on their own

LEAD_IN_RE = re.compile(r"^.{0,20}[:：]$")
# a sentence that points at a figure the grader cannot see ("上图左侧的蓝色五角星…", "如图4.3所示", "See Figure 2")
FIGURE_RE = re.compile(
    r"(?:上|下|左|右|如|见|此|该|本)图(?![像片形书谱层灵])|图\s*\d+(?:[.\-]\d+)*|^表\s*\d|\b(?:see |in |the )?(?:figure|fig\.)\s*\d",
    re.I,
)
MATH_RE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\[a-zA-Z]+|[{}^_=]", re.S)
NUMBERING_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)*|[一二三四五六七八九十]+|[IVX]+)[、.．)\s]\s*")
ANGLE_RE = re.compile(r"从\s*(.+?)\s*(?:和|与|以及|及|、)\s*(.+?)\s*(?:两个|的)?\s*(?:角度|方面|层面)")
ANGLE_EN_RE = re.compile(
    r"from (?:the )?(.+?) and (?:the )?(.+?) (?:perspectives?|points? of view|angles?|views?)", re.I
)


@dataclass(frozen=True)
class KeyPoint:
    text: str  # the notes' own words, markup stripped
    citation: Citation
    label: str | None = None  # the bold run-in heading it explains (4.1's checklist), used in follow-ups
    group: str = ""  # the paragraph or sub-point it came from: parts are mapped per group


@dataclass(frozen=True)
class Part:
    label: str  # "bagging", "有哪些解决方法"
    style: str  # "angle" (分别从A和B的角度) or "clause" (one of several asks in the question)
    points: tuple[int, ...]  # indices into Question.points


def answer_chunks(index: Index, section: Section) -> list[Chunk]:
    """Body chunks of the section and its sub-sections, then fetched articles linked from the section itself."""
    depth = len(section.heading_path)
    own = [
        c
        for c in index.chunks
        if c.kind == "body" and c.source == section.source and c.heading_path[:depth] == section.heading_path
    ]
    refs = [c for c in index.chunks if c.kind == "reference" and c.section_id == section.id]
    return own + refs[:MAX_REFERENCE_POINTS]


@dataclass
class _Draft:
    text: str
    start: int
    end: int
    chunk: Chunk
    label: str | None = None
    group: str = ""


def fenced_lines(lines: list[str]) -> frozenset[int]:
    """Line numbers inside fenced code blocks, the fences included."""
    out: set[int] = set()
    fence = None
    for no, line in enumerate(lines, 1):
        mark = re.match(r"\s{0,3}(`{3,}|~{3,})", line)
        if fence is None:
            if mark:
                fence = mark.group(1)
                out.add(no)
            continue
        out.add(no)
        if mark and mark.group(1)[0] == fence[0] and len(mark.group(1)) >= len(fence) and not line.strip(" `~"):
            fence = None
    return frozenset(out)


def key_points(
    index: Index, section: Section, lines: list[str] | None, fenced: frozenset[int] = frozenset()
) -> tuple[tuple[KeyPoint, ...], dict]:
    """The rubric, and the full text of each group (lead-ins included) for mapping parts. Lines of code are
    points only where the section has too little prose to grade."""
    contexts: dict[str, str] = {}
    drafts: list[_Draft] = []
    run_ins: dict[str, _Draft] = {}  # bold sub-point section id -> its key point
    seen: set[tuple[int, str]] = set()
    chunks = answer_chunks(index, section)
    whole = _whole_answer_label(index, section, chunks)
    for chunk in chunks:
        owner = index.section_by_id.get(chunk.section_id)
        if chunk.kind == "reference":
            drafts.append(_Draft(chunk.text, chunk.line_start, chunk.line_end, chunk, group=chunk.id))
            contexts[chunk.id] = chunk.text
        elif owner is not None and owner.id != whole and (owner.id in run_ins or _is_run_in(owner, chunk)):
            # 4.1's checklist: a bold sub-point and its paragraph (however many chunks) are one key point
            if owner.id in run_ins:
                draft = run_ins[owner.id]
                draft.text, draft.end = f"{draft.text}\n{chunk.text}", chunk.line_end
            else:
                draft = run_ins[owner.id] = _Draft(
                    chunk.text, owner.line_start, chunk.line_end, chunk, owner.title, owner.id
                )
                drafts.append(draft)
            contexts[owner.id] = draft.text
        else:
            contexts[chunk.id] = chunk.text
            for text, start, end in _sentences_with_lines(chunk, lines):
                if (start, text) not in seen and _is_point(text, owner):
                    seen.add((start, text))
                    drafts.append(_Draft(text, start, end, chunk, group=chunk.id))
    prose = [d for d in drafts if not {d.start, d.end} & fenced]
    if len(prose) >= MIN_TOPIC_POINTS:
        drafts = prose
    points = []
    for n, d in enumerate(drafts, start=1):
        quote, c = INVISIBLE_RE.sub("", d.text).strip(), d.chunk  # a zero-width space is no part of a point
        citation = Citation(n, c.source, c.heading_path, d.start, d.end, quote, url=c.url, title=c.title)
        points.append(KeyPoint(quote, citation, d.label, d.group))
    return tuple(points), contexts


def _whole_answer_label(index: Index, section: Section, chunks: list[Chunk]) -> str | None:
    """The bold run-in heading under the question that holds its whole answer ("**Answer**:" above everything), if
    there is one: it divides nothing, so its text is read sentence by sentence like any answer, not as one
    sub-point. (A run-in asked about itself, "**BERT缺点**", is read as it always is.)"""
    body = [c for c in chunks if c.kind == "body"]
    if len({c.section_id for c in body}) != 1 or body[0].section_id == section.id:
        return None
    owner = index.section_by_id.get(body[0].section_id)
    return owner.id if owner is not None and _is_run_in(owner, body[0]) else None


def _is_run_in(owner: Section, chunk: Chunk) -> bool:
    """A bold run-in sub-heading (not a "（1）…角度" or "解决办法：" lead line) whose chunk starts with its title."""
    return (
        not owner.is_question
        and chunk.line_start == owner.line_start
        and chunk.text.startswith(owner.title)
        and not NUMBERED_LEAD_RE.match(owner.title)
        and not PART_LEAD_IN_RE.match(chunk.text.split("\n", 1)[0])  # "解决办法：" announces a list of points
    )


# what opens a line without being part of what it says: a quote's ">", a bullet, a list number ("> 2. L1正则化：…")
LINE_MARK_RE = re.compile(r"^\s*(?:>\s*)*(?:(?:[-*+•]|\d+[.)、])\s+)?")


def _sentences_with_lines(chunk: Chunk, lines: list[str] | None) -> list[tuple[str, int, int]]:
    if lines is None or chunk.line_end > len(lines):
        return [(s, chunk.line_start, chunk.line_end) for s in sentences(chunk.text)]
    out = []
    in_math = False  # a chunk keeps a $$ block whole, so it starts outside one
    for no in range(chunk.line_start, chunk.line_end + 1):
        was, in_math = in_math, in_math != (lines[no - 1].count("$$") % 2 == 1)
        if was or in_math:
            continue  # a line of a display formula ("PE_{(pos,2i)} = \\sin…" between $$ lines) is no point
        text = re.sub(r"\s{2,}", " ", strip_markup(clean_line(lines[no - 1])))  # no image, tag or entity in a point
        for s in sentences(text):
            out.append((LINE_MARK_RE.sub("", s), no, no))
    return out


def _is_point(text: str, owner: Section | None) -> bool:
    """Does a sentence carry a checkable point: not markup, an image, a formula alone, a figure's caption or a
    pointer at a figure, a lead-in or a quoted article title?"""
    bare = URL_RE.sub("", text).strip()
    if is_noise(bare) or FIGURE_RE.search(bare):
        return False
    words = re.sub(r"[\W_]+", "", MATH_RE.sub("", bare))  # what is left once the formula is taken out
    if len(words) < MIN_POINT_CHARS or bare.startswith("参考") and len(bare) <= 8:
        return False
    if LEAD_IN_RE.match(bare) or NUMBERED_LEAD_RE.match(bare):
        return False  # "解决办法：", "（1）深层网络角度": they announce points, they are not points
    if owner is not None and not owner.is_question and strip_markup(bare) == owner.title:
        return False
    if re.fullmatch(r"[“\"'「『].*[”\"'」』]", bare):
        return False  # a quoted article title above its link
    return bool(tokenize(bare))


def parts_of(title: str, points: tuple[KeyPoint, ...], contexts: dict[str, str]) -> tuple[Part, ...]:
    """The asks of a multi-part question, each mapped to the key points that answer it."""
    if not points:
        return ()
    body = NUMBERING_RE.sub("", title)
    match = ANGLE_RE.search(body) or ANGLE_EN_RE.search(body)
    if match:
        asks = [
            (match.group(1), "angle", tokenize(match.group(1))),
            (match.group(2), "angle", tokenize(match.group(2))),
        ]
    else:
        clauses = [c.strip(" ，,。") for c in re.split(r"[？?]", body) if tokenize(c)]
        if len(clauses) < 2:
            return ()
        asks = [(c, "clause", tokenize(c)[-1:]) for c in clauses]  # a Chinese ask ends with what it asks for
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault(p.group, []).append(i)
    group_terms = {g: set(tokenize(contexts.get(g, ""))) for g in groups}
    claimed: dict[int, list[int]] = {}
    for a, (_, _, cues) in enumerate(asks):
        claimed[a] = [i for g, idx in groups.items() if set(cues) & group_terms[g] for i in idx]
    unclaimed = [i for i in range(len(points)) if not any(i in c for c in claimed.values())]
    for a in claimed:
        if not claimed[a]:
            claimed[a] = unclaimed  # the ask no paragraph names takes the paragraphs no other ask named
    return tuple(Part(label, style, tuple(claimed[a])) for a, (label, style, _) in enumerate(asks) if claimed[a])
