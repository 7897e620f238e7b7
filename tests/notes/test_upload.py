"""Notes dropped in the browser: untrusted names, size and type limits, no overwriting, indexed at once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import DATA, make_corpus, settings_for
from tutor.answer.chat import Tutor
from tutor.index.live import Reindexer
from tutor.notes.upload import MAX_BYTES, Refused, safe_name, save_uploads
from tutor.web.live import add_files

NOTE = "# Space\n\n## What is a quasar?\n\nA quasar is a very luminous galactic nucleus powered by a black hole.\n"


@pytest.fixture
def corpus(tmp_path) -> Path:
    return make_corpus(tmp_path, {"mine.md": "# Mine\n\nmy own note\n"}, notes=False)


def upload(tmp_path: Path, name: str, content: bytes | str) -> tuple[str, Path]:
    """(the browser's name, the temporary file gradio would hand over)."""
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "upload.bin"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return name, path


@pytest.mark.parametrize(
    ("given", "kept"),
    [("notes.md", "notes.md"), ("a/b/notes.MD", "notes.MD"), ("C:\\Users\\me\\期末复习.txt", "期末复习.txt"),
     ("paper.pdf", "paper.pdf"), ("saved page.html", "saved page.html")],
)  # fmt: skip
def test_a_name_from_the_browser_keeps_only_its_last_part(given, kept):
    assert safe_name(given) == kept


@pytest.mark.parametrize(
    ("given", "why"),
    [("../../etc/passwd.md", "outside the notes folder"), ("..\\up.md", "outside the notes folder"),
     (".hidden.md", "hidden"), ("sub/.obsidian.md", "hidden"), ("", "empty"), ("/", "empty"),
     ("bell\x07.md", "control characters"), ("rtl\u202egnp.md", "control characters"),
     ("run.exe", "only .md, .txt, .pdf or .html"), ("notes.md.exe", "only .md"), ("noext", "only .md"),
     ("x" * 250 + ".md", "longer than 200 bytes")],
)  # fmt: skip
def test_a_bad_name_is_refused_with_the_reason(given, why):
    with pytest.raises(Refused, match=why):
        safe_name(given)


def test_an_existing_name_gets_a_number_and_nothing_is_overwritten(tmp_path, corpus):
    first = save_uploads([upload(tmp_path, "notes.md", NOTE)], corpus)
    assert first.messages == ["✓ notes.md: saved as corpus/uploads/notes.md"]
    second = save_uploads([upload(tmp_path, "notes.md", NOTE + "\nmore\n")], corpus)
    assert second.messages == [
        "✓ notes.md: saved as corpus/uploads/notes (2).md (a file named notes.md exists already, so it was not replaced)"
    ]
    assert (corpus / "uploads" / "notes.md").read_text(encoding="utf-8") == NOTE
    assert (corpus / "uploads" / "notes (2).md").read_text(encoding="utf-8").endswith("more\n")
    again = save_uploads([upload(tmp_path, "notes.md", NOTE)], corpus)  # the same bytes once more
    assert again.messages == ["= notes.md: already in your notes as corpus/uploads/notes.md, unchanged"]
    assert again.saved == [] and sorted(p.name for p in (corpus / "uploads").iterdir()) == ["notes (2).md", "notes.md"]


def test_each_refused_file_says_why_and_the_others_are_saved(tmp_path, corpus):
    big = tmp_path / "big.md"
    with big.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no 20 MB written
    broken_pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4
    files = [
        upload(tmp_path, "good.md", NOTE),
        ("big.md", big),
        upload(tmp_path, "empty.md", b""),
        upload(tmp_path, "blank.txt", "  \n\n"),
        upload(tmp_path, "binary.md", b"PK\x03\x04\x00\x00zip"),
        upload(tmp_path, "latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1")),
        upload(tmp_path, "fake.pdf", "just text"),
        upload(tmp_path, "broken.pdf", broken_pdf),
        upload(tmp_path, "image.html", b"\x89PNG\r\n\x1a\n\x00\x00"),
        upload(tmp_path, "../escape.md", NOTE),
        upload(tmp_path, "virus.exe", b"MZ"),
    ]
    result = save_uploads(files, corpus)
    assert result.refused == 10 and [name for name, _ in result.saved] == ["good.md"]
    said = dict(line.split(": ", 1) for line in result.messages)
    assert said["✓ good.md"] == "saved as corpus/uploads/good.md"
    assert said["✕ big.md"] == "not added, it is 20.0 MB; the limit is 20 MB per file"
    assert said["✕ empty.md"] == "not added, it is empty"
    assert said["✕ blank.txt"] == "not added, it holds no text"
    assert said["✕ binary.md"] == "not added, looks binary"
    assert said["✕ latin1.txt"].startswith("not added, not UTF-8 text (byte 3)")
    assert said["✕ fake.pdf"] == "not added, it is not a PDF file"
    assert said["✕ broken.pdf"].startswith("not added, it could not be read as a PDF (")
    assert said["✕ image.html"] == "not added, it looks binary, not an HTML page"
    assert said["✕ ../escape.md"] == "not added, its name points outside the notes folder (..)"
    assert said["✕ virus.exe"] == "not added, only .md, .txt, .pdf or .html files can be added"
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["good.md"]  # no half-written or temp files
    assert sorted(p.name for p in corpus.iterdir()) == ["mine.md", "uploads"]


