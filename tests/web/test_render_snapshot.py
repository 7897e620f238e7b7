"""Every render function's HTML over representative inputs (HTML-laden note and answer text among them), compared
byte for byte with tests/data/render_snapshot.json: moving markup between Python and templates/ changes no page.

A deliberate change to the page's HTML: `python -m tests.web.test_render_snapshot --write`, and review the diff.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tutor.types import Answer, Citation, Passage
from tutor.web import render, render_interview, render_markdown

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "render_snapshot.json"
NOTE = "corpus/notes.md"
XSS = '<img src=x onerror=alert(1)> & "q" <script>alert(2)</script>'
LINES = [f"line {i} **text** `code` https://a.example/x?y=1&z=2" for i in range(1, 21)]
LINES[11] = f"line 12 {XSS} $\\hat{{y}}_i$ [3]"


def lines_of(source: str) -> list[str]:
    return LINES if source == NOTE else []


def cite(n: int, line: int, quote: str = "q") -> dict:
    return {"n": n, "source": NOTE, "heading_path": ["一、DNN", "1.3 dropout"], "line_start": line,
            "line_end": line + (n % 2), "quote": quote}  # fmt: skip


def feedback(**kw) -> dict:
    fb = {
        "question": "1.3 讲一下dropout？",
        "score": 62,
        "reason": None,
        "covered": ["dropout随机丢掉神经元", f"**bold** {XSS}"],
        "missed": [{"point": "相当于bagging", "citation": cite(2, 12)}, {"point": XSS}],
        "contradicted": [{"point": "预测时使用全部的units", "citation": cite(1, 3)}],
        "reference_answer": f"- dropout随机丢掉神经元 [1]\n- 相当于bagging [2]\n\n{XSS} $x_1$",
        "citations": [cite(1, 10), cite(2, 12)],
        "follow_up": f"那从bagging的角度怎么理解？{XSS}",
        "parts": [
            {"part": "bagging", "coverage": 0.2, "covered": False},
            {"part": XSS, "coverage": 0.91, "covered": True},
        ],
        "notices": [XSS, "a notice"],
        "is_follow_up": True,
    }
    return fb | kw


PROMPT = {"question": "1.5 梯度消失？", "topic": "DNN", "number": 2, "of": 5, "follow_up": False, "has_reference": True}
REPORT = {
    "asked": 3, "answered": 2, "mean_score": 45.5,
    "questions": [
        {"question": "1.3 dropout？", "topic": "DNN", "score": 30, "skipped": False,
         "follow_ups": [{"question": f"那bagging呢？{XSS}", "score": 80}, {"question": "x", "score": None}]},
        {"question": XSS, "topic": XSS, "score": None, "skipped": False, "follow_ups": []},
        {"question": "4.1 不收敛？", "topic": "工程方面", "score": None, "skipped": True, "follow_ups": []},
    ],
    "topics": [{"topic": "DNN", "mean_score": 30.0, "questions": 1}, {"topic": XSS, "mean_score": 72.25}],
    "weakest_topics": ["DNN", XSS],
    "review": [{"question": "1.3 dropout？", "point": "相当于bagging", "citation": cite(4, 12)},
               {"question": "1.3 dropout？", "point": f"units个数 {XSS}", "citation": cite(2, 11)},
               {"question": XSS, "point": "", "citation": cite(3, 1)}],
    "saved": ["my-answers.md", XSS],
}  # fmt: skip
SERIES = {
    "DNN": [(1, "2025-01-01T10:00", 20.0), (2, "2025-01-02T10:00", 65.0)],
    XSS: [(3, "2025-01-03", 80.0)],
    "CNN": [(4, "", 75.5), (5, "2025-01-03T09:30:12", 12.25)],
}
MASTERY = [
    {"topic": XSS, "mean_score": None, "questions": 2, "attempts": 0},
    {"topic": "DNN", "mean_score": 61.5, "questions": 3, "attempts": 7},
]
ANSWER_TEXT = f"""## Dropout 的作用 {XSS}

