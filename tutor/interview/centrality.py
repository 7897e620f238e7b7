"""Which of a long section's sentences a question is graded on: the central ones, at most MAX_POINTS.

A candidate's centrality is the idf-weighted term overlap (cosine) with the rest of its section, plus the same with
the question and its heading path; idf comes from the index, so nothing is fitted to any notes. A multi-part
question shares the budget among its parts by their size, and the points chosen keep the notes' order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

MAX_POINTS = 8  # more makes the feedback unreadable and full coverage out of reach for a good answer


def idf_of(token_lists: Sequence[Sequence[str]]) -> Callable[[str], float]:
    """BM25's idf over the index's chunks (as the retriever weighs terms); a term the notes never use weighs most."""
    n = max(len(token_lists), 1)
    df = Counter(t for tokens in token_lists for t in set(tokens))
    unseen = math.log(1 + (n + 0.5) / 0.5)
    return lambda term: math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5)) if term in df else unseen


def _vector(terms: list[str], idf: Callable[[str], float]) -> dict[str, float]:
    return {t: idf(t) for t in set(terms)}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(w * b[t] for t, w in a.items() if t in b)
    norm = math.sqrt(sum(w * w for w in a.values()) * sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


def centrality(terms: list[list[str]], about: list[str], idf: Callable[[str], float]) -> list[float]:
    """Per candidate: cosine with the section without it (leave-one-out centroid) plus cosine with the question."""
    vectors = [_vector(t, idf) for t in terms]
    units = [{t: w / (math.sqrt(sum(x * x for x in v.values())) or 1.0) for t, w in v.items()} for v in vectors]
    centroid: Counter[str] = Counter()
    for u in units:
        centroid.update(u)
    asked = _vector(about, idf)
    scores = []
    for v, u in zip(vectors, units, strict=True):
        rest = {t: w - u.get(t, 0.0) for t, w in centroid.items()}
        scores.append(_cosine(v, rest) + _cosine(v, asked))
    return scores


def choose(scores: list[float], parts: Sequence[Sequence[int]], k: int = MAX_POINTS) -> list[int]:
    """The k best candidates in the notes' order; each part gets a share of k by its size (largest remainder)."""
    n = len(scores)
    if n <= k:
        return list(range(n))
    best = sorted(range(n), key=lambda i: -scores[i])
    groups = [list(p) for p in parts if p] or [list(range(n))]
    total = sum(len(g) for g in groups)
    shares = [k * len(g) / total for g in groups]
    quota = [min(len(g), int(s)) for g, s in zip(groups, shares, strict=True)]
    for j in sorted(range(len(groups)), key=lambda j: -(shares[j] - int(shares[j]))):
        if sum(quota) < k and quota[j] < len(groups[j]):
            quota[j] += 1
    chosen: set[int] = set()
    for g, q in zip(groups, quota, strict=True):
        members = set(g)
        chosen.update([i for i in best if i in members and i not in chosen][:q])
    for i in best:  # what the parts leave (overlapping parts, points in none) goes to the best of the rest
        if len(chosen) >= k:
            break
        chosen.add(i)
    return sorted(chosen)
