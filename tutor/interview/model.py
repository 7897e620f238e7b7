"""The interviewer with a language model: grading against the same rubric, follow-ups phrased by the model.

Both fall back to the offline grader / template when no model is configured or it fails.
"""

from __future__ import annotations

from dataclasses import replace

from tutor.answer.llm import grade_with_model, model_label, phrase_follow_up
from tutor.interview.grading import FollowUp, lang, with_coverage
from tutor.interview.rubric import Question
from tutor.types import Feedback

FALLBACK = {
    "zh": "语言模型评分失败，已用离线评分（对照笔记要点）。",
    "en": "The language model could not grade this; graded offline against the notes' key points.",
}


def model_grade(
    model, q: Question, answer: str, fb: Feedback, credits: dict[int, float]
) -> tuple[Feedback, dict[int, float]]:
    """The feedback and credits by the model's verdict per key point; the offline ones (with a notice) on failure."""
    if model is None or not credits or fb.score is None:
        return fb, credits
    chosen = sorted(credits)
    verdict = grade_with_model(model, q.text, [q.points[i].text for i in chosen], answer)
    if verdict is None:
        return replace(fb, notices=(*fb.notices, FALLBACK[lang(q)])), credits
    credits = {i: 1.0 if hit else 0.0 for i, hit in zip(chosen, verdict["covered"], strict=True)}
    fb = replace(fb, score=int(verdict["score"]), grader=model_label(model))
    return with_coverage(fb, q, credits), credits


def model_follow_up(model, q: Question, follow_up: FollowUp) -> FollowUp:
    """The same follow-up, worded by the model when one is configured."""
    if model is None:
        return follow_up
    text = phrase_follow_up(model, q.text, [q.points[i].text for i in follow_up.points], lang(q))
    return FollowUp(text, follow_up.points) if text else follow_up
