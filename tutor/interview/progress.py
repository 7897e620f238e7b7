"""Interview progress: every answer and an fsrs card per question, in one SQLite file; what to ask next.

`<data dir>/progress.sqlite3`, WAL with synchronous=FULL, one transaction per answer, so a killed process
loses nothing already answered and a failed write (read-only folder, full disk) leaves the file as it was.
Scores map to fsrs ratings (<40 Again, <70 Hard, <90 Good, else Easy). A question the notes hold no answer
for is recorded with score NULL and rated Good: it comes back on a normal spacing, and stays out of mastery.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from fsrs import Card, Rating, Scheduler

from tutor.config import Settings

DB_NAME = "progress.sqlite3"
WEAK_TOPIC = 70  # a topic whose mean score is below this counts as weak (session report, mastery chart)
SCHEMA_VERSION = 1
NEW_EVERY = 3  # every third pick prefers a question never asked, so new material keeps coming
RECENT = 10  # a topic's strength is the mean of its last RECENT scored answers
NEUTRAL = 50.0  # the strength assumed for a topic with no score yet

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    question_id TEXT NOT NULL,
    question TEXT NOT NULL,
    topic TEXT NOT NULL,
    answer TEXT NOT NULL,
    score INTEGER,                       -- NULL: the notes hold no reference answer
    covered TEXT NOT NULL DEFAULT '[]',  -- JSON list of key points
    missed TEXT NOT NULL DEFAULT '[]',   -- JSON list of {point, citation}
    follow_up INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_question ON attempts (question_id, id);
CREATE TABLE IF NOT EXISTS cards (
    question_id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    topic TEXT NOT NULL,
    card TEXT NOT NULL,                  -- fsrs Card.to_dict() as JSON
    due TEXT NOT NULL,                   -- ISO 8601 UTC, copied out of the card for ordering
    updated_at TEXT NOT NULL
);
"""


class ProgressError(Exception):
    """Progress cannot be read or saved; the message says what to do."""