def test_text_is_stored_as_utf8_and_pdf_and_html_as_they_came(tmp_path, corpus):
    utf16 = "\ufeff# 笔记\n\n量子纠缠是什么？\n".encode("utf-16-le")
    pdf = (DATA / "pages" / "dropout.pdf").read_bytes()
    page = b"<html><head><title>Quasars</title></head><body><p>" + b"A quasar is bright. " * 20 + b"</p></body></html>"
    files = [upload(tmp_path, "u16.txt", b"\xff\xfe" + utf16[2:]), upload(tmp_path, "d.pdf", pdf)]
    result = save_uploads([*files, upload(tmp_path, "q.html", page)], corpus)
    assert result.refused == 0, result.messages
    assert (corpus / "uploads" / "u16.txt").read_bytes() == "# 笔记\n\n量子纠缠是什么？\n".encode()
    assert (corpus / "uploads" / "d.pdf").read_bytes() == pdf
    assert (corpus / "uploads" / "q.html").read_bytes() == page


def test_an_upload_that_tutorignore_leaves_out_says_so(tmp_path, corpus):
    (corpus / ".tutorignore").write_text("uploads/\n", encoding="utf-8")
    result = save_uploads([upload(tmp_path, "n.md", NOTE)], corpus)
    assert result.messages[-1] == "! corpus/uploads/n.md is left out of the index by corpus/.tutorignore"


def test_a_dropped_note_is_indexed_at_once_and_cited(tmp_path, corpus):
    settings = settings_for(tmp_path, embeddings="hash:64")
    loader = SimpleNamespace(settings=settings, tutor=Tutor.load(settings), error=None)
    loader.live = Reindexer(loader)
    assert loader.tutor.ask("what is a quasar?").status == "not_found"
    _, staged = upload(tmp_path, "x", NOTE)
    dropped = staged.rename(staged.parent / "q<img src=x onerror=alert(1)>.md")  # gradio keeps the browser's name
    shown = add_files([str(dropped)], loader)
    assert "q&lt;img src=x onerror=alert(1)&gt;.md: saved as corpus/uploads/q&lt;img" in shown
    assert "<img" not in shown  # the browser's file name is text, never markup
    assert "re-indexed 1 file (1 new), " in shown  # indexed before the page hears back, not when a watcher fires
    answer = loader.tutor.ask("what is a quasar?")
    assert answer.status == "answered"
    assert {c.source for c in answer.citations} == {"corpus/uploads/q<img src=x onerror=alert(1)>.md"}


def test_nothing_is_written_when_the_notes_folder_is_missing(tmp_path):
    result = save_uploads([upload(tmp_path, "n.md", NOTE)], tmp_path / "gone")
    assert result.messages == [f"✕ n.md: not added, the notes folder {tmp_path / 'gone'} is missing"]
    assert not (tmp_path / "gone").exists()


def test_a_saved_note_is_readable_like_any_file_the_user_saves(tmp_path):
    """Not mkstemp's owner-only mode: the umask decides, as for a file saved by an editor."""
    import os

    from tutor.notes.files import write_bytes_atomic

    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "n.md"
    write_bytes_atomic(path, b"# t\n")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
