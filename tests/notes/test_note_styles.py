"""Note styles the parser must read: setext headings, Q:/A: and bold questions, math and tables,
noise (images, <br/>, entities, zero-width characters, emoji), bad input (BOM, UTF-16, CRLF, huge or
heading-less files). Fixtures are lists of lines, so an expected line number is a list index + 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.notes.corpus import load_document
from tutor.notes.markdown import parse_markdown

SOURCE = "corpus/notes.md"


def parse(lines: list[str]):
    return parse_markdown("\n".join(lines), SOURCE)


def line_of(lines: list[str], snippet: str) -> int:
    """The 1-based number of the one fixture line holding `snippet`."""
    hits = [i + 1 for i, line in enumerate(lines) if snippet in line]
    assert len(hits) == 1, f"fixture error: {snippet!r} on lines {hits}"
    return hits[0]


def covers(chunk, no: int) -> bool:
    return chunk.line_start <= no <= chunk.line_end


def spans(chunks) -> list:
    return [(c.line_start, c.line_end, c.kind, c.text) for c in chunks]


def kind_at(chunks) -> dict[int, str]:
    """Each body chunk's kind by its first line."""
    return {c.line_start: c.kind for c in chunks if not c.is_heading}


def section_titled(sections, snippet: str):
    found = [s for s in sections if snippet in s.title]
    assert found, f"no section title contains {snippet!r}; titles: {[s.title for s in sections]}"
    return found[0]


def assert_cited_at(chunks, snippet: str, no: int) -> None:
    found = [c for c in chunks if snippet in c.text]
    assert found, f"{snippet!r} is in no chunk; chunks: {spans(chunks)}"
    assert any(covers(c, no) for c in found), f"{snippet!r} is on line {no} but cited at {spans(found)}"


