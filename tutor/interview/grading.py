"""Grading an answer without an LLM, and the follow-ups on what it missed.

`Grader.credits(question, answer)` scores each key point (calibrated e5 similarity blended with alias-aware term
overlap) -> `grade()` -> `Feedback` -> `plan_follow_ups()` aims up to two questions at the missed points.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np

from tutor.index.embeddings import Embedder
from tutor.index.embeddings import embed_queries as query_vectors
from tutor.index.store import Index
from tutor.interview.contradiction import (
    Rubric,
    clauses,
    compared,
    denied_by,
    point_clauses,
    sentence_contradicts,
    sentence_opposes,
    sentence_swaps,
)
from tutor.interview.key_points import answer_chunks
from tutor.interview.rubric import Question
from tutor.terms import tokenize
from tutor.text import CJK_RE, data_lines, glossary, is_chinese, sentences
from tutor.types import Feedback, PartJSON, PointJSON

MAX_ANSWER_CHARS = 4000  # a long answer is graded on its start: a full answer to any question in the notes is ~800
MAX_ANSWER_SENTENCES = 40  # and on at most this many sentences, so grading time stays bounded
# Calibration, measured on tests/data/graded.jsonl (bench/grading.py). e5 cosines are compressed (unrelated text
# ~0.78, on-topic but wrong ~0.93), so a sentence's similarity to a point counts only above its similarity to the
# rest of the notes and to DISTRACTORS (its floor), and SEMANTIC_SPAN above the floor is full marks.
COS_FLOOR = 0.80  # the floor when there is no background at all
SEMANTIC_SPAN = 0.05
LEXICAL_FLOOR, LEXICAL_SPAN = 0.35, 0.20  # share of a point's weighted terms: below FLOOR nothing, FLOOR+SPAN full
RIVAL_MARGIN = 0.02  # a sentence credits a point only if no other point of the question is clearly closer
PHRASING_WEIGHT = 0.3  # weight of a Chinese word that is not a known concept alias
SEMANTIC_WEIGHT = 0.3  # the rest is term overlap after alias normalisation (it carries English answers)
CREDIT_LOW, CREDIT_HIGH = 0.05, 0.50  # blended coverage below LOW earns nothing, above HIGH full credit (LOW was
# 0.10: a short right answer that names one point in few words then earned 0, like a blank)
COVERED_AT = 0.5  # a point whose credit reaches this is listed as covered
PART_COVERED_AT = 0.4

NON_ANSWER_RE = re.compile(
    r"^(?:我?(?:也)?(?:不知道|不清楚|不太清楚|不会|不记得了?|忘了|没学过|不懂)|i ?(?:do ?n[o']?t|dunno) ?know|idk|no idea|"
    r"pass|skip|跳过|不确定|n/?a|none|\?+|？+)(?:[，,]\s*[^，,。.!！?？]{0,20})?[。.!！]*$",
    re.I,
)


# tutor/data/distractors.txt, dropped for a question whose own points they resemble (DISTRACTOR_OWN); a question is
# held to those in its notes' language (chinese -> lines)
DISTRACTORS = tuple(data_lines("distractors.txt"))
DISTRACTORS_IN = {zh: [d for d in DISTRACTORS if is_chinese(d) == zh] for zh in (True, False)}
DISTRACTOR_OWN = 0.90
UNRELATED_QUANTILE = 0.99  # a point and a passage of another topic are closer than this in 1 pair of 100


class Grader:
    """Scores an answer by the key points it covers: calibrated e5 similarity blended with alias-aware term overlap."""

    def __init__(self, index: Index, bank: list[Question], embedder: Embedder) -> None:
        self.index, self.bank, self.embedder = index, bank, embedder
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # id -> points, background, related
        self._ceiling: float | None = None

    def _vectors(self, q: Question) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The question's key points, the background that sets each answer sentence's floor, and which background
        texts are related to which point."""
        if q.id in self._cache:
            return self._cache[q.id]
        if not self._cache:  # one batch for everything any question will need
            every = [c.text for c in self.index.chunks] + [p.text for b in self.bank for p in b.points]
            embed_queries(self.embedder, every + list(DISTRACTORS))
        points = embed_queries(self.embedder, [p.text for p in q.points])
        own = {c.id for c in answer_chunks(self.index, self.index.section_by_id[q.section_id])}
        # background and distractors in the question's language only: a Chinese answer to English notes then meets
        # the same cross-lingual floor as its points, instead of Chinese text (distractors, or the Chinese notes
        # beside the English ones on the same topic) that any Chinese sentence is closer to than to English text
        texts = [
            c.text
            for c in self.index.chunks
            if c.id not in own and c.section_id != q.section_id and is_chinese(c.text) == q.chinese
        ]
        texts += [
            p.text
            for b in self.bank
            if b.id != q.id and b.section_id != q.section_id
            for p in b.points
            if is_chinese(p.text) == q.chinese
        ]
        distractors = DISTRACTORS_IN[q.chinese]
        near = (embed_queries(self.embedder, distractors) @ points.T).max(axis=1) if distractors else []
        texts += [d for d, cos in zip(distractors, near, strict=True) if cos < DISTRACTOR_OWN]
        vectors = embed_queries(self.embedder, texts)
        # text of other sections that is as close to a point as unrelated notes almost never are restates it: it
        # does not set the floor for that point (the notes say "PyTorch 是动态图" in three places)
        related = (points @ vectors.T) > self._unrelated_ceiling()
        self._cache[q.id] = (points, vectors, related)
        return self._cache[q.id]

    def _unrelated_ceiling(self) -> float:
        """How close a key point and a passage of another topic get, at most but for the rare (a high quantile),
        measured on these notes."""
        if self._ceiling is None:
            chunks = self.index.chunks
            vecs = embed_queries(self.embedder, [c.text for c in chunks])
            topics = [(c.source, c.heading_path[0] if c.heading_path else "") for c in chunks]
            cos = []
            for b in self.bank:
                if b.points:
                    pv = embed_queries(self.embedder, [p.text for p in b.points])
                    other = np.array([t != (b.source, b.heading_path[0] if b.heading_path else "") for t in topics])
                    if other.any():
                        cos.append((pv @ vecs[other].T).ravel())
            self._ceiling = float(np.quantile(np.concatenate(cos), UNRELATED_QUANTILE)) if cos else 1.0
        return self._ceiling

    def _margins(self, q: Question, windows: list[str]) -> np.ndarray:
        """Per (window, point): how far the window is closer to the point than to its floor (background, rivals)."""
        points, background, related = self._vectors(q)
        vecs = embed_queries(self.embedder, windows)
        sims = vecs @ points.T
        if len(background):
            to_background = vecs @ background.T  # (window, text)
            floor = np.where(related[None, :, :], -1.0, to_background[:, None, :]).max(axis=2)
            floor = np.where(floor > -1.0, floor, COS_FLOOR)
        else:
            floor = np.full(sims.shape, COS_FLOOR)
        return sims - np.maximum(floor, _rival(sims) - RIVAL_MARGIN)

    def _margins_across(self, q: Question, texts: list[str]) -> np.ndarray:
        """`_margins` of texts in the other language than the notes, as written or with the glossary's terms
        translated, whichever is closer: e5 reads "JS 散度" against the notes better than "JS divergence"."""
        translated = [self.index.analyzer.translate(t, q.chinese) for t in texts]
        return np.maximum(self._margins(q, texts), self._margins(q, translated))

    def credits(self, q: Question, answer: str) -> np.ndarray:
        """Per key point, how well the answer covers it, in [0, 1]."""
        return self.assess(q, answer)[0]

    def assess(self, q: Question, answer: str) -> tuple[np.ndarray, np.ndarray]:
        """Per key point: how well the answer covers it, in [0, 1], and whether the answer denies it (one of its
        sentences negates what the point asserts: then it covers nothing of the point, whatever else it says)."""
        sents = [s for s in sentences(answer) if tokenize(s, keep_stopwords=True)][:MAX_ANSWER_SENTENCES]
        if not sents or not q.points or NON_ANSWER_RE.match(answer.strip()):
            return np.zeros(len(q.points)), np.zeros(len(q.points), bool)
        windows = sents + [a + " " + b for a, b in zip(sents, sents[1:], strict=False)]
        across = is_chinese(answer) != q.chinese  # the answer is in the other language than the notes
        margin = self._margins_across(q, windows) if across else self._margins(q, windows)
        # a sentence that denies what a point asserts covers nothing of it, however close its words
        asked, names, about = denied_by(q.text), compared(q.text), frozenset(tokenize(q.text))
        claims = [point_clauses(p.text, p.label) for p in q.points]
        rubric = Rubric.of(q.text, claims)  # every word and quantity the notes use for the question
        denies = np.array(
            [
                [
                    sentence_contradicts(s, c, asked, about)
                    or sentence_swaps(s, c, names, tuple(claims))
                    or sentence_opposes(s, c, rubric)
                    for c in claims
                ]
                for s in sents
            ]
        )
        spans = [(i, k) for k in (1, 2, 3) for i in range(len(sents) - k + 1)]  # the first len(windows) are windows
        span_denies = np.array([denies[i : i + k].any(axis=0) for i, k in spans])
        semantic = np.where(span_denies[: len(windows)], 0.0, np.clip(margin / SEMANTIC_SPAN, 0, 1)).max(axis=0)
        if across:
            # in the other language no shared word points at the claim: a long sentence that chains several claims
            # ("只看固定长度的上下文，难以处理长距离依赖，参数少，…") is read claim by claim too
            split = [clauses(s) for s in sents]
            parts = [(i, c) for i, cs in enumerate(split) if len(cs) > 1 for c in cs if tokenize(c)]
            if parts:
                by_clause = self._margins_across(q, [c for _, c in parts])
                owner_denies = denies[[i for i, _ in parts]]
                semantic = np.maximum(
                    semantic, np.where(owner_denies, 0.0, np.clip(by_clause / SEMANTIC_SPAN, 0, 1)).max(axis=0)
                )
        span_terms = [set(tokenize(" ".join(sents[i : i + k]))) for i, k in spans]
        lexical = np.array(
            [
                max(_term_overlap(t, [s for s, bad in zip(span_terms, span_denies[:, p], strict=True) if not bad])
                    for t in facets)
                for p, facets in enumerate(_key_terms(q))
            ]
        )  # fmt: skip
        lexical = np.clip((lexical - LEXICAL_FLOOR) / LEXICAL_SPAN, 0, 1)
        blended = SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical
        if across:
            # in the other language few words can meet the point's (only the glossary's terms translate): what the
            # embedder finds across the languages counts in full
            blended = np.maximum(blended, semantic)
        credit = np.clip((blended - CREDIT_LOW) / (CREDIT_HIGH - CREDIT_LOW), 0, 1)
        denied = np.asarray(denies.any(axis=0), dtype=bool)
        return np.where(denied, 0.0, credit), denied


