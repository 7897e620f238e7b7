"""(question, retrieval) -> Answer: extractive, grounded, every sentence cited to file › heading › lines."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .corpus import NUMBERED_LEAD_RE, clean_line, strip_markup
from .retriever import Retrieval
from .text import Analyzer, default_analyzer, is_chinese, sentences
from .types import Answer, Chunk, Citation, Hit

ANSWER_MARGIN = 0.035  # chunks this close to the best one join the answer
SECTION_MARGIN = 0.13  # ...and further behind, if from the same section and sharing query terms
MAX_ANSWER_CHUNKS = 3
MAX_SENTENCES_PER_CHUNK = 4
SHORT_CHUNK = 220  # a passage this short is quoted whole
MAX_RELATED = 2
MAX_CITED = 10  # an answer, not a dump: past this the sources panel has the rest
LEAD_IN = re.compile(r"[^。！？!?]{1,24}[：:]")

TEXTS = {
    "zh": {
        "answered": "根据你的笔记（{title}）：",
        "article": "来自笔记链接的文章《{title}》：",
        "question_only": "你的笔记提出了这个问题，但没有写答案 {cite}。",
        "link_only": "你的笔记对这个问题只给了一个链接：{url} {cite}（文章尚未抓取，运行 `tutor index` 可抓取并引用它）。",
        "related": "**相关内容**（来自笔记的其他部分，不是这个问题的答案）：",
        "not_found": "你的笔记里没有关于这个问题的内容。",
    },
    "en": {
        "answered": "From your notes ({title}):",
        "article": "From the article your notes link to, “{title}”:",
        "question_only": "Your notes pose this question but hold no answer to it {cite}.",
        "link_only": "For this question your notes only give a link: {url} {cite} (not fetched yet; "
        "`tutor index` fetches it so it can be cited).",
        "related": "**Related material** (from other parts of your notes, not an answer to this question):",
        "not_found": "Your notes don't cover this.",
    },
}


@lru_cache(maxsize=64)
def _file_lines(path: str, mtime: float) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n"))
    except (OSError, UnicodeDecodeError):
        return ()


def locate(root: Path, chunk: Chunk, sentence: str) -> tuple[int, int]:
    """The exact line range of a sentence inside its chunk's lines (the whole chunk if not found)."""
    path = root / chunk.source
    try:
        lines = _file_lines(str(path), path.stat().st_mtime)
    except OSError:
        return chunk.line_start, chunk.line_end
    probe = _squash(sentence)[:24]
    if probe:
        for no in range(chunk.line_start, min(chunk.line_end, len(lines)) + 1):
            if probe in _squash(strip_markup(clean_line(lines[no - 1]))):
                return no, no
    return chunk.line_start, chunk.line_end


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.lstrip("-*+• "))


def _pick_sentences(
    chunk: Chunk, terms: set[str], analyzer: Analyzer, limit: int = MAX_SENTENCES_PER_CHUNK
) -> list[str]:
    # bold run-in headings are in the heading path already; code lines read badly out of their block
    prose = re.sub(r"(?ms)^\s*(```|~~~).*?(^\s*\1|\Z)", "", chunk.text)
    parts = [s for s in sentences(prose) if not re.fullmatch(r"\*\*.*\*\*", s) and "`" not in s]
    if len(chunk.text) <= SHORT_CHUNK or len(parts) <= limit:
        return parts
    scored = [(len(terms & set(analyzer.tokenize(s))), -i) for i, s in enumerate(parts)]
    keep = {0} | {-i for _, i in sorted(scored, reverse=True)[: limit - 1]}
    return [s for i, s in enumerate(parts) if i in keep]


def _answer_chunks(hits: tuple[Hit, ...]) -> list[Hit]:
    """The best answer passage and those close behind it in the same section; a bare heading is no answer."""
    passages = [h for h in hits if h.chunk.kind != "question"] or list(hits)
    top = passages[0]
    chosen = [top]
    for hit in passages[1:]:
        c = hit.chunk
        if len(chosen) >= MAX_ANSWER_CHUNKS or c.kind not in ("body", "reference"):
            continue
        if c.section_id != top.chunk.section_id:
            continue  # the answer comes from the top hit's section: one place, the one the hits put first
        if hit.score >= top.score - ANSWER_MARGIN or (hit.lexical > 0 and hit.score >= top.score - SECTION_MARGIN):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: (h.chunk.source, h.chunk.line_start))


