"""Terms learned from the notes, the user's own term list, and the relevance calibration stored per index."""

from __future__ import annotations

import json
import re

import pytest
from conftest import NOTES
from hypothesis import example, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tutor.config import Settings
from tutor.index.calibrate import Calibration
from tutor.index.store import IndexStale, build_index, ensure_index, load_index
from tutor.term_mining import mine_terms
from tutor.terms import default_analyzer, stem


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


def test_a_question_may_abbreviate_a_name_the_notes_spell_out():
    terms = mine_terms(["#### 3.2.4 多头注意力（Multi-Head Attention）为什么要降维？", "Kernel trick (核技巧)"])
    analyzer = default_analyzer().with_terms(terms)
    assert set(analyzer.tokenize("MHA")) == set(analyzer.tokenize("多头注意力"))
    # not when two names share the initials, nor when the notes use the letters as a word of their own
    assert "mha" not in str(mine_terms(["多头注意力（Multi-Head Attention）", "模型适配（model head adapter）"]))
    assert "mha" not in str(mine_terms(["多头注意力（Multi-Head Attention）", "see the mha module"]))
    # nor from two words: two letters are too often a word of their own
    assert "pe" not in str(mine_terms(["位置编码（Position encoding）"]))


def test_spelling_variants_read_as_one_term():
    a = default_analyzer()
    assert a.tokenize("Learning_Rate") == a.tokenize("learning rate") == a.tokenize("ＬＲ")
    assert a.tokenize("bs") == a.tokenize("batch size")
    assert "\u200b" not in "".join(a.tokenize("\u200bdropout"))
    # a math word and a loss of the field, in either language
    assert set(a.tokenize("sqrt(d)")) <= set(a.tokenize("除以根号 d")) and a.tokenize("square root") == ["平方根"]
    assert a.tokenize("aux loss") == a.tokenize("辅助损失") == a.tokenize("auxiliary loss")


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


def test_a_definition_in_the_notes_beats_the_shipped_table():
    # the shipped table reads LR as learning rate; these notes say they write LR for logistic regression
    terms = mine_terms(
        [
            "逻辑回归（Logistic Regression，下面都写 LR）虽然叫回归，其实是分类模型。",
            "批归一化（Batch Normalization，简称 BN）",
        ]
    )
    analyzer = default_analyzer().with_terms(terms)
    assert analyzer.tokenize("LR 做多分类怎么做") == analyzer.tokenize("逻辑回归做多分类怎么做")
    assert analyzer.tokenize("LR") != analyzer.tokenize("学习率")
    assert analyzer.tokenize("BN") == analyzer.tokenize("批归一化") == analyzer.tokenize("batch normalization")
    # notes that never redefine it keep the table's meaning
    assert default_analyzer().tokenize("LR") == default_analyzer().tokenize("学习率")


def test_translate_writes_known_terms_in_the_other_language():
    a = default_analyzer().with_terms({"层次聚类": ("hierarchical clustering",)})
    english = a.translate("层次聚类和学习率怎么选？", to_chinese=False)
    assert "hierarchical clustering" in english and "learning rate" in english and "怎么选" in english
    chinese = a.translate("How does hierarchical clustering work?", to_chinese=True)
    assert "层次聚类" in chinese and "how does" in chinese
    assert a.translate("今天天气怎么样", to_chinese=False) == "今天天气怎么样"


def test_an_index_tokenised_by_another_term_table_is_stale(tmp_path):
    settings = _notes(tmp_path, "# 梯度累积\n\n显存不够时把几个小批次的梯度加起来再更新。\n")
    build_index(settings)
    manifest_path = load_index(settings).path / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tokenizer"] = "0" * 16  # as if built by a release whose term table split text differently
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexStale, match="tutor index"):
        load_index(settings)
    assert (
        ensure_index(settings).analyzer.fingerprint
        == json.loads((load_index(settings).path / "manifest.json").read_text(encoding="utf-8"))["tokenizer"]
    )


