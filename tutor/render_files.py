"""The Notes tab: a list of the notes folder's files first (state, passages, the gap map of their questions),
then each file's lines in a section of its own that opens from the list, instead of one long page.

Every file name, line and question is escaped here (`render.esc` / `render.inline`); nothing from a note
reaches the page as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from .file_states import REASONS, FileState
from .render import KIND_TEXT, LinesOf, count_questions, esc, note_row, strip_number
from .types import Section, note_questions

STATE_TEXT = {
    "indexed": ("indexed", "已索引"),
    "empty": ("empty", "空文件"),
    "skipped": ("skipped", "已跳过"),
    "ignored": ("ignored", "已忽略"),
    "pending": ("being indexed", "索引中"),
}


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
    legend = "".join(
        f'<span class="badge kind-{kind}">{esc(en)} · {esc(zh)}</span>' for kind, (en, zh) in KIND_TEXT.items()
    )
    return (
        f'<div class="notes-view"><div class="notes-count">{esc(count_questions(sections).line())}</div>'
        f'<div class="notes-legend">{legend} <span class="hint">click a question to ask it · 点击问题即可提问</span></div>'
        f"{render_file_list(notes, anchors)}{files}</div>"
    )


def render_file_list(states: Sequence[FileState], anchors: dict[str, str] | None = None) -> str:
    """One row per file: name (a link to its lines when they are shown), state and why, passages, gap map."""
    if not states:
        return '<div class="file-list"><p>No notes indexed yet. · 还没有索引任何笔记。</p></div>'
    anchors = anchors or {}
    indexed = sum(s.state == "indexed" for s in states)
    rows = "".join(_file_row(s, anchors.get(s.source)) for s in states)
    return (
        f'<div class="file-list"><div class="file-list-title">Files · 文件 — {indexed} of {len(states)} indexed</div>'
        "<table><thead><tr><th>file</th><th>state</th><th>passages</th><th>questions · gap map</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _file_row(state: FileState, anchor: str | None) -> str:
    name = esc(state.source)
    if anchor:
        name = f'<a class="file-link" href="#{anchor}" data-open="{anchor}">{name}</a>'
    en, zh = STATE_TEXT.get(state.state, (state.state, ""))
    why = ""
    if state.reason and state.state != "indexed":
        reason_en, reason_zh = REASONS.get(state.reason, (state.reason, ""))
        detail = f'<div class="file-why">{esc(state.message)}</div>' if state.message else ""
        why = f' <span class="file-reason">{esc(reason_en)} · {esc(reason_zh)}</span>{detail}'
    passages = str(state.passages) if state.state == "indexed" or state.passages else "–"
    return (
        f'<tr class="file-row file-{esc(state.state)}"><td class="file-name">{name}</td>'
        f'<td><span class="badge file-state file-{esc(state.state)}">{esc(en)} · {esc(zh)}</span>{why}</td>'
        f'<td class="file-passages">{passages}</td><td>{gap_line(state)}</td></tr>'
    )


def gap_line(state: FileState) -> str:
    """ "2 of 5 answered · 3 without an answer (2 question only, 1 link only)", or "–" for a file without questions."""
    if not state.questions:
        return '<span class="gap-none">–</span>'
    counts = (("question only", state.question_only), ("link only", state.link_only))
    parts = [f"{n} {kind}" for kind, n in counts if n]
    missing = f" · {state.unanswered} without an answer ({', '.join(parts)})" if state.unanswered else ""
    return (
        f'<span class="gap-line{" gaps" if state.unanswered else ""}">'
        f"{state.answered} of {state.questions} answered{missing}</span>"
    )


def gap_map(sections: Sequence[Section]) -> str:
    """One cell per question of the file, in its order, coloured by whether the notes answer it; a cell asks its
    question in the chat like the question's line does."""
    cells = []
    for q in note_questions(sections):
        en, zh = KIND_TEXT.get(q.kind, (q.kind, ""))
        ask = strip_number(q.title)
        cells.append(
            f'<span class="gap-cell kind-{esc(q.kind)}" data-ask="{esc(ask)}" role="button" tabindex="0"'
            f' title="{esc(q.title)} — {esc(en)} · {esc(zh)}"></span>'
        )
    return f'<div class="gap-map">{"".join(cells)}</div>' if cells else ""


def _file_section(state: FileState, sections: list[Section], lines_of: LinesOf, anchor: str, open_: bool) -> str:
    questions = {(s.source, s.line_start): s for s in note_questions(sections)}
    rows, blank = [], 0
    for no, text in enumerate(lines_of(state.source), start=1):
        blank = blank + 1 if not text.strip() else 0
        if blank > 1:
            continue  # a run of blank lines shows as one
        rows.append(note_row(no, text, questions.get((state.source, no))))
    return (
        f'<details class="note-file" id="{anchor}"{" open" if open_ else ""}>'
        f'<summary><span class="note-file-name">{esc(state.source)}</span>'
        f' <span class="file-passages">{state.passages} passages</span> {gap_line(state)}</summary>'
        f"{gap_map(sections)}{''.join(rows)}</details>"
    )


CSS = """
.file-list { margin: 8px 0 12px; font-size: .85rem; }
.file-list-title { font-weight: 600; margin-bottom: 4px; }
.file-list table { width: 100%; border-collapse: collapse; }
.file-list th, .file-list td { text-align: left; padding: 2px 8px; border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
.file-list td.file-name { font-family: var(--font-mono); font-size: .8rem; overflow-wrap: anywhere; }
.file-list .file-passages { font-variant-numeric: tabular-nums; }
a.file-link { text-decoration: none; color: #1d4ed8; cursor: pointer; }
.badge.file-indexed { color: #15803d; }
.badge.file-empty, .badge.file-ignored { color: #475569; }
.badge.file-skipped { color: #b91c1c; }
.file-reason { font-size: .8rem; }
.file-why { font-size: .75rem; color: var(--body-text-color-subdued); }
.gap-line.gaps { color: #a16207; }
details.note-file { margin: 6px 0; border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 2px 8px; }
details.note-file > summary { cursor: pointer; padding: 4px 0; }
details.note-file > summary .note-file-name { display: inline; margin: 0; }
details.note-file > summary .file-passages, details.note-file > summary .gap-line { font-size: .8rem; margin-left: 8px; }
.gap-map { display: flex; flex-wrap: wrap; gap: 2px; margin: 4px 0 8px; }
.gap-cell { width: 12px; height: 12px; border-radius: 2px; cursor: pointer; background: currentColor; }
.gap-cell:hover, .gap-cell:focus { outline: 2px solid var(--body-text-color); }
"""