Dropout 在训练时随机丢掉神经元 [1]，测试时不丢 [2]。see https://en.wikipedia.org/wiki/Dropout_(neural_networks)
[a link](https://b.example/?a=1&b="2") and [bad](javascript:alert(1)) and $$\\sum_i x_i$$ costs $5 and $10.

1. **防止过拟合**：相当于训练很多子网络 [1]
2. ~~struck~~ *em*

```python
y = F.dropout(x)  # [1] {XSS}
```

| 阶段 | 做法 |
| --- | --- |
| 训练 | 随机丢弃 [1] |"""


def answer(**kw) -> Answer:
    citations = (
        Citation(1, NOTE, ("一、DNN", XSS), 10, 12, "q", related=True),
        Citation(2, NOTE, ("一、DNN",), 5, 60, XSS, verified=False),
        Citation(3, "gone.md", (), 1, 1, XSS),
        Citation(4, "refs/x.md", (), 2, 3, "q", url="https://a.example/p?x=1&y=<2>", title=XSS),
    )
    return Answer("dropout?\nand more", "dropout? " + XSS, "answered", ANSWER_TEXT, citations, **kw)


def cases() -> dict[str, Callable[[], str]]:
    ri, rm = render_interview, render_markdown
    status = render.index_status
    out: dict[str, Callable[[], str]] = {
        "md.link": lambda: rm.link("https://a.example/?q=<1>&r=2", XSS) + rm.link("javascript:alert(1)", XSS),
        "md.link_bare": lambda: rm.link("https://a.example/p") + rm.link("ftp://x", None),
        "md.cite_link": lambda: rm.cite_link(3, "iv<1>") + rm.cite_link("7", 2),
        "md.inline_note_lines": lambda: "\n".join(rm.inline(line) for line in [*LINES, XSS, "plain 中文"]),
        "md.inline_turn": lambda: rm.inline(f"see [1] and [2] $a_b$ and http://x.example/(a) {XSS}", 4),
        "md.answer_body": lambda: rm.answer_body(ANSWER_TEXT, 5),
        "render.answer": lambda: render.render_answer(answer(), 2, lines_of),
        "render.answer_more": lambda: render.render_answer(
            answer(
                more=(Passage(XSS, NOTE, ("a",), 3, 4), Passage("**b**", NOTE, (), 9, 9)),
                notices=(XSS,),
                general_answer=ANSWER_TEXT,
                generator="llm:<m>",
            ),
            3,
            lines_of,
        ),
        "render.partial": lambda: render.render_partial(ANSWER_TEXT, 1) + render.render_partial("  ", 1),
        "render.question": lambda: render.render_question(f"line one\nline two {XSS}\n\nend"),
        "render.question_cut": lambda: render.render_question(("问\n" + XSS) * 200),
        "render.problem": lambda: render.render_problem(XSS),
        "status.ready": lambda: status("ready", files=3, passages=120, when="2025-01-02T10:11:12.123"),
        "status.ready_one": lambda: status("ready", files=1, passages=1),
        "status.empty": lambda: status("empty", detail=f"/n/{XSS}"),
        "status.error": lambda: status("error", detail=XSS),
        "status.partial": lambda: status("partial", done=1234, total=56789, files=9, files_done=4, eta=f"3 min{XSS}"),
        "status.partial_kw": lambda: status("partial", detail="keyword", done=0, total=10, files=2),
        "status.building": lambda: status("building", detail=XSS, done=3, total=31, eta="1 min"),
        "status.building_bare": lambda: status("loading"),
        "iv.score_bars": lambda: "".join(ri.score_bar(s) for s in (12, 40, 69.95, 75, 95, 140, -3, 62.25, 100)),
        "iv.score_none": lambda: ri.score_bar(None, XSS) + ri.score_bar(None),
        "iv.question_idle": lambda: ri.render_question_card(None) + ri.render_question_card(None, True),
        "iv.question": lambda: ri.render_question_card(PROMPT | {"topic": XSS, "question": XSS}),
        "iv.question_follow": lambda: ri.render_question_card(PROMPT | {"follow_up": True, "main_question": XSS}),
        "iv.question_noref": lambda: ri.render_question_card({"has_reference": False}),
        "iv.feedback": lambda: ri.render_feedback(feedback(), "iv3", lines_of, answer=f"my {XSS}", saved=XSS),
        "iv.feedback_long": lambda: ri.render_feedback(feedback(is_follow_up=False), "iv<4>", lines_of, "答" * 2500),
        "iv.feedback_bare": lambda: ri.render_feedback(
            feedback(
                score=None,
                reason=XSS,
                covered=[],
                missed=[],
                contradicted=[],
                reference_answer="",
                citations=[],
                follow_up="",
                parts=[],
                notices=[],
                is_follow_up=False,
            ),
            "iv1",
            lines_of,
        ),
        "iv.feedback_empty": lambda: ri.render_feedback({}, "e", lines_of, answer="   "),
        "iv.report": lambda: ri.render_report(REPORT, lines_of, "r1"),
        "iv.report_none": lambda: ri.render_report(REPORT | {"mean_score": None, "weakest_topics": []}, lines_of),
        "iv.report_empty": lambda: ri.render_report({}, lines_of),
        "iv.chart": lambda: ri.render_mastery_chart(SERIES),
        "iv.chart_one": lambda: ri.render_mastery_chart({"DNN": [(1, "2025-01-01", 90.0)]}, 300, 100),
        "iv.chart_empty": lambda: ri.render_mastery_chart({}),
        "iv.topic_table": lambda: ri.render_topic_table(MASTERY) + ri.render_topic_table([]),
    }
    return out


def rendered() -> dict[str, str]:
    return {name: make() for name, make in cases().items()}


@pytest.mark.parametrize("name", sorted(cases()))
def test_the_html_is_byte_for_byte_the_snapshot(name):
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert cases()[name]() == expected[name]


def test_the_snapshot_covers_every_case():
    assert sorted(json.loads(SNAPSHOT.read_text(encoding="utf-8"))) == sorted(cases())


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    SNAPSHOT.write_text(json.dumps(rendered(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
