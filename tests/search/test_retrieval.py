"""Retrieval quality on the project's own question set, with real FAISS and the real default embedder."""

from __future__ import annotations

import pytest
from conftest import DATA

from tutor.search.evaluate import evaluate, load_set


@pytest.fixture(scope="module")
def result(notes_tutor):
    return evaluate(notes_tutor, load_set(DATA / "eval.jsonl"))


def test_question_set_is_big_enough_and_bilingual():
    items = load_set(DATA / "eval.jsonl")
    assert len(items) >= 40
    assert sum(len(i["turns"]) > 1 for i in items) >= 10
    assert sum(i["status"] == "not_found" for i in items) >= 10
    assert any(i["turns"][-1].isascii() for i in items) and any(not i["turns"][-1].isascii() for i in items)


def test_the_right_place_comes_first(result):
    assert result.hit1 >= 0.9, result.failures
    assert result.hit3 >= 0.98, result.failures


def test_follow_ups_are_nearly_as_good_as_first_questions(result):
    assert result.followup_hit1 >= 0.8, result.failures


def test_status_and_abstention(result):
    assert result.status_accuracy >= 0.9, result.failures
    assert result.abstention >= 0.9
    assert result.false_abstention <= 0.05


def test_top_hit_is_tight_not_a_whole_file(result):
    assert result.tightness >= 0.7


@pytest.mark.parametrize(
    ("query", "line"),
    [
        ("BN是什么", 19),  # alias: BN -> batch normalization heading
        ("批归一化", 19),
        ("1x1卷积有什么用", 60),
        ("梯度裁剪是解决什么的", 37),  # 裁剪 = 剪切
        ("学习率太大会怎样", 112),  # 学习率 = 学习速率
        ("dropout跟bagging有什么关系", 17),
    ],
)
def test_mixed_terms_and_aliases(notes_tutor, query, line):
    hit = notes_tutor.retriever.search(query).hits[0].chunk
    assert hit.line_start <= line <= hit.line_end, (query, hit)


@pytest.mark.parametrize(
    ("query", "status", "line"),
    [
        ("换成relu这类激活函数能缓解梯度消失吗？", "answered", 41),  # 1.5's remedies, not 1.1's bare heading
        ("batch normalization对梯度消失有帮助吗？", "answered", 42),  # 1.5's "使用batchnorm", not 1.4's link
        ("relu有什么优点？", "question_only", 3),  # only 1.1 asks it: the heading stays first
        ("pooling有什么作用？", "question_only", 62),
    ],
)
def test_an_answering_passage_beats_a_bare_question_only_when_it_covers_more(notes_tutor, query, status, line):
    found = notes_tutor.retriever.search(query)
    hit = found.hits[0].chunk
    assert found.status == status and hit.line_start <= line <= hit.line_end, (query, found.status, hit)


def _tutor_on(tmp_path, files: dict[str, str]):
    """A tutor over just these notes files, with the hashing embedder (no model)."""
    from conftest import make_corpus, settings_for

    from tutor.answer.chat import Tutor

    make_corpus(tmp_path, files, notes=False)
    return Tutor.load(settings_for(tmp_path, embeddings="hash:64"))


def test_a_close_passage_whose_section_holds_more_of_the_subject_goes_first(tmp_path):
    """ "k-means 对异常值敏感吗" is asked of k-means: the regression metrics that are sensitive to outliers too give way
    to the k-means section close behind them; a section that only adds what is asked ("问题") does not."""
    from tutor.types import Hit

    notes = (
        "# 回归指标\n\nMSE 对异常值敏感，MAE 更鲁棒。\n\n"
        "# k-means\n\nk-means 对异常值敏感，均值会被极端点拉偏。\n\n"
        "# 常见问题\n\nMSE 的问题：对异常值敏感。\n"
    )
    tutor = _tutor_on(tmp_path, {"n.md": notes})
    r = tutor.retriever
    body = {c.heading_path[-1]: c for c in tutor.index.chunks if c.kind == "body"}
    unit = r.unit
    metrics, kmeans, faq = body["回归指标"], body["k-means"], body["常见问题"]

    tokens = r.analyzer.tokenize("k-means 对异常值敏感吗？")
    close = [Hit(metrics, 1.0), Hit(kmeans, 1.0 - 0.3 * unit)]
    assert r._prefer_covering(tokens, close)[0].chunk is kmeans
    far = [Hit(metrics, 1.0), Hit(kmeans, 1.0 - 2 * unit)]
    assert r._prefer_covering(tokens, far)[0].chunk is metrics

    asked = r.analyzer.tokenize("MSE 对异常值敏感有什么问题？")
    assert r._prefer_covering(asked, [Hit(metrics, 1.0), Hit(faq, 1.0 - 0.1 * unit)])[0].chunk is metrics


