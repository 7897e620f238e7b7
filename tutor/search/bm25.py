"""Okapi BM25 over a fixed list of token lists, scored with numpy."""

from __future__ import annotations

import math
from array import array
from collections import Counter

import numpy as np


class BM25:
    """Okapi BM25 with postings held as numpy arrays (one slice per term), so a query term found in most of
    100k chunks costs one vectorised add, not a Python loop over its postings."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.n_docs = len(docs)
        lengths = np.fromiter((len(d) for d in docs), dtype=np.float64, count=len(docs))
        self.avg = (float(lengths.sum()) / len(docs)) if docs else 1.0
        term_ids: dict[str, int] = {}
        post_term, post_doc, post_tf = array("i"), array("i"), array("i")
        for i, words in enumerate(docs):
            for term, count in Counter(words).items():
                post_term.append(term_ids.setdefault(term, len(term_ids)))
                post_doc.append(i)
                post_tf.append(count)
        terms = np.frombuffer(post_term, dtype=np.int32) if post_term else np.zeros(0, np.int32)
        order = np.argsort(terms, kind="stable")  # postings grouped by term, in document order
        doc = (np.frombuffer(post_doc, dtype=np.int32) if post_doc else np.zeros(0, np.int32))[order]
        tf = (np.frombuffer(post_tf, dtype=np.int32) if post_tf else np.zeros(0, np.int32))[order].astype(np.float64)
        df = np.bincount(terms, minlength=len(term_ids))
        self.term_ids = term_ids
        self.offsets = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        self.post_doc = doc
        self.post_weight = tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[doc] / self.avg))
        n = max(len(docs), 1)
        self.idf_by_id = np.log(1 + (n - df + 0.5) / (df + 0.5))
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)

    def score_array(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every document (0 where none of the terms occurs)."""
        out = np.zeros(self.n_docs)
        for term in set(terms):
            t = self.term_ids.get(term)
            if t is None:
                continue
            lo, hi = self.offsets[t], self.offsets[t + 1]
            out[self.post_doc[lo:hi]] += self.idf_by_id[t] * self.post_weight[lo:hi]
        return out

    def scores(self, terms: list[str]) -> dict[int, float]:
        """document -> score, for the documents holding at least one of the terms."""
        out = self.score_array(terms)
        return {int(i): float(out[i]) for i in np.flatnonzero(out)}

    def common_terms(self, share: float) -> set[str]:
        """Terms found in at least this share of the documents."""
        df = np.diff(self.offsets)
        limit = max(share * self.n_docs, 2)
        return {term for term, t in self.term_ids.items() if df[t] >= limit}

    def weight(self, term: str) -> float:
        """idf of a term; a term the notes never use weighs the most."""
        t = self.term_ids.get(term)
        return self.max_idf if t is None else float(self.idf_by_id[t])
