"""The Interview tab: its pure render functions, the app over HTTP with gradio_client (two sessions interviewing at
once, failing answers, saving an answer), and one run in a real headless Chromium (screenshots in test-output/e2e/)."""

from __future__ import annotations

import shutil
import threading
import zipfile
from pathlib import Path

import pytest
from gradio_client import Client

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, Tags, isolated_dirs, serve
from tutor.config import Settings
from tutor.index.store import build_index
from tutor.interview.progress import ProgressStore
from tutor.web import render_interview as ri

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "test-output" / "e2e"
NOTE = "corpus/notes.md"
LINES = [f"line {i} text" for i in range(1, 21)]
XSS = "<img src=x onerror=alert(1)>"
DROPOUT = "dropout在训练时按比例随机丢掉一些神经元，防止过拟合；每次相当于一个不同的网络结构，类似bagging。"
GRADIENT = (
    "梯度消失和梯度爆炸是因为网络太深，反向传播时梯度连乘：大于1就指数增长，发生梯度爆炸；小于1就指数衰减，发生梯度消失。"
    "解决方法有梯度剪切、换用ReLU激活函数和使用残差结构。"
)
LEARNING_RATE = (
    "学习速率太低收敛很慢，太高损失难以下降，可以把学习速率乘以0.1或10试试；还要检查权重初始化，用Xavier或He初始化。"
)


def cite(n: int, line: int, quote: str = "q") -> dict:
    return {"n": n, "source": NOTE, "heading_path": ["一、DNN", "1.3 dropout"], "line_start": line,
            "line_end": line, "quote": quote}  # fmt: skip


def feedback(**kw) -> dict:
    fb = {
        "question": "1.3 讲一下dropout？",
        "score": 62,
        "covered": ["dropout随机丢掉神经元"],
        "missed": [{"point": "相当于bagging", "citation": cite(2, 12)}],
        "reference_answer": "- dropout随机丢掉神经元 [1]\n- 相当于bagging [2]",
        "citations": [cite(1, 10), cite(2, 12)],
        "follow_up": "那从bagging的角度怎么理解？",
        "parts": [{"part": "bagging", "coverage": 0.2, "covered": False, "points": [2]}],
        "notices": [],
    }
    return fb | kw


def lines_of(source: str) -> list[str]:
    return LINES if source == NOTE else []


# ---------------------------------------------------------------- pure render functions


def test_feedback_card_scores_lists_points_and_cites_the_missed_ones():
    html = ri.render_feedback(feedback(), "iv3", lines_of, answer="my answer")
    assert 'aria-valuenow="62"' in html and "width:62.0%" in html and "band-mid" in html
    assert '<li class="iv-covered">✓ dropout随机丢掉神经元</li>' in html
    missed = html.split('<li class="iv-missed">')[1].split("</li>")[0]
    assert "相当于bagging" in missed and '<a class="cite" href="#src-iv3-2"' in missed
    assert "notes.md:12" in missed and 'title="corpus/notes.md › 一、DNN › 1.3 dropout › line 12"' in missed
    source = html.split('id="src-iv3-2"')[1].split("</details>")[0]  # the chat's source block: lines 10-14
    assert '<div class="ln-row hit"><span class="ln">12</span><span class="lt">line 12 text</span>' in source
    assert source.count('class="ln-row') == 5
    assert 'href="#src-iv3-1"' in html.split("iv-reference")[1]  # the reference answer's [n] link to sources
    assert "那从bagging的角度怎么理解？" in html and "follow-up · 追问" in html
    assert '<span class="iv-part gap">bagging 20%</span>' in html and "my answer" in html


def test_feedback_card_lists_the_contradicted_points_with_their_lines():
    denied = {"point": "预测时使用全部的units", "citation": cite(2, 12)}
    html = ri.render_feedback(feedback(contradicted=[denied]), "iv4", lines_of)
    item = html.split('<li class="iv-contradicted">')[1].split("</li>")[0]
    assert "Contradicted · 与笔记相反 (1)" in html
    assert item.startswith("≠ 预测时使用全部的units") and "notes.md:12" in item and 'href="#src-iv4-2"' in item
    assert "iv-contradicted" not in ri.render_feedback(feedback(), "iv5", lines_of)


def test_score_bar_bands_clamps_and_says_when_there_is_no_reference():
    assert "band-low" in ri.score_bar(12) and "band-good" in ri.score_bar(75) and "band-top" in ri.score_bar(95)
    assert "width:100.0%" in ri.score_bar(140) and "width:0.0%" in ri.score_bar(-3)
    none = ri.score_bar(None, "笔记里没有这道题的参考答案")
    assert "no reference answer in your notes" in none and "笔记里没有这道题的参考答案" in none
    assert "iv-fill" not in none
    card = ri.render_feedback(
        feedback(score=None, covered=[], missed=[], reference_answer="", citations=[]), "iv1", lines_of
    )
    assert "no reference answer in your notes" in card and "Sources" not in card and "Missed" not in card


