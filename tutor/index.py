"""Build, load and incrementally update the FAISS index and its manifest.

Layout of the index folder (no pickle anywhere, so a folder someone hands you cannot run code):
    CURRENT              name of the live version folder; replaced atomically after a full write
    v-<id>/manifest.json embedder, chunking version, per-file content hashes, checksums of the files below
    v-<id>/chunks.json   sections and chunks (text, heading path, lines) in FAISS row order
    v-<id>/index.faiss   the vectors (inner product over L2-normalised embeddings)
A crash at any point leaves CURRENT pointing at the previous complete version.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .config import Settings
from .corpus import CHUNKING_VERSION, corpus_files, file_hash, load_corpus, source_name
from .embeddings import embedder_name, get_embeddings
from .text import tokenize
from .types import Chunk, Section

FORMAT = 1
ANN_THRESHOLD = 50_000  # above this many chunks, HNSW instead of exact search (see bench/growth.py)
EMBED_BATCH = 16


class IndexError_(Exception):
    """The index cannot be used as it is; the message says what to run."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexStale(IndexError_):
    pass


@dataclass
class BuildReport:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"indexed {self.files} files, {self.chunks} chunks: {self.embedded} embedded, {self.reused} reused"
            f" ({self.seconds:.1f} s)"
        )


@dataclass
class Index:
    path: Path
    manifest: dict
    sections: list[Section]
    chunks: list[Chunk]
    faiss_index: object
    tokens: list[list[str]]  # BM25 terms per chunk, computed at build time so start-up stays fast

    def __post_init__(self) -> None:
        self.section_by_id = {s.id: s for s in self.sections}
        self.chunks_by_section: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            self.chunks_by_section.setdefault(c.section_id, []).append(i)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        k = min(k, len(self.chunks))
        scores, ids = self.faiss_index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
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
    """source -> sha256 of every file the corpus holds now."""
    corpus = settings.corpus_path
    return {source_name(p, corpus): file_hash(p) for p in corpus_files(corpus)}


def _live_dir(index_dir: Path) -> Path:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexMissing(f"no index in {index_dir}: run `tutor index`")
    name = pointer.read_text(encoding="utf-8").strip()
    live = index_dir / name
    if not name.startswith("v-") or "/" in name or not live.is_dir():
        raise IndexCorrupt(f"index pointer {pointer} is damaged: run `tutor index` to rebuild")
    return live


def load_index(settings: Settings, check_stale: bool = True) -> Index:
    import faiss

    index_dir = settings.index_path
    live = _live_dir(index_dir)
    try:
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        for name, digest in manifest["checksums"].items():
            if _sha_file(live / name) != digest:
                raise IndexCorrupt(f"index file {live / name} was altered or truncated: run `tutor index` to rebuild")
        data = json.loads((live / "chunks.json").read_text(encoding="utf-8"))
        sections = [
            Section(**s | {"heading_path": tuple(s["heading_path"]), "links": tuple(s["links"])})
            for s in data["sections"]
        ]
        chunks = [_chunk_from_row(c) for c in data["chunks"]]
        tokens = [list(c["tokens"]) for c in data["chunks"]]
        vectors = faiss.read_index(str(live / "index.faiss"))
    except IndexCorrupt:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorrupt(f"index in {live} cannot be read ({exc}): run `tutor index` to rebuild") from exc
    if vectors.ntotal != len(chunks):
        raise IndexCorrupt(f"index in {live} has {vectors.ntotal} vectors for {len(chunks)} chunks: run `tutor index`")
    if manifest.get("format") != FORMAT or manifest.get("chunking_version") != CHUNKING_VERSION:
        raise IndexStale("the index was built by another version of tutor: run `tutor index`")
    if manifest.get("embedder") != embedder_name(settings.embeddings):
        raise IndexStale(
            f"the index was built with {manifest.get('embedder')!r}, not {settings.embeddings!r}: run `tutor index`"
        )
    if check_stale and manifest.get("files") != corpus_state(settings):
        raise IndexStale("the notes changed since the index was built: run `tutor index`")
    return Index(live, manifest, sections, chunks, vectors, tokens)


def _chunk_from_row(row: dict) -> Chunk:
    fields = {k: v for k, v in row.items() if k not in ("vec_key", "tokens")}
    return Chunk(**fields | {"heading_path": tuple(row["heading_path"])})


def chunk_terms(chunk: Chunk) -> list[str]:
    # headings are left out: siblings share them, so they would blur BM25 between a section's paragraphs
    return tokenize(chunk.text)


