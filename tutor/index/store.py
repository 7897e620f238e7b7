"""The index as the other stages use it: load it, build it, or both (`ensure_index`).

The work is done in the modules named here: disk.py (the version folder: layout, atomic writes, errors),
loaded.py (`Index` in memory, `load_index`), build.py (`build_index`, incremental updates), draft.py (what a build
writes), first_run.py (partial versions of a first build).
"""

from __future__ import annotations

from tutor.index.build import EMBED_BATCH, build_index, ensure_index
from tutor.index.disk import IndexCorrupt, IndexError_, IndexMissing, IndexStale, IndexWriteError
from tutor.index.draft import BuildReport
from tutor.index.loaded import Index, corpus_state, load_index, search_vectors

__all__ = [
    "EMBED_BATCH",
    "BuildReport",
    "Index",
    "IndexCorrupt",
    "IndexError_",
    "IndexMissing",
    "IndexStale",
    "IndexWriteError",
    "build_index",
    "corpus_state",
    "ensure_index",
    "load_index",
    "search_vectors",
]
