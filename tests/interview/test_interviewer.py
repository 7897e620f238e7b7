"""The mock interviewer on the real notes, with the real default embedder wherever grading quality is tested."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import parse
from tutor.cli.interview import cmd_grade, cmd_interview
from tutor.config import Settings
from tutor.index.embeddings import get_embeddings
from tutor.index.store import build_index, load_index
from tutor.interview.grading import Grader, grade, plan_follow_ups
from tutor.interview.interviewer import InterviewError, InterviewSession, filter_topic, save_user_answer
from tutor.interview.progress import ProgressStore
from tutor.interview.rubric import MY_ANSWERS, Question, build_bank, normalize_question
from tutor.search.retriever import Retriever

ROOT = Path(__file__).resolve().parents[2]
NOTES = "corpus/dl-interview-notes.md"
GRADED = [json.loads(line) for line in (ROOT / "tests/data/graded.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the notes with its index, built once per module (~2 s with the real embedder)."""
    root = tmp_path_factory.mktemp("interviewer")
    (root / "corpus").mkdir()
    shutil.copyfile(ROOT / NOTES, root / NOTES)  # the notes alone: fetched articles would change the rubric
    build_index(
        Settings(corpus_dir=root / "corpus", index_dir=root / "index", embeddings="e5-small-q4", fetch_links=False)
    )
    return root


