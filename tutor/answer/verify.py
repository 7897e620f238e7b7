"""Check a model's answer against the passages it was given, as its tokens arrive.

Every `[n]` must point at a passage (others are dropped) and that passage must support the claim before the
marker: a share of the claim's terms found in the passage (tutor.terms.tokenize canonicalises English and
Chinese aliases), and, when that share is inconclusive, the e5 cosine between the claim and the passage's
sentences. Citations come out numbered in reading order, each with the passage sentence that best matches its
claim; a sentence the passages do not support gets a visible ⚠ and `verified=False` on its citations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from tutor.answer.answerer import locate
from tutor.index.embeddings import Embedder
from tutor.terms import tokenize
from tutor.text import is_chinese, sentences
from tutor.types import Chunk, Citation

# calibrated on the claim/passage pairs in tests/answer/test_llm.py (CALIBRATION): 32 of 34 right
LEX_SURE = 0.5  # share of the claim's content terms found in the passage: supported, no embedding needed
LEX_MIN = 0.25  # below this share the claim is not supported
COS_SAME = 0.93  # e5 cosine, same language: paraphrases 0.93-0.98, on-topic but unsupported 0.87-0.92
COS_CROSS = 0.82  # English claim, Chinese notes: supported 0.82-0.86, unsupported 0.76-0.81
MIN_CLAIM_TERMS = 3  # an uncited sentence with fewer content terms claims nothing worth checking
UNVERIFIED = "⚠"

MARKER = re.compile(r"[\[【](\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)[\]】]")
# fullmatch: a marker may still be arriving ("[", "[1", "[1, 2"); one way to match each prefix, so text such as
# "[\n    1,\n    2,\n" in a code block fails at once instead of backtracking exponentially
MARKER_START = re.compile(r"[\[【](?:\d{1,2}(?:\s*[,，、]\s*\d{1,2})*\s*(?:[,，、]\s*)?)?")
SENTENCE_END = "。！？!?；;"
CLOSING_PUNCTUATION = SENTENCE_END + "，,、：:.)）"
LEAD_IN = re.compile(r"[:：]\s*\**\s*$")
NOT_COVERED = re.compile(
    r"没有(?:提到|涉及|说明|回答|给出|写)|未(?:提及|涉及|说明|给出)|无法(?:从|根据)"
    r"|\b(?:do|does|did)(?: not|n't) (?:say|mention|cover|answer|explain|address)\b|\bnot (?:covered|mentioned)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=256)
def text_pieces(text: str) -> list[str]:
    """An answer cut where it can be shown progressively: after each marker and each line."""
    return [p for p in re.findall(r"[^\n]*?(?:\[\d+\]|\n|$)", text) if p]


def _passage_terms(chunk: Chunk) -> frozenset[str]:
    """A passage's terms with its heading path's: the same few passages are checked for every sentence."""
    return frozenset(tokenize(chunk.text + "\n" + " ".join(chunk.heading_path)))


class Verifier:
    """Decides whether a passage supports a claim; caches the embeddings of passage sentences."""

    def __init__(self, embedder: Embedder | None = None, cache_size: int = 4096) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._vectors: dict[str, np.ndarray] = {}

    def _embed(self, texts: list[str]) -> np.ndarray:
        # built locally: another session's answer may clear the shared cache between our writes and reads
        found = {t: v for t in dict.fromkeys(texts) if (v := self._vectors.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            if len(self._vectors) + len(missing) > self.cache_size:
                self._vectors.clear()
            # "passage:" on both sides: a symmetric comparison, and e5's query path is ~7x slower here
            assert self.embedder is not None  # supports() asks for vectors only when there is an embedder
            for text, vec in zip(missing, self.embedder.embed_documents(missing), strict=True):
                arr = np.asarray(vec, dtype=np.float32)
                found[text] = self._vectors[text] = arr / (float(np.linalg.norm(arr)) or 1.0)
        return np.stack([found[t] for t in texts])

    @staticmethod
    def share(claim: str, chunk: Chunk) -> float:
        """The share of the claim's content terms that the passage (or its heading path) holds."""
        terms = set(tokenize(claim))
        if not terms:
            return 1.0
        return len(terms & _passage_terms(chunk)) / len(terms)

    def supports(self, claim: str, chunk: Chunk) -> tuple[bool, str]:
        """(supported, the passage sentence that best matches the claim)."""
        terms = set(tokenize(claim))
        parts = sentences(chunk.text) or [chunk.text]
        best = max(parts, key=lambda s: len(terms & set(tokenize(s))))
        share = self.share(claim, chunk)
        if share >= LEX_SURE:
            return True, best
        if share < LEX_MIN or self.embedder is None:
            return False, best
        # sentence by sentence: sharper than the whole passage, and short texts embed fast
        vecs = self._embed([claim, *parts])
        cosines = vecs[1:] @ vecs[0]
        threshold = COS_SAME if is_chinese(claim) == is_chinese(chunk.text) else COS_CROSS
        return float(cosines.max()) >= threshold, parts[int(np.argmax(cosines))]

    def supported_by_any(self, claim: str, chunks: Sequence[Chunk]) -> bool:
        """For a sentence without a marker: checked against the passage that shares the most terms with it."""
        if not chunks:
            return False
        return self.supports(claim, max(chunks, key=lambda c: self.share(claim, c)))[0]


