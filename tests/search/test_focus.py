"""Focused answers: the sentences of the top section that answer this question, in notes order, the rest as
"more"; one marker per cited line; noise and sentences that open mid-argument never lead."""

from __future__ import annotations

import io
import json

import pytest
from conftest import make_corpus, settings_for
from helpers import Tags

from tutor.answer.answerer import Answerer
from tutor.answer.chat import ChatSession, Tutor
from tutor.cli.main import main, render_text
from tutor.search.focus import focus, is_noise, section_sentences
from tutor.search.retriever import Retrieval
from tutor.terms import default_analyzer
from tutor.types import Answer, Chunk, Hit, Passage
from tutor.web.chat_tab import answer_from_dict
from tutor.web.render import render_answer

SECTION = "corpus/dl-interview-notes.md:11"  # 1.3, dropout: lines 13, 15 and 17 (two sentences)
MORE_KEYS = {"text", "source", "heading_path", "line_start", "line_end"}

BN = [
    "# Training",
    "",
    "## Why does batch normalization help training?",
    "",
    "Batch normalization normalizes the inputs of each layer over the mini-batch.",
    "Batch normalization keeps activations in a stable range, so higher learning rates can be used.",
    "At test time it uses running averages of the mean and variance instead of batch statistics.",
    "The batch statistics add a little noise, which acts as a mild regularizer.",
    "With very small batches the statistics are noisy and layer normalization is often preferred.",
    "Batch normalization sits between the linear layer and the activation in the original paper.",
    "",
    "## How does warmup keep Adam stable?",
    "",
    "As mentioned above, warmup keeps Adam stable in its first steps.",
    "",
    "Warmup raises the learning rate from a small value, which keeps Adam stable while its moments are poor.",
]


def lines_tutor(factory, name: str, lines: list[str]) -> Tutor:
    """A tutor over one notes file of these lines (and nothing else)."""
    root = factory.mktemp(name)
    make_corpus(root, {f"{name}.md": "\n".join(lines)}, notes=False)
    return Tutor.load(settings_for(root))


@pytest.fixture(scope="module")
def bn_tutor(tmp_path_factory):
    return lines_tutor(tmp_path_factory, "training", BN)


def line(snippet: str) -> int:
    return next(i + 1 for i, text in enumerate(BN) if snippet in text)


def assert_one_citation_per_line(answer: Answer) -> None:
    spans = [(c.source, c.line_start, c.line_end) for c in answer.citations]
    assert len(spans) == len(set(spans)), f"a line is cited twice: {spans}"
    for c in answer.citations:
        assert answer.answer.count(f"[{c.n}]") == 1


def test_a_bagging_question_leads_with_the_bagging_sentence_and_offers_the_rest(notes_tutor):
    answer = notes_tutor.ask("从bagging的角度怎么理解dropout")
    assert answer.status == "answered"
    first = answer.citations[0]
    assert first.line_start == 17 and "bagging" in first.quote
    assert "dropout是神经网络训练过程中" not in answer.answer  # the generic first sentence is not the answer
    assert [p.line_start for p in answer.more] == sorted(p.line_start for p in answer.more)
    assert {13, 15} <= {p.line_start for p in answer.more}
    assert all(p.source == "corpus/dl-interview-notes.md" and p.heading_path[1].startswith("1.3") for p in answer.more)
    assert_one_citation_per_line(answer)


def test_the_follow_up_narrows_to_bagging_after_the_whole_question(notes_tutor):
    session = ChatSession(notes_tutor)
    whole = session.ask("讲一下你怎么理解dropout，分别从bagging和正则化的角度？")
    assert [c.line_start for c in whole.citations] == [13, 15, 17] and whole.more == ()  # it asks what 1.3 asks
    follow = session.ask("从bagging的角度呢？")
    assert "dropout" in follow.query
    assert follow.citations[0].line_start == 17 and "bagging" in follow.citations[0].quote
    body = follow.answer.split("\n\n", 1)[1]
    assert body.startswith("从另一个角度上说"), body
    assert 13 in {p.line_start for p in follow.more}
    assert_one_citation_per_line(follow)