def _rival(sims: np.ndarray) -> np.ndarray:
    """For each (sentence, point): the sentence's similarity to the closest *other* point of the question."""
    if sims.shape[1] < 2:
        return np.full_like(sims, -1.0)
    top2 = np.sort(sims, axis=1)[:, -2:]
    best = sims.max(axis=1, keepdims=True)
    return np.where(sims >= best, top2[:, :1], best)


def embed_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Unit vectors with e5's "query:" role; cached per text, and the rest embedded in one batch call."""
    cache = _VECTORS.setdefault(id(embedder), {})
    if len(cache) > MAX_CACHED_VECTORS:
        cache.clear()  # before `missing` is worked out: every text asked for must be in the cache below
    missing = list(dict.fromkeys(t for t in texts if t not in cache))
    if missing:
        vecs = query_vectors(embedder, missing)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        cache.update(zip(missing, vecs, strict=True))
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    return np.stack([cache[t] for t in texts])


_VECTORS: dict[int, dict[str, np.ndarray]] = {}  # embedder -> text -> vector: key points, background, answers
MAX_CACHED_VECTORS = 20_000


def _key_terms(q: Question) -> list[list[dict[str, float]]]:
    """Term sets per point: all its terms, and its bold label's ("增加、减少学习速率"), which names the point alone.

    The question's own subject ("dropout") is left out unless it names a part ("bagging").
    """
    subject = set(tokenize(q.text)) - {t for part in q.parts for t in tokenize(part.label)}
    out = []
    for p in q.points:
        facets = [p.text] + ([p.label, *sentences(p.text)] if p.label else [])
        # a point the question words in full still has its terms to cover
        terms = [(set(tokenize(f)) - subject) or set(tokenize(f)) for f in facets]
        out.append([{t: _term_weight(t) for t in ts} for ts in terms])
    return out


