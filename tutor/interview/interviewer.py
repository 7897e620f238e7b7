"""Mock interviewer: a session that asks the notes' questions, grades, drills missed points and reports.

Also matches a free-form question to the notes (`tutor grade`) and saves the user's own answer to my-answers.md.
The bank and rubric live in rubric.py, grading and follow-ups in grading.py, scheduling and storage in
progress.py; the terminal / JSON front end in interview_cli.py.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from tutor.config import Settings, wants_llm
from tutor.index.embeddings import Embedder, get_embeddings
from tutor.index.store import Index, build_index, ensure_index
from tutor.interview.grading import FollowUp, Grader, clean_text, grade, lang, plan_follow_ups, prepare_answer
from tutor.interview.progress import ProgressStore, choose_next
from tutor.interview.rounds import InterviewRound, Prompt, Report, session_report
from tutor.interview.rubric import MY_ANSWERS, Question, build_bank
from tutor.notes.files import write_text_atomic
from tutor.types import Chunk, Feedback

# ---------------------------------------------------------------- matching a free-form question (tutor grade)

NOT_IN_NOTES = {
    "zh": "笔记里没有这道题，也没有相近的题目，无法评分。",
    "en": "Neither this question nor a close one is in the notes, so it cannot be graded.",
}


def owning_question(bank: list[Question], chunk: Chunk) -> Question | None:
    candidates = [
        q
        for q in bank
        if q.section_id == chunk.section_id
        or (q.source == chunk.source and chunk.heading_path[: len(q.heading_path)] == q.heading_path)
    ]
    return max(candidates, key=lambda q: len(q.heading_path), default=None)


# ---------------------------------------------------------------- saving the user's own answer


def save_user_answer(settings: Settings, question: Question | str, answer: str, reindex: bool = True) -> Path:
    """Append the answer under the question's heading in `<corpus>/my-answers.md` (never the notes), then re-index."""
    title = question.text if isinstance(question, Question) else clean_text(question).strip()
    body = clean_text(answer).strip()
    if not title or not body:
        raise ValueError("nothing to save: both the question and the answer must be non-empty")
    title = " ".join(title.split())
    # a "#" or fence at the start of a line would turn the answer into structure of its own
    body = "\n".join(("\\" + line if re.match(r"\s*(#|```|~~~)", line) else line) for line in body.splitlines())
    where = f" · {question.source}:{question.line_start}" if isinstance(question, Question) else ""
    block = f"{body}\n\n*{datetime.now().strftime('%Y-%m-%d %H:%M')}{where}*\n"
    path = settings.corpus_path / MY_ANSWERS
    text = path.read_text(encoding="utf-8") if path.exists() else MY_ANSWERS_HEADER
    lines = text.rstrip("\n").split("\n")
    heading = f"## {title}"
    if heading in lines:
        end = lines.index(heading) + 1
        while end < len(lines) and not lines[end].startswith("#"):
            end += 1
        lines[end:end] = ["", *block.rstrip("\n").split("\n"), ""] if end < len(lines) else ["", *block.split("\n")]
    else:
        lines += ["", heading, "", *block.split("\n")]
    write_text_atomic(path, re.sub(r"\n{3,}", "\n\n", "\n".join(lines).rstrip("\n") + "\n"))
    if reindex:
        build_index(settings)
    return path


MY_ANSWERS_HEADER = "# 我的答案\n\n面试练习时保存的自己的回答（tutor interview）；原笔记不会被修改。\n"


# ---------------------------------------------------------------- the session


class InterviewError(Exception):
    """A usage problem (unknown topic, answering with no question asked); the message says what to do."""


OFFER_SAVE = {
    "zh": "你的回答已记录；输入 /save 把它存进 {file}，以后提问时可以引用它。",
    "en": "Your answer is recorded; type /save to keep it in {file}, so later questions can cite it.",
}


def filter_topic(bank: list[Question], topic: str | None) -> list[Question]:
    """Questions of a topic named by its heading ("一、DNN") or short name ("dnn"), case-insensitively."""
    if not topic:
        return bank
    want = topic.strip().casefold()
    chosen = [q for q in bank if want in (q.topic.casefold(), q.topic_name.casefold())]
    if not chosen:
        names = ", ".join(dict.fromkeys(q.topic_name for q in bank)) or "none"
        raise InterviewError(f"no topic {topic!r} in the notes; choose one of: {names}")
    return chosen


def _default_model(settings: Settings):
    """The model TUTOR_LLM names, or None (offline grading) when it is 'none' or cannot be used."""
    if not wants_llm(settings.llm):
        return None
    from tutor.answer.llm import LLMConfigError, get_chat_model  # LangChain's chat models (~1 s): only with an LLM

    try:
        return get_chat_model(settings.llm, settings)
    except LLMConfigError:
        return None


