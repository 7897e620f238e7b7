"""Build, load and incrementally update the FAISS index and its manifest.

Layout of the index folder (no pickle anywhere, so a folder someone hands you cannot run code):
    CURRENT              name of the live version folder; replaced atomically after a full write
    v-<id>/manifest.json embedder, chunking version, per-file content hashes, checksums of the files below
    v-<id>/chunks.json   sections and chunks (text, heading path, lines, BM25 terms) in FAISS row order, and the
                         terms of every heading path and title, so loading tokenizes nothing
    v-<id>/index.faiss   the vectors (inner product over L2-normalised embeddings)
A crash at any point leaves CURRENT pointing at the previous complete version. A first build (no usable index yet)
also publishes partial versions as it goes (tutor/index/first_run.py): their manifest says `partial`, and the next build
continues from what they hold.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson  # chunks.json is ~100 MB at 100k chunks: 5-10x faster than json both ways

from tutor.index.calibrate import Calibration, calibrate
from tutor.config import Settings
from tutor.notes.corpus import CHUNKING_VERSION, Document, corpus_files, file_hash, ignored_files, load_corpus, source_name
from tutor.index.embeddings import embedder_name, get_embeddings
from tutor.notes.file_states import REASONS, FileState, build_states, index_file_states
from tutor.text import Analyzer, default_analyzer, mine_terms, user_terms
from tutor.types import Chunk, Section, note_questions

if TYPE_CHECKING:
    from .first_run import Partial, PublishSchedule

FORMAT = 1
ANN_THRESHOLD = 200_000  # above this many chunks, HNSW instead of exact search (see bench/growth.py)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256  # recall@10 0.97-0.99 at 100k for under 1 ms more (bench/growth.py)
EMBED_BATCH = 16
RECALIBRATE_SHARE = 0.1  # an update that re-embeds more than this share of the passages fits the thresholds again


class IndexError_(Exception):
    """The index cannot be used as it is; the message says what to run."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexStale(IndexError_):
    pass


class IndexWriteError(IndexError_, OSError):
    """The index folder cannot be written (disk full, read-only); the previous index is left as it was."""


@dataclass
class BuildReport:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    file_states: list[FileState] = field(default_factory=list)
    partial_versions: int = 0  # published by a first build on its way (tutor/index/first_run.py)
    partial_seconds: float = 0.0  # spent publishing them, and on the caller taking each in

    def summary(self) -> str:
        line = (
            f"indexed {self.files} files, {self.chunks} chunks: {self.embedded} embedded, {self.reused} reused"
            f" ({self.seconds:.1f} s)"
        )
        if self.partial_versions:
            plural = "s" if self.partial_versions != 1 else ""
            line += f"; {self.partial_versions} partial version{plural} on the way ({self.partial_seconds:.1f} s)"
        skipped = Counter(s.reason for s in self.file_states if s.state == "skipped")
        if skipped:
            n = sum(skipped.values())
            reasons = ", ".join(f"{count} {REASONS[reason][0]}" for reason, count in sorted(skipped.items()))
            line += f"; {n} file{'s' if n != 1 else ''} skipped ({reasons})"
        return line


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
        self.chunks_by_section = _rows_by_section(self.chunks)

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
        import faiss

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
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, ids = faiss_index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
    finally:
        faiss.omp_set_num_threads(threads)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _vec_key(embedder: str, chunk: Chunk) -> str:
    return hashlib.sha1(f"{embedder}\n{chunk.embed_text()}".encode("utf-8", "surrogatepass")).hexdigest()


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


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


def _live_dir(index_dir: Path) -> Path:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexMissing(f"no index in {index_dir}: run `tutor index`")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
        live = index_dir / name
        usable = name.startswith("v-") and "/" not in name and live.is_dir()
    except (OSError, ValueError):  # unreadable, not UTF-8, a NUL byte in the name
        usable = False
    if not usable:
        raise IndexCorrupt(f"index pointer {pointer} is damaged: run `tutor index` to rebuild")
    return live


