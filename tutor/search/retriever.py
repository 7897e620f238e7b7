"""Hybrid search (FAISS dense + BM25 over jieba tokens), fused, lifted to sections, then a relevance decision."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tutor.index.embeddings import Embedder
from tutor.index.store import Index
from tutor.search.bm25 import BM25
from tutor.search.relevance import Relevance
from tutor.terms import aspect_terms
from tutor.text import URL_TERM_RE, data_lines, is_chinese, normalize, sentences
from tutor.types import Chunk, Hit, Section, Status
from tutor.urls import URL_RE

DENSE_K = 64
QUESTION_LIFT = 0.5  # share of a question heading's score that its answer paragraphs inherit

# Scores and margins are read in the index's own units (tutor/index/calibrate.py): 1 unit is the cosine gap between a
# typical unrelated question and a typical question the notes answer, measured when the index was built.
LEXICAL_UNITS = 1.0  # BM25, scaled to [0, 1] per query, weighs this many units
SECTION_SHARE = 0.5  # of a chunk's lexical score, the share its whole section earns (headings included)
LEXICAL_ONLY_WEIGHT = 1.0  # where dense similarity is not trusted, BM25 leads the ranking
LINK_PENALTY_UNITS = 0.6  # a reference title is about the topic but holds no answer
ASPECT_UNITS = 0.5  # a heading asking the query's aspect of its subject, or another ("如何解决X" for "X是什么")
HEADING_UNITS = 0.5  # a heading path that names the question's subject ("4.2 AlexNet" for "AlexNet有哪些创新点")
COVER_TIE_UNITS = 0.5  # how far a passage whose section holds more of the query's terms may trail and still go first
ANSWER_TIE_UNITS = 0.8  # how far an answering passage may trail a question the notes only pose and still go first

SECTION_CACHE = 4096  # sections whose terms are kept between queries
QUOTE_RE = re.compile(r"\s*>")
# a sentence that ends by asking, markup after the mark aside ("_Is it to avoid overtraining?_")
ASKED_RE = re.compile(r"[?？][\s_*)）\"”」’']*$")


def asks_only(text: str) -> bool:
    """Is every sentence of the text a question (addresses aside: their "?" starts a query string)?"""
    bare = URL_RE.sub(" ", re.sub(r"(?m)^\s*>\s?", "", text)).strip()
    said = [s for s in sentences(bare) if s.strip()]
    return bool(said) and all(ASKED_RE.search(s) for s in said)


@lru_cache(maxsize=1)
def _aspect_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    rows = (line.split("\t", 1) for line in data_lines("asks.txt"))
    return tuple((name.strip(), re.compile(pattern.strip(), re.IGNORECASE)) for name, pattern in rows)


@lru_cache(maxsize=SECTION_CACHE)
def asked_aspects(text: str) -> frozenset[str]:
    """What a question or heading asks about its subject (tutor/data/asks.txt): 定义, 原因, 解决, 区别 ..."""
    return frozenset(name for name, pattern in _aspect_patterns() if pattern.search(text))


def _embed_queries(embedder: Embedder, texts: list[str]) -> list[list[float]]:
    """Several queries in one call where the embedder takes a batch."""
    batch = getattr(embedder, "embed_queries", None)
    return batch(texts) if batch else [embedder.embed_query(t) for t in texts]


def _top_nonzero(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest positive scores (any order)."""
    nonzero = np.flatnonzero(scores)
    if len(nonzero) <= k:
        return nonzero
    return nonzero[np.argpartition(-scores[nonzero], k - 1)[:k]]


@dataclass(frozen=True)
class Retrieval:
    query: str
    tokens: tuple[str, ...]
    hits: tuple[Hit, ...]
    status: Status
    section: Section | None  # the section the top hit belongs to
    coverage: float


