"""Does an answer's clause deny what a key point asserts? Polarity of terms, read clause by clause.

A confidently wrong answer reuses the point's own terms and flips them: "一般不需要手动检查样本标签" against the
point "手动检查一些输入样本并查看标签是否大致正确". A term is denied when a negation word of the language stands
right before it (only modal and degree words between); the closed set of negation words is grammar, not fitted to
any notes. An answer's clause contradicts a point when it denies a term the point asserts (read generously: any
term after a negation in the point might be denied, so a misread scope in the notes makes no false contradiction),
or asserts a term one of the point's clauses plainly denies, sharing other words with it ("损失是衡量网络训练好坏唯一
可靠的指标" against "有时损失并不是衡量你的网络是否被正确训练的最佳预测器"). Clauses that ask ("……了吗？",
"是否") assert nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from tutor.terms import tokenize
from tutor.text import CJK_RE, data_lines

CLAUSE_RE = re.compile(  # a comma inside a number ("10,000") splits nothing
    r"(?:[，；;。！？!?\n：:、→]|,(?!\d{3}(?!\d)))+|\.\s+|\s+(?:but|while|whereas)\s+|而且|但是|然而|(?<![然从因进])而(?![且言])",
    re.I,
)
# "有没有", "是不是", "是否", "whether" ask, they do not deny
ASKING_RE = re.compile(r"([\u3400-\u9fff])[不没]\1|有没有|是否|whether|\bif\b", re.I)
QUESTION_CLAUSE_RE = re.compile(r"[吗么呢][？?]?$|[？?]$")
# negation words; the look-aheads keep out words that only begin with one (不同 different, 不断 constantly, 非常 very)
NEGATION_RE = re.compile(
    r"无法|无需|无须|没有|没法|没能|未能|未曾|毫无|并非|不再|不必|不能|不会|不要|不用|不可|不是"
    r"|不(?!同|断|仅|但|过|论|管|少|久|妨|止|一样|小心|好|错|如)|没|无(?!论|穷|限)|未(?!来|知)|非(?!常)|勿"
    r"|\b(?:not|no|never|nor|neither|none|without|cannot)\b|n't\b",
    re.I,
)
# "跟交叉熵没有关系", "和深度关系不大", "对梯度爆炸没什么效果", "与上下文无关", "has nothing to do with the depth": what
# follows the preposition is denied, not the word for the relation
RELATION_DENIAL_RE = re.compile(
    r"(?:和|跟|与|同|对)(?P<x>[^，。；,;：:]{1,24}?)(?:之间|的)?(?:(?:没有|没什么|没啥|并无|毫无|无|没)(?:什么|太大|多大|任何)?"
    r"(?:关系|关联|影响|作用|效果|用处|帮助|用)|(?:关系|关联|影响|作用)不大|无关)"
    r"|\b(?:nothing to do with|unrelated to|independent of|irrelevant to|no (?:effect|impact|influence) on)\s+"
    r"(?P<y>[^,.;:]{1,40})",
    re.I,
)
FIRST_PERSON_RE = re.compile(r"我|\b(?:I|I'm|I've|I'd|me|my)\b")
SHORT_CLAUSE_TERMS = 3  # a clause of this few terms ("而不是JS散度", "要计算") is about what the words before it name
BETWEEN = frozenset(w for line in data_lines("negation_between.txt") for w in line.split())
LATIN_NEGATED_RE = re.compile(r"\b(?:un|in|non|im|ir|il|dis)([a-z]{3,})\b", re.I)  # unstable, insensitive


@dataclass(frozen=True)
class Clause:
    terms: frozenset[str]
    denies: frozenset[str]  # the first term after each negation: what the clause plainly says is not so
    may_deny: frozenset[str]  # every term after a negation: all a misread scope could make it deny
    asks: bool  # a question or a check ("……了吗？"): it asserts nothing
    first: str | None  # its first term: a negation before it ("不可能 Loss 一直降到…") denies the whole clause
    words: frozenset[str] = frozenset()  # every word, function words too ("小于", "前", "更多")
    numbers: frozenset[frozenset[float]] = frozenset()  # the quantities it states ("8", "800M", "20万", "三层"),
    # each as the values it may stand for ("80%" is 80 or 0.8)
    bounds: frozenset[tuple[str, float]] = frozenset()  # the bounds among them ("小于1": ("<", 1.0))


def clauses(text: str) -> list[str]:
    return [c.strip() for c in CLAUSE_RE.split(text) if c and c.strip()]


@lru_cache(maxsize=4096)
def read_clause(clause: str) -> Clause:
    """The clause's terms, those it plainly denies, and those it may deny."""
    asks = bool(QUESTION_CLAUSE_RE.search(clause))
    text = ASKING_RE.sub(" ", clause)
    denies: set[str] = set()
    may_deny: set[str] = set()
    for m in NEGATION_RE.finditer(text):
        rest = text[m.end() :]
        term = _denied(rest)
        if term is None and len(m.group(0)) == 2 and CJK_RE.match(m.group(0)):
            # the negation's second character may begin the word it denies: "不可导" denies 可导
            rest = text[m.start() + 1 :]
            term = _denied(rest)
        denies.update([term] if term else [])
        may_deny.update(tokenize(rest))
    for m in RELATION_DENIAL_RE.finditer(text):
        denied = tokenize(m.group("x") or m.group("y"))
        denies.update(denied)
        may_deny.update(denied)
    for m in LATIN_NEGATED_RE.finditer(text):  # a prefix that denies a word the term table merged with its opposite
        whole, stem = tokenize(m.group(0)), tokenize(m.group(1))
        if whole and whole == stem:
            denies.add(whole[0])
            may_deny.add(whole[0])
    first = tokenize(NEGATION_RE.sub(" ", text))[:1]
    quantities = _quantities(clause)
    return Clause(
        frozenset(tokenize(text)),
        frozenset(denies),
        frozenset(may_deny),
        asks,
        first[0] if first else None,
        frozenset(tokenize(text, keep_stopwords=True)),
        frozenset(forms for forms, _ in quantities),
        frozenset((op, min(forms)) for forms, op in quantities if op),
    )


