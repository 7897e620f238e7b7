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
from tutor.web.assets import fragment, template
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
SOURCE_LINE = fragment("source-line.html", "hit", "no", "line")  # filled once per cited line: read once
LINE_BREAK = template("line-break.html").template


def status_line(answer: Answer) -> str:
    icon, en, zh = STATUS_TEXT.get(answer.status, ("•", answer.status, ""))
    return template("answer-status.html").substitute(status=esc(answer.status), icon=icon, en=esc(en), zh=esc(zh))


def searched_line(answer: Answer) -> str:
    """For a follow-up, the standalone query that was actually searched."""
    if answer.query == answer.question:
        return ""
    return template("answer-searched.html").substitute(query=esc(answer.query))


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
        badges += template("source-related.html").template
    if citation.verified is False:
        badges += template("source-unverified.html").template
    classes = (
        "source" + (" related" if citation.related else "") + (" unverified" if citation.verified is False else "")
    )
    rows = excerpt(lines, citation.line_start, citation.line_end)
    if rows:
        body = "".join(SOURCE_LINE % (" hit" if hit else "", no, inline(text) or "&nbsp;") for no, text, hit in rows)
        cut = citation.line_end - citation.line_start + 1 - MAX_CITED_LINES
        if cut > 0:
            body += template("source-more-lines.html").substitute(cut=cut)
    else:  # the file moved or changed since the index was built: show what was quoted
        body = template("source-missing.html").substitute(source=esc(citation.source), quote=esc(citation.quote))
    ref = ""
    if citation.url:
        ref = template("source-ref.html").substitute(
            title=esc(citation.title or ""), link=link(citation.url), source=esc(citation.source)
        )
    return template("source.html").substitute(
        classes=classes,
        turn=turn,
        n=citation.n,
        open=" open" if open_ else "",
        where=esc(where(citation)),
        badges=badges,
        ref=ref,
        body=body,
    )


def sources_panel(citations: Iterable[Citation], turn: int | str, lines_of: LinesOf) -> str:
    blocks = [source_block(c, turn, lines_of(c.source)) for c in citations]
    if not blocks:
        return ""
    return template("sources.html").substitute(blocks="".join(blocks))


def more_block(more: Sequence[Passage], turn: int | str) -> str:
    """The rest of the answering section, collapsed: each sentence escaped, with its line."""
    if not more:
        return ""
    line = template("answer-more-line.html")
    rows = "".join(line.substitute(text=inline(p.text), lines=esc(p.lines)) for p in more)
    label = f"{len(more)} more from this section · 本节还有 {len(more)} 条"
    return template("answer-more.html").substitute(turn=turn, label=esc(label), rows=rows)


def render_answer(answer: Answer, turn: int, lines_of: LinesOf) -> str:
    """The whole assistant message: status, searched-for, notices, answer text, general block, sources."""
    notices = "".join(template("answer-notice.html").substitute(notice=esc(n)) for n in answer.notices)
    general = ""
    if answer.general_answer:
        general = template("answer-general.html").substitute(body=answer_body(answer.general_answer, turn))
    generator = ""
    if answer.generator != "extractive":
        generator = template("answer-generator.html").substitute(generator=esc(answer.generator))
    return template("answer.html").substitute(
        turn=turn,
        status=status_line(answer),
        generator=generator,
        searched=searched_line(answer),
        notices=notices,
        body=answer_body(answer.answer, turn),
        more=more_block(answer.more, turn),
        general=general,
        sources=sources_panel(answer.citations, turn, lines_of),
    )


def render_partial(text: str, turn: int) -> str:
    """The answer while it streams in (or a placeholder before the first piece)."""
    body = answer_body(text, turn) if text.strip() else template("answer-thinking.html").template
    return template("answer-partial.html").substitute(body=body)


def render_question(message: str) -> str:
    """The user's message, escaped; a huge paste is shown cut, with its length."""
    text = str(message)
    more = ""
    if len(text) > MAX_SHOWN_QUESTION:
        more = template("question-cut.html").substitute(length=f"{len(text):,}")
        text = text[:MAX_SHOWN_QUESTION]
    return template("question.html").substitute(text=esc(text).replace("\n", LINE_BREAK), more=more)


def render_problem(message: str) -> str:
    """A question the tutor could not answer (empty, unreadable, an internal error): say so and go on."""
    return template("problem.html").substitute(message=esc(message))


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
        return template("index-status-ready.html").substitute(
            files=files, plural="s" if files != 1 else "", passages=passages, built=built
        )
    if phase == "empty":
        return template("index-status-empty.html").substitute(folder=esc(detail))
    if phase == "error":
        return template("index-status-error.html").substitute(detail=esc(detail))
    bar = template("index-progress.html").substitute(done=done, total=total)
    if phase == "partial":
        source = (
            "a keyword search answers until the first part is embedded · 暂以关键词检索回答"
            if detail == "keyword"
            else "answers come from the part indexed so far · 回答来自已索引的部分"
        )
        return template("index-status-partial.html").substitute(
            files_done=files_done,
            files=files,
            done=f"{done:,}",
            total=f"{total:,}",
            left=f", about {esc(eta)} left" if eta else "",
            source=source,
            bar=bar,
        )
    count = f" {done}/{total} passages" if total else ""
    count += f" · ETA {esc(eta)} · 预计还需 {esc(eta)}" if eta else ""
    return template("index-status-building.html").substitute(
        step=esc(detail or "loading the index"),
        count=count,
        bar=bar if total else template("index-progress-unknown.html").template,
    )
