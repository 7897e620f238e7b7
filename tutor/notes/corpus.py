"""Notes and references -> `Section`s and `Chunk`s with heading path and exact line range.

The notes are messy markdown: indented prose (not code), bold run-in sub-headings, questions
written as plain lines under a topic heading, link-only and empty sections. Every question is a
unit of its own so retrieval can point at it. Headings (ATX and setext) and fenced code come from a real
CommonMark parser (markdown-it-py) with its line maps; the rest is read line by line, because real notes
indent prose and write run-in headings that CommonMark would read as code or paragraphs.

What is not content never reaches a chunk: image lines, HTML tags and entities, zero-width characters, emoji
markers, `[TOC]`, and placeholder bodies ("Answer here", "TODO", "待补充"); a reference list ("参考文献",
"References") is never an answer.
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import re
import tempfile
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePath

from tutor.notes.articles import extract_html_file, extract_pdf_file, read_reference
from tutor.text import INVISIBLE_RE, data_lines
from tutor.types import Chunk, Section
from tutor.urls import URL_RE

log = logging.getLogger(__name__)

CHUNKING_VERSION = "14"  # 14: the embedder sees headings without their numbering
TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
DOC_SUFFIXES = TEXT_SUFFIXES | {".html", ".htm", ".pdf"}
MAX_CHUNK_CHARS = 320  # e5-small's 512-token window holds this much Chinese with the heading path
MIN_BLOCK_CHARS = 16  # shorter blocks ("解决办法：", "参考") are glued to the next one
MAX_FILE_BYTES = 20_000_000

MAX_WHOLE_CHARS = 3000  # a table or a display formula this long or shorter stays one chunk
# not content: markup that renders as nothing, or as decoration
IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
HTML_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>|<!--.*?-->")
EMOJI_RE = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0e\ufe0f\u200d\u20e3]")
SPACES_RE = re.compile(r"[\u00a0\u2000-\u200a\u3000\u202f\u205f]")
PLACEHOLDER_RE = re.compile(
    r"(?:answer(?: goes)? here|your answer here|todo|tbd|tbc|to ?do|wip|coming soon|fill (?:in|me)(?: later)?|"
    r"待补充|待完善|待更新|待续|未完待续|待写|暂无|略|答案待补充|\.{3,}|…+|\[toc\]|\[\[toc\]\]|-{3,}|\*{3,}|_{3,})"
    r"[.。!！]*",
    re.IGNORECASE,
)
ANSWER_MARK_RE = re.compile(r"^(\s*)(?:a|ans|answer|答)\s*[:：]\s*", re.IGNORECASE)
QA_LINE_RE = re.compile(r"^\s*(?:\*\*)?(?:q|question|问|问题)\s*\d*\s*[:：.]\s*(.+?)(?:\*\*)?\s*$", re.IGNORECASE)
# headings that organise or list sources: never a question, and a reference list is never an answer
REFERENCE_HEADING_RE = re.compile(
    r"^(?:参考(?:文献|资料|链接|来源)?|引用|references?|bibliography|further reading|see also|sources?|links?|"
    r"citations?|reading list|相关链接|延伸阅读|扩展阅读)\s*[:：]?$",
    re.IGNORECASE,
)
NON_QUESTION_HEADING_RE = re.compile(r"^(?:目录|contents|table of contents|toc|\[toc\])$", re.IGNORECASE)
NUMBERING_RE = re.compile(
    r"^\s*(?:(?:\d+\.)*\d+[.、)）]?|[一二三四五六七八九十百]+[、.．]|[（(]\s*(?:\d+|[一二三四五六七八九十]+)\s*[)）]|"
    r"(?:q|question|问题?)\s*\d*\s*[:：.])\s*",
    re.IGNORECASE,
)
# a dotted section number ("10.4", "7.1.2", "10.6.1."): 10.4.1 belongs to 10.4 whatever its # level
SECTION_NUMBER_RE = re.compile(r"^\s*(\d+(?:\.\d+)+)(?![\d%])\.?")
# "[3] K. Simonyan and A. Zisserman. Very Deep Convolutional Networks… 2014.": a numbered entry in Latin script that
# names a year, "et al." or a link
BIB_ENTRY_RE = re.compile(
    r"^\[\d{1,3}\]\s*(?=[^\u3400-\u9fff]*$)(?=.*(?:\b(?:19|20)\d\d\b|\bet al\b|https?://|arxiv))", re.I
)
BOLD_LINE_RE = re.compile(r"^\s*\*\*(.+?)\*\*\s*[:：]?\s*$")
# a short numbered lead line such as "（2）激活函数角度" works as a run-in heading too
NUMBERED_LEAD_RE = re.compile(r"^\s*((?:[（(]\s*\d+\s*[)）]|[①②③④⑤⑥⑦⑧⑨])\s*[^。！？!?；;，,]{1,24})\s*[:：]?\s*$")
# a short lead-in line ("解决办法：", "参考") that, after run-in headings, starts a part of its own
LEAD_IN_RE = re.compile(
    r"^\s*([^。！？!?；;，,:：]{1,12}(?=\s*[:：]\s*$)|参考(?:资料|文献|链接)?|references?|see also|further reading)"
    r"\s*[:：]?\s*$",
    re.IGNORECASE,
)


CLAUSE_END_RE = re.compile(r"[。！？!?；;，,]|\.\s")
LIST_RE = re.compile(r"^\s*(?:[-*+•]|\d+[.)、])\s+")
QUESTION_CUES = re.compile("|".join(f"(?:{line})" for line in data_lines("question_cues.txt")), re.IGNORECASE)
MAX_QUESTION_LINE = 80
DETACH_GAP = 3  # a line after this many blank lines has left the sub-section above it


class CorpusError(Exception):
    """A corpus problem the user can fix; the message says how. `reason` names it for the Notes tab's file list:
    too_large, undecodable, binary, unextractable."""

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Document:
    source: str
    sections: list[Section]
    chunks: list[Chunk]


@dataclass
class _Node:
    title: str
    path: tuple[str, ...]
    level: int
    line: int  # 0 for the file's root
    is_question: bool
    body: list[tuple[int, str]] = field(default_factory=list)  # (line no, raw line)
    children: list[_Node] = field(default_factory=list)
    pseudo: bool = False  # a bold run-in heading or a question line
    line_text: str = ""  # a lead-in's own line ("解决办法："), kept as written in its text


BOLD_RE = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
CODE_RE = re.compile(r"`([^`]*)`")
LINK_RE = re.compile(r"\[([^\]]*)\]\((https?://[^)]*)\)")


def clean_line(raw: str) -> str:
    """A line without what is not content (images, HTML tags and entities, invisible characters, emoji markers,
    placeholders, an "A:" answer mark); blank when nothing is left. Indentation is kept."""
    if raw.isascii() and "<" not in raw and "&" not in raw and "!" not in raw:
        text = raw
    else:
        text = IMAGE_RE.sub("", raw)
        text = HTML_TAG_RE.sub(" ", text)
        if "&" in text:
            text = html.unescape(text)
        text = INVISIBLE_RE.sub("", text)
        text = SPACES_RE.sub(" ", text)
        text = EMOJI_RE.sub("", text)
    text = ANSWER_MARK_RE.sub(r"\1", text)
    body = text.strip().strip("*_>` ").strip()
    if not body or PLACEHOLDER_RE.fullmatch(body):
        return ""
    return text.rstrip()


def strip_markup(text: str) -> str:
    text = BOLD_RE.sub(lambda m: m.group(1) or m.group(2), text)
    text = CODE_RE.sub(r"\1", text)
    text = LINK_RE.sub(r"\1 \2", text)
    return text.strip()


def _readable(text: str) -> str:
    """Text with markup stripped, or as written when it is nothing but markup ("``", "****")."""
    return strip_markup(text) or text.strip()


def is_question_text(text: str) -> bool:
    """Does a heading or line ask? Its numbering ("7.1.7", "一、", "Q1:") is read past first."""
    bare = NUMBERING_RE.sub("", text, count=1).strip()
    if not bare or REFERENCE_HEADING_RE.match(bare) or NON_QUESTION_HEADING_RE.match(bare):
        return False
    return bool(QUESTION_CUES.search(bare))


def is_reference_heading(title: str) -> bool:
    return bool(REFERENCE_HEADING_RE.match(NUMBERING_RE.sub("", title, count=1).strip()))


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _blocks(lines: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Paragraphs: runs of non-blank lines, each with its line number; a $$ display formula is one block."""
    out: list[list[tuple[int, str]]] = []
    cur: list[tuple[int, str]] = []
    in_math = False
    for no, raw in lines:
        stripped = raw.strip()
        # a formula or a table right under a paragraph starts a block of its own, and so does what follows it
        if cur and not in_math and _starts_whole(stripped) != _starts_whole(cur[-1][1].strip()):
            out.append(cur)
            cur = []
        if stripped.count("$$") % 2:
            in_math = not in_math
        if stripped or in_math:
            if stripped:
                cur.append((no, raw))
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _starts_whole(line: str) -> bool:
    return line.startswith(("$$", "|"))