# a number on its own (not part of a name: "L1", "ResNet50", "GPT-3", "x2"; "-1" is minus one), with its scale
# word; a Chinese numeral counts before a measure word ("两层", "三种"; not before 个: "这两个问题" counts nothing the
# notes say, and not 一, mostly "a")
NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9_.\-])(-?\d+(?:,\d{3})+|-?\d+(?:\.\d+)?)\s*"
    r"(%|万|亿|千|百万|[kKMB]\b|thousand|million|billion|trillion)?"
    r"|([二两三四五六七八九十])(?=[种层组步次倍类维头])",
    re.I,
)
LIST_MARK_RE = re.compile(r"^\s*(?:[（(]?\d{1,2}[)）.、](?!\d)|step\s*\d+|第?\d{1,2}\s*[步点条])", re.I)
SCALE = {"%": 0.01, "万": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}
SCALE |= {"b": 1e9, "billion": 1e9, "trillion": 1e12}
CHINESE_DIGITS = {c: n for n, c in enumerate("二三四五六七八九十", 2)} | {"两": 2}  # "一个" is mostly "a"
CALL_RE = re.compile(r"[A-Za-z_][\w.]*\([^()]*\)")  # code ("tf.add(8,9)", "PE(pos,2i)") states no quantity
# a bound, not a value: "导数小于1" holds for 0.25 too
BELOW_RE = re.compile(
    r"(?:小于|低于|少于|不超过|不到|不大于|<=?|≤|less than|lower than|smaller than|below|at most)\s*$", re.I
)
ABOVE_RE = re.compile(
    r"(?:大于|高于|多于|超过|不小于|>=?|≥|more than|greater than|larger than|higher than|above|at least)\s*$", re.I
)


def numbers(text: str) -> frozenset[frozenset[float]]:
    """The quantities a clause states (`read_clause` keeps them as `Clause.numbers`)."""
    return frozenset(forms for forms, _ in _quantities(text))


def _quantities(text: str) -> list[tuple[frozenset[float], str]]:
    """Each quantity the text states, as the values it may stand for, and the bound it sets ("<" after "小于", ">"
    after "more than", else ""). An enumeration mark ("1）", "Step 2") or a number in code is no quantity; "2,500M"
    and "25亿" share a value, and "80%" is 80 or 0.8."""
    text = CALL_RE.sub(" ", LIST_MARK_RE.sub(" ", text))
    out = []
    for m in NUMBER_RE.finditer(text):
        if m.group(3):
            out.append((frozenset([float(CHINESE_DIGITS[m.group(3)])]), ""))
            continue
        value = float(m.group(1).replace(",", ""))
        scale = (m.group(2) or "").lower()
        forms = {round(value, 6)} | ({float(f"{value * SCALE[scale]:.6g}")} if scale else set())
        before = text[max(0, m.start() - 16) : m.start()]
        op = "<" if BELOW_RE.search(before) else ">" if ABOVE_RE.search(before) else ""
        out.append((frozenset(forms), op))
    return out


