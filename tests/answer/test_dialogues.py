"""Follow-ups over notes in three styles (Chinese numbered-heading book, English Q&A with setext headings,
bullets): a message that stands on its own is searched as it is, an elliptical one borrows only the topic it
lacks, and a value of one question never moves into another."""

from __future__ import annotations

import pytest
from conftest import make_corpus, settings_for

from tutor.answer.chat import ChatSession, Topics, Tutor, standalone_query
from tutor.terms import default_analyzer

BOOK = [
    "# 第七章 生成对抗网络",
    "",
    "### 7.1.7 什么是mode collapsing?",
    "",
    "mode collapsing指生成器只产生少数几种样本，样本的多样性消失。生成器找到一个能骗过判别器的样本后，会反复生成它。",
    "",
    "### 7.1.8 如何解决mode collapsing?",
    "",
    "可以使用minibatch discrimination，让判别器看到一批样本之间的差异。也可以使用unrolled GAN，让生成器考虑判别器未来几步的更新。"
    "WGAN用Wasserstein距离替代JS散度，训练更稳定。",
    "",
    "# 第八章 网络结构与训练",
    "",
    "### 8.1 resnet解决了什么问题?",
    "",
    "resnet通过残差连接解决了深层网络的退化问题，让上百层的网络也能训练。残差结构让梯度可以直接传回浅层。",
    "",
    "### 8.2 sigmoid为什么会导致梯度消失?",
    "",
    "sigmoid的导数最大只有0.25，多层连乘之后梯度指数衰减。tanh的导数最大为1，比sigmoid好一些，但饱和区的导数仍接近0。",
    "",
    "### 8.3 为什么要用学习率warmup?",
    "",
    "warmup指训练开始时先用较小的学习率，再逐步增大到设定值。这样可以避免训练初期参数更新过猛导致的不稳定。",
    "",
    "### 8.4 学习率和batch size怎么设置?",
    "",
    "学习率lr设得太大，比如0.5，损失会震荡甚至发散；设得太小，收敛很慢。batch size变大时，学习率通常要同比例放大。"
    "batch size太小，梯度噪声大，训练不稳定。",
]
QA = [
    "GANs",
    "====",
    "",
    "Q: What is mode collapse in GANs?",
    "A: Mode collapse is when the generator produces only a few kinds of samples and loses diversity.",
    "",
    "Q: How to fix mode collapse?",
    "A: Minibatch discrimination lets the discriminator compare samples within a batch. Unrolled GANs let the "
    "generator look ahead at discriminator updates.",
    "",
    "Activations",
    "-----------",
    "",
    "Q: Why does sigmoid cause vanishing gradients?",
    "A: The sigmoid derivative is at most 0.25, so gradients shrink layer after layer.",
    "",
    "Q: Is tanh better than sigmoid?",
    "A: Tanh is zero-centred, but its derivative is still below 1 and it saturates too.",
]
BULLETS = [
    "# Optimisation",
    "",
    "## Learning rate",
    "- A learning rate of 0.5 is usually too large for Adam; the loss diverges.",
    "- Warmup starts from a small learning rate and raises it over the first steps.",
    "- Warmup avoids unstable updates while the moment estimates of Adam are still poor.",
    "",
    "## Batch size",
    "- A larger batch size gives less noisy gradients.",
    "- With a larger batch size, scale the learning rate up linearly.",
]
FILES = {"book.md": BOOK, "qa.md": QA, "bullets.md": BULLETS}


@pytest.fixture(scope="module")
def styles_tutor(tmp_path_factory):
    root = tmp_path_factory.mktemp("dialogues")
    make_corpus(root, {name: "\n".join(lines) for name, lines in FILES.items()}, notes=False)
    return Tutor.load(settings_for(root))


def line(name: str, snippet: str) -> int:
    found = [i + 1 for i, text in enumerate(FILES[name]) if snippet in text]
    assert len(found) == 1, f"fixture error: {snippet!r} in {name} on lines {found}"
    return found[0]


def cited(answer, name: str) -> set[int]:
    return {c.line_start for c in answer.citations if c.source == f"corpus/{name}"}


def talk(tutor, *messages):
    session = ChatSession(tutor)
    return [session.ask(m) for m in messages]


def test_a_new_subject_is_searched_as_it_is(styles_tutor):
    first, second = talk(styles_tutor, "resnet解决了什么问题", "今天天气怎么样")
    assert first.status == "answered" and cited(first, "book.md") == {line("book.md", "resnet通过残差连接")}
    assert second.query == "今天天气怎么样" and second.status == "not_found" and second.citations == ()


