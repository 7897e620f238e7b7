"""The browser UI's pure render functions: Answer / sections -> HTML, without a server."""

from __future__ import annotations

import pytest

from tests.helpers import Tags
from tutor.config import parse_auth
from tutor.notes.file_states import FileState
from tutor.types import Answer, Citation, Section
from tutor.web import render, render_files
from tutor.web.chat_tab import answer_from_dict

NOTE = "corpus/notes.md"
LINES = [f"line {i} text" for i in range(1, 21)]
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(2)</script>"


def lines_of(files: dict[str, list[str]]):
    return lambda source: files.get(source, ())


def cite(n=1, start=10, end=10, **kw) -> Citation:
    return Citation(n, kw.pop("source", NOTE), ("一、DNN", "1.3 dropout"), start, end, kw.pop("quote", "q"), **kw)


def answer(text="dropout 随机丢掉神经元。 [1]", citations=None, **kw) -> Answer:
    question, query, status = kw.pop("question", "dropout?"), kw.pop("query", "dropout?"), kw.pop("status", "answered")
    return Answer(question, query, status, text, (cite(),) if citations is None else citations, **kw)


def test_citation_markers_become_links_to_their_source_blocks():
    html = render.render_answer(answer(), turn=3, lines_of=lines_of({NOTE: LINES}))
    assert '<a class="cite" href="#src-3-1"' in html and ">[1]</a>" in html
    assert 'id="src-3-1"' in html
    assert "corpus/notes.md › 一、DNN › 1.3 dropout › line 10" in html
    assert "answered from your notes" in html and "答案来自你的笔记" in html
    assert "searched for" not in html


def test_source_block_highlights_the_cited_lines_with_two_neighbours_and_numbers():
    html = render.source_block(cite(start=10, end=11), turn=1, lines=LINES)
    rows = [a for t, a in Tags(html).tags if t == "div" and "ln-row" in a.get("class", "")]
    assert [("hit" in r["class"]) for r in rows] == [False, False, True, True, False, False]
    for no in range(8, 14):
        assert f'<span class="ln">{no}</span><span class="lt">line {no} text</span>' in html
    assert "line 7 text" not in html and "line 14 text" not in html


def test_note_lines_show_bold_and_links_as_such_and_everything_else_as_text():
    line = f"可以把**units的个数**看成 {XSS_IMG} **<b>x</b>** https://ex.example/a?b=1&c=2 [1]"
    for html in (render.source_block(cite(start=1, end=1), 1, [line]), render_files.note_row(1, line, None)):
        tags = Tags(html)
        assert "<strong>units的个数</strong>" in html and "**" not in html
        assert render.esc(XSS_IMG) in html and "<strong>&lt;b&gt;x&lt;/b&gt;</strong>" in html
        assert not {"img", "script", "b"} & tags.names()
        assert [a["href"] for t, a in tags.tags if t == "a"] == ["https://ex.example/a?b=1&c=2"]


def test_excerpt_stops_at_the_file_edges_and_cuts_long_ranges():
    assert [no for no, _, _ in render.excerpt(LINES, 1, 1)] == [1, 2, 3]
    assert [no for no, _, hit in render.excerpt(LINES, 20, 20) if hit] == [20]
    long = [f"l{i}" for i in range(1, 101)]
    rows = render.excerpt(long, 1, 100)
    assert sum(hit for *_, hit in rows) == render.MAX_CITED_LINES
    assert "more cited lines" in render.source_block(cite(start=1, end=100), 1, long)


def test_a_missing_note_file_shows_the_quote_instead():
    html = render.source_block(cite(quote="丢掉一些神经元"), 1, lines=())
    assert "cannot be read now" in html and "丢掉一些神经元" in html


@pytest.mark.parametrize(
    ("status", "en", "zh"),
    [
        ("answered", "answered from your notes", "答案来自你的笔记"),
        ("question_only", "your notes only pose this question", "你的笔记只提出了这个问题"),
        ("not_found", "not in your notes", "你的笔记里没有这个内容"),
    ],
)
def test_status_line(status, en, zh):
    line = render.status_line(answer(status=status))
    assert en in line and zh in line and f"status-{status}" in line