def load_bytes(root: Path, data: bytes, name: str = "notes.md"):
    """load_document of a file `corpus/<name>` under `root` holding `data`."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / name).write_bytes(data)
    return load_document(corpus / name, corpus)


# 1. setext headings


def test_setext_headings_are_headings_and_a_chunk_never_spans_two():
    lines = ["Title", "=====", "", "Intro paragraph under the setext title.", "", "Sub", "-----", "",
             "Sub paragraph text under the setext subheading."]  # fmt: skip
    sections, chunks = parse(lines)
    titles = [s.title for s in sections]
    assert "Title" in titles and "Sub" in titles, f"setext headings not read as sections: {titles}"
    intro = [c for c in chunks if "Intro paragraph" in c.text]
    sub = [c for c in chunks if "Sub paragraph" in c.text]
    assert intro and all(c.heading_path == ("Title",) for c in intro), f"intro chunk path: {spans(intro)}"
    assert sub and all(c.heading_path == ("Title", "Sub") for c in sub), (
        f"sub chunk path: {[c.heading_path for c in sub]}"
    )
    sub_heading = lines.index("Sub") + 1
    for c in chunks:
        assert not (c.line_start < sub_heading <= c.line_end), f"chunk runs into the 'Sub' heading: {spans([c])}"
        assert "=====" not in c.text and "-----" not in c.text, f"setext underline kept as text: {c.text!r}"


# 2. questions


@pytest.mark.parametrize("heading", ["### 7.1.7 什么是mode collapsing?", "## 3. Why does dropout work?"])
def test_numbered_headings_that_ask_are_questions(heading):
    sections, _ = parse([heading, "", "The answer to this question is written in this paragraph."])
    assert sections[0].is_question, f"{heading!r} asks, but is_question is False"
    assert sections[0].kind == "answered", f"{heading!r} has an answer below it, kind is {sections[0].kind!r}"


@pytest.mark.parametrize("gap", [False, True], ids=["A-right-below", "blank-line-before-A"])
def test_q_colon_line_with_a_colon_answer_is_an_answered_question(gap):
    lines = ["# 机器学习基础", "", "Q: What is overfitting?"] + ([""] if gap else []) + [
        "A: The model memorizes the training data and fails to generalize.", "",
        "Q: What is underfitting?", "A: The model is too simple to capture the training data."]  # fmt: skip
    sections, chunks = parse(lines)
    q = section_titled(sections, "What is overfitting")
    assert q.is_question, f"'Q: What is overfitting?' is not a question section: {q}"
    answer_line = line_of(lines, "memorizes the training data")
    mine = [c for c in chunks if c.section_id == q.id and c.kind == "body"]
    assert any("memorizes the training data" in c.text and covers(c, answer_line) for c in mine), (
        f"the A: line is not a body chunk of the question; its chunks: {spans(mine)}"
    )
    assert not any("too simple" in c.text for c in mine), f"the next Q/A leaked into this one: {spans(mine)}"


def test_bold_question_line_with_a_paragraph_is_an_answered_question():
    lines = ["# 二、训练技巧", "", "**为什么要用BN？**", "", "BN把每层输入归一化到稳定的分布，缓解内部协变量偏移。"]
    sections, chunks = parse(lines)
    q = section_titled(sections, "为什么要用BN")
    assert q.is_question, f"bold question line is not a question: {q}"
    assert q.kind == "answered", f"bold question with a paragraph under it has kind {q.kind!r}"
    assert "**" not in q.title, f"bold markup left in the title: {q.title!r}"
    answer = [c for c in chunks if c.section_id == q.id and c.kind == "body" and "归一化" in c.text]
    assert answer and covers(answer[0], line_of(lines, "归一化")), (
        f"the paragraph is not the question's answer chunk: {spans(chunks)}"
    )


# 3. headings that do not ask


# a cue word alone ("优缺点", "Difference") names nothing it asks about: a label of its parent's topic
@pytest.mark.parametrize(
    "title",
    [
        "参考文献",
        "References",
        "目录",
        "How it works",
        "4.2.3 模型特性",
        "Introduction",
        "3.3.2 优缺点",
        "**优缺点：**",
        "Difference",
    ],
)
def test_headings_that_do_not_ask_are_not_questions(title):
    if title.startswith("**"):  # a bold run-in line under a topic heading
        sections, _ = parse(["## 3.6.1 mini-batch", "", title, "", "- batch：噪声低。", "- SGD：噪声大。"])
        assert not section_titled(sections, title.strip("*")).is_question
        return
    sections, _ = parse([f"## {title}", "", "Plain prose under the heading, nothing is asked here."])
    s = section_titled(sections, title)
    assert not s.is_question, f"heading {title!r} does not ask, but is_question is True"


@pytest.mark.parametrize("title", ["参考文献", "References"])
def test_a_reference_list_never_gives_body_chunks(title):
    lines = ["# Dropout", "", "Dropout randomly zeroes activations during training to reduce co-adaptation.", "",
             f"## {title}", "",
             "1. Srivastava et al. Dropout: A Simple Way to Prevent Neural Networks from Overfitting. JMLR 2014.",
             "2. Hinton et al. Improving neural networks by preventing co-adaptation of feature detectors. 2012.",
             "3. https://arxiv.org/abs/1207.0580"]  # fmt: skip
    sections, chunks = parse(lines)
    refs = section_titled(sections, title)
    first = line_of(lines, "Srivastava")
    in_list = [c for c in chunks if c.section_id == refs.id or c.line_end >= first]
    assert all(c.kind != "body" for c in in_list), f"reference list cited as an answer: {spans(in_list)}"
    assert_cited_at(
        chunks, "randomly zeroes", line_of(lines, "randomly zeroes")
    )  # the prose above is still a body chunk


@pytest.mark.parametrize("label", ["**参考资料**", "**References:**"])
def test_a_labelled_list_of_sources_is_no_answer(label):
    """A bold label over links ("**参考资料**" / "- [title](url)" / "- <url>") points elsewhere: a question with only
    that under it has no answer, and the links are never body chunks, however long the list."""
    links = [f"- [《第{n}篇：卷积核为什么用奇数尺寸[CNN]》](https://example.org/post/{n})" for n in range(12)]
    lines = ["# CNN", "", "## 为什么卷积核一般用奇数尺寸？", "", label, "", "- <https://example.org/q/321773456>", "",
             "## 空洞卷积", "", "空洞卷积在不改变卷积核大小的条件下增大感受野。", "", label, "", *links]  # fmt: skip
    sections, chunks = parse(lines)
    assert section_titled(sections, "奇数尺寸？").kind == "question_only"
    first = line_of(lines, "/q/321773456")
    listed = [c for c in chunks if c.line_end >= first and not c.is_heading and "不改变卷积核" not in c.text]
    assert listed and all(c.kind == "link" for c in listed), f"links cited as answers: {spans(listed)}"
    assert_cited_at(chunks, "不改变卷积核", line_of(lines, "不改变卷积核"))


def test_a_topic_opening_with_a_question_line_answers_that_question():
    """Quiz notes: the heading names the topic, the first line asks, options and the answer follow."""
    lines = ["## Q11 - 皮尔逊相关系数", "", "两个变量的 Pearson 相关系数为零，这两个变量仍可能相关吗？", "",
             "- A 正确", "- B 错误", "", "答案：A。Pearson 相关系数只衡量线性相关，y=x^2 这样的非线性关系它看不出来。"]  # fmt: skip
    sections, chunks = parse(lines)
    q = section_titled(sections, "仍可能相关吗")
    assert q.is_question and q.kind == "answered"
    assert [c.kind for c in chunks if c.line_start == line_of(lines, "仍可能相关吗")] == ["question"]
    assert_cited_at(chunks, "非线性关系", line_of(lines, "非线性关系"))


@pytest.mark.parametrize(
    "opening", ["信息熵度量一个随机变量的不确定性。", "> 三种算法唯一的区别在于每次迭代用的数据量"]
)
def test_a_statement_opening_a_topic_stays_its_text(opening):
    lines = ["## 信息熵", "", opening, "", "H(X) = -sum(p log p)，均匀分布时最大。"]
    sections, _ = parse(lines)
    assert not [s for s in sections if s.is_question], [s.title for s in sections]


@pytest.mark.parametrize("mark", ["Q3-", "Q3 -", "Q3", "Q3)", "Q3:"])
def test_q_numbers_written_many_ways_number_a_bold_question(mark):
    lines = [f"**{mark} Explain how a ROC curve works.**", "", "A ROC curve plots the true positive rate against "
             "the false positive rate at every threshold."]  # fmt: skip
    sections, _ = parse(["# Interview questions", "", *lines])
    assert section_titled(sections, "ROC curve works").kind == "answered"


def test_a_bold_question_with_its_answer_on_the_next_line_is_answered():
    lines = ["## Theory", "", "**Q8- What's the difference between Type I and Type II error?**",
             "Type I errors are false positives.", "Type II errors are false negatives.", "",
             "**Q9 Which cross-validation would you use on a time series?**", "Forward chaining: train on the past, "
             "test on the next fold, never the other way round."]  # fmt: skip
    sections, chunks = parse(lines)
    for title, answer in (("Type I and Type II", "false positives"), ("time series", "Forward chaining")):
        q = section_titled(sections, title)
        assert q.is_question and q.kind == "answered"
        assert q.line_start == line_of(lines, title) and q.line_end >= line_of(lines, answer)
    assert_cited_at(chunks, "Forward chaining", line_of(lines, "Forward chaining"))


@pytest.mark.parametrize("label", ["### 参考回答：", "### 答案", "#### Answer:", "#### Sample answer"])
def test_a_heading_that_only_labels_the_answer_keeps_it_with_its_question(label):
    lines = ["## attention机制", "", label, "", "Attention 就是权重分配：给输入的每个词一个权重，再加权求和。", "",
             "##RNN/CNN/Transformer", "", "RNN 只能按时间步依次计算，难以并行。"]  # fmt: skip
    sections, chunks = parse(lines)
    attention = section_titled(sections, "attention机制")
    assert attention.line_end == line_of(lines, "权重分配"), [(s.title, s.line_start, s.line_end) for s in sections]
    assert not [s for s in sections if s.title.rstrip("：:").lower().endswith(("回答", "答案", "answer"))]
    rnn = section_titled(sections, "RNN/CNN/Transformer")  # two marks and no space: still the heading meant
    assert rnn.line_start == line_of(lines, "##RNN") and rnn.heading_path == ("RNN/CNN/Transformer",)
    assert_cited_at(chunks, "难以并行", line_of(lines, "难以并行"))


def test_one_mark_without_a_space_is_a_heading_only_where_the_writer_writes_headings_so():
    lines = ["# 手写数字识别", "", "##感知机", "", "感知机输出0或1。", "", "#梯度下降", "",
             "梯度下降沿负梯度方向更新参数。"]  # fmt: skip
    sections, chunks = parse(lines)
    gd = section_titled(sections, "梯度下降")
    assert gd.line_start == line_of(lines, "#梯度下降") and gd.heading_path == ("梯度下降",)
    assert section_titled(sections, "感知机").line_end < line_of(lines, "#梯度下降")
    assert_cited_at(chunks, "负梯度方向", line_of(lines, "负梯度方向"))
    # in notes whose headings have their space, a line of one mark is a tag, text of the section it is in
    tagged = ["## 梯度下降", "", "#todo", "", "梯度下降沿负梯度方向更新参数。"]
    sections, _ = parse(tagged)
    assert [s.title for s in sections] == ["梯度下降"]


def test_a_bold_number_opens_a_question_whose_blockquote_answer_keeps_its_lead_ins():
    lines = ["## 一、AI算法基础", "", "**1.** 防止 overfitting 的几条方向", "", "> 1). get more data", "> 2). Dropout", "",
             "**2.** 样本不平衡有哪些解决方法？", "", "> 1）上采样和子采样；", "> 2）修改损失函数的权重；", "",
             "**3.** 交叉熵与最大似然有什么关系？", "", "> 二分类:", "> 意义：表征真实标签和预测概率之间的差值", "",
             "> 最小化交叉熵就是最大化对数似然。", "", "**7. Random Forest**", "", "> RF 是多棵决策树的组合。"]  # fmt: skip
    sections, chunks = parse(lines)
    imbalance = section_titled(sections, "样本不平衡")
    assert imbalance.is_question and imbalance.kind == "answered"
    assert imbalance.line_end >= line_of(lines, "修改损失函数")
    topic = section_titled(sections, "overfitting")  # numbered, but it does not ask: a topic of its own
    assert not topic.is_question and topic.line_end >= line_of(lines, "Dropout")
    cross = section_titled(sections, "交叉熵")  # "> 二分类:" is a line of its answer, not a part after it
    assert cross.line_end >= line_of(lines, "最大化对数似然"), [(s.title, s.line_start, s.line_end) for s in sections]
    assert not [s for s in sections if s.title.startswith(">")]
    assert section_titled(sections, "Random Forest").line_start == line_of(lines, "**7. Random Forest**")


def test_one_mark_without_a_space_is_text_not_a_heading():
    sections, _ = parse(["## Notes", "", "#todo", "", "Adam keeps running averages of the gradient."])
    assert [s.title for s in sections] == ["Notes"]


def test_headings_under_an_unanswered_bold_question_answer_it_and_the_next_bold_question_is_a_sibling():
    lines = ["## Algorithms", "", "**Q2 How is KNN different from k-means clustering?**", "", "##### KNN",
             "KNN is a supervised learner: a point takes the label of its k nearest neighbours.", "", "##### K Means",
             "K-means is unsupervised: it splits the data into k clusters around their means.", "",
             "**Q3- Explain how a ROC curve works.**", "", "A ROC curve plots the true positive rate against the "
             "false positive rate.", "", "**Q5- Define precision and recall.**", "", "Precision is TP/(TP+FP)."]  # fmt: skip
    sections, _ = parse(lines)
    knn = section_titled(sections, "KNN different")
    assert knn.kind == "answered"
    assert (knn.line_start, knn.line_end) == (line_of(lines, "KNN different"), line_of(lines, "around their means"))
    for title in ("ROC curve works", "precision and recall"):
        s = section_titled(sections, title)
        assert s.is_question and s.heading_path == ("Algorithms", s.title), s.heading_path
    assert section_titled(sections, "K Means").heading_path[-2] == knn.title


# 4. math and tables stay whole

PARA = ("批归一化在每个小批量上估计均值和方差，并用它们把每一层的输入标准化，使得后续层看到的分布更加稳定；"
        "训练时使用小批量统计量，推理时使用训练过程中累计的滑动平均值，因此训练和推理的行为并不完全相同，"
        "这一点在小批量很小或者样本分布变化时尤其需要注意，否则模型在上线之后的表现可能明显变差。") * 2  # fmt: skip
MATH_BLANK = ["# 损失函数", "", "交叉熵损失把预测分布和真实分布之间的差异量化为一个标量。", "", "$$",
              r"L = -\frac{1}{N}\sum_{i=1}^{N} y_i \log \hat{y}_i", "", r"\quad + \lambda \lVert w \rVert^2",
              "$$", "", "其中λ是正则化系数，N是样本数。"]  # fmt: skip
MATH_AFTER_PARA = ["# 批归一化", "", PARA, "$$", r"\begin{aligned}",
                   r"\hat{x}_i &= \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} \\",
                   r"y_i &= \gamma \hat{x}_i + \beta \\", r"\mu_B &= \frac{1}{m}\sum_{i=1}^{m} x_i \\",
                   r"\sigma_B^2 &= \frac{1}{m}\sum_{i=1}^{m} (x_i - \mu_B)^2", r"\end{aligned}", "$$", "",
                   "其中γ和β是可学习参数。"]  # fmt: skip
TABLE = ["# 激活函数", "", PARA, "| 函数 | 值域 | 是否零中心 |", "|---|---|---|", "| sigmoid | (0,1) | 否 |",
         "| tanh | (-1,1) | 是 |", "| ReLU | [0,+∞) | 否 |", "", "ReLU计算简单，缓解了梯度消失。"]  # fmt: skip


def assert_block_whole(lines: list[str], first: int, last: int) -> None:
    _, chunks = parse(lines)
    wanted = [lines[i - 1].strip() for i in range(first, last + 1) if lines[i - 1].strip() not in ("", "$$")]
    whole = [c for c in chunks if all(w in c.text for w in wanted) and covers(c, first) and covers(c, last)]
    assert whole, f"lines {first}-{last} are not whole in one chunk; chunks: {spans(chunks)}"
    cut = [c for c in chunks if any(w in c.text for w in wanted) and not all(w in c.text for w in wanted)]
    assert not cut, f"a chunk holds only a piece of lines {first}-{last}: {spans(cut)}"


@pytest.mark.parametrize("lines", [MATH_BLANK, MATH_AFTER_PARA], ids=["blank-line-inside", "after-long-paragraph"])
def test_display_math_stays_whole_in_one_chunk(lines):
    opens = [i + 1 for i, line in enumerate(lines) if line == "$$"]
    assert len(opens) == 2, "fixture error"
    assert_block_whole(lines, opens[0], opens[1])


def test_a_small_table_stays_whole_in_one_chunk():
    assert_block_whole(TABLE, line_of(TABLE, "| 函数 |"), line_of(TABLE, "| ReLU |"))


# 5. noise is not content

NOISE = [
    "![](img/a.png)",
    "<br/>",
    "&emsp;&emsp;",
    "&nbsp;",
    "\u200b",
    "\ufeff",
    "👶",
    "⭐️",
    "<br/>&nbsp;\u200b⭐️",
    # a formula drawn by a chart service: brackets in the alt text, parentheses in the address
    " ![J(\\theta) = C\\sum {[{y^{(i)}}\\cos(x)} ] + 1](http://chart.apis.google.com/chart?cht=tx&chl=J%28(i)%29)",
]


def test_noise_never_reaches_a_chunk_and_content_keeps_its_lines():
    lines = ["# 正则化", "", "![](img/a.png)", "", "<br/>", "&emsp;&nbsp;\u200b",
             "⭐️👶 L2正则化让权重变小，从而降低模型复杂度。&nbsp;<br/>", "", "\ufeff![](img/b.png)", "",
             "&emsp;&emsp;Dropout在训练时随机丢弃神经元。\u200b\ufeff"]  # fmt: skip
    _, chunks = parse(lines)
    for c in chunks:
        for bad in ["![", "img/", "<br", "&emsp;", "&nbsp;", "\u200b", "\ufeff", "👶", "⭐", "\ufe0f"]:
            assert bad not in c.text, f"noise {bad!r} in chunk {c.line_start}-{c.line_end}: {c.text!r}"
    assert_cited_at(chunks, "L2正则化让权重变小", line_of(lines, "L2正则化让权重变小"))  # line 7
    assert_cited_at(chunks, "Dropout在训练时", line_of(lines, "Dropout在训练时"))  # line 11


@pytest.mark.parametrize("noise", NOISE)
def test_a_line_of_only_noise_gives_no_chunk(noise):
    lines = ["# 正则化", "", noise, "", "Weight decay shrinks the weights a little at every step."]
    _, chunks = parse(lines)
    noise_line = lines.index(noise) + 1
    assert not [c for c in chunks if noise_line in (c.line_start, c.line_end)], (
        f"the noise line {noise!r} gave a chunk: {spans(chunks)}"
    )
    assert_cited_at(chunks, "Weight decay shrinks", line_of(lines, "Weight decay shrinks"))


@pytest.mark.parametrize(
    "placeholder",
    ["Answer here", "TODO", "待补充", "<br/>", "[TODO]", "【待补充】", "(TBD)", "- [ ] TODO", "* [x] 待补充"],
)
def test_a_question_with_only_a_placeholder_is_question_only(placeholder):
    sections, _ = parse(["# 二、CNN", "", "## 1x1卷积有什么作用？", "", placeholder])
    q = section_titled(sections, "1x1卷积")
    assert q.kind == "question_only", f"body {placeholder!r} is no answer, but kind is {q.kind!r}"


# 6. bad input


def test_notes_without_headings_keep_their_lines():
    lines = ["The gradient points uphill, so we step against it.", "", "",
             "A learning rate schedule lowers the step size", "as training goes on."]  # fmt: skip
    _, chunks = parse(lines)
    assert_cited_at(chunks, "gradient points uphill", line_of(lines, "gradient points uphill"))
    assert_cited_at(chunks, "learning rate schedule", line_of(lines, "learning rate schedule"))
    assert_cited_at(chunks, "as training goes on", line_of(lines, "as training goes on"))


def test_a_big_heading_less_file_cites_the_lines_its_text_is_on():
    lines = []
    for i in range(3000):
        if i % 7 == 6:
            lines.append("")
        elif i % 5 == 0:
            lines.append(f"第{i}行：卷积层提取局部特征，池化层降低分辨率，全连接层做分类，参数共享减少了参数量。")
        else:
            lines.append(f"Line {i} talks about topic {i % 13} with a few plain words of context.")
    sections, chunks = parse(lines)
    assert chunks, "a 3000-line file gave no chunks"
    for c in chunks:
        assert 1 <= c.line_start <= c.line_end <= len(lines), f"chunk outside the file: {c.line_start}-{c.line_end}"
        span = "\n".join(line.strip() for line in lines[c.line_start - 1 : c.line_end])
        assert c.text.strip() in span, f"chunk text not on lines {c.line_start}-{c.line_end}: {c.text[:80]!r}"
    covered = {no for c in chunks for no in range(c.line_start, c.line_end + 1)}
    dropped = [i + 1 for i, line in enumerate(lines) if line.strip() and i + 1 not in covered]
    assert not dropped, f"content lines in no chunk: {dropped[:10]}"


def test_only_headings():
    lines = ["# A", "## B", "### C", "## D"]
    sections, chunks = parse(lines)
    want = [(h.lstrip("# "), i + 1) for i, h in enumerate(lines)]
    assert [(s.title, s.line_start) for s in sections] == want, "a file of only headings"
    assert all(1 <= c.line_start <= c.line_end <= 4 for c in chunks), spans(chunks)


def test_duplicated_headings_get_distinct_section_ids():
    lines = ["# 模型", "", "## 总结", "", "first summary paragraph of the notes.", "", "## 总结", "",
             "second summary paragraph of the notes."]  # fmt: skip
    sections, chunks = parse(lines)
    dup = [s for s in sections if s.title == "总结"]
    assert len(dup) == 2 and dup[0].id != dup[1].id, f"duplicate headings share an id: {[s.id for s in dup]}"
    first = [c.section_id for c in chunks if "first summary" in c.text]
    second = [c.section_id for c in chunks if "second summary" in c.text]
    assert first == [dup[0].id] and second == [dup[1].id], f"chunks point at the wrong section: {first}, {second}"
    assert_cited_at(chunks, "second summary", line_of(lines, "second summary"))


NOTES = "# Dropout\n\n## 为什么dropout有效？\n\n训练时随机丢弃神经元，相当于集成许多子网络。\n\n参考：https://example.org/dropout\n"


def test_utf8_bom_file(tmp_path):
    doc = load_bytes(tmp_path, b"\xef\xbb\xbf" + NOTES.encode("utf-8"))
    assert doc.sections[0].title == "Dropout", f"BOM leaked into the first title: {doc.sections[0].title!r}"
    assert (doc.sections, doc.chunks) == parse_markdown(NOTES, SOURCE), "a UTF-8 BOM changed the parse"


def test_utf16_file_with_bom_reads_like_its_utf8_version(tmp_path):
    utf8 = load_bytes(tmp_path / "a", NOTES.encode("utf-8"))
    utf16 = load_bytes(tmp_path / "b", b"\xff\xfe" + NOTES.encode("utf-16-le"))  # not "binary": decode it
    assert utf16.sections == utf8.sections, "UTF-16 LE file parsed differently from its UTF-8 version"
    assert utf16.chunks == utf8.chunks, "UTF-16 LE file chunked differently from its UTF-8 version"


def test_crlf_gives_the_same_lines_as_lf():
    lf = parse_markdown(NOTES + "\n\n# Other\n\nMore text on its own line.\n", SOURCE)
    crlf = parse_markdown((NOTES + "\n\n# Other\n\nMore text on its own line.\n").replace("\n", "\r\n"), SOURCE)
    assert crlf == lf, "CRLF line endings changed sections or chunks"


def test_deeply_nested_lists_keep_their_lines():
    lines = ["# 列表", ""] + ["  " * depth + f"- level {depth} item about optimisers" for depth in range(8)]
    _, chunks = parse(lines)
    for depth in range(8):
        assert_cited_at(chunks, f"level {depth} item", line_of(lines, f"level {depth} item"))


def test_an_html_only_markdown_file_does_not_crash(tmp_path):
    doc = load_bytes(tmp_path, b"<div><p>Batch normalization normalizes activations.</p></div>\n", "page.md")
    assert all(c.line_start == c.line_end == 1 for c in doc.chunks), f"lines outside the file: {spans(doc.chunks)}"


def test_inline_html_is_stripped_from_heading_titles():
    sections, chunks = parse(["## <font color=red>Dropout</font> 是什么？", "", "随机丢弃神经元以减少过拟合的方法。"])
    title = sections[0].title
    assert "<" not in title and "font" not in title, f"HTML tags left in the title: {title!r}"
    assert " ".join(title.split()) == "Dropout 是什么？", f"unexpected title {title!r}"
    assert all("font" not in part for c in chunks for part in c.heading_path), [c.heading_path for c in chunks]


# 7. conventions that keep working


def test_indented_prose_under_a_heading_is_a_body_chunk():
    lines = ["# 正则化", "", "## 什么是L2正则化？", "", "    L2正则化在损失中加入权重的平方和，使权重趋向更小的值。", "",
             "    这样模型更平滑，不易过拟合。"]  # fmt: skip
    sections, chunks = parse(lines)
    q = section_titled(sections, "L2正则化")
    body = [c for c in chunks if c.kind == "body" and c.section_id == q.id]
    assert_cited_at(body, "加入权重的平方和", line_of(lines, "加入权重的平方和"))
    assert_cited_at(body, "不易过拟合", line_of(lines, "不易过拟合"))


def test_short_question_lines_under_a_topic_heading_are_questions():
    lines = ["# 二、CNN", "", "1x1卷积有什么作用？", "", "pooling的作用？", ""]
    sections, _ = parse(lines)
    qs = [(s.heading_path, s.line_start) for s in sections if s.is_question]
    want = [(("二、CNN", q), lines.index(q) + 1) for q in ("1x1卷积有什么作用？", "pooling的作用？")]
    assert qs == want, f"question lines under a topic heading: got {qs}, want {want}"


def test_dotted_section_numbers_nest_headings_where_the_levels_disagree():
    """A book pasted together from chapters: "### 10.4" follows "## 12.3.5", and by its # level would sit inside the
    Caffe section, its answers searched and cited under "12.3 Caffe › 12.3.5 …"."""
    lines = ["# 第十二章 网络搭建及训练", "# 12.3 Caffe", "## 12.3.5 Caffe有哪些接口？", "", "Python 与 MATLAB 接口。", "",
             "### 1. Python接口", "", "pycaffe 的用法。", "", "### 10.4 网络搭建有什么原则？", "",
             "### 10.4.1 新手原则", "", "先跑通经典模型再改结构。", "", "## 10.5 网络是不是越深越好？", "",
             "不是，要在浅层有效之后再加深。"]  # fmt: skip
    _, chunks = parse(lines)

    def path_of(snippet: str) -> tuple[str, ...]:
        found = [c for c in chunks if snippet in c.text and not c.is_heading]
        assert found, f"{snippet!r} is in no chunk: {spans(chunks)}"
        return found[0].heading_path

    assert path_of("pycaffe") == ("12.3 Caffe", "12.3.5 Caffe有哪些接口？", "1. Python接口")  # undotted: by level
    assert path_of("先跑通") == ("10.4 网络搭建有什么原则？", "10.4.1 新手原则")
    assert path_of("浅层有效") == ("10.5 网络是不是越深越好？",)


def test_consistent_numbering_keeps_the_levels():
    lines = ["# 第七章 GAN", "## 7.1 基本概念", "### 7.1.1 什么是GAN？", "", "生成器与判别器博弈。", "",
             "#### 附：图示", "", "见原书。", "", "## 7.2 评价", "", "常用 Inception Score 和 FID 两个指标来评价生成质量。"]  # fmt: skip
    _, chunks = parse(lines)
    paths = {c.text: c.heading_path for c in chunks if not c.is_heading}
    assert paths["生成器与判别器博弈。"] == ("第七章 GAN", "7.1 基本概念", "7.1.1 什么是GAN？")
    assert paths["见原书。"] == ("第七章 GAN", "7.1 基本概念", "7.1.1 什么是GAN？", "附：图示")
    assert paths["常用 Inception Score 和 FID 两个指标来评价生成质量。"] == ("第七章 GAN", "7.2 评价")


def test_a_bibliography_entry_in_a_section_is_a_pointer_not_an_answer():
    lines = ["## 2. variable", "", "线性支持向量机（Support Vector Machine, SVM）的模型参数就是变量。", "",
             '[1] Platt, John. "Sequential minimal optimization: A fast algorithm for training support vector '
             'machines." (1998).', "", "[2] 这是正文里的编号段落，不是文献。"]  # fmt: skip
    _, chunks = parse(lines)
    kind = {c.text.split()[0][:7]: c.kind for c in chunks}
    assert kind["[1]"] == "link", spans(chunks)
    assert kind["线性支持向量机"] == "body" and kind["[2]"] == "body", spans(chunks)


def test_a_line_that_only_introduces_a_figure_is_a_pointer_not_an_answer():
    lines = ["## 3.1 神经网络有哪些常用模型结构？", "", "下图包含了大部分常用的模型：", "", "![](img/models.jpg)", "",
             "## 3.2 RNN中为什么会出现梯度消失？", "", "sigmoid函数的函数及导数图如下所示：", "", "![](img/s.jpg)", "",
             "sigmoid的导数最大为0.25，连乘之后梯度越来越小。", "",
             "## 3.3 What is mode collapse?", "", "某个模式(mode)出现大量重复样本，例如：", "", "![](img/m.jpg)", "",
             "## 3.4 How does deconvolution work?", "", "The image deconvolution process is as follows:", "",
             "![](img/d.jpg)", "",
             "## 3.5 算法可视化", "", "1. 损失曲面轮廓上的梯度下降算法：", "",
             '   <img src="imgs/contours.gif" style="zoom:80%;" />']  # fmt: skip
    sections, chunks = parse(lines)
    kind = kind_at(chunks)
    assert kind[line_of(lines, "下图包含了")] == "link", spans(chunks)
    assert kind[line_of(lines, "导数图如下所示")] == "link", spans(chunks)
    assert kind[line_of(lines, "deconvolution process is")] == "link", spans(chunks)
    # content, even before a figure: a clause of its own before the colon
    assert kind[line_of(lines, "出现大量重复样本")] == "body", spans(chunks)
    assert kind[line_of(lines, "导数最大为0.25")] == "body", spans(chunks)
    # a section that holds only a figure and its lead-in answers nothing the tutor can show
    assert section_titled(sections, "常用模型结构").kind == "question_only"
    assert section_titled(sections, "deconvolution").kind == "question_only"
    # an HTML <img> is a figure as much as a markdown image, a blank line after its lead-in or not
    assert kind.get(line_of(lines, "损失曲面轮廓"), "link") == "link", spans(chunks)
    assert section_titled(sections, "算法可视化").kind != "answered"
    assert section_titled(sections, "梯度消失").kind == "answered"
    assert section_titled(sections, "mode collapse").kind == "answered"


def test_captions_each_over_its_figure_are_pointers_and_content_beside_figures_stays():
    lines = ["## 7、程序运行结果", "- 显示数据     ", "![enter description here][56]", "- 等高线", "![][57]", "",
             "## 4、聚类个数K的选择", "- 肘部法则（Elbow method）", " - 作代价函数J和K的图，若是出现一个拐点，K就取拐点处的值",
             " ![enter description here][38]", " - 若是很平滑就不明确，人为选择。", "",
             "## 梯度消失怎么解决？", "- 使用batchnorm", "![](img/bn.png)", "- 使用残差结构", "", "",
             "  [56]: ./images/AnomalyDetection_08.png \"AnomalyDetection_08.png\"",
             "  [57]: ./images/AnomalyDetection_09.png", "[1]: https://arxiv.org/abs/1706.03762"]  # fmt: skip
    sections, chunks = parse(lines)
    kind = kind_at(chunks)
    assert kind[line_of(lines, "- 显示数据")] == "link", spans(chunks)
    assert section_titled(sections, "程序运行结果").kind != "answered"  # a topic heading: "topic", nothing to quote
    # a sentence over a figure, and a list where only one item has a figure, are content
    assert {c.kind for c in chunks if "拐点" in c.text} == {"body"}, spans(chunks)
    assert kind[line_of(lines, "- 使用batchnorm")] == "body", spans(chunks)
    # the definitions of figures and files render as nothing; one of a web page may be a source the notes cite
    assert not [c for c in chunks if "AnomalyDetection" in c.text], spans(chunks)
    assert [c for c in chunks if "arxiv.org" in c.text], spans(chunks)


def test_a_line_of_only_links_to_files_is_a_pointer():
    lines = ["## 五、K-Means聚类算法", "- [全部代码](/K-Means/K-Menas.py)", "", "### 1、聚类过程",
             "- 随机初始化K个聚类中心，把每个样本分到最近的中心，再更新中心。"]  # fmt: skip
    _, chunks = parse(lines)
    kind = kind_at(chunks)
    assert kind[line_of(lines, "[全部代码]")] == "link", spans(chunks)
    assert kind[line_of(lines, "随机初始化")] == "body", spans(chunks)


@pytest.mark.parametrize("pointer", ["见supervised.md", "See optimizer.md.", "详见 `notes/pca.md`"])
def test_a_line_that_only_names_another_file_is_a_pointer_and_its_question_is_unanswered(pointer):
    lines = ["##### (7) LDA和PCA的区别？", pointer, "", "", "##### (8) 什么是AUC？", "ROC 曲线下的面积，越大越好。"]
    sections, chunks = parse(lines)
    assert kind_at(chunks)[2] == "link", spans(chunks)
    assert section_titled(sections, "LDA和PCA").kind == "question_only"
    assert section_titled(sections, "AUC").kind == "answered"


def test_a_table_of_contents_is_no_content_and_a_quoted_link_is_a_pointer():
    lines = ["NLP-词向量", "===", "", "Index", "---", "<!-- TOC -->", "", "- [背景知识](#背景知识)",
             "    - [神经语言模型](#神经语言模型)", "- [WordRank TODO](#wordrank-todo)", "", "<!-- /TOC -->", "",
             "# 背景知识", "## 神经语言模型", "> [神经语言模型](./A-自然语言处理基础#nplm)", "",
             "- 神经语言模型用神经网络估计下一个词的概率。", "", "# WordRank TODO", ""]  # fmt: skip
    sections, chunks = parse(lines)
    # the contents repeat the headings: "WordRank" is named in them, and the notes say nothing about it
    assert [c.kind for c in chunks if "wordrank" in c.text.lower()] == ["question"], spans(chunks)
    assert [s.kind for s in sections if s.title == "WordRank TODO"] == ["question_only"]
    kind = kind_at(chunks)
    assert kind[line_of(lines, "> [神经语言模型]")] == "link", spans(chunks)
    assert kind[line_of(lines, "- 神经语言模型用")] == "body", spans(chunks)


def test_a_line_citing_a_book_chapter_is_a_pointer():
    lines = ["# 过拟合与欠拟合", "> 《深度学习》 5.2 容量、过拟合和欠拟合", "",
             "- 欠拟合指模型不能在训练集上获得足够低的训练误差；", "", "# 书评",
             "《深度学习》这本书第5章讲容量，写得很清楚，推荐先读。"]  # fmt: skip
    _, chunks = parse(lines)
    kind = kind_at(chunks)
    assert kind[line_of(lines, "> 《深度学习》")] == "link", spans(chunks)
    assert kind[line_of(lines, "- 欠拟合")] == "body", spans(chunks)
    # a sentence about the book says something
    assert kind[line_of(lines, "《深度学习》这本书")] == "body", spans(chunks)


def test_the_embedder_sees_headings_without_their_numbering():
    lines = ["# 一、CNN", "", "## 21. 增大感受野的方法？", "", "空洞卷积、池化操作、较大卷积核尺寸的卷积操作。", "",
             "## 3D卷积有什么用？", "", "处理视频。", "", "### 4.2.3 模型特性", "", "- 使用ReLU作为激活函数"]  # fmt: skip
    _, chunks = parse(lines)
    embedded = {c.line_start: c.embed_text() for c in chunks}
    assert embedded[line_of(lines, "增大感受野")] == "增大感受野的方法？"
    assert embedded[line_of(lines, "空洞卷积、")].startswith("CNN › 增大感受野的方法？\n")
    assert embedded[line_of(lines, "3D卷积")] == "3D卷积有什么用？"  # a number that is part of the name stays
    assert "4.2.3" not in embedded[line_of(lines, "使用ReLU")]
    # what is quoted and cited keeps the numbering as the notes write it
    assert any(c.text == "21. 增大感受野的方法？" for c in chunks)


def test_a_bold_parenthetical_aside_is_no_run_in_heading():
    lines = ["## 3.4.12 tanh收敛速度比sigmoid快吗？", "", "**（贡献者：某某－某某大学）**", "",
             "tanh的导数在0到1之间，梯度消失的问题比sigmoid轻，所以收敛更快。", "",
             "**（1）语言模型与文本生成**", "", "给定一个词序列，预测下一个词的概率。"]  # fmt: skip
    sections, chunks = parse(lines)
    titles = [s.title for s in sections]
    assert not any("贡献者" in t for t in titles), titles
    assert any(t.startswith("（1）语言模型") for t in titles), titles  # a numbered bold lead still is one
    answer = [c for c in chunks if "梯度消失的问题比sigmoid轻" in c.text]
    assert answer and answer[0].heading_path == ("3.4.12 tanh收敛速度比sigmoid快吗？",), spans(chunks)


def test_quoted_numbered_questions_over_details_answers_are_questions_and_their_siblings_topics():
    """Notes with no headings at all: "> 1、…" lines, each over a <details> answer. A numbered line that asks is a
    question; once two of them ask, a numbered line that only names a topic ("> 2、… 的机制") is a unit too."""
    lines = ["> 1、Transformer为什么除以根号d_k", "<details>", "  <summary>答案</summary>",
             "  softmax 的输入太大时输出接近 one-hot，梯度趋于 0，所以除以根号 dk 把方差稳定在 1。", "</details>", "",
             "> 2、Transformer self attn的机制", "<details>", "  <summary>答案</summary>",
             "  输入乘 Wq、Wk、Wv 得到 Q、K、V，QK 转置相乘除以根号 dk 再过 softmax，对 V 加权。", "</details>", "",
             "> 3、dropout训练和测试的差别？", "<details>", "  <summary>答案</summary>",
             "  训练时按概率 p 随机丢弃神经元，测试时不丢弃，输出乘以 1-p 保持期望一致。", "</details>"]  # fmt: skip
    sections, chunks = parse(lines)
    first = section_titled(sections, "除以根号d_k")
    assert first.kind == "answered" and first.line_start == 1
    assert section_titled(sections, "dropout训练和测试").kind == "answered"
    mechanism = section_titled(sections, "self attn的机制")
    assert not mechanism.is_question and mechanism.line_start == line_of(lines, "self attn的机制")
    assert_cited_at(chunks, "对 V 加权", line_of(lines, "对 V 加权"))
    owner = next(c for c in chunks if "one-hot" in c.text)
    assert owner.section_id == first.id


def test_numbered_lines_that_do_not_ask_stay_text():
    """Numbered steps under a topic are its text, not units of their own."""
    lines = ["## PCA的流程", "", "1. 去中心化", "", "先对每个特征减去均值。", "", "2. 求协方差矩阵",
             "", "再对协方差矩阵做特征分解，取前 k 个特征向量。"]  # fmt: skip
    sections, _ = parse(lines)
    assert [s.title for s in sections] == ["PCA的流程"]


@pytest.mark.parametrize("label", ["**参考资料**：", "Paper: ", "原文链接："])
def test_a_labelled_line_of_links_is_a_pointer(label):
    lines = ["## 15. Addition 和 Concatenate 的区别？", "Addition 把同维度特征图逐点相加，Concatenate 沿通道拼接。",
             "", f"{label}[The difference between concat and add (feature fusion)](https://example.org/a/1)"]  # fmt: skip
    _, chunks = parse(lines)
    kind = kind_at(chunks)
    assert kind[4] == "link", spans(chunks)
    assert kind[2] == "body", spans(chunks)


def test_bold_numbered_topics_with_lettered_sub_questions_nest_them():
    """An interview book's answers: "**N.** Topic." (or a bare "**N.**") over "* i. …?" sub-questions, each with its
    answer in the paragraphs below; an English question longer than 80 characters still asks."""
    lines = ["# 8.1 Questions", "",
             "**3.** What are the algorithms you’d use when developing the prototype of a fraud detection model?", "",
             "Autoencoders, clustering algorithms, isolation forests", "",
             "**4.**", "", "* i. Why do we use feature selection?", "",
             "-> Reduced required memory", "", "-> Increased training speed", "",
             "* ii. What are some of the algorithms for feature selection? Pros and cons of each.", "",
             "-> Tree algorithms: resistant to scale differences, prone to overfitting.", "",
             "**Boosting**", "-> Sequential learning", "",
             "* iii. How are they used in deep learning?", "", "Dropout can be seen as bagging of sub-networks."]  # fmt: skip
    sections, chunks = parse(lines)
    fraud = section_titled(sections, "fraud detection")
    assert fraud.kind == "answered" and fraud.line_start == 3
    why = section_titled(sections, "Why do we use feature selection")
    assert why.is_question and why.heading_path == ("8.1 Questions", "4.", "i. Why do we use feature selection?")
    assert_cited_at(chunks, "Increased training speed", line_of(lines, "Increased training speed"))
    owner = next(c for c in chunks if "Increased training speed" in c.text)
    assert owner.section_id == why.id
    algorithms = section_titled(sections, "algorithms for feature selection")
    assert algorithms.heading_path[:2] == ("8.1 Questions", "4.")
    # a bold topic inside the answers does not take the next sub-question from its numbered topic
    deep = section_titled(sections, "How are they used in deep learning")
    assert deep.heading_path[:2] == ("8.1 Questions", "4.")


def test_lines_of_prose_under_a_heading_are_not_question_lines():
    """An article's opening lines mention 为什么 and 讲一下, but they are sentences: several clauses, no question mark."""
    lines = ["### 6. NLP任务中layer-norm比BatchNorm好在哪里", "",
             "本文主要是讲一下，为什么NLP任务中，比如Transformer，使用LayerNorm而不是使用BatchNorm", "",
             "这个问题其实很有意思，理解的最核心的点在于：为什么LayerNorm单独对一个样本的所有单词做缩放可以起到效果。"]  # fmt: skip
    sections, _ = parse(lines)
    assert [s.title for s in sections] == ["6. NLP任务中layer-norm比BatchNorm好在哪里"]
    # lines that ask, with or without a question mark, still are questions
    asked = ["### Normalization", "", "BN和LN有什么区别，分别用在什么场景？", "", "介绍一下BN。", "",
             "LSTM中每个gate的作用是什么，为什么跟RNN比起来，LSTM可以防止梯度消失"]  # fmt: skip
    sections, _ = parse(asked)
    assert sum(s.is_question for s in sections) == 3