def test_a_question_with_its_own_subject_does_not_borrow(styles_tutor):
    _, second = talk(styles_tutor, "sigmoid为什么会导致梯度消失", "resnet解决了什么问题")
    assert second.query == "resnet解决了什么问题"
    assert cited(second, "book.md") == {line("book.md", "resnet通过残差连接")}


def test_a_value_stays_with_its_question_over_three_turns(styles_tutor):
    first, second, third = talk(styles_tutor, "lr设成0.5会怎样", "那batch size呢", "为什么要warmup")
    assert first.status == "answered" and line("book.md", "比如0.5") in cited(first, "book.md")
    assert "0.5" not in second.query and "batch size" in second.query and second.status == "answered"
    assert third.query == "为什么要warmup"  # it names its own subject: nothing of the earlier turns comes along
    assert third.status == "answered" and "warmup" in third.citations[0].quote


def test_an_english_follow_up_borrows_the_topic_it_lacks(styles_tutor):
    first, second = talk(styles_tutor, "What is mode collapse in GANs?", "how to fix it?")
    assert cited(first, "qa.md") == {line("qa.md", "Mode collapse is when")}
    assert "mode collapse" in second.query.lower() and "it?" not in second.query
    assert cited(second, "qa.md") == {line("qa.md", "Minibatch discrimination")}


def test_a_chinese_follow_up_borrows_the_subject_then_swaps_it(styles_tutor):
    # "mode collapsing" is in several passages of these small notes; a heading names it, so it is a subject
    first, second, third = talk(styles_tutor, "什么是mode collapsing?", "如何解决？", "WGAN呢？")
    assert cited(first, "book.md") == {line("book.md", "mode collapsing指生成器")}
    assert "mode collapsing" in second.query
    assert cited(second, "book.md") == {line("book.md", "minibatch discrimination")}
    assert "WGAN" in third.query and "mode collapsing" not in third.query
    assert any("WGAN" in c.quote for c in third.citations)


def test_a_bare_new_subject_swaps_the_subject(styles_tutor):
    first, second = talk(styles_tutor, "sigmoid为什么会导致梯度消失", "tanh呢？")
    assert second.query == "tanh为什么会导致梯度消失"
    assert any("tanh的导数最大为1" in c.quote for c in second.citations)
    _, english = talk(styles_tutor, "Why does sigmoid cause vanishing gradients?", "what about tanh?")
    assert english.query == "Why does tanh cause vanishing gradients?"


def test_bullet_notes_follow_ups_keep_values_home(styles_tutor):
    first, second, third = talk(
        styles_tutor, "What learning rate is too large for Adam?", "and the batch size?", "why use warmup?"
    )
    assert line("bullets.md", "0.5 is usually too large") in cited(first, "bullets.md")
    assert "batch size" in second.query and "0.5" not in second.query and "learning rate" not in second.query
    assert third.query == "why use warmup?" and third.status == "answered"
    assert "warmup" in third.citations[0].quote.lower()


VOCAB = {
    "学习率",
    "batch",
    "size",
    "warmup",
    "dropout",
    "过拟合",
    "生成对抗网络",
    "模式崩溃",
    "bert",
    "掩码",
    "方式",
    "深度可分离卷积",
    "计算量",
    "nadam",
    "chang",
    "updat",
    "rule",
    "随机森林",
    "梯度提升",
    "异常值",
    "word2vec",
    "fasttext",
    "tf",
    "idf",
    "hierarchical",
    "softmax",
    "sft",
    "chatgpt",
    "预训练",
}


