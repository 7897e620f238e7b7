"""What a build writes a version from (`Draft`) and what it tells its caller (`BuildReport`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from tutor.config import Settings
from tutor.index.disk import chunk_rows, publish_version
from tutor.notes.corpus import Document
from tutor.notes.file_states import REASONS, FileState, build_states
from tutor.types import Chunk, Section


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
class Draft:
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
        rows_out = chunk_rows(chunks, keys, tokens)
        publish_version(
            self.settings, self.name, dim, files, sections, rows_out, headings, matrix, self.report.warnings, extra
        )
