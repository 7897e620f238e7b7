"""Relevance thresholds fitted to one (notes, embedder) pair when its index is built, stored in the manifest.

No cosine is hand-set: how high a cosine must be depends on the embedder (e5's cosines crowd into 0.75-0.95,
MiniLM's spread over 0-0.8) and on the notes. Two kinds of probe the tutor makes itself set the scale:
- negatives: a shipped bank of questions about everyday things (`tutor/data/offtopic.txt`), in Chinese and
  English; the best cosine each gets in these notes is what an unrelated question scores here;
- positives: the notes' own headings, each searched against its own section's passages; what a heading scores
  against its answer is what a question about the notes scores.
A query's top cosine is then read in units of that gap: 0 is a typical unrelated question, 1 a typical question
the notes answer. When the gap is small for a language (MiniLM on Chinese text: unrelated questions score as
high as the notes' own headings), dense similarity says nothing there and the decision rests on shared terms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from tutor.index.embeddings import embed_queries
from tutor.text import data_lines, is_chinese
from tutor.types import Chunk, Section

LANGS = ("zh", "en")
MAX_POSITIVES = 120  # headings sampled evenly across the notes: enough for a median, cheap to embed
MIN_POSITIVES = 5
MIN_SEPARATION = 2.0  # gap / spread of the negatives below which dense similarity is not trusted


@dataclass(frozen=True)
class LangScale:
    negative: float  # mean top cosine of unrelated probes in this language
    spread: float  # their standard deviation
    positive: float  # median cosine of a question against its answer (estimated across languages if needed)
    measured: bool | None = None  # positives measured on headings in this language (None: an older manifest)

    @property
    def gap(self) -> float:
        return self.positive - self.negative

    @property
    def reliable(self) -> bool:
        return self.gap > 0 and self.gap >= MIN_SEPARATION * self.spread

    def units(self, cosine: float) -> float:
        """0 = a typical unrelated question, 1 = a typical question these notes answer."""
        return (cosine - self.negative) / self.gap if self.gap > 0 else -math.inf


@dataclass(frozen=True)
class Calibration:
    zh: LangScale
    en: LangScale
    notes_lang: str
    n_negatives: int
    n_positives: int

    def scale(self, text: str) -> LangScale:
        return self.zh if is_chinese(text) else self.en

    @property
    def home(self) -> LangScale:
        """The scale of the notes' own language: used where no query language applies (ranking margins)."""
        return self.zh if self.notes_lang == "zh" else self.en

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def current(data: dict) -> bool:
        """Written by this version (it records which scales were measured); an older one is fitted again."""
        return all(isinstance(data.get(lang), dict) and "measured" in data[lang] for lang in LANGS)

    @classmethod
    def from_dict(cls, data: dict | None) -> Calibration | None:
        if data is None:
            return None
        try:
            return cls(
                zh=LangScale(**data["zh"]),
                en=LangScale(**data["en"]),
                notes_lang=str(data["notes_lang"]),
                n_negatives=int(data["n_negatives"]),
                n_positives=int(data["n_positives"]),
            )
        except (TypeError, KeyError, ValueError):
            return None

    def describe(self) -> str:
        parts = []
        for lang in LANGS:
            s: LangScale = getattr(self, lang)
            trust = "dense+terms" if s.reliable else "terms only"
            how = {True: "measured; ", False: "estimated from the other language; ", None: ""}[s.measured]
            parts.append(f"{lang}: unrelated {s.negative:.3f}±{s.spread:.3f}, answered {s.positive:.3f} ({how}{trust})")
        return f"calibrated on {self.n_negatives} unrelated probes and {self.n_positives} headings; " + "; ".join(parts)


def calibrate(
    embedder, matrix: np.ndarray, sections: list[Section], chunks: list[Chunk], rows_by_section: dict[str, list[int]]
) -> Calibration | None:
    """Fit the scale of each query language for this index; None for an empty index."""
    if not len(matrix):
        return None
    probes = data_lines("offtopic.txt")
    neg_vecs = embed_queries(embedder, probes)
    top = (neg_vecs @ matrix.T).max(axis=1)
    negatives = {lang: top[[is_chinese(p) == (lang == "zh") for p in probes]] for lang in LANGS}

    headed = []
    for s in sections:
        rows = [i for i in rows_by_section.get(s.id, []) if not chunks[i].is_heading]
        if rows and s.url is None and len(s.title.strip()) >= 2:
            headed.append((s.title, rows))
    step = max(1, len(headed) // MAX_POSITIVES)
    headed = headed[::step][:MAX_POSITIVES]
    positives: dict[str, list[float]] = {lang: [] for lang in LANGS}
    if headed:
        pos_vecs = embed_queries(embedder, [t for t, _ in headed])
        for (title, rows), vec in zip(headed, pos_vecs, strict=True):
            positives["zh" if is_chinese(title) else "en"].append(float((matrix[rows] @ vec).max()))
    notes_lang = max(LANGS, key=lambda lang: len(positives[lang]))
    scales = {}
    for lang in LANGS:
        neg = negatives[lang]
        mean, spread = float(neg.mean()), float(neg.std())
        measured = len(positives[lang]) >= MIN_POSITIVES
        if measured:
            positive = float(np.median(positives[lang]))
        elif len(positives[notes_lang]) >= MIN_POSITIVES:
            # another language: question and answer differ in language, so both cosines shift alike
            home = negatives[notes_lang]
            positive = float(np.median(positives[notes_lang])) - (float(home.mean()) - mean)
        else:  # too few headings to measure: assume answers sit well above unrelated questions
            positive = mean + 4 * spread
        scales[lang] = LangScale(round(mean, 4), round(spread, 4), round(positive, 4), measured)
    return Calibration(
        zh=scales["zh"],
        en=scales["en"],
        notes_lang=notes_lang,
        n_negatives=len(probes),
        n_positives=sum(len(v) for v in positives.values()),
    )
