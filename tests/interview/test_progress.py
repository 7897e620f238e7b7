"""The progress store: durable answers, fsrs cards, what to ask next, and clear errors when it cannot write."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating

from tests.helpers import parse
from tutor.cli.interview import cmd_progress
from tutor.config import Settings
from tutor.interview.progress import ProgressError, ProgressStore, choose_next, rating_for

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress, index and a copy of the notes under tmp_path: a test never touches the user's files."""
    (tmp_path / "corpus").mkdir()
    shutil.copyfile(ROOT / "corpus" / "dl-interview-notes.md", tmp_path / "corpus" / "dl-interview-notes.md")
    monkeypatch.setenv("TUTOR_CORPUS_DIR", str(tmp_path / "corpus"))
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))


@dataclass(frozen=True)
class Q:
    id: str
    topic_name: str
    has_reference: bool = True


def answer(store: ProgressStore, q: Q, score: int | None, when: datetime, follow_up: bool = False) -> None:
    store.record(
        "s1", q.id, f"question {q.id}", q.topic_name, "an answer", score, ["a"], [{"point": "b"}], follow_up, when
    )


def test_scores_map_to_fsrs_ratings() -> None:
    assert [rating_for(s) for s in (0, 39, 40, 69, 70, 89, 90, 100)] == [
        Rating.Again, Rating.Again, Rating.Hard, Rating.Hard, Rating.Good, Rating.Good, Rating.Easy, Rating.Easy,
    ]  # fmt: skip
    assert rating_for(None) == Rating.Good  # no reference answer: back on a normal spacing, not marked weak


def test_answers_and_cards_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "data" / "progress.sqlite3"
    with ProgressStore(path) as store:
        answer(store, Q("a", "DNN"), 30, T0)
        answer(store, Q("a", "DNN"), 80, T0 + timedelta(minutes=1), follow_up=True)
        answer(store, Q("b", "CNN"), None, T0)
        answer(store, Q("c", "DNN"), 95, T0)
    with ProgressStore(path) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        history = store.history()
        assert [(h["question_id"], h["score"], h["follow_up"]) for h in history] == [
            ("c", 95, False), ("b", None, False), ("a", 80, True), ("a", 30, False),
        ]  # fmt: skip
        assert history[0]["covered"] == ["a"] and history[0]["missed"] == [{"point": "b"}]
        assert store.card("a").due < store.card("c").due  # Again comes back sooner than Easy
        assert set(store.due_dates()) == {"a", "b", "c"}  # the follow-up did not add or re-rate a card
        assert [d["question_id"] for d in store.due(T0 + timedelta(minutes=5))] == ["a"]  # Again: a 1-minute step
        assert [d["question_id"] for d in store.due(T0 + timedelta(hours=1))] == ["a", "b"]  # Good: 10 minutes
        mastery = {m["topic"]: m for m in store.mastery()}
        assert mastery["DNN"] == {"topic": "DNN", "questions": 2, "attempts": 2, "mean_score": 62.5}
        assert mastery["CNN"]["mean_score"] is None  # unscored answers stay out of mastery
        row = store.db.execute("SELECT card FROM cards WHERE question_id = 'a'").fetchone()
        assert json.loads(row[0])["card_id"]  # plain JSON (fsrs Card.to_dict), no pickle


def test_next_question_due_first_new_every_third_weak_topic_first(tmp_path: Path) -> None:
    qs = [Q("d1", "DNN"), Q("d2", "DNN"), Q("c1", "CNN"), Q("c2", "CNN"), Q("r1", "RNN")]
    store = ProgressStore(tmp_path / "p.sqlite3")
    assert choose_next(qs, store, 0, T0).id == "d1"  # nothing known: the notes' order
    answer(store, Q("d1", "DNN"), 20, T0)  # Again: due again within minutes
    answer(store, Q("c1", "CNN"), 95, T0)  # Easy: due in days
    later = T0 + timedelta(hours=2)
    assert choose_next(qs, store, 0, later).id == "d1"  # due first
    assert choose_next(qs, store, 2, later).id == "d2"  # every third pick: a new question, weakest topic first
    rest = [q for q in qs if q.id != "d1"]
    assert choose_next(rest, store, 0, later).id == "d2"  # nothing due: new ones, weakest topic (DNN) first
    assert choose_next([Q("c1", "CNN")], store, 0, later).id == "c1"  # only seen, not due: still askable
    assert choose_next([], store, 0, later) is None