OUTLINE = [
    "* Data",
    "  * imbalanced data",
    "    * oversample the rare class, or undersample the common one",
    "    * weight the loss of each class by how rare it is",
    "    * generate synthetic samples of the rare class (SMOTE) between its neighbours",
    "    * treat the rare class as anomalies and learn what normal data looks like",
    "    * judge the model by precision, recall and F1, not accuracy",
    "  * small data",
    "    * transfer learning from a model trained on a larger dataset",
    "    * data augmentation: flips, crops, noise",
    "* Activation function",
    "  * sigmoid",
    "    * saturates at both ends, so gradients vanish in deep nets",
    "    * its output is not zero-centred",
    "  * relu",
    "    * cheap, and its gradient does not vanish for positive inputs",
    "    * a neuron dies when its input stays negative",
    "* why normalize the input features?",
    "  * a stable range of features gives stable gradients and faster convergence",
    "* [a guide to choosing the number of hidden layers](https://example.com/hidden-layers)",
    " * Residual network",
    "   * identity mapping, no parameters",
    "   * why at least two layers?",
]


def test_an_outline_without_headings_is_read_as_the_topics_its_items_name():
    sections, chunks = parse(OUTLINE)
    imbalanced = section_titled(sections, "imbalanced data")
    assert imbalanced.heading_path == ("Data", "imbalanced data")
    assert (imbalanced.line_start, imbalanced.line_end) == (line_of(OUTLINE, "imbalanced"), line_of(OUTLINE, "F1"))
    activation = section_titled(sections, "Activation")  # short enough to be read whole
    assert activation.line_end == line_of(OUTLINE, "dies") and not [s for s in sections if s.title == "relu"]
    asked = section_titled(sections, "normalize")  # an item that asks, with its answer under it, is a question
    assert asked.is_question and asked.kind == "answered"
    # a link stays with the item above it; one space more is still an outer item (CommonMark reads it so)
    assert asked.line_end == line_of(OUTLINE, "hidden-layers")
    assert section_titled(sections, "Residual").heading_path == ("Residual network",)
    # a passage never runs from one topic into the next
    for c in chunks:
        owner = [s for s in sections if s.id == c.section_id][0]
        assert owner.line_start <= c.line_start and c.line_end <= owner.line_end
    assert_cited_at(chunks, "dies", line_of(OUTLINE, "dies"))


def test_a_short_outline_and_a_list_of_sentences_stay_whole():
    short = ["## 激活函数", "", "- sigmoid", "  - 会饱和", "- relu", "  - 计算快"]
    sections, _ = parse(short)
    assert [s.title for s in sections] == ["激活函数"]
    sentences = ["## Word2Vec", ""] + [
        "- Word2Vec 本质上也是一个神经语言模型，但是它的目标并不是语言模型本身，而是词向量",
        "  - 因此，它所作的一系列优化，都是为了更快更好地得到词向量，而不是为了预测下一个词本身",
        "- 它提供了两套模型，也提供了两套优化方案，分别基于层次 softmax 和负采样",
        "  - CBOW 用上下文预测中心词，Skip-Gram 用中心词预测上下文，两者都只有一个隐层",
    ]
    sections, _ = parse(sentences)
    assert [s.title for s in sections] == ["Word2Vec"]