@pytest.fixture(autouse=True)
def isolated(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notes, index and progress all under tmp paths: a test never touches the user's files."""
    monkeypatch.setenv("TUTOR_CORPUS_DIR", str(workspace / "corpus"))
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(workspace / "index"))
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUTOR_EMBEDDINGS", "e5-small-q4")


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def own_copy(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of notes and index, for tests that write into the corpus."""
    shutil.copytree(workspace / "corpus", tmp_path / "corpus")
    shutil.copytree(workspace / "index", tmp_path / "index")
    monkeypatch.setenv("TUTOR_CORPUS_DIR", str(tmp_path / "corpus"))
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(tmp_path / "index"))
    return Settings()


@pytest.fixture(scope="module")
def shared(workspace: Path):
    settings = Settings(corpus_dir=workspace / "corpus", index_dir=workspace / "index", embeddings="e5-small-q4")
    index = load_index(settings)
    bank = build_bank(index, settings)
    grader = Grader(index, bank, get_embeddings("e5-small-q4"))
    return index, bank, grader


def question(bank, start: str):
    return next(q for q in bank if q.text.startswith(start) or normalize_question(q.text) == normalize_question(start))


def lines_of(q) -> list[tuple[int, int]]:
    return [(p.citation.line_start, p.citation.line_end) for p in q.points]


# ---------------------------------------------------------------- question bank and rubric


def test_bank_holds_the_twelve_questions_of_the_notes(shared) -> None:
    _, bank, _ = shared
    assert len(bank) == 12
    assert [q.line_start for q in bank] == [3, 7, 11, 19, 23, 60, 62, 64, 70, 72, 78, 130]
    assert [q.topic_name for q in bank] == ["DNN"] * 5 + ["CNN"] * 3 + ["RNN"] * 2 + ["工程方面"] * 2
    assert {q.topic for q in bank} == {"一、DNN", "二、CNN", "三、RNN", "四、工程方面"}
    assert [q.text[:3] for q in bank if q.has_reference] == ["1.3", "1.5", "4.1"]
    assert question(bank, "1.4").kind == "link_only" and not question(bank, "1.4").has_reference
    batch = question(bank, "batch size")
    assert (batch.source, batch.line_start, batch.line_end, batch.topic_name) == (NOTES, 130, 130, "工程方面")
    assert len({q.id for q in bank}) == 12


def test_topic_filter_takes_the_heading_or_the_short_name(shared) -> None:
    _, bank, _ = shared
    assert len(filter_topic(bank, "dnn")) == 5
    assert len(filter_topic(bank, "一、DNN")) == 5
    assert [q.line_start for q in filter_topic(bank, "工程方面")] == [78, 130]
    with pytest.raises(InterviewError, match="DNN, CNN, RNN, 工程方面"):
        filter_topic(bank, "SVM")


def test_rubric_of_dropout_keeps_its_two_parts(shared) -> None:
    _, bank, _ = shared
    q = question(bank, "1.3")
    assert lines_of(q) == [(13, 13), (15, 15), (17, 17), (17, 17)]
    assert "复杂度" in q.points[1].text and "bagging" in q.points[2].text and "全部的units" in q.points[3].text
    parts = {p.label: [q.points[i].citation.line_start for i in p.points] for p in q.parts}
    assert parts == {"bagging": [17, 17], "正则化": [13, 15]}
    assert all(p.citation.source == NOTES and p.citation.quote == p.text for p in q.points)


def test_rubric_of_vanishing_gradients_drops_lead_ins_and_links(shared) -> None:
    _, bank, _ = shared
    q = question(bank, "1.5")
    # ten points, eight graded (the causes' share 4/10, the remedies' 6/10); the other two stay for narrow questions
    assert [s for s, _ in lines_of(q)] == [25, 29, 35, 39, 40, 41, 42, 44]
    assert [p.citation.line_start for p in q.more_points] == [33, 43]
    texts = " ".join(p.text for p in q.points + q.more_points)
    assert "解决办法" not in texts and "参考" not in texts and "http" not in texts and "角度去看" not in texts
    assert q.more_points[1].text == "使用残差结构"  # a list item is a point of its own, without its bullet
    assert [p.label for p in q.parts] == ["梯度消失和梯度爆炸的原因是什么", "有哪些解决方法"]
    assert [q.points[i].citation.line_start for i in q.parts[0].points] == [25, 29, 35]
    assert [q.points[i].citation.line_start for i in q.parts[1].points] == [39, 40, 41, 42, 44]


def test_rubric_of_not_converging_is_the_checklist_of_its_sub_sections(shared) -> None:
    _, bank, _ = shared
    q = question(bank, "4.1")
    assert lines_of(q) == [(82, 84), (86, 88), (90, 92), (96, 98), (100, 102), (106, 108), (112, 116), (118, 120)]
    assert [p.label for p in q.points][:2] == ["数据集中是否有太多的噪音？", "检查你的输入数据"]
    assert q.points[0].citation.heading_path[2] == "I. 数据集问题"
    assert q.points[6].citation.heading_path[2] == "IV. 训练问题"
    assert "乘以 0.1 或 10" in q.points[6].text and q.points[6].text.startswith("增加、减少学习速率")


REFERENCE = """---
url: https://zhuanlan.zhihu.com/p/34879333
title: Batch Normalization原理
linked_from:
- corpus/dl-interview-notes.md:21
---
# Batch Normalization原理

Batch Normalization对每个mini-batch的输入做归一化，使其均值为0、方差为1，再用可学习的缩放和平移参数恢复表达能力。

它缓解了内部协变量偏移，让网络可以使用更大的学习率，训练收敛更快，还有一定的正则化效果。
"""


def test_a_link_only_question_is_answered_by_its_fetched_article(own_copy: Settings) -> None:
    (own_copy.corpus_path / "references").mkdir(exist_ok=True)
    (own_copy.corpus_path / "references" / "batchnorm.md").write_text(REFERENCE, encoding="utf-8")
    build_index(own_copy)
    bank = build_bank(load_index(own_copy), own_copy)
    q = question(bank, "1.4")
    assert len(bank) == 12 and q.has_reference and len(q.points) == 2
    cite = q.points[0].citation
    assert cite.url == "https://zhuanlan.zhihu.com/p/34879333" and cite.source == "corpus/references/batchnorm.md"
    assert (cite.line_start, q.points[1].citation.line_start) == (9, 11)  # lines of the stored copy
    grader = Grader(load_index(own_copy), bank, get_embeddings(own_copy.embeddings))
    answer = "BN把每个batch的输入归一化到均值0方差1，再学习缩放和平移。它缓解内部协变量偏移，能用更大的学习率，收敛更快，也有正则化效果。"
    fb, _ = grade(grader, q, answer)
    assert fb.score >= 70 and fb.citations[0]["url"] == cite.url


# ---------------------------------------------------------------- grading


def test_graded_answers_are_ordered_by_quality(shared) -> None:
    _, bank, grader = shared
    scores: dict[str, dict[str, list[int]]] = {}
    for row in GRADED:
        q = question(bank, row["question"])
        fb, _ = grade(grader, q, row["answer"])
        scores.setdefault(q.text[:3], {}).setdefault(row["level"], []).append(fb.score)
    assert set(scores) == {"1.3", "1.5", "4.1"}
    for name, levels in scores.items():
        low = max(levels["wrong"] + levels["empty"])
        assert min(levels["full"]) > max(levels["partial"]) > low, (name, levels)
        assert min(levels["partial"]) > low or min(levels["partial"]) > max(levels["empty"]), (name, levels)
        assert min(levels["english_full"]) > max(levels["partial"]), (name, levels)
        assert max(levels["empty"]) <= 10 and max(levels["wrong"]) <= 10, (name, levels)
        assert min(levels["full"] + levels["english_full"]) >= 70, (name, levels)


@pytest.mark.parametrize(
    "answer",
    ["", "   ", "不知道", "I don't know", "今天天气不错，我们去公园散步吧。", "The capital of France is Paris."],
)
def test_non_answers_score_near_zero(shared, answer: str) -> None:
    _, bank, grader = shared
    for start in ("1.3", "1.5", "4.1"):
        fb, _ = grade(grader, question(bank, start), answer)
        assert fb.score is not None and fb.score <= 10, (start, answer, fb.score)


@pytest.mark.parametrize("answer", ["No idea, to be honest.", "不知道，没学过。", "I don't remember how it works."])
def test_a_non_answer_contradicts_nothing(shared, answer: str) -> None:
    _, bank, grader = shared
    for start in ("1.3", "1.5", "4.1"):
        fb, _ = grade(grader, question(bank, start), answer)
        assert fb.score is not None and fb.score <= 10 and not fb.contradicted, (start, answer, fb)


def test_a_thin_one_liner_scores_well_below_a_full_answer(shared) -> None:
    _, bank, grader = shared
    q = question(bank, "1.5")
    full = next(r["answer"] for r in GRADED if r["level"] == "full" and r["question"].startswith("梯度消失"))
    thin, _ = grade(grader, q, "网络太深，梯度连乘。")
    rich, _ = grade(grader, q, full)
    assert thin.score + 50 <= rich.score


def test_feedback_cites_the_missed_points(shared) -> None:
    _, bank, grader = shared
    q = question(bank, "1.3")
    fb, credits = grade(grader, q, "dropout就是训练的时候随机丢掉一些神经元，可以防止过拟合。")
    d = fb.to_dict()
    assert {"question", "score", "covered", "missed", "reference_answer", "citations", "follow_up", "parts"} <= set(d)
    assert isinstance(d["score"], int) and 0 < d["score"] < 70
    assert d["covered"] == [q.points[0].text]
    missed_lines = [m["citation"]["line_start"] for m in d["missed"]]
    assert missed_lines == [15, 17, 17]
    assert d["missed"][0]["citation"] == q.points[1].citation.to_dict()
    assert set(d["citations"][0]) == {"n", "source", "heading_path", "line_start", "line_end", "quote"}
    assert "[1]" in d["reference_answer"] and "[4]" in d["reference_answer"]
    bagging = next(p for p in d["parts"] if p["part"] == "bagging")
    assert not bagging["covered"] and bagging["points"] == [3, 4]
    assert plan_follow_ups(q, credits)[0].text == "那从bagging的角度怎么理解？"
    json.dumps(d, ensure_ascii=False)


def test_an_answer_that_denies_a_point_gets_no_credit_for_it_and_is_told_so(shared) -> None:
    _, bank, grader = shared
    q = question(bank, "4.1")
    labels = next(i for i, p in enumerate(q.points) if "手动检查" in p.text)
    agrees, credits = grade(
        grader, q, "数据里错误标签太多时网络学不到东西，要手动检查一些输入样本，看标签是否大致正确。"
    )
    denies, denied = grade(grader, q, "数据里错误标签太多也没关系，一般不需要手动检查输入样本和标签。")
    assert credits[labels] >= 0.5 and not agrees.contradicted
    assert denied[labels] == 0.0
    assert [c["point"] for c in denies.to_dict()["contradicted"]] == [q.points[labels].text]
    assert denies.contradicted[0]["citation"] == q.points[labels].citation.to_dict()
    assert denies.score < agrees.score


def test_feedback_says_which_part_was_missed(shared) -> None:
    _, bank, grader = shared
    q = question(bank, "1.3")
    fb, credits = grade(grader, q, "dropout就是训练时随机丢掉一些神经元，防止过拟合；units少了，模型复杂度就低了。")
    assert [m["citation"]["line_start"] for m in fb.missed] == [17, 17]
    assert {p["part"]: p["covered"] for p in fb.parts} == {"bagging": False, "正则化": True}
    fb, credits = grade(
        grader, q, "每次丢掉的神经元不同，相当于训练不同的子网络；预测时用全部神经元，相当于把这些模型组合起来。"
    )
    assert {p["part"]: p["covered"] for p in fb.parts} == {"bagging": True, "正则化": False}
    assert plan_follow_ups(q, credits)[0].text == "那从正则化的角度怎么理解？"


def test_huge_and_garbled_answers_are_graded_without_a_crash(shared) -> None:
    _, bank, grader = shared
    q = question(bank, "4.1")
    huge = "".join(f"第{i}点，检查输入数据和学习率。" for i in range(10_000))[:100_000]
    started = time.perf_counter()
    fb, _ = grade(grader, q, huge)
    assert isinstance(fb.score, int) and any("100000" in n for n in fb.notices)
    assert time.perf_counter() - started < 20
    fb, _ = grade(grader, q, "学习率\x00太大\ud800，\x1b[31m初始化\u202e不好\ufeff")
    assert isinstance(fb.score, int)
    json.dumps(fb.to_dict(), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- the session and follow-ups


def test_session_drills_a_missed_part_then_moves_on(shared, settings: Settings, tmp_path: Path) -> None:
    index, bank, grader = shared
    store = ProgressStore(tmp_path / "p.sqlite3")
    session = InterviewSession(settings, topic="工程方面", n=1, store=store, index=index, grader=grader)
    first = session.next_question()
    assert first.question.text.startswith("4.1") and not first.follow_up and session.next_question() is first
    fb = session.submit("可能是学习率没设好，把学习率调小一点试试。")
    assert fb.score < 30 and fb.follow_up == "那「数据集中是否有太多的噪音？」这一点呢？具体说说。"
    up = session.next_question()
    assert up.follow_up and up.points == (0,) and up.to_dict()["main_question"] == first.question.text
    drilled = session.submit("错误标签太多的话网络学不到东西，要手动检查一些样本看标签对不对。")
    assert drilled.is_follow_up and drilled.score >= 70 and len(drilled.citations) == 1
    second = session.next_question()
    assert second.follow_up and second.points == (1,)
    session.submit("不知道")
    assert session.next_question() is None  # two follow-ups at most, and n=1
    report = session.report()
    assert report["questions"][0]["score"] == fb.score
    assert [u["score"] for u in report["questions"][0]["follow_ups"]] == [drilled.score, 0]
    assert report["weakest_topics"] == ["工程方面"]
    assert 82 not in [r["citation"]["line_start"] for r in report["review"]]  # recovered by the follow-up
    assert {r["citation"]["line_start"] for r in report["review"]} >= {86, 90, 96}
    history = store.history()
    assert [h["follow_up"] for h in history] == [True, True, False]


def test_session_asks_unanswerable_questions_and_saves_the_answer(own_copy: Settings, tmp_path: Path) -> None:
    notes = own_copy.corpus_path / "dl-interview-notes.md"
    before = hashlib.sha256(notes.read_bytes()).digest()
    session = InterviewSession(own_copy, topic="CNN", n=1, store=ProgressStore(tmp_path / "p.sqlite3"))
    prompt = session.next_question()
    assert prompt.question.line_start == 60 and not prompt.question.has_reference
    answer = "1x1的卷积核可以在不改变特征图大小的情况下升维或降维，跨通道融合信息，还能减少参数量。"
    fb = session.submit(answer)
    assert fb.score is None and "没有这道题的参考答案" in fb.reason and any("/save" in n for n in fb.notices)
    path = session.save_last_answer()
    assert path == own_copy.corpus_path / MY_ANSWERS
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# 我的答案") and f"## {prompt.question.text}" in text and answer in text
    assert hashlib.sha256(notes.read_bytes()).digest() == before
    save_user_answer(own_copy, prompt.question, "# 还有：1x1卷积引入更多非线性。", reindex=False)
    text = path.read_text(encoding="utf-8")
    assert text.count(f"## {prompt.question.text}") == 1 and "\\# 还有" in text
    build_index(own_copy)
    index = load_index(own_copy)
    assert len(build_bank(index, own_copy)) == 12  # saved answers never become questions of their own
    retrieval = Retriever(index, get_embeddings(own_copy.embeddings)).search("1x1的卷积核有什么作用？")
    assert any(h.chunk.source == f"corpus/{MY_ANSWERS}" for h in retrieval.hits)
    assert not list(own_copy.corpus_path.glob(".my-answers*"))  # no temp file left behind


# ---------------------------------------------------------------- the JSON-lines front ends


def run(cmd, argv: list[str], stdin: str, settings: Settings) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    code = cmd(parse(argv), settings, io.StringIO(stdin), out, err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_grade_json_lines(settings: Settings) -> None:
    lines = [
        {"question": "讲一下你怎么理解dropout，分别从bagging和正则化的角度？", "answer": GRADED[0]["answer"]},
        {"question": "SVM的核函数有哪些？", "answer": "线性核、多项式核、RBF核"},
        "{not json",
        {"question": 3},
        {"question": "梯度消失是什么原因造成的，怎么解决", "answer": "网络太深，连乘；用残差结构和batchnorm。"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    code, out, _ = run(cmd_grade, ["grade", "--json"], stdin, settings)
    assert code == 0 and len(out) == 5
    full, unknown, bad, wrong_type, matched = out
    assert full["score"] >= 70 and full["follow_up"] is None and full["citations"][0]["line_start"] == 13
    assert unknown["score"] is None and unknown["reason"] and unknown["missed"] == []
    assert "error" in bad and "error" in wrong_type
    assert matched["matched_question"].startswith("1.5") and 0 < matched["score"] < 70 and matched["follow_up"]


def test_interview_json_protocol_with_save(own_copy: Settings) -> None:
    stdin = "\n".join(["1x1卷积可以升维降维、跨通道融合信息，还能增加非线性。", "/save", "/skip"]) + "\n"
    code, out, _ = run(cmd_interview, ["interview", "--json", "--topic", "cnn", "--n", "3"], stdin, own_copy)
    assert code == 0
    # the next question comes right after the feedback; "/save" then refers to the answer before it
    assert [o["type"] for o in out] == ["question", "feedback", "question", "saved", "question", "report"]
    q, fb, second, saved, third, report = out
    assert q["line_start"] == 60 and q["has_reference"] is False and q["follow_up"] is False and q["topic"] == "CNN"
    assert fb["score"] is None and fb["reason"]
    assert saved["file"] == f"corpus/{MY_ANSWERS}" and (own_copy.corpus_path / MY_ANSWERS).is_file()
    assert (second["line_start"], third["line_start"]) == (62, 64)
    assert report["asked"] == 3 and report["questions"][1]["skipped"] and report["saved"] == [MY_ANSWERS]


def test_interview_json_protocol_with_follow_up(settings: Settings) -> None:
    stdin = "可能是学习率没设好，把学习率调小一点试试。\n/quit\n"
    code, out, err = run(cmd_interview, ["interview", "--json", "--topic", "工程方面", "--n", "1"], stdin, settings)
    assert code == 0, err
    assert [o["type"] for o in out] == ["question", "feedback", "question", "report"]
    assert out[1]["follow_up"] == out[2]["question"] and out[2]["follow_up"] is True
    assert out[3]["questions"][0]["score"] == out[1]["score"]
    with ProgressStore.for_settings(settings) as store:
        assert [h["score"] for h in store.history()] == [out[1]["score"]]


def test_interview_text_mode_and_bad_usage(settings: Settings, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cmd_interview(parse(["interview", "--topic", "RNN", "--n", "1"]), settings, io.StringIO("不会\n"), out, err)
    assert code == 0 and "手推RNN和LSTM结构" in out.getvalue() and "不评分" in out.getvalue()
    for cmd, argv in ((cmd_interview, ["interview", "--n", "0"]), (cmd_interview, ["interview", "--topic", "SVM"]),
                      (cmd_grade, ["grade", "--answer", "x"])):  # fmt: skip
        err = io.StringIO()
        assert cmd(parse(argv), settings, io.StringIO(""), io.StringIO(), err) == 2
        assert err.getvalue().strip()
    missing = Settings(corpus_dir=tmp_path / "missing")
    for cmd, argv in ((cmd_interview, ["interview"]), (cmd_grade, ["grade", "--json"])):
        err = io.StringIO()
        assert cmd(parse(argv), missing, io.StringIO(""), io.StringIO(), err) == 1
        assert "no notes folder" in err.getvalue()


def test_a_follow_up_counts_the_same_number_of_questions_as_its_main_question(shared, settings: Settings) -> None:
    index, _, grader = shared
    session = InterviewSession(settings, topic="工程方面", n=12, persist=False, index=index, grader=grader)
    first = session.next_question()
    session.submit("可能是学习率没设好。")
    up = session.next_question()
    assert up.follow_up and (up.number, up.of) == (first.number, first.of) == (1, 2)  # 4.1 and batch size


def test_the_vector_cache_when_full_still_returns_every_text_asked_for(monkeypatch) -> None:
    from tutor.interview import grading

    embedder = get_embeddings("hash:16")
    monkeypatch.setattr(grading, "MAX_CACHED_VECTORS", 3)
    grading.embed_queries(embedder, [f"t{i}" for i in range(5)])  # over the limit: cleared on the next call
    vectors = grading.embed_queries(embedder, ["t1", "a new text"])  # t1 was cached before the clear
    assert vectors.shape == (2, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_a_narrow_question_is_graded_on_the_points_that_answer_it(settings: Settings) -> None:
    # 1.5 holds causes (lines 25-35) and remedies (37-44): a question on the remedies for exploding gradients is
    # graded on those, not on all of 1.5, so the answer that says exactly what the notes say scores well
    lines = [
        {
            "question": "梯度爆炸一般怎么处理？",
            "answer": "可以做梯度剪切，设一个阈值把过大的梯度截断；再加上权重正则，比如L1、L2正则。",
        },
        {"question": "梯度爆炸一般怎么处理？", "answer": "不知道"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    code, out, _ = run(cmd_grade, ["grade", "--json"], stdin, settings)
    strong, blank = out
    assert code == 0 and strong["matched_question"].startswith("1.5")
    cited = [(c["line_start"], c["line_end"]) for c in strong["citations"]]
    assert cited and all(a >= 37 and b <= 44 for a, b in cited), cited
    assert strong["score"] >= 60 and blank["score"] == 0


def test_key_points_are_points():
    from tutor.interview.key_points import _is_point

    for noise in (
        "上图左侧的蓝色五角星表示真实样本",
        "![img](a.png)",
        "$$W(P_r,P_g)=\\inf_{\\gamma} E[x-y]$$",
        "图4.3 AlexNet网络结构图",
        "&emsp;&emsp;",
    ):
        assert not _is_point(noise, None), noise
    for point in (
        "dropout在训练时随机丢弃神经元",
        "WGAN用Wasserstein距离代替JS散度",
        "\u200b某个模式出现大量重复样本",
        "以下图像任务常用数据增强",
    ):
        assert _is_point(point, None), point


def test_a_topic_heading_that_answers_is_asked_with_its_context(tmp_path):
    from tutor.interview.rubric import build_bank

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "nets.md").write_text(
        "# 经典网络\n\n## 4.2 AlexNet\n\n### 4.2.3 模型特性\n\n- 所有卷积层都使用ReLU作为非线性映射函数\n"
        "- 在多个GPU上进行模型的训练，加快训练速度\n\n### 4.2.4 参考文献\n\n- [1] Krizhevsky et al. 2012\n"
        "- [2] 另一篇论文的题目和出处\n\n## 4.3 为什么用ReLU？\n\n### 小结\n\n计算简单，正区间梯度不饱和，训练更快收敛。\n",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", fetch_links=False, embeddings="hash:64")
    build_index(settings)
    texts = [q.text for q in build_bank(load_index(settings), settings)]
    # the topic heading is asked with its parent; a reference list and what sits inside a question are not asked
    assert texts == ["讲一下AlexNet：模型特性", "4.3 为什么用ReLU？"], texts


ENGLISH_NOTES = """# Interview notes

## Why do we divide by sqrt(d_k) in attention?

- For large d_k the dot products of queries and keys grow large in magnitude.
- The softmax then saturates to almost one-hot and its gradients become tiny.
- Dividing by sqrt(d_k) keeps the variance of the scores near 1.

## What does batch normalization do?

- It normalizes each feature over the mini-batch to zero mean and unit variance.
- It then scales and shifts the result with two learned parameters.
"""

RIGHT_IN_CHINESE = (
    "d_k很大时query和key的点积会很大，softmax会饱和、接近one-hot，梯度变得很小；除以根号d_k让分数的方差保持在1左右。"
)
OFF_IN_CHINESE = "批归一化把每个特征在mini-batch上归一化到零均值和单位方差。"


def _attention_question(tmp_path: Path, files: dict[str, str]) -> tuple[Grader, Question]:
    """A grader on these notes files (e5), and the English notes' question on dividing by sqrt(d_k)."""
    (tmp_path / "corpus").mkdir()
    for name, text in files.items():
        (tmp_path / "corpus" / name).write_text(text, encoding="utf-8")
    settings = Settings(
        corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", embeddings="e5-small-q4", fetch_links=False
    )
    build_index(settings)
    index = load_index(settings)
    bank = build_bank(index, settings)
    return Grader(index, bank, get_embeddings("e5-small-q4")), question(bank, "Why do we divide by sqrt(d_k)")


def test_a_chinese_answer_to_english_notes_is_held_to_a_floor_in_the_notes_language(tmp_path: Path) -> None:
    """The distractors that set an answer sentence's floor are in the notes' language: a Chinese answer to English
    notes is compared across languages both to its points and to its floor, so a right one earns its points."""
    grader, q = _attention_question(tmp_path, {"notes.md": ENGLISH_NOTES})
    assert grade(grader, q, RIGHT_IN_CHINESE)[0].score >= 50
    assert grade(grader, q, OFF_IN_CHINESE)[0].score < grade(grader, q, RIGHT_IN_CHINESE)[0].score
    # a short right answer in the other language shares almost no words with the points (only the glossary's terms
    # translate): what the embedder finds across the languages earns it partial credit
    assert grade(grader, q, "点积变大以后softmax就饱和了。")[0].score >= 20 > grade(grader, q, OFF_IN_CHINESE)[0].score


CHINESE_NOTES_ON_THE_SAME_TOPIC = """# 面试笔记

## 注意力里为什么要除以根号d_k？

- d_k 较大时，query 和 key 的点积的数值会变得很大。
- softmax 因此饱和，接近 one-hot，梯度变得很小。
- 除以根号 d_k 让分数的方差保持在 1 附近。
"""


def test_chinese_notes_beside_english_ones_do_not_raise_the_floor_of_a_chinese_answer(tmp_path: Path) -> None:
    """An answer sentence's floor is its closeness to the rest of the notes in the question's language: Chinese notes
    on the same topic beside the English ones are closer to any right Chinese answer than the English points are,
    and held against it they left it nothing."""
    grader, q = _attention_question(tmp_path, {"notes.md": ENGLISH_NOTES, "笔记.md": CHINESE_NOTES_ON_THE_SAME_TOPIC})
    assert grade(grader, q, RIGHT_IN_CHINESE)[0].score >= 50
    assert grade(grader, q, OFF_IN_CHINESE)[0].score < grade(grader, q, RIGHT_IN_CHINESE)[0].score


def _free_form_grader(tmp_path: Path, name: str, notes: str):
    """`tutor grade`'s grader over one notes file of a test's own, with the real embedder."""
    from tutor.interview.free_form import FreeFormGrader

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / name).write_text(notes, encoding="utf-8")
    return FreeFormGrader(
        Settings(corpus_dir=corpus, index_dir=tmp_path / "index", fetch_links=False, embeddings="e5-small-q4")
    )


