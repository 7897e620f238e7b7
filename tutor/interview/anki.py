"""`tutor export anki`: the notes' questions as an Anki deck (genanki), one note per question.

The front is the question; the back its key points, each with its citation (file › heading › lines); the topic is
a tag. A note's GUID comes from the question's id, which stays the same while the question's wording does, so
importing a fresh export updates the cards already studied instead of adding copies. Every piece of note text is
HTML-escaped: a note that holds `<script>` shows it as text on the card.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import genanki

from tutor.config import Settings
from tutor.index.store import ensure_index
from tutor.interview.interviewer import filter_topic
from tutor.interview.progress import ProgressStore
from tutor.interview.rubric import Question, build_bank
from tutor.notes.files import user_file_mode
from tutor.types import Citation

MODEL_NAME = "tutor: question and the notes' answer"
CSS = """.card { font-family: system-ui, "Noto Sans CJK SC", sans-serif; font-size: 18px; text-align: left; }
.points li { margin: .3em 0; } .cite { color: #666; font-size: 13px; } .topic { color: #888; font-size: 13px; }"""
FRONT = '<div class="topic">{{Topic}}</div><div class="question">{{Question}}</div>'
BACK = '{{FrontSide}}<hr id="answer"><ul class="points">{{Answer}}</ul>'


def _stable_id(text: str) -> int:
    """A model or deck id that is the same on every export (Anki wants a 31-bit positive integer)."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) >> 1 or 1


MODEL = genanki.Model(
    _stable_id(MODEL_NAME),
    MODEL_NAME,
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Topic"}, {"name": "Source"}],
    templates=[{"name": "Card 1", "qfmt": FRONT, "afmt": BACK}],
    css=CSS,
)


class ExportError(Exception):
    """Nothing to export, or the deck cannot be written; the message says why."""


@dataclass
class ExportReport:
    path: Path
    cards: int = 0
    skipped: list[str] = field(default_factory=list)  # questions the notes hold no answer to

    def summary(self) -> str:
        extra = f"; {len(self.skipped)} questions without an answer in the notes were left out" if self.skipped else ""
        return f"wrote {self.cards} cards to {self.path}{extra}"


def _tag(topic: str) -> str:
    """Anki tags cannot hold spaces."""
    return re.sub(r"\s+", "_", topic.strip()) or "notes"


def note_for(q: Question) -> genanki.Note:
    """One question as an Anki note, its GUID taken from the question's identity."""
    points = "".join(
        f'<li>{html.escape(p.text)}<div class="cite">{html.escape(p.citation.label)}</div></li>' for p in q.points
    )
    source = Citation(0, q.source, q.heading_path, q.line_start, q.line_end, "").label
    return genanki.Note(
        model=MODEL,
        fields=[html.escape(q.text), points, html.escape(q.topic_name), html.escape(source)],
        tags=[_tag(q.topic_name)],
        guid=genanki.guid_for(q.id),
    )


def questions_to_export(
    settings: Settings, topic: str | None = None, due: bool = False
) -> tuple[list[Question], list[str]]:
    """(questions with an answer in the notes, questions without one), of a topic and only those due if asked."""
    bank = filter_topic(build_bank(ensure_index(settings), settings), topic)
    if due:
        with ProgressStore.for_settings(settings) as store:
            wanted = {row["question_id"] for row in store.due()}
        bank = [q for q in bank if q.id in wanted]
    return [q for q in bank if q.points], [q.text for q in bank if not q.points]


def deck_name(settings: Settings, topic: str | None = None) -> str:
    return f"tutor::{settings.corpus_path.resolve().name}" + (f"::{topic}" if topic else "")


def write_deck(questions: list[Question], out: Path, name: str) -> int:
    """Write the questions that hold an answer as a deck to `out`, atomically: a crash mid-write leaves any earlier
    export as it was. Returns how many cards it holds."""
    answered = [q for q in questions if q.points]
    if not answered:
        raise ExportError("nothing to export: the notes hold no question with an answer")
    deck = genanki.Deck(_stable_id(name), name)
    for q in answered:
        deck.add_note(note_for(q))
    out = out.expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        genanki.Package(deck).write_to_file(tmp)
        os.chmod(tmp, user_file_mode())  # as any file the user writes, not mkstemp's owner-only mode
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(answered)


def export_deck(settings: Settings, out: Path, topic: str | None = None, due: bool = False) -> ExportReport:
    """`tutor export anki`: the notes' questions (of a topic, only those due if asked) as a deck at `out`."""
    questions, skipped = questions_to_export(settings, topic, due)
    if not questions:
        why = "no question is due for review" if due else "the notes hold no question with an answer"
        raise ExportError(f"nothing to export: {why}" + (f" in topic {topic!r}" if topic else ""))
    return ExportReport(out, write_deck(questions, out, deck_name(settings, topic)), skipped)
