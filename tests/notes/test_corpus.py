"""The notes parser: question units, exact line ranges, messy markdown, unreadable files."""

from __future__ import annotations

from pathlib import Path

from conftest import NOTES, make_corpus

from tutor.notes.corpus import load_corpus, load_document
from tutor.notes.files import corpus_files
from tutor.notes.markdown import parse_markdown

SOURCE = "corpus/dl-interview-notes.md"


def parse_notes():
    return parse_markdown(NOTES.read_text(encoding="utf-8"), SOURCE)


def by_line(sections):
    return {s.line_start: s for s in sections}


def test_every_question_in_the_notes_is_a_unit_of_its_own():
    sections, _ = parse_notes()
    questions = [(s.line_start, s.line_end) for s in sections if s.is_question]
    # 1.1-1.5, three CNN lines, two RNN lines, 4.1, and the last line of the file
    assert questions == [
        (3, 3),
        (7, 7),
        (11, 17),
        (19, 21),
        (23, 54),
        (60, 60),
        (62, 62),
        (64, 64),
        (70, 70),
        (72, 72),
        (78, 120),
        (130, 130),
    ]


def test_section_kinds_follow_what_the_notes_hold():
    s = by_line(parse_notes()[0])
    assert s[3].kind == "question_only" and s[7].kind == "question_only"
    assert s[11].kind == "answered" and s[23].kind == "answered" and s[78].kind == "answered"
    assert s[19].kind == "link_only" and s[19].links == ("https://zhuanlan.zhihu.com/p/34879333",)
    assert s[60].kind == "question_only" and s[60].heading_path == (
        "二、CNN",
        "说一下你理解的卷积核， 1x1的卷积核有什么作用？",
    )
    assert s[130].title == "batch size对收敛速度的影响。" and s[130].topic == "四、工程方面"
    assert s[1].kind == "topic" and not s[1].is_question


def test_indented_paragraphs_are_prose_with_their_own_lines():
    _, chunks = parse_notes()
    body = {(c.line_start, c.line_end): c for c in chunks if c.kind == "body"}
    assert body[(13, 13)].text.startswith("dropout是神经网络训练过程中")  # 8 spaces of indent: prose, not code
    assert body[(15, 15)].text.startswith("从概念上去理解dropout")  # two tabs
    assert "**" not in body[(15, 15)].text  # bold markup stripped for reading
    assert body[(17, 17)].heading_path[-1].startswith("1.3 ")


def test_bold_run_in_headings_and_numbered_leads_become_sub_sections():
    _, chunks = parse_notes()
    noise = next(c for c in chunks if c.line_start == 82)
    assert (noise.line_start, noise.line_end) == (82, 84)
    assert noise.heading_path[-2:] == ("I. 数据集问题", "数据集中是否有太多的噪音？")
    sigmoid = next(c for c in chunks if c.line_end == 33)
    assert sigmoid.heading_path[-1] == "（2）激活函数角度"


def test_a_lead_in_after_numbered_leads_is_not_swallowed_by_the_last_one():
    _, chunks = parse_notes()
    where = {c.line_start: (c.heading_path[-1], c.line_end) for c in chunks if 23 <= c.line_start <= 54}
    assert where[35] == ("（2）激活函数角度", 35)  # (2) ends with its own paragraphs
    assert where[37] == ("解决办法", 44) and where[46] == ("参考", 50) and where[52] == ("参考", 54)
    # without run-in headings before it, a lead-in stays in the body it introduces
    sections, plain = parse_markdown("# Q\n\n## 怎么办？\n\n解决办法：\n\n- 加数据\n- 正则化\n", "n.md")
    assert [s.title for s in sections] == ["Q", "怎么办？"] and plain[-1].heading_path == ("Q", "怎么办？")


def test_a_chunk_never_spans_two_headings_and_lines_are_trimmed_to_text():
    text = NOTES.read_text(encoding="utf-8")
    lines = text.split("\n")
    _, chunks = parse_notes()
    for c in chunks:
        assert lines[c.line_start - 1].strip() and lines[c.line_end - 1].strip(), c
        inner = lines[c.line_start : c.line_end]  # lines after the first
        assert not any(line.startswith("#") for line in inner), c


def test_last_line_without_trailing_newline_is_kept():
    assert not NOTES.read_bytes().endswith(b"\n")
    _, chunks = parse_notes()
    assert chunks[-1].line_start == 130 and chunks[-1].kind == "question"


