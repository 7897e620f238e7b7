"""The index folder on disk: versions written atomically, read back, and what goes wrong with them.

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
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import fields
from pathlib import Path

import faiss
import numpy as np
import orjson  # chunks.json is ~100 MB at 100k chunks: 5-10x faster than json both ways

from tutor.config import Settings
from tutor.notes.corpus import CHUNKING_VERSION
from tutor.types import Chunk, Section

FORMAT = 1
ANN_THRESHOLD = 200_000  # above this many chunks, HNSW instead of exact search (see bench/growth.py)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256  # recall@10 0.97-0.99 at 100k for under 1 ms more (bench/growth.py)


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


def sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def live_dir(index_dir: Path) -> Path:
    """The live version folder CURRENT names; IndexMissing or IndexCorrupt, saying what to run, if there is none."""
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


def section_from_row(row: dict) -> Section:
    return Section(**row | {"heading_path": tuple(row["heading_path"]), "links": tuple(row["links"])})


def chunk_from_row(row: dict) -> Chunk:
    values = {k: v for k, v in row.items() if k not in ("vec_key", "tokens")}
    return Chunk(**values | {"heading_path": tuple(row["heading_path"])})


def _cannot_write(index_dir: Path, exc: Exception) -> IndexWriteError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return IndexWriteError(
        f"cannot write the index in {index_dir} ({reason}): free disk space or make the folder writable, "
        "then run `tutor index` again; the previous index is unchanged"
    )


@contextmanager
def lock(index_dir: Path):
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


def hnsw_index(vectors: np.ndarray, dim: int):
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(vectors)
    return index


def _faiss_index(vectors: np.ndarray, dim: int):
    if len(vectors) > ANN_THRESHOLD:
        return hnsw_index(vectors, dim)
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


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


def chunk_rows(chunks: list[Chunk], keys: list[str], tokens: list[list[str]]) -> list[dict]:
    return [
        _fields(c) | {"heading_path": list(c.heading_path), "vec_key": k, "tokens": t}
        for c, k, t in zip(chunks, keys, tokens, strict=True)
    ]


def publish_version(
    settings: Settings, name, dim, files, sections, chunk_rows, headings, matrix, warnings: list[str], extra: dict
) -> None:
    """Write a new version folder, then switch CURRENT to it; on any write error the live index is untouched."""
    index_dir = settings.index_path
    for stale in index_dir.glob("build-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a crash mid-build
    tmp = index_dir / f"build-{uuid.uuid4().hex[:12]}"
    final = index_dir / f"v-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    pointer_tmp = index_dir / "CURRENT.tmp"
    try:
        tmp.mkdir(parents=True)
        _write_version(tmp, name, dim, files, sections, chunk_rows, headings, matrix, warnings, extra)
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
    folder: Path, name, dim, files, sections, chunk_rows, headings, matrix, warnings: list[str], extra: dict
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
        "warnings": warnings,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,  # tokenizer fingerprint, the notes' terms, the relevance calibration, the file states
        "checksums": {
            "chunks.json": hashlib.sha256(rows).hexdigest(),
            "index.faiss": sha_file(folder / "index.faiss"),
        },
    }
    _write(folder / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
