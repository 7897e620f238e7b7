"""Retrieval and the relevance decision on notes in other styles than the seed, with the real e5 embedder:
a Chinese book with numbered headings, English Q&A notes, questions across the two languages, and questions
whose specific point the notes lack."""

from __future__ import annotations

import pytest

from tests.helpers import isolated_dirs
from tutor.answer.chat import ChatSession, Tutor
from tutor.config import Settings
from tutor.index.store import build_index

BOOK = """# 第七章 生成对抗网络

## 7.1 GAN基本概念

### 7.1.1 如何通俗理解GAN？

生成对抗网络（GAN）由生成器和判别器组成。生成器尽量生成以假乱真的样本，判别器尽量区分真假样本，二者交替训练、互相博弈。

### 7.1.7 什么是mode collapsing?

​	某个模式(mode)出现大量重复样本，例如：
![model collapsing](img/ch7/model_collpsing.png)
​	生成样本缺乏多样性，生成器反复输出少数几种样本，存在大量重复。

### 7.1.8 如何解决mode collapsing？

方法一：**针对目标函数的改进方法**

​	UnrolledGAN修改生成器的loss，让生成器在更新时考虑判别器未来几步的变化，以缓解mode collapse。

方法二：**针对网络结构的改进方法**

​	MAD-GAN采用多个生成器和一个判别器，以保障样本生成的多样性，缓解mode collapse。

## 7.4 GAN的改进与优化

### 7.4.5 WGAN如何解决训练崩溃问题？

WGAN用Wasserstein距离代替JS散度衡量真实分布与生成分布的差异，判别器去掉最后一层的sigmoid，并对权重做截断。

### 7.4.6 训练GAN时Dropout有什么用？

在生成器中加入Dropout（随机丢弃神经元）可以增加噪声，让训练更稳定。

# 第四章 经典网络

## 4.2 AlexNet

### 4.2.3 模型特性

- 所有卷积层都使用ReLU作为非线性映射函数，使模型收敛速度更快
- 使用LRN对局部的特征进行归一化
- 使用随机丢弃技术（dropout）选择性地忽略训练中的单个神经元，避免模型的过拟合

## 4.5 VGGNet

### 4.5.3 模型特性

- 整个网络都使用了同样大小的卷积核尺寸3×3和最大池化尺寸2×2
- 几个小滤波器卷积层的组合比一个大滤波器卷积层好

## 4.8 经典网络的代码

- SeNet 代码实现：[tensorflow](https://github.com/ry/tensorflow-resnet)

## 4.9 残差网络解决了什么问题？

残差网络（ResNet）用跳跃连接让梯度直接回传，解决了网络加深后错误率反而升高的退化问题。

## 参考文献

[1] Goodfellow I. Generative Adversarial Nets. 2014. https://arxiv.org/abs/1406.2661
[2] He K. Deep Residual Learning for Image Recognition. 2016. https://arxiv.org/abs/1512.03385
"""

QA = """Machine learning notes
======================

Optimisation
------------

Q: What does the learning rate control in gradient descent?
A: The size of each step along the negative gradient. Too large and the loss diverges or oscillates; too small and
training converges very slowly.

Q: Why use momentum?
A: Momentum keeps a running average of past gradients, which damps oscillation across steep directions and speeds
up progress along shallow ones.

Regularisation
--------------

**Why does L2 regularisation reduce overfitting?**

It penalises large weights, so the model prefers smoother functions that depend less on any single feature.
"""


def notes_tutor(factory, name: str, text: str) -> Tutor:
    base = factory.mktemp(name)
    corpus = base / "notes"
    corpus.mkdir()
    (corpus / f"{name}.md").write_text(text, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=base / "index", fetch_links=False)
    build_index(settings)
    return Tutor.load(settings)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Tutor:
    with isolated_dirs(tmp_path_factory, "book"):
        yield notes_tutor(tmp_path_factory, "gan-book", BOOK)


@pytest.fixture(scope="module")
def qa(tmp_path_factory) -> Tutor:
    with isolated_dirs(tmp_path_factory, "qa"):
        yield notes_tutor(tmp_path_factory, "ml", QA)


def line(text: str, snippet: str) -> int:
    return next(n for n, raw in enumerate(text.splitlines(), start=1) if snippet in raw)


def top(tutor: Tutor, question: str):
    answer = tutor.ask(question)
    return answer, answer.hits[0].chunk if answer.hits else None


@pytest.mark.parametrize(
    ("question", "heading"),
    [
        ("What is mode collapse in GANs?", "7.1.7 什么是mode collapsing?"),
        ("How does WGAN fix the training collapse of GANs?", "7.4.5 WGAN如何解决训练崩溃问题？"),
        ("What problem does ResNet solve?", "4.9 残差网络解决了什么问题？"),
    ],
)
def test_an_english_question_on_chinese_notes_is_answered_from_its_section(book, question, heading):
    answer, chunk = top(book, question)
    assert answer.status == "answered", (question, answer.status, chunk)
    assert chunk.heading_path[-1] == heading, (question, chunk.heading_path)


@pytest.mark.parametrize("question", ["学习率太大会怎么样？", "为什么要用动量（momentum）？"])
def test_a_chinese_question_on_english_notes_is_answered(qa, question):
    answer, _ = top(qa, question)
    assert answer.status == "answered", (question, answer.status)


