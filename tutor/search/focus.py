"""Which sentences of the answering section answer *this* question (shown), and the rest of it ("more").

A term of the question picks sentences when it is specific inside the section: found in some of its sentences
but in fewer than half of them (a term in most of them is the section's subject, not what this question narrows
to). Aspect words ("原因", "角度") narrow only where no subject word does. Sentences are ranked by the idf of the
question's terms they hold (the index's BM25 weights) and shown in the notes' order. With no such term the
section is quoted from its start, the passages the retriever put close to the best one (in the index's
calibrated units) first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from tutor.notes.lines import (
    ANSWER_LABEL_RE,
    LEAD_IN_RE,
    NUMBERED_LEAD_RE,
    PLACEHOLDER_RE,
    clean_line,
    strip_markup,
)
from tutor.terms import Analyzer, aspect_terms
from tutor.text import data_lines, sentences
from tutor.types import Chunk

MAX_SHOWN = 4  # sentences or bullets an answer shows; the rest of the section is offered as "more"
CLOSE_UNITS = 0.6  # passages this close to the best one (calibrated units) lead when no term narrows the section
LEAD_IN = re.compile(r"[^。！？!?]{1,24}[：:]")
VALUE = re.compile(r"[\d.,x×*/%+\-]+")
LABEL_CHARS = 30  # a bullet this short that holds only the question's own words names a topic, not an answer
LABEL_REACH = 4  # sentences after a label that come with it
LIST_ITEM = re.compile(r"^[>\s]*(?:[-*+•]|\d+[.)、])\s*")
BLOCKQUOTE = re.compile(r"^\s*(?:>\s*)+")
CODE_FENCE = re.compile(r"(?ms)^\s*(```|~~~).*?(^\s*\1|\Z)")


@lru_cache(maxsize=1)
def back_references() -> tuple[str, ...]:
    """Openings that lean on text before them ("如上所述", "as mentioned above"): tutor/data/backrefs.txt."""
    return tuple(w.lower() for line in data_lines("backrefs.txt") for w in line.split("|") if w.strip())


@dataclass(frozen=True)
class Sentence:
    chunk: Chunk
    text: str
    position: int  # in the section, notes order
    opens: bool  # the first sentence of its line (a paragraph or a bullet)
    lead_in: bool  # "解决办法：" labels what follows; it claims nothing to cite
    terms: frozenset[str]
    table_row: bool = False  # one row of a table reads as nothing on its own: offered in "more", never shown

    @property
    def self_contained(self) -> bool:
        head = self.text.lstrip("-*+•> ").lower()
        return self.opens and not head.startswith(back_references())


def is_noise(text: str) -> bool:
    """A piece that reads as nothing: images, tags, entities, invisible characters, emoji, placeholders."""
    cleaned = strip_markup(clean_line(text)).strip("-*+•>#|:：.。 \t")
    if not cleaned or PLACEHOLDER_RE.fullmatch(cleaned):
        return True
    return not any(unicodedata.category(ch)[0] in "LN" for ch in cleaned)


def section_sentences(chunks: Sequence[Chunk], analyzer: Analyzer) -> list[Sentence]:
    """The sentences and bullets of a section's passages, in notes order, without what cannot be cited."""
    out: list[Sentence] = []
    for chunk in sorted(chunks, key=lambda c: (c.source, c.line_start)):
        prose = CODE_FENCE.sub("", chunk.text)  # code lines read badly out of their block
        for line in prose.split("\n"):
            line = BLOCKQUOTE.sub("", clean_line(line))  # what the parser left of markup that reads as nothing
            first = True
            for sent in sentences(line):
                if re.fullmatch(r"\*\*.*\*\*", sent) or "`" in sent or NUMBERED_LEAD_RE.match(sent) or is_noise(sent):
                    continue  # a bold run-in or "（2）激活函数角度" is in the heading path already
                if ANSWER_LABEL_RE.match(sent) or (chunk.heading_path and sent == chunk.heading_path[-1]):
                    continue  # "答案" only labels the answer; a run-in unit's own title line is its heading
                terms = frozenset(analyzer.tokenize(sent))
                # "解决办法：", "主要特点：" label what follows; "某个模式出现大量重复样本，例如：" claims something
                claims = {t for t in terms - aspect_terms() if not VALUE.fullmatch(t)}
                lead_in = bool(LEAD_IN.fullmatch(sent) or LEAD_IN_RE.match(sent)) and len(claims) <= 1
                row = line.lstrip().startswith("|")
                out.append(Sentence(chunk, sent, len(out), first, lead_in, terms, row))
                first = False
    return out