def load_index(settings: Settings, check_stale: bool = True) -> Index:
    """The live index; raises an `IndexError_` that says what to run when it is missing, damaged or stale."""
    for _ in range(3):
        live = _live_dir(settings.index_path)
        try:
            return _load_version(settings, live, check_stale)
        except IndexCorrupt:
            # a build that published meanwhile may have removed the version we were reading: read the new one
            if _live_dir(settings.index_path) == live:
                raise
    return _load_version(settings, _live_dir(settings.index_path), check_stale)


def _load_version(settings: Settings, live: Path, check_stale: bool) -> Index:
    import faiss

    try:
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        raw = (live / "chunks.json").read_bytes()  # read once: checked, then parsed
        digests = {"chunks.json": hashlib.sha256(raw).hexdigest(), "index.faiss": _sha_file(live / "index.faiss")}
        for name, digest in digests.items():  # both, even if the manifest forgot one
            if digest != manifest["checksums"][name]:
                raise IndexCorrupt(f"index file {live / name} was altered or truncated: run `tutor index` to rebuild")
        data = orjson.loads(raw)
        del raw
        sections = [_section_from_row(s) for s in data["sections"]]
        chunks = [_chunk_from_row(c) for c in data["chunks"]]
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


def _section_from_row(row: dict) -> Section:
    return Section(**row | {"heading_path": tuple(row["heading_path"]), "links": tuple(row["links"])})


def _chunk_from_row(row: dict) -> Chunk:
    fields = {k: v for k, v in row.items() if k not in ("vec_key", "tokens")}
    return Chunk(**fields | {"heading_path": tuple(row["heading_path"])})


def heading_terms(sections: list[Section], chunks: list[Chunk], analyzer: Analyzer) -> dict[str, list[str]]:
    """Terms of every heading path (joined by spaces, as the retriever pools them) and every section title."""
    texts = {" ".join(c.heading_path) for c in chunks} | {" ".join(s.heading_path) for s in sections}
    texts |= {s.title for s in sections}
    return {text: analyzer.tokenize(text) for text in sorted(texts)}


def chunk_terms(chunk: Chunk, analyzer: Analyzer) -> list[str]:
    # headings are left out: siblings share them, so they would blur BM25 between a section's paragraphs
    return analyzer.tokenize(chunk.text)


def notes_terms(settings: Settings, sections: list[Section], warn: Callable[[str], None]) -> dict:
    """The term pairs these notes define (`批归一化（BN）`), plus the user's `.tutor/aliases.yaml`."""
    texts = (f"{s.title}\n{s.body}" for s in sections if s.url is None)
    terms = {k: list(v) for k, v in mine_terms(texts).items()}
    try:
        for k, v in user_terms(settings.corpus_path).items():
            terms[k] = [*terms.get(k, []), *v]
    except Exception as exc:  # unreadable or not YAML: the user's own list must not stop indexing
        warn(f"your term list .tutor/aliases.yaml could not be read ({exc}); indexing without it")
    return terms


def _cannot_write(index_dir: Path, exc: Exception) -> IndexWriteError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return IndexWriteError(
        f"cannot write the index in {index_dir} ({reason}): free disk space or make the folder writable, "
        "then run `tutor index` again; the previous index is unchanged"
    )


