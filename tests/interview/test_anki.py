"""`tutor export anki`: a deck of the notes' questions whose cards update, not duplicate, on a fresh export."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path

from tutor.cli.main import main
from tutor.config import Settings

NOTES = """# 一、DNN

## 1.1 讲一下dropout

dropout在训练时按一定概率随机丢弃神经元，预测时使用全部神经元。<script>alert(1)</script>

保留概率p<1时，训练时的输出要除以p，测试时就不用再缩放。

## 1.2 什么是batch normalization？

对每个mini-batch的激活做归一化，再用可学习的缩放和平移恢复表达能力。

## 1.3 手推LSTM

# 二、CNN

## 2.1 1x1卷积有什么作用？

可以升维降维、跨通道融合信息，还能增加非线性。
"""


def _settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.md").write_text(NOTES, encoding="utf-8")
    return Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data", fetch_links=False,
        embeddings="hash:64",
    )  # fmt: skip


def _export(settings: Settings, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["export", "anki", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir), *extra]
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _notes(deck: Path, tmp_path: Path) -> list[tuple[str, str, str]]:
    with zipfile.ZipFile(deck) as z:
        z.extract("collection.anki2", tmp_path / "unz")
    db = sqlite3.connect(tmp_path / "unz" / "collection.anki2")
    try:
        return [(guid, flds, tags.strip()) for guid, flds, tags in db.execute("SELECT guid, flds, tags FROM notes")]
    finally:
        db.close()


def test_export_writes_a_card_per_answered_question_with_citations(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    deck = tmp_path / "out" / "deck.apkg"
    code, out, err = _export(settings, "--out", str(deck))
    assert code == 0, err
    assert "3 cards" in out and "1 questions without an answer" in out  # 手推LSTM has no answer to show
    notes = _notes(deck, tmp_path)
    fields = [flds.split("\x1f") for _, flds, _ in notes]
    assert {f[0] for f in fields} == {"1.1 讲一下dropout", "1.2 什么是batch normalization？", "2.1 1x1卷积有什么作用？"}
    dropout = next(f for f in fields if "dropout" in f[0])
    # note text cannot run on the card: a tag is markup, never part of a point, and the text is escaped
    assert "<script>" not in dropout[1] and "p&lt;1" in dropout[1] and "p<1" not in dropout[1]
    assert "corpus/notes.md › 一、DNN › 1.1 讲一下dropout › line 5" in dropout[1]
    assert {tags for _, _, tags in notes} == {"DNN", "CNN"}
    # a second export, after an unrelated edit, keeps every card's GUID: Anki updates instead of duplicating
    first = {guid for guid, _, _ in notes}
    notes_file = settings.corpus_dir / "notes.md"
    notes_file.write_text(NOTES.replace("还能增加非线性。", "还能增加非线性，参数也少。"), encoding="utf-8")
    assert _export(settings, "--out", str(deck))[0] == 0
    assert {guid for guid, _, _ in _notes(deck, tmp_path / "again")} == first


def test_export_by_topic_and_bad_requests_say_what_is_wrong(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    deck = tmp_path / "cnn.apkg"
    code, out, _ = _export(settings, "--topic", "CNN", "--out", str(deck))
    assert code == 0 and "1 cards" in out
    assert [f.split("\x1f")[0] for _, f, _ in _notes(deck, tmp_path)] == ["2.1 1x1卷积有什么作用？"]
    code, _, err = _export(settings, "--topic", "nope", "--out", str(tmp_path / "x.apkg"))
    assert code == 2 and "CNN" in err and not (tmp_path / "x.apkg").exists()
    code, _, err = _export(settings, "--due", "--out", str(tmp_path / "due.apkg"))  # nothing answered yet
    assert code == 1 and "due" in err and not (tmp_path / "due.apkg").exists()