def test_the_answer_comes_from_the_top_hit_section_only(notes_tutor):
    for question in ("dropout为什么能防止过拟合？", "讲一下dropout", "梯度消失怎么解决", "tanh的导数有什么问题"):
        answer = notes_tutor.ask(question)
        if answer.status != "answered":
            continue
        top = next(h for h in answer.hits if h.chunk.kind != "question").chunk
        assert {c.heading_path for c in answer.citations} == {top.heading_path}, question
        assert all(p.heading_path == top.heading_path for p in answer.more), question
        assert len(answer.citations) <= 4
        assert_one_citation_per_line(answer)


def test_a_specific_question_picks_its_sentence_of_a_long_section(bn_tutor):
    answer = bn_tutor.ask("What does batch normalization do at test time?")
    assert answer.status == "answered"
    assert answer.citations[0].line_start == line("At test time")
    assert len(answer.citations) <= 4
    shown = [c.line_start for c in answer.citations]
    assert shown == sorted(shown)  # notes order
    rest = [p.line_start for p in answer.more]
    assert rest == sorted(rest) and not set(rest) & set(shown)
    assert set(rest) | set(shown) == {line(s) for s in ("normalizes the inputs", "stable range", "At test time",
                                                         "mild regularizer", "very small batches", "sits between")}  # fmt: skip


def test_a_general_question_quotes_the_section_from_its_start(bn_tutor):
    answer = bn_tutor.ask("Why does batch normalization help training?")
    assert answer.citations[0].line_start == line("normalizes the inputs")
    assert len(answer.citations) == 4 and len(answer.more) == 2
    text = render_text(answer)
    first, last = answer.more[0].line_start, answer.more[-1].line_end
    assert f"(+2 more in this section: lines {first}–{last})" in text


def test_a_sentence_that_leans_on_earlier_text_does_not_lead(bn_tutor):
    answer = bn_tutor.ask("How does warmup keep Adam stable?")
    assert answer.status == "answered"
    assert answer.citations[0].line_start == line("Warmup raises"), answer.answer
    assert "As mentioned above" not in answer.answer
    assert [p.line_start for p in answer.more] == [line("As mentioned above")]


QUIZ = [
    "> 17、过拟合的表现",
    "<details>",
    "  <summary>答案</summary>",
    "  1、训练集上损失一直下降，验证集上准确率却下降。",
    "  </details>",
    "",
    "> 18、过拟合的解决办法",
    "<details>",
    "  <summary>答案</summary>",
    "  1、增加更多数据<br>",
    "  2、加入数据增强<br>",
    "  3、加dropout，丢弃不同的神经元就等同于训练不同的网络。<br>",
    "  </details>",
    "",
    "> 19、L1正则化为什么能产生稀疏解？",
    "<details>",
    "  <summary>答案</summary>",
    "  L1 的惩罚对所有参数一样，会把一部分权重压到 0。",
    "  </details>",
    "",
    "> 20、dropout训练和测试有什么区别？",
    "<details>",
    "  <summary>答案</summary>",
    "  训练时随机丢弃神经元，测试时不丢弃，输出按保留概率缩放。",
    "  </details>",
]


def test_a_units_own_title_line_and_its_answer_label_are_never_the_answer(tmp_path_factory):
    """Quiz notes without headings: "> 18、…" over a <details> answer labelled "答案". The answer quotes what is
    under the label, not the unit's title line or the label."""
    tutor = lines_tutor(tmp_path_factory, "quiz", QUIZ)
    answer = tutor.ask("过拟合一般怎么解决？")
    assert answer.status == "answered"
    cited = [QUIZ[c.line_start - 1] for c in answer.citations]
    assert cited and all("答案" not in t and "18、" not in t for t in cited), cited
    assert any("增加更多数据" in t for t in cited), cited