def _within(value: float, bound: tuple[str, float]) -> bool:
    op, limit = bound
    return value < limit if op == "<" else value > limit


def _denied(rest: str) -> str | None:
    """The first content term after a negation, if only modal or degree words stand between."""
    for word in tokenize(rest, keep_stopwords=True):
        if word in BETWEEN:
            continue
        terms = tokenize(word)
        return terms[0] if terms else None
    return None


def contradicts(
    answer_clause: Clause,
    point: list[Clause],
    asked: frozenset[str] = frozenset(),
    context: frozenset[str] = frozenset(),
) -> bool:
    """Does the answer's clause deny a term the point asserts (and nowhere may deny), or assert, without any
    negation, a term one clause of the point plainly denies, in words of that clause? A term the question itself
    denies ("LR 为什么不用 MSE") is the answer echoing the question. `context`: the terms of what a short clause is
    about, said before it ("生成器最小化的是KL散度，而不是JS散度")."""
    about = answer_clause.terms | context
    if answer_clause.denies:
        may_deny = {t for c in point for t in c.may_deny}
        asserted = {t for c in point if not c.asks for t in c.terms} - may_deny
        shared = about & {t for c in point for t in c.terms}
        flipped = {t for t in (answer_clause.denies & asserted) - asked if not any(_one_word(t, m) for m in may_deny)}
        return bool(flipped) and len(shared) >= 2
    if answer_clause.may_deny:
        return False  # a negation whose scope was not read: no claim either way
    # a denial the point keeps (no other clause of it asserts the term), of what its clause is about
    asserted = {t for c in point if not c.asks for t in c.terms - c.may_deny}
    for c in point:
        denied = (answer_clause.terms & c.denies) - asserted - asked - {c.first}
        if not c.asks and denied and len(about & c.terms) >= 2:
            return True
    return False


def _one_word(a: str, b: str) -> bool:
    """Are two Latin terms forms of one word ("recommend", "recommendation")? The point may deny the one the answer
    denies."""
    short, long = sorted((a, b), key=len)
    return short != long and len(short) >= 5 and short.isascii() and long.startswith(short)


def point_clauses(text: str, label: str | None = None) -> list[Clause]:
    """A point's clauses; its bold label ("检查你的输入数据") names the point, it claims nothing."""
    if label and text.startswith(label):
        text = text[len(label) :]
    return [read_clause(c) for c in clauses(text)]


def denied_by(question: str) -> frozenset[str]:
    """Every term a question denies ("为什么不能像 RF 一样并行" denies 并行)."""
    return frozenset(t for c in clauses(question) for t in read_clause(c).may_deny)


def sentence_contradicts(
    sentence: str, point: list[Clause], asked: frozenset[str] = frozenset(), question: frozenset[str] = frozenset()
) -> bool:
    """Does a clause of the sentence contradict the point? A short clause is read with what it is about: the clause
    before it ("…最小化生成分布和真实分布之间的KL散度，而不是JS散度"), or for the first, the question it answers
    (`question`, its terms: "要计算。" to "BN在测试时还要计算batch的均值吗？")."""
    parts = clauses(sentence)
    read = [read_clause(c) for c in parts]
    for k, clause in enumerate(read):
        short = len(clause.terms) <= SHORT_CLAUSE_TERMS
        # a clause about the speaker ("I don't remember how it works") is not about the question's subject
        if k:
            context = read[k - 1].terms if short else frozenset()
        else:
            context = question if short and not FIRST_PERSON_RE.search(parts[0]) else frozenset()
        if contradicts(clause, point, asked, context):
            return True
    return False


@dataclass(frozen=True)
class Rubric:
    """Every word and number of a question's key points and of the question itself."""

    words: frozenset[str]
    numbers: frozenset[float]
    bounds: frozenset[tuple[str, float]] = frozenset()

    @classmethod
    def of(cls, question: str, points: list[list[Clause]]) -> Rubric:
        asked = read_clause(question)
        every = [c for point in points for c in point]
        values = {v for c in [asked, *every] for forms in c.numbers for v in forms}
        limits = {b for c in [asked, *every] for b in c.bounds}
        return cls(asked.words.union(*(c.words for c in every)), frozenset(values), frozenset(limits))

    def allows(self, forms: frozenset[float]) -> bool:
        """Is the quantity one the notes state for this question, or within a bound they state?"""
        return not forms.isdisjoint(self.numbers) or any(_within(v, b) for v in forms for b in self.bounds)


