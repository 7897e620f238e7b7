"""The Interview tab: a thin Gradio adapter over `InterviewSession`, one per browser session in a `gr.State`.

Every handler mutates the session's `Interview` and returns `view()`, the whole tab rendered from it, so the
API endpoints (/interview_start, /interview_submit, /interview_skip, /interview_save, /interview_finish) and the
page show the same thing; the hidden JSON output carries the prompt / feedback / report dicts for API clients.
The Grader is shared by every session of one loaded index; the progress store (SQLite, WAL) is opened per
request, as a sqlite3 connection may only be used by the thread that opened it.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from tutor.config import Settings
from tutor.web import render
from tutor.web import render_interview as ri

if TYPE_CHECKING:  # interviewer pulls in the index and the embedder; imported when an interview starts
    from tutor.index.store import Index
    from tutor.interview.grading import Grader
    from tutor.interview.interviewer import InterviewSession
    from tutor.interview.rubric import Question
    from tutor.web.app import TutorLoader

log = logging.getLogger(__name__)

ALL_TOPICS = ""
MAX_QUESTIONS = 12
WARM_UP_WAIT = 120.0  # seconds an answer waits for the shared grader's warm-up before grading cold
HISTORY_FOR_CHART = 500  # recent answers read for the mastery chart
INTERVIEW_EVENT: dict[str, Any] = {"concurrency_id": "interview", "concurrency_limit": 4}
NOT_READY = "The index is still loading; start the interview when the status line says ready. / 索引还在加载中。"
NOT_STARTED = "Press Start to begin an interview. / 请先点击开始。"
EMPTY_ANSWER = "Type your answer first, or press Skip. / 请先输入回答，或点击跳过。"


class Interview:
    """One browser session's mock interview and what its tab shows; the lock keeps a double click from grading
    the same prompt twice."""

    def __init__(self) -> None:
        self.session: InterviewSession | None = None
        self.feedback: dict | None = None
        self.answer = ""  # the answer the feedback is about
        self.turn = 0  # numbers the feedback cards, so their source anchors are unique on the page
        self.report: dict | None = None
        self.problems: list[str] = []  # shown once, with the next view
        self.saved: str | None = None
        self.warm: threading.Event | None = None  # set once the shared grader is warm
        self.lock = threading.Lock()

    @property
    def waiting(self) -> bool:
        return self.session is not None and self.report is None and self.session.current is not None


class SharedGrader:
    """One `Grader` (question bank, key-point vectors) per loaded index, shared by every session. It is warmed in
    a background thread as soon as it is made, while the user reads the first question; answers wait for that
    (`warm`) rather than embedding the same notes again side by side."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._index: Index | None = None
        self._grader: Grader | None = None
        self._bank: tuple[Index, list[Question]] | None = None
        self.warm = threading.Event()

    def bank(self, index: Index, settings: Settings) -> list[Question]:
        """The question bank of this index, built once (the topic list asks for it on every tab visit)."""
        from tutor.interview.rubric import build_bank

        with self._lock:
            if self._bank is None or self._bank[0] is not index:
                self._bank = (index, build_bank(index, settings))
            return self._bank[1]

    def get(self, index: Index, embedder, settings: Settings) -> Grader:
        from tutor.interview.grading import Grader

        with self._lock:
            if self._grader is None or self._index is not index:
                self._grader, self._index = Grader(index, self.bank(index, settings), embedder), index
                self.warm = threading.Event()
                args = (self._grader, self.warm)
                threading.Thread(target=_warm_up, args=args, name="grader-warmup", daemon=True).start()
            return self._grader


def _warm_up(grader: Grader, done: threading.Event) -> None:
    try:
        for q in grader.bank:
            if q.points:
                grader.credits(q, q.text)  # embeds the notes, the key points and their backgrounds once
    except Exception:  # a cold grader is only slower; the first real answer will say what is wrong
        log.exception("warming the grader failed")
    finally:
        done.set()


@contextmanager
def _progress(iv: Interview, settings: Settings) -> Iterator[None]:
    """The shared store for one request; when it cannot be opened the interview goes on without saving."""
    from tutor.interview.progress import ProgressError, ProgressStore

    assert iv.session is not None
    try:
        store = ProgressStore.for_settings(settings)
    except ProgressError as exc:
        iv.problems.append(f"Your progress is not being saved: {exc}")
        store = None
    iv.session.store = store
    try:
        yield
    finally:
        iv.session.store = None
        if store is not None:
            store.close()


# --- the handlers: each returns view() -------------------------------------------------------------------