@pytest.mark.parametrize(
    "forms",
    [
        ("size", "sizes"),
        ("type", "types"),
        ("image", "images"),
        ("class", "classes"),
        ("loss", "losses"),
        ("collapse", "collapsing"),
        ("node", "nodes"),
        ("case", "cases"),
    ],
)
def test_inflections_meet(forms):
    """A plural or -ing form is the same term as the word: "kernel sizes" finds a heading that says "size"."""
    assert len({stem(w) for w in forms}) == 1


def test_stem_keeps_distinct_words_apart():
    assert len({stem(w) for w in ("loss", "lose", "bias", "base", "mode", "model")}) == 6


def test_a_subscripted_name_is_the_plain_name():
    """Notes write `$C_3$`, a question writes "C3": one name, so the question is not about something unknown."""
    analyzer = default_analyzer()
    assert "c3" in analyzer.tokenize("卷积层$C_3$与$S_{2}$之间") and "s2" in analyzer.tokenize(
        "卷积层$C_3$与$S_{2}$之间"
    )
    assert "c3" in analyzer.tokenize("C3层为什么不全连接")


def test_function_words_change_the_tokenizer_fingerprint(monkeypatch):
    """An index tokenised with other function words is stale: its terms would not meet the query's."""
    from tutor import terms

    before = terms.Analyzer({}).fingerprint
    monkeypatch.setattr(terms, "stopwords", lambda: frozenset({"哪几个"}))
    assert terms.Analyzer({}).fingerprint != before


def test_the_fingerprint_hashes_every_module_that_tokenises():
    """An index tokenised by other code is stale: the fingerprint reads the code of each module `tokenize` runs."""
    import sys
    from pathlib import Path

    from tutor.terms import TOKENIZER_FILES, Analyzer, stem
    from tutor.text import normalize
    from tutor.variants import VariantPattern

    code = {Path(sys.modules[f.__module__].__file__) for f in (Analyzer, stem, normalize, VariantPattern)}
    assert code <= set(TOKENIZER_FILES)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("$1\\times1$ convolution", "conv1x1"),
        ("3 * 3 * 3 的卷积核", "3x3x3"),
        ("5×5卷积", "5x5"),
        ("两个3x3x3卷积核", "3x3x3"),
        ("2个3\\*3的卷积核串联", "3x3"),  # markdown's escaped asterisk
    ],
)
def test_a_size_written_as_a_product_is_one_term(text, size):
    """Notes write `$3\\times3$`, "3 * 3" or "3×3"; a question writes "3x3": they are one size."""
    assert size in default_analyzer().tokenize(text)


def test_markdown_escapes_read_as_the_character_they_escape():
    analyzer = default_analyzer()
    assert analyzer.tokenize("learning\\_rate 调大") == analyzer.tokenize("learning_rate 调大")
    assert analyzer.tokenize("\\#1 \\[注\\]") == analyzer.tokenize("#1 [注]")


def test_numbers_that_are_not_a_size_stay_apart():
    tokens = default_analyzer().tokenize("版本3.5 x 2")
    # no size such as "5x2" or "3.5x2" is made of them (a lone "x" is a letter, kept like any single letter)
    assert not any(re.fullmatch(r"[\d.]+x[\d.x]+", t) for t in tokens), tokens


# variants that share prefixes, hold spaces, end in letters or not, and mix scripts: where the pieces may differ
PIECE_TABLE = {
    "bn": ["batch norm", "batch normalization", "批归一化", "批归一"],
    "lr": ["learning rate", "学习率", "l"],
    "c3": ["c 3", "c3 net"],
    "k-means": ["k means", "k均值"],
    "a.b": ["a", "ab c"],
    "归一化": ["归一"],
}
PIECE_ALPHABET = sorted({ch for c, vs in PIECE_TABLE.items() for v in (c, *vs) for ch in v} | set(" _-.x9，"))