class Retriever(Relevance):
    bm25: BM25

    def __init__(self, index: Index, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.analyzer = index.analyzer
        self.calibration = index.calibration
        home = self.calibration.home if self.calibration else None
        # cosine per unit for ranking margins; where dense similarity is not trusted, BM25 carries the ranking
        self.unit = home.gap if home and home.reliable else LEXICAL_ONLY_WEIGHT / LEXICAL_UNITS
        self.lexical_weight = LEXICAL_UNITS * self.unit
        self.doc_tokens = index.tokens
        self.row_of = {c.id: i for i, c in enumerate(index.chunks)}
        self._heading_terms = lru_cache(maxsize=SECTION_CACHE)(lambda path: tuple(index.terms(" ".join(path))))
        self.bm25 = BM25(self.doc_tokens)
        # the language of what the embedder saw for each chunk (a bare link is in its heading's language)
        self.chunk_chinese = np.array(
            [is_chinese(URL_TERM_RE.sub(" ", c.embed_text())) for c in index.chunks], dtype=bool
        )
        self.chunk_languages = set(self.chunk_chinese.tolist())
        # the same terms pooled per section, with its heading path: "4.2 AlexNet › 4.2.3 模型特性" answers
        # "AlexNet有哪些创新点" though its bullets never say AlexNet
        section_row = {sid: n for n, sid in enumerate(index.chunks_by_section)}
        section_docs = []
        for sid in section_row:
            rows = index.chunks_by_section[sid]
            words = [t for i in rows for t in self.doc_tokens[i]]
            words.extend(self._heading_terms(index.chunks[rows[0]].heading_path) if rows else ())
            section_docs.append(words)
        self.section_bm25 = BM25(section_docs)
        self.chunk_section = np.array([section_row.get(c.section_id, -1) for c in index.chunks], dtype=np.int64)
        self._section_terms: dict[str, frozenset[str]] = {}  # filled per query: only top sections need it
        self._vocabulary: set[str] | None = None
        self._vocabulary_by_language: dict[bool, set[str]] | None = None
        # heading chunk (a question heading with an answer, or a heading that states its topic) -> the chunks under
        # it, which may sit in sub-sections (4.1 -> I. -> bold sub-points); found by walking each heading path upwards
        question_chunk: dict[tuple[str, tuple[str, ...]], int] = {}
        for i, c in enumerate(index.chunks):
            section = index.section_by_id.get(c.section_id)
            if c.is_heading and section is not None and (section.kind == "answered" or c.kind == "heading"):
                question_chunk[(c.source, section.heading_path)] = i
        self.lifting: dict[int, list[int]] = defaultdict(list)
        # a linked article answers the question that links it (1.4 is only a link in the notes)
        questions_by_section = {
            c.section_id: i for i, c in enumerate(index.chunks) if c.kind == "question" and c.url is None
        }
        for j, c in enumerate(index.chunks):
            if c.kind == "reference" and c.section_id in questions_by_section:
                self.lifting[questions_by_section[c.section_id]].append(j)
        for j, c in enumerate(index.chunks):
            if c.is_heading or not question_chunk:
                continue
            for depth in range(1, len(c.heading_path) + 1):
                owner = question_chunk.get((c.source, c.heading_path[:depth]))
                if owner is not None:
                    self.lifting[owner].append(j)

    def _dense(self, query: str) -> tuple[Callable[[int], float], dict[int, float]]:
        """The query's cosine to any chunk, and to its nearest chunks. A chunk in the other language is also compared
        with the query written in its language (`Analyzer.translate`) and keeps the closer of the two: the embedder
        puts "层次聚类需要事先指定簇的个数吗" far from "Hierarchical clustering needs no number of clusters in advance",
        and the mixed "hierarchical clustering 需要事先指定 number of clusters 吗" near it."""
        chinese = is_chinese(query)
        translated = self.analyzer.translate(query, not chinese) if (not chinese) in self.chunk_languages else ""
        if not translated or translated == normalize(query).strip():
            vec = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
            return (lambda i: self._cosine(vec, i)), dict(self.index.search(vec, DENSE_K))
        vec, other = np.asarray(_embed_queries(self.embedder, [query, translated]), dtype=np.float32)

        def cosine(i: int) -> float:
            own = self._cosine(vec, i)
            return max(own, self._cosine(other, i)) if self.chunk_chinese[i] != chinese else own

        near = dict(self.index.search(vec, DENSE_K))
        near.update((i, 0.0) for i, _ in self.index.search(other, DENSE_K))
        return cosine, {i: cosine(i) for i in near}

    def _cosine(self, vec: np.ndarray, i: int) -> float:
        return float(np.dot(self.index.vector(int(i)), vec))

    def search(self, query: str, k: int = 10) -> Retrieval:
        chunks = self.index.chunks
        tokens = self.analyzer.tokenize(query)
        if not chunks:
            return Retrieval(query, tuple(tokens), (), "not_found", None, 0.0)
        cosine, dense = self._dense(query)
        lexical = self._lexical(tokens)
        candidates = set(dense) | set(_top_nonzero(lexical, DENSE_K).tolist())
        cos = {i: dense[i] if i in dense else cosine(i) for i in candidates}
        link_penalty = LINK_PENALTY_UNITS * self.unit
        aspect_weight = ASPECT_UNITS * self.unit
        asked = asked_aspects(query)
        subject = set(tokens) - aspect_terms()
        heading_weight = HEADING_UNITS * self.unit
        subject_weight = {t: self.bm25.weight(t) for t in subject}
        fused = {
            i: cos[i]
            + self.lexical_weight * float(lexical[i])
            + heading_weight * self._heading_share(chunks[i], subject_weight)
            - (link_penalty if chunks[i].kind == "link" else 0.0)
            + aspect_weight * self._aspect_agreement(chunks[i], asked, subject)
            for i in candidates
        }
        sections = self.index.section_by_id
        scores = {i: f for i, f in fused.items() if i not in self.lifting}
        for i in candidates & self.lifting.keys():
            # an answered question's heading only asks: its answer paragraphs inherit the match
            for j in self.lifting[i]:
                own = fused[j] if j in fused else cosine(j)
                scores[j] = max(scores.get(j, own), QUESTION_LIFT * fused[i] + (1 - QUESTION_LIFT) * own)
                cos.setdefault(j, own)
        ranked = sorted(scores, key=lambda i: scores[i], reverse=True)[:k]
        hits = []
        for i in ranked:
            hits.append(Hit(chunks[i], scores[i], dense=cos[i], lexical=self._coverage(tokens, self.doc_tokens[i])))
        hits = self._best_in_section(tokens, hits)
        hits = self._prefer_an_answer(tokens, hits)
        hits = self._prefer_covering(tokens, hits)
        top_section = sections.get(hits[0].chunk.section_id) if hits else None
        coverage = self._coverage(tokens, self.section_tokens(hits[0].chunk.section_id)) if hits else 0.0
        status = self._decide(query, hits, tokens, coverage)
        return Retrieval(query, tuple(tokens), tuple(hits), status, top_section, coverage)

    def _heading_share(self, chunk: Chunk, subject: dict[str, float]) -> float:
        """The share of the question's subject (terms -> idf) that the chunk's heading path names: notes are
        organised by headings, and an overview that mentions AlexNet among ten networks is not "4.2 AlexNet"."""
        total = sum(subject.values())
        if not total:
            return 0.0
        heading = self._heading_terms(chunk.heading_path)
        return sum(w for t, w in subject.items() if t in heading) / total

    def _aspect_agreement(self, chunk: Chunk, asked: frozenset[str], subject: set[str]) -> int:
        """Between headings about the question's subject: +1 when the heading asks an aspect the query asks
        ("解决办法" for "能缓解梯度消失吗"), -1 when both ask aspects and none is shared ("如何解决mode collapsing？"
        for "mode collapse是什么"), 0 when either asks none or the heading is about something else."""
        own = asked_aspects(chunk.heading_path[-1]) if chunk.heading_path and asked else frozenset()
        if not own or not subject & self.section_tokens(chunk.section_id):
            return 0
        return 1 if own & asked else -1

    def _best_in_section(self, tokens: list[str], hits: list[Hit]) -> list[Hit]:
        """The section is chosen with its pooled terms; the paragraph inside it by its own: after "dropout" the
        follow-up "从bagging的角度" leads with the paragraph that says bagging. The parts under the section's heading
        are its paragraphs too: "有哪些办法可以缓解梯度消失" leads with 1.5's "解决办法：" list, not its causes.
        What the question asks beyond the section's subject decides first: "边框回归的输入是什么" leads with the
        paragraph that says 输入, not the one that repeats "边框回归是什么"."""
        if not hits:
            return hits
        top = self.index.section_by_id.get(hits[0].chunk.section_id)
        same = [n for n, h in enumerate(hits) if not h.chunk.is_heading and self._within(h.chunk, top)]
        if len(same) < 2:
            return hits
        narrowing = self._narrowing(tokens, top)

        def narrows(n: int) -> float:
            return self._coverage(narrowing, self.doc_tokens[self.row_of[hits[n].chunk.id]]) if narrowing else 0.0

        # shared terms decide between paragraphs under one heading (what narrows first, to a tenth: a sliver more
        # of it does not outweigh the rest); meaning breaks ties; a link or a bibliography entry only points
        # elsewhere, so a paragraph of the section's own comes before it
        best = max(
            same,
            key=lambda n: (
                hits[n].chunk.kind != "link",
                round(narrows(n), 1),
                round(hits[n].lexical, 2),
                hits[n].dense,
            ),
        )
        return [hits[best], *hits[:best], *hits[best + 1 :]] if best else hits

    def _narrowing(self, tokens: list[str], section: Section | None) -> list[str]:
        """The query's terms that pick a paragraph inside the section: not in its heading path (its subject), and
        held by some of the section's paragraphs but not most of them."""
        if section is None:
            return []
        heading = set(self._heading_terms(section.heading_path))
        rows = [self.doc_tokens[i] for i in self.index.chunks_by_section.get(section.id, [])]
        out = []
        for t in dict.fromkeys(tokens):
            if t in heading:
                continue
            df = sum(t in row for row in rows)
            if df and 2 * df <= max(len(rows), 2):
                out.append(t)
        return out

    def _within(self, chunk: Chunk, section: Section | None) -> bool:
        """Is the chunk in this section, or in a part under its heading that asks nothing of its own ("解决办法：",
        "**忘记层门**")? A question under it is a section of its own."""
        if section is None or chunk.section_id == section.id:
            return section is not None
        own = self.index.section_by_id.get(chunk.section_id)
        depth = len(section.heading_path)
        return (
            own is not None
            and not own.is_question
            and chunk.source == section.source
            and chunk.heading_path[:depth] == section.heading_path
        )

    def _lexical(self, tokens: list[str]) -> np.ndarray:
        """Per chunk, in [0, 1]: part its own BM25 (which paragraph), part its section's (which section)."""
        own = self.bm25.score_array(tokens)
        pooled = self.section_bm25.score_array(tokens)
        own /= float(own.max()) or 1.0
        pooled /= float(pooled.max()) or 1.0
        by_chunk = np.where(self.chunk_section >= 0, pooled[np.maximum(self.chunk_section, 0)], 0.0)
        return (1 - SECTION_SHARE) * own + SECTION_SHARE * by_chunk

    def _prefer_an_answer(self, tokens: list[str], hits: list[Hit]) -> list[Hit]:
        """A question the notes only pose, barely ahead of a passage that answers more of the query (or as much, in its
        own words), gives way to it: "relu能缓解梯度消失吗" matches 1.1's bare heading (relu) and 1.5's remedies (梯度消失, 激活函数)
        alike, and "GBDT 跟 xgboost 差在哪" an empty "GBDT跟xgboost对比?" in one file and "GBDT vs Xgboost" with its
        answer in another."""
        if not hits or not self._unanswered(hits[0].chunk):
            return hits
        covered = self._coverage(tokens, self.section_tokens(hits[0].chunk.section_id))
        tie = hits[0].score - ANSWER_TIE_UNITS * self.unit
        answering = [
            n
            for n, hit in enumerate(hits[1:], start=1)
            if hit.score >= tie
            and hit.chunk.kind in ("body", "reference")
            and not self._unanswered(hit.chunk)
            and self._answers_as_much(tokens, hit, covered)
        ]
        if answering:
            # of the near-tied answering passages, the one that shares most of the query's terms goes first
            n = max(answering, key=lambda i: (hits[i].lexical, -i))
            return [hits[n], *hits[:n], *hits[n + 1 :]]
        return hits

    def _answers_as_much(self, tokens: list[str], hit: Hit, covered: float) -> bool:
        """Does the hit's section cover more of the query than the bare question's, or as much, with the passage
        itself covering that much too ("5.15.1 Standard Convolution" under a heading on the checkerboard effect
        covers its words only through the heading)?"""
        section = self._coverage(tokens, self.section_tokens(hit.chunk.section_id))
        return section > covered or (section == covered and hit.lexical >= covered)

    def _prefer_covering(self, tokens: list[str], hits: list[Hit]) -> list[Hit]:
        """A passage close behind the top one whose section holds every subject term of the query the top's holds
        (what is asked about, not what is asked: "问题", "选择"), and more, goes first: "k-means 对异常值敏感吗" is
        asked of k-means, not of the regression metrics that are sensitive to outliers too."""
        if len(hits) < 2:
            return hits
        subject = set(tokens) - aspect_terms()
        held = subject & self.section_tokens(hits[0].chunk.section_id)
        tie = hits[0].score - COVER_TIE_UNITS * self.unit
        wider = []
        for n, hit in enumerate(hits[1:], start=1):
            if hit.score < tie or hit.chunk.is_heading or hit.chunk.section_id == hits[0].chunk.section_id:
                continue
            own = subject & self.section_tokens(hit.chunk.section_id)
            if own > held:
                wider.append((sum(self.bm25.weight(t) for t in own), -n))
        if not wider:
            return hits
        n = -max(wider)[1]
        return [hits[n], *hits[:n], *hits[n + 1 :]]

    def _unanswered(self, chunk: Chunk) -> bool:
        section = self.index.section_by_id.get(chunk.section_id)
        if section is None or chunk.kind == "reference" or self.references_for(section.id):
            return False
        if section.kind in ("question_only", "link_only"):
            return True
        if chunk.kind == "body" and self._quoted_questions(chunk):
            return True
        # a heading that organises ("7、程序运行结果") and holds only pointers to what the tutor cannot read (figure
        # captions, links to files): the notes name it and answer nothing under it. A list of web links does answer
        # "which articles do the notes recommend".
        if section.kind != "topic" or chunk.kind != "link":
            return False
        own = [self.index.chunks[i] for i in self.index.chunks_by_section.get(section.id, [])]
        return not any(c.kind == "body" or URL_RE.search(c.text) for c in own)

    def _quoted_questions(self, chunk: Chunk) -> bool:
        """A blockquote of questions only, set apart from the text around it ("> Is this intuition even true? Is
        dropout in any way similar to ensemble?"): the questions the author left open, not an answer. A long quote is
        cut into several chunks; each of them is the quote's."""
        if not asks_only(chunk.text):
            return False
        rows = self.index.chunks_by_section.get(chunk.section_id, [])
        return any(
            self.index.chunks[i].line_start == chunk.line_start and QUOTE_RE.match(self.index.chunks[i].text)
            for i in rows
        )

    def section_tokens(self, section_id: str) -> frozenset[str]:
        """What a section is about, for the relevance decision: the terms of its chunks and their heading paths."""
        terms = self._section_terms.get(section_id)
        if terms is None:
            found: set[str] = set()
            for i in self.index.chunks_by_section.get(section_id, []):
                found.update(self.doc_tokens[i], self._heading_terms(self.index.chunks[i].heading_path))
            if len(self._section_terms) >= SECTION_CACHE:
                self._section_terms.clear()
            terms = self._section_terms[section_id] = frozenset(found)
        return terms

    def _coverage(self, tokens: list[str], doc: frozenset[str] | set[str] | list[str]) -> float:
        if not tokens:
            return 0.0
        doc = doc if isinstance(doc, (set, frozenset)) else set(doc)
        total = sum(self.bm25.weight(t) for t in set(tokens))
        found = sum(self.bm25.weight(t) for t in set(tokens) if t in doc)
        return found / total if total else 0.0

    def references_for(self, section_id: str) -> list[Chunk]:
        return [
            self.index.chunks[j]
            for j in self.index.chunks_by_section.get(section_id, [])
            if self.index.chunks[j].kind == "reference"
        ]