def test_headings_inside_code_fences_and_crlf_are_handled():
    text = "# A\r\n\r\n```\r\n# not a heading\r\n```\r\n\r\n## B 为什么？\r\nanswer\r\n"
    sections, chunks = parse_markdown(text, "x.md")
    assert [s.title for s in sections] == ["A", "B 为什么？"]
    assert any("# not a heading" in c.text for c in chunks)


def test_plain_text_file_without_headings_is_one_section_named_after_it():
    text = "The first paragraph of a plain text note.\n\nThe second paragraph, two lines below it.\n"
    sections, chunks = parse_markdown(text, "corpus/extra.txt")
    assert sections[0].title == "extra"
    assert [(c.line_start, c.line_end) for c in chunks] == [(1, 1), (3, 3)]


def test_long_sections_are_split_within_the_embedder_window():
    para = "。".join(f"这是第{i}句比较长的说明文字，用来测试切分" for i in range(60))
    _, chunks = parse_markdown(f"# T\n\n{para}\n", "x.md")
    body = [c for c in chunks if c.kind == "body"]
    assert len(body) > 3 and all(len(c.text) <= 330 for c in body)
    assert all(c.line_start == c.line_end == 3 for c in body)


def test_binary_and_non_utf8_files_are_skipped_with_a_warning_naming_them(tmp_path: Path):
    corpus = make_corpus(tmp_path, {"photo.md": b"\x89PNG\r\n\x1a\n\x00\x00binary", "gbk.txt": "梯度".encode("gbk")})
    warnings: list[str] = []
    docs = load_corpus(corpus, warn=warnings.append)
    assert [d.source for d in docs] == [SOURCE]
    assert any("photo.md" in w and "binary" in w for w in warnings)
    assert any("gbk.txt" in w and "UTF-8" in w for w in warnings)


def test_folders_as_people_keep_them(tmp_path):
    """Subfolders are read; hidden folders (an Obsidian vault's .obsidian/), attachments and what .tutorignore names
    are not; front matter is not content and every line after it keeps its number. A notes folder inside a hidden
    folder is still read."""
    vault = tmp_path / ".config" / "vault"
    (vault / "ml" / "trees").mkdir(parents=True)
    (vault / ".obsidian").mkdir()
    (vault / "drafts").mkdir()
    (vault / "ml" / "trees" / "gbdt.md").write_text(
        "---\ntitle: GBDT\ntags: [ml]\n---\n\n# GBDT\n\n每一轮拟合上一轮的负梯度。\n", encoding="utf-8"
    )
    (vault / "ml" / "figure.png").write_bytes(b"\x89PNG\r\n")
    (vault / ".obsidian" / "workspace.md").write_text("# not notes\n", encoding="utf-8")
    (vault / "drafts" / "wip.md").write_text("# 草稿\n\n还没写完。\n", encoding="utf-8")
    (vault / "scratch.txt").write_text("临时记录\n", encoding="utf-8")
    (vault / ".tutorignore").write_text("# my drafts\ndrafts/\n*.txt\n", encoding="utf-8")
    files = [p.relative_to(vault).as_posix() for p in corpus_files(vault)]
    assert files == ["ml/trees/gbdt.md"]
    doc = load_document(vault / "ml" / "trees" / "gbdt.md", vault)
    assert [s.title for s in doc.sections] == ["GBDT"] and doc.sections[0].line_start == 6
    body = next(c for c in doc.chunks if "负梯度" in c.text)
    assert body.line_start == 8 and "title" not in " ".join(c.text for c in doc.chunks)


def test_a_heading_that_states_its_topic_is_searched_on_its_own():
    """'4.2.3 模型特性' under '4.2 AlexNet' gets a chunk of its own that the embedder sees with its path; a question
    heading keeps its question chunk, and text before any heading gets none."""
    text = "Intro line.\n\n# 4.2 AlexNet\n\n## 4.2.3 模型特性\n\n- 使用ReLU\n\n## 为什么用ReLU？\n\n收敛更快。\n"
    _, chunks = parse_markdown(text, "corpus/n.md")
    headings = [c for c in chunks if c.kind == "heading"]
    assert [c.text for c in headings] == ["4.2.3 模型特性"]
    # the embedder sees the path without its numbering
    assert headings[0].embed_text() == "AlexNet › 模型特性" and headings[0].is_heading
    assert [c.text for c in chunks if c.kind == "question"] == ["为什么用ReLU？"]
    assert not any(c.is_heading for c in chunks if c.line_start == 1)