def test_a_reworded_heading_is_graded_on_the_whole_heading_and_a_narrow_one_on_its_points(tmp_path) -> None:
    grader = _free_form_grader(
        tmp_path,
        "llm.md",
        "# LLM questions\n\n"
        "## 1. What is self-attention?\n\n"
        "Self-attention lets every token weigh every other token of the sequence when it builds its representation. "
        "Queries, keys and values are projections of the same input.\n\n"
        "## 2. What are positional encodings in the context of transformers?\n\n"
        "Positional encodings address a limitation of transformers: self-attention sees all tokens at once, so the "
        "model is position-agnostic.\n\n"
        "They are added to the token embeddings so that the model knows the order of the words.\n\n"
        "The sinusoidal encoding uses sine for even dimensions and cosine for odd dimensions.\n\n"
        "Learned positional embeddings are an alternative that the model trains like any other weight.\n\n"
        "## 3. How is a language model pre-trained?\n\n"
        "It predicts the next token on a large unlabelled corpus, which teaches it grammar and facts.\n",
    )
    found = grader.rubric("What are positional encodings and why do transformers need them?")
    assert found is not None and found[0].text.startswith("2.") and found[1] == (), found
    # a question on one point of the section, in terms the heading does not use, is graded on that point
    narrow = grader.rubric("Which function does the sinusoidal encoding use for the odd dimensions?")
    assert narrow is not None and narrow[1] and len(narrow[1]) < len(narrow[0].points), narrow
    strong = grader.grade(
        "What are positional encodings and why do transformers need them?",
        "Self-attention looks at all tokens at once, so a transformer does not know word order by itself; "
        "positional encodings are added to the token embeddings to give each token its position, for example "
        "sinusoidal ones (sine on even dimensions, cosine on odd) or learned embeddings.",
    )
    assert strong["score"] >= 60, strong


