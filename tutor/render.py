"""Pure render functions for the browser UI: `Answer` / sections / reference states -> HTML strings.

Every piece of note, answer or user text is escaped here; the only markup that survives is the one
these functions write. The chat shows this HTML through Gradio's sanitizer as a second fence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .types import Answer, Citation, Passage, Section, note_questions

LinesOf = Callable[[str], Sequence[str]]  # source (relative to the corpus root) -> the file's lines

CONTEXT_LINES = 2  # neighbours shown before and after the cited lines
MAX_CITED_LINES = 30  # a longer cited range is cut, with a note saying how much is left out
MAX_SHOWN_QUESTION = 600  # characters of a (very long) question echoed in the chat

STATUS_TEXT = {
    "answered": ("✓", "answered from your notes", "答案来自你的笔记"),
    "question_only": ("?", "your notes only pose this question", "你的笔记只提出了这个问题"),
    "not_found": ("∅", "not in your notes", "你的笔记里没有这个内容"),
}
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
# **bold**, `code`, a bare http(s) URL, a [n] citation marker; everything between them is escaped text
INLINE = re.compile(
    r"\*\*(?P<bold>.+?)\*\*|`(?P<code>[^`\n]+)`|(?P<url>https?://[^\s<>\"'`（）()\[\]{}，。；：！？、]+)|\[(?P<cite>\d{1,3})\]"
)
LIST_ITEM = re.compile(r"^\s*[-*+•]\s+")
NUMBER_PREFIX = re.compile(r"^\s*\d+(?:\.\d+)*\s*")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def link(url: str, text: str | None = None) -> str:
    """An external link that cannot reach back into the page (http/https only)."""
    if not re.match(r"https?://", url, re.IGNORECASE):
        return esc(text or url)
    return f'<a class="ext" href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(text or url)}</a>'


def cite_link(n: int | str, turn: int | str) -> str:
    return f'<a class="cite" href="#src-{turn}-{n}" title="show source [{n}]">[{n}]</a>'


def inline(text: str, turn: int | str | None = None) -> str:
    """Escaped text with the answers' small markdown: bold, code, URLs, and [n] markers as links to sources."""
    out: list[str] = []
    at = 0
    for m in INLINE.finditer(text):
        out.append(esc(text[at : m.start()]))
        if m.group("bold") is not None:
            out.append(f"<strong>{inline(m.group('bold'), turn)}</strong>")
        elif m.group("code") is not None:
            out.append(f"<code>{esc(m.group('code'))}</code>")
        elif m.group("url") is not None:
            out.append(link(m.group("url")))
        elif turn is not None:
            out.append(cite_link(m.group("cite"), turn))
        else:
            out.append(esc(m.group(0)))
        at = m.end()
    out.append(esc(text[at:]))
    return "".join(out)