def test_follow_up_shows_the_query_that_was_searched():
    html = render.render_answer(
        answer(question="从bagging的角度呢？", query="从bagging的角度 dropout"), 2, lines_of({})
    )
    assert "searched for: <q>从bagging的角度 dropout</q>" in html


def test_related_unverified_and_reference_citations_are_labelled():
    related = render.source_block(cite(related=True), 1, LINES)
    assert "related" in related and "unverified" not in related
    assert "unverified" in render.source_block(cite(verified=False), 1, LINES)
    assert "unverified" not in render.source_block(cite(verified=True), 1, LINES)
    ref = render.source_block(
        cite(source="corpus/references/bn.md", url="https://example.org/bn", title="Batch Norm 详解"), 1, LINES
    )
    link = next(a for t, a in Tags(ref).tags if t == "a")
    assert link["href"] == "https://example.org/bn" and "noopener" in link["rel"] and link["target"] == "_blank"
    assert "Batch Norm 详解 › line 10" in ref


def test_notices_general_answer_and_small_markdown():
    html = render.render_answer(
        answer(
            text="根据你的笔记：\n\n**相关内容**：\n- 使用batchnorm [1]\n- 运行 `tutor index` https://a.example/x?y=1&z=2",
            notices=("only the first 2,000 characters were searched",),
            general_answer="Dropout is a regularizer.",
        ),
        1,
        lines_of({}),
    )
    assert '<div class="notice">⚠ only the first 2,000 characters were searched</div>' in html
    assert "General knowledge (not from your notes)" in html and "Dropout is a regularizer." in html
    assert (
        "<strong>相关内容</strong>" in html and "<ul><li>使用batchnorm" in html and "<code>tutor index</code>" in html
    )
    assert 'href="https://a.example/x?y=1&amp;z=2"' in html


@pytest.mark.parametrize(
    "payload", [XSS_IMG, XSS_SCRIPT, '"><svg onload=alert(3)>', "<a href=javascript:alert(4)>x</a>"]
)
def test_note_and_answer_text_is_escaped_everywhere(payload):
    files = {NOTE: [*LINES[:9], f"note {payload} here", *LINES[10:]]}
    html = render.render_answer(
        answer(text=f"quote {payload} [1]", question=payload, query=f"{payload} q", notices=(payload,)),
        1,
        lines_of(files),
    )
    html += render.render_question(payload) + render.render_problem(payload) + render.render_partial(payload, 1)
    tags = Tags(html)
    assert not {"img", "script", "svg"} & tags.names()
    assert not tags.handlers()
    assert all(not a.get("href", "").startswith("javascript") for _, a in tags.tags)
    assert render.esc(payload) in html


def section(line, title, kind, is_question=True, links=(), end=None) -> Section:
    return Section(f"{NOTE}:{line}", NOTE, ("一、DNN", title), line, end or line, title, is_question, kind, links=links)


NOTE_SECTIONS = [
    section(1, "一、DNN", "topic", is_question=False),
    section(3, "1.1 激活函数？", "question_only"),
    section(5, "1.3 dropout？", "answered"),
    section(7, "1.4 BN", "link_only", links=("https://zhuanlan.zhihu.com/p/1",), end=8),
]
NOTE_FILE = [
    "# 一、DNN",
    "",
    "## 1.1 激活函数？",
    "",
    "## 1.3 dropout？",
    XSS_IMG + XSS_SCRIPT,
    "## 1.4 BN",
    "https://zhuanlan.zhihu.com/p/1",
]


