"""The Interview tab: a thin Gradio adapter over `InterviewSession`, one per browser session in a `gr.State`.

Every handler mutates the session's `Interview` and returns `view()`, the whole tab rendered from it, so the
API endpoints (/interview_start, /interview_submit, /interview_skip, /interview_save, /interview_finish) and the
page show the same thing; the hidden JSON output carries the prompt / feedback / report dicts for API clients.
The Grader is shared by every session of one loaded index; the progress store (SQLite, WAL) is opened per
request, as a sqlite3 connection may only be used by the thread that opened it (interview_actions.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from tutor.config import Settings
from tutor.web import render
from tutor.web import render_interview as ri
from tutor.web.assets import template
from tutor.web.interview_actions import (
    ALL_TOPICS,
    MAX_QUESTIONS,
    Interview,
    SharedGrader,
    export_for_page,
    finish,
    save,
    skip,
    start,
    submit,
    topic_choices,
)
from tutor.web.loader import TutorLoader

HISTORY_FOR_CHART = 500  # recent answers read for the mastery chart
INTERVIEW_EVENT: dict[str, Any] = {"concurrency_id": "interview", "concurrency_limit": 4}


def view(iv: Interview | None, settings: Settings, lines_of: render.LinesOf, answer: str = "") -> tuple:
    """(question, answer box, submit, skip, finish, save, message, feedback, report, chart, data, state)."""
    iv = iv or Interview()
    session = iv.session
    prompt = session.current.to_dict() if iv.waiting and session and session.current else None
    feedback = ""
    if iv.feedback is not None:
        shown = iv.feedback if iv.report is None else {**iv.feedback, "follow_up": None}  # nothing left to answer
        feedback = ri.render_feedback(shown, f"iv{iv.turn}", lines_of, iv.answer, iv.saved)
    elif iv.saved:
        feedback = template("interview-saved.html").substitute(path=render.esc(iv.saved))
    report = ri.render_report(iv.report, lines_of, f"ivr{iv.turn}") if iv.report is not None else ""
    # only right after the answer to a question the notes do not answer (the session keeps it until saved)
    unscored = iv.feedback is not None and iv.feedback.get("score") is None and not iv.saved
    can_save = unscored and session is not None and session.unsaved is not None
    message = "".join(render.render_problem(p) for p in iv.problems)
    data = {
        "session_id": session.session_id if session else None,
        "question": prompt,
        "feedback": iv.feedback,
        "report": iv.report,
        "saved": iv.saved,
        "can_save": can_save,
        "problems": list(iv.problems),
    }
    iv.problems = []
    active = session is not None and iv.report is None
    return (
        ri.render_question_card(prompt, finished=iv.report is not None),
        gr.Textbox(value=answer, interactive=iv.waiting),
        gr.Button(interactive=iv.waiting),
        gr.Button(interactive=iv.waiting),
        gr.Button(interactive=active),
        gr.Button(visible=can_save),
        gr.HTML(message, visible=bool(message)),
        feedback,
        gr.HTML(report, visible=bool(report)),
        mastery_html(settings),
        data,
        iv,
    )


def mastery_html(settings: Settings) -> str:
    """The chart of mastery per topic over time, from every session's answers in the shared store."""
    from tutor.interview.progress import ProgressError, ProgressStore

    try:
        with ProgressStore.for_settings(settings) as store:
            attempts, mastery = store.history(HISTORY_FOR_CHART), store.mastery()
    except ProgressError as exc:
        return template("interview-chart-problem.html").substitute(problem=render.render_problem(str(exc)))
    return ri.render_mastery_chart(ri.mastery_series(attempts)) + ri.render_topic_table(mastery)


# --- the tab -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Controls:
    """The tab's components that its events read or update."""

    topic: gr.Dropdown
    n: gr.Slider
    begin: gr.Button
    message: gr.HTML
    question: gr.HTML
    box: gr.Textbox
    send: gr.Button
    pass_: gr.Button
    end: gr.Button
    keep: gr.Button
    report: gr.HTML
    feedback: gr.HTML
    chart: gr.HTML
    make_deck: gr.Button
    deck_file: gr.DownloadButton
    data: gr.JSON
    state: gr.State

    def outputs(self) -> list:
        """What `view()` returns, in its order."""
        return [self.question, self.box, self.send, self.pass_, self.end, self.keep, self.message, self.feedback,
                self.report, self.chart, self.data, self.state]  # fmt: skip