class InterviewSession:
    """Ask up to `n` questions (due / weak / new, see progress.choose_next), grade, drill missed points, report."""

    def __init__(
        self,
        settings: Settings,
        topic: str | None = None,
        n: int = 5,
        store: ProgressStore | None = None,
        index: Index | None = None,
        embedder: Embedder | None = None,
        persist: bool = True,
        grader: Grader | None = None,
        chat_model=None,
    ) -> None:
        if n < 1:
            raise InterviewError("--n must be at least 1")
        self.settings, self.n = settings, n
        self.index = index or ensure_index(settings)
        self.bank = grader.bank if grader is not None else build_bank(self.index, settings)
        self.questions = filter_topic(self.bank, topic)
        self.embedder = embedder or get_embeddings(settings.embeddings)
        self.grader = grader or Grader(self.index, self.bank, self.embedder)
        self.store = store or (ProgressStore.for_settings(settings) if persist else None)
        self.chat_model = chat_model if chat_model is not None else _default_model(settings)
        self.session_id = uuid.uuid4().hex[:12]
        self.current: Prompt | None = None
        self.pending: list[FollowUp] = []
        self.rounds: list[InterviewRound] = []  # one per main question, replaced as its answers come in
        self.unsaved: tuple[Question, str] | None = None  # the last answer to a question the notes do not answer
        self.saved: list[str] = []

    def next_question(self) -> Prompt | None:
        """The prompt waiting for an answer: a pending follow-up, else the next question; None when done."""
        if self.current is not None:
            return self.current
        if self.pending and self.rounds:
            up = self.pending.pop(0)
            last = self.rounds[-1].prompt
            self.current = Prompt(last.question, up.text, True, up.points, last.number, last.of)
            return self.current
        asked = {r.prompt.question.id for r in self.rounds}
        if len(self.rounds) >= self.n:
            return None
        q = choose_next([q for q in self.questions if q.id not in asked], self.store, len(self.rounds))
        if q is None:
            return None
        self.current = Prompt(q, q.text, number=len(self.rounds) + 1, of=min(self.n, len(self.questions)))
        self.rounds.append(InterviewRound(self.current))
        return self.current

    def submit(self, answer: str) -> Feedback:
        """Grade the answer to the current prompt, record it (committed at once) and plan follow-ups."""
        prompt = self.current
        if prompt is None:
            raise InterviewError("no question is waiting for an answer: call next_question() first")
        q = prompt.question
        fb, credits = grade(self.grader, q, answer, prompt.points)
        text = prepare_answer(answer, lang(q))[0]  # what was graded, as recorded and saved
        if self.chat_model is not None:
            from tutor.interview.model import model_grade  # LangChain (~1 s): only with a chat model

            fb, credits = model_grade(self.chat_model, q, text, fb, credits)
        round_ = self.rounds[-1]
        best = {i: max(c, round_.credits.get(i, 0.0)) for i, c in {**round_.credits, **credits}.items()}
        if not prompt.follow_up and q.points:
            self.pending = plan_follow_ups(q, credits)
            if self.chat_model is not None and self.pending:
                from tutor.interview.model import model_follow_up  # LangChain (~1 s): only with a chat model

                self.pending[0] = model_follow_up(self.chat_model, q, self.pending[0])
        # only the answer just given to an unanswerable question can be saved, never an older one
        self.unsaved = (q, text) if not q.points else None
        offer = OFFER_SAVE[lang(q)].format(file=f"{self.settings.corpus_path.name}/{MY_ANSWERS}")
        fb = replace(
            fb,
            question=prompt.text if prompt.follow_up else fb.question,
            notices=fb.notices if q.points else (*fb.notices, offer),
            follow_up=self.pending[0].text if self.pending else None,
            is_follow_up=prompt.follow_up,
        )
        self.rounds[-1] = replace(round_, feedbacks=(*round_.feedbacks, fb), credits=best)
        self.current = None
        if self.store is not None:
            self.store.record(
                self.session_id, q.id, prompt.text, q.topic_name, text, fb.score,
                fb.covered, fb.missed, follow_up=prompt.follow_up,
            )  # fmt: skip
        return fb

    def skip(self) -> None:
        """Leave the current prompt unanswered (nothing is recorded) and drop its follow-ups."""
        if self.current is not None and not self.current.follow_up:
            self.rounds[-1] = replace(self.rounds[-1], skipped=True)
        self.current, self.pending = None, []

    def save_last_answer(self) -> Path:
        """Keep the last answer to a question the notes do not answer in my-answers.md, and re-index."""
        if self.unsaved is None:
            raise InterviewError(
                "there is no answer to save: /save works right after a question the notes do not answer"
            )
        path = save_user_answer(self.settings, *self.unsaved)
        self.unsaved = None
        self.saved.append(path.name)
        return path

    def summary(self) -> Report:
        return session_report(self.rounds, self.session_id, self.saved)

    def report(self) -> dict:
        """The summary's JSON (what `tutor interview --json` writes last and the app shows)."""
        return self.summary().to_dict()
