"""The interviewer with a (fake, scripted) language model: same rubric, validated JSON, offline fallback."""

from __future__ import annotations

import json

from tests.helpers import scripted
from tutor.interview.interviewer import InterviewSession

DROPOUT_FULL = (
    "dropout随机丢弃神经元，降低模型复杂度起正则化作用；每次训练不同子网络类似bagging，预测时用全部单元相当于组合模型。"
)


def session_at_dropout(notes_tutor, model) -> InterviewSession:
    session = InterviewSession(
        notes_tutor.settings,
        n=12,
        persist=False,
        index=notes_tutor.index,
        embedder=notes_tutor.embedder,
        chat_model=model,
    )
    for _ in range(12):
        prompt = session.next_question()
        if "dropout" in prompt.text:
            return session
        session.skip()
    raise AssertionError("the dropout question was never asked")


def test_model_grades_against_the_notes_rubric(notes_tutor):
    probe = session_at_dropout(notes_tutor, None)
    n = len(probe.current.question.points)
    verdict = {"covered": [True] + [False] * (n - 1), "score": 35, "feedback": "only the definition"}
    model = scripted(json.dumps(verdict), "那从bagging的角度怎么理解？")
    session = session_at_dropout(notes_tutor, model)
    fb = session.submit("dropout就是随机丢掉一些神经元。")
    assert fb.score == 35 and fb.grader != "offline"
    assert len(fb.missed) == n - 1 and all("citation" in m for m in fb.missed)
    sent = "\n".join(str(m.content) for m in model.calls[0])
    assert all(p.text[:10] in sent for p in session.rounds[-1].prompt.question.points)  # the notes' key points
    assert fb.follow_up == "那从bagging的角度怎么理解？"
    # the part chips follow the model's verdict too: only point 1 (the definition) is covered
    parts = session.rounds[-1].prompt.question.parts
    assert parts and {p["part"]: p["coverage"] for p in fb.parts} == {
        part.label: round((0 in part.points) / len(part.points), 2) for part in parts
    }


def test_garbage_twice_falls_back_to_the_offline_grader(notes_tutor):
    model = scripted("not json", "{still not", "那从bagging的角度怎么理解？")
    session = session_at_dropout(notes_tutor, model)
    fb = session.submit(DROPOUT_FULL)
    offline = session_at_dropout(notes_tutor, None).submit(DROPOUT_FULL)
    assert fb.grader == "offline" and fb.score == offline.score > 0
    assert any("离线评分" in n or "offline" in n for n in fb.notices)