@pytest.mark.parametrize(
    "question",
    ["What is the capital of Australia?", "Can you recommend a good movie for the weekend?", "今天北京天气怎么样？"],
)
def test_everyday_questions_are_not_found_in_either_language(book, qa, question):
    assert book.ask(question).status == "not_found"
    assert qa.ask(question).status == "not_found"


def test_a_latin_term_the_notes_never_use_in_a_chinese_question_is_not_found(book):
    # the notes cover GAN training and dropout, but never name a learning-rate warmup
    assert book.ask("GAN训练时warmup有什么作用？").status == "not_found"
    assert book.ask("训练GAN时dropout有什么用？").status == "answered"


def test_a_name_the_top_section_lacks_makes_a_loose_match_not_found(book):
    """The notes name ResNet (4.9), but the section about Dropout in GANs does not: it cannot say why ResNet uses
    Dropout. A close match keeps its answer, and so does the section that names the subject."""
    assert book.ask("ResNet里为什么要用Dropout？").status == "not_found"
    assert book.ask("ResNet为什么能解决退化问题？").status == "answered"
    assert book.ask("用了ReLU的AlexNet为什么收敛更快？").status == "answered"


def test_a_question_asking_for_a_value_needs_a_section_that_states_one(book, tmp_path):
    # 7.4.6 says what dropout does in a GAN but gives no rate; 4.5.3 states kernel sizes
    assert book.ask("训练GAN时dropout的丢弃比例一般设多少？").status == "not_found"
    assert book.ask("What is the typical value of the dropout rate in a GAN generator?").status == "not_found"
    answer, chunk = top(book, "VGGNet的卷积核尺寸是多少？")
    assert answer.status == "answered"
    assert chunk.line_start <= line(BOOK, "3×3") <= chunk.line_end


def test_a_web_address_is_not_a_term(book):
    # "github.com/ry/tensorflow-resnet" sits under SeNet's code; the ResNet answer is the section that explains it
    answer, chunk = top(book, "resnet解决了什么问题")
    assert chunk.line_start <= line(BOOK, "退化问题") <= chunk.line_end, chunk
    assert not any("tensorflow-resnet" in c.quote for c in answer.citations)


def test_a_topic_heading_is_found_through_its_parent(book):
    # "4.2.3 模型特性" never says AlexNet: its parent heading does, and VGGNet's "模型特性" must not win
    _, chunk = top(book, "AlexNet的模型特性有哪些？")
    assert chunk.heading_path[-2:] == ("4.2 AlexNet", "4.2.3 模型特性"), chunk.heading_path


def test_the_section_whose_heading_asks_the_question_wins_over_one_that_only_mentions_it(book):
    answer, chunk = top(book, "mode collapse是什么")
    assert answer.status == "answered"
    assert chunk.heading_path[-1] == "7.1.7 什么是mode collapsing?", chunk.heading_path


def test_a_reference_list_never_answers_a_content_question(book):
    for question in ("resnet解决了什么问题", "How does ResNet's skip connection help training?", "GAN是谁提出的"):
        answer = book.ask(question)
        assert all("参考文献" not in c.heading_path[-1] for c in answer.citations), (question, answer.citations)


def test_a_new_topic_after_a_note_question_is_searched_on_its_own(book):
    session = ChatSession(book)
    assert session.ask("resnet解决了什么问题").status == "answered"
    weather = session.ask("今天天气怎么样")
    assert weather.status == "not_found"
    assert "resnet" not in weather.query.lower() and "残差" not in weather.query


@pytest.mark.parametrize(
    "question", ["How do I fix a flat tire on my bike?", "Why is the sky blue?", "How do I make pasta from scratch?"]
)
def test_an_everyday_question_that_only_shares_what_it_asks_is_not_found(book, question):
    # "fix" is 解决 and "why" is 原因 in the glossary: what a question asks is no evidence of a subject
    assert book.ask(question).status == "not_found"


def test_an_english_question_is_judged_by_the_language_of_the_passage_that_would_answer_it(book, qa):
    assert book.retriever.cross_lingual("What is mode collapse?", book.index.chunks[0]) is True
    english = next(c for c in qa.index.chunks if c.kind == "body")
    assert qa.retriever.cross_lingual("What does the learning rate control?", english) is False
    assert qa.retriever.cross_lingual("学习率控制什么？", english) is True


FORMULAS = """# 优化算法

## RMSprop

RMSprop 对梯度的平方做指数加权平均，更新时用它的平方根去除学习率，梯度大的方向步子小。

$$
S_{dW}=\\beta S_{dW}+\\left(1-\\beta\\right)dW^{2}
$$

$$
W=W-\\alpha\\frac{dW}{\\sqrt{S_{dW}}}
$$
"""


def test_a_formula_is_in_the_language_of_the_text_around_it(tmp_path_factory):
    with isolated_dirs(tmp_path_factory, "formulas"):
        notes = notes_tutor(tmp_path_factory, "optim", FORMULAS)
        formula = next(c for c in notes.index.chunks if c.text.startswith("$$") and "sqrt" in c.text)
        assert notes.retriever.cross_lingual("RMSprop 的参数更新公式是什么样的？", formula) is False
        assert notes.retriever.cross_lingual("How does RMSprop update the weights?", formula) is True
        assert notes.ask("RMSprop 的参数更新公式是什么样的？").status == "answered"