@lru_cache(maxsize=1)
def _opposites() -> tuple[frozenset[frozenset[str]], frozenset[frozenset[str]]]:
    """Opposite characters (opposites.txt) and opposite words (opposite_words.txt), as the tokenizer reads them."""
    chars = frozenset(frozenset(line.split()) for line in data_lines("opposites.txt"))
    words = set()
    for line in data_lines("opposite_words.txt"):
        a, b = (tokenize(w, keep_stopwords=True) for w in line.split())
        if len(a) == len(b) == 1 and a != b:
            words.add(frozenset((a[0], b[0])))
    return chars, frozenset(words)


def opposite(a: str, b: str) -> bool:
    """Do two words say opposite things: a listed pair, or Chinese words alike but for characters that name the two
    sides of one thing ("大于" and "小于", "前" and "后", "过拟合" and "欠拟合")?"""
    chars, words = _opposites()
    if frozenset((a, b)) in words:
        return True
    if a == b or len(a) != len(b) or not all(CJK_RE.match(ch) for ch in a + b):
        return False
    return all(frozenset((x, y)) in chars for x, y in zip(a, b, strict=True) if x != y)


NUMERIC_RE = re.compile(r"^[\d.,]+$")


def about_the_same(terms: frozenset[str], others: frozenset[str]) -> bool:
    """Do two texts share two or more terms that name something (longer than one character, not a number)?"""
    return len({t for t in terms & others if len(t) > 1 and not NUMERIC_RE.match(t)}) >= 2


def opposes(answer_clause: Clause, point_clause: Clause, rubric: Rubric, said: frozenset[str] = frozenset()) -> bool:
    """Does the answer's clause say of what the point's clause is about (two or more of its terms) the opposite
    word, one the notes never use for this question, and (`said`: the words of its whole sentence) not the point's
    word as well? "层与层之间小于1的梯度反复相乘" against "网络层之间的梯度（值大于 1.0）重复相乘"; but "最小化判别器目标
    函数的最大值，这个最大值对应JS散度" says both."""
    if answer_clause.asks or point_clause.asks:
        return False
    flips = [
        (a, b)
        for a in answer_clause.words - point_clause.words - rubric.words
        for b in point_clause.words - answer_clause.words - said
        if opposite(a, b)
    ]
    # two flips agree ("C越大正则越弱" with "C越小正则越强")
    return len(flips) == 1 and about_the_same(answer_clause.terms, point_clause.terms)


def sentence_opposes(sentence: str, point: list[Clause], rubric: Rubric) -> bool:
    """Does a clause of the sentence say the opposite of a clause of the point, or does the sentence, about what the
    point is about (two or more of its terms), put a quantity the notes never use for this question where the point
    states one ("GPT-3 had 1.75 trillion parameters" against "GPT-3 … 175 billion parameters")? A sentence that also
    states the point's own quantity adds to it ("sigmoid 的导数最大只有 0.25 … 导数仍小于 1")."""
    said = [read_clause(c) for c in clauses(sentence)]
    words = frozenset().union(*(a.words for a in said))
    if any(opposes(a, p, rubric, words) or restates(a, p, rubric) for a in said for p in point):
        return True
    stated = {v for a in said for forms in a.numbers for v in forms}
    # 0 and 1 are the constants of every formula and probability ("(1 − p_t)^γ", "goes towards 0"): never invented
    invented = any(not rubric.allows(forms) and not forms <= {0.0, 1.0} for a in said for forms in a.numbers)
    theirs = [forms for p in point for forms in p.numbers]
    if not invented or not theirs or any(not forms.isdisjoint(stated) for forms in theirs):
        return False
    return about_the_same(frozenset().union(*(a.terms for a in said)), frozenset().union(*(p.terms for p in point)))