def test_a_bare_question_gives_way_to_a_passage_that_answers_as_much_in_its_own_words(tmp_path):
    """ "GBDT 跟 xgboost 差在哪": one file only asks it, another answers it; the answer, close behind, goes first. A
    passage that holds the question's words only through its heading ("先理解标准卷积" under "反卷积与GBDT…") does
    not."""
    from tutor.types import Hit

    asked = "# 面经\n\n## GBDT跟xgboost对比？\n\n## 其他\n\n随便说说。\n"
    answered = (
        "# 算法\n\n## GBDT vs xgboost\n\nxgboost 相比 GBDT 用了二阶导数，并加了正则项。\n\n"
        "## GBDT与xgboost的实现\n\n先理解标准卷积的计算过程。\n"
    )
    tutor = _tutor_on(tmp_path, {"a.md": asked, "b.md": answered})
    r, chunks = tutor.retriever, tutor.index.chunks
    tokens = r.analyzer.tokenize("GBDT 跟 xgboost 差在哪")

    def hit(snippet: str, score: float) -> Hit:
        i = next(n for n, c in enumerate(chunks) if snippet in c.text)
        return Hit(chunks[i], score, lexical=r._coverage(tokens, r.doc_tokens[i]))

    bare = hit("对比", 1.0)
    assert r._unanswered(bare.chunk), [(c.kind, c.text) for c in chunks]
    assert r._prefer_an_answer(tokens, [bare, hit("二阶导数", 1.0 - 0.3 * r.unit)])[0].chunk.text.startswith("xgboost")
    assert r._prefer_an_answer(tokens, [bare, hit("二阶导数", 1.0 - 3 * r.unit)])[0] is bare  # too far behind
    assert r._prefer_an_answer(tokens, [bare, hit("标准卷积", 1.0 - 0.3 * r.unit)])[0] is bare  # only its heading


def test_a_topic_heading_over_nothing_but_captioned_figures_is_question_only(tmp_path):
    """ "7、程序运行结果" holds a caption over each figure and nothing the tutor can quote: asked about, the notes
    name it and answer nothing, and the caption is not served as the answer."""
    notes = (
        "# 异常检测\n\n## 6、异常检测算法\n\n- 用训练集拟合每个特征的高斯分布，p(x) 小于阈值 ε 的样本判为异常。\n\n"
        "## 7、程序运行结果\n- 显示数据\n![enter description here][56]\n- 等高线\n![enter description here][57]\n\n"
        "  [56]: ./images/AnomalyDetection_08.png\n  [57]: ./images/AnomalyDetection_09.png\n"
    )
    tutor = _tutor_on(tmp_path, {"n.md": notes})
    captions = [c for c in tutor.index.chunks if "显示数据" in c.text and not c.is_heading]
    assert captions and all(c.kind == "link" for c in captions)
    assert tutor.retriever._unanswered(captions[0])
    body = next(c for c in tutor.index.chunks if "高斯分布" in c.text)
    assert not tutor.retriever._unanswered(body)


