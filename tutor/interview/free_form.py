"""`tutor grade`: a free-form question graded against what the notes say to it (bench/grading.py measures it)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from tutor.answer.chat import Tutor
from tutor.config import Settings
from tutor.index.store import ensure_index
from tutor.interview.grading import Grader, clean_text, embed_queries, grade, plan_follow_ups
from tutor.interview.interviewer import NOT_IN_NOTES, owning_question
from tutor.interview.rubric import KeyPoint, Question, build_bank, normalize_question, topic_name
from tutor.notes.lines import NUMBERING_RE
from tutor.search.retriever import Retrieval
from tutor.terms import aspect_terms
from tutor.text import is_chinese
from tutor.types import Citation, Feedback, Ungraded

QUESTION_END_RE = re.compile(r"[？?]")


def _lang(text: str) -> str:
    return "zh" if is_chinese(text) else "en"


class FreeFormGrader:
    """Grades free-form (question, answer) pairs, as `tutor grade` does.

    A question worded as one of the notes' questions is graded against that question's key points. Any other is
    graded against what the notes say to *it*: the sentences the tutor's own answer cites (the focused extractive
    answer), as points of the notes' question that owns them, or as points of their own. "梯度爆炸一般怎么处理？"
    is graded on 1.5's remedies, not on all ten points of 1.5; a question the notes do not answer is not graded."""

    def __init__(self, settings: Settings, say=None) -> None:
        self.index = ensure_index(settings, say=say)
        self.bank = build_bank(self.index, settings)
        self.tutor = Tutor(settings, self.index, chat_model=None)
        self.embedder = self.tutor.embedder
        self.grader = Grader(self.index, self.bank, self.embedder)

    def rubric(self, question: str) -> tuple[Question, tuple[int, ...]] | None:
        """The question and the key points to grade against (all of them when empty); None when the notes do not
        answer it."""
        key = normalize_question(question)
        for q in self.bank:
            if key and normalize_question(q.text) == key:
                return q, ()
        retrieval = self.tutor.retriever.search(question, k=self.tutor.settings.top_k)
        owner = owning_question(self.bank, retrieval.hits[0].chunk) if retrieval.hits else None
        if retrieval.status == "question_only" and owner is not None:
            return owner, ()  # graded as the notes' bare question: no reference, so no score
        if retrieval.status != "answered":
            return None
        reworded = self._reworded(question)
        if reworded is not None and (reworded == owner or self._names_and_finds(question, reworded, retrieval)):
            return reworded, ()
        cited = self.tutor.answerer.answer(question, retrieval).citations
        top = retrieval.hits[0].chunk
        digest = hashlib.sha1(f"{top.source}\n{question}".encode()).hexdigest()[:12]
        if owner is not None:
            every = owner.points + owner.more_points  # a narrow question may ask what the central points left out
            mine = [i for i, p in enumerate(every) if any(_same_lines(p.citation, c) for c in cited)]
            if mine and max(mine) < len(owner.points):
                return owner, tuple(mine)
            if mine:
                points = tuple(
                    replace(every[i], citation=replace(every[i].citation, n=n)) for n, i in enumerate(mine, 1)
                )
                return replace(owner, id=f"{owner.id}~{digest}", points=points, parts=(), more_points=()), ()
        points = tuple(KeyPoint(c.quote, c) for c in cited if c.quote.strip())
        if not points:
            return None
        topic = top.heading_path[0] if top.heading_path else top.source
        section = self.index.section_by_id.get(top.section_id)
        q = Question(
            id=f"free-{digest}",
            section_id=top.section_id,
            text=question,
            topic=topic,
            topic_name=topic_name(topic),
            source=top.source,
            heading_path=top.heading_path,
            line_start=section.line_start if section else top.line_start,
            line_end=section.line_end if section else top.line_end,
            kind="answered",
            points=points,
        )
        return q, ()

    def _reworded(self, question: str) -> Question | None:
        """The notes' question this one asks in other words ("What are positional encodings and why do LLMs need
        them?" for "5. What are positional encodings in the context of LLMs?"), graded on its whole rubric instead
        of on the one sentence the extractive answer leads with. It is the notes' question whose heading this one
        is closest to, when it is closer to that heading than to any one of its key points, names no term of the
        section that the heading does not, and asks as many things as the heading does ("梯度爆炸一般怎么处理"
        leaves a heading on causes *and* remedies narrow; "怎么检查你的输入数据" under "不收敛，可能有哪些原因" names
        the section's 数据)."""
        if not self.bank:
            return None
        asked = embed_queries(self.embedder, [question])[0]
        headings = embed_queries(self.embedder, [q.text for q in self.bank]) @ asked
        best = self.bank[int(headings.argmax())]
        if (
            not best.points
            or headings.max() <= (embed_queries(self.embedder, [p.text for p in best.points]) @ asked).max()
        ):
            return None
        tokenize = self.index.analyzer.tokenize
        extra = set(tokenize(question)) - set(tokenize(" ".join([best.text, *best.heading_path]))) - aspect_terms()
        if extra & {t for p in best.points + best.more_points for t in tokenize(p.text)}:
            return None
        asks = [c for c in QUESTION_END_RE.split(question) if c.strip()]
        return best if len(best.parts) < 2 or len(asks) >= len(best.parts) else None  # two asks, asked both

    def _names_and_finds(self, question: str, q: Question, retrieval: Retrieval) -> bool:
        """For a heading other than the top hit's: the question names every term of it ("AlexNet的模型特性有哪些？"
        for "讲一下AlexNet：模型特性" when "模型介绍" ranked first), and the search found its section too."""
        tokenize = self.index.analyzer.tokenize
        if set(tokenize(NUMBERING_RE.sub("", q.text))) - set(tokenize(question)) - aspect_terms():
            return False
        return any(
            h.chunk.source == q.source and h.chunk.heading_path[: len(q.heading_path)] == q.heading_path
            for h in retrieval.hits
        )

    def feedback(self, question: str, answer: str) -> Feedback | Ungraded:
        question = clean_text(question).strip()
        found = self.rubric(question)
        if found is None:
            return Ungraded(question, NOT_IN_NOTES[_lang(question)])
        q, only = found
        fb, credits = grade(self.grader, q, answer, only)
        ups = plan_follow_ups(q, credits) if q.points else []
        matched = q.text if q.text != question else None
        return replace(fb, follow_up=ups[0].text if ups else None, question=question, matched_question=matched)

    def grade(self, question: str, answer: str) -> dict:
        """`feedback()` as its JSON (bench/grading.py reads it so)."""
        return self.feedback(question, answer).to_dict()


def _same_lines(a: Citation, b: Citation) -> bool:
    return a.source == b.source and a.line_start <= b.line_end and b.line_start <= a.line_end