@contextmanager
def _lock(index_dir: Path):
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two builds at once would race on CURRENT
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _previous_vectors(settings: Settings, embedder: str) -> dict[str, np.ndarray]:
    """vec_key -> vector from the live index, whatever its state, so unchanged chunks are not re-embedded."""
    try:
        import faiss

        live = _live_dir(settings.index_path)
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("embedder") != embedder:
            return {}
        keys = [c["vec_key"] for c in json.loads((live / "chunks.json").read_text(encoding="utf-8"))["chunks"]]
        old = faiss.read_index(str(live / "index.faiss"))
        if old.ntotal != len(keys):
            return {}
        return dict(zip(keys, old.reconstruct_n(0, old.ntotal), strict=True))
    except (IndexError_, OSError, ValueError, KeyError, RuntimeError):
        return {}


def _faiss_index(vectors: np.ndarray, dim: int):
    import faiss

    if len(vectors) > ANN_THRESHOLD:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 96
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def build_index(
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> BuildReport:
    """Parse the corpus, embed what changed, and atomically publish a new index version."""
    import faiss

    started = time.perf_counter()
    report = BuildReport()

    def warn_all(message: str) -> None:
        report.warnings.append(message)
        if warn:
            warn(message)

    files = corpus_state(settings)  # taken before parsing: an edit during the build makes the result stale
    docs = load_corpus(settings.corpus_path, warn=warn_all)
    embedder = get_embeddings(settings.embeddings)
    name = embedder_name(settings.embeddings)
    sections = [s for d in docs for s in d.sections]
    chunks = [c for d in docs for c in d.chunks]
    report.files, report.chunks = len(docs), len(chunks)
    with _lock(settings.index_path):
        previous = _previous_vectors(settings, name)
        keys = [_vec_key(name, c) for c in chunks]
        todo = [i for i, k in enumerate(keys) if k not in previous]
        fresh: dict[str, np.ndarray] = {}
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            vecs = embedder.embed_documents([chunks[i].embed_text() for i in batch])
            fresh.update({keys[i]: np.asarray(v, dtype=np.float32) for i, v in zip(batch, vecs, strict=True)})
            if progress:
                progress(min(start + EMBED_BATCH, len(todo)), len(todo))
        report.embedded, report.reused = len(todo), len(chunks) - len(todo)
        dim = len(next(iter(fresh.values()))) if fresh else (len(next(iter(previous.values()))) if previous else 0)
        if not dim:
            dim = len(embedder.embed_query("dimension probe"))
        matrix = np.zeros((len(chunks), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            matrix[i] = fresh[k] if k in fresh else previous[k]
        _publish(settings, name, dim, files, sections, chunks, keys, matrix, report, faiss)
    report.seconds = time.perf_counter() - started
    return report


def _publish(settings, name, dim, files, sections, chunks, keys, matrix, report, faiss) -> None:
    index_dir = settings.index_path
    for stale in index_dir.glob("build-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a crash mid-build
    tmp = index_dir / f"build-{uuid.uuid4().hex[:12]}"
    tmp.mkdir(parents=True)
    chunk_rows = [
        asdict(c) | {"heading_path": list(c.heading_path), "vec_key": k, "tokens": chunk_terms(c)}
        for c, k in zip(chunks, keys, strict=True)
    ]
    section_rows = [asdict(s) | {"heading_path": list(s.heading_path), "links": list(s.links)} for s in sections]
    _write(
        tmp / "chunks.json", json.dumps({"sections": section_rows, "chunks": chunk_rows}, ensure_ascii=False).encode()
    )
    faiss.write_index(_faiss_index(matrix, dim), str(tmp / "index.faiss"))
    manifest = {
        "format": FORMAT,
        "embedder": name,
        "dim": dim,
        "chunking_version": CHUNKING_VERSION,
        "faiss": "hnsw" if len(chunks) > ANN_THRESHOLD else "flat",
        "files": files,  # as on disk, skipped (binary) files too, so staleness compares like with like
        "n_chunks": len(chunks),
        "warnings": report.warnings,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "checksums": {n: _sha_file(tmp / n) for n in ("chunks.json", "index.faiss")},
    }
    _write(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
    final = index_dir / f"v-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    os.replace(tmp, final)
    pointer_tmp = index_dir / "CURRENT.tmp"
    _write(pointer_tmp, final.name.encode())
    os.replace(pointer_tmp, index_dir / "CURRENT")
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    for old in index_dir.glob("v-*"):
        if old.name != final.name:
            shutil.rmtree(old, ignore_errors=True)


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
