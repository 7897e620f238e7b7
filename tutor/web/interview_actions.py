"""What the Interview tab does, without Gradio: one `Interview` per browser session over an `InterviewSession`.

The Grader is shared by every session of one loaded index (`SharedGrader`); the progress store (SQLite, WAL) is opened
per request, as a sqlite3 connection may only be used by the thread that opened it. interview.py renders the tab.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tutor.config import Settings
from tutor.web.loader import TutorLoader

if TYPE_CHECKING:  # the interview stack pulls in the index and the embedder: imported when an interview starts
    from tutor.index.store import Index
    from tutor.interview.grading import Grader
    from tutor.interview.interviewer import InterviewSession
    from tutor.interview.rubric import Question

log = logging.getLogger(__name__)

ALL_TOPICS = ""
MAX_QUESTIONS = 12
WARM_UP_WAIT = 120.0  # seconds an answer waits for the shared grader's warm-up before grading cold
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


# --- the handlers: the tab shows view() of what each returns ------------------------------------------------


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