def focus(
    sents: Sequence[Sentence],
    query_terms: Sequence[str],
    weight: Callable[[str], float],
    close: Callable[[Chunk], bool],
    heading_terms: frozenset[str] = frozenset(),
    limit: int = MAX_SHOWN,
) -> tuple[list[Sentence], list[Sentence]]:
    """(shown, more): the sentences that answer the question and the section's other content sentences.

    `heading_terms` are the subject terms of the section's heading (see `subject_terms`)."""
    every = [s for s in sents if not s.lead_in]
    content = [s for s in every if not s.table_row] or every
    if not content:
        return [], []
    terms = set(query_terms)
    df = {t: sum(t in s.terms for s in content) for t in terms}
    narrowing = {t for t in terms if df[t] and 2 * df[t] < len(content)}
    if heading_terms and heading_terms <= terms:
        narrowing -= heading_terms  # it asks what the heading asks: only its own further terms narrow
    # an aspect word ("角度", "原因", "at test time") says what is asked about a subject: it narrows only when no
    # subject word does and the section holds every subject word asked about (else its match is chance)
    subjects = terms - aspect_terms()
    pick = (narrowing - aspect_terms()) or (narrowing if all(df[t] for t in subjects) else set())

    def held(s: Sentence, which: set[str]) -> float:
        return sum(weight(t) for t in which & s.terms)

    if pick:
        pool = [s for s in content if s.terms & pick]
        ranked = sorted(pool, key=lambda s: (-held(s, pick), -held(s, terms), not close(s.chunk), s.position))
        # a sentence holding most of what the question narrows to (by weight) answers it; one holding less comes
        # in only for a narrowing term no chosen sentence holds ("输入门和遗忘门" answered in two places)
        total = sum(weight(t) for t in pick)
        chosen = [s for s in ranked if 2 * held(s, pick) >= total]
        covered = {t for s in chosen for t in s.terms & pick}
        for sent in ranked:
            if sent not in chosen and (sent.terms & pick) - covered:
                chosen.append(sent)
                covered |= sent.terms & pick
        ranked = chosen
    else:
        ranked = sorted(content, key=lambda s: (not close(s.chunk), s.position))
    shown = sorted(_past_labels(ranked, every, terms)[:limit], key=lambda s: s.position)
    # a sentence that continues an argument ("然而…", "如上所述…") does not lead when a self-contained one answers
    while len(shown) > 1 and not _stands_alone(shown[0], shown) and any(s.self_contained for s in shown[1:]):
        shown.pop(0)
    ids = {s.position for s in shown}
    return shown, [s for s in every if s.position not in ids]


def _past_labels(ranked: list[Sentence], every: Sequence[Sentence], terms: set[str]) -> list[Sentence]:
    """A picked bullet that only names what was asked ("- 4 ResNet") is a label: what it says sits under it, so the
    sentences that follow it up to the next label come with it."""
    out: list[Sentence] = []
    for sent in ranked:
        out.append(sent)
        own = {t for t in sent.terms - terms if not VALUE.fullmatch(t)}  # "4" in "- 4 ResNet" is a number
        if own or len(sent.text) > LABEL_CHARS:
            continue
        for after in (a for a in every if a.position > sent.position):
            if after.position > sent.position + LABEL_REACH or _is_label(after):
                break
            if after not in out:
                out.append(after)
    return list(dict.fromkeys(out))


def _is_label(sent: Sentence) -> bool:
    return len(sent.text) <= LABEL_CHARS and bool(LIST_ITEM.match(sent.text))


def subject_terms(text: str, analyzer: Analyzer) -> frozenset[str]:
    """The content terms of a heading, without aspect words and numbering ("1.3", "7.1.7")."""
    return frozenset(t for t in analyzer.tokenize(text) if t not in aspect_terms() and not VALUE.fullmatch(t))


def _stands_alone(sent: Sentence, shown: Sequence[Sentence]) -> bool:
    return sent.self_contained or any(s.position == sent.position - 1 for s in shown)


def lead_ins_for(sents: Sequence[Sentence], shown: Sequence[Sentence]) -> set[int]:
    """Positions of lead-ins ("解决办法：") directly followed by a shown sentence: they introduce it."""
    ids = {s.position for s in shown}
    return {s.position for s in sents if s.lead_in and s.position + 1 in ids}


def best_sentence(sents: Sequence[Sentence], query_terms: Sequence[str], weight: Callable[[str], float]):
    """The one content sentence holding the most idf weight of the query's terms (None if none holds any)."""
    terms = set(query_terms)
    scored = [(sum(weight(t) for t in terms & s.terms), -s.position, s) for s in sents if not s.lead_in]
    scored = [x for x in scored if x[0] > 0]
    return max(scored, key=lambda x: x[:2])[2] if scored else None
