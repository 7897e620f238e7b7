"""Sections and chunks of one markdown or plain-text file, from its heading tree (tree.py): a question heading is a
chunk of its own, a paragraph is cut to the embedder's window with its exact lines, and what only points elsewhere
(a link, a bibliography entry, a figure's lead-in) is a "link" chunk, never an answer."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from pathlib import Path

from tutor.notes.lines import LIST_RE, is_reference_heading, readable
from tutor.notes.tree import MAX_CHUNK_CHARS, Node, outline, paragraphs
from tutor.types import Chunk, Section
from tutor.urls import URL_RE

MIN_BLOCK_CHARS = 16  # shorter blocks ("解决办法：", "参考") are glued to the next one
MAX_WHOLE_CHARS = 3000  # a table or a display formula this long or shorter stays one chunk
# "[3] K. Simonyan and A. Zisserman. Very Deep Convolutional Networks… 2014.": a numbered entry in Latin script that
# names a year, "et al." or a link
BIB_ENTRY_RE = re.compile(
    r"^\[\d{1,3}\]\s*(?=[^\u3400-\u9fff]*$)(?=.*(?:\b(?:19|20)\d\d\b|\bet al\b|https?://|arxiv))", re.I
)

# a line, or list item, of nothing but links whose targets match the given pattern
# a short label may lead the links ("**参考资料**：[…](…)", "Paper: […](…)"): they still only point
LINK_LINE = r"(?:[-*+]\s+|\d+[.)、]\s+)?(?:(?:\*\*)?[^:：\[\]()*]{{1,20}}(?:\*\*)?\s*[:：]\s*)?(?:{link}[\s,，、|]*)+$"
# a line that is only links ("- [全部代码](/K-Means/K-Menas.py)", "> [神经语言模型](./A-自然语言处理基础#nplm)",
# "- <https://www.zhihu.com/question/321773456>"): it points at pages or files, it says nothing itself
LINKS_ONLY_RE = re.compile(
    r"^(?:>\s*)*" + LINK_LINE.format(link=r"(?:\[(?:[^\[\]]|\[[^\]]*\])*\]\([^)]*\)|<https?://[^>\s]+>)")
)  # link text may hold brackets of its own: "[Feature Extractor[ResNet v2]](…)"
# a line of a table of contents: only links to places in the same file ("- [GloVe 的基本思想](#glove-的基本思想)")
TOC_LINE_RE = re.compile("^" + LINK_LINE.format(link=r"\[[^\]]*\]\(#[^)\s]*\)"))
# a line that cites a chapter of a book ("> 《深度学习》 5.2 容量、过拟合和欠拟合"): where to read, not what it says
CHAPTER_CITATION_RE = re.compile(
    r"^(?:>\s*)*《[^》]+》\s*第?[0-9一二三四五六七八九十]+(?:\.[0-9]+)*\s*[章节]?\s*[^，。,.!?！？]{0,30}$"
)

# a line that only sends the reader to another file ("见supervised.md", "See optimizer.md.")
FILE_POINTER_RE = re.compile(
    r"^(?:>\s*)*(?:见|参见|详见|参考|请看|请参考|see(?: also)?|refer to)\s*[:：]?\s*[`\"'《]?[^\s`\"'》]{1,80}"
    r"\.(?:md|markdown|pdf|ipynb|txt|html?|docx?)[`\"'》]?\s*[。.]?$",
    re.IGNORECASE,
)


def _points_elsewhere(line: str) -> bool:
    """A line of only links, or one that only names another file: it points, it says nothing itself."""
    return bool(LINKS_ONLY_RE.match(line) or FILE_POINTER_RE.match(line))


def _without_contents(node: Node) -> None:
    """Drop table-of-contents lines from every section: they repeat the headings, and a question about a section
    that says nothing ("# WordRank TODO") must not be answered from its entry in the contents."""
    node.body = [(no, raw) for no, raw in node.body if not TOC_LINE_RE.match(raw.strip())]
    for child in node.children:
        _without_contents(child)


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _bounds(node: Node) -> tuple[int, int]:
    nos = [no for no, raw in node.body if raw.strip()]
    end = max(nos) if nos else node.line
    for child in node.children:
        end = max(end, _bounds(child)[1])
    return node.line, end


def _has_answer(node: Node, leads: frozenset[int]) -> bool:
    """Does the node hold text of its own, not only links, pointers to other files, lead-ins and a list of
    sources?"""
    lines = [(no, raw.strip()) for no, raw in node.body]
    prose = [t for no, t in lines if t and not URL_RE.fullmatch(t) and not _points_elsewhere(t) and no not in leads]
    return bool(prose) or any(
        _has_answer(c, leads)
        for c in node.children
        if (not c.is_question or not c.pseudo) and not is_reference_heading(c.title)
    )


def _links(node: Node) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group(0) for _, raw in node.body for m in URL_RE.finditer(raw)))


def _kind(node: Node, leads: frozenset[int]) -> str:
    if not node.is_question:
        return "topic"
    if _has_answer(node, leads):
        return "answered"
    return "link_only" if _links(node) else "question_only"


def _text_chunks(
    block: list[tuple[int, str]],
    source: str,
    path: tuple[str, ...],
    section_id: str,
    leads: frozenset[int] = frozenset(),
    **extra,
) -> list[Chunk]:
    lines = [(no, raw.strip()) for no, raw in block]
    text = "\n".join(t for _, t in lines)
    whole = text.startswith("$$") or all(t.startswith("|") for _, t in lines)  # a formula or a table
    # a bare link, or a reference title with its link, points elsewhere: it is not an answer itself
    # so does an entry of a bibliography ("[1] Platt, John. "Sequential minimal optimization…" (1998).")
    # and so does a line that only introduces a figure, and a list of sources under its label ("**参考资料**")
    links_only = all(
        no in leads or _points_elsewhere(t) or CHAPTER_CITATION_RE.match(t) or is_reference_heading(readable(t))
        for no, t in lines
    )
    if len(text) <= MAX_CHUNK_CHARS or (whole and len(text) <= MAX_WHOLE_CHARS):
        pointer = links_only or (URL_RE.search(text) and len(URL_RE.sub("", text).strip()) < 40)
        kind = "link" if pointer or all(BIB_ENTRY_RE.match(t) for _, t in lines) else "body"
        return [_chunk(source, path, lines[0][0], lines[-1][0], readable(text), kind, section_id, **extra)]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=MAX_CHUNK_CHARS,
        chunk_overlap=40,
        separators=["\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", "，", ",", " ", ""],
        keep_separator="end",
        add_start_index=True,
    )
    offsets = []  # char offset of each line in `text`, ascending (bisected: a long list is one block)
    pos = 0
    for _, t in lines:
        offsets.append(pos)
        pos += len(t) + 1
    out = []
    for doc in splitter.create_documents([text]):
        begin = max(doc.metadata["start_index"], 0)  # -1 when the splitter cannot place a piece
        end = begin + len(doc.page_content) - 1
        first = lines[bisect_right(offsets, begin) - 1][0]
        last = lines[bisect_right(offsets, end) - 1][0]
        kind = "link" if links_only else "body"
        out.append(_chunk(source, path, first, last, readable(doc.page_content), kind, section_id, **extra))
    return out


def _chunk(source, path, start, end, text, kind, section_id, **extra) -> Chunk:
    cid = _sha(f"{source}|{'/'.join(path)}|{start}|{end}|{text}")[:16]
    return Chunk(cid, source, tuple(path), start, end, text, kind, section_id, **extra)


def _body_groups(body: list[tuple[int, str]], leads: frozenset[int]) -> list[list[tuple[int, str]]]:
    """Paragraphs, with a list kept whole and tiny lead-ins ("解决办法：") glued to what follows; a figure's lead-in
    stays apart (the figure, not the next paragraph, is what it introduces)."""
    groups: list[list[tuple[int, str]]] = []
    carry: list[tuple[int, str]] = []
    for block in paragraphs(body):
        is_list = LIST_RE.match(block[0][1])
        if len(block) == 1 and block[0][0] in leads:
            groups.append(carry + block if carry else block)
            carry = []
            continue
        if (
            groups
            and not carry
            and (
                (is_list and LIST_RE.match(groups[-1][-1][1]))
                # a bare link right under its short title ("参考 ... https://...") stays with it
                or (
                    URL_RE.fullmatch(block[0][1].strip())
                    and len(groups[-1]) <= 3
                    and block[0][0] - groups[-1][-1][0] <= 2
                )
            )
        ):
            groups[-1].extend(block)
            continue
        block = carry + block
        carry = []
        if len("".join(r.strip() for _, r in block)) < MIN_BLOCK_CHARS and not URL_RE.search(block[-1][1]):
            carry = block
            continue
        groups.append(block)
    if carry:
        if groups and carry[0][0] - groups[-1][-1][0] <= 2:
            groups[-1].extend(carry)
        else:
            groups.append(carry)
    return groups


def _walk(
    node: Node,
    source: str,
    topic: str,
    sections: list[Section],
    chunks: list[Chunk],
    leads: frozenset[int] = frozenset(),
    **extra,
) -> None:
    for child in node.children:
        start, end = _bounds(child)
        sid = f"{source}:{start}"
        body_lines = [(no, raw) for no, raw in child.body if raw.strip()]
        section = Section(
            id=sid,
            source=source,
            heading_path=child.path,
            line_start=start,
            line_end=end,
            title=child.title,
            is_question=child.is_question,
            kind=_kind(child, leads),  # type: ignore[arg-type]
            body="\n".join(raw.strip() for _, raw in body_lines),
            links=_links(child),
            topic=topic or child.title,
            url=extra.get("url"),
        )
        sections.append(section)
        if child.is_question:
            chunks.append(_chunk(source, child.path, child.line, child.line, child.title, "question", sid, **extra))
        elif (
            body_lines
            and body_lines[0][0] != child.line  # a file's text before any heading is named after it, not headed
            and not child.pseudo
            and not is_reference_heading(child.title)
        ):
            # a heading that states its topic ("10.4.3 卷积核size一般为奇数", "4.2 AlexNet › 4.2.3 模型特性") is the
            # section's summary: searched on its own, as a question heading is, its match lifts the paragraphs
            chunks.append(_chunk(source, child.path, child.line, child.line, child.title, "heading", sid, **extra))
        if is_reference_heading(child.title) and not child.pseudo and not extra.get("url"):
            _walk(child, source, topic or child.title, sections, chunks, leads, **extra)
            continue  # a list of sources is where to read more, never an answer
        first_group = True
        for group in _body_groups(child.body, leads):
            if child.pseudo and not child.is_question and first_group and child.title:
                # keep the run-in heading with its text
                group = [(child.line, child.line_text or f"**{child.title}**")] + group
            first_group = False
            chunks.extend(_text_chunks(group, source, child.path, sid, leads, **extra))
        if child.pseudo and not child.is_question and not body_lines and not child.children and child.title:
            chunks.append(_chunk(source, child.path, child.line, child.line, child.title, "body", sid, **extra))
        _walk(child, source, topic or child.title, sections, chunks, leads, **extra)


def parse_markdown(text: str, source: str, **extra) -> tuple[list[Section], list[Chunk]]:
    """Sections and chunks of one markdown/plain-text file. `extra` (url, title) marks a reference."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    root, leads = outline(text)
    _without_contents(root)
    sections: list[Section] = []
    chunks: list[Chunk] = []
    if root.body and any(raw.strip() for _, raw in root.body):
        # Text before the first heading (or a file with no headings) is a section named after the file.
        name = extra.get("title") or Path(source).stem
        preface = Node(name, (name,), 1, 0, False, body=root.body)
        first = next((no for no, raw in root.body if raw.strip()), 1)
        preface.line = first
        root.children.insert(0, preface)
        root.body = []
    _walk(root, source, "", sections, chunks, leads, **extra)
    return sections, chunks
