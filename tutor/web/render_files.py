"""The Notes tab: a list of the notes folder's files first (state, passages, the gap map of their questions),
then each file's lines in a section of its own that opens from the list, instead of one long page; under it the
articles the notes link to and their state.

Every file name, line and question is escaped here (`esc` / `inline` of tutor/web/render_markdown.py); nothing from
a note reaches the page as markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tutor.notes.file_states import REASONS, FileState
from tutor.types import Section, note_questions
from tutor.web.assets import fragment, template
from tutor.web.render import LinesOf
from tutor.web.render_markdown import esc, inline, link

KIND_TEXT = {
    "answered": ("answered", "有答案"),
    "question_only": ("question only", "只有问题"),
    "link_only": ("link only", "只有链接"),
}
REF_TEXT = {
    "fetched": "fetched",
    "cached": "cached",
    "failed": "failed",
    "refused": "refused",
    "missing": "not fetched yet",
}
NUMBER_PREFIX = re.compile(r"^\s*\d+(?:\.\d+)*\s*")
HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s")
# filled once per line or question of a note: %-format strings, read once
NOTE_LINE = fragment("notes-line.html", "classes", "no", "line")
QUESTION_LINE = fragment("notes-question-line.html", "classes", "ask", "no", "line", "badge")
KIND_BADGE = fragment("notes-kind-badge.html", "kind", "en", "zh")
GAP_CELL = fragment("notes-gap-cell.html", "kind", "ask", "title", "en", "zh")
STATE_TEXT = {
    "indexed": ("indexed", "已索引"),
    "empty": ("empty", "空文件"),
    "skipped": ("skipped", "已跳过"),
    "ignored": ("ignored", "已忽略"),
    "pending": ("being indexed", "索引中"),
}


@dataclass(frozen=True)
class QuestionCount:
    total: int
    answered: int
    question_only: int
    link_only: int

    def line(self) -> str:
        return (
            f"{self.answered} of {self.total} questions have answers in your notes"
            f" · {self.total} 个问题中有 {self.answered} 个在笔记里有答案"
            f" ({self.question_only} question only, {self.link_only} link only)"
        )


def count_questions(sections: Iterable[Section]) -> QuestionCount:
    qs = note_questions(sections)
    kinds = [q.kind for q in qs]
    return QuestionCount(len(qs), kinds.count("answered"), kinds.count("question_only"), kinds.count("link_only"))


def note_row(no: int, text: str, question: Section | None) -> str:
    line = inline(text) if text.strip() else "&nbsp;"  # escaped; **bold**, `code` and links shown as such
    heading = HEADING_RE.match(text)
    classes = ["note-line"] + ([f"h{len(heading.group(1))}"] if heading else [])
    if question is None:
        return NOTE_LINE % (" ".join(classes), no, line)
    classes += ["question", f"kind-{question.kind}"]
    ask = esc(strip_number(question.title))
    badge = kind_badge(question.kind)
    return QUESTION_LINE % (" ".join(classes), ask, no, line, badge)


def kind_badge(kind: str) -> str:
    en, zh = KIND_TEXT.get(kind, (kind, ""))
    return KIND_BADGE % (esc(kind), esc(en), esc(zh))


def strip_number(title: str) -> str:
    return NUMBER_PREFIX.sub("", title).strip() or title


def file_anchor(n: int) -> str:
    return f"note-file-{n}"


def render_notes_by_file(sections: Sequence[Section], states: Sequence[FileState], lines_of: LinesOf) -> str:
    """The count over all notes, the file list, then one collapsible section per indexed note file (open when
    there is only one)."""
    notes = [s for s in states if not s.reference]
    by_source: dict[str, list[Section]] = {}
    for s in sections:
        if s.url is None:
            by_source.setdefault(s.source, []).append(s)
    shown = [s for s in notes if s.source in by_source]
    anchors = {s.source: file_anchor(n) for n, s in enumerate(shown)}
    files = "".join(
        _file_section(s, by_source[s.source], lines_of, anchors[s.source], open_=len(shown) == 1) for s in shown
    )
    legend = "".join(kind_badge(kind) for kind in KIND_TEXT)
    return template("notes-view.html").substitute(
        count=esc(count_questions(sections).line()),
        legend=legend,
        file_list=render_file_list(notes, anchors),
        files=files,
    )


def render_file_list(states: Sequence[FileState], anchors: dict[str, str] | None = None) -> str:
    """One row per file: name (a link to its lines when they are shown), state and why, passages, gap map."""
    if not states:
        return template("notes-file-list-empty.html").template
    anchors = anchors or {}
    indexed = sum(s.state == "indexed" for s in states)
    rows = "".join(_file_row(s, anchors.get(s.source)) for s in states)
    return template("notes-file-list.html").substitute(indexed=indexed, total=len(states), rows=rows)


def _file_row(state: FileState, anchor: str | None) -> str:
    name = esc(state.source)
    if anchor:
        name = template("notes-file-link.html").substitute(anchor=anchor, name=name)
    en, zh = STATE_TEXT.get(state.state, (state.state, ""))
    why = ""
    if state.reason and state.state != "indexed":
        reason_en, reason_zh = REASONS.get(state.reason, (state.reason, ""))
        detail = template("notes-file-why.html").substitute(message=esc(state.message)) if state.message else ""
        reason = template("notes-file-reason.html")
        why = " " + reason.substitute(en=esc(reason_en), zh=esc(reason_zh), detail=detail)
    passages = str(state.passages) if state.state == "indexed" or state.passages else "–"
    return template("notes-file-row.html").substitute(
        state=esc(state.state), name=name, en=esc(en), zh=esc(zh), why=why, passages=passages, gap=gap_line(state)
    )


def gap_line(state: FileState) -> str:
    """ "2 of 5 answered · 3 without an answer (2 question only, 1 link only)", or "–" for a file without questions."""
    if not state.questions:
        return template("notes-gap-none.html").template
    counts = (("question only", state.question_only), ("link only", state.link_only))
    parts = [f"{n} {kind}" for kind, n in counts if n]
    missing = f" · {state.unanswered} without an answer ({', '.join(parts)})" if state.unanswered else ""
    return template("notes-gap-line.html").substitute(
        gaps=" gaps" if state.unanswered else "", answered=state.answered, questions=state.questions, missing=missing
    )


def gap_map(sections: Sequence[Section]) -> str:
    """One cell per question of the file, in its order, coloured by whether the notes answer it; a cell asks its
    question in the chat like the question's line does."""
    cells = []
    for q in note_questions(sections):
        en, zh = KIND_TEXT.get(q.kind, (q.kind, ""))
        ask = strip_number(q.title)
        cells.append(GAP_CELL % (esc(q.kind), esc(ask), esc(q.title), esc(en), esc(zh)))
    return template("notes-gap-map.html").substitute(cells="".join(cells)) if cells else ""


