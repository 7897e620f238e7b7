"""Index build, incremental update, atomic publish, and detection of damaged or stale indexes."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import make_corpus, settings_for

from tutor.index import disk
from tutor.index.store import IndexCorrupt, IndexMissing, IndexStale, build_index, ensure_index, load_index
from tutor.notes import corpus as corpus_mod


@pytest.fixture
def built(tmp_path):
    """The index mechanics do not depend on the embedder: a fast deterministic one is used."""
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings="hash:64")
    report = build_index(settings)
    return settings, report


def test_build_writes_json_faiss_and_a_manifest_never_pickle(tmp_path):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path)
    report = build_index(settings)
    assert report.files == 1 and report.chunks == report.embedded > 25 and report.reused == 0
    live = settings.index_path / (settings.index_path / "CURRENT").read_text()
    assert sorted(p.name for p in live.iterdir()) == ["chunks.json", "index.faiss", "manifest.json"]
    manifest = json.loads((live / "manifest.json").read_text())
    assert manifest["embedder"] == "e5-small-q4" and manifest["chunking_version"]
    assert set(manifest["files"]) == {"corpus/dl-interview-notes.md"}
    for path in live.iterdir():
        assert not path.read_bytes().startswith(b"\x80")  # no pickle protocol header anywhere
    idx = load_index(settings)
    assert len(idx.chunks) == report.chunks and idx.faiss_index.ntotal == report.chunks


def test_editing_one_section_re_embeds_only_its_chunks(built):
    settings, first = built
    notes = settings.corpus_path / "dl-interview-notes.md"
    text = notes.read_text(encoding="utf-8")
    notes.write_text(
        text.replace(
            "你的输入已经归一化到零均值和单位方差了吗？", "你的输入已经归一化到零均值和单位方差了吗？请逐个特征检查。"
        ),
        encoding="utf-8",
    )
    with pytest.raises(IndexStale):
        load_index(settings)
    second = build_index(settings)
    assert second.embedded == 1 and second.reused == first.chunks - 1
    assert any("请逐个特征检查" in c.text for c in load_index(settings).chunks)


def test_unchanged_corpus_reuses_everything(built):
    settings, first = built
    again = build_index(settings)
    assert again.embedded == 0 and again.reused == first.chunks


@pytest.mark.parametrize("victim", ["index.faiss", "chunks.json", "manifest.json"])
def test_truncated_or_altered_files_are_detected_and_rebuilt(built, victim):
    settings, _ = built
    live = settings.index_path / (settings.index_path / "CURRENT").read_text()
    data = (live / victim).read_bytes()
    (live / victim).write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt, match="tutor index"):
        load_index(settings)
    messages: list[str] = []
    idx = ensure_index(settings, say=messages.append)
    assert idx.chunks and any("building the index" in m for m in messages)


def test_altered_chunk_text_with_intact_size_is_caught_by_checksum(built):
    settings, _ = built
    live = settings.index_path / (settings.index_path / "CURRENT").read_text()
    raw = (live / "chunks.json").read_text(encoding="utf-8")
    (live / "chunks.json").write_text(raw.replace("dropout", "DROPOUT", 1), encoding="utf-8")
    with pytest.raises(IndexCorrupt):
        load_index(settings)


def test_a_crash_mid_build_leaves_the_previous_index_usable(built, monkeypatch):
    settings, first = built
    notes = settings.corpus_path / "dl-interview-notes.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n\n## 5.1 新问题是什么？\n", encoding="utf-8")

    def crash(*_a, **_k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(disk, "_write", crash)
    with pytest.raises(OSError):
        build_index(settings)
    monkeypatch.undo()
    idx = load_index(settings, check_stale=False)
    assert len(idx.chunks) == first.chunks
    assert build_index(settings).chunks == first.chunks + 1
    assert not list(settings.index_path.glob("build-*"))


def test_missing_and_mismatched_indexes_say_what_to_run(tmp_path):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings="hash:64")
    with pytest.raises(IndexMissing, match="tutor index"):
        load_index(settings)
    build_index(settings)
    with pytest.raises(IndexStale, match="tutor index"):
        load_index(settings_for(tmp_path, embeddings="hash:32"))
    assert load_index(settings).chunks


def test_empty_corpus_builds_an_empty_index(tmp_path):
    make_corpus(tmp_path, notes=False)
    settings = settings_for(tmp_path, embeddings="hash:64")
    assert build_index(settings).chunks == 0
    assert load_index(settings).chunks == []


def test_damaged_pointer_is_reported(built):
    settings, _ = built
    (settings.index_path / "CURRENT").write_text("../../etc")
    with pytest.raises(IndexCorrupt):
        load_index(settings)


ARTICLE = """---
url: https://example.com/bn
title: BN explained
linked_from:
- corpus/dl-interview-notes.md:21
---
# BN explained

