"""A first index that answers from its first seconds: keyword search at once, then the part embedded so far.

Embedding is the slow part of a first build (parsing and tokenizing a 1 MB book takes seconds, embedding it tens
of minutes on two cores). So when `build_index` has no finished index of its embedder and version to answer from
meanwhile, it runs a `FirstBuild` alongside its embedding loop:
- once the notes are parsed, the caller gets a keyword-only index of every passage: BM25, decided on shared terms
  alone (an index without a calibration is decided the way the retriever decides for an embedder whose similarities
  it does not trust); nothing is embedded or written for it;
- as passages are embedded, in the notes' order, it publishes the part done so far, cut at a section boundary, as
  a partial version: atomically like any version (tutor/index/disk.py), with the relevance calibration fitted on the part
  it holds, and hands the caller that index and a keyword-only index of the rest. A crash leaves the last partial
  version loadable, and the next build starts from its vectors.
A `Tutor` on a partial index answers from the embedded part; a question that part does not answer is looked for
in the rest by keyword (`while_indexing` in tutor/answer/chat.py), and failing that, the answer says the notes are still being indexed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tutor.index.calibrate import calibrate
from tutor.index.draft import Draft
from tutor.index.embeddings import embed_queries
from tutor.index.loaded import Index, load_index, rows_by_section
from tutor.notes.file_states import build_states
from tutor.types import Chunk, Section

RECALIBRATE_GROWTH = 2.0  # a partial version fits the relevance scale again once it holds this many times as much


@dataclass(frozen=True)
class PublishSchedule:
    """When a first build publishes the part embedded so far: after `first` seconds of embedding, then at least
    `every` seconds apart, and never so often that publishing (writing, and the caller loading what was written)
    takes more than `overhead` of the build's time."""

    first: float = 3.0
    every: float = 5.0
    overhead: float = 0.1


@dataclass(frozen=True)
class Partial:
    """What a first build hands its caller: the embedded part (loaded back from what was published; None before
    the first publish) and a keyword-only index of the passages it does not hold yet."""

    index: Index | None
    pending: Index
    progress: dict  # files, files_done, passages, passages_done


class ZeroVectors:
    """The vector store of a keyword-only index: nothing is near a query, every passage's similarity is 0."""

    d = 1

    def __init__(self, n: int) -> None:
        self.ntotal = n

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((len(x), k), dtype=np.float32), np.full((len(x), k), -1, dtype=np.int64)

    def reconstruct(self, _row: int) -> np.ndarray:
        return np.zeros(self.d, dtype=np.float32)


class KeywordQueries:
    """An embedder for searching a keyword-only index: queries need no vector there (so none waits for the model,
    busy with the build); passages (the LLM answer checker's) are embedded by the real one."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder

    def embed_query(self, _text: str) -> list[float]:
        return [0.0] * ZeroVectors.d

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts)


class _QueryMemo:
    """Query vectors kept for the build: the calibration probes are embedded once for all its partial versions."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, embed_queries(self.embedder, missing), strict=True))
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)


