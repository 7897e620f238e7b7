"""Hybrid search (FAISS dense + BM25 over jieba tokens), fused, lifted to sections, then a relevance decision."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from .index import Index
from .text import tokenize
from .types import Chunk, Hit, Section, Status

DENSE_K = 64
LEXICAL_WEIGHT = 0.12  # BM25, scaled to [0, 1] per query, added to the cosine
LINK_PENALTY = 0.04  # a reference title is about the topic but holds no answer
QUESTION_LIFT = 0.5  # share of a question heading's score that its answer paragraphs inherit

# relevance thresholds, calibrated on tests/data/eval.jsonl (see bench/retrieval.py)
DENSE_SURE = 0.93  # above this cosine the query is about the passage even with no shared term
DENSE_HIGH = 0.88  # a close match needs fewer shared terms
DENSE_FLOOR = 0.76  # below this cosine nothing in the notes is about the query
COVERAGE_MIN = 0.30  # share (idf-weighted) of the query's content terms that the top section holds
COVERAGE_LOW = 0.15  # enough shared terms when the match is close (DENSE_HIGH)


@dataclass(frozen=True)
class Retrieval:
    query: str
    tokens: tuple[str, ...]
    hits: tuple[Hit, ...]
    status: Status
    section: Section | None  # the section the top hit belongs to
    coverage: float


class BM25:
    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / len(docs)) if docs else 1.0
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                self.postings[term].append((i, tf))
        n = max(len(docs), 1)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)

    def scores(self, terms: list[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for term in set(terms):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc, tf in self.postings[term]:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.avg)
                out[doc] += idf * tf * (self.k1 + 1) / norm
        return out

    def weight(self, term: str) -> float:
        """idf of a term; a term the notes never use weighs the most."""
        return self.idf.get(term, self.max_idf)


class Retriever:
    def __init__(self, index: Index, embedder: Embeddings) -> None:
        self.index = index
        self.embedder = embedder
        self.doc_tokens = [list(t) for t in index.tokens]
        self.bm25 = BM25(self.doc_tokens)
        # what a section is about, for the relevance decision: its heading path and all its text
        self.section_tokens: dict[str, set[str]] = defaultdict(set)
        heading_terms: dict[tuple[str, ...], list[str]] = {}
        for chunk, toks in zip(index.chunks, self.doc_tokens, strict=True):
            path = chunk.heading_path
            if path not in heading_terms:
                heading_terms[path] = tokenize(" ".join(path))
            self.section_tokens[chunk.section_id].update(toks, heading_terms[path])
        # question chunk of an answered section -> its answer chunks, which may sit in sub-sections
        # (4.1 -> I. -> bold sub-points); found by walking each chunk's heading path upwards
        question_chunk: dict[tuple[str, tuple[str, ...]], int] = {}
        for i, c in enumerate(index.chunks):
            section = index.section_by_id.get(c.section_id)
            if c.kind == "question" and section is not None and section.kind == "answered":
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
            if c.kind == "question" or not question_chunk:
                continue
            for depth in range(1, len(c.heading_path) + 1):
                i = question_chunk.get((c.source, c.heading_path[:depth]))
                if i is not None:
                    self.lifting[i].append(j)

    def _dense(self, query: str) -> tuple[np.ndarray, dict[int, float]]:
        vec = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        return vec, dict(self.index.search(vec, DENSE_K))

    def _cosine(self, vec: np.ndarray, i: int) -> float:
        return float(np.dot(self.index.faiss_index.reconstruct(int(i)), vec))

    def search(self, query: str, k: int = 10) -> Retrieval:
        chunks = self.index.chunks
        tokens = tokenize(query)
        if not chunks:
            return Retrieval(query, tuple(tokens), (), "not_found", None, 0.0)
        vec, dense = self._dense(query)
        lexical = self.bm25.scores(tokens)
        top_lex = max(lexical.values(), default=0.0) or 1.0
        candidates = set(dense) | set(sorted(lexical, key=lexical.get, reverse=True)[:DENSE_K])
        cos = {i: dense[i] if i in dense else self._cosine(vec, i) for i in candidates}
        fused = {
            i: cos[i]
            + LEXICAL_WEIGHT * lexical.get(i, 0.0) / top_lex
            - (LINK_PENALTY if chunks[i].kind == "link" else 0.0)
            for i in candidates
        }
        sections = self.index.section_by_id
        scores = {i: f for i, f in fused.items() if i not in self.lifting}
        for i in candidates & self.lifting.keys():
            # an answered question's heading only asks: its answer paragraphs inherit the match
            for j in self.lifting[i]:
                own = fused[j] if j in fused else self._cosine(vec, j)
                scores[j] = max(scores.get(j, own), QUESTION_LIFT * fused[i] + (1 - QUESTION_LIFT) * own)
                cos.setdefault(j, own)
        ranked = sorted(scores, key=scores.get, reverse=True)[:k]
        hits = []
        for i in ranked:
            hits.append(Hit(chunks[i], scores[i], dense=cos[i], lexical=self._coverage(tokens, self.doc_tokens[i])))
        top_section = sections.get(hits[0].chunk.section_id) if hits else None
        coverage = self._coverage(tokens, self.section_tokens[hits[0].chunk.section_id]) if hits else 0.0
        status = self._decide(hits, top_section, coverage)
        return Retrieval(query, tuple(tokens), tuple(hits), status, top_section, coverage)

    def _coverage(self, tokens: list[str], doc: set[str] | list[str]) -> float:
        if not tokens:
            return 0.0
        doc = doc if isinstance(doc, set) else set(doc)
        total = sum(self.bm25.weight(t) for t in set(tokens))
        found = sum(self.bm25.weight(t) for t in set(tokens) if t in doc)
        return found / total if total else 0.0

    def _decide(self, hits: list[Hit], section: Section | None, coverage: float) -> Status:
        if not hits:
            return "not_found"
        top = hits[0]
        relevant = top.dense >= DENSE_FLOOR and (
            top.dense >= DENSE_SURE
            or coverage >= COVERAGE_MIN
            or (coverage >= COVERAGE_LOW and top.dense >= DENSE_HIGH)
        )
        if not relevant:
            return "not_found"
        if top.chunk.kind == "reference" or section is None or section.kind in ("answered", "topic"):
            return "answered"
        if self.references_for(section.id):
            return "answered"
        return "question_only"

    def references_for(self, section_id: str) -> list[Chunk]:
        return [
            self.index.chunks[j]
            for j in self.index.chunks_by_section.get(section_id, [])
            if self.index.chunks[j].kind == "reference"
        ]
