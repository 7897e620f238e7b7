"""Build and incrementally update the index: parse the notes, embed what changed, publish a new version.

An update reuses what the live version holds: the vectors of unchanged passages, the terms of unchanged texts, the
parsed files whose bytes are the same. A first build publishes partial versions on its way (first_run.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import faiss
import numpy as np
import orjson

from tutor.config import Settings
from tutor.index.calibrate import Calibration, calibrate
from tutor.index.disk import FORMAT, IndexError_, chunk_from_row, live_dir, lock, section_from_row
from tutor.index.draft import BuildReport, Draft
from tutor.index.embeddings import embedder_name, get_embeddings
from tutor.index.first_run import FirstBuild, Partial, PublishSchedule
from tutor.index.loaded import Index, corpus_state, load_index, rows_by_section
from tutor.notes.corpus import CHUNKING_VERSION, Document, load_corpus
from tutor.notes.files import ignored_files, source_name
from tutor.term_mining import mine_terms, user_terms
from tutor.terms import Analyzer, default_analyzer
from tutor.types import Chunk, Section

EMBED_BATCH = 16
RECALIBRATE_SHARE = 0.1  # an update that re-embeds more than this share of the passages fits the thresholds again


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
    with lock(settings.index_path):
        found = _previous(settings, name, files)
        previous, first_build, earlier_calibration = found.vectors, not found.complete, found.calibration
        draft = _draft(settings, name, files, found, warn_all, report)
        del found  # the earlier terms and parsed files are not needed past the draft
        todo = [i for i, k in enumerate(draft.keys) if k not in previous]
        fresh = _embed(draft, embedder, todo, previous, progress, first_build, partial, schedule)
        report.embedded, report.reused = len(todo), len(draft.chunks) - len(todo)
        dim, matrix = _matrix(draft.keys, fresh, previous, embedder)
        del previous, fresh
        calibration = earlier_calibration
        stale = calibration is None or not Calibration.current(calibration)
        if stale or report.embedded > RECALIBRATE_SHARE * len(draft.chunks):
            fitted = calibrate(embedder, matrix, draft.sections, draft.chunks, rows_by_section(draft.chunks))
            calibration = fitted.to_dict() if fitted else None
        draft.publish(dim, matrix, calibration)
    report.seconds = time.perf_counter() - started
    return report


def _draft(
    settings: Settings,
    name: str,
    files: dict[str, str],
    found: _Previous,
    warn: Callable[[str], None],
    report: BuildReport,
) -> Draft:
    """Parse the notes (reusing the unchanged files `found` holds), mine their terms and tokenize each chunk
    (reusing `found`'s terms when the analyzer is the same): everything a version is written from but vectors."""
    skipped: dict[str, tuple[str, str]] = {}

    def skip(source: str, reason: str, message: str) -> None:
        skipped[source] = (reason, message)

    docs = load_corpus(settings.corpus_path, warn=warn, parsed=found.docs, skipped=skip)
    sections = [s for d in docs for s in d.sections]
    notes = notes_terms(settings, sections, warn)
    analyzer = default_analyzer().with_terms(notes)
    terms = found.terms if found.tokenizer == analyzer.fingerprint else {}
    chunks = [c for d in docs for c in d.chunks]
    report.files, report.chunks = len(docs), len(chunks)
    keys = [vec_key(name, c) for c in chunks]
    return Draft(
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


def _embed(
    draft: Draft,
    embedder,
    todo: list[int],
    previous: dict[str, np.ndarray],
    progress: Callable[[int, int], None] | None,
    first_build: bool,
    partial: Callable[[Partial], None] | None,
    schedule: PublishSchedule | None,
) -> dict[str, np.ndarray]:
    """Vectors of the chunks `todo` by vec_key, in batches; a first build publishes partial versions between them."""
    fresh: dict[str, np.ndarray] = {}
    first = FirstBuild(draft, embedder, previous, fresh, partial, schedule) if first_build and todo else None
    if progress and todo:
        progress(0, len(todo))  # embedding starts now: the ETA is measured from here, not from parsing
    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start : start + EMBED_BATCH]
        vecs = embedder.embed_documents([draft.chunks[i].embed_text() for i in batch])
        fresh.update({draft.keys[i]: np.asarray(v, dtype=np.float32) for i, v in zip(batch, vecs, strict=True)})
        if first:
            first.embedded(start + len(batch) < len(todo))
        if progress:
            progress(min(start + EMBED_BATCH, len(todo)), len(todo))
    return fresh


def _matrix(
    keys: list[str], fresh: dict[str, np.ndarray], previous: dict[str, np.ndarray], embedder
) -> tuple[int, np.ndarray]:
    """The vector dimension and one row per chunk, fresh vectors first, else the reused ones."""
    dim = len(next(iter(fresh.values()))) if fresh else (len(next(iter(previous.values()))) if previous else 0)
    if not dim:
        dim = len(embedder.embed_query("dimension probe"))
    matrix = np.zeros((len(keys), dim), dtype=np.float32)
    for i, k in enumerate(keys):
        matrix[i] = fresh[k] if k in fresh else previous[k]
    return dim, matrix


def vec_key(embedder: str, chunk: Chunk) -> str:
    return hashlib.sha1(f"{embedder}\n{chunk.embed_text()}".encode("utf-8", "surrogatepass")).hexdigest()


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


def _chunk_tokens(chunks: list[Chunk], terms: dict[str, list[str]], analyzer: Analyzer) -> list[list[str]]:
    """BM25 terms per chunk: those the previous index stored for the same text, else tokenized now."""
    out = []
    for c in chunks:
        found = terms.get(c.text)
        out.append(chunk_terms(c, analyzer) if found is None else found)
    return out


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
        live = live_dir(settings.index_path)
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
            doc.sections.append(section_from_row(row))
    for row in chunk_rows:
        if row["source"] in same:
            doc = docs.setdefault(row["source"], Document(row["source"], [], []))
            doc.chunks.append(chunk_from_row(row))
    return {src: doc for src, doc in docs.items() if not any(s.url for s in doc.sections)}


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
