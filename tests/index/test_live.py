"""Living notes: re-index after an edit, an addition, a rename or a deletion and swap the tutor in while answers
keep coming; the watcher and `tutor watch`. Small notes of their own and the hash embedder (not about ranking)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import tutor.index.live
import tutor.index.store
from tests.conftest import make_corpus, settings_for
from tutor.answer.chat import Tutor
from tutor.index.live import Reindexer, Watcher, start_live
from tutor.web.chat_tab import Conversation

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # generous: the machine is shared; nothing here asserts on time
GD = "# 一、优化\n\n## 1.1 什么是梯度下降？\n\n梯度下降沿着负梯度方向更新参数，学习率决定每一步的步长。\n"
ZORBLAX = "# Other\n\n## What is a zorblax?\n\nA zorblax is a made-up optimizer that flips every gradient twice.\n"
FLUMPH = "# Creatures\n\n## What is a flumph?\n\nA flumph is a jellyfish-like creature that floats above the ground.\n"


@pytest.fixture
def holder(tmp_path):
    make_corpus(tmp_path, {"a.md": GD, "b.md": ZORBLAX}, notes=False)
    settings = settings_for(tmp_path, embeddings="hash:64")
    return SimpleNamespace(settings=settings, tutor=Tutor.load(settings), error=None)


def sources(answer) -> set[str]:
    return {c.source for c in answer.citations}


def until(condition, what: str):
    """Poll `condition` until it holds (returns its value) or fail after DEADLINE seconds, saying what."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {DEADLINE:.0f} s")


def test_an_edit_an_addition_and_a_deletion_are_each_reindexed(holder):
    corpus = holder.settings.corpus_path
    live = Reindexer(holder)
    assert live.refresh() is None and live.message is None  # nothing changed: no rebuild, nothing said

    (corpus / "a.md").write_text(GD + "\n## 1.2 什么是动量法？\n\n动量法累积历史梯度来加速收敛。\n", encoding="utf-8")
    change = live.refresh()
    assert (change.added, change.changed, change.deleted) == (0, 1, 0) and change.embedded >= 1
    answer = holder.tutor.ask("什么是动量法？")
    assert answer.status == "answered" and sources(answer) == {"corpus/a.md"}
    assert any(c.line_start >= 7 for c in answer.citations)  # the new section's lines

    (corpus / "c.md").write_text(FLUMPH, encoding="utf-8")
    change = live.refresh()
    assert (change.added, change.changed, change.deleted) == (1, 0, 0)
    assert live.message.startswith("re-indexed 1 file (1 new), ") and live.message.endswith(" s")
    assert "corpus/c.md" in sources(holder.tutor.ask("what is a flumph?"))

    before = holder.tutor
    (corpus / "b.md").unlink()
    change = live.refresh()
    assert (change.added, change.changed, change.deleted, change.passages) == (0, 0, 1, 2)
    assert live.message.startswith("re-indexed 1 file (1 deleted), 2 passages, ")
    assert not any(c.source == "corpus/b.md" for c in holder.tutor.index.chunks)
    assert "corpus/b.md" not in sources(holder.tutor.ask("what is a zorblax?"))
    assert "corpus/b.md" in sources(before.ask("what is a zorblax?"))  # a tutor already in use keeps its index
    assert holder.tutor.embedder is before.embedder  # the model is not loaded again


def test_answers_come_from_the_previous_index_during_a_rebuild_and_requests_coalesce(holder, monkeypatch):
    real_build = tutor.index.store.build_index
    building, release, builds = threading.Event(), threading.Event(), []

    def slow_build(*args, **kwargs):
        report = real_build(*args, **kwargs)  # published on disk, not yet swapped in
        builds.append(report)
        building.set()
        assert release.wait(DEADLINE)
        return report

    monkeypatch.setattr(tutor.index.live, "build_index", slow_build)
    live = Reindexer(holder)
    (holder.settings.corpus_path / "b.md").unlink()
    first = live.request()
    assert building.wait(DEADLINE)
    # mid-rebuild: the deleted note is still answered from the previous index, and three more events arrive
    assert "corpus/b.md" in sources(holder.tutor.ask("what is a zorblax?"))
    (holder.settings.corpus_path / "c.md").write_text(FLUMPH, encoding="utf-8")
    last = max(live.request() for _ in range(3))
    release.set()
    assert live.wait(first, DEADLINE)
    assert live.wait(last, DEADLINE)
    assert len(builds) == 2  # the three requests made during the first rebuild became one follow-up rebuild
    assert "corpus/b.md" not in sources(holder.tutor.ask("what is a zorblax?"))
    assert "corpus/c.md" in sources(holder.tutor.ask("what is a flumph?"))
    until(lambda: live._worker is None, "the worker ending once nothing is left")


def test_a_failed_rebuild_keeps_the_previous_index_and_says_why(holder, monkeypatch):
    def broken(*_a, **_k):
        raise tutor.index.store.IndexWriteError("cannot write the index (No space left on device)")

    monkeypatch.setattr(tutor.index.live, "build_index", broken)
    before = holder.tutor
    (holder.settings.corpus_path / "b.md").unlink()
    live = Reindexer(holder)
    live.reindex_now(DEADLINE)
    assert holder.tutor is before and "corpus/b.md" in sources(before.ask("what is a zorblax?"))
    assert live.message.startswith("re-indexing failed (cannot write the index (No space left on device))")
    assert "answering from the previous index" in live.message