def answer_body(text: str, turn: int | str) -> str:
    """The answer's markdown as HTML: paragraphs, `- ` lists, line breaks; never raw HTML from the notes."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            out.append("<p>" + "<br>".join(para) + "</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items.clear()

    for block in re.split(r"\n\s*\n", text.strip()):
        for line in block.split("\n"):
            if LIST_ITEM.match(line):
                if para:
                    flush()
                items.append(f"<li>{inline(LIST_ITEM.sub('', line), turn)}</li>")
            elif line.strip():
                if items:
                    flush()
                para.append(inline(line.strip(), turn))
        flush()
    return "".join(out)


def status_line(answer: Answer) -> str:
    icon, en, zh = STATUS_TEXT.get(answer.status, ("•", answer.status, ""))
    return f'<span class="status status-{esc(answer.status)}">{icon} {esc(en)} · {esc(zh)}</span>'


def searched_line(answer: Answer) -> str:
    """For a follow-up, the standalone query that was actually searched."""
    if answer.query == answer.question:
        return ""
    return f'<div class="searched">searched for: <q>{esc(answer.query)}</q></div>'


def excerpt(lines: Sequence[str], start: int, end: int, context: int = CONTEXT_LINES) -> list[tuple[int, str, bool]]:
    """(line number, text, cited?) for the cited lines plus `context` neighbours on each side."""
    if not lines:
        return []
    start = max(1, min(start, len(lines)))
    end = max(start, min(end, len(lines), start + MAX_CITED_LINES - 1))
    first, last = max(1, start - context), min(len(lines), end + context)
    return [(no, lines[no - 1], start <= no <= end) for no in range(first, last + 1)]


def where(citation: Citation) -> str:
    """file › heading path › lines, or for a reference article: title › lines."""
    if citation.url:
        parts = [citation.title or citation.url, citation.lines]
    else:
        parts = [citation.source, *citation.heading_path, citation.lines]
    return " › ".join(parts)


def source_block(citation: Citation, turn: int | str, lines: Sequence[str], open_: bool = False) -> str:
    """One citation: a <details> whose summary says where, and whose body shows the note's exact lines."""
    badges = ""
    if citation.related:
        badges += '<span class="badge badge-related">related · 相关</span>'
    if citation.verified is False:
        badges += '<span class="badge badge-unverified" title="the checker could not confirm this quote">unverified · 未核实</span>'
    classes = (
        "source" + (" related" if citation.related else "") + (" unverified" if citation.verified is False else "")
    )
    rows = excerpt(lines, citation.line_start, citation.line_end)
    if rows:
        body = "".join(
            f'<div class="ln-row{" hit" if hit else ""}"><span class="ln">{no}</span><span class="lt">{inline(text) or "&nbsp;"}</span></div>'
            for no, text, hit in rows
        )
        cut = citation.line_end - citation.line_start + 1 - MAX_CITED_LINES
        if cut > 0:
            body += f'<div class="ln-more">… {cut} more cited lines in the file</div>'
    else:  # the file moved or changed since the index was built: show what was quoted
        body = (
            f'<div class="ln-missing">{esc(citation.source)} cannot be read now; the quoted text was:</div>'
            f'<div class="ln-row hit"><span class="ln"></span><span class="lt">{esc(citation.quote)}</span></div>'
        )
    ref = ""
    if citation.url:
        ref = f'<div class="ref">{esc(citation.title or "")} {link(citation.url)} <span class="file">({esc(citation.source)})</span></div>'
    return (
        f'<details class="{classes}" id="src-{turn}-{citation.n}"{" open" if open_ else ""}>'
        f'<summary><span class="cite-n">[{citation.n}]</span> <span class="where">{esc(where(citation))}</span>{badges}</summary>'
        f'{ref}<div class="note-lines">{body}</div></details>'
    )


def sources_panel(citations: Iterable[Citation], turn: int | str, lines_of: LinesOf) -> str:
    blocks = [source_block(c, turn, lines_of(c.source)) for c in citations]
    if not blocks:
        return ""
    return f'<div class="sources"><div class="sources-title">Sources · 出处</div>{"".join(blocks)}</div>'


def more_block(more: Sequence[Passage], turn: int | str) -> str:
    """The rest of the answering section, collapsed: each sentence escaped, with its line."""
    if not more:
        return ""
    rows = "".join(
        f'<li><span class="more-text">{inline(p.text)}</span> <span class="ln">{esc(p.lines)}</span></li>' for p in more
    )
    label = f"{len(more)} more from this section · 本节还有 {len(more)} 条"
    return f'<details class="more" id="more-{turn}"><summary>{esc(label)}</summary><ul>{rows}</ul></details>'


def render_answer(answer: Answer, turn: int, lines_of: LinesOf) -> str:
    """The whole assistant message: status, searched-for, notices, answer text, general block, sources."""
    notices = "".join(f'<div class="notice">⚠ {esc(n)}</div>' for n in answer.notices)
    general = ""
    if answer.general_answer:
        general = (
            '<div class="general"><div class="general-title">General knowledge (not from your notes) · 通用知识（不是来自你的笔记）</div>'
            f"{answer_body(answer.general_answer, turn)}</div>"
        )
    generator = "" if answer.generator == "extractive" else f'<span class="generator">{esc(answer.generator)}</span>'
    return (
        f'<div class="tutor-answer" id="answer-{turn}">'
        f'<div class="answer-meta">{status_line(answer)}{generator}</div>{searched_line(answer)}{notices}'
        f'<div class="answer-text">{answer_body(answer.answer, turn)}</div>{more_block(answer.more, turn)}{general}'
        f"{sources_panel(answer.citations, turn, lines_of)}"
        '<div class="answer-actions"><button type="button" class="copy-answer">copy answer · 复制</button></div>'
        "</div>"
    )