@given(st.lists(st.sampled_from([*PIECE_ALPHABET, "c3 net", "batch norm", "ab c"]), max_size=30).map("".join))
@examples(max_examples=400, deadline=None, derandomize=True)
@example("c3 net c3net c_3 net")  # "c 3" before "c3 net": the alternative with a space is tried first
def test_the_term_table_compiled_in_pieces_matches_as_one_regex(text):
    from tutor.terms import Analyzer
    from tutor.variants import VARIANT_START, _emit, _variant_trie

    analyzer = Analyzer(PIECE_TABLE)
    whole = re.compile(VARIANT_START + _emit(_variant_trie(analyzer.variants)), re.DOTALL)

    def mark(match):
        return f"<{match.group(0)}>"

    assert analyzer._pattern.sub(mark, text) == whole.sub(mark, text)


def test_the_shipped_table_compiled_in_pieces_matches_as_one_regex():
    from tutor.variants import VARIANT_START, _emit, _variant_trie

    analyzer = default_analyzer()
    whole = re.compile(VARIANT_START + _emit(_variant_trie(analyzer.variants)), re.DOTALL)
    texts = [
        "Batch-Normalization和批归一化有什么区别？learning_rate 设成 0.1, bs=32",
        "k 均值聚类每次都能收敛到全局最优吗？ResNet-50, inception-v3, vgg16, GANs, seq2seq",
        "What causes vanishing gradients in a deep network? 梯度消失 and exploding gradients",
    ]
    for text in texts + NOTES.read_text(encoding="utf-8").split("\n\n"):
        text = text.lower()
        assert analyzer._pattern.sub(lambda m: f"<{m.group(0)}>", text) == whole.sub(lambda m: f"<{m.group(0)}>", text)
    assert len(analyzer._pattern._pieces) < 2000  # compiled only what these texts hold


def test_a_single_latin_letter_is_a_term_and_a_contraction_tail_is_not():
    analyzer = default_analyzer()
    # "K值" and "select K": the letter names the variable the question is about
    assert "k" in analyzer.tokenize("K-means的K值应该怎么确定？")
    assert "k" in analyzer.tokenize("How to select K for K-means?")
    assert "c" in analyzer.tokenize("seq2seq里的c向量是怎么得到的")
    # "it's", "don't": the tail is no word; "a" and "I" stay function words
    assert analyzer.tokenize("it's what I don't want, a b") == ["don", "want", "b"]


def test_another_inflection_of_a_table_word_meets_the_table():
    analyzer = default_analyzer()
    # the glossary lists "upsampling" and "convolution"; a question writes "upsample", "convolutions"
    assert analyzer.tokenize("upsample") == analyzer.tokenize("upsampling") == analyzer.tokenize("上采样")
    assert analyzer.tokenize("two convolutions") == analyzer.tokenize("two convolution")
    assert analyzer.tokenize("convolutions")[0] in analyzer.canonical


def test_a_greek_letter_is_its_latex_name():
    """Prose writes "γ", a formula "$\\gamma$", a question either: one term, and a question on it is not vague."""
    analyzer = default_analyzer()
    assert "gamma" in analyzer.tokenize("FL 里的 γ 取几效果最好？")
    assert "gamma" in analyzer.tokenize(r"实验发现，$\gamma=2$ 效果比较好")
    assert {"lambda", "delta"} <= set(analyzer.tokenize("Δ 扰动下 λ 越大越好吗"))


def test_two_function_characters_jieba_joined_are_no_term():
    """ "是从" in "权重是从什么分布里采样的" is 是 + 从, not something the question is about."""
    analyzer = default_analyzer()
    assert analyzer.tokenize("用Xavier初始化时，权重是从什么分布里采样的？") == [
        "xavier",
        "初始化",
        "权重",
        "分布",
        "采样",
    ]
    assert "影响" in analyzer.tokenize("这会对训练有什么影响？") and "这会" not in analyzer.tokenize(
        "这会对训练有什么影响？"
    )