def test_a_vanished_notes_folder_leaves_the_last_index_answering(holder):
    import shutil

    before = holder.tutor
    shutil.rmtree(holder.settings.corpus_path)
    live = Reindexer(holder)
    assert live.refresh() is None
    assert "is gone; answering from the last index" in live.message
    assert holder.tutor is before and "corpus/b.md" in sources(holder.tutor.ask("what is a zorblax?"))


def test_a_conversation_goes_on_with_the_new_index_after_a_swap(holder):
    conv = Conversation()
    first = conv.chat(holder.tutor).ask("what is a zorblax?")
    (holder.settings.corpus_path / "c.md").write_text(FLUMPH, encoding="utf-8")
    Reindexer(holder).refresh()
    session = conv.chat(holder.tutor)
    assert session.tutor is holder.tutor and [t.answer for t in session.turns] == [first]
    assert "corpus/c.md" in sources(session.ask("what is a flumph?"))


def test_the_watcher_wants_what_the_index_reads(tmp_path):
    corpus = make_corpus(tmp_path, {".tutorignore": "drafts/\n*.tmp.md\n"}, notes=False)
    watcher = Watcher(corpus, lambda _p: None)
    wanted = ["a.md", "sub/deep/b.txt", "page.html", "paper.PDF", "sub", ".tutorignore"]
    unwanted = [
        ".obsidian/workspace.md",
        ".a.md.x1y2.tmp",  # write_text_atomic's temporary file
        "references/some-article.md",  # fetched by the tutor itself
        "references/references.json",
        "drafts/idea.md",
        "x.tmp.md",
        "image.png",
        ".git",
    ]
    assert [p for p in wanted if not watcher.wants(str(corpus / p))] == []
    assert [p for p in unwanted if watcher.wants(str(corpus / p))] == []
    assert not watcher.wants(str(tmp_path / "elsewhere.md"))


@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_the_watcher_notices_a_new_note_and_not_what_it_ignores(tmp_path, polling):
    corpus = make_corpus(tmp_path, {"a.md": GD, ".tutorignore": "drafts/\n"}, notes=False)
    batches: queue.Queue[set[str]] = queue.Queue()
    watcher = Watcher(corpus, batches.put, force_polling=polling).start()
    try:
        assert watcher.ready.wait(DEADLINE)
        for ignored in (".obsidian/w.md", "drafts/d.md", "references/r.md"):
            (corpus / ignored).parent.mkdir(exist_ok=True)
            (corpus / ignored).write_text("x", encoding="utf-8")
        (corpus / "new.md").write_text(FLUMPH, encoding="utf-8")  # after the ignored ones: they came first
        seen: set[str] = set()
        until(lambda: seen.update(batches.get(timeout=DEADLINE)) or str(corpus / "new.md") in seen, "the new note")
        assert {Path(p).relative_to(corpus).as_posix() for p in seen} <= {"new.md", ".obsidian", "drafts", "references"}
        assert not any(Path(p).suffix for p in seen if not p.endswith("new.md"))  # folders at most, no ignored file
    finally:
        watcher.stop()
    assert not watcher.alive


def test_the_app_machinery_reindexes_a_renamed_note_on_its_own(holder):
    reindexer, watcher = start_live(holder, watch=True)
    try:
        assert watcher.ready.wait(DEADLINE)
        corpus = holder.settings.corpus_path
        (corpus / "b.md").rename(corpus / "renamed.md")
        until(lambda: "corpus/renamed.md" in (holder.tutor.index.manifest["files"]), "the renamed note indexed")
        answer = holder.tutor.ask("what is a zorblax?")
        assert sources(answer) == {"corpus/renamed.md"}
        assert not any(c.source == "corpus/b.md" for c in holder.tutor.index.chunks)
    finally:
        watcher.stop()
        reindexer.stop()
    assert not watcher.alive


def test_an_app_watches_only_when_asked_and_close_stops_the_watcher(holder):
    from tutor.web.app import build_app

    quiet = build_app(holder.settings, holder.tutor)  # TUTOR_WATCH=0 in the tests' environment
    assert quiet.watcher is None
    demo = build_app(holder.settings, holder.tutor, watch=True)
    assert demo.watcher.ready.wait(DEADLINE) and demo.watcher.alive
    demo.close()
    assert not demo.watcher.alive


def test_tutor_watch_prints_each_reindex_until_interrupted(tmp_path):
    corpus = make_corpus(tmp_path, {"a.md": GD}, notes=False)
    env = {**os.environ, "TUTOR_EMBEDDINGS": "hash:64", "TUTOR_INDEX_DIR": str(tmp_path / "index")}
    cmd = [sys.executable, "-m", "tutor.cli", "watch", "--corpus", str(corpus)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    out: list[str] = []

    def printed(text: str) -> bool:
        while not lines.empty():
            out.append(lines.get())
        return any(text in line for line in out)

    try:
        until(lambda: printed("watching"), "tutor watch starting")
        assert out[0].startswith("indexed ") and "passages" in out[0]
        (corpus / "c.md").write_text(FLUMPH, encoding="utf-8")
        until(lambda: printed("re-indexed 1 file (1 new), 2 passages"), "the new note re-indexed")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    until(lambda: printed("stopped watching"), "the goodbye line")


def test_tutor_watch_without_a_notes_folder_says_what_to_do(tmp_path, capsys):
    from tutor.cli.main import main

    assert main(["watch", "--corpus", str(tmp_path / "nowhere")]) == 2
    assert "no notes folder at" in capsys.readouterr().err
