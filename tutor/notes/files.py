"""The files of a notes folder: which ones the index reads (suffixes, hidden parts, `.tutorignore`), reading them as
text, their names and hashes, and writing a file of the folder whole or not at all."""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path, PurePath

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
DOC_SUFFIXES = TEXT_SUFFIXES | {".html", ".htm", ".pdf"}
MAX_FILE_BYTES = 20_000_000


class CorpusError(Exception):
    """A corpus problem the user can fix; the message says how. `reason` names it for the Notes tab's file list:
    too_large, undecodable, binary, unextractable."""

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


def read_text_file(path: Path) -> str:
    """UTF-8 text of a notes file; raises CorpusError for binary or non-UTF-8 content."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise CorpusError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB, skipped", "too_large")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark is text, not binary
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: not valid UTF-16 text (byte {exc.start}), skipped", "undecodable") from exc
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{path}: looks binary, skipped", "binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (byte {exc.start}), skipped; save it as UTF-8", "undecodable"
        ) from exc


IGNORE_FILE = ".tutorignore"


def ignore_rules(corpus_dir: Path):
    """The notes folder's `.tutorignore` (gitignore syntax) as a matcher of relative paths, or None."""
    path = corpus_dir / IGNORE_FILE
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec  # only for folders that have the file

    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The notes files under the folder, subfolders included. Hidden files and folders (an Obsidian vault's
    `.obsidian/`, `.git/`, the tutor's own `.tutor/`), attachments and what `.tutorignore` names are left out."""
    return [p for p, ignored in _note_files(corpus_dir) if not ignored]


def ignored_files(corpus_dir: Path) -> list[Path]:
    """The notes files that `.tutorignore` leaves out (hidden files and attachments are not listed)."""
    return [p for p, ignored in _note_files(corpus_dir) if ignored]


def _note_files(corpus_dir: Path) -> list[tuple[Path, bool]]:
    """(path, named by .tutorignore) for every notes file that is not hidden, sorted."""
    if not corpus_dir.is_dir():
        return []
    ignore = ignore_rules(corpus_dir)
    files = []
    for p in corpus_dir.rglob("*"):
        rel = p.relative_to(corpus_dir)
        if is_note_path(rel) and p.is_file():
            files.append((p, ignore is not None and ignore.match_file(rel.as_posix())))
    return sorted(files)


def is_note_path(rel: PurePath, ignore=None) -> bool:
    """True for a path relative to the notes folder that the index reads (the file need not exist: the watcher
    judges deleted files too): a notes suffix, no hidden part, not named by `.tutorignore` (`ignore_rules`)."""
    if rel.suffix.lower() not in DOC_SUFFIXES:
        return False
    if any(part.startswith(".") for part in rel.parts):
        return False  # relative parts only: a notes folder may itself live under a hidden folder
    return ignore is None or not ignore.match_file(rel.as_posix())


def source_name(path: Path, corpus_dir: Path) -> str:
    """The path relative to the repository root: the corpus folder's parent."""
    return path.resolve().relative_to(corpus_dir.resolve().parent).as_posix()


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file of the corpus whole or not at all: a hidden temporary file (the indexer skips dot files),
    fsynced, then renamed over the old one."""
    write_bytes_atomic(path, text.encode("utf-8"))


@lru_cache(maxsize=1)
def user_file_mode() -> int:
    """The mode of a file the user creates (0o666 less the umask), not mkstemp's owner-only 0o600. Read once: the
    umask can only be read by setting it, which must not race with other threads' files."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes_atomic(path: Path, data: bytes, replace: bool = True) -> None:
    """`write_text_atomic` for bytes; with `replace=False` an existing file is never replaced (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), user_file_mode())  # a note saved by the tutor is like one the user saved
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name was taken meanwhile, where a rename would overwrite
            os.unlink(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
