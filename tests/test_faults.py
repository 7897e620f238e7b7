"""Faults: `tutor index` killed at random points, a crash at every step of publishing, damaged index files
met through the CLI, a full disk and an unwritable index folder. The previous index must keep answering,
never with a half-written version, and the next run must complete."""

from __future__ import annotations

import errno
import io
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import faiss
import pytest
from conftest import make_corpus, settings_for

from tutor.cli.main import main
from tutor.index import disk, loaded
from tutor.index.embeddings import HashEmbeddings
from tutor.index.store import build_index, load_index
from tutor.notes.corpus import load_corpus
from tutor.search.retriever import Retriever

SEED = int(os.environ.get("FAULT_SEED", time.time_ns() % 2**32))
NOTES = "dl-interview-notes.md"


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def corpus_chunks(settings) -> list:
    return [c for d in load_corpus(settings.corpus_path) for c in d.chunks]


def edit_notes(settings, n: int) -> None:
    """A new question section and a changed paragraph: real work for the next build."""
    path = settings.corpus_path / NOTES
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "是神经网络为了预防过拟合的一种重要的手段", f"是神经网络为了预防过拟合的一种重要的手段（修订{n}）", 1
    )
    path.write_text(
        text + f"\n\n## 9.{n} 第{n}个新问题：学习率预热有什么作用？\n\n    预热让训练初期更稳定，版本{n}。\n",
        encoding="utf-8",
    )


def index_entries(settings) -> set[str]:
    return {p.name for p in settings.index_path.iterdir()}


def assert_answers_from(settings, versions: list[list], context: str) -> None:
    """The live index loads, holds exactly one corpus version's chunks, and a search finds something."""
    idx = load_index(settings, check_stale=False)
    assert idx.chunks in versions, f"{context}: the live index holds neither version (seed {SEED})"
    dim = idx.faiss_index.d
    hits = Retriever(idx, HashEmbeddings(dim)).search("dropout为什么能防止过拟合").hits
    assert hits and "dropout" in " ".join(h.chunk.text for h in hits[:3]), context


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "TUTOR_FETCH_LINKS": "0", "TUTOR_LLM": "none", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("TUTOR_EMBEDDINGS", None)
    return env | extra


def home(settings) -> Path:
    """Where the CLI runs: outside the repository, so a PYTHONPATH copy of tutor (mutation checks) is the one used."""
    return settings.corpus_path.parent


def index_cmd(settings, slow_disk: bool = False) -> list[str]:
    args = ["index", "--no-links", "--corpus", str(settings.corpus_path), "--index", str(settings.index_path)]
    if slow_disk:
        return [sys.executable, "-c", SLOW_DISK, *args]
    return [sys.executable, "-m", "tutor.cli", *args]


# `tutor index` on a slow disk: each file is written in two halves with pauses, and each rename waits, so that
# a kill at a random moment often lands mid-publish (a half-written chunks.json, a renamed but unpublished folder)
SLOW_DISK = """
import os, sys, time
import tutor.index.disk as index
from tutor.cli.main import main

real_write, real_replace = index._write, os.replace

def slow_write(path, data):
    time.sleep(0.08)
    path.write_bytes(data[: len(data) // 2])
    time.sleep(0.08)
    real_write(path, data)

def slow_replace(src, dst):
    time.sleep(0.08)
    real_replace(src, dst)

index._write, os.replace = slow_write, slow_replace
sys.exit(main(sys.argv[1:]))
"""


def full_run(settings, env, slow_disk: bool = False) -> float:
    started = time.monotonic()
    done = subprocess.run(
        index_cmd(settings, slow_disk), env=env, cwd=home(settings), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return time.monotonic() - started


def kill_rounds(settings, env, rounds: int, budget_s: float, rng: random.Random, slow_disk: bool = False) -> int:
    """Edit, start `tutor index`, SIGKILL it after a random delay; check; let the next run finish. Returns kills."""
    duration = full_run(settings, env, slow_disk)  # the first build; also how long a run takes here
    killed = 0
    deadline = time.monotonic() + budget_s
    for n in range(rounds):
        if n and time.monotonic() > deadline:
            break
        old = corpus_chunks(settings)
        edit_notes(settings, n)
        new = corpus_chunks(settings)
        proc = subprocess.Popen(index_cmd(settings, slow_disk), env=env, cwd=home(settings),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        # anywhere in a run (start-up, parsing, embedding, publishing); on the slow disk mostly while publishing
        delay = rng.uniform(duration * 0.4 if slow_disk else 0.0, duration * 1.05)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=60)
        killed += code == -signal.SIGKILL
        assert_answers_from(settings, [old, new], f"round {n}, killed after {delay:.2f} s of {duration:.2f} s")
        full_run(settings, env)
        assert_answers_from(settings, [new], f"round {n}, the run after the kill")
        live = load_index(settings)  # not stale: the completed run saw the edited notes
        assert {p.name for p in settings.index_path.glob("*") if p.name.startswith(("v-", "build-"))} == {
            live.path.name
        }
    return killed


@pytest.mark.parametrize("slow_disk", [False, True], ids=["plain", "slow-disk"])
def test_kill_9_during_index_leaves_the_previous_index_answering(tmp_path, slow_disk):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings="hash:64")
    rng = random.Random(SEED)
    env = cli_env(TUTOR_EMBEDDINGS="hash:64")
    killed = kill_rounds(settings, env, rounds=6, budget_s=25, rng=rng, slow_disk=slow_disk)
    assert killed >= 1, f"no run was killed before it finished (seed {SEED})"