def test_notes_view_marks_questions_counts_them_and_escapes_the_text():
    states = [FileState(NOTE, "indexed", passages=4, sections=4, questions=3, answered=1, question_only=1, link_only=1)]
    html = render_files.render_notes_by_file(NOTE_SECTIONS, states, lines_of({NOTE: NOTE_FILE}))
    assert "1 of 3 questions have answers in your notes" in html
    asks = {a["data-ask"]: a["class"] for t, a in Tags(html).tags if "data-ask" in a}
    assert asks == {
        "激活函数？": "note-line h2 question kind-question_only",
        "dropout？": "note-line h2 question kind-answered",
        "BN": "note-line h2 question kind-link_only",
    }
    assert not {"img", "script"} & Tags(html).names() and render.esc(XSS_IMG) in html


def test_reference_states_show_state_reason_and_links_not_fetched_yet():
    states = [
        {"url": "https://ok.example/a", "status": "fetched", "title": "<b>A</b>", "linked_from": [f"{NOTE}:99"]},
        {"url": "javascript:alert(1)", "status": "failed", "reason": "HTTP 404"},
    ]
    html = render_files.render_references(states, NOTE_SECTIONS, lines_of({NOTE: NOTE_FILE}))
    assert "fetched" in html and "HTTP 404" in html and "&lt;b&gt;A&lt;/b&gt;" in html
    assert "not fetched yet" in html and f"{NOTE}:8" in html  # the link's own line, found in the section
    hrefs = [a.get("href") for t, a in Tags(html).tags if t == "a"]
    assert hrefs == ["https://ok.example/a", "https://zhuanlan.zhihu.com/p/1"]


def test_a_huge_question_is_shown_cut_with_its_length():
    html = render.render_question("问" * 100_000)
    assert "100,000 characters in all" in html and len(html) < 2_000


def test_index_status_line():
    assert "3/31" in render.index_status("building", detail="building the index", done=3, total=31)
    assert "ready" in render.index_status("ready", files=1, passages=31)
    assert "&lt;x&gt;" in render.index_status("error", detail="<x>")
    assert "no notes found in /n" in render.index_status("empty", detail="/n")


def test_answer_round_trips_through_the_browser_record():
    original = answer(citations=(cite(related=True), cite(2, verified=False)), suggestions=("next?",), notices=("n",))
    assert answer_from_dict(original.to_dict()) == original


def test_parse_auth():
    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret")
    assert parse_auth(None) is None
    with pytest.raises(ValueError):
        parse_auth("alice")


def test_note_files_reads_lines_and_never_leaves_the_root(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "n.md").write_text("a\r\nb\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("s", encoding="utf-8")
    files = render.NoteFiles(tmp_path / "corpus")
    assert files("n.md") == ("a", "b", "")
    assert files("../secret.txt") == () and files("missing.md") == ()


def test_settings_panel_sets_a_session_model_and_never_echoes_the_key(tmp_path):
    from tutor.config import Settings
    from tutor.web.chat_tab import Conversation, use_model

    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "i")
    state, message = use_model(settings, "openai:local-model", "http://127.0.0.1:9/v1", "sk-secret-123", None)
    assert isinstance(state, Conversation) and state.chat_model is not None and "local-model" in message
    assert "sk-secret-123" not in repr(state.chat_model) and "sk-secret-123" not in message
    state, message = use_model(settings, "bogus:thing", "", "sk-secret-123", state)
    assert message.startswith("⚠") and "sk-secret-123" not in message
    state, message = use_model(settings, "none", "", "", state)
    assert state.chat_model == "none" and "offline" in message


def test_a_server_named_in_the_panel_never_gets_the_operators_key(tmp_path):
    from pydantic import SecretStr

    from tutor.config import Settings
    from tutor.web.chat_tab import use_model

    operator = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "i", llm_api_key=SecretStr("sk-operator"))
    state, _ = use_model(operator, "openai:m", "http://attacker.example/v1", "", None)
    assert state.chat_model.openai_api_key.get_secret_value() != "sk-operator"
    state, _ = use_model(operator, "openai:m", "http://mine.example/v1", "sk-mine", None)
    assert state.chat_model.openai_api_key.get_secret_value() == "sk-mine"
    state, _ = use_model(operator, "openai:m", "", "", None)  # the operator's own endpoint: their key
    assert state.chat_model.openai_api_key.get_secret_value() == "sk-operator"
