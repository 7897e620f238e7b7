"""Pure render functions for the chat: an `Answer` -> HTML (status, answer text, its sources with the cited note
lines), the page's status line, and the note-file reader they take their lines from.

Every piece of note, answer or user text is escaped here or in tutor/web/render_markdown.py; the only markup that
survives is the one these functions write. The chat shows this HTML through Gradio's sanitizer as a second fence.
The Notes tab is tutor/web/render_files.py, the Interview tab tutor/web/render_interview.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from tutor.types import Answer, Citation, Passage
from tutor.web.render_markdown import answer_body, esc, inline, link

LinesOf = Callable[[str], Sequence[str]]  # source (relative to the corpus root) -> the file's lines

CONTEXT_LINES = 2  # neighbours shown before and after the cited lines
MAX_CITED_LINES = 30  # a longer cited range is cut, with a note saying how much is left out
MAX_SHOWN_QUESTION = 600  # characters of a (very long) question echoed in the chat

STATUS_TEXT = {
    "answered": ("✓", "answered from your notes", "答案来自你的笔记"),
    "question_only": ("?", "your notes only pose this question", "你的笔记只提出了这个问题"),
    "not_found": ("∅", "not in your notes", "你的笔记里没有这个内容"),
}


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
