"""A question's key points on notes of its own: at most eight, the central ones, each with its line citation."""

from __future__ import annotations

import pytest

from tutor.config import Settings
from tutor.index.store import build_index, load_index
from tutor.interview.centrality import MAX_POINTS, choose
from tutor.interview.rubric import build_bank

CENTRAL = [
    "dropout在训练时以概率p随机丢弃一部分神经元。",
    "被丢弃的神经元在这一次训练中不参与前向传播和反向传播。",
    "dropout让每次训练的网络结构都不同，相当于训练了很多个子网络。",
    "预测时不丢弃神经元，而是把神经元的输出乘以保留概率p。",
    "dropout减少了神经元之间的共适应，从而缓解过拟合。",
    "dropout可以看作对很多子网络做bagging集成。",
    "丢弃神经元的概率p一般取0.5。",
    "dropout也可以看作一种正则化，让网络不依赖某几个神经元。",
    "训练时用了dropout，网络收敛会变慢一些。",
    "在卷积层上用dropout的效果通常不如在全连接层上明显。",
]
PERIPHERAL = [
    "这个方法是2012年在多伦多大学提出的。",
    "作者说灵感来自银行柜员的轮换制度。",
    "我第一次看到这个名字时觉得很有意思。",
    "课上老师也讲过一个类似的故事。",
]
NOTES = (
    "# 深度学习\n\n## 什么是dropout？\n\n"
    + "\n".join(CENTRAL[:5] + PERIPHERAL[:2] + CENTRAL[5:] + PERIPHERAL[2:])
    + "\n\n## 为什么要用ReLU？\n\n计算简单，正区间梯度不饱和。\n"
    + "\n## 梯度消失的原因是什么？有哪些解决方法？\n\n"
    + "梯度消失是因为网络太深，反向传播时梯度连乘。sigmoid的导数最大只有0.25，连乘后梯度指数衰减。"
    + "权重初始化太小也会让梯度越乘越小。\n\n解决办法：\n\n"
    + "".join(
        f"- {s}\n"
        for s in ("换用ReLU激活函数", "使用batchnorm归一化", "使用残差结构", "使用LSTM网络", "梯度剪切防止梯度爆炸")
    )
    + "- 逐层预训练加微调\n- 合适的权重初始化\n"
    + "\n## 怎么构建计算图？\n\n先创建一个图，再往图里添加计算节点。\n\n```\ng = tf.Graph()\nwith g.as_default():\n"
    + "    x = tf.placeholder(tf.float32)\n```\n\n计算节点之间流动的是张量数据。\n"
    + "\n## 位置编码是怎么算的？\n\n位置编码和词向量相加后输入模型。\n\n$$\nPE_{(pos,2i)} = \\sin\\left(\\frac{pos}{10000^{2i/d}}\\right)\n$$\n\n"
    + "1. 奇数维：用余弦函数 ![](https://latex.codecogs.com/gif.latex?\\cos(x)) 计算。\n"
    + "\n## What is tokenization?\n\n**Answer**:\n\nTokenization splits text into smaller units.\n\n"
    + "- **Word**: split on spaces and punctuation.\n- **Subword**: break words into pieces.\n"
    + "  - **Why**: subwords handle rare words.\n"
    + "\n## 什么是过拟合，如何解决？\n\n> 训练集误差下降，验证集误差反而上升。\n>\n"
    + "> 1. L1正则化：让权重变得稀疏。\n> 2. 提前终止：取验证误差最小的模型。\n"
)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("key-points")
    (root / "corpus").mkdir()
    (root / "corpus" / "notes.md").write_text(NOTES, encoding="utf-8")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index", fetch_links=False, embeddings="hash:64")
    build_index(settings)
    return {q.text: q for q in build_bank(load_index(settings), settings)}


def lines() -> list[str]:
    return NOTES.split("\n")


def test_a_long_section_is_graded_on_its_central_sentences_each_cited_to_its_line(bank) -> None:
    q = bank["什么是dropout？"]
    assert 2 <= len(q.points) == MAX_POINTS
    assert not {p.text for p in q.points} & set(PERIPHERAL)  # the anecdotes are not what the question asks
    assert {p.text for p in q.points} | {p.text for p in q.more_points} == set(CENTRAL + PERIPHERAL)
    starts = [p.citation.line_start for p in q.points]
    assert starts == sorted(starts)  # shown in the notes' order
    for n, p in enumerate(q.points, 1):
        assert p.citation.n == n and p.citation.quote == p.text and p.citation.source == "corpus/notes.md"
        assert p.citation.line_start == p.citation.line_end and p.text in lines()[p.citation.line_start - 1]


def test_a_section_with_one_content_sentence_is_graded_on_that_sentence(bank) -> None:
    q = bank["为什么要用ReLU？"]
    assert [p.text for p in q.points] == ["计算简单，正区间梯度不饱和。"] and not q.more_points


def test_each_part_of_a_multi_part_question_keeps_points(bank) -> None:
    q = bank["梯度消失的原因是什么？有哪些解决方法？"]
    assert len(q.points) == MAX_POINTS and len(q.more_points) == 2
    assert [p.label for p in q.parts] == ["梯度消失的原因是什么", "有哪些解决方法"]
    causes, remedies = (set(p.points) for p in q.parts)
    assert len(causes) == 2 and len(remedies) == 6 and causes | remedies == set(range(MAX_POINTS))
    assert all("梯度" in q.points[i].text for i in causes)


def test_lines_of_code_are_no_key_points_where_the_section_has_prose(bank) -> None:
    q = bank["怎么构建计算图？"]
    assert [p.text for p in q.points] == ["先创建一个图，再往图里添加计算节点。", "计算节点之间流动的是张量数据。"]


def test_the_budget_is_shared_among_parts_by_their_size() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.1, 0.2, 0.3, 0.4, 0.5, 0.05]
    assert choose(scores, [range(4), range(4, 10)], k=5) == [0, 1, 6, 7, 8]  # 5 * 4/10 -> 2, 5 * 6/10 -> 3
    assert choose(scores, [], k=3) == [0, 1, 2]
    assert choose(scores[:3], [], k=8) == [0, 1, 2]


def test_a_display_formula_and_an_image_are_no_part_of_a_key_point(bank) -> None:
    q = bank["位置编码是怎么算的？"]
    assert [p.text for p in q.points] == ["位置编码和词向量相加后输入模型。", "奇数维：用余弦函数 计算。"], q.points


def test_a_label_over_the_whole_answer_divides_nothing(bank) -> None:
    """ "**Answer**:" above everything is no sub-point holding the whole answer: its sentences are the points."""
    q = bank["What is tokenization?"]
    assert [p.text for p in q.points] == [
        "Tokenization splits text into smaller units.",
        "Word: split on spaces and punctuation.",
        "Subword: break words into pieces.",
        "Why: subwords handle rare words.",
    ], q.points


def test_a_quote_mark_and_a_list_number_are_no_part_of_a_key_point(bank) -> None:
    q = bank["什么是过拟合，如何解决？"]
    assert [p.text for p in q.points] == [
        "训练集误差下降，验证集误差反而上升。",
        "L1正则化：让权重变得稀疏。",
        "提前终止：取验证误差最小的模型。",
    ]