class FirstBuild:
    """Driven by `build_index`: `embedded()` after each batch; publishes partial versions on `schedule` and hands
    each to `on_partial`. `vectors` holds what the build has (reused and fresh: the dicts it fills)."""

    def __init__(
        self,
        draft: Draft,
        embedder,
        reused: dict[str, np.ndarray],
        fresh: dict[str, np.ndarray],
        on_partial: Callable[[Partial], None] | None = None,
        schedule: PublishSchedule | None = None,
    ) -> None:
        self.draft = draft
        self.queries = _QueryMemo(embedder)
        self.reused, self.fresh = reused, fresh
        self.on_partial = on_partial
        self.schedule = schedule or PublishSchedule()
        self.cut = 0  # chunks before this one all have a vector
        self.calibration: dict | None = None
        self.calibrated_at = 0  # passages of the version the calibration was fitted on
        self.published = 0  # passages of the last partial version
        self.started = self.last = time.monotonic()
        self.cost = 0.0  # seconds the last publish took, handing over included
        self._advance()
        if on_partial is not None:
            rows, sections = self._done()
            on_partial(Partial(None, self._keyword_index(rows, sections), self._progress(rows)))

    def embedded(self, more: bool) -> None:
        """After a batch; `more`: the build goes on (the last batch is followed by the final version instead)."""
        self._advance()
        now = time.monotonic()
        s = self.schedule
        wait = s.first if not self.published else max(s.every, self.cost / s.overhead)
        if not more or now - self.last < wait:
            return
        rows, sections = self._done()
        if len(rows) > self.published:
            self._publish(rows, sections)
            self.last = time.monotonic()
            self.cost = self.last - now
            self.draft.report.partial_versions += 1
            self.draft.report.partial_seconds += self.cost

    def _has_vector(self, i: int) -> bool:
        key = self.draft.keys[i]
        return key in self.fresh or key in self.reused

    def _advance(self) -> None:
        n = len(self.draft.chunks)
        while self.cut < n and self._has_vector(self.cut):
            self.cut += 1

    def _done(self) -> tuple[list[int], list[Section]]:
        """The rows and sections of a version cut at `self.cut`: whole sections only (a linked article's passages
        belong to the section that links it, wherever they sit), and of each file the sections up to its first
        unfinished one."""
        chunks = self.draft.chunks
        unfinished = {c.section_id for c in chunks[self.cut :]}
        rows = [i for i in range(self.cut) if chunks[i].section_id not in unfinished]
        started = {chunks[i].source for i in rows}
        sections = []
        for doc in self.draft.docs:
            if doc.chunks and doc.source not in started:
                continue  # not reached yet: its passage-less headings wait with it
            for s in doc.sections:
                if s.id in unfinished:
                    break
                sections.append(s)
        return rows, sections

    def _progress(self, rows: list[int]) -> dict:
        unfinished = self._unfinished(rows)
        files = [d.source for d in self.draft.docs]
        return {
            "files": len(files),
            "files_done": sum(source not in unfinished for source in files),
            "passages": len(self.draft.chunks),
            "passages_done": len(rows),
        }

    def _unfinished(self, rows: list[int]) -> frozenset[str]:
        done = set(rows)
        return frozenset(c.source for i, c in enumerate(self.draft.chunks) if i not in done)

    def _publish(self, rows: list[int], sections: list[Section]) -> None:
        draft = self.draft
        matrix = np.stack([self._vector(i) for i in rows])
        if self.calibration is None or len(rows) >= RECALIBRATE_GROWTH * self.calibrated_at:
            chunks = [draft.chunks[i] for i in rows]
            fitted = calibrate(self.queries, matrix, sections, chunks, rows_by_section(chunks))
            self.calibration, self.calibrated_at = (fitted.to_dict() if fitted else None), len(rows)
        progress = self._progress(rows)
        unfinished = self._unfinished(rows)
        draft.publish(matrix.shape[1], matrix, self.calibration, rows, sections, progress, unfinished)
        self.published = len(rows)
        if self.on_partial is not None:
            index = load_index(draft.settings, check_stale=False)  # what a reader gets: the version just written
            self.on_partial(Partial(index, self._keyword_index(rows, sections), progress))

    def _vector(self, i: int) -> np.ndarray:
        key = self.draft.keys[i]
        return self.fresh[key] if key in self.fresh else self.reused[key]

    def _keyword_index(self, rows: list[int], sections: list[Section]) -> Index:
        """A keyword-only index (in memory) of the passages and sections not in `rows` and `sections`."""
        draft = self.draft
        done, shown = set(rows), {s.id for s in sections}
        left = [i for i in range(len(draft.chunks)) if i not in done]
        chunks: list[Chunk] = [draft.chunks[i] for i in left]
        rest = [s for s in draft.sections if s.id not in shown]
        unfinished = self._unfinished(rows)
        states = build_states(draft.files, sections, [draft.chunks[i] for i in rows], draft.skipped, (), unfinished)
        manifest = {
            "embedder": draft.name,
            "files": {},
            "terms": draft.notes,
            "tokenizer": draft.tokenizer,
            "calibration": None,  # decided on shared terms alone
            "keyword_only": True,
            "partial": self._progress(rows),
            "file_states": [s.to_dict() for s in states],
            "n_chunks": len(chunks),
        }
        tokens = [draft.tokens[i] for i in left]
        return Index(
            draft.settings.index_path, manifest, rest, chunks, ZeroVectors(len(chunks)), tokens, draft.headings
        )