Batch Normalization normalises each mini-batch and learns a scale and a shift.
"""


def test_an_update_parses_only_the_changed_file_and_matches_a_full_parse(tmp_path, monkeypatch):
    make_corpus(tmp_path, {"extra.md": "# 附加\n\n## 学习率怎么调？\n\n先大后小。\n", "references/bn.md": ARTICLE,
                           "blob.md": b"\x00\x01binary"})  # fmt: skip
    settings = settings_for(tmp_path, embeddings="hash:64")
    build_index(settings)
    (settings.corpus_path / "extra.md").write_text(
        "# 附加\n\n## 学习率怎么调？\n\n先大后小，再用warmup。\n", encoding="utf-8"
    )
    parsed = []
    real = corpus_mod.load_document
    monkeypatch.setattr(
        corpus_mod, "load_document", lambda path, corpus: parsed.append(path.name) or real(path, corpus)
    )
    report = build_index(settings)
    # the article is parsed again (the section owning it depends on the notes), the binary file to warn again
    assert sorted(parsed) == ["blob.md", "bn.md", "extra.md"] and report.embedded == 1
    assert any("binary" in w for w in report.warnings)
    monkeypatch.setattr(corpus_mod, "load_document", real)
    fresh = corpus_mod.load_corpus(settings.corpus_path, warn=lambda _: None)
    idx = load_index(settings)
    assert idx.sections == [s for d in fresh for s in d.sections]
    assert idx.chunks == [c for d in fresh for c in d.chunks]
    assert any(c.url == "https://example.com/bn" and c.section_id.endswith(":19") for c in idx.chunks)


def test_a_pdf_whose_text_has_lone_surrogates_is_indexed_with_replacement_marks(tmp_path, monkeypatch):
    make_corpus(tmp_path, {"broken-cmap.pdf": b"%PDF-1.4 stand-in"})
    monkeypatch.setattr(corpus_mod, "extract_pdf_file", lambda path: "# Dropout\n\nDropout \ud835 zeroes units.")
    settings = settings_for(tmp_path, embeddings="hash:64")
    report = build_index(settings)
    assert not report.warnings
    texts = [c.text for c in load_index(settings).chunks if c.source.endswith(".pdf") and not c.is_heading]
    assert texts == ["Dropout \ufffd zeroes units."]


def _without_stored_headings(settings) -> None:
    """Rewrite the live version as an index written before heading terms were stored (checksum kept valid)."""
    import hashlib

    live = settings.index_path / (settings.index_path / "CURRENT").read_text()
    data = json.loads((live / "chunks.json").read_text(encoding="utf-8"))
    del data["headings"]
    raw = json.dumps(data, ensure_ascii=False).encode()
    (live / "chunks.json").write_bytes(raw)
    manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    manifest["checksums"]["chunks.json"] = hashlib.sha256(raw).hexdigest()
    (live / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_stored_heading_terms_retrieve_exactly_as_terms_tokenized_at_load(tmp_path, notes_settings, notes_tutor):
    from tutor.answer.chat import Tutor
    from tutor.search.evaluate import DEFAULT_SET, load_set

    copy = settings_for(tmp_path)
    make_corpus(tmp_path)
    shutil.copytree(notes_settings.index_path, copy.index_path)
    stored = load_index(copy)
    assert stored.heading_terms and stored.chunks == notes_tutor.index.chunks
    calls = []
    tokenize = stored.analyzer.tokenize
    stored.analyzer.tokenize = lambda text, *a, **kw: calls.append(text) or tokenize(text, *a, **kw)
    with_stored = Tutor(copy, stored, notes_tutor.embedder)
    assert calls == []  # loading tokenized no heading or title: they were stored at build
    _without_stored_headings(copy)
    older = load_index(copy)
    assert older.heading_terms == {}
    recomputed = Tutor(copy, older, notes_tutor.embedder)
    for item in load_set(DEFAULT_SET):
        query = " ".join(item["turns"])
        a, b = with_stored.retriever.search(query), recomputed.retriever.search(query)
        assert (a.status, a.coverage) == (b.status, b.coverage), query
        assert [(h.chunk.id, h.score, h.lexical) for h in a.hits] == [(h.chunk.id, h.score, h.lexical) for h in b.hits]
    assert with_stored.topics.generic == recomputed.topics.generic