@pytest.mark.parametrize(
    ("history", "message", "expected"),
    [
        # turn 3 names its own subject: searched as it is, no 0.5 from turn 1
        ([("lr设成0.5会怎样",) * 2, ("那batch size呢", "batch size设成会怎样")], "为什么要warmup", "为什么要warmup"),
        # an elliptical turn borrows the subject, never the value
        ([("dropout比例设0.5会怎样？",) * 2], "那为什么呢？", "为什么 dropout"),
        ([("lr设成0.5会怎样",) * 2], "那batch size呢", "batch size设成会怎样"),
        (
            [("What learning rate is too large for Adam?",) * 2],
            "and the batch size?",
            "What batch size is too large for Adam?",
        ),
        ([("What is mode collapse in GANs?",) * 2], "how to fix it?", "how to fix mode collapse?"),
        # "does it": the pronoun is the subject; the term before it is what is asked about it
        (
            [("What is mode collapse in GANs?",) * 2],
            "Which learning rate does it need?",
            "Which learning rate does mode collapse need?",
        ),
        # a pronoun stands for the topic's whole noun phrase, not its first word; a phrase ends where other words begin
        ([("BERT的mask方式是怎样的？",) * 2], "那它有什么缺点？", "那BERT的mask方式有什么缺点？"),
        ([("dropout为什么能防止过拟合？",) * 2], "它有什么缺点？", "dropout有什么缺点？"),
        # after "does" the subject's next word is its verb: "it" is Nadam, not "Nadam chang" (a stem cut short)
        (
            [
                ("What is Nadam?",) * 2,
                ("How does it change the update rule?", "How does Nadam change the update rule?"),
            ],
            "And which term does it leave unchanged?",
            "And which term does Nadam leave unchanged?",
        ),
        # so is an everyday English word; a Latin word written as a name starts a new subject
        ([("What is dropout?",) * 2], "So what do people use in practice?", "what do people use in practice dropout"),
        ([("What is dropout?",) * 2], "And what about Llama 3?", "what about Llama 3"),
        # an everyday word the notes never use (能省) is how the follow-up is put, not a new subject
        ([("深度可分离卷积是怎么做的？",) * 2], "那计算量能省多少？", "计算量能省多少 深度可分离卷积"),
        # a pronoun that is not the subject refers to the message's own term
        ([("What is dropout?",) * 2], "Why does warmup help it?", "Why does warmup help it?"),
        # ... but the object of a preposition in the clause that names it is something else: the earlier topic
        ([("What is dropout?",) * 2], "What does warmup add on top of it?", "What does warmup add on top of dropout?"),
        # ... and in Chinese after a preposition ("在它基础上", "和它相比"); "什么" keeps its 么
        (
            [("dropout为什么能防止过拟合？",) * 2],
            "那 warmup 在它基础上又多了什么？",
            "那 warmup 在dropout基础上又多了什么？",
        ),
        ([("dropout为什么能防止过拟合？",) * 2], "warmup 和它相比有什么缺点？", "warmup 和dropout相比有什么缺点？"),
        ([("dropout为什么能防止过拟合？",) * 2], "那它的代价是什么？", "那dropout的代价是什么？"),
        ([("dropout为什么能防止过拟合？",) * 2], "那缺点是什么？", "缺点是什么 dropout 过拟合"),
        # in another clause it may be the message's own subject
        (
            [("What is dropout?",) * 2],
            "What is warmup, and what is the idea behind it?",
            "What is warmup, and what is the idea behind it?",
        ),
        # asking for an example names no subject: it borrows one, and the next turn never borrows "举个" back
        ([("dropout为什么能防止过拟合？",) * 2], "能举个具体的例子吗？", "能举个具体的例子 dropout 过拟合"),
        ([("What is dropout?",) * 2], "Can you give a concrete example?", "Can you give a concrete example dropout"),
        (
            [("dropout为什么能防止过拟合？",) * 2, ("能举个具体的例子吗？", "能举个具体的例子 dropout 过拟合")],
            "那warmup用公式怎么写？",
            "warmup用公式怎么写",
        ),
        # a plural pronoun stands for the two names set side by side, not for the last turn's subject
        (
            [("随机森林和 GBDT 有什么区别？",) * 2, ("哪个对异常值更敏感？",) * 2],
            "那它们分别是靠降低方差还是降低偏差？",
            "那随机森林和 GBDT分别是靠降低方差还是降低偏差？",
        ),
        # "这" with a measure word stands for what was just said
        (
            [("ChatGPT 是怎么一步步训出来的？",) * 2, ("监督微调那一步具体做什么？",) * 2],
            "这一步比预训练快多少？",
            "监督微调比预训练快多少？",
        ),
        # ... but not where the message names its own subject first
        ([("dropout为什么能防止过拟合？",) * 2], "预训练这一步要多少数据？", "预训练这一步要多少数据？"),
        # "say" is how the question is put, never the subject a later pronoun stands for
        (
            [
                ("What do the notes say about word2vec versus tf-idf?",) * 2,
                ("And how is fastText different from word2vec?",) * 2,
            ],
            "Why does it use hierarchical softmax there?",
            "Why does fastText use hierarchical softmax there?",
        ),
    ],
)
def test_standalone_query_dialogues(history, message, expected):
    assert standalone_query(message, history, Topics(default_analyzer(), VOCAB, common=set())) == expected