def test_a_question_that_rewords_a_heading_is_graded_on_it_when_a_neighbour_ranks_first(tmp_path) -> None:
    import dataclasses

    grader = _free_form_grader(
        tmp_path,
        "cnn.md",
        "# 经典网络\n\n## AlexNet\n\n### 模型介绍\n\nAlexNet在2012年的ImageNet比赛中夺冠，由Hinton的学生提出。\n\n"
        "它由5个卷积层和3个全连接层组成。\n\n### 模型特性\n\n- 所有卷积层都使用ReLU作为非线性映射函数，收敛更快。\n"
        "- 使用Dropout缓解全连接层的过拟合。\n- 在两块GPU上并行训练，加快训练速度。\n\n"
        "## 为什么要用BN？\n\nBN让每层输入的分布更稳定，可以用更大的学习率。\n",
    )
    search = grader.tutor.retriever.search

    def neighbour_first(query: str, k: int = 10):
        found = search(query, k)
        hits = sorted(found.hits, key=lambda h: "模型介绍" not in h.chunk.heading_path)
        return dataclasses.replace(found, hits=tuple(hits))

    grader.tutor.retriever.search = neighbour_first  # the ranking slip that sent graded-4's question elsewhere
    found = grader.rubric("AlexNet的模型特性有哪些？")
    assert found is not None and found[0].text == "讲一下AlexNet：模型特性" and found[1] == (), found
    # a question that names nothing of a heading keeps the top hit's section
    other = grader.rubric("AlexNet是哪一年提出的？")
    assert other is not None and other[0].text != "讲一下AlexNet：模型特性", other


def test_an_answer_in_the_other_language_is_read_claim_by_claim(tmp_path) -> None:
    """In the other language no shared word points at the claim, so a sentence that chains several is compared with
    the points clause by clause as well: each of the three is covered."""
    grader = _free_form_grader(
        tmp_path,
        "bn.md",
        "# 训练技巧\n\n## 为什么要用BN？\n\nBN让每层输入的分布更稳定，缓解内部协变量偏移。\n\n"
        "BN允许使用更大的学习率，加快收敛。\n\nBN有轻微的正则化作用，可以减少对dropout的依赖。\n\n"
        "## 什么是dropout？\n\ndropout在训练时随机丢弃一部分神经元，预测时使用全部神经元。\n\n"
        "## 学习率怎么设？\n\n学习率太大损失会震荡，太小收敛很慢，一般从0.001开始试。\n",
    )
    chained = grader.grade(
        "为什么要用BN？",
        "BN keeps the distribution of each layer's inputs stable, lets you train with a larger learning rate so it "
        "converges faster, and has a slight regularising effect that reduces the need for dropout.",
    )
    assert chained["score"] >= 80 and not chained["missed"], chained
    assert grader.grade("为什么要用BN？", "I don't know.")["score"] == 0
