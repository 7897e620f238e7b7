"""Which passage of the chosen section leads: its paragraphs, and the parts under its heading that ask nothing of
their own, are chosen by the question's terms; a question under it is a section of its own."""

from __future__ import annotations

from conftest import make_corpus, settings_for

from tutor.answer.chat import Tutor
from tutor.index.store import build_index
from tutor.types import Hit

NOTES = """# 一、DNN

## 1.5 梯度消失和梯度爆炸的原因是什么？有哪些解决方法？

梯度爆炸和梯度消失问题都是因为网络太深，权值更新不稳定造成的，本质上是梯度反向传播中的连乘效应。

（1）深层网络角度

根据链式求导法则，层数增多时梯度以指数形式增加或衰减。

解决办法：

- 预训练加微调
- 梯度剪切、权重正则（针对梯度爆炸）
- 使用残差结构

### 1.5.1 梯度剪切为什么能防止梯度爆炸？

梯度剪切给梯度设一个阈值，超过阈值就按比例缩小，梯度爆炸时更新也不会太大。
"""


def _retriever(tmp_path):
    make_corpus(tmp_path, {"n.md": NOTES}, notes=False)
    settings = settings_for(tmp_path, embeddings="hash:64")
    build_index(settings)
    return Tutor.load(settings).retriever


def _hit(retriever, snippet: str, lexical: float) -> Hit:
    chunk = next(c for c in retriever.index.chunks if snippet in c.text and not c.is_heading)
    return Hit(chunk, 1.0, dense=0.9, lexical=lexical)


def test_a_run_in_part_under_the_top_section_leads_when_it_holds_more_of_the_question(tmp_path):
    retriever = _retriever(tmp_path)
    cause = _hit(retriever, "连乘效应", 0.62)
    remedies = _hit(retriever, "预训练加微调", 0.72)
    # after a run-in lead ("（1）深层网络角度"), "解决办法：" starts a part of its own under 1.5
    assert remedies.chunk.section_id != cause.chunk.section_id
    assert retriever._best_in_section([], [cause, remedies])[0] is remedies
    # a question under the section is a section of its own: it does not take the lead this way
    clipping = _hit(retriever, "阈值", 1.0)
    assert retriever._best_in_section([], [cause, clipping])[0] is cause


BOX = """# 目标检测

## 边框回归

边框回归是什么？窗口一般用四维向量表示，边框回归让预测框更接近真实框。

线性回归给定特征向量，学习一组参数，使回归后的值接近真实值。

输入是候选框对应的卷积特征，不是框的四个坐标。

损失函数是平方误差，加上正则项。
"""


def test_what_the_question_asks_beyond_the_sections_subject_picks_the_paragraph(tmp_path):
    make_corpus(tmp_path, {"n.md": BOX}, notes=False)
    settings = settings_for(tmp_path, embeddings="hash:64")
    build_index(settings)
    retriever = Tutor.load(settings).retriever
    opening = _hit(retriever, "边框回归是什么", 0.9)
    regression = _hit(retriever, "线性回归", 0.5)
    inputs = _hit(retriever, "输入是候选框", 0.3)
    tokens = retriever.analyzer.tokenize("边框回归的输入是什么？")
    # the opening repeats the heading's subject; "输入" is what this question asks of it
    assert retriever._best_in_section(tokens, [opening, regression, inputs])[0] is inputs
    # a question that asks only what the heading names keeps the paragraph with most of its terms
    bare = retriever.analyzer.tokenize("边框回归是什么？")
    assert retriever._best_in_section(bare, [regression, opening, inputs])[0] is opening


READING = """## U-Net

U-Net 是编码器-解码器结构的分割网络，跳跃连接把编码器的特征拼接到解码器。

**参考资料**

- [U-Net 论文笔记](https://example.org/unet)
- [U-Net 详解](https://example.org/unet-2)
"""


def test_a_list_of_sources_answers_only_a_question_that_asks_for_reading(tmp_path):
    make_corpus(tmp_path, {"n.md": READING}, notes=False)
    settings = settings_for(tmp_path, embeddings="hash:64")
    build_index(settings)
    retriever = Tutor.load(settings).retriever
    listed = next(c for c in retriever.index.chunks if "example.org/unet" in c.text)
    prose = next(c for c in retriever.index.chunks if "跳跃连接" in c.text)
    assert listed.kind == "link"
    assert retriever.only_a_reading_list("U-Net 训练时用什么损失函数？", listed)
    assert not retriever.only_a_reading_list("U-Net 有哪些参考资料？", listed)
    assert not retriever.only_a_reading_list("Any good articles on U-Net?", listed)
    assert not retriever.only_a_reading_list("U-Net 训练时用什么损失函数？", prose)