def _citable(group: str) -> bool:
    """A range such as [0, 1] is text, not a citation; [9] of three passages is a citation (to drop)."""
    return all(int(x) > 0 for x in re.split(r"\s*[,，、]\s*", group))


def _claims_something(body: str) -> bool:
    return len(tokenize(body)) >= MIN_CLAIM_TERMS and not LEAD_IN.search(body) and not NOT_COVERED.search(body)


class CitationStream:
    """Feed it the model's tokens; it returns the text to show, with markers renumbered, dropped or flagged.

    Only a marker that is still arriving, or the spaces before what comes next, are held back; the joined
    output of `feed` and `close` is the final answer text.
    """

    def __init__(self, passages: Sequence[Chunk], verifier: Verifier, root: Path) -> None:
        self.passages = list(passages)
        self.verifier = verifier
        self.root = root
        self.citations: list[Citation] = []
        self.dropped = 0  # markers that pointed at no passage
        self._shown: list[str] = []
        self._raw = ""  # received, not yet shown
        self._held = ""  # spaces not shown yet: a marker may still follow them
        self._gap = False  # a marker was dropped right here
        self._body: list[str] = []  # the current sentence, markers removed
        self._since: list[str] = []  # text since the last marker of the current sentence
        self._claim = ""
        self._cited: dict[int, list] = {}  # passage number -> [n, claim] for the current sentence
        self._ended = False
        self._next_n = 1

    @property
    def text(self) -> str:
        return "".join(self._shown).strip()

    def feed(self, token: str) -> str:
        self._raw += token
        return self._drain(final=False)

    def close(self) -> str:
        piece = self._drain(final=True)
        tail = self._close_sentence() + self._held
        self._held = ""
        self._shown.append(tail)
        return piece + tail

    def _drain(self, final: bool) -> str:
        out: list[str] = []
        raw, i = self._raw, 0
        while i < len(raw):
            c = raw[i]
            if c in "[【":
                m = MARKER.match(raw, i)
                if m is None and not final and MARKER_START.fullmatch(raw, i):
                    break
                if m is not None and _citable(m.group(1)):
                    if marks := self._marker(m.group(1)):
                        out += [self._held, marks]  # "。 [1]" still cites the sentence before it
                        self._held = ""
                    else:
                        self._gap = True  # every number dropped: the space before it may go too
                    i = m.end()
                    continue
            if c.isspace() and c != "\n":
                self._held += c  # spaces wait: a marker may follow them
                i += 1
                continue
            if c == "." and not final and i + 1 == len(raw):
                break  # "0.25" or a full stop: the next character decides
            if self._gap and c in CLOSING_PUNCTUATION:
                self._held = ""
            self._gap = False
            if self._ended and c not in SENTENCE_END:
                out.append(self._close_sentence())
            out.append(self._held)
            self._body.append(self._held)
            self._since.append(self._held)
            self._held = ""
            if c == "\n":
                out += [self._close_sentence(), c]
                i += 1
                continue
            out.append(c)
            self._body.append(c)
            self._since.append(c)
            if c in SENTENCE_END or (c == "." and (i + 1 == len(raw) or raw[i + 1].isspace())):
                self._ended = True
            i += 1
        self._raw = raw[i:]
        piece = "".join(out)
        self._shown.append(piece)
        return piece

    def _marker(self, group: str) -> str:
        claim = "".join(self._since).strip()
        if claim:
            self._claim, self._since = claim, []
        out = []
        for p in dict.fromkeys(int(x) for x in re.split(r"\s*[,，、]\s*", group)):
            if p > len(self.passages):
                self.dropped += 1
                continue
            if p in self._cited:
                self._cited[p][1] += " " + self._claim
            else:
                self._cited[p] = [self._next_n, self._claim]
                self._next_n += 1
            out.append(f"[{self._cited[p][0]}]")
        return "".join(out)

    def _close_sentence(self) -> str:
        body = "".join(self._body).strip()
        mark = ""
        if self._cited:
            for p, (n, claim) in sorted(self._cited.items(), key=lambda item: item[1][0]):
                chunk = self.passages[p - 1]
                ok, quote = self.verifier.supports(claim or body, chunk)
                lines = locate(self.root, chunk, quote)
                self.citations.append(Citation.from_chunk(n, chunk, quote, lines, verified=ok))
                mark = mark or ("" if ok else UNVERIFIED)
        elif body and _claims_something(body) and not self.verifier.supported_by_any(body, self.passages):
            mark = UNVERIFIED
        self._body, self._since, self._claim, self._cited, self._ended = [], [], "", {}, False
        return mark


def verify_answer(
    text: str, passages: Sequence[Chunk], verifier: Verifier, root: Path
) -> tuple[str, tuple[Citation, ...]]:
    """The whole answer at once: (text with checked markers, citations)."""
    stream = CitationStream(passages, verifier, root)
    stream.feed(text)
    stream.close()
    return stream.text, tuple(stream.citations)
