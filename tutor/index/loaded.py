"""The index in memory (`Index`), and loading the live version with every check that it can still be used."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import orjson

from tutor.config import Settings
from tutor.index.calibrate import Calibration
from tutor.index.disk import (
    FORMAT,
    IndexCorrupt,
    IndexStale,
    chunk_from_row,
    live_dir,
    section_from_row,
    sha_file,
)
from tutor.index.embeddings import embedder_name
from tutor.notes.corpus import CHUNKING_VERSION
from tutor.notes.file_states import FileState, index_file_states
from tutor.notes.files import corpus_files, file_hash, source_name
from tutor.terms import default_analyzer
from tutor.types import Chunk, Section, note_questions


@dataclass
class Index:
    path: Path
    manifest: dict
    sections: list[Section]
    chunks: list[Chunk]
    faiss_index: Any  # a faiss index; faiss ships no type hints
    tokens: list[list[str]]  # BM25 terms per chunk, computed at build time so start-up stays fast
    heading_terms: dict[str, list[str]] = field(default_factory=dict)  # heading path or title -> its terms

    def __post_init__(self) -> None:
        # the shipped glossary plus the terms of these notes (mined and the user's own), as built
        self.analyzer = default_analyzer().with_terms(self.manifest.get("terms") or {})
        self.calibration = Calibration.from_dict(self.manifest.get("calibration"))
        self.section_by_id = {s.id: s for s in self.sections}
        self.chunks_by_section = rows_by_section(self.chunks)

    @property
    def partial(self) -> dict | None:
        """For a version a first build published on its way: how far it had got (files, passages, done of each)."""
        return self.manifest.get("partial")

    def terms(self, heading: str) -> list[str]:
        """The terms of a heading path (joined by spaces) or a title, as stored at build; an index written before
        they were stored tokenizes them now."""
        found = self.heading_terms.get(heading)
        return self.analyzer.tokenize(heading) if found is None else found

    # maps for per-question look-ups (suggestions), built on first use so that no question scans every section

    @cached_property
    def file_states(self) -> list[FileState]:
        """What became of each file of the notes folder at this build (the Notes tab's file list)."""
        return index_file_states(self.manifest, self.sections, self.chunks)

    @cached_property
    def section_by_path(self) -> dict[tuple[str, tuple[str, ...]], Section]:
        """(source, heading path) -> the first section with that path."""
        out: dict[tuple[str, tuple[str, ...]], Section] = {}
        for s in self.sections:
            out.setdefault((s.source, s.heading_path), s)
        return out

    @cached_property
    def note_questions(self) -> list[Section]:
        """The questions of the notes (not of linked articles), in corpus order."""
        return note_questions(self.sections)

    @cached_property
    def note_question_position(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i, s in enumerate(self.note_questions):
            out.setdefault(s.id, i)
        return out

    @cached_property
    def reference_titles(self) -> dict[str, set[str]]:
        """section id -> titles of the linked articles attached to it."""
        out: dict[str, set[str]] = {}
        for c in self.chunks:
            if c.kind == "reference" and c.title:
                out.setdefault(c.section_id, set()).add(c.title)
        return out

    @cached_property
    def _rows(self) -> np.ndarray | None:
        """The stored vectors as a read-only view of FAISS's own memory (no copy); None if it keeps no flat rows."""
        flat = self.faiss_index
        if isinstance(flat, faiss.IndexHNSWFlat):
            flat = faiss.downcast_index(flat.storage)
        if not isinstance(flat, faiss.IndexFlat) or flat.ntotal == 0:
            return None
        rows = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
        rows.flags.writeable = False
        return rows

    def vector(self, row: int) -> np.ndarray:
        """One passage's vector: a row of the index (reconstruct() copies it through SWIG, ~50 us a call, and a
        question reads a few hundred)."""
        rows = self._rows
        return self.faiss_index.reconstruct(row) if rows is None else rows[row]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        return search_vectors(self.faiss_index, vector, min(k, len(self.chunks)))


def search_vectors(faiss_index, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(row, inner product) of the k nearest rows to one query vector, best first.

    One query runs on one thread: OpenMP's spin barriers make a 10k-row search 0.6 ms -> ~28 ms when the two
    cores are shared (bench/growth.py). The thread count is per calling thread, so it is restored after.
    """
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, ids = faiss_index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
    finally:
        faiss.omp_set_num_threads(threads)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def rows_by_section(chunks: list[Chunk]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        out.setdefault(c.section_id, []).append(i)
    return out


def corpus_state(settings: Settings) -> dict[str, str]:
    """source -> sha256 of every file the corpus holds now ("unreadable" for a file that cannot be read)."""
    corpus = settings.corpus_path
    state = {}
    for path in corpus_files(corpus):
        try:
            state[source_name(path, corpus)] = file_hash(path)
        except FileNotFoundError:
            continue  # deleted while we looked
        except OSError:
            state[source_name(path, corpus)] = "unreadable"  # load_corpus warns about it
    return state


def load_index(settings: Settings, check_stale: bool = True) -> Index:
    """The live index; raises an `IndexError_` that says what to run when it is missing, damaged or stale."""
    for _ in range(3):
        live = live_dir(settings.index_path)
        try:
            return _load_version(settings, live, check_stale)
        except IndexCorrupt:
            # a build that published meanwhile may have removed the version we were reading: read the new one
            if live_dir(settings.index_path) == live:
                raise
    return _load_version(settings, live_dir(settings.index_path), check_stale)


def _load_version(settings: Settings, live: Path, check_stale: bool) -> Index:
    try:
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        raw = (live / "chunks.json").read_bytes()  # read once: checked, then parsed
        digests = {"chunks.json": hashlib.sha256(raw).hexdigest(), "index.faiss": sha_file(live / "index.faiss")}
        for name, digest in digests.items():  # both, even if the manifest forgot one
            if digest != manifest["checksums"][name]:
                raise IndexCorrupt(f"index file {live / name} was altered or truncated: run `tutor index` to rebuild")
        data = orjson.loads(raw)
        del raw
        sections = [section_from_row(s) for s in data["sections"]]
        chunks = [chunk_from_row(c) for c in data["chunks"]]
        # interned: JSON gives every occurrence its own string, ~5M of them at 100k chunks
        intern = sys.intern
        tokens = [[intern(t) for t in c["tokens"]] for c in data["chunks"]]
        heading_terms = {text: [intern(t) for t in terms] for text, terms in (data.get("headings") or {}).items()}
        del data
        vectors = faiss.read_index(str(live / "index.faiss"))
    except IndexCorrupt:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorrupt(f"index in {live} cannot be read ({exc}): run `tutor index` to rebuild") from exc
    if vectors.ntotal != len(chunks):
        raise IndexCorrupt(f"index in {live} has {vectors.ntotal} vectors for {len(chunks)} chunks: run `tutor index`")
    if chunks and vectors.d != manifest.get("dim"):
        raise IndexCorrupt(f"index in {live} holds {vectors.d}-d vectors, not {manifest.get('dim')}: run `tutor index`")
    if manifest.get("format") != FORMAT or manifest.get("chunking_version") != CHUNKING_VERSION:
        raise IndexStale("the index was built by another version of tutor: run `tutor index`")
    if manifest.get("embedder") != embedder_name(settings.embeddings):
        raise IndexStale(
            f"the index was built with {manifest.get('embedder')!r}, not {settings.embeddings!r}: run `tutor index`"
        )
    if check_stale and manifest.get("partial"):
        done = manifest["partial"]
        raise IndexStale(
            f"the index is not finished ({done['passages_done']} of {done['passages']} passages): run `tutor index`"
        )
    if check_stale and manifest.get("files") != corpus_state(settings):
        raise IndexStale("the notes changed since the index was built: run `tutor index`")
    index = Index(live, manifest, sections, chunks, vectors, tokens, heading_terms)
    if manifest.get("tokenizer") and manifest["tokenizer"] != index.analyzer.fingerprint:
        # its passages were split into terms by another tokenizer than the one that will split the questions
        raise IndexStale("the index was built with another version of tutor's term table: run `tutor index`")
    return index