def test_a_quoted_block_of_open_questions_is_no_answer(tmp_path):
    """A blockquote of nothing but questions is what the author left open: asked about, the notes pose it and answer
    nothing there, however long the quote (one chunk or several). A question in the prose, followed by its answer,
    and a quote that states something stay answers."""
    long_quote = "> " + " ".join(f"Does dropout variant {n} help more than weight decay number {n}?" for n in range(60))
    notes = (
        "# Dropout\n\nRandomly inactivate half of the units at every training step.\n\n"
        "> Is dropout in any way similar to an ensemble? Are ensembles and regularization the same thing?\n\n"
        f"{long_quote}\n\n"
        "Why does it work? Each unit learns to be useful without the others.\n\n"
        "> Dropout was found in 2012.\n"
    )
    tutor = _tutor_on(tmp_path, {"n.md": notes})
    r = tutor.retriever
    chunks = [c for c in tutor.index.chunks if c.kind == "body"]
    asked = next(c for c in chunks if "similar to an ensemble" in c.text)
    assert r._unanswered(asked)
    quoted = [c for c in chunks if "variant" in c.text]
    assert len(quoted) > 1 and all(r._unanswered(c) for c in quoted), [c.text[:40] for c in quoted]
    for snippet in ("Randomly inactivate", "Each unit learns", "found in 2012"):
        assert not r._unanswered(next(c for c in chunks if snippet in c.text)), snippet


def test_across_languages_only_words_the_passages_language_uses_are_asked_of_it(tmp_path):
    """An English question on a Chinese section is held to the terms that section could hold: the glossary's (next
    sentence prediction is NSP) and words the Chinese notes use. "really" and "essential" from an English file in the
    same folder say nothing of the Chinese section, and do not count against it."""
    notes = {
        "bert.md": "# BERT\n\n## BERT中的NSP任务是否有必要？\n\n- RoBERTa 的实验表明去掉 NSP 任务效果反而更好。\n",
        "english.md": "# Checklists\n\nHonestly, today it is really essential to review pretraining models.\n",
    }
    tutor = _tutor_on(tmp_path, notes)
    r = tutor.retriever
    nsp = next(c for c in tutor.index.chunks if "RoBERTa" in c.text)
    query = "Honestly, is next sentence prediction really essential for pretraining BERT models today?"
    assert r.relevant_across(query, 1.0, r.analyzer.tokenize(query), nsp)
    # the section's own terms still decide: a question about something else is not answered by it
    other = "Is a learning rate warmup actually necessary for Adam?"
    assert not r.relevant_across(other, 1.0, r.analyzer.tokenize(other), nsp)


def test_two_names_the_notes_write_as_one_word_are_one_name(tmp_path):
    """ "value head" is the notes' "valuehead": the name is in the notes, not missing; two names the notes never join
    stay two."""
    notes = "# SFT\n\n一般 decoder-only 架构的模型不需要添加valuehead。\n\n# RM\n\nreward model 给回答打分。\n"
    r = _tutor_on(tmp_path, {"n.md": notes}).retriever
    names = r.names("SFT 阶段要不要加 value head？")
    assert ("value head", ["valuehead"]) in names and not r.missing_names(names)
    assert [w for w, _ in r.names("reward model 怎么训练？")] == ["reward", "model"]
    assert r.missing_names(r.names("critic head 有什么用？")) == ["critic", "head"]  # "critichead" is no word of theirs


def test_across_languages_a_scale_too_narrow_to_trust_vetoes_nothing(tmp_path):
    """With an embedder whose Chinese cosines do not separate answers from unrelated questions (MiniLM), a Chinese
    question on an English passage is decided by the shared terms alone, as in the same language; a trusted scale
    still vetoes a cosine far below anything unrelated."""
    import dataclasses

    from tutor.index.calibrate import LangScale

    tutor = _tutor_on(tmp_path, {"n.md": "# Pooling\n\nGlobal pooling turns the entire tensor into one vector.\n"})
    r = tutor.retriever
    passage = next(c for c in tutor.index.chunks if "Global pooling" in c.text)
    query = "global pooling 有什么用？"
    tokens = r.analyzer.tokenize(query)
    narrow = LangScale(negative=0.63, spread=0.08, positive=0.67, measured=True)
    assert not narrow.reliable
    r.calibration = dataclasses.replace(r.calibration, zh=narrow)
    assert r.relevant_across(query, 0.20, tokens, passage)  # 5 units below its "unrelated"
    r.calibration = dataclasses.replace(r.calibration, zh=LangScale(0.80, 0.01, 0.90, True))
    assert not r.relevant_across(query, 0.20, tokens, passage)
    assert r.relevant_across(query, 0.85, tokens, passage)