def _gap_before(lines: list[tuple[int, str]], block: list[tuple[int, str]]) -> int:
    first = block[0][0]
    blank = 0
    for no, raw in reversed(lines):
        if no >= first:
            continue
        if raw.strip():
            break
        blank += 1
    return blank


def _headings(text: str) -> tuple[dict[int, tuple[int, str]], set[int], set[int]]:
    """CommonMark's headings: line -> (level, title), the setext underline lines, and the fenced-code lines."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark", {"html": True}).parse(text)
    found: dict[int, tuple[int, str]] = {}
    underlines: set[int] = set()
    code: set[int] = set()
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map and tok.level == 0:
            start, end = tok.map
            title = tokens[i + 1].content if i + 1 < len(tokens) else ""
            found[start + 1] = (int(tok.tag[1]), title.replace("\n", " "))
            if tok.markup in ("=", "-"):  # setext: the title line(s), then the underline
                underlines.update(range(start + 2, end + 1))
        elif tok.type == "fence" and tok.map:
            code.update(range(tok.map[0] + 1, tok.map[1] + 1))
    return found, underlines, code


def _section_number(title: str) -> tuple[str, ...] | None:
    match = SECTION_NUMBER_RE.match(title)
    return tuple(match.group(1).split(".")) if match else None


def _nest_by_number(stack: list[_Node], title: str) -> bool:
    """Put a numbered heading where its number says, when the # levels say otherwise; False leaves it to the levels.
    A book copied together from chapters writes "### 10.4 网络搭建有什么原则？" right after "## 12.3.5 Caffe的有哪些
    接口？": by its levels, 10.4 and everything under it would sit inside the Caffe section and be searched with its
    words. A numbered heading goes under the deepest open heading whose number is a prefix of its own (10.4.1 under
    10.4); with none, but other numbered headings open, beside the outermost of them."""
    number = _section_number(title)
    if number is None:
        return False
    numbered = [(i, own) for i, n in enumerate(stack) if i and (own := _section_number(n.title)) is not None]
    if not numbered:
        return False
    parent = next((i for i, own in reversed(numbered) if len(own) < len(number) and number[: len(own)] == own), None)
    del stack[(parent + 1) if parent is not None else numbered[0][0] :]
    return True


def _figure_leads(lines: list[str], skip: set[int]) -> frozenset[int]:
    """Lines that only introduce the figure under them ("sigmoid函数的函数及导数图如下所示：" over an image): a paragraph
    of one clause that ends in a colon, the next non-blank line an image alone. Without the figure, which the
    tutor cannot show or read, they say nothing."""
    leads = set()
    for no, raw in enumerate(lines, start=1):
        if not IMAGE_RE.search(raw) or clean_line(raw).strip() or no in skip:
            continue
        prev = no - 1
        while prev >= 1 and not lines[prev - 1].strip():
            prev -= 1
        if prev < 1 or prev in skip or (prev > 1 and lines[prev - 2].strip()):
            continue
        text = clean_line(lines[prev - 1]).strip()
        if text.endswith((":", "：")) and not CLAUSE_END_RE.search(text[:-1]):
            leads.add(prev)
    return frozenset(leads)


def _parse_tree(text: str) -> tuple[_Node, frozenset[int]]:
    """The heading tree of a file, and its figure lead-in lines."""
    root = _Node(title="", path=(), level=0, line=0, is_question=False)
    stack = [root]
    headings, underlines, code = _headings(text)
    lines = text.split("\n")
    leads = _figure_leads(lines, code | underlines | set(headings))
    for no, raw in enumerate(lines, start=1):
        if no in underlines:
            stack[-1].body.append((no, ""))
            continue
        heading = headings.get(no)
        if heading is None:
            stack[-1].body.append((no, raw if no in code else clean_line(raw)))
            continue
        level, title = heading[0], _readable(clean_line(heading[1]))
        if not title:  # a heading that is only an emoji or an image is no heading
            stack[-1].body.append((no, ""))
            continue
        if not _nest_by_number(stack, title):
            while stack[-1].level >= level:
                stack.pop()
        node = _Node(title, stack[-1].path + (title,), level, no, is_question_text(title))
        stack[-1].children.append(node)
        stack.append(node)
    return root, leads


def _split_pseudo(node: _Node, under_question: bool = False) -> None:
    """Turn question lines and bold run-in headings of a body into child units of their own."""
    for child in node.children:
        _split_pseudo(child, under_question or node.is_question)
    blocks = _blocks(node.body)
    if not blocks:
        return
    single = all(
        len(b) == 1
        and not LIST_RE.match(b[0][1])
        and not BOLD_LINE_RE.match(b[0][1])
        and not NUMBERED_LEAD_RE.match(b[0][1])
        for b in blocks
    )
    short = all(len(b[0][1].strip()) <= MAX_QUESTION_LINE and not URL_RE.search(b[0][1]) for b in blocks)
    # A topic heading whose body is only short single lines that ask: each line is a question.
    if node.level and not node.is_question and single and short and all(is_question_text(b[0][1]) for b in blocks):
        node.children = [_pseudo(node, b[0], question=True) for b in blocks] + node.children
        node.body = []
        return
    bold_starts = {
        b[0][0]: BOLD_LINE_RE.match(b[0][1]) or NUMBERED_LEAD_RE.match(b[0][1]) for b in blocks if len(b) == 1
    }
    # "Q: …" starts a question wherever it stands, its answer ("A: …") on the lines below
    qa_starts = {no: m for no, raw in node.body if (m := QA_LINE_RE.match(raw))}
    # after run-in headings, a lead-in line closes the last one ("解决办法：" is not part of "（2）激活函数角度")
    lead_ins = {b[0][0]: LEAD_IN_RE.match(b[0][1]) for b in blocks if len(b) == 1}
    pseudo: list[_Node] = []
    own: list[tuple[int, str]] = []
    for no, raw in node.body:  # blank lines stay with their unit: gaps matter to _detach_trailing_questions
        bold, lead, qa = bold_starts.get(no), lead_ins.get(no), qa_starts.get(no)
        if qa:
            pseudo.append(_pseudo(node, (no, qa.group(1)), question=True))
        elif bold:
            # a bold line that asks, with its answer under it, is a question ("**为什么要用BN？**"); under a
            # question it is one of that question's points
            asks = not (under_question or node.is_question) and is_question_text(_readable(bold.group(1)))
            pseudo.append(_pseudo(node, (no, bold.group(1)), question=asks))
        elif pseudo and lead:
            pseudo.append(_pseudo(node, (no, lead.group(1)), question=False))
            pseudo[-1].line_text = raw.strip()
        elif pseudo:
            pseudo[-1].body.append((no, raw))
        else:
            own.append((no, raw))
    node.body = own
    node.children = pseudo + node.children


def _pseudo(parent: _Node, line: tuple[int, str], question: bool) -> _Node:
    title = _readable(line[1])
    return _Node(title, parent.path + (title,), parent.level + 1, line[0], question, pseudo=True)


def _detach_trailing_questions(root: _Node) -> None:
    """A short question line far below the last sub-section belongs to the top-level topic."""

    def last_leaf(node: _Node) -> list[_Node]:
        chain = [node]
        while chain[-1].children:
            chain.append(chain[-1].children[-1])
        return chain

    for top in root.children:
        chain = last_leaf(top)
        leaf = chain[-1]
        if leaf is top:
            continue
        blocks = _blocks(leaf.body)
        if not blocks:
            continue
        last = blocks[-1]
        text = last[0][1].strip()
        detached = len(last) == 1 and len(blocks) > 1 and _gap_before(leaf.body, last) >= DETACH_GAP
        # "batch size对收敛速度的影响。" is a question by its place, even without a question mark
        if detached and len(text) <= MAX_QUESTION_LINE and (is_question_text(text) or len(text) <= 40):
            leaf.body = [(no, raw) for no, raw in leaf.body if no < last[0][0]]
            top.children.append(_pseudo(top, last[0], question=True))


def _empty_topics_ask(node: _Node) -> None:
    """A heading with nothing under it ("## Densenet" between answered sections) is a topic the notes pose and have
    not answered yet: it is asked, like a question heading with no answer, not lost."""
    for child in node.children:
        _empty_topics_ask(child)
        empty = not child.children and not any(raw.strip() for _, raw in child.body)
        if empty and not child.pseudo and not child.is_question and len(child.title) >= 2:
            child.is_question = not is_reference_heading(child.title)


def _bounds(node: _Node) -> tuple[int, int]:
    nos = [no for no, raw in node.body if raw.strip()]
    end = max(nos) if nos else node.line
    for child in node.children:
        end = max(end, _bounds(child)[1])
    return node.line, end


def _has_answer(node: _Node, leads: frozenset[int]) -> bool:
    prose = [raw for no, raw in node.body if raw.strip() and not URL_RE.fullmatch(raw.strip()) and no not in leads]
    return bool(prose) or any(_has_answer(c, leads) for c in node.children if not c.is_question or not c.pseudo)


def _links(node: _Node) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group(0) for _, raw in node.body for m in URL_RE.finditer(raw)))


def _kind(node: _Node, leads: frozenset[int]) -> str:
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
    if len(text) <= MAX_CHUNK_CHARS or (whole and len(text) <= MAX_WHOLE_CHARS):
        # a bare link, or a reference title with its link, points elsewhere: it is not an answer itself
        # so does an entry of a bibliography ("[1] Platt, John. "Sequential minimal optimization…" (1998).")
        # and so does a line that only introduces a figure
        pointer = URL_RE.search(text) and len(URL_RE.sub("", text).strip()) < 40
        pointer = pointer or all(no in leads for no, _ in lines)
        kind = "link" if pointer or all(BIB_ENTRY_RE.match(t) for _, t in lines) else "body"
        return [_chunk(source, path, lines[0][0], lines[-1][0], _readable(text), kind, section_id, **extra)]
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
        out.append(_chunk(source, path, first, last, _readable(doc.page_content), "body", section_id, **extra))
    return out


def _chunk(source, path, start, end, text, kind, section_id, **extra) -> Chunk:
    cid = _sha(f"{source}|{'/'.join(path)}|{start}|{end}|{text}")[:16]
    return Chunk(cid, source, tuple(path), start, end, text, kind, section_id, **extra)


def _body_groups(body: list[tuple[int, str]], leads: frozenset[int]) -> list[list[tuple[int, str]]]:
    """Paragraphs, with a list kept whole and tiny lead-ins ("解决办法：") glued to what follows; a figure's lead-in
    stays apart (the figure, not the next paragraph, is what it introduces)."""
    groups: list[list[tuple[int, str]]] = []
    carry: list[tuple[int, str]] = []
    for block in _blocks(body):
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
    node: _Node,
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
        if child.pseudo and not child.is_question and not body_lines and child.title:
            chunks.append(_chunk(source, child.path, child.line, child.line, child.title, "body", sid, **extra))
        _walk(child, source, topic or child.title, sections, chunks, leads, **extra)


def parse_markdown(text: str, source: str, **extra) -> tuple[list[Section], list[Chunk]]:
    """Sections and chunks of one markdown/plain-text file. `extra` (url, title) marks a reference."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    root, leads = _parse_tree(text)
    _split_pseudo(root)
    _detach_trailing_questions(root)
    _empty_topics_ask(root)
    sections: list[Section] = []
    chunks: list[Chunk] = []
    if root.body and any(raw.strip() for _, raw in root.body):
        # Text before the first heading (or a file with no headings) is a section named after the file.
        name = extra.get("title") or Path(source).stem
        preface = _Node(name, (name,), 1, 0, False, body=root.body)
        first = next((no for no, raw in root.body if raw.strip()), 1)
        preface.line = first
        root.children.insert(0, preface)
        root.body = []
    _walk(root, source, "", sections, chunks, leads, **extra)
    return sections, chunks