def test_question_card_counts_and_marks_follow_ups():
    prompt = {"question": "1.5 梯度消失？", "topic": "DNN", "number": 2, "of": 5, "follow_up": False,
              "has_reference": True}  # fmt: skip
    card = ri.render_question_card(prompt)
    assert "Question 2 of 5" in card and "DNN" in card and "follow-up" not in card and "iv-noref" not in card
    follow = ri.render_question_card(prompt | {"follow_up": True, "question": "那原因呢？", "main_question": "1.5"})
    assert "follow-up · 追问" in follow and "那原因呢？" in follow and "on · 关于: 1.5" in follow
    assert "not scored" in ri.render_question_card(prompt | {"has_reference": False})
    assert "press Start" in ri.render_question_card(None) and "report is below" in ri.render_question_card(None, True)


def test_report_scores_each_question_names_weak_topics_and_cites_what_to_review():
    report = {
        "asked": 3, "answered": 2, "mean_score": 45.0,
        "questions": [
            {"question": "1.3 dropout？", "topic": "DNN", "score": 30, "skipped": False,
             "follow_ups": [{"question": "那bagging呢？", "score": 80}]},
            {"question": "1.1 激活函数？", "topic": "DNN", "score": None, "skipped": False, "follow_ups": []},
            {"question": "4.1 不收敛？", "topic": "工程方面", "score": None, "skipped": True, "follow_ups": []},
        ],
        "topics": [{"topic": "DNN", "mean_score": 30.0, "questions": 1}],
        "weakest_topics": ["DNN"],
        "review": [{"question": "1.3 dropout？", "point": "相当于bagging", "citation": cite(4, 12)},
                   {"question": "1.3 dropout？", "point": "units个数", "citation": cite(2, 11)}],
        "saved": ["my-answers.md"],
    }  # fmt: skip
    html = ri.render_report(report, lines_of, "r1")
    assert "2 of 3 answered" in html and "mean score 45" in html
    assert '<span class="iv-chip band-low">30</span>' in html and "→ 80" in html
    assert "not scored" in html and "skipped" in html
    assert "Weakest · 最薄弱: DNN" in html
    assert 'href="#src-r1-1"' in html and 'href="#src-r1-2"' in html  # renumbered across the report
    assert 'id="src-r1-1"' in html and "line 12" in html and "saved to my-answers.md" in html


def test_mastery_series_follows_each_topics_latest_scores():
    attempts = [  # as history() returns them: newest first
        {"id": 4, "topic": "DNN", "question_id": "a", "score": 90, "follow_up": False, "created_at": "2025-01-03"},
        {"id": 3, "topic": "DNN", "question_id": "a", "score": 10, "follow_up": True, "created_at": "2025-01-02"},
        {"id": 2, "topic": "CNN", "question_id": "c", "score": None, "follow_up": False, "created_at": "2025-01-02"},
        {"id": 1, "topic": "DNN", "question_id": "b", "score": 40, "follow_up": False, "created_at": "2025-01-01"},
        {"id": 0, "topic": "DNN", "question_id": "a", "score": 20, "follow_up": False, "created_at": "2025-01-01"},
    ]
    assert ri.mastery_series(attempts) == {
        "DNN": [(1, "2025-01-01", 20.0), (2, "2025-01-01", 30.0), (3, "2025-01-03", 65.0)]
    }


def test_mastery_chart_is_an_svg_with_escaped_labels():
    series = {"DNN": [(1, "2025-01-01T10:00", 20.0), (2, "2025-01-02T10:00", 65.0)], XSS: [(3, "2025-01-03", 80.0)]}
    html = ri.render_mastery_chart(series)
    tags = Tags(html).tags
    assert [t for t, _ in tags].count("svg") == 1 and [t for t, _ in tags].count("polyline") == 2
    assert not [t for t, _ in tags if t in ("img", "script")]
    assert not [k for _, attrs in tags for k in attrs if k.startswith("on")]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<strong>65</strong>" in html
    assert "2025-01-01" in html and "2025-01-03" in html  # the time axis runs from the first to the last answer
    assert "Answer a few questions" in ri.render_mastery_chart({})


