"""The page's side of living notes (tutor/index/live.py): the Notes tab's drop zone (files checked and saved by
tutor/notes/upload.py, then indexed at once), the refresh after any re-index, and stopping the watcher with the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from tutor.notes.upload import KINDS, MAX_BYTES, SUFFIXES, UPLOAD_DIR, save_uploads
from tutor.web.assets import template
from tutor.web.render_markdown import esc

if TYPE_CHECKING:
    from tutor.index.live import Reindexer, Watcher
    from tutor.web.loader import TutorLoader

CHANGES_EVERY = 2.0  # seconds between a page's looks at whether the index changed (a cheap no-op when not)

MARKS = {"✓": "ok", "=": "same", "!": "warn", "✕": "refused"}


def add_files(paths: list[str] | None, loader: TutorLoader) -> str:
    """Save the dropped files, index them, and say what happened to each (HTML, escaped)."""
    named = [(Path(p).name, Path(p)) for p in paths or []]  # gradio keeps the browser's file name, sanitized
    if not named:
        return ""
    result = save_uploads(named, loader.settings.corpus_path)
    lines = list(result.messages)
    if result.saved and loader.live is not None:
        if loader.tutor is None or getattr(loader, "building", False):
            loader.live.request()
            lines.append("! the index is still being built; the new notes are indexed once it is ready")
        else:
            lines.append(f"● {loader.live.reindex_now() or 'indexed'}")
    return render_result(lines)


def render_result(lines: list[str]) -> str:
    item = template("upload-line.html")
    items = "".join(item.substitute(mark=MARKS.get(line[:1], "info"), line=esc(line)) for line in lines)
    return template("upload-result.html").substitute(items=items) if items else ""


def upload_panel(loader: TutorLoader) -> Callable[[list, Callable[[], tuple]], None]:
    """The drop zone, laid out where it is called; the function it returns wires it once the page's other parts
    exist: after an upload, `outputs` (the status line, the notes) get `values()`."""
    with gr.Accordion("Add notes · 添加笔记", open=True, elem_id="add-notes"):
        files = gr.File(
            label=f"Drop {KINDS} files ({MAX_BYTES // 1_000_000} MB each); saved to {UPLOAD_DIR}/ in your notes folder",
            file_count="multiple",
            file_types=list(SUFFIXES),
            type="filepath",
            height=120,
            elem_id="upload",
        )
        result = gr.HTML("", elem_id="upload-result")

    def wire(outputs: list, values: Callable[[], tuple]) -> None:
        def add(paths):
            return add_files(paths, loader), None, *values()

        files.upload(add, [files], [result, files, *outputs], api_visibility="private", show_progress="minimal")

    return wire


def follow_changes(demo: gr.Blocks, live: Reindexer, outputs: list, refresh: Callable[[], tuple]) -> None:
    """After a re-index (the watcher, an upload in another tab) the page gets `refresh()` for `outputs`."""
    seen = gr.State(-1)
    timer = gr.Timer(CHANGES_EVERY)

    def if_changed(shown: int):
        return (gr.skip(),) * len(outputs) + (live.version,) if shown == live.version else (*refresh(), live.version)

    demo.load(lambda: live.version, None, seen, show_progress="hidden", api_visibility="private")
    timer.tick(if_changed, seen, [*outputs, seen], show_progress="hidden", api_visibility="private")


def stop_with(demo: gr.Blocks, live: Reindexer, watcher: Watcher | None) -> None:
    """`demo.close()` also stops the re-indexing and the watcher thread (the tests build many apps)."""
    close = demo.close

    def close_all(*args, **kwargs):
        if watcher is not None:
            watcher.stop()
        live.stop()
        return close(*args, **kwargs)

    demo.close = close_all  # type: ignore[method-assign]
    demo.watcher, demo.live = watcher, live  # type: ignore[attr-defined]
