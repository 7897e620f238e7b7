"""Answer and note text as HTML (tutor/web/render_markdown.py): a model's markdown shown as such, [n] markers as links to
their sources, raw HTML as text, links only to http(s) pages in a new tab."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import Tags
from tutor.answer.answerer import cited_passage
from tutor.types import Answer, Citation
from tutor.web.render import render_answer
from tutor.web.render_markdown import LINE_MD, answer_body, cite_link, esc, inline

LLM_ANSWER = """## Dropout 的作用

Dropout 在训练时随机丢掉神经元 [1]，测试时不丢 [2]。

1. **防止过拟合**：相当于训练很多子网络 [1]
2. 减少神经元之间的共适应 [2]
   - 每次迭代结构都不同

```python
y = F.dropout(x, p=0.5)  # [1] <script>alert(1)</script>
```

| 阶段 | 做法 |
| --- | --- |
| 训练 | 随机丢弃 [1] |

> 参考 https://en.wikipedia.org/wiki/Dropout_(neural_networks)。"""


def hrefs(html: str) -> list[str]:
    return [a["href"] for t, a in Tags(html).tags if t == "a"]


def test_a_models_headings_numbered_lists_code_and_tables_are_shown_as_such():
    cite = Citation(1, "corpus/n.md", ("DNN", "dropout"), 3, 3, "q")
    answer = Answer("dropout?", "dropout?", "answered", LLM_ANSWER, (cite, Citation(2, "corpus/n.md", (), 4, 4, "r")))
    html = render_answer(answer, 5, lambda source: ())
    body = html.split('<div class="answer-text">')[1]
    assert "<h2>Dropout 的作用</h2>" in body and "##" not in body
    assert "<ol><li><strong>防止过拟合</strong>：相当于训练很多子网络" in body
    assert "<li>减少神经元之间的共适应 " in body and "<ul><li>每次迭代结构都不同</li></ul>" in body
    code = body.split('<pre><code class="language-python">')[1].split("</code></pre>")[0]
    assert code == "y = F.dropout(x, p=0.5)  # [1] &lt;script&gt;alert(1)&lt;/script&gt;\n"  # verbatim, no link
    assert "<table><thead><tr><th>阶段</th><th>做法</th></tr></thead>" in body
    assert "<blockquote>" in body and "```" not in body and "| --- |" not in body
    links = hrefs(body.split("</details>")[0])
    assert links.count("#src-5-1") == 3 and links.count("#src-5-2") == 2  # the one in the code block is text
    assert "https://en.wikipedia.org/wiki/Dropout_(neural_networks)" in links
    assert not {"script", "img"} & Tags(html).names()


def test_citation_markers_are_the_links_the_page_script_opens():
    html = answer_body("A [1] and B [12].\n\n- C [3]", "iv2")
    assert cite_link(1, "iv2") == '<a class="cite" href="#src-iv2-1" title="show source [1]">[1]</a>'
    assert cite_link(1, "iv2") in html and cite_link(12, "iv2") in html and cite_link(3, "iv2") in html
    assert "[1]" not in html.replace(cite_link(1, "iv2"), "")


def test_a_citation_marker_stays_text_where_it_cannot_be_a_marker():
    html = answer_body("`a[1]` [see [2]](https://x.example/p) [1234] [x]", 1)
    assert "<code>a[1]</code>" in html and "#src-1-1" not in html
    assert hrefs(html) == ["https://x.example/p"]  # no link inside a link; [1234] and [x] are no markers
    assert "[1234] [x]" in html
    assert inline("[1] Platt, J. (1998). Sequential minimal optimization.") == esc(
        "[1] Platt, J. (1998). Sequential minimal optimization."
    )  # a note line (no turn): the marker is the note's text


def test_a_definition_line_does_not_capture_the_markers():
    html = answer_body("[1]: https://evil.example/x\n\nsee [1]", 4)
    assert hrefs(html) == ["#src-4-1", "https://evil.example/x", "#src-4-1"]


@pytest.mark.parametrize(
    "payload",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert(2)</script>",
        "<div onclick=alert(3)>\nblock\n</div>",
        '"><svg onload=alert(4)>',
        "<a href=javascript:alert(5)>x</a>",
        "[click](javascript:alert(6))",
        "<javascript:alert(7)>",
        "[data](data:text/html;base64,PHNjcmlwdD4=)",
        "![pixel](https://tracker.example/p.png)",
        '<iframe src="https://x.example"></iframe>',
    ],
)
def test_raw_html_and_unsafe_links_are_text_in_answers_and_note_lines(payload):
    for html in (answer_body(f"quote {payload} [1]", 1), inline(f"note {payload}")):
        tags = Tags(html)
        assert not {"img", "script", "svg", "div", "iframe"} & tags.names()
        assert not tags.handlers()
        for tag, attrs in tags.tags:
            if tag == "a":
                assert attrs["href"].startswith(("https://", "#src-"))
                if attrs["class"] == "ext":
                    assert attrs["target"] == "_blank" and attrs["rel"] == "noopener noreferrer"


def test_bare_and_written_links_open_outside_the_page():
    html = answer_body("运行 https://a.example/x?y=1&z=2，或 [文章](https://b.example/p) 和 <https://c.example/q>。", 1)
    assert hrefs(html) == ["https://a.example/x?y=1&z=2", "https://b.example/p", "https://c.example/q"]
    assert html.count('target="_blank" rel="noopener noreferrer"') == 3
    assert ">https://a.example/x?y=1&amp;z=2</a>，" in html


def test_bold_next_to_chinese_punctuation_is_bold():
    html = inline("**原因：**先归一化，**注意**：再训练，看**“引号”**后面")
    assert html == "<strong>原因：</strong>先归一化，<strong>注意</strong>：再训练，看<strong>“引号”</strong>后面"
    assert answer_body("**Note:**this", 1) == "<p>**Note:**this</p>"  # CommonMark's rule stands for other text


def test_formulas_are_shown_as_written():
    html = inline(r"$\hat{y}_i - x_{j}$ 和 $$\|w\|^2$$ 各花 $5 and $10")
    assert html == (
        r'<span class="math">$\hat{y}_i - x_{j}$</span> 和 <span class="math">$$\|w\|^2$$</span> 各花 $5 and $10'
    )


def test_a_note_line_keeps_its_block_syntax_backslashes_and_entities():
    for line in ("# 一、DNN", "1. 数据增强", "- item", "> quote", "\\_x &lt; &amp;", "    indented code?"):
        assert inline(line) == esc(line)
    assert inline("a\nb") == "a\nb" and answer_body("a\nb", 1) == "<p>a<br>b</p>"


@given(st.text(alphabet=st.characters(blacklist_characters="*_`[<~$\n\r\x00:", blacklist_categories=("Cs",))))
def test_a_line_without_markup_renders_as_markdown_would(line):
    assert inline(line) == str(LINE_MD.renderInline(line, {"turn": None}))


@pytest.mark.parametrize(
    "passage",
    ["```python\ng = tf.Graph()\n```", "x = 1\n```python\ng = tf.Graph()", "| a | b |\n| --- | --- |\n| 1 | 2 |"],
)
def test_a_code_or_table_answer_keeps_its_marker_a_link(passage):
    html = answer_body(cited_passage(passage), 1)
    assert hrefs(html) == ["#src-1-1"] and ("<pre>" in html or "<table>" in html)