@contextmanager
def _lock(index_dir: Path):
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = (index_dir / ".lock").open("w")
    except OSError as exc:
        raise _cannot_write(index_dir, exc) from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two builds at once would race on CURRENT
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class _Previous:
    """What the live index already holds, to reuse: vec_key -> vector (unchanged chunks are not re-embedded),
    chunk text -> BM25 terms (not re-tokenized), and source -> parsed Document for files whose bytes have not
    changed (not re-parsed: at 100k chunks parsing is most of a one-paragraph update)."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    terms: dict[str, list[str]] = field(default_factory=dict)
    docs: dict[str, Document] = field(default_factory=dict)
    tokenizer: str | None = None  # the analyzer fingerprint the terms were made with
    calibration: dict | None = None  # the relevance calibration, for the same embedder
    complete: bool = False  # a finished index of this embedder and version: the app can answer from it meanwhile


def _previous(settings: Settings, embedder: str, files: dict[str, str]) -> _Previous:
    try:
        import faiss

        live = _live_dir(settings.index_path)
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        data = orjson.loads((live / "chunks.json").read_bytes())
        rows = data["chunks"]
        found = _Previous()
        same_version = manifest.get("format") == FORMAT and manifest.get("chunking_version") == CHUNKING_VERSION
        if same_version:
            found.docs = _unchanged_docs(manifest.get("files") or {}, files, data["sections"], rows)
        found.terms = {row["text"]: row["tokens"] for row in rows}
        found.tokenizer = manifest.get("tokenizer")
        if manifest.get("embedder") != embedder:
            return found
        partial = bool(manifest.get("partial"))
        found.calibration = None if partial else manifest.get("calibration")  # fitted on a part: fit it again
        keys = [row["vec_key"] for row in rows]
        old = faiss.read_index(str(live / "index.faiss"))
        if old.ntotal == len(keys):
            found.vectors = dict(zip(keys, old.reconstruct_n(0, old.ntotal), strict=True))
            found.complete = same_version and not partial
        return found
    except (IndexError_, OSError, ValueError, KeyError, TypeError, RuntimeError):
        return _Previous()


def _unchanged_docs(before: dict, now: dict[str, str], section_rows: list[dict], chunk_rows: list[dict]):
    """Documents rebuilt from the index rows of files whose hash is the same as when it was built. Fetched
    articles are left out (which section owns them depends on the other files), and so are files that gave
    nothing (a skipped binary file must be parsed again to warn again)."""
    same = {src for src, digest in now.items() if digest != "unreadable" and before.get(src) == digest}
    docs: dict[str, Document] = {}
    for row in section_rows:
        if row["source"] in same:
            doc = docs.setdefault(row["source"], Document(row["source"], [], []))
            doc.sections.append(_section_from_row(row))
    for row in chunk_rows:
        if row["source"] in same:
            doc = docs.setdefault(row["source"], Document(row["source"], [], []))
            doc.chunks.append(_chunk_from_row(row))
    return {src: doc for src, doc in docs.items() if not any(s.url for s in doc.sections)}


def _hnsw_index(vectors: np.ndarray, dim: int):
    import faiss

    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(vectors)
    return index


def _faiss_index(vectors: np.ndarray, dim: int):
    import faiss

    if len(vectors) > ANN_THRESHOLD:
        return _hnsw_index(vectors, dim)
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def build_index(
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    files: dict[str, str] | None = None,
    partial: Callable[[Partial], None] | None = None,
    schedule: PublishSchedule | None = None,
) -> BuildReport:
    """Parse the corpus, embed what changed, and atomically publish a new index version. `files` is the
    `corpus_state` the caller has just taken, if it has one.

    A first build (no finished index of this embedder and version to answer from meanwhile) also publishes
    partial versions as it goes, on `schedule`, and hands each to `partial` (tutor/index/first_run.py)."""

    started = time.perf_counter()
    report = BuildReport()

    def warn_all(message: str) -> None:
        report.warnings.append(message)
        if warn:
            warn(message)

    # taken before parsing: an edit during the build makes the result stale
    files = corpus_state(settings) if files is None else files
    embedder = get_embeddings(settings.embeddings)
    name = embedder_name(settings.embeddings)
    with _lock(settings.index_path):
        found = _previous(settings, name, files)
        previous = found.vectors
        first_build = not found.complete
        skipped: dict[str, tuple[str, str]] = {}

        def skip(source: str, reason: str, message: str) -> None:
            skipped[source] = (reason, message)

        docs = load_corpus(settings.corpus_path, warn=warn_all, parsed=found.docs, skipped=skip)
        sections = [s for d in docs for s in d.sections]
        notes = notes_terms(settings, sections, warn_all)
        analyzer = default_analyzer().with_terms(notes)
        terms = found.terms if found.tokenizer == analyzer.fingerprint else {}
        earlier_calibration = found.calibration
        del found
        chunks = [c for d in docs for c in d.chunks]
        report.files, report.chunks = len(docs), len(chunks)
        keys = [_vec_key(name, c) for c in chunks]
        draft = _Draft(
            settings,
            name,
            files,
            docs,
            sections,
            chunks,
            keys,
            tokens=_chunk_tokens(chunks, terms, analyzer),
            headings=heading_terms(sections, chunks, analyzer),
            notes=notes,
            tokenizer=analyzer.fingerprint,
            skipped=skipped,
            ignored=[source_name(p, settings.corpus_path) for p in ignored_files(settings.corpus_path)],
            report=report,
        )
        del terms
        todo = [i for i, k in enumerate(keys) if k not in previous]
        fresh: dict[str, np.ndarray] = {}
        first = None
        if first_build and todo:
            from .first_run import FirstBuild

            first = FirstBuild(draft, embedder, previous, fresh, partial, schedule)
        if progress and todo:
            progress(0, len(todo))  # embedding starts now: the ETA is measured from here, not from parsing
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            vecs = embedder.embed_documents([chunks[i].embed_text() for i in batch])
            fresh.update({keys[i]: np.asarray(v, dtype=np.float32) for i, v in zip(batch, vecs, strict=True)})
            if first:
                first.embedded(start + len(batch) < len(todo))
            if progress:
                progress(min(start + EMBED_BATCH, len(todo)), len(todo))
        del first
        report.embedded, report.reused = len(todo), len(chunks) - len(todo)
        dim = len(next(iter(fresh.values()))) if fresh else (len(next(iter(previous.values()))) if previous else 0)
        if not dim:
            dim = len(embedder.embed_query("dimension probe"))
        matrix = np.zeros((len(chunks), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            matrix[i] = fresh[k] if k in fresh else previous[k]
        del previous, fresh
        calibration = earlier_calibration
        stale = calibration is None or not Calibration.current(calibration)
        if stale or report.embedded > RECALIBRATE_SHARE * len(chunks):
            fitted = calibrate(embedder, matrix, sections, chunks, _rows_by_section(chunks))
            calibration = fitted.to_dict() if fitted else None
        draft.publish(dim, matrix, calibration)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Draft:
    """Everything a build writes a version from. The final version holds all of it; a partial one (a first build
    on its way) the rows, sections and files done so far, marked `partial` in its manifest."""

    settings: Settings
    name: str  # the embedder's
    files: dict[str, str]  # the corpus state the build started from
    docs: list[Document]
    sections: list[Section]
    chunks: list[Chunk]
    keys: list[str]  # vec_key per chunk
    tokens: list[list[str]]  # BM25 terms per chunk
    headings: dict[str, list[str]]
    notes: dict  # the notes' terms
    tokenizer: str
    skipped: dict[str, tuple[str, str]]
    ignored: list[str]
    report: BuildReport

    def publish(
        self,
        dim: int,
        matrix: np.ndarray,
        calibration: dict | None,
        rows: list[int] | None = None,
        sections: list[Section] | None = None,
        partial: dict | None = None,
        unfinished: frozenset[str] = frozenset(),
    ) -> None:
        """Write and switch to a version of `rows` (all chunks when None) and `sections`, `matrix` holding their
        vectors in order. A partial version leaves the `unfinished` files out of `files` (so that a reader who
        checks finds it stale) and lists them as being indexed."""
        import faiss

        chunks = self.chunks if rows is None else [self.chunks[i] for i in rows]
        sections = self.sections if sections is None else sections
        keys = self.keys if rows is None else [self.keys[i] for i in rows]
        tokens = self.tokens if rows is None else [self.tokens[i] for i in rows]
        files = {source: digest for source, digest in self.files.items() if source not in unfinished}
        states = build_states(self.files, sections, chunks, self.skipped, self.ignored, unfinished)
        if rows is None:
            self.report.file_states = states
        extra = {
            "terms": self.notes,
            "tokenizer": self.tokenizer,
            "calibration": calibration,
            "file_states": [s.to_dict() for s in states],
        }
        if partial is not None:
            extra["partial"] = partial
        headings = self.headings
        if rows is not None:  # the terms of this part's headings only
            used = {" ".join(c.heading_path) for c in chunks} | {" ".join(s.heading_path) for s in sections}
            used |= {s.title for s in sections}
            headings = {t: v for t, v in headings.items() if t in used}
        chunk_rows = _chunk_rows(chunks, keys, tokens)
        _publish(
            self.settings, self.name, dim, files, sections, chunk_rows, headings, matrix, self.report, faiss, extra
        )


def _rows_by_section(chunks: list[Chunk]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        out.setdefault(c.section_id, []).append(i)
    return out


def _fields(obj) -> dict:
    """The dataclass's fields, shallow (asdict() deep-copies, and fields() is slow: both show at 100k chunks)."""
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in fields(obj))
    own = vars(obj)
    if len(own) == len(names):  # nothing but the fields (no cached property set): copy at C speed
        return dict(own)
    return {name: own[name] for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _chunk_tokens(chunks: list[Chunk], terms: dict[str, list[str]], analyzer: Analyzer) -> list[list[str]]:
    """BM25 terms per chunk: those the previous index stored for the same text, else tokenized now."""
    out = []
    for c in chunks:
        found = terms.get(c.text)
        out.append(chunk_terms(c, analyzer) if found is None else found)
    return out


def _chunk_rows(chunks: list[Chunk], keys: list[str], tokens: list[list[str]]) -> list[dict]:
    return [
        _fields(c) | {"heading_path": list(c.heading_path), "vec_key": k, "tokens": t}
        for c, k, t in zip(chunks, keys, tokens, strict=True)
    ]


def _publish(settings, name, dim, files, sections, chunk_rows, headings, matrix, report, faiss, extra: dict) -> None:
    """Write a new version folder, then switch CURRENT to it; on any write error the live index is untouched."""
    index_dir = settings.index_path
    for stale in index_dir.glob("build-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a crash mid-build
    tmp = index_dir / f"build-{uuid.uuid4().hex[:12]}"
    final = index_dir / f"v-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    pointer_tmp = index_dir / "CURRENT.tmp"
    try:
        tmp.mkdir(parents=True)
        _write_version(tmp, name, dim, files, sections, chunk_rows, headings, matrix, report, faiss, extra)
        os.replace(tmp, final)
        _write(pointer_tmp, final.name.encode())
        os.replace(pointer_tmp, index_dir / "CURRENT")
    except (OSError, RuntimeError) as exc:  # faiss reports a failed write as RuntimeError
        for leftover in (tmp, final):
            shutil.rmtree(leftover, ignore_errors=True)
        with suppress(OSError):
            pointer_tmp.unlink(missing_ok=True)
        raise _cannot_write(index_dir, exc) from exc
    try:
        dir_fd = os.open(index_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # the new version is live; only its durability across a power cut is weaker
    for old in index_dir.glob("v-*"):
        if old.name != final.name:
            shutil.rmtree(old, ignore_errors=True)


def _write_version(
    folder: Path, name, dim, files, sections, chunk_rows, headings, matrix, report, faiss, extra: dict
) -> None:
    section_rows = [_fields(s) | {"heading_path": list(s.heading_path), "links": list(s.links)} for s in sections]
    rows = orjson.dumps({"sections": section_rows, "chunks": chunk_rows, "headings": headings})
    _write(folder / "chunks.json", rows)
    faiss.write_index(_faiss_index(matrix, dim), str(folder / "index.faiss"))
    manifest = {
        "format": FORMAT,
        "embedder": name,
        "dim": dim,
        "chunking_version": CHUNKING_VERSION,
        "faiss": "hnsw" if len(chunk_rows) > ANN_THRESHOLD else "flat",
        "files": files,  # as on disk, skipped (binary) files too, so staleness compares like with like
        "n_chunks": len(chunk_rows),
        "warnings": report.warnings,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,  # tokenizer fingerprint, the notes' terms, the relevance calibration, the file states
        "checksums": {
            "chunks.json": hashlib.sha256(rows).hexdigest(),
            "index.faiss": _sha_file(folder / "index.faiss"),
        },
    }
    _write(folder / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())


def ensure_index(settings: Settings, say: Callable[[str], None] | None = None, **build_kw) -> Index:
    """The live index, rebuilt first (with a message) when it is missing, stale, mismatched or damaged."""
    try:
        return load_index(settings)
    except IndexError_ as exc:
        if say:
            say(f"{exc.args[0].split(': run')[0]}; building the index now...")
        report = build_index(settings, **build_kw)
        if say:
            say(report.summary())
        return load_index(settings, check_stale=False)