def test_more_is_an_additive_field_of_the_answer_object(notes_tutor):
    d = notes_tutor.ask("从bagging的角度怎么理解dropout").to_dict()
    assert list(d)[:10] == ["question", "query", "status", "answer", "citations", "hits", "generator",
                            "general_answer", "notices", "suggestions"]  # fmt: skip
    assert d["more"] and all(set(p) == MORE_KEYS for p in d["more"])
    assert json.loads(json.dumps(d, ensure_ascii=False))["more"] == d["more"]
    assert notes_tutor.ask("SVM的核函数是什么？").to_dict()["more"] == []


def test_a_restored_conversation_keeps_more(notes_tutor):
    answer = notes_tutor.ask("从bagging的角度怎么理解dropout")
    restored = answer_from_dict({k: v for k, v in answer.to_dict().items() if k != "hits"})
    assert restored.more == answer.more and restored.more


def test_cli_json_and_text_show_more(tmp_path):
    make_corpus(tmp_path)
    args = ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    out = io.StringIO()
    assert main(["ask", "从bagging的角度怎么理解dropout", "--json", *args], stdout=out, stderr=io.StringIO()) == 0
    more = json.loads(out.getvalue())["more"]
    assert [p["line_start"] for p in more][:2] == [13, 15]
    out = io.StringIO()
    assert main(["ask", "从bagging的角度怎么理解dropout", *args], stdout=out, stderr=io.StringIO()) == 0
    assert f"(+{len(more)} more in this section: lines 13–17)" in out.getvalue()


def test_the_app_shows_more_collapsed_and_escaped():
    more = (Passage('<img src=x onerror="alert(1)"> a < b & c', "corpus/n.md", ("A", "B"), 4, 4),)
    html = render_answer(Answer("q", "q", "answered", "x [1]", more=more), 1, lambda source: ())
    assert '<details class="more"' in html and "1 more from this section" in html
    assert "<img" not in html and "&lt;img" in html and Tags(html).handlers() == []
    assert "more from this section" not in render_answer(Answer("q", "q", "answered", "x"), 1, lambda s: ())


@pytest.mark.parametrize(
    "noise",
    ["![figure](a.png)", "&emsp;&emsp;", "<br/>", "\u200b\u200b", "✅", "👉", "Answer here", "TODO", "待补充", "---"],
)
def test_noise_is_never_a_sentence(noise):
    assert is_noise(noise)
    chunk = Chunk("c", "corpus/n.md", ("T", "Q?"), 3, 5, f"Dropout drops units at random.\n{noise}\nIt averages.",
                  "body", "corpus/n.md:1")  # fmt: skip
    texts = [s.text for s in section_sentences([chunk], default_analyzer())]
    assert texts == ["Dropout drops units at random.", "It averages."]


@pytest.mark.parametrize("text", ["dropout随机丢弃神经元", "Tanh saturates.", "- 使用batchnorm", "1x1卷积"])
def test_content_is_not_noise(text):
    assert not is_noise(text)


def test_noise_that_reaches_the_answerer_is_not_cited(tmp_path):
    chunk = Chunk("c", "corpus/n.md", ("T", "Why dropout?"), 3, 6,
                  "&emsp;\nDropout drops units at random during training.\n<br/>\nTODO", "body", "corpus/n.md:1")  # fmt: skip
    retrieval = Retrieval("why dropout", ("dropout",), (Hit(chunk, 1.0),), "answered", None, 1.0)
    answer = Answerer(tmp_path).answer("Why dropout?", retrieval)
    assert [c.quote for c in answer.citations] == ["Dropout drops units at random during training."]
    assert answer.more == ()


def test_a_chinese_back_reference_gives_way_to_a_self_contained_sentence():
    chunk = Chunk("c", "corpus/n.md", ("T", "warmup"), 1, 2,
                  "如上所述，warmup让训练初期更稳定。\nwarmup在训练开始时用较小的学习率，让训练初期更稳定。", "body", "x")  # fmt: skip
    sents = section_sentences([chunk], default_analyzer())
    shown, more = focus(sents, ["warmup", "稳定"], lambda t: 1.0, lambda c: True)
    assert [s.text[:6] for s in shown] == ["warmup"] and [s.text[:4] for s in more] == ["如上所述"]


