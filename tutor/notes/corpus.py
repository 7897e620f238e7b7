"""Notes and references -> `Document`s: each file's `Section`s and `Chunk`s with heading path and exact line range.

The notes are messy markdown: indented prose (not code), bold run-in sub-headings, questions
written as plain lines under a topic heading, link-only and empty sections. Every question is a
unit of its own so retrieval can point at it. Headings (ATX and setext) and fenced code come from a real
CommonMark parser (markdown-it-py) with its line maps; the rest is read line by line, because real notes
indent prose and write run-in headings that CommonMark would read as code or paragraphs.

What is not content never reaches a chunk: image lines, HTML tags and entities, zero-width characters, emoji
markers, `[TOC]`, and placeholder bodies ("Answer here", "TODO", "待补充"); a reference list ("参考文献",
"References") is never an answer.

The stages: files.py (which files, read as text), lines.py (what a line is), tree.py (the heading tree),
markdown.py (sections and chunks of one file), and here, a whole document and the corpus.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from tutor.notes.articles import extract_html_file, extract_pdf_file, read_reference
from tutor.notes.files import TEXT_SUFFIXES, CorpusError, corpus_files, read_text_file, source_name
from tutor.notes.markdown import parse_markdown
from tutor.types import Chunk, Section

log = logging.getLogger(__name__)

# the version of the parse in lines.py, tree.py and markdown.py: an index chunked by another is rebuilt
CHUNKING_VERSION = "27"  # 27: "#梯度下降" (one mark, no space) is a heading in a file that writes its other headings so ("##感知机"); an outline (list items under list-item labels, longer than a passage) is split at its outer items, each a unit; 26: a list item numbered "i." / "a)" alone in its paragraph is a sub-question of the numbered run-in topic above it ("**4.**" / "* i. Why do we use feature selection?"); question lines are measured in words for English (80 Chinese characters or 40 words), so a bold-numbered English question of 90 characters is one; a line of several clauses that ends as a statement ends is prose, not a question line; 25: a short numbered line alone in its paragraph with its answer in the next one is a question ("> 1、Transformer为什么除以根号d_k" over a <details> answer; where two or more such lines ask, those that do not are topics), a short label may lead a line of links ("**参考资料**：[…](…)"); 24: a bold number opens a run-in heading ("**2.** 样本不平衡的 4 个解决方法？"), a lead-in line inside a question's answer stays in it, a line that only names another file ("见supervised.md") is a pointer; 23: "##Title" (no space, two or more marks) is a heading, "### 参考回答：" only labels its parent's answer, a bold question may have its answer on the next line; 22: "- [ ] TODO" is a placeholder, a labelled list of sources ("**参考资料**") is no answer, "Q3-"/"Q2 " number a question, a topic's opening question line is its question, deeper headings under an unanswered bold question answer it; 21: an HTML <img> is a figure; 20: a heading that is only a cue ("优缺点：") is no question; 19: a line citing a book chapter is a pointer; 18: table-of-contents lines (links to anchors in the file) are dropped; 17: images with brackets in their alt text; 16: figure captions, local link lines and link definitions are no content; 15: a bold parenthetical aside is no run-in heading; 14: headings embedded without numbering


@dataclass
class Document:
    source: str
    sections: list[Section]
    chunks: list[Chunk]


FRONT_MATTER_RE = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def blank_front_matter(text: str) -> str:
    """A note's YAML front matter (title, tags, dates) is not content: its lines become blank, so every line
    after it keeps its number."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return text
    return "\n" * match.group(0).count("\n") + text[match.end() :]


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
