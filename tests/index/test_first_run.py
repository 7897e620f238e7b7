"""A first build answers from its first seconds: keyword search of everything at once, then the part embedded so
far, published atomically as it goes; a crash leaves a loadable part and the next build continues; the finished
index is the one a one-shot build writes. Small notes of their own and the hash embedder (not about ranking),
except where the relevance decision on a small part is what is tested."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import tutor.index.build
from tests.conftest import make_corpus, settings_for
from tutor.answer.chat import Tutor, partial_tutor
from tutor.index.embeddings import HashEmbeddings, get_embeddings
from tutor.index.eta import Eta
from tutor.index.first_run import PublishSchedule
from tutor.index.live import Reindexer
from tutor.index.store import IndexStale, build_index, load_index
from tutor.web.loader import TutorLoader

GD = "# 一、优化\n\n## 1.1 什么是梯度下降？\n\n梯度下降沿着负梯度方向更新参数，学习率决定每一步的步长。\n"
ZORBLAX = "# Other\n\n## What is a zorblax?\n\nA zorblax is a made-up optimizer that flips every gradient twice.\n"
FLUMPH = "# Creatures\n\n## What is a flumph?\n\nA flumph is a jellyfish-like creature that floats above the ground.\n"
NOTES = {"a.md": GD, "b.md": ZORBLAX, "c.md": FLUMPH}
EVERY_BATCH = PublishSchedule(first=0.0, every=0.0, overhead=1e9)  # publish after every batch
NEVER = PublishSchedule(first=1e9)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(tutor.index.build, "EMBED_BATCH", 1)  # one passage a batch: a partial version after each


def notes(tmp_path: Path, files: dict[str, str] = NOTES):
    make_corpus(tmp_path, files, notes=False)
    return settings_for(tmp_path, embeddings="hash:64")


def sources(answer) -> set[str]:
    return {c.source for c in answer.citations}


def test_the_first_answers_come_by_keyword_then_from_the_part_embedded_so_far(tmp_path, small_batches):
    settings = notes(tmp_path)
    seen = []

    def on_partial(partial):
        tutor = partial_tutor(settings, partial, HashEmbeddings(64))
        asked = {q: tutor.ask(q) for q in ("什么是梯度下降？", "What is a flumph?", "How do I bake bread?")}
        on_disk = None
        if partial.index is not None:
            on_disk = load_index(settings, check_stale=False)
            with pytest.raises(IndexStale, match="not finished"):
                load_index(settings)  # a partial version is never taken for the finished index
        seen.append((partial, asked, on_disk))

    build_index(settings, partial=on_partial, schedule=EVERY_BATCH)
    first, asked, on_disk = seen[0]
    assert first.index is None and on_disk is None  # before anything is embedded: keyword search of everything
    assert len(first.pending.chunks) == first.progress["passages"] and first.progress["passages_done"] == 0
    assert sources(asked["What is a flumph?"]) == {"corpus/c.md"}
    assert any("keyword search" in n for n in asked["What is a flumph?"].notices)

    # the first version that holds a.md whole, and not c.md
    partial, asked, on_disk = next(s for s in seen if s[0].index is not None and s[0].progress["files_done"] == 1)
    assert {c.source for c in partial.index.chunks} == {"corpus/a.md"}
    assert [c.id for c in on_disk.chunks] == [c.id for c in partial.index.chunks]  # what a reader loads
    assert on_disk.partial == partial.progress
    gd = asked["什么是梯度下降？"]
    assert gd.status == "answered" and sources(gd) == {"corpus/a.md"}
    assert any("indexed so far" in n for n in gd.notices)
    flumph = asked["What is a flumph?"]  # not embedded yet: found by keyword in the rest, cited all the same
    assert flumph.status == "answered" and sources(flumph) == {"corpus/c.md"} and flumph.citations
    assert any("keyword search" in n for n in flumph.notices)
    bread = asked["How do I bake bread?"]
    assert bread.status == "not_found" and "still being indexed" in bread.answer

    states = {s.source: s.state for s in on_disk.file_states}
    assert states == {"corpus/a.md": "indexed", "corpus/b.md": "pending", "corpus/c.md": "pending"}
    finished = load_index(settings)
    assert finished.partial is None and "partial" not in finished.manifest
    assert Tutor(settings, finished).ask("什么是梯度下降？").notices == ()  # finished: no word of a part


def test_a_partial_version_holds_whole_sections_only(tmp_path, small_batches):
    long_section = "# 一、优化\n\n## 1.1 梯度下降\n\n" + "\n\n".join(f"第{i}段：梯度下降的一个细节。" for i in range(6))
    settings = notes(tmp_path, {"a.md": long_section + "\n\n## 1.2 动量\n\n动量累积过去的梯度。\n", "b.md": ZORBLAX})
    seen = []
    build_index(settings, partial=lambda p: seen.append(p), schedule=EVERY_BATCH)
    final = load_index(settings)
    whole = {s: sum(c.section_id == s for c in final.chunks) for s in {c.section_id for c in final.chunks}}
    for partial in seen[1:]:
        held = {s: sum(c.section_id == s for c in partial.index.chunks) for s in partial.index.chunks_by_section}
        assert all(held[s] == whole[s] for s in held)  # a section is in a version whole, or not at all
        assert {s.id for s in partial.index.sections} | {s.id for s in partial.pending.sections} == {
            s.id for s in final.sections
        }
        assert not {s.id for s in partial.index.sections} & {s.id for s in partial.pending.sections}
    assert len(seen) >= 3  # the long section waits for its last paragraph, then each section


class FailingEmbedder(HashEmbeddings):
    """The hash embedder that fails (a crash, a kill) after `calls` batches of passages."""

    def __init__(self, calls: int) -> None:
        super().__init__(64)
        self.calls = calls

    def embed_documents(self, texts):
        if self.calls <= 0:
            raise RuntimeError("killed mid-build")
        self.calls -= 1
        return super().embed_documents(texts)


def built_files(settings) -> dict:
    live = settings.index_path / (settings.index_path / "CURRENT").read_text()
    manifest = json.loads((live / "manifest.json").read_text())
    return {
        "chunks.json": (live / "chunks.json").read_bytes(),
        "index.faiss": (live / "index.faiss").read_bytes(),
        "manifest": {k: v for k, v in manifest.items() if k != "created_at"},
    }


def test_an_interrupted_build_leaves_a_loadable_index_and_the_next_one_continues(tmp_path, small_batches, monkeypatch):
    settings = notes(tmp_path / "interrupted")
    failing = FailingEmbedder(calls=4)
    monkeypatch.setattr(tutor.index.build, "get_embeddings", lambda _spec: failing)
    with pytest.raises(RuntimeError, match="killed"):
        build_index(settings, schedule=EVERY_BATCH)  # no caller listening: `tutor index`, killed
    left = load_index(settings, check_stale=False)
    assert left.partial is not None and 0 < len(left.chunks) <= 4
    answer = Tutor(settings, left, HashEmbeddings(64)).ask("什么是梯度下降？")
    assert answer.status == "answered" and sources(answer) == {"corpus/a.md"}

    monkeypatch.setattr(tutor.index.build, "get_embeddings", lambda _spec: HashEmbeddings(64))
    report = build_index(settings, schedule=EVERY_BATCH)
    assert report.reused == len(left.chunks) and report.embedded == report.chunks - len(left.chunks)

    one_shot = notes(tmp_path / "one-shot")
    build_index(one_shot, schedule=NEVER)
    assert built_files(settings) == built_files(one_shot)  # the same bytes as a build that never stopped


def test_the_final_index_of_a_first_build_equals_a_one_shot_build(tmp_path, small_batches):
    published = notes(tmp_path / "published")
    seen = []
    report = build_index(published, partial=lambda p: seen.append(p.progress["passages_done"]), schedule=EVERY_BATCH)
    assert report.partial_versions == 2 and "2 partial versions on the way" in report.summary()
    one_shot = notes(tmp_path / "one-shot")
    assert build_index(one_shot, schedule=NEVER).partial_versions == 0
    assert len(seen) == 3 and seen[0] == 0 and seen == sorted(seen)  # keyword only, then a.md, then b.md too
    assert built_files(published) == built_files(one_shot)


def test_an_update_of_a_finished_index_publishes_no_partial_version(tmp_path, small_batches):
    settings = notes(tmp_path)
    build_index(settings)
    (settings.corpus_path / "d.md").write_text("# New\n\n## What is a grue?\n\nA grue lurks in the dark.\n")
    seen = []
    build_index(settings, partial=seen.append, schedule=EVERY_BATCH)
    assert seen == []  # the finished index answers meanwhile (tutor/index/live.py swaps the new one in)


def test_a_first_build_against_another_embedders_index_publishes_partial_versions(tmp_path, small_batches):
    settings = notes(tmp_path)
    build_index(settings_for(tmp_path, embeddings="hash:32"))
    seen = []
    build_index(settings, partial=seen.append, schedule=EVERY_BATCH)
    assert seen and seen[0].index is None and seen[-1].index is not None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_status_line_says_partial_with_files_passages_and_the_eta(tmp_path, small_batches):
    settings = notes(tmp_path)
    seen = []
    build_index(settings, partial=seen.append, schedule=EVERY_BATCH)
    loader = TutorLoader(settings)  # not started: the test plays the build's reports
    loader.eta = Eta(clock := Clock())
    loader._partial(seen[0])
    assert loader.building and loader.tutor is not None
    assert "keyword search answers" in loader.status_html() and "0/3 files" in loader.status_html()

    total = seen[0].progress["passages"]
    loader._progress(0, total)
    part = next(p for p in seen if p.progress["files_done"] == 1)
    loader._partial(part)
    clock.now += 30
    loader._progress(part.progress["passages_done"], total)
    status = loader.status_html()
    assert f"indexing 1/3 files ({part.progress['passages_done']}/{total} passages)" in status
    assert "left" in status and "answers come from the part indexed so far" in status
    answer = loader.tutor.ask("What is a zorblax?")
    assert answer.status == "answered" and sources(answer) == {"corpus/b.md"}

    loader.tutor, loader.partial = Tutor(settings, load_index(settings)), None  # what _load does at the end
    assert "ready" in loader.status_html() and "indexing" not in loader.status_html()


def test_answers_come_during_a_first_build_and_the_reindexer_waits_for_it(tmp_path, small_batches):
    settings = notes(tmp_path)
    asked, tickets = [], []
    holder = SimpleNamespace(settings=settings, tutor=None, error=None, building=False)
    reindexer = Reindexer(holder)

    def on_partial(partial):  # what TutorLoader._partial does
        holder.building = True
        holder.tutor = partial_tutor(settings, partial, HashEmbeddings(64))
        if not tickets:  # the watcher saw a change meanwhile
            tickets.append(reindexer.request())
        asked.append(holder.tutor.ask("What is a flumph?").status)

    build_index(settings, partial=on_partial, schedule=EVERY_BATCH)
    assert set(asked) == {"answered"}
    partial = holder.tutor
    assert not reindexer.wait(tickets[0], timeout=1.0)  # still building: the re-index has not run
    assert holder.tutor is partial
    (settings.corpus_path / "d.md").write_text("# New\n\n## What is a grue?\n\nA grue lurks in the dark.\n")
    holder.tutor, holder.building = Tutor(settings, load_index(settings, check_stale=False)), False
    assert reindexer.wait(tickets[0], timeout=30)  # the first build is done: now it runs, and takes the change in
    assert "corpus/d.md" in holder.tutor.index.manifest["files"]
    reindexer.stop()


def test_a_small_part_still_decides_relevance_sanely_with_the_real_embedder(tmp_path, monkeypatch):
    """The calibration fitted on the first part of the real notes: off-topic questions stay not_found and the
    part's own questions are answered, from the first partial version on."""
    monkeypatch.setattr(tutor.index.build, "EMBED_BATCH", 8)
    make_corpus(tmp_path, {"z.md": ZORBLAX})
    settings = settings_for(tmp_path)
    asked = []

    def on_partial(partial):
        if partial.index is not None:
            tutor = partial_tutor(settings, partial, get_embeddings(settings.embeddings))
            asked.append({q: tutor.ask(q).status for q in ("dropout为什么能防止过拟合？", "今天天气怎么样？")})

    build_index(settings, partial=on_partial, schedule=EVERY_BATCH)
    assert asked
    for statuses in asked:
        assert statuses == {"dropout为什么能防止过拟合？": "answered", "今天天气怎么样？": "not_found"}
