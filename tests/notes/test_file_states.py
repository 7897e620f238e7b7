"""What became of each file of the notes folder: stored with the index, listed on the Notes tab, escaped."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest
from conftest import settings_for

from tests.helpers import Tags
from tutor.answer.chat import Tutor
from tutor.index.store import build_index, load_index
from tutor.types import note_questions
from tutor.web import render_files
from tutor.web.app import TutorLoader, _notes_html
from tutor.web.render import NoteFiles, esc

NOTE = """# 一、DNN

## 1.1 dropout为什么能防止过拟合？

dropout 在训练时随机丢掉一部分神经元，相当于训练了很多个子网络再做平均。

## 1.2 讲一下batch normalization

## 1.3 梯度爆炸怎么处理？

梯度裁剪：把梯度的范数限制在一个阈值以内。
"""
HOSTILE_NAME = "<img src=x onerror=alert(1)>.md"
FILES: dict[str, str | bytes] = {
    "dnn.md": NOTE,
    "sub/rnn.md": "# RNN\n\n## LSTM是什么？\n\nLSTM 用门控制信息的流动。\n",
    HOSTILE_NAME: "# 标题 <script>alert(2)</script>\n\n正文。\n",
    "figure.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # an image saved with the wrong suffix
    "latin1.txt": "café au lait, crème brûlée".encode("latin-1"),
    "empty.md": "",
    "drafts/wip.md": "# draft\n\nnot ready\n",
    ".tutorignore": "drafts/\n",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("states")
    corpus = root / "corpus"
    for name, content in FILES.items():
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    settings = settings_for(root, embeddings="hash:32")
    report = build_index(settings)
    return settings, report


def by_source(states) -> dict:
    return {s.source.removeprefix("corpus/"): s for s in states}


def test_each_file_is_indexed_or_skipped_with_its_reason(built):
    settings, report = built
    states = by_source(report.file_states)
    assert set(states) == {n for n in FILES if n != ".tutorignore"}
    assert {n: s.state for n, s in states.items()} == {
        "dnn.md": "indexed",
        "sub/rnn.md": "indexed",
        HOSTILE_NAME: "indexed",
        "figure.md": "skipped",
        "latin1.txt": "skipped",
        "empty.md": "empty",
        "drafts/wip.md": "ignored",
    }
    assert states["figure.md"].reason == "binary" and "binary" in states["figure.md"].message
    assert states["latin1.txt"].reason == "undecodable" and "UTF-8" in states["latin1.txt"].message
    assert str(settings.corpus_path) not in states["latin1.txt"].message  # the list names the file already
    assert states["drafts/wip.md"].reason == "ignored"
    assert "2 files skipped" in report.summary()


def test_passages_and_gaps_per_file_agree_with_the_index(built):
    settings, report = built
    index = load_index(settings)
    passages = Counter(c.source for c in index.chunks)
    for state in report.file_states:
        if state.state != "indexed":
            assert state.passages == 0 and passages[state.source] == 0
            continue
        questions = note_questions(s for s in index.sections if s.source == state.source)
        kinds = Counter(q.kind for q in questions)
        assert state.passages == passages[state.source] > 0
        assert (state.questions, state.answered, state.question_only) == (
            len(questions),
            kinds["answered"],
            kinds["question_only"],
        )
    dnn = by_source(report.file_states)["dnn.md"]
    assert dnn.questions == 3 and dnn.unanswered == 1  # 1.2 asks without an answer


def test_the_states_are_stored_with_the_index_and_read_back(built):
    settings, report = built
    assert load_index(settings).file_states == report.file_states


def test_an_index_built_before_states_were_stored_still_lists_its_files(built, tmp_path):
    settings, report = built
    old = settings_for(tmp_path, embeddings="hash:32")
    shutil.copytree(settings.index_path, old.index_path)
    shutil.copytree(settings.corpus_path, old.corpus_path)
    live = old.index_path / (old.index_path / "CURRENT").read_text()
    manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    del manifest["file_states"]
    (live / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    computed = by_source(load_index(old).file_states)
    stored = by_source(report.file_states)
    for name in ("dnn.md", "sub/rnn.md", HOSTILE_NAME):
        assert computed[name] == stored[name]
    # files that gave no passage are known by name only; ignored ones were never in the manifest
    assert {n: (s.state, s.reason) for n, s in computed.items() if s.state != "indexed"} == {
        "figure.md": ("skipped", "unknown"),
        "latin1.txt": ("skipped", "unknown"),
        "empty.md": ("skipped", "unknown"),
    }


def test_the_notes_tab_lists_every_file_first_and_escapes_names_and_text(built):
    settings, report = built
    index = load_index(settings)
    html = render_files.render_notes_by_file(index.sections, index.file_states, NoteFiles(settings.corpus_path.parent))
    tags = Tags(html)
    assert not {"img", "script"} & tags.names() and not tags.handlers()
    assert esc(f"corpus/{HOSTILE_NAME}") in html and esc("<script>alert(2)</script>") in html
    table = html.index('<div class="file-list">')
    assert table < html.index("<details")  # the list comes before any file's lines
    rows = {a["class"] for t, a in tags.tags if t == "tr" and "file-row" in a.get("class", "")}
    assert rows == {f"file-row file-{s.state}" for s in report.file_states}
    for state in report.file_states:
        assert esc(state.source) in html
    assert "binary file · 二进制文件" in html and "not UTF-8 text · 不是 UTF-8 文本" in html
    assert "named in .tutorignore" in html
    # each indexed file opens from the list: one link per file, to a collapsed section of its own
    links = [a["data-open"] for t, a in tags.tags if t == "a" and "data-open" in a]
    sections = [a for t, a in tags.tags if t == "details"]
    assert links == [a["id"] for a in sections] and len(links) == 3
    assert all("open" not in a for a in sections)  # several files: none open, the page is the list


def test_the_gap_map_has_a_cell_per_question_coloured_by_its_answer(built):
    settings, _ = built
    index = load_index(settings)
    dnn = [s for s in index.sections if s.source == "corpus/dnn.md"]
    cells = [a for t, a in Tags(render_files.gap_map(dnn)).tags if "gap-cell" in a.get("class", "")]
    assert [c["class"].split()[1] for c in cells] == [f"kind-{q.kind}" for q in note_questions(dnn)]
    assert [c["data-ask"] for c in cells][1] == "讲一下batch normalization"
    assert "kind-question_only" in cells[1]["class"]


def test_one_file_opens_at_once_and_the_app_shows_the_list(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "dnn.md").write_text(NOTE, encoding="utf-8")
    settings = settings_for(tmp_path, embeddings="hash:32")
    loader = TutorLoader(settings, Tutor.load(settings))
    html = _notes_html(loader, NoteFiles(tmp_path))
    assert "1 of 1 indexed" in html
    (details,) = [a for t, a in Tags(html).tags if t == "details"]
    assert "open" in details  # the only file is shown at once, as before there was a list