@pytest.mark.parametrize("payload", [XSS, "<script>alert(2)</script>", '"><svg onload=alert(3)>'])
def test_answer_and_note_text_stays_inert_everywhere(payload):
    fb = feedback(question=payload, covered=[payload], missed=[{"point": payload, "citation": cite(1, 3, payload)}],
                  reference_answer=f"- {payload} [1]", follow_up=payload, notices=[payload])  # fmt: skip
    html = ri.render_feedback(fb, "iv1", lambda _s: [payload] * 5, answer=payload, saved=payload)
    html += ri.render_question_card(
        {"question": payload, "topic": payload, "main_question": payload, "follow_up": True}
    )
    html += ri.render_report({"questions": [{"question": payload, "topic": payload, "score": 5, "follow_ups": []}],
                              "topics": [{"topic": payload, "mean_score": 5}], "weakest_topics": [payload],
                              "review": [{"question": payload, "point": payload, "citation": cite(1, 3)}]}, lines_of)  # fmt: skip
    tags = Tags(html).tags
    assert not [t for t, _ in tags if t in ("img", "script", "svg")]
    assert not [k for _, attrs in tags for k in attrs if k.startswith("on")]


# ---------------------------------------------------------------- the app over HTTP


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A private copy of the notes (saving an answer writes into it) and one app for the module."""
    with isolated_dirs(tmp_path_factory, "interview-ui") as base:
        shutil.copytree(REPO / "corpus", base / "corpus", ignore=shutil.ignore_patterns("references"))
        settings = Settings(corpus_dir=base / "corpus", index_dir=base / "index", data_dir=base / "data")
        build_index(settings)
        demo = serve(settings)
        try:
            yield demo.local_url, settings
        finally:
            demo.close()


class Interviewer:
    """One browser session over the API: every call returns the tab's HTML pieces and its data."""

    def __init__(self, url: str) -> None:
        self.client = Client(url, verbose=False)

    def call(self, endpoint: str, *args) -> dict:
        *shown, data = self.client.predict(*args, api_name=endpoint)
        # a component updated with interactive= or visible= comes as a dict holding its value
        question, box, message, fb, report, chart = [v.get("value") if isinstance(v, dict) else v for v in shown]
        html = {"question": question, "message": message or "", "feedback": fb, "report": report, "chart": chart}
        return data | {"html": html, "box": box}

    def start(self, topic: str, n: int = 5, scored: bool | None = True) -> dict:
        """Start, then skip to a question the notes answer (scored) or do not (scored=False)."""
        view = self.call("/interview_start", topic, n)
        while scored is not None and view["question"] and view["question"]["has_reference"] != scored:
            view = self.call("/interview_skip")
        assert view["question"], view
        return view

    def answer(self, text: str) -> dict:
        return self.call("/interview_submit", text)