@pytest.mark.slow
def test_kill_9_with_the_real_embedder(tmp_path):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path)
    kill_rounds(settings, cli_env(), rounds=2, budget_s=20, rng=random.Random(SEED))


class Crash(BaseException):
    """Stands for the process dying: no cleanup code runs (BaseException passes `except Exception`)."""


PUBLISH_STEPS = 7  # chunks.json, index.faiss, manifest.json, rename, CURRENT.tmp, rename to CURRENT, clean-up


@pytest.mark.parametrize("step", range(1, PUBLISH_STEPS + 1))
def test_a_crash_at_every_step_of_publishing(tmp_path, monkeypatch, step):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings="hash:64")
    build_index(settings)
    old = corpus_chunks(settings)
    edit_notes(settings, 1)
    new = corpus_chunks(settings)
    calls = {"n": 0}

    def crash_at_step(real):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == step:
                raise Crash
            return real(*args, **kwargs)

        return wrapped

    with monkeypatch.context() as patch, pytest.raises(Crash):
        patch.setattr(disk, "_write", crash_at_step(disk._write))
        patch.setattr(faiss, "write_index", crash_at_step(faiss.write_index))
        patch.setattr(os, "replace", crash_at_step(os.replace))
        patch.setattr(disk.shutil, "rmtree", crash_at_step(disk.shutil.rmtree))
        build_index(settings)
    published = step > 6  # CURRENT is replaced by the 6th step
    assert_answers_from(settings, [new] if published else [old], f"crash at step {step}")
    build_index(settings)
    assert_answers_from(settings, [new], f"the build after a crash at step {step}")
    assert not [p for p in settings.index_path.iterdir() if p.name.startswith("build-") or p.name == "CURRENT.tmp"]
    assert len(list(settings.index_path.glob("v-*"))) == 1


@pytest.fixture
def built(tmp_path, monkeypatch):
    """The notes indexed with a fast embedder, which the in-process CLI uses too."""
    monkeypatch.setenv("TUTOR_EMBEDDINGS", "hash:64")
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings="hash:64")
    build_index(settings)
    return settings


def cli_args(settings) -> list[str]:
    return ["--corpus", str(settings.corpus_path), "--index", str(settings.index_path)]


def live_dir(settings) -> Path:
    return settings.index_path / (settings.index_path / "CURRENT").read_text()


DAMAGE = {
    "truncated vectors": lambda live, _: (live / "index.faiss").write_bytes((live / "index.faiss").read_bytes()[:100]),
    "garbage chunks": lambda live, _: (live / "chunks.json").write_bytes(b"\x00\xff{not json"),
    "manifest deleted": lambda live, _: (live / "manifest.json").unlink(),
    "manifest without checksums": lambda live, _: (live / "manifest.json").write_text('{"format": 1}'),
    "version folder deleted": lambda live, _: shutil.rmtree(live),
    "pointer not UTF-8": lambda _, d: (d / "CURRENT").write_bytes(b"\xff\xfe\x00v-"),
    "pointer with a NUL byte": lambda _, d: (d / "CURRENT").write_text("v-\x00x"),
    "pointer empty": lambda _, d: (d / "CURRENT").write_text(""),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_ask_on_a_damaged_index_says_so_rebuilds_and_answers(built, damage):
    DAMAGE[damage](live_dir(built), built.index_path)
    code, out, err = run(["ask", "dropout为什么能防止过拟合？", "--json", *cli_args(built)])
    assert code == 0, err
    assert "building the index now" in err and "Traceback" not in err
    assert '"status"' in out and "dropout" in out
    assert load_index(built).chunks == corpus_chunks(built)


def test_damaged_index_through_the_real_command_never_shows_a_traceback(built):
    (live_dir(built) / "index.faiss").write_bytes(b"junk")
    done = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "ask", "梯度消失怎么解决", *cli_args(built)],
        env=cli_env(TUTOR_EMBEDDINGS="hash:64"), cwd=home(built), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "altered or truncated; building the index now" in done.stderr
    assert done.stdout.startswith("[") and "notes" in done.stdout.split("\n")[0]  # a status line: it answered


def enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def faiss_cannot_write(*_args, **_kwargs):
    raise RuntimeError("Error in faiss::FileIOWriter: fwrite failed (No space left on device)")


FULL_DISK = {
    "write": (disk, "_write", enospc),
    "faiss": (faiss, "write_index", faiss_cannot_write),
    "rename": (os, "replace", enospc),
}


@pytest.mark.parametrize("where", FULL_DISK)
def test_disk_full_during_index_is_one_sentence_and_the_old_index_stays(built, monkeypatch, where):
    before = index_entries(built)
    old = load_index(built).chunks
    edit_notes(built, 1)
    with monkeypatch.context() as patch:
        patch.setattr(*FULL_DISK[where])
        code, out, err = run(["index", "--no-links", *cli_args(built)])
    assert code == 1 and "Traceback" not in err
    message = err.strip().split("\n")[-1]  # after the embedding progress bar
    assert message.startswith("tutor: cannot write the index") and "run `tutor index` again" in message, err
    assert index_entries(built) == before  # nothing half-written left behind
    assert load_index(built, check_stale=False).chunks == old
    code, _, _ = run(["index", "--no-links", *cli_args(built)])
    assert code == 0 and load_index(built).chunks == corpus_chunks(built)


def test_a_real_file_size_limit_mid_write_fails_cleanly(built):
    """RLIMIT_FSIZE makes the kernel refuse writes past a size (EFBIG), like a full disk; it binds root too."""
    before = index_entries(built)
    edit_notes(built, 1)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run(
        index_cmd(built), env=cli_env(TUTOR_EMBEDDINGS="hash:64"), cwd=home(built), capture_output=True, text=True,
        preexec_fn=limit, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot write the index" in done.stderr and "File too large" in done.stderr
    assert index_entries(built) == before
    load_index(built, check_stale=False)


def test_an_index_folder_that_cannot_be_created_is_a_clear_message(tmp_path):
    make_corpus(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")  # chmod does not stop root; this does
    args = ["--corpus", str(tmp_path / "corpus"), "--index", str(blocker / "index")]
    for argv in (["index", "--no-links", *args], ["ask", "dropout", *args]):
        code, out, err = run(argv)
        assert code == 1 and "Traceback" not in err and out == ""
        assert "cannot write the index" in err


def test_pointer_that_cannot_be_replaced_keeps_the_old_version(built):
    old = load_index(built).chunks
    edit_notes(built, 1)
    (built.index_path / "CURRENT.tmp").mkdir()  # writing the new pointer fails (EISDIR), even for root
    code, _, err = run(["index", "--no-links", *cli_args(built)])
    assert code == 1 and "cannot write the index" in err
    assert load_index(built, check_stale=False).chunks == old
    assert len(list(built.index_path.glob("v-*"))) == 1  # the new version folder was removed again


def test_unreadable_note_file_is_skipped_with_a_warning(built, monkeypatch):
    import tutor.notes.corpus as corpus_mod

    def denied(real):
        def wrapped(path):
            if path.name == "locked.md":
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path)

        return wrapped

    (built.corpus_path / "locked.md").write_text("# 锁住的笔记\n\n内容", encoding="utf-8")
    monkeypatch.setattr(loaded, "file_hash", denied(loaded.file_hash))
    monkeypatch.setattr(corpus_mod, "read_text_file", denied(corpus_mod.read_text_file))
    code, out, err = run(["index", "--no-links", *cli_args(built)])
    assert code == 0 and "locked.md" in err and "Traceback" not in err
    assert load_index(built).chunks == [c for c in load_index(built).chunks if c.source.endswith(NOTES)]


def test_two_builds_at_once_both_finish_and_the_index_is_whole(built):
    edit_notes(built, 1)
    env = cli_env(TUTOR_EMBEDDINGS="hash:64")
    procs = [
        subprocess.Popen(index_cmd(built), env=env, cwd=home(built), stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "Traceback" not in err, err
    assert load_index(built).chunks == corpus_chunks(built)
    assert len(list(built.index_path.glob("v-*"))) == 1