def start(topic: str | None, n: float | None, loader: TutorLoader, shared: SharedGrader) -> Interview:
    from tutor.interview.interviewer import InterviewError, InterviewSession

    iv = Interview()
    tutor = loader.tutor
    if tutor is None:
        iv.problems.append(loader.error or NOT_READY)
        return iv
    try:
        count = max(1, min(MAX_QUESTIONS, int(n or 5)))
        grader = shared.get(tutor.index, tutor.embedder, loader.settings)
        iv.warm = shared.warm
        iv.session = InterviewSession(
            loader.settings, topic=(topic or "").strip() or None, n=count, index=tutor.index,
            embedder=tutor.embedder, persist=False, grader=grader,
        )  # fmt: skip
        with _progress(iv, loader.settings):
            if iv.session.next_question() is None:
                iv.report = iv.session.report()
    except InterviewError as exc:
        iv.problems.append(str(exc))
    except (TypeError, ValueError):
        iv.problems.append("The number of questions must be a whole number from 1 to 12. / 题数须为 1 到 12。")
    return iv


def submit(answer: str | None, iv: Interview | None, settings: Settings) -> tuple[Interview, str]:
    """(interview, what stays in the answer box): the box is emptied only when the answer was graded."""
    from tutor.interview.interviewer import InterviewError
    from tutor.interview.progress import ProgressError

    iv = iv or Interview()
    answer = answer or ""
    session = iv.session
    if session is None or not iv.waiting:
        iv.problems.append(_why_not_waiting(iv))
        return iv, answer
    if not answer.strip():
        iv.problems.append(EMPTY_ANSWER)
        return iv, answer
    asked = session.current
    with iv.lock:
        if session.current is not asked:  # a second click while the first was being graded: grade it once
            return iv, ""
        if iv.warm is not None:
            iv.warm.wait(WARM_UP_WAIT)
        try:
            with _progress(iv, settings):
                try:
                    feedback = session.submit(answer)
                except ProgressError as exc:  # graded and kept in the session; only the record failed
                    iv.problems.append(str(exc))
                    feedback = session.rounds[-1].feedbacks[-1]
                if session.next_question() is None:
                    iv.report = session.report()
        except InterviewError as exc:
            iv.problems.append(str(exc))
            return iv, answer
        except Exception as exc:  # the session goes on: the question is still waiting, the answer still typed
            log.exception("grading an answer of %d characters failed", len(answer))
            iv.problems.append(
                f"Something went wrong grading this answer ({type(exc).__name__}); it is still in the box, "
                "try again or press Skip. / 评分出错，回答仍保留在输入框中，请重试或跳过。"
            )
            return iv, answer
        iv.turn += 1
        iv.feedback, iv.answer, iv.saved = _for_the_page(feedback.to_dict()), answer, None
    return iv, ""


def skip(iv: Interview | None, settings: Settings) -> Interview:
    iv = iv or Interview()
    session = iv.session
    if session is None or not iv.waiting:
        iv.problems.append(_why_not_waiting(iv))
        return iv
    with iv.lock, _progress(iv, settings):
        session.skip()
        iv.feedback = None
        if session.next_question() is None:
            iv.report = session.report()
    return iv


def finish(iv: Interview | None) -> Interview:
    iv = iv or Interview()
    if iv.session is None:
        iv.problems.append(NOT_STARTED)
    elif iv.report is None:
        with iv.lock:
            iv.session.skip()  # an open prompt is left unanswered, as /quit does
            iv.report = iv.session.report()
    return iv


def save(iv: Interview | None, loader: TutorLoader) -> Interview:
    """Keep the last unscored answer in my-answers.md (which re-indexes), then reload the shared tutor on it."""
    from tutor.interview.interviewer import InterviewError

    iv = iv or Interview()
    if iv.session is None:
        iv.problems.append(NOT_STARTED)
        return iv
    with iv.lock:
        try:
            path = iv.session.save_last_answer()
        except (InterviewError, ValueError, OSError) as exc:
            iv.problems.append(str(exc))
            return iv
        except Exception as exc:  # the re-index failed: the answer is in the file, the next index run picks it up
            log.exception("saving an answer failed")
            iv.problems.append(f"Saving or re-indexing failed ({type(exc).__name__}): {exc}")
            return iv
    iv.saved = path.relative_to(loader.settings.corpus_path.parent).as_posix()
    if iv.report is not None:
        iv.report = iv.session.report()
    try:
        _reload(loader)
    except Exception as exc:
        log.exception("reloading the index after saving failed")
        iv.problems.append(f"Saved, but the chat will see it only after a restart ({type(exc).__name__}).")
    return iv