def _file_section(state: FileState, sections: list[Section], lines_of: LinesOf, anchor: str, open_: bool) -> str:
    questions = {(s.source, s.line_start): s for s in note_questions(sections)}
    rows, blank = [], 0
    for no, text in enumerate(lines_of(state.source), start=1):
        blank = blank + 1 if not text.strip() else 0
        if blank > 1:
            continue  # a run of blank lines shows as one
        rows.append(note_row(no, text, questions.get((state.source, no))))
    return template("notes-file.html").substitute(
        anchor=anchor,
        open=" open" if open_ else "",
        name=esc(state.source),
        passages=state.passages,
        gap=gap_line(state),
        gap_map=gap_map(sections),
        rows="".join(rows),
    )


# --- the articles the notes link to ------------------------------------------------------------------------


def render_references(states: Sequence[dict], sections: Iterable[Section] = (), lines_of: LinesOf | None = None) -> str:
    """The articles the notes link to and their state: fetched / cached / failed (+ reason) / not fetched yet."""
    rows = []
    seen = set()
    for state in states:
        url = str(state.get("url") or "")
        seen.add(url)
        linked = ", ".join(str(x) for x in state.get("linked_from") or [])
        rows.append(
            _ref_row(url, str(state.get("status") or "failed"), state.get("title"), state.get("reason"), linked)
        )
    for s in sections:
        for url in s.links if s.url is None else ():
            if url not in seen:
                seen.add(url)
                where = f"{s.source}:{_line_of(url, s, lines_of)}"
                rows.append(_ref_row(url, "missing", None, "run `tutor index` to fetch it", where))
    if not rows:
        return template("notes-refs-empty.html").template
    return template("notes-refs.html").substitute(rows="".join(rows))


def _line_of(url: str, section: Section, lines_of: LinesOf | None) -> int:
    lines = lines_of(section.source) if lines_of else ()
    for no in range(section.line_start, min(section.line_end, len(lines)) + 1):
        if url in lines[no - 1]:
            return no
    return section.line_start


def _ref_row(url: str, status: str, title: object, reason: object, linked: str) -> str:
    label = REF_TEXT.get(status, status)
    title_html = template("notes-ref-title.html").substitute(title=esc(title)) if title else ""
    return template("notes-ref-row.html").substitute(
        status=esc(status),
        label=esc(label),
        title=title_html,
        link=link(url),
        linked=esc(linked),
        reason=esc(reason or ""),
    )