def test_rare_terms_outweigh_common_ones():
    # by count the relu sentence (two shared terms) would lead; by idf weight the one rare term wins
    chunk = Chunk("c", "n.md", ("T", "激活函数"), 1, 4,
                  "relu训练快，收敛快。\n死区会让神经元不再更新。\nsigmoid的导数很小。\ntanh的导数比sigmoid大。", "body", "x")  # fmt: skip
    sents = section_sentences([chunk], default_analyzer())
    weights = {"relu": 0.3, "收敛": 0.3, "死区": 3.0}
    shown, more = focus(sents, list(weights), weights.__getitem__, lambda c: True, limit=1)
    assert [s.text for s in shown] == ["死区会让神经元不再更新。"]
    assert [s.text[:4] for s in more] == ["relu", "sigm", "tanh"]


def test_a_question_about_two_things_gets_both_even_when_one_weighs_less():
    chunk = Chunk("c", "n.md", ("T", "Optimizers"), 1, 5,
                  "SGD takes plain steps.\nMomentum keeps a running average of gradients.\n"
                  "Nesterov looks ahead before each update.\nAdam adapts per weight.\nRMSprop scales by recent size.",
                  "body", "x")  # fmt: skip
    analyzer = default_analyzer()
    sents = section_sentences([chunk], analyzer)
    weights = {analyzer.tokenize("momentum")[0]: 3.0, analyzer.tokenize("Nesterov")[0]: 1.0}
    shown, _ = focus(sents, list(weights), lambda t: weights.get(t, 1.0), lambda c: True)
    # nesterov alone holds a quarter of the weight: it is shown because no chosen sentence holds it
    assert [s.text.split()[0] for s in shown] == ["Momentum", "Nesterov"]


NETS = [
    "# 经典网络",
    "",
    "## 有哪些经典的网络模型？",
    "",
    "| 序号 | 年份 | 网络名称 |",
    "| ---- | ---- | -------- |",
    "| 1 | 2012 | AlexNet |",
    "| 2 | 2015 | ResNet |",
    "",
    "- 1 AlexNet",
    "  主要特点：第一次使用非线性激活函数ReLU，并用Dropout防止过拟合。",
    "- 2 ResNet",
    "  主要特点：解决了网络加深后错误率反而升高的退化问题。",
    "- 3 VGGNet",
    "  主要特点：普遍使用3x3的小卷积核，网络更深。",
]


@pytest.fixture(scope="module")
def nets_tutor(tmp_path_factory):
    return lines_tutor(tmp_path_factory, "nets", NETS)


def test_a_bullet_that_only_names_the_subject_brings_what_sits_under_it(nets_tutor):
    answer = nets_tutor.ask("ResNet解决了什么问题？")
    assert answer.status == "answered"
    lines = {c.line_start for c in answer.citations}
    answer_line = next(i + 1 for i, t in enumerate(NETS) if "退化问题" in t)
    assert answer_line in lines, answer.citations
    vgg = next(i + 1 for i, t in enumerate(NETS) if "3x3" in t)
    assert vgg not in lines, "the label's reach stops at the next label"


def test_a_table_row_is_never_shown_on_its_own(nets_tutor):
    answer = nets_tutor.ask("ResNet是哪一年的？")
    rows = {i + 1 for i, t in enumerate(NETS) if t.startswith("|")}
    assert not rows & {c.line_start for c in answer.citations}, answer.citations
    assert rows & {p.line_start for p in answer.more} or answer.status != "answered"


def test_a_label_ending_in_a_colon_is_a_lead_in_but_a_claim_ending_in_one_is_cited():
    text = "解决办法：\n生成器反复输出少数几种样本，出现大量重复，例如：\n- 预训练加微调"
    chunk = Chunk("c", "notes/x.md", ("GAN",), 1, 3, text, "body", "notes/x.md:1")
    sents = {s.text: s for s in section_sentences([chunk], default_analyzer())}
    assert sents["解决办法："].lead_in
    assert not sents["生成器反复输出少数几种样本，出现大量重复，例如："].lead_in