def interview_tab(settings: Settings, loader: TutorLoader, lines_of: render.LinesOf) -> gr.Tab:
    shared = SharedGrader()
    with gr.Tab("Interview · 模拟面试", id="interview") as tab:
        ui = _layout(loader, shared)
        _events(tab, ui, settings, loader, shared, lines_of)
    return tab


def _layout(loader: TutorLoader, shared: SharedGrader) -> Controls:
    """Setup row; the question, answer box and feedback on the left; mastery chart and Anki export on the right."""
    state = gr.State(None)
    with gr.Row(elem_id="iv-setup"):
        topic = gr.Dropdown(
            topic_choices(loader, shared), value=ALL_TOPICS, label="Topic · 主题", allow_custom_value=True,
            scale=3, elem_id="iv-topic",
        )  # fmt: skip
        n = gr.Slider(1, MAX_QUESTIONS, value=5, step=1, label="Questions · 题数", scale=3, elem_id="iv-n")
        begin = gr.Button("Start · 开始", variant="primary", scale=1, min_width=120, elem_id="iv-start")
    message = gr.HTML("", visible=False, elem_id="iv-message")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            question = gr.HTML(ri.render_question_card(None), elem_id="iv-question")
            box = gr.Textbox(
                lines=4, max_lines=14, show_label=False, interactive=False, elem_id="iv-answer",
                placeholder="Your answer, in Chinese or English… · 你的回答（中英文均可）",
            )  # fmt: skip
            with gr.Row(elem_id="iv-actions"):
                send = gr.Button("Submit · 提交", variant="primary", interactive=False, elem_id="iv-submit")
                pass_ = gr.Button("Skip · 跳过", interactive=False, elem_id="iv-skip")
                end = gr.Button("End interview · 结束", interactive=False, elem_id="iv-finish")
            keep = gr.Button(
                "Save my answer to my-answers.md · 保存我的回答", visible=False, size="sm", elem_id="iv-save"
            )
            report = gr.HTML("", visible=False, elem_id="iv-report")  # above the last feedback once the interview ends
            feedback = gr.HTML("", elem_id="iv-feedback")
        with gr.Column(scale=2):
            chart = gr.HTML("", elem_id="iv-mastery")
            with gr.Row(elem_id="iv-export"):
                make_deck = gr.Button("Anki deck of this topic · 导出 Anki 卡片", size="sm", elem_id="iv-anki")
                deck_file = gr.DownloadButton("Download .apkg · 下载", visible=False, size="sm", elem_id="iv-anki-file")
    data = gr.JSON(visible=False)
    return Controls(topic, n, begin, message, question, box, send, pass_, end, keep, report, feedback, chart,
                    make_deck, deck_file, data, state)  # fmt: skip


def _events(
    tab: gr.Tab, ui: Controls, settings: Settings, loader: TutorLoader, shared: SharedGrader, lines_of: render.LinesOf
) -> None:
    """Each button runs its action on the session's `Interview` and shows `view()` of it; opening the tab refreshes
    the topics and the chart."""
    outputs = ui.outputs()
    shown = {"show_progress": "minimal", "show_progress_on": [ui.feedback], **INTERVIEW_EVENT}

    def on_start(topic_value, n_value):
        return view(start(topic_value, n_value, loader, shared), settings, lines_of)

    def on_submit(answer, iv):
        iv, left = submit(answer, iv, settings)
        return view(iv, settings, lines_of, left)

    def on_skip(iv):
        return view(skip(iv, settings), settings, lines_of)

    def on_finish(iv):
        return view(finish(iv), settings, lines_of)

    def on_save(iv):
        return view(save(iv, loader), settings, lines_of)

    ui.begin.click(on_start, [ui.topic, ui.n], outputs, api_name="interview_start", **shown)
    ui.send.click(on_submit, [ui.box, ui.state], outputs, api_name="interview_submit", **shown)
    ui.pass_.click(on_skip, [ui.state], outputs, api_name="interview_skip", **shown)
    ui.end.click(on_finish, [ui.state], outputs, api_name="interview_finish", **shown)
    ui.keep.click(on_save, [ui.state], outputs, api_name="interview_save", **shown)

    def on_export(topic_value):
        path, problem = export_for_page(topic_value, loader, shared)
        shown_message = gr.HTML(render.render_problem(problem), visible=bool(problem))
        return gr.DownloadButton(value=path, visible=path is not None), shown_message

    ui.make_deck.click(on_export, [ui.topic], [ui.deck_file, ui.message], api_name="interview_export_anki")

    def on_open():
        return gr.Dropdown(choices=topic_choices(loader, shared)), mastery_html(settings)

    tab.select(on_open, None, [ui.topic, ui.chart], show_progress="hidden", api_visibility="private")
