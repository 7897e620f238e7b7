"""Notes added from the browser: checked, then written into `<notes folder>/uploads/` without replacing anything.

A name from the browser is untrusted: only its last path part is kept, and a name that tries `..`, is hidden or
holds control characters is refused. Text files must be UTF-8 (or UTF-16 with its byte-order mark; stored as
UTF-8), as the indexer reads them; a PDF or an HTML page must give some text. A name already taken gets
`name (2).md`, and the message says so; the same bytes under the same name are left as they are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from tutor.notes.articles import extract_html_file, extract_pdf_file
from tutor.notes.files import (
    DOC_SUFFIXES,
    MAX_FILE_BYTES,
    TEXT_SUFFIXES,
    CorpusError,
    ignore_rules,
    is_note_path,
    read_text_file,
    write_bytes_atomic,
)

UPLOAD_DIR = "uploads"
SUFFIXES = tuple(sorted(DOC_SUFFIXES))  # what the indexer reads
MAX_BYTES = MAX_FILE_BYTES  # 20 MB: what the indexer reads at most
MAX_NAME_BYTES = 200
MAX_COPIES = 1000
KINDS = ".md, .txt, .pdf or .html"


class Refused(ValueError):
    """A file that cannot be added; the message says why, for the person who dropped it."""


@dataclass
class UploadResult:
    saved: list[tuple[str, Path]] = field(default_factory=list)  # (name given, where it was written)
    messages: list[str] = field(default_factory=list)  # one per file, in the order given
    refused: int = 0


def safe_name(name: str) -> str:
    """The file name to write for a name from the browser; raises `Refused`."""
    name = unicodedata.normalize("NFC", str(name or ""))
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise Refused("its name holds control characters; rename it and add it again")
    parts = [p for p in re.split(r"[/\\]", name) if p]
    if ".." in parts:
        raise Refused("its name points outside the notes folder (..)")
    base = parts[-1].strip() if parts else ""
    if not base or base.startswith("."):
        raise Refused("a hidden or empty file name is not added (the indexer skips hidden files)")
    if Path(base).suffix.lower() not in SUFFIXES:
        raise Refused(f"only {KINDS} files can be added")
    if len(base.encode("utf-8")) > MAX_NAME_BYTES:
        raise Refused(f"its name is longer than {MAX_NAME_BYTES} bytes; shorten it")
    return base


def checked_bytes(path: Path, suffix: str) -> bytes:
    """The bytes to store for an uploaded file, after checking it can be indexed; raises `Refused`."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise Refused(f"it is {size / 1e6:.1f} MB; the limit is {MAX_BYTES // 1_000_000} MB per file")
    if size == 0:
        raise Refused("it is empty")
    if suffix in TEXT_SUFFIXES:
        try:
            text = read_text_file(path)
        except CorpusError as exc:  # its message names the file first, as the indexer's warnings do
            raise Refused(str(exc).removeprefix(f"{path}: ").removesuffix(", skipped")) from exc
        if not text.strip():
            raise Refused("it holds no text")
        return text.encode("utf-8")  # UTF-16 or a byte-order mark become plain UTF-8, as the index reads it
    data = path.read_bytes()
    if suffix == ".pdf" and not data.startswith(b"%PDF-"):
        raise Refused("it is not a PDF file")
    if suffix != ".pdf" and b"\x00" in data[:8192]:
        raise Refused("it looks binary, not an HTML page")
    if not _extracted_text(path, suffix).strip():
        raise Refused("no text could be read from it" + (" (a scanned PDF has none)" if suffix == ".pdf" else ""))
    return data


def _extracted_text(path: Path, suffix: str) -> str:
    try:
        return extract_pdf_file(path) if suffix == ".pdf" else extract_html_file(path)[1]
    except Exception as exc:  # a broken file is refused, not a crash of the page
        kind = "a PDF" if suffix == ".pdf" else "an HTML page"
        raise Refused(f"it could not be read as {kind} ({type(exc).__name__})") from exc


def _write_new(folder: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """(where, whether anything was written): `name`, else `name (2)`, `name (3)`… whichever is free."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, MAX_COPIES + 1):
        target = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            if target.read_bytes() == data:
                return target, False  # the same file again: nothing to add
            continue
        except FileNotFoundError:
            pass
        except OSError:
            continue  # a folder, or unreadable: not ours to touch
        try:
            write_bytes_atomic(target, data, replace=False)
            return target, True
        except FileExistsError:
            continue  # taken between the look and the write
    raise Refused(f"{MAX_COPIES} files named like it exist already")


def save_uploads(files: list[tuple[str, Path]], corpus_dir: Path) -> UploadResult:
    """Write each (name from the browser, uploaded temporary file) into the notes' uploads folder."""
    result = UploadResult()
    folder = corpus_dir / UPLOAD_DIR
    root = corpus_dir.parent
    for given, path in files:
        shown = str(given or "?")[:MAX_NAME_BYTES]
        if not corpus_dir.is_dir():  # never make a new notes folder holding only the uploads
            result.refused += 1
            result.messages.append(f"✕ {shown}: not added, the notes folder {corpus_dir} is missing")
            continue
        try:
            name = safe_name(given)
            data = checked_bytes(Path(path), Path(name).suffix.lower())
            target, written = _write_new(folder, name, data)
        except Refused as exc:
            result.refused += 1
            result.messages.append(f"✕ {shown}: not added, {exc}")
            continue
        except OSError as exc:
            result.refused += 1
            result.messages.append(f"✕ {shown}: could not be saved ({exc.strerror or exc}); nothing was changed")
            continue
        where = target.relative_to(root).as_posix()
        if not written:
            result.messages.append(f"= {shown}: already in your notes as {where}, unchanged")
            continue
        result.saved.append((shown, target))
        renamed = f" (a file named {name} exists already, so it was not replaced)" if target.name != name else ""
        result.messages.append(f"✓ {shown}: saved as {where}{renamed}")
        if not is_note_path(target.relative_to(corpus_dir), ignore_rules(corpus_dir)):
            result.messages.append(f"! {where} is left out of the index by {corpus_dir.name}/.tutorignore")
    return result