def restates(answer_clause: Clause, point_clause: Clause, rubric: Rubric) -> bool:
    """Does the answer's clause give what the point's clause is about (two or more of its terms) a quantity the notes
    never state for the question, none of the point clause's own and outside its bounds? "一共19个位置" against
    "一共9个位置", though the sentence says 9 elsewhere ("窗口设为9"). A quantity the notes give for the question is
    left alone: "三个3x3卷积相当于7x7" beside the point "两个3x3卷积串联相当于5x5" is another of their facts. 0 and 1
    are formula constants."""
    if answer_clause.asks or point_clause.asks or not answer_clause.numbers or not point_clause.numbers:
        return False
    theirs = {v for forms in point_clause.numbers for v in forms}
    mine = [forms for forms in answer_clause.numbers if not forms <= {0.0, 1.0} and not rubric.allows(forms)]
    if not mine or any(not forms.isdisjoint(theirs) for forms in answer_clause.numbers):
        return False
    if any(_within(v, b) for forms in mine for v in forms for b in point_clause.bounds):
        return False
    return about_the_same(answer_clause.terms, point_clause.terms)


LATIN_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*[A-Za-z0-9+]")
LATIN_RUN_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*[A-Za-z0-9+](?:[ \t]+[A-Za-z][A-Za-z0-9+\-]*[A-Za-z0-9+])*")


def compared(question: str) -> frozenset[str]:
    """The names a question sets side by side ("LSTM里为什么既用sigmoid又用tanh", "GRU对LSTM做了哪些改动"), as
    terms: what a confidently wrong answer swaps."""
    chinese = bool(CJK_RE.search(question))
    # in a Chinese sentence every Latin word is a name; in an English one a word written with a capital after its
    # first letter or with a digit ("LSTM", "ReLU", "L1"), as "overfitting" and "underfitting" are words
    if chinese:  # a name may be two words ("Batch Norm"); three or more are an English clause ("Why it works")
        words = [m.group(0) for m in LATIN_RUN_RE.finditer(question) if len(m.group(0).split()) <= 2]
    else:
        words = [
            m.group(0)
            for m in LATIN_NAME_RE.finditer(question)
            if any(ch.isupper() or ch.isdigit() for ch in m.group(0)[1:])
        ]
    names = frozenset(t for word in words for t in tokenize(word))
    return names if len(names) >= 2 else frozenset()


def swaps(
    answer_clause: Clause, point_clause: Clause, names: frozenset[str], common: frozenset[str] = frozenset()
) -> bool:
    """Does the answer's clause say what the point's clause says of one compared name, of another? "而LSTM是直接把
    隐藏状态传给下一个单元的" against "GRU直接将hidden state传给下一个单元": the same two or more terms besides the
    names, the point's name left out and another put in."""
    own = point_clause.terms & names
    other = (answer_clause.terms & names) - point_clause.terms
    if not own or not other or answer_clause.terms & own or answer_clause.asks or point_clause.asks:
        return False
    return len((answer_clause.terms & point_clause.terms) - names - common) >= 2


def sentence_swaps(
    sentence: str, point: list[Clause], names: frozenset[str], every: tuple[list[Clause], ...] = ()
) -> bool:
    """Does a clause of the sentence say of another name what the point says of its own? `every` holds the clauses
    of all the question's points: the words most of them use ("梯度", "更新" in every optimizer's point) say nothing
    of one name, and where the notes say as much of the answer's own name, the answer says what they say ("bias是模型
    预测结果的期望和真实值之间的差距" shares 预测结果 with "variance…对同一个样本的预测结果的方差", and more with "bias
    指的是模型的预测结果与Ground Truth之差的期望")."""
    if not names:
        return False
    common = _common_terms(every)
    for clause in map(read_clause, clauses(sentence)):
        for p in point:
            if swaps(clause, p, names, common) and not _said_of_own_name(clause, p, names, every):
                return True
    return False


def _common_terms(points: tuple[list[Clause], ...]) -> frozenset[str]:
    """Terms that half or more of three or more points use."""
    if len(points) < 3:
        return frozenset()
    counts = Counter(t for point in points for t in set().union(*(c.terms for c in point)))
    return frozenset(t for t, n in counts.items() if 2 * n >= len(points))


def _said_of_own_name(
    answer_clause: Clause, point_clause: Clause, names: frozenset[str], every: tuple[list[Clause], ...]
) -> bool:
    """Does a clause of the notes that names the answer's own name share as many terms with the answer's clause?"""
    mine = answer_clause.terms & names
    swapped = len((answer_clause.terms & point_clause.terms) - names)
    return any(
        o.terms & mine and len((answer_clause.terms & o.terms) - names) >= swapped for point in every for o in point
    )