class Answerer:
    """Builds the extractive answer; `root` is where citation sources (repo-relative paths) live."""

    def __init__(self, root: Path, analyzer: Analyzer | None = None) -> None:
        self.root = root
        self.analyzer = analyzer or default_analyzer()

    def answer(self, question: str, retrieval: Retrieval, notices: tuple[str, ...] = ()) -> Answer:
        lang = "zh" if is_chinese(question) else "en"
        text = TEXTS[lang]
        hits = retrieval.hits
        if retrieval.status == "not_found" or not hits:
            return Answer(question, retrieval.query, "not_found", text["not_found"], (), hits, notices=notices)
        if retrieval.status == "question_only":
            return self._question_only(question, retrieval, text, notices)
        citations: list[Citation] = []
        blocks: list[str] = []
        terms = set(retrieval.tokens)
        label = None
        for hit in _answer_chunks(hits):
            chunk = hit.chunk
            head = (
                text["article"].format(title=chunk.title)
                if chunk.kind == "reference"
                else text["answered"].format(title=" › ".join(chunk.heading_path[1:] or chunk.heading_path))
            )
            lines = []
            for sent in _pick_sentences(chunk, terms, self.analyzer):
                if len(citations) >= MAX_CITED:
                    break
                if NUMBERED_LEAD_RE.match(sent):
                    continue  # "（2）激活函数角度" is already in the heading path
                if LEAD_IN.fullmatch(sent):
                    lines.append(sent)  # "解决办法：" labels what follows; it claims nothing to cite
                    continue
                n = len(citations) + 1
                start, end = locate(self.root, chunk, sent)
                citations.append(Citation.from_chunk(n, chunk, sent, (start, end)))
                lines.append(f"{sent} [{n}]")
            while lines and LEAD_IN.fullmatch(lines[-1]):
                lines.pop()  # a lead-in with nothing after it ("具体从两个角度去看：")
            if head != label:
                blocks.append(head)
                label = head
            blocks.append(_join(lines))
        body = "\n\n".join(blocks)
        return Answer(question, retrieval.query, "answered", body, tuple(citations), hits, notices=notices)

    def _question_only(self, question: str, retrieval: Retrieval, text: dict, notices) -> Answer:
        section = retrieval.section
        hits = retrieval.hits
        top = hits[0].chunk
        q_chunk = next(
            (h.chunk for h in hits if h.chunk.section_id == top.section_id and h.chunk.kind == "question"), top
        )
        citations = [Citation.from_chunk(1, q_chunk)]
        if section is not None and section.links:
            link_chunk = next(
                (h.chunk for h in hits if h.chunk.section_id == section.id and h.chunk.kind == "link"), None
            )
            if link_chunk is not None:
                citations = [Citation.from_chunk(1, link_chunk)]
            lead = text["link_only"].format(url=section.links[0], cite="[1]")
        else:
            lead = text["question_only"].format(cite="[1]")
        related = []
        terms = set(retrieval.tokens)
        for hit in hits[1:]:
            chunk = hit.chunk
            if chunk.section_id == top.section_id or chunk.kind not in ("body", "reference") or hit.lexical <= 0:
                continue
            picked = _pick_sentences(chunk, terms, self.analyzer, 2)
            best = max(picked, key=lambda s: len(terms & set(self.analyzer.tokenize(s))), default=None)
            if not best:
                continue
            n = len(citations) + 1
            start, end = locate(self.root, chunk, best)
            citations.append(Citation.from_chunk(n, chunk, best, (start, end), related=True))
            related.append(f"- {best.lstrip('-*+• ')} [{n}]")
            if len(related) >= MAX_RELATED:
                break
        body = lead + ("\n\n" + text["related"] + "\n" + "\n".join(related) if related else "")
        return Answer(question, retrieval.query, "question_only", body, tuple(citations), hits, notices=notices)


def _join(lines: list[str]) -> str:
    """List items stay one per line; prose sentences run on as a paragraph."""
    out: list[str] = []
    for line in lines:
        if line.startswith(("-", "*", "+", "•")) or (out and out[-1].startswith(("-", "*", "+", "•"))):
            out.append("\n" + line)
        elif out and out[-1].endswith("]"):
            out.append(" " + line)  # "…的过程。 [3] 然而…": a marker never runs into the next sentence
        else:
            out.append(line)
    return "".join(out).strip()