def render_partial(text: str, turn: int) -> str:
    """The answer while it streams in (or a placeholder before the first piece)."""
    body = (
        answer_body(text, turn) if text.strip() else '<p class="thinking">searching your notes… · 正在检索你的笔记…</p>'
    )
    return f'<div class="tutor-answer streaming"><div class="answer-text">{body}</div></div>'


def render_question(message: str) -> str:
    """The user's message, escaped; a huge paste is shown cut, with its length."""
    text = str(message)
    more = ""
    if len(text) > MAX_SHOWN_QUESTION:
        more = f'<span class="cut"> … ({len(text):,} characters in all)</span>'
        text = text[:MAX_SHOWN_QUESTION]
    return f'<div class="tutor-question">{esc(text).replace(chr(10), "<br>")}{more}</div>'


def render_problem(message: str) -> str:
    """A question the tutor could not answer (empty, unreadable, an internal error): say so and go on."""
    return f'<div class="tutor-answer problem"><div class="notice">⚠ {esc(message)}</div></div>'


def strip_number(title: str) -> str:
    return NUMBER_PREFIX.sub("", title).strip() or title


# --- the Notes tab ---------------------------------------------------------------------------------------


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
    heading = re.match(r"^ {0,3}(#{1,6})\s", text)
    classes = ["note-line"] + ([f"h{len(heading.group(1))}"] if heading else [])
    if question is None:
        return f'<div class="{" ".join(classes)}"><span class="ln">{no}</span><span class="lt">{line}</span></div>'
    en, zh = KIND_TEXT.get(question.kind, (question.kind, ""))
    classes += ["question", f"kind-{question.kind}"]
    ask = strip_number(question.title)
    return (
        f'<div class="{" ".join(classes)}" data-ask="{esc(ask)}" role="button" tabindex="0" title="ask this in the chat">'
        f'<span class="ln">{no}</span><span class="lt">{line}</span>'
        f'<span class="badge kind-{esc(question.kind)}">{esc(en)} · {esc(zh)}</span></div>'
    )


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
        return '<div class="refs"><p>Your notes link to no articles.</p></div>'
    return (
        '<div class="refs"><div class="refs-title">Linked articles · 笔记中的链接</div>'
        "<table><thead><tr><th>state</th><th>article</th><th>linked from</th><th>note</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _line_of(url: str, section: Section, lines_of: LinesOf | None) -> int:
    lines = lines_of(section.source) if lines_of else ()
    for no in range(section.line_start, min(section.line_end, len(lines)) + 1):
        if url in lines[no - 1]:
            return no
    return section.line_start


def _ref_row(url: str, status: str, title: object, reason: object, linked: str) -> str:
    label = REF_TEXT.get(status, status)
    title_html = f"<div>{esc(title)}</div>" if title else ""
    return (
        f'<tr class="ref-{esc(status)}"><td><span class="badge ref-state ref-{esc(status)}">{esc(label)}</span></td>'
        f"<td>{title_html}{link(url)}</td><td>{esc(linked)}</td><td>{esc(reason or '')}</td></tr>"
    )


# --- reading note files (the one piece of I/O here; render functions take its result) --------------------


class NoteFiles:
    """Lines of a note file by its index source path (relative to `root`), cached until the file changes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def __call__(self, source: str) -> tuple[str, ...]:
        path = (self.root / source).resolve()
        if not path.is_relative_to(self.root):
            return ()  # a source path never leaves the corpus root
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return ()
        return _read_lines(str(path), stamp)


@lru_cache(maxsize=64)
def _read_lines(path: str, stamp: int) -> tuple[str, ...]:
    # the same line split as the parser, so line numbers agree with the index
    try:
        return tuple(Path(path).read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n").split("\n"))
    except OSError:
        return ()


# --- page chrome -------------------------------------------------------------------------------------------


def index_status(
    phase: str,
    *,
    detail: str = "",
    done: int = 0,
    total: int = 0,
    files: int = 0,
    passages: int = 0,
    when: str | None = None,
    eta: str = "",
    files_done: int = 0,
) -> str:
    """The status line on top of the page: ready / building the index n/m, ETA / answering from the part indexed
    so far ("partial"; `detail` "keyword" before any of it is embedded) / could not load."""
    if phase == "ready":
        built = f" · built {esc(when[:16].replace('T', ' '))}" if when else ""
        return (
            f'<div class="index-status ready">● ready · 就绪 — {files} note file{"s" if files != 1 else ""}, '
            f"{passages} passages indexed{built}</div>"
        )
    if phase == "empty":
        return (
            f'<div class="index-status error">no notes found in {esc(detail)} · 没有找到笔记: '
            "put your .md or .txt notes there and restart the tutor</div>"
        )
    if phase == "error":
        return (
            f'<div class="index-status error">✕ the tutor could not load its index · 索引加载失败: {esc(detail)}</div>'
        )
    if phase == "partial":
        left = f", about {esc(eta)} left" if eta else ""
        source = (
            "a keyword search answers until the first part is embedded · 暂以关键词检索回答"
            if detail == "keyword"
            else "answers come from the part indexed so far · 回答来自已索引的部分"
        )
        return (
            f'<div class="index-status building">◐ indexing {files_done}/{files} files ({done:,}/{total:,} passages)'
            f'{left}; {source} <progress value="{done}" max="{total}"></progress></div>'
        )
    count = f" {done}/{total} passages" if total else ""
    count += f" · ETA {esc(eta)} · 预计还需 {esc(eta)}" if eta else ""
    bar = f'<progress value="{done}" max="{total}"></progress>' if total else "<progress></progress>"
    return (
        f'<div class="index-status building">◌ {esc(detail or "loading the index")}…{count} · 正在准备索引 {bar}</div>'
    )


CHAT_PLACEHOLDER = (
    "<div class='chat-intro'><strong>Ask about your interview notes</strong> · 就你的面试笔记提问<br>"
    "Answers quote your notes with [n] markers; click one to see the note's lines. "
    "Follow-ups such as “从bagging的角度呢？” are understood in context.</div>"
)

CSS = """
#index-status .index-status { font-size: .85rem; padding: 4px 10px; border-radius: 6px; }
.index-status.ready { color: #166534; background: #f0fdf4; }
.index-status.building { color: #854d0e; background: #fefce8; }
.index-status.error { color: #991b1b; background: #fef2f2; }
.index-status progress { vertical-align: middle; width: 160px; margin-left: 8px; }
.chat-intro { color: var(--body-text-color-subdued); text-align: center; line-height: 1.7; }
.tutor-answer { line-height: 1.65; }
.tutor-answer p { margin: 0 0 .6em 0; }
.tutor-answer ul { margin: 0 0 .6em 1.2em; padding: 0; }
.tutor-answer code { font-size: .9em; padding: 0 3px; border-radius: 3px; background: var(--background-fill-secondary); }
.answer-meta { margin-bottom: 4px; }
.status { display: inline-block; font-size: .8rem; font-weight: 600; padding: 1px 8px; border-radius: 999px; }
.status-answered { color: #166534; background: #dcfce7; }
.status-question_only { color: #854d0e; background: #fef9c3; }
.status-not_found { color: #475569; background: #e2e8f0; }
.generator { font-size: .75rem; margin-left: 6px; color: var(--body-text-color-subdued); }
.searched { font-size: .8rem; color: var(--body-text-color-subdued); margin-bottom: 4px; }
.notice { font-size: .85rem; color: #9a3412; background: #fff7ed; padding: 2px 8px; border-radius: 4px; margin: 4px 0; }
.thinking { color: var(--body-text-color-subdued); font-style: italic; }
a.cite { font-size: .8em; font-weight: 600; text-decoration: none; padding: 0 2px; border-radius: 3px; color: #1d4ed8; background: #dbeafe; cursor: pointer; }
a.cite:hover { background: #bfdbfe; }
.general { border-left: 3px solid #a855f7; padding-left: 8px; margin: 6px 0; }
.general-title { font-size: .8rem; font-weight: 600; color: #7e22ce; }
details.more { margin: 4px 0; font-size: .9rem; }
details.more > summary { cursor: pointer; color: var(--body-text-color-subdued); }
details.more .ln { font-size: .75rem; color: var(--body-text-color-subdued); }
.sources { margin-top: 8px; border-top: 1px solid var(--border-color-primary); padding-top: 6px; }
.sources-title { font-size: .8rem; font-weight: 600; color: var(--body-text-color-subdued); margin-bottom: 2px; }
details.source { margin: 2px 0; border-radius: 6px; }
details.source > summary { cursor: pointer; font-size: .85rem; padding: 2px 4px; list-style-position: inside; }
details.source[open] { background: var(--background-fill-secondary); }
details.source.flash { animation: tutor-flash 1.6s ease-out; }
@keyframes tutor-flash { from { box-shadow: 0 0 0 3px #facc15; } to { box-shadow: 0 0 0 0 transparent; } }
.cite-n { font-weight: 700; color: #1d4ed8; }
.badge { display: inline-block; font-size: .72rem; padding: 0 6px; margin-left: 6px; border-radius: 999px; border: 1px solid currentColor; }
.badge-related { color: #6b21a8; }
.badge-unverified { color: #b91c1c; font-weight: 700; }
.ref { font-size: .85rem; padding: 2px 8px; }
.ref .file { color: var(--body-text-color-subdued); }
.note-lines { font-size: .85rem; padding: 4px 0 6px 0; }
.ln-row, .note-line { display: flex; gap: 10px; }
.ln-row .ln, .note-line .ln { flex: 0 0 2.6em; text-align: right; color: var(--body-text-color-subdued); user-select: none; font-variant-numeric: tabular-nums; }
.ln-row .lt, .note-line .lt { flex: 1; white-space: pre-wrap; tab-size: 2; overflow-wrap: anywhere; }
.ln-row.hit .lt { background: #fef08a; color: #1c1917; border-radius: 3px; }
.ln-row:not(.hit) .lt { color: var(--body-text-color-subdued); }
.ln-more, .ln-missing { font-size: .8rem; color: var(--body-text-color-subdued); padding-left: 3.4em; }
.answer-actions { margin-top: 4px; }
button.copy-answer { font-size: .75rem; padding: 1px 8px; border-radius: 4px; border: 1px solid var(--border-color-primary); background: transparent; cursor: pointer; color: var(--body-text-color-subdued); }
.tutor-question .cut { color: var(--body-text-color-subdued); font-size: .85em; }
.problem .notice { margin: 0; }
#suggestions { gap: 6px; flex-wrap: wrap; }
#suggestions button.chip { flex: 0 1 auto !important; min-width: 0 !important; border-radius: 999px; font-weight: 400; }
.notes-view { font-size: .9rem; }
.notes-count { font-size: 1.05rem; font-weight: 600; margin-bottom: 4px; }
.notes-legend { margin-bottom: 8px; }
.notes-legend .badge:first-child { margin-left: 0; }
.notes-legend .hint { font-size: .8rem; color: var(--body-text-color-subdued); margin-left: 8px; }
.note-file-name { font-family: var(--font-mono); font-size: .8rem; color: var(--body-text-color-subdued); margin: 8px 0 4px; }
.note-line.h1 .lt { font-weight: 700; font-size: 1.1em; }
.note-line.h2 .lt, .note-line.h3 .lt { font-weight: 600; }
.note-line.question { cursor: pointer; border-radius: 4px; }
.note-line.question:hover, .note-line.question:focus { background: var(--background-fill-secondary); outline: none; }
.note-line .badge { align-self: center; white-space: nowrap; }
.kind-answered { color: #15803d; }
.kind-question_only { color: #a16207; }
.kind-link_only { color: #1d4ed8; }
.refs { margin-top: 14px; font-size: .85rem; }
.refs-title { font-weight: 600; margin-bottom: 4px; }
.refs table { width: 100%; border-collapse: collapse; }
.refs td, .refs th { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
.ref-state.ref-fetched, .ref-state.ref-cached { color: #15803d; }
.ref-state.ref-failed, .ref-state.ref-refused { color: #b91c1c; }
.ref-state.ref-missing { color: #64748b; }
"""
