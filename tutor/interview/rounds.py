"""What an interview session asks, keeps and reports: `Prompt`, `InterviewRound`, `Report`.

They are Wire types (tutor/wire.py): `tutor interview --json` and the app's Interview tab show their JSON, and
`tutor schema question|round|report` prints its shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from tutor.interview.grading import COVERED_AT
from tutor.interview.progress import WEAK_TOPIC
from tutor.interview.rubric import Question
from tutor.types import Citation, Feedback
from tutor.wire import Wire

# the question's own keys, as `tutor interview --json` has always written them
QUESTION_KEYS = {
    "id": "question.id",
    "section_id": "question.section_id",
    "question": "question.text",
    "topic": "question.topic_name",
    "topic_heading": "question.topic",
    "source": "question.source",
    "heading_path": "question.heading_path",
    "line_start": "question.line_start",
    "line_end": "question.line_end",
    "has_reference": "question.has_reference",
}


@dataclass(frozen=True)
class Prompt(Wire):
    """What the interviewer asks now: a question of the notes, or a follow-up aimed at some of its key points."""

    question: Question
    text: str
    follow_up: bool = False
    points: tuple[int, ...] = ()  # the key points the answer is graded on; () = all
    number: int = 1  # which main question of the session this belongs to
    of: int = 1

    TYPE: ClassVar[Literal["question"]] = "question"
    __json__ = {"type": "TYPE", **QUESTION_KEYS, "question": "text", "follow_up": "follow_up"}
    __json__ |= {"number": "number", "of": "of", "main_question": "question.text"}
    __json_omit__ = {"main_question": lambda p: not p.follow_up}


@dataclass(frozen=True)
class FollowUpScore(Wire):
    question: str
    score: int | None


@dataclass(frozen=True)
class InterviewRound(Wire):
    """One main question of a session: its prompt, the feedback on its answer and on each follow-up, and the best
    credit per key point so far. Its JSON is the question's line in the report."""

    prompt: Prompt
    feedbacks: tuple[Feedback, ...] = ()
    credits: dict[int, float] = field(default_factory=dict)  # key point -> best credit; replaced, never changed
    skipped: bool = False

    __json__ = {key: QUESTION_KEYS[key] for key in ("id", "question", "topic")}
    __json__ = {key: f"prompt.{path}" for key, path in __json__.items()} | {"score": "score"}
    __json__ |= {"has_reference": "prompt.question.has_reference", "skipped": "unanswered", "follow_ups": "follow_ups"}

    @property
    def main(self) -> Feedback | None:
        """The feedback on the answer to the main question (None until it is answered)."""
        return next((f for f in self.feedbacks if not f.is_follow_up), None)

    @property
    def score(self) -> int | None:
        main = self.main
        return main.score if main else None

    @property
    def unanswered(self) -> bool:
        return self.skipped or self.main is None

    @property
    def follow_ups(self) -> tuple[FollowUpScore, ...]:
        return tuple(FollowUpScore(f.question, f.score) for f in self.feedbacks if f.is_follow_up)


@dataclass(frozen=True)
class TopicScore(Wire):
    topic: str
    mean_score: float
    questions: int


@dataclass(frozen=True)
class ReviewPoint(Wire):
    """A key point still missed after the follow-ups, with where the notes say it."""

    question: str
    point: str
    citation: Citation


@dataclass(frozen=True)
class Report(Wire):
    """Score per question, topics weakest first, and the key points still missed after the follow-ups."""

    session_id: str
    rounds: tuple[InterviewRound, ...]
    topics: tuple[TopicScore, ...]
    weakest_topics: tuple[str, ...]
    review: tuple[ReviewPoint, ...]
    saved: tuple[str, ...]

    TYPE: ClassVar[Literal["report"]] = "report"
    __json__ = {"type": "TYPE", "session_id": "session_id", "asked": "asked", "answered": "answered"}
    __json__ |= {"mean_score": "mean_score", "questions": "rounds", "topics": "topics"}
    __json__ |= {"weakest_topics": "weakest_topics", "review": "review", "saved": "saved"}

    @property
    def asked(self) -> int:
        return len(self.rounds)

    @property
    def answered(self) -> int:
        return sum(not r.unanswered for r in self.rounds)

    @property
    def mean_score(self) -> float | None:
        scored = [r.score for r in self.rounds if r.score is not None]
        return round(sum(scored) / len(scored), 1) if scored else None


def session_report(rounds: list[InterviewRound], session_id: str, saved: list[str]) -> Report:
    by_topic: dict[str, list[int]] = {}
    review: list[ReviewPoint] = []
    for r in rounds:
        q = r.prompt.question
        if r.score is not None:
            by_topic.setdefault(q.topic_name, []).append(r.score)
        if r.main is not None:
            review += [
                ReviewPoint(q.text, point.text, point.citation)
                for i, point in enumerate(q.points)
                if r.credits.get(i, 0.0) < COVERED_AT
            ]
    means = sorted((round(sum(s) / len(s), 1), t, len(s)) for t, s in by_topic.items())
    return Report(
        session_id=session_id,
        rounds=tuple(rounds),
        topics=tuple(TopicScore(t, mean, k) for mean, t, k in means),
        weakest_topics=tuple(t for mean, t, _ in means if mean < WEAK_TOPIC),
        review=tuple(review),
        saved=tuple(saved),
    )
