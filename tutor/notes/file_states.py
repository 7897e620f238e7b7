"""What became of each file of the notes folder at the last build: indexed (passages, questions, gaps), empty,
skipped and why, or left out by `.tutorignore`.

Worked out by `build_index` and stored in the manifest (`file_states`), so the Notes tab shows it without
reading the folder again. An index written before they were stored gets them computed from its sections and
chunks; its skipped files are known only by name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace

from tutor.types import Chunk, Section, note_questions

# reason -> (English, Chinese) shown in the file list
REASONS = {
    "binary": ("binary file", "二进制文件"),
    "too_large": ("too large", "文件过大"),
    "undecodable": ("not UTF-8 text", "不是 UTF-8 文本"),
    "unextractable": ("no text could be extracted", "无法提取文字"),
    "unreadable": ("could not be read", "无法读取"),
    "ignored": ("named in .tutorignore", ".tutorignore 忽略"),
    "empty": ("no text", "没有内容"),
    "unknown": ("not indexed (rebuild to see why)", "未索引"),
}


@dataclass(frozen=True)
class FileState:
    source: str
    state: str  # "indexed" | "empty" | "skipped" | "ignored" | "pending" (a first build has not reached it all yet)
    passages: int = 0
    sections: int = 0
    questions: int = 0
    answered: int = 0
    question_only: int = 0
    link_only: int = 0
    reason: str = ""  # a key of REASONS, for every state but "indexed"
    message: str = ""  # the warning the build gave, when it gave one
    reference: bool = False  # a fetched article the notes link to, not a note

    @property
    def unanswered(self) -> int:
        """The questions the file asks without an answer in it: the gap map's count."""
        return self.question_only + self.link_only

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v or k in ("source", "state")}

    @classmethod
    def from_dict(cls, row: Mapping) -> FileState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in known})


def _indexed(source: str, sections: list[Section], chunks: list[Chunk]) -> FileState:
    kinds = Counter(q.kind for q in note_questions(sections))
    return FileState(
        source,
        "indexed" if chunks else "empty",
        passages=len(chunks),
        sections=len(sections),
        questions=sum(kinds.values()),
        answered=kinds["answered"],
        question_only=kinds["question_only"],
        link_only=kinds["link_only"],
        reason="" if chunks else "empty",
        reference=any(s.url for s in sections),
    )


def _by_source(sections: Iterable[Section], chunks: Iterable[Chunk]) -> dict[str, tuple[list, list]]:
    out: dict[str, tuple[list, list]] = {}
    for s in sections:
        out.setdefault(s.source, ([], []))[0].append(s)
    for c in chunks:
        out.setdefault(c.source, ([], []))[1].append(c)
    return out


def build_states(
    files: Iterable[str],
    sections: Iterable[Section],
    chunks: Iterable[Chunk],
    skipped: Mapping[str, tuple[str, str]],
    ignored: Iterable[str] = (),
    pending: Iterable[str] = (),
) -> list[FileState]:
    """One state per file, sorted by source. `files`: every source the build read or tried; `skipped`:
    source -> (reason, warning); `ignored`: sources that `.tutorignore` names; `pending`: sources a partial
    index holds only part of (their passages so far) or none of."""
    parsed = _by_source(sections, chunks)
    pending = set(pending)
    states = []
    for source in sorted(set(files) | set(parsed)):
        if source in pending:
            states.append(replace(_indexed(source, *parsed.get(source, ([], []))), state="pending", reason=""))
        elif source in skipped:
            reason, message = skipped[source]
            states.append(
                FileState(source, "skipped", reason=reason if reason in REASONS else "unreadable", message=message)
            )
        else:
            states.append(_indexed(source, *parsed.get(source, ([], []))))
    states += [FileState(source, "ignored", reason="ignored") for source in sorted(set(ignored) - set(files))]
    return sorted(states, key=lambda s: s.source)


def index_file_states(manifest: Mapping, sections: Iterable[Section], chunks: Iterable[Chunk]) -> list[FileState]:
    """The states stored with an index, or, for an index built before they were, computed from its passages:
    files it holds no passage of are shown as not indexed, reason unknown."""
    stored = manifest.get("file_states")
    if isinstance(stored, list):
        try:
            return [FileState.from_dict(row) for row in stored]
        except (TypeError, AttributeError):
            pass  # damaged by hand: compute them as for an old index
    parsed = _by_source(sections, chunks)
    unknown = {source: ("unknown", "") for source in manifest.get("files") or {} if source not in parsed}
    return build_states(parsed.keys() | unknown.keys(), sections, chunks, unknown)