class Askable(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def topic_name(self) -> str: ...

    @property
    def has_reference(self) -> bool: ...  # the notes hold an answer to grade against


A = TypeVar("A", bound=Askable)


def rating_for(score: int | None) -> Rating:
    if score is None:
        return Rating.Good
    if score < 40:
        return Rating.Again
    if score < 70:
        return Rating.Hard
    return Rating.Good if score < 90 else Rating.Easy


def _now() -> datetime:
    return datetime.now(UTC)


def _explain(exc: BaseException, path: Path) -> str:
    text = str(exc).lower()
    if "full" in text or getattr(exc, "errno", None) == 28:
        why = "the disk is full; free some space"
    elif "not a database" in text or "malformed" in text:
        return f"{path} is not a readable progress database; move it away and a new one will be started"
    elif "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(exc, PermissionError):
        why = "the folder is read-only or cannot be created"
    else:
        why = str(exc)
    return f"cannot save interview progress in {path}: {why}. Point TUTOR_DATA_DIR or --data-dir at a writable folder."


class ProgressStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.scheduler = Scheduler(enable_fuzzing=False)  # same answers, same schedule: reproducible tests
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # explicit transactions below; a web UI calls from worker threads, serialised by self._lock
            self.db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            if self.db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                # executescript commits whatever is open first, so the transaction is part of the script
                self.db.executescript(f"BEGIN IMMEDIATE;{SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")
        except (sqlite3.Error, OSError) as exc:
            raise ProgressError(_explain(exc, path)) from exc

    @classmethod
    def for_settings(cls, settings: Settings) -> ProgressStore:
        return cls(settings.data_path / DB_NAME)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")  # the write lock up front: two sessions never interleave a record
            try:
                yield
            except BaseException:
                if self.db.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def record(
        self,
        session_id: str,
        question_id: str,
        question: str,
        topic: str,
        answer: str,
        score: int | None,
        covered: Sequence[str] = (),
        missed: Sequence[Mapping] = (),  # Feedback.missed: {"point", "citation"}
        follow_up: bool = False,
        now: datetime | None = None,
    ) -> None:
        """Store one answer and, for a main question, review its card; committed before returning."""
        now = now or _now()
        try:
            with self._transaction():
                self.db.execute(
                    "INSERT INTO attempts (session_id, question_id, question, topic, answer, score, covered, missed,"
                    " follow_up, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        question_id,
                        question,
                        topic,
                        answer,
                        score,
                        json.dumps(list(covered), ensure_ascii=False),
                        json.dumps(list(missed), ensure_ascii=False),
                        int(follow_up),
                        now.isoformat(),
                    ),
                )
                if not follow_up:  # a follow-up shows what prompting recovers; the card rates the unprompted answer
                    self._review(question_id, question, topic, rating_for(score), now)
        except sqlite3.Error as exc:
            raise ProgressError(_explain(exc, self.path)) from exc

    def _review(self, question_id: str, question: str, topic: str, rating: Rating, now: datetime) -> None:
        row = self.db.execute("SELECT card FROM cards WHERE question_id = ?", (question_id,)).fetchone()
        card = Card.from_dict(json.loads(row["card"])) if row else Card(due=now)
        card, _ = self.scheduler.review_card(card, rating, now)
        self.db.execute(
            "INSERT INTO cards (question_id, question, topic, card, due, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(question_id) DO UPDATE SET question=excluded.question, topic=excluded.topic,"
            " card=excluded.card, due=excluded.due, updated_at=excluded.updated_at",
            (
                question_id,
                question,
                topic,
                json.dumps(card.to_dict()),
                card.due.astimezone(UTC).isoformat(),
                now.isoformat(),
            ),
        )

    def _rows(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self.db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise ProgressError(_explain(exc, self.path)) from exc

    def card(self, question_id: str) -> Card | None:
        rows = self._rows("SELECT card FROM cards WHERE question_id = ?", (question_id,))
        return Card.from_dict(json.loads(rows[0]["card"])) if rows else None

    def due_dates(self) -> dict[str, datetime]:
        return {
            r["question_id"]: datetime.fromisoformat(r["due"]) for r in self._rows("SELECT question_id, due FROM cards")
        }

    def due(self, now: datetime | None = None) -> list[dict]:
        now = now or _now()
        rows = self._rows(
            "SELECT question_id, question, topic, due FROM cards WHERE due <= ? ORDER BY due", (now.isoformat(),)
        )
        return [dict(r) for r in rows]

    def topic_strength(self) -> dict[str, float]:
        """topic -> mean of its last RECENT scored answers (main questions only)."""
        rows = self._rows(
            "SELECT topic, AVG(score) AS mean FROM (SELECT topic, score, ROW_NUMBER() OVER (PARTITION BY topic ORDER BY id DESC)"
            " AS k FROM attempts WHERE score IS NOT NULL AND follow_up = 0) WHERE k <= ? GROUP BY topic",
            (RECENT,),
        )
        return {r["topic"]: float(r["mean"]) for r in rows}

    def mastery(self) -> list[dict]:
        """Per topic: questions answered, mean of each question's latest score, attempts; weakest first."""
        topics: dict[str, dict] = {}
        latest: dict[str, tuple[str, int]] = {}
        for r in self._rows("SELECT question_id, topic, score FROM attempts WHERE follow_up = 0 ORDER BY id"):
            t = topics.setdefault(r["topic"], {"topic": r["topic"], "questions": set(), "attempts": 0})
            t["questions"].add(r["question_id"])
            t["attempts"] += 1
            if r["score"] is not None:
                latest[r["question_id"]] = (r["topic"], r["score"])
        out = []
        for name, t in topics.items():
            scores = [score for topic, score in latest.values() if topic == name]
            mean = round(sum(scores) / len(scores), 1) if scores else None
            out.append({"topic": name, "questions": len(t["questions"]), "attempts": t["attempts"], "mean_score": mean})
        return sorted(out, key=lambda d: (d["mean_score"] is None, d["mean_score"] or 0.0))

    def history(self, limit: int = 20, session_id: str | None = None) -> list[dict]:
        where, args = ("WHERE session_id = ?", [session_id]) if session_id else ("", [])
        rows = self._rows(
            f"SELECT id, session_id, question_id, question, topic, answer, score, covered, missed, follow_up, created_at"
            f" FROM attempts {where} ORDER BY id DESC LIMIT ?",
            [*args, limit],
        )
        return [
            dict(r)
            | {
                "covered": json.loads(r["covered"]),
                "missed": json.loads(r["missed"]),
                "follow_up": bool(r["follow_up"]),
            }
            for r in rows
        ]


def choose_next(
    questions: Sequence[A], store: ProgressStore | None, pick_no: int, now: datetime | None = None
) -> A | None:
    """Due cards first (earliest due), with a never-asked question every NEW_EVERY-th pick; weak topics first.
    Among new questions of a topic, those the notes answer come first: they can be graded."""
    if not questions:
        return None
    now = now or _now()
    due_at = store.due_dates() if store else {}
    strength = store.topic_strength() if store else {}

    def weakness(q: A) -> float:
        return strength.get(q.topic_name, NEUTRAL)

    # stable: the notes' order within a topic
    new = sorted((q for q in questions if q.id not in due_at), key=lambda q: (weakness(q), not q.has_reference))
    due = sorted(
        (q for q in questions if q.id in due_at and due_at[q.id] <= now), key=lambda q: (due_at[q.id], weakness(q))
    )
    if new and (pick_no % NEW_EVERY == NEW_EVERY - 1 or not due):
        return new[0]
    if due:
        return due[0]
    rest = sorted((q for q in questions if q.id in due_at), key=lambda q: (weakness(q), due_at[q.id]))
    return rest[0] if rest else None