def test_two_sessions_interview_at_once_and_never_cross_answers(app):
    url, settings = app
    first, second = Interviewer(url), Interviewer(url)
    asked = {"first": first.start("DNN"), "second": second.start("工程方面", n=2)}
    assert asked["first"]["session_id"] != asked["second"]["session_id"]
    assert asked["first"]["question"]["topic"] == "DNN" and asked["second"]["question"]["topic"] == "工程方面"
    got: dict[str, dict] = {}
    threads = [
        threading.Thread(target=lambda: got.__setitem__("first", first.answer(DROPOUT))),
        threading.Thread(target=lambda: got.__setitem__("second", second.answer(LEARNING_RATE))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for who in ("first", "second"):
        fb = got[who]["feedback"]
        assert fb["question"] == asked[who]["question"]["question"] and fb["score"] is not None
        assert got[who]["box"] == ""  # a graded answer leaves the box empty for the next one
    assert got["first"]["feedback"]["score"] >= 30 and got["second"]["feedback"]["score"] >= 30
    assert "iv-score-num" in got["first"]["html"]["feedback"] and "Missed" in got["first"]["html"]["feedback"]
    assert "<svg" in got["first"]["html"]["chart"]  # the mastery chart has its first points
    with ProgressStore.for_settings(settings) as store:
        for who, text in (("first", DROPOUT), ("second", LEARNING_RATE)):
            rows = store.history(50, session_id=asked[who]["session_id"])
            assert [(r["question"], r["answer"]) for r in rows] == [(asked[who]["question"]["question"], text)]


def test_a_failing_empty_or_huge_answer_shows_a_message_and_the_session_goes_on(app, monkeypatch):
    from tutor.interview.grading import Grader

    me = Interviewer(app[0])
    asked = me.start("DNN")["question"]

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(Grader, "assess", broken)  # what grade() scores with
    view = me.answer(DROPOUT)
    assert "Something went wrong grading this answer (RuntimeError)" in view["html"]["message"]
    assert view["question"] == asked and view["box"] == DROPOUT  # still waiting, the answer still typed
    monkeypatch.undo()
    view = me.answer("   ")
    assert "Type your answer first" in view["html"]["message"] and view["question"] == asked
    view = me.answer("dropout随机丢掉神经元。" * 20_000)
    assert view["feedback"]["question"] == asked["question"] and view["html"]["message"] == ""
    assert (
        "only the first 4000 were graded" in view["html"]["feedback"] or "只评了前 4000 字" in view["html"]["feedback"]
    )


def test_an_unscored_answer_is_saved_to_my_answers_and_the_chat_can_cite_it(app):
    url, settings = app
    me = Interviewer(url)
    asked = me.start("CNN", n=1, scored=False)["question"]
    view = me.answer(f"1x1卷积核可以升维降维、跨通道融合信息。{XSS}")
    assert view["feedback"]["score"] is None and view["can_save"] and view["report"] is not None
    assert "no reference answer in your notes" in view["html"]["feedback"] and "/save" not in view["html"]["feedback"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in view["html"]["feedback"] and XSS not in view["html"]["feedback"]
    view = me.call("/interview_save")
    assert view["saved"] == "corpus/my-answers.md" and not view["can_save"]
    assert "saved to corpus/my-answers.md" in view["html"]["feedback"]
    saved = (settings.corpus_path / "my-answers.md").read_text(encoding="utf-8")
    assert asked["question"] in saved and "跨通道融合信息" in saved
    chat, _ = me.client.predict("1x1卷积核有什么作用？", api_name="/ask")  # the shared index was reloaded
    assert "corpus/my-answers.md" in "".join(part["text"] for part in chat[-1]["content"])


# ---------------------------------------------------------------- in a real browser


@pytest.mark.e2e
@pytest.mark.slow
def test_interview_in_the_browser_answer_see_feedback_open_a_citation(app):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(app[0])
            expect(page.locator(".index-status.ready")).to_be_visible(timeout=30_000)
            page.get_by_role("tab", name="Interview · 模拟面试").click()
            page.locator("#iv-topic input").click()
            page.get_by_role("option", name="DNN (5)").click()
            page.locator("#iv-start").click()
            card = page.locator("#iv-question .iv-q-text")
            expect(page.locator("#iv-question .iv-q-count")).to_contain_text("Question 1 of 5")
            for _ in range(5):  # past the questions the notes do not answer
                if not page.locator("#iv-question .iv-noref").count():
                    break
                shown = card.inner_text()
                page.locator("#iv-skip").click()
                expect(card).not_to_have_text(shown)
            expect(page.locator("#iv-question .iv-noref")).to_have_count(0)
            text = card.inner_text()
            page.locator("#iv-answer textarea").fill(
                GRADIENT if "梯度" in text else DROPOUT if "dropout" in text else LEARNING_RATE
            )
            page.locator("#iv-submit").click()
            fb = page.locator("#iv-feedback .iv-feedback")
            expect(fb.locator(".iv-score-num")).to_be_visible(timeout=30_000)
            expect(fb.locator(".iv-missed").first).to_be_visible()
            fb.locator(".iv-missed a.cite").first.click()
            anchor = fb.locator(".iv-missed a.cite").first.get_attribute("href")
            source = page.locator(anchor)
            expect(source).to_have_attribute("open", "")
            expect(source.locator(".ln-row.hit")).to_be_visible()
            expect(source.locator(".ln-row.hit").first).to_contain_text(
                fb.locator(".iv-missed").first.inner_text()[2:8]
            )
            page.screenshot(path=OUT / "interview.png", full_page=True)

            page.locator("#iv-answer textarea").fill(XSS)  # the next answer is markup: shown as text, never run
            page.locator("#iv-submit").click()
            expect(page.locator("#iv-feedback-iv2 .iv-your-answer")).to_contain_text(XSS, timeout=30_000)
            page.locator("#iv-finish").click()
            expect(page.locator("#iv-report .iv-report-title")).to_be_visible()
            expect(page.locator("#iv-mastery svg polyline").first).to_be_attached()
            page.screenshot(path=OUT / "interview-report.png", full_page=True)
            assert page.locator("img[src='x']").count() == 0 and dialogs == []
        finally:
            browser.close()


def test_the_interview_tab_exports_an_anki_deck_of_the_chosen_topic(app):
    url, _ = app
    client = Client(url, verbose=False)
    deck, message = client.predict("", api_name="/interview_export_anki")
    path = deck.get("value") if isinstance(deck, dict) else deck
    assert path and Path(path).suffix == ".apkg" and zipfile.is_zipfile(path), (deck, message)
    deck, message = client.predict("no such topic", api_name="/interview_export_anki")
    shown = message.get("value") if isinstance(message, dict) else message
    assert "no such topic" in shown and "DNN" in shown