def _term_weight(term: str) -> float:
    # aliases and Latin terms carry the concepts (and match across languages); other Chinese words are phrasing
    return 1.0 if term in glossary() or not CJK_RE.match(term) else PHRASING_WEIGHT


def _term_overlap(terms: dict[str, float], spans: list[set[str]]) -> float:
    total = sum(terms.values())
    if not total:
        return 0.0
    return max((sum(w for t, w in terms.items() if t in span) / total for span in spans), default=0.0)


NO_REFERENCE = {
    "zh": "笔记里没有这道题的参考答案，无法评分。",
    "en": "The notes hold no reference answer for this question, so it is not scored.",
}
TRIMMED = {
    "zh": "回答太长（{total} 字），只评了前 {kept} 字。",
    "en": "The answer is long ({total} characters); only the first {kept} were graded.",
}
FOLLOW_UP = {
    "zh": {
        "angle": "那从{label}的角度怎么理解？",
        "clause": "那{label}？",
        "label": "那「{label}」这一点呢？具体说说。",
        "hint": "你还没提到「{label}」这一点，能展开讲讲吗？",
    },
    "en": {
        "angle": "And from the {label} angle?",
        "clause": "And: {label}?",
        "label": "What about “{label}”?",
        "hint": "You did not mention “{label}”; can you say more?",
    },
}
CONNECTIVE_RE = re.compile(r"^(?:从另一个角度上说|从另一个角度说|然而|因此|同时|此外|另外|最后|所以|但是|而且)[，,]?")
MAX_FOLLOW_UPS = 2
HINT_CHARS = 16