def test_new_questions_the_notes_answer_come_before_bare_ones_of_the_same_topic(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "p.sqlite3")
    qs = [Q("d1", "DNN", False), Q("d2", "DNN", False), Q("d3", "DNN"), Q("c1", "CNN", False)]
    assert choose_next(qs, store, 0, T0).id == "d3"  # gradable first
    answer(store, Q("d3", "DNN"), 20, T0)  # DNN is now weak: its bare questions before CNN's
    assert choose_next(qs[:2] + qs[3:], store, 0, T0).id == "d1"


def test_a_killed_interview_keeps_the_answers_given(tmp_path: Path) -> None:
    env = os.environ | {"TUTOR_EMBEDDINGS": "hash:64", "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutor.cli", "interview", "--json", "--n", "3"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        seen = []
        for reply in ("sigmoid会饱和", "adam结合了动量和自适应学习率", None):
            line = json.loads(proc.stdout.readline())
            assert line["type"] == "question"
            seen.append(line["id"])
            if reply is None:
                break  # the third question is waiting for its answer: kill the process now
            proc.stdin.write(reply + "\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["type"] == "feedback"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with ProgressStore(tmp_path / "data" / "progress.sqlite3") as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        history = store.history()
        assert [h["question_id"] for h in reversed(history)] == seen[:2]
        assert history[0]["answer"] == "adam结合了动量和自适应学习率"


def test_a_file_in_the_way_gives_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("not a folder")
    with pytest.raises(ProgressError, match=r"cannot save interview progress in .*--data-dir"):
        ProgressStore(tmp_path / "blocker" / "data" / "progress.sqlite3")


def test_a_refused_write_keeps_what_was_saved(tmp_path: Path) -> None:
    """SQLite refuses the write (as on a read-only mount); the error says so and earlier answers are intact."""
    path = tmp_path / "progress.sqlite3"
    store = ProgressStore(path)
    answer(store, Q("a", "DNN"), 50, T0)
    store.db.execute("PRAGMA query_only = ON")
    with pytest.raises(ProgressError, match="read-only.*TUTOR_DATA_DIR"):
        answer(store, Q("b", "DNN"), 60, T0)
    store.close()
    with ProgressStore(path) as again:
        assert [h["question_id"] for h in again.history()] == ["a"]
        assert set(again.due_dates()) == {"a"}


def test_a_full_disk_is_named(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    store = ProgressStore(path)
    answer(store, Q("a", "DNN"), 50, T0)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")  # as if the disk had no room for one more page
    with pytest.raises(ProgressError, match="disk is full"):
        store.record("s", "b", "q", "DNN", "x" * 200_000, 10, [], [], False, T0)
    store.close()
    with ProgressStore(path) as again:
        assert [h["question_id"] for h in again.history()] == ["a"]


def test_a_damaged_database_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProgressError, match="not a readable progress database"):
        ProgressStore(path)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_progress_command(tmp_path: Path) -> None:
    settings = Settings()
    with ProgressStore.for_settings(settings) as store:
        answer(store, Q("corpus/dl-interview-notes.md#x", "DNN"), 35, T0)
        answer(store, Q("corpus/dl-interview-notes.md#y", "工程方面"), 90, T0)
    out, err = io.StringIO(), io.StringIO()
    assert cmd_progress(parse(["progress", "--json"]), settings, io.StringIO(), out, err) == 0
    result = json.loads(out.getvalue())
    assert [t["topic"] for t in result["topics"]] == ["DNN", "工程方面"]  # weakest first
    assert len(result["history"]) == 2 and result["due"][0]["topic"] == "DNN"
    out = io.StringIO()
    assert cmd_progress(parse(["progress"]), settings, io.StringIO(), out, err) == 0
    assert "DNN" in out.getvalue() and "due for review: 2" in out.getvalue()
    (tmp_path / "blocked").write_text("")
    bad = Settings(data_dir=tmp_path / "blocked" / "data")
    err = io.StringIO()
    assert cmd_progress(parse(["progress"]), bad, io.StringIO(), io.StringIO(), err) == 1
    assert "--data-dir" in err.getvalue()
    assert (
        cmd_progress(parse(["progress", "--limit", "-1"]), settings, io.StringIO(), io.StringIO(), io.StringIO()) == 2
    )
