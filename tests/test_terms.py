"""Terms learned from the notes, the user's own term list, and the relevance calibration stored per index."""

from __future__ import annotations

import json

from tutor.calibrate import Calibration
from tutor.config import Settings
from tutor.index import build_index, load_index
from tutor.text import default_analyzer, mine_terms


def test_pairs_the_notes_define_are_mined():
    terms = mine_terms(
        [
            "LeNet-5是一种卷积神经网络（Convolutional Neural Network，CNN）",
            "我们用随机梯度下降（SGD）训练",
            "Stochastic Gradient Descent (SGD) with a learning rate (lr) of 0.1",
            "Kernel MMD (Maximum Mean Discrepancy)",
        ]
    )
    analyzer = default_analyzer().with_terms(terms)
    assert set(analyzer.tokenize("MMD")) == set(analyzer.tokenize("maximum mean discrepancy"))
    assert set(analyzer.tokenize("SGD")) == set(analyzer.tokenize("随机梯度下降"))
    assert "cnn" in {v for vs in terms.values() for v in vs} | set(terms)


def test_spelling_variants_read_as_one_term():
    a = default_analyzer()
    assert a.tokenize("Learning_Rate") == a.tokenize("learning rate") == a.tokenize("ＬＲ")
    assert a.tokenize("bs") == a.tokenize("batch size")
    assert "\u200b" not in "".join(a.tokenize("\u200bdropout"))


def _notes(tmp_path, text: str):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.md").write_text(text, encoding="utf-8")
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", fetch_links=False, embeddings="hash:64")


def test_user_terms_file_joins_terms_and_a_broken_one_only_warns(tmp_path):
    settings = _notes(tmp_path, "# 梯度累积\n\n显存不够时把几个小批次的梯度加起来再更新。\n")
    (settings.corpus_dir / ".tutor").mkdir()
    (settings.corpus_dir / ".tutor" / "aliases.yaml").write_text("- [梯度累积, grad accum]\n", encoding="utf-8")
    build_index(settings)
    analyzer = load_index(settings).analyzer
    assert analyzer.tokenize("grad accum") == analyzer.tokenize("梯度累积")
    (settings.corpus_dir / ".tutor" / "aliases.yaml").write_text("- [unclosed\n", encoding="utf-8")
    report = build_index(settings)
    assert any("aliases.yaml" in w for w in report.warnings)


def test_calibration_is_stored_in_the_manifest_and_read_back(tmp_path):
    body = "\n\n".join(f"## 问题{i}是什么？\n\n这是第{i}个问题的回答，讲清楚了原因和做法。" for i in range(8))
    settings = _notes(tmp_path, "# 笔记\n\n" + body + "\n")
    build_index(settings)
    index = load_index(settings)
    stored = json.loads((index.path / "manifest.json").read_text(encoding="utf-8"))["calibration"]
    assert Calibration.from_dict(stored) == index.calibration
    assert index.calibration.notes_lang == "zh" and index.calibration.n_positives >= 5
    assert "unrelated" in index.calibration.describe()


def test_a_calibration_from_an_older_manifest_reads_and_is_fitted_again():
    old = {
        "zh": {"negative": 0.83, "spread": 0.01, "positive": 0.89},
        "en": {"negative": 0.80, "spread": 0.02, "positive": 0.86},
        "notes_lang": "zh",
        "n_negatives": 76,
        "n_positives": 15,
    }
    calibration = Calibration.from_dict(old)
    assert calibration is not None and calibration.zh.measured is None
    assert "estimated" not in calibration.describe() and "measured" not in calibration.describe()
    assert not Calibration.current(old)
    assert Calibration.current(
        calibration.to_dict() | {"zh": old["zh"] | {"measured": True}, "en": old["en"] | {"measured": False}}
    )
