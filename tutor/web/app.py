"""`build_app()`: the browser tutor (Chat, Notes, Interview tabs), a thin Gradio adapter over `tutor/`.

The Chat tab is chat_tab.py, the Interview tab interview.py; all HTML comes from `tutor.web.render` and its kin, which
escape every piece of note and answer text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from tutor.config import Settings, get_settings
from tutor.index.live import start_live
from tutor.notes.references import load_reference_states
from tutor.web import live as ui_live
from tutor.web import render, render_files
from tutor.web.assets import static_text, template
from tutor.web.chat_tab import ASK_EVENT, STORAGE_KEY, Conversation, chat_tab, hint, saved_turns
from tutor.web.interview import interview_tab
from tutor.web.loader import TutorLoader, echo_stderr

if TYPE_CHECKING:  # tutor.answer.chat pulls in the retrieval stack; the loader thread imports it while the page starts
    from tutor.answer.chat import Tutor

CSS_FILES = ("chat.css", "notes.css", "interview.css")  # in this order: later rules win over earlier ones

INSTALL_JS = static_text("install.js")  # citation links open their source; the copy button copies the answer
NOTES_JS = static_text("notes.js")  # a question in the notes asks it in the chat; a file in the list opens its lines


def build_app(
    settings: Settings | None = None,
    tutor: Tutor | None = None,
    watch: bool | None = None,
    loader: TutorLoader | None = None,
) -> gr.Blocks:
    """The app; without a `tutor` it loads (or builds) the index in the background while the page shows progress
    (on `loader`, when the caller started one already). It re-indexes when the notes change (`watch`, default
    `settings.watch`); `demo.close()` stops the watcher."""
    if loader is None:
        settings = settings or (tutor.settings if tutor is not None else get_settings())
        loader = TutorLoader(settings, tutor, echo=echo_stderr).start()
    settings = loader.settings
    loader.live, watcher = start_live(loader, settings.watch if watch is None else watch, loader.echo)
    lines_of = render.NoteFiles(settings.corpus_path.parent)
    with gr.Blocks(title="tutor · your notes", analytics_enabled=False) as demo:
        status = gr.HTML(loader.status_html(), elem_id="index-status")
        timer = gr.Timer(1.0, active=False)
        conv = gr.State(None)
        saved = gr.BrowserState([], storage_key=STORAGE_KEY)
        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab("Chat · 问答", id="chat"):
                chat = chat_tab(loader, lines_of, conv, saved)
            with gr.Tab("Notes · 笔记", id="notes"):
                upload = ui_live.upload_panel(loader)
                notes, refs = _notes_tab(loader, lines_of, conv, saved, tabs, chat)
            _interview_tab(settings, loader, lines_of)

        def refresh():
            ready = loader.tutor is not None
            return (
                loader.status_html(),
                gr.Textbox(interactive=ready, placeholder=hint(ready)),
                gr.Button(interactive=ready),
                gr.Timer(active=loader.tutor is None and loader.error is None),
                _notes_html(loader, lines_of),
                render_files.render_references(
                    _reference_states(settings), loader.tutor.index.sections if loader.tutor else (), lines_of
                ),
            )

        watched = [status, chat["box"], chat["ask"], timer, notes, refs]
        demo.load(refresh, None, watched, show_progress="hidden", api_visibility="private")
        timer.tick(refresh, None, watched, show_progress="hidden", api_visibility="private")
        upload([status, notes], lambda: (loader.status_html(), _notes_html(loader, lines_of)))
        ui_live.follow_changes(demo, loader.live, watched, refresh)

        def restore(record):
            conversation = Conversation.restore(record, lines_of)
            return conversation.messages, conversation

        demo.load(restore, [saved], [chat["bot"], conv], show_progress="hidden", api_visibility="private")
        demo.load(None, None, None, js=INSTALL_JS)
    ui_live.stop_with(demo, loader.live, watcher)
    return demo


def _notes_tab(loader, lines_of, conv, saved, tabs, chat) -> tuple[gr.HTML, gr.HTML]:
    notes = gr.HTML(_notes_html(loader, lines_of), elem_id="notes", js_on_load=NOTES_JS)
    refs = gr.HTML("", elem_id="references")

    def ask_from_notes(state, evt: gr.EventData):
        question = str((evt._data or {}).get("question") or "") if isinstance(evt._data, dict) else ""
        for view in chat["fn"](question, state):
            yield gr.Tabs(selected="chat"), *view

    event = notes.click(ask_from_notes, [conv], [tabs, *chat["outputs"]], api_visibility="private", **ASK_EVENT)
    event.then(saved_turns, [conv], [saved], show_progress="hidden", api_visibility="private")
    return notes, refs


def _notes_html(loader: TutorLoader, lines_of: render.LinesOf) -> str:
    if loader.tutor is None:
        return template("notes-waiting.html").template
    index = loader.tutor.index
    return render_files.render_notes_by_file(index.sections, index.file_states, lines_of)


def _reference_states(settings: Settings) -> list[dict]:
    return load_reference_states(settings.corpus_path)


def _interview_tab(settings: Settings, loader: TutorLoader, lines_of: render.LinesOf) -> gr.Tab:
    """The mock interviewer (tutor/web/interview.py): its own session per browser, the shared index and embedder."""
    return interview_tab(settings, loader, lines_of)


def launch_options() -> dict:
    """What `launch()` needs for the look (Gradio 6 moved theme and css there): local fonts only, no CDN."""
    theme = gr.themes.Default(
        font=["Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"],
        font_mono=["Noto Sans Mono CJK SC", "ui-monospace", "Menlo", "Consolas", "monospace"],
    )
    return {"theme": theme, "css": "".join(static_text(name) for name in CSS_FILES)}