def read_text_file(path: Path) -> str:
    """UTF-8 text of a notes file; raises CorpusError for binary or non-UTF-8 content."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise CorpusError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB, skipped", "too_large")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark is text, not binary
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: not valid UTF-16 text (byte {exc.start}), skipped", "undecodable") from exc
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{path}: looks binary, skipped", "binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (byte {exc.start}), skipped; save it as UTF-8", "undecodable"
        ) from exc


IGNORE_FILE = ".tutorignore"


def ignore_rules(corpus_dir: Path):
    """The notes folder's `.tutorignore` (gitignore syntax) as a matcher of relative paths, or None."""
    path = corpus_dir / IGNORE_FILE
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec  # only for folders that have the file

    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The notes files under the folder, subfolders included. Hidden files and folders (an Obsidian vault's
    `.obsidian/`, `.git/`, the tutor's own `.tutor/`), attachments and what `.tutorignore` names are left out."""
    return [p for p, ignored in _note_files(corpus_dir) if not ignored]


def ignored_files(corpus_dir: Path) -> list[Path]:
    """The notes files that `.tutorignore` leaves out (hidden files and attachments are not listed)."""
    return [p for p, ignored in _note_files(corpus_dir) if ignored]


def _note_files(corpus_dir: Path) -> list[tuple[Path, bool]]:
    """(path, named by .tutorignore) for every notes file that is not hidden, sorted."""
    if not corpus_dir.is_dir():
        return []
    ignore = ignore_rules(corpus_dir)
    files = []
    for p in corpus_dir.rglob("*"):
        rel = p.relative_to(corpus_dir)
        if is_note_path(rel) and p.is_file():
            files.append((p, ignore is not None and ignore.match_file(rel.as_posix())))
    return sorted(files)


def is_note_path(rel: PurePath, ignore=None) -> bool:
    """True for a path relative to the notes folder that the index reads (the file need not exist: the watcher
    judges deleted files too): a notes suffix, no hidden part, not named by `.tutorignore` (`ignore_rules`)."""
    if rel.suffix.lower() not in DOC_SUFFIXES:
        return False
    if any(part.startswith(".") for part in rel.parts):
        return False  # relative parts only: a notes folder may itself live under a hidden folder
    return ignore is None or not ignore.match_file(rel.as_posix())


FRONT_MATTER_RE = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def blank_front_matter(text: str) -> str:
    """A note's YAML front matter (title, tags, dates) is not content: its lines become blank, so every line
    after it keeps its number."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return text
    return "\n" * match.group(0).count("\n") + text[match.end() :]


def source_name(path: Path, corpus_dir: Path) -> str:
    """The path relative to the repository root: the corpus folder's parent."""
    return path.resolve().relative_to(corpus_dir.resolve().parent).as_posix()


def load_document(path: Path, corpus_dir: Path) -> Document:
    source = source_name(path, corpus_dir)
    suffix = path.suffix.lower()
    extra: dict = {}
    if suffix in TEXT_SUFFIXES:
        text = read_text_file(path)
        if path.parent.name == "references" and text.startswith("---"):
            meta, body, body_line = read_reference(path)
            if meta.get("url"):
                extra = {"url": str(meta["url"]), "title": str(meta.get("title") or meta["url"])}
                text = "\n" * (body_line - 1) + body  # keep the stored copy's line numbers
        elif suffix in (".md", ".markdown"):
            text = blank_front_matter(text)
    else:
        text = _extract(path)
    sections, chunks = parse_markdown(text, source, **extra)
    if extra.get("url"):
        chunks = [_as_reference(c) for c in chunks]
    return Document(source, sections, chunks)


def _as_reference(chunk: Chunk) -> Chunk:
    return replace(chunk, kind="reference") if chunk.kind == "body" else chunk


def _extract(path: Path) -> str:
    try:
        if path.suffix.lower() == ".pdf":
            text = extract_pdf_file(path)
        else:
            title, text = extract_html_file(path)
            text = f"# {title}\n\n{text}" if title else text
    except Exception as exc:  # a broken file must not stop indexing of the rest
        raise CorpusError(f"{path}: could not extract text ({exc}), skipped", "unextractable") from exc
    # a PDF's broken character map can yield lone surrogates, which no UTF-8 file (the index) can hold
    return re.sub(r"[\ud800-\udfff]", "\ufffd", text)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file of the corpus whole or not at all: a hidden temporary file (the indexer skips dot files),
    fsynced, then renamed over the old one."""
    write_bytes_atomic(path, text.encode("utf-8"))


@lru_cache(maxsize=1)
def user_file_mode() -> int:
    """The mode of a file the user creates (0o666 less the umask), not mkstemp's owner-only 0o600. Read once: the
    umask can only be read by setting it, which must not race with other threads' files."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes_atomic(path: Path, data: bytes, replace: bool = True) -> None:
    """`write_text_atomic` for bytes; with `replace=False` an existing file is never replaced (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), user_file_mode())  # a note saved by the tutor is like one the user saved
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name was taken meanwhile, where a rename would overwrite
            os.unlink(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_corpus(
    corpus_dir: Path,
    warn=log.warning,
    parsed: Mapping[str, Document] | None = None,
    skipped: Callable[[str, str, str], None] | None = None,
) -> list[Document]:
    """Every readable document of the corpus; unreadable files are skipped with a warning, and with
    `skipped(source, reason, message)` when given (reason: a `CorpusError.reason`, or "unreadable").

    `parsed` holds documents already parsed from files that have not changed since (source -> Document);
    they are used as they are instead of parsing the file again."""
    docs = []
    for path in corpus_files(corpus_dir):
        try:
            known = parsed.get(source_name(path, corpus_dir)) if parsed else None
            docs.append(known or load_document(path, corpus_dir))
        except (CorpusError, OSError) as exc:
            warn(str(exc))
            if skipped:
                reason = getattr(exc, "reason", "unreadable")
                skipped(source_name(path, corpus_dir), reason, str(exc).removeprefix(f"{path}: "))
    _attach_references(docs, corpus_dir)
    return docs


def _attach_references(docs: list[Document], corpus_dir: Path) -> None:
    """A fetched article belongs to the section that links it: its chunks carry that section's id."""
    notes = [s for d in docs for s in d.sections if s.url is None]
    for doc in docs:
        if not doc.chunks or doc.chunks[0].url is None:
            continue
        meta = _reference_meta(corpus_dir.parent / doc.source)
        owner = None
        for place in meta.get("linked_from") or []:
            source, _, line = str(place).rpartition(":")
            candidates = [
                s for s in notes if s.source == source and line.isdigit() and s.line_start <= int(line) <= s.line_end
            ]
            if candidates:
                owner = max(candidates, key=lambda s: len(s.heading_path))  # the deepest section holding the link
                break
        if owner is not None:
            doc.chunks = [replace(c, section_id=owner.id) for c in doc.chunks]


def _reference_meta(path: Path) -> dict:
    try:
        return read_reference(path)[0]
    except (OSError, ValueError):
        return {}