def lang(q: Question) -> str:
    return "zh" if q.chinese else "en"


def clean_text(text: str) -> str:
    """Drop control characters and lone surrogates (an answer pasted from anywhere must not crash the embedder)."""
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or not (unicodedata.category(ch) in ("Cc", "Cs", "Cf") or 0xD800 <= ord(ch) <= 0xDFFF)
    )


def prepare_answer(answer: str, language: str) -> tuple[str, list[str]]:
    """The answer as graded: cleaned, and trimmed (with a note) when it is very long."""
    text = clean_text(answer or "").strip()
    if len(text) <= MAX_ANSWER_CHARS:
        return text, []
    return text[:MAX_ANSWER_CHARS], [TRIMMED[language].format(total=len(text), kept=MAX_ANSWER_CHARS)]


def grade(grader: Grader, q: Question, answer: str, only: tuple[int, ...] = ()) -> tuple[Feedback, dict[int, float]]:
    """Feedback on an answer against all of the question's key points, or only those a follow-up asked about."""
    language = lang(q)
    text, notices = prepare_answer(answer, language)
    fb = Feedback(
        q.text, None, question_id=q.id, topic=q.topic_name, has_reference=q.has_reference, notices=tuple(notices)
    )
    if not q.points:
        return replace(fb, reason=NO_REFERENCE[language]), {}
    credit, denied = grader.assess(q, text)
    chosen = list(only or range(len(q.points)))
    credits = {i: float(credit[i]) for i in chosen}
    fb = replace(
        fb,
        score=round(100 * sum(credits.values()) / len(chosen)),
        contradicted=tuple(_point(q, i) for i in chosen if denied[i]),
        reference_answer="\n".join(f"- {q.points[i].text.replace(chr(10), ' ')} [{i + 1}]" for i in chosen),
        citations=tuple(q.points[i].citation.to_dict() for i in chosen),
    )
    return with_coverage(fb, q, credits), credits


def _point(q: Question, i: int) -> PointJSON:
    return {"point": q.points[i].text, "citation": q.points[i].citation.to_dict()}


def with_coverage(fb: Feedback, q: Question, credits: dict[int, float]) -> Feedback:
    """The feedback with the covered and missed points and per-part coverage of the credits of the points graded."""
    chosen = sorted(credits)
    parts: list[PartJSON] = []
    for part in q.parts:
        mine = [i for i in part.points if i in credits]
        if mine:
            coverage = sum(credits[i] for i in mine) / len(mine)
            parts.append(
                {
                    "part": part.label,
                    "coverage": round(coverage, 2),
                    "covered": coverage >= PART_COVERED_AT,
                    "points": [i + 1 for i in mine],
                }
            )
    return replace(
        fb,
        covered=tuple(q.points[i].text for i in chosen if credits[i] >= COVERED_AT),
        missed=tuple(_point(q, i) for i in chosen if credits[i] < COVERED_AT),
        parts=tuple(parts),
    )


@dataclass(frozen=True)
class FollowUp:
    text: str
    points: tuple[int, ...]


def plan_follow_ups(q: Question, credits: dict[int, float]) -> list[FollowUp]:
    """Up to two questions aimed at what the answer missed: a missed part first, then single missed points."""
    templates = FOLLOW_UP[lang(q)]
    missed = [i for i, c in sorted(credits.items()) if c < COVERED_AT]
    planned: list[FollowUp] = []
    taken: set[int] = set()
    for part in q.parts:
        coverage = sum(credits.get(i, 0.0) for i in part.points) / len(part.points)
        if coverage < PART_COVERED_AT and set(part.points) & set(missed):
            planned.append(FollowUp(templates[part.style].format(label=part.label), part.points))
            taken.update(part.points)
    for i in missed:
        if i not in taken:
            point = q.points[i]
            kind, label = ("label", point.label) if point.label else ("hint", _hint(point.text))
            planned.append(FollowUp(templates[kind].format(label=label), (i,)))
            taken.add(i)
    return planned[:MAX_FOLLOW_UPS]


def _hint(text: str) -> str:
    """The start of a key point ("最后用作预测的时候"): enough to aim the question, not the answer."""
    first = re.split(r"[，,：:；;。\n]", CONNECTIVE_RE.sub("", text.strip()), maxsplit=1)[0].strip()
    return first if len(first) <= HINT_CHARS else first[:HINT_CHARS] + "…"