def _reload(loader: TutorLoader) -> None:
    """The shared tutor on the index `save_last_answer` just rebuilt, so the chat can cite the saved answer."""
    from tutor.answer.chat import Tutor
    from tutor.index.store import load_index

    old = loader.tutor
    if old is not None:
        loader.tutor = Tutor(loader.settings, load_index(loader.settings), old.embedder, old.chat_model)


def _why_not_waiting(iv: Interview) -> str:
    return NOT_STARTED if iv.session is None else "This interview is over; press Start for a new one. / 面试已结束。"


def _for_the_page(feedback: dict) -> dict:
    """The CLI's "type /save" notice is replaced by the Save button."""
    return {**feedback, "notices": [n for n in feedback.get("notices") or () if "/save" not in n]}


# --- the view ----------------------------------------------------------------------------------------------


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
        feedback = f'<div class="iv-saved">✓ saved to {render.esc(iv.saved)} · 已保存</div>'
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
        return f'<div class="iv-chart">{render.render_problem(str(exc))}</div>'
    return ri.render_mastery_chart(ri.mastery_series(attempts)) + ri.render_topic_table(mastery)


def topic_choices(loader: TutorLoader, shared: SharedGrader) -> list[tuple[str, str]]:
    choices = [("All topics · 全部", ALL_TOPICS)]
    if loader.tutor is None:
        return choices
    counts: dict[str, int] = {}
    for q in shared.bank(loader.tutor.index, loader.settings):
        counts[q.topic_name] = counts.get(q.topic_name, 0) + 1
    return choices + [(f"{name} ({count})", name) for name, count in counts.items()]


def export_for_page(topic: str | None, loader: TutorLoader, shared: SharedGrader) -> tuple[str | None, str]:
    """(the deck's path to download, or None and what went wrong), for the chosen topic."""
    from tutor.interview.anki import ExportError, deck_name, write_deck
    from tutor.interview.interviewer import InterviewError, filter_topic

    if loader.tutor is None:
        return None, loader.error or NOT_READY
    chosen = (topic or "").strip() or None
    try:
        questions = filter_topic(shared.bank(loader.tutor.index, loader.settings), chosen)
        out = Path(tempfile.mkdtemp(prefix="tutor-anki-")) / f"tutor-{_slug(chosen or 'all')}.apkg"
        write_deck(questions, out, deck_name(loader.settings, chosen))
    except (ExportError, InterviewError, OSError) as exc:
        return None, str(exc)
    return str(out), ""


def _slug(text: str) -> str:
    return re.sub(r"[^\w\-]+", "-", text, flags=re.UNICODE).strip("-") or "deck"


# --- the tab -----------------------------------------------------------------------------------------------


def interview_tab(settings: Settings, loader: TutorLoader, lines_of: render.LinesOf) -> gr.Tab:
    shared = SharedGrader()
    with gr.Tab("Interview · 模拟面试", id="interview") as tab:
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
                report = gr.HTML(
                    "", visible=False, elem_id="iv-report"
                )  # above the last feedback once the interview ends
                feedback = gr.HTML("", elem_id="iv-feedback")
            with gr.Column(scale=2):
                chart = gr.HTML("", elem_id="iv-mastery")
                with gr.Row(elem_id="iv-export"):
                    make_deck = gr.Button("Anki deck of this topic · 导出 Anki 卡片", size="sm", elem_id="iv-anki")
                    deck_file = gr.DownloadButton(
                        "Download .apkg · 下载", visible=False, size="sm", elem_id="iv-anki-file"
                    )
        data = gr.JSON(visible=False)
        outputs = [question, box, send, pass_, end, keep, message, feedback, report, chart, data, state]
        shown = {"show_progress": "minimal", "show_progress_on": [feedback], **INTERVIEW_EVENT}

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

        begin.click(on_start, [topic, n], outputs, api_name="interview_start", **shown)
        send.click(on_submit, [box, state], outputs, api_name="interview_submit", **shown)
        pass_.click(on_skip, [state], outputs, api_name="interview_skip", **shown)
        end.click(on_finish, [state], outputs, api_name="interview_finish", **shown)
        keep.click(on_save, [state], outputs, api_name="interview_save", **shown)

        def on_export(topic_value):
            path, problem = export_for_page(topic_value, loader, shared)
            shown_message = gr.HTML(render.render_problem(problem), visible=bool(problem))
            return gr.DownloadButton(value=path, visible=path is not None), shown_message

        make_deck.click(on_export, [topic], [deck_file, message], api_name="interview_export_anki")

        def on_open():
            return gr.Dropdown(choices=topic_choices(loader, shared)), mastery_html(settings)

        tab.select(on_open, None, [topic, chart], show_progress="hidden", api_visibility="private")
    return tab
