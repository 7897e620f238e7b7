"""Follow-ups rewritten into a query that stands on its own, without an LLM: the topic of the earlier turns is
carried into an elliptical message ("那怎么解决？", "tanh呢？", "And at test time?"); a message that names a subject of
its own is searched as it is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tutor.terms import Analyzer, aspect_terms
from tutor.text import data_lines

# message words that lean on the conversation ("那", "呢", "what about") and pronouns that stand for its topic
LEAD_CUES = re.compile(
    r"^\s*(?:那么|那|还有|另外|再|那如果|and then|and|so|then|also|what about|how about|but)\b\s*|^\s*(?:那么|那|还有|另外)",
    re.IGNORECASE,
)
TAIL_CUES = re.compile(r"(?:的话)?\s*(?:呢|吗|(?<![什怎那这多要])么)?\s*[？?。.!！]*\s*$")  # not 什么's 么
# "这" with a measure word stands for what was just said too: "这一步比预训练快多少？" after "监督微调那一步做什么？"
DEMONSTRATIVE = r"这一?(?:步|层|阶段|部分|种|类|项|些)"
PRONOUNS = re.compile(
    r"它们|两者|二者|它|这个方法|这种方法|这个|该方法|" + DEMONSTRATIVE + r"|其|\b(?:it|its|this|that|they|them)\b",
    re.IGNORECASE,
)
PLURAL = re.compile(r"它们|两者|二者|\b(?:they|them)\b", re.IGNORECASE)  # stands for two things or more
# two names side by side: "随机森林和 GBDT", "word2vec versus tf-idf", "L1/L2"
PAIR_GLUE = re.compile(r"\s*(?:和|与|跟|及|以及|还是|或|、|/|and|or|vs\.?|versus)\s*", re.IGNORECASE)
# an English auxiliary right before a pronoun makes the pronoun the sentence's subject: "does it", "are they"
AUXILIARY_BEFORE = re.compile(
    r"\b(?:do|does|did|is|are|was|were|can|could|will|would|should|shall|may|might|must|has|have|had)\s+$", re.I
)
# an English preposition right before a pronoun makes the pronoun its object: "on top of it", "compared with them"
PREPOSITION_BEFORE = re.compile(
    r"\b(?:of|on|to|with|than|from|over|about|for|into|onto|against|versus|vs\.?|like|beyond|after|before)\s+$", re.I
)
# and a Chinese one: "Adam 在它基础上多了什么", "和它相比", "比它快"
ZH_PREPOSITION_BEFORE = re.compile(r"(?:在|比|和|跟|与|同|对|从|相比|相对于|基于|较)\s*$")
CLAUSE_BREAK = re.compile(r"[,;，；、:：]|\b(?:and|or|but|while|whereas|because|since|when|if)\b", re.I)
FOLLOW_CUES = re.compile(
    r"^\s*(?:那|还有|另外|and\b|what about|how about|then\b|so\b)|呢\s*[？?]?\s*$|\b(?:it|its|this|that|they|them)\b|它|这个|其"
    + "|"
    + DEMONSTRATIVE
    + r"|角度|方面|\b(?:view|perspective|side)\b",
    re.IGNORECASE,
)


NUMBER_RE = re.compile(r"(?<![A-Za-z0-9])\d+(?:\.\d+)?(?:[x×*]\d+)*%?(?![A-Za-z0-9])")
VALUE_RE = re.compile(r"[\d.,x×*/%+\-]+")  # "0.5", "7x7": a value of one question, never a topic to carry


class Topics:
    """What a message is about, in the terms of one index: its content terms that are neither aspects ("原因",
    "causes") nor so common in these notes that they name no subject (df share from the index itself)."""

    COMMON_SHARE = 0.25  # a term in a quarter of the passages is background in these notes, not a subject

    def __init__(self, analyzer: Analyzer, vocabulary: set[str], common: set[str]) -> None:
        self.analyzer = analyzer
        self.vocabulary = vocabulary
        self.generic = aspect_terms() | common

    def content(self, text: str) -> list[str]:
        """Content terms of the text, known to the notes or not, in order."""
        return [t for t in dict.fromkeys(self.analyzer.tokenize(text)) if t not in self.generic]

    def known(self, text: str) -> list[str]:
        """Content terms the notes use, values left out."""
        return [t for t in self.content(text) if t in self.vocabulary and not VALUE_RE.fullmatch(t)]

    def surface(self, query: str, term: str) -> str | None:
        return self.analyzer.surface(query, term)


ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)  # "and the batch size?" names a subject all the same
QUESTION_WORDS = re.compile(r"什么|为什么|怎么|如何|哪|是否|\b(?:why|what|how|when|which|who)\b", re.IGNORECASE)
CJK_WORD = re.compile(r"[\u3400-\u9fff]{2,}")


def _bare_subject(core: str, topics: Topics) -> bool:
    """True for a message that only names a new subject: "tanh", "exploding gradients", "GAN"."""
    if not core or QUESTION_WORDS.search(core):
        return False
    words = topics.analyzer.tokenize(core, keep_stopwords=True)
    return 0 < len(words) <= 3 and not any(w in topics.analyzer.stopwords or w in topics.generic for w in words)


@lru_cache(maxsize=1)
def _opposites() -> frozenset[frozenset[str]]:
    return frozenset(frozenset(line.split()) for line in data_lines("opposites.txt"))


def _counterpart(core: str, query: str) -> str | None:
    """The word of an earlier query that a bare follow-up word mirrors: the same word but for one character that
    names the other side (调大 and 调小, 预剪枝 and 后剪枝, 过拟合 and 欠拟合)."""
    if not CJK_WORD.fullmatch(core):
        return None
    for at in range(len(query) - len(core) + 1):
        word = query[at : at + len(core)]
        differ = [(a, b) for a, b in zip(word, core, strict=True) if a != b]
        if len(differ) == 1 and frozenset(differ[0]) in _opposites():
            return word
    return None


def _pronoun_refers_back(message: str, topics: Topics) -> re.Match | None:
    """A pronoun that stands for the conversation's topic: none of the message's own subjects comes before it
    ("为什么它能防止过拟合" refers back; "how does PCA pick its components" does not)."""
    match = PRONOUNS.search(message)
    if match is None:
        return None
    before, word = message[: match.start()], match.group(0).lower()
    if AUXILIARY_BEFORE.search(before) and word in ("it", "they"):
        return match  # the sentence's subject ("which activations does it use"): what came before is its object
    prepositional = (PREPOSITION_BEFORE.search(before) and word in ("it", "them")) or (
        ZH_PREPOSITION_BEFORE.search(before) and word in ("它", "它们")
    )
    if prepositional and topics.known(CLAUSE_BREAK.split(before)[-1]):
        # the object of a preposition in the clause that names the message's subject is something else: "what does
        # QLoRA add on top of it" (not "on top of itself"); in another clause it may be that subject ("what is
        # dropout, and what is the idea behind it")
        return match
    return None if topics.known(before) else match


# what may stand between two nouns of one phrase: "BERT的mask方式", "learning rate", "GAN's loss"
PHRASE_GLUE = re.compile(r"\s*(?:的|'s|’s)?\s*", re.IGNORECASE)


def _topic_phrase(query: str, topic: list[str], topics: Topics) -> str:
    """What a pronoun stands for: the topic's noun phrase in the earlier query, its first term joined with the
    topic terms that follow it in one phrase ("它" after "BERT的mask方式是怎样的？" is "BERT的mask", not BERT)."""
    first = topics.surface(query, topic[0]) or topic[0]
    start = query.find(first)
    if start < 0:
        return first
    end = start + len(first)
    # "How does Nadam change the update rule?": after an auxiliary the first term is the sentence's subject and the
    # word that follows it is its verb, not more of the phrase
    subject_of_verb = bool(AUXILIARY_BEFORE.search(query[:start]))
    spans = sorted(
        (at, at + len(form))
        for t in topic[1:]
        if (form := topics.surface(query, t)) and (at := query.find(form, end)) >= end
    )
    for at, stop in spans:
        glue = query[end:at]
        if (at > end and not PHRASE_GLUE.fullmatch(glue)) or (subject_of_verb and not glue.strip()):
            break
        end = max(end, stop)
    return query[start:end]


def _pair(history: list[tuple[str, str]], topics: Topics) -> str | None:
    """What a plural pronoun ("它们", "they") stands for: the newest two names the conversation set side by side
    ("随机森林和 GBDT"), not the last turn's subject ("哪个对异常值更敏感？" is asked of the pair)."""
    for _, query in reversed(history):
        forms = [f for t in topics.known(query) if (f := topics.surface(query, t))]
        spans = sorted((at, at + len(f)) for f in dict.fromkeys(forms) if (at := query.find(f)) >= 0)
        for (a, a_end), (b, b_end) in zip(spans, spans[1:], strict=False):
            if PAIR_GLUE.fullmatch(query[a_end:b]):
                return query[a:b_end]
    return None


def _new_name(term: str, topics: Topics, text: str) -> bool:
    """A term the notes never use that names something: a term of the table, or a Latin word written as a name
    (a capital or a digit: "GAN", "Llama 3"), not a value. An everyday word the notes never use ("people",
    "practice" in "So what do people do in practice?") is how the question is put, in English as in Chinese."""
    if term in topics.vocabulary or VALUE_RE.fullmatch(term):
        return False
    if term in topics.analyzer.canonical:
        return True
    form = topics.surface(text, term) or term
    return term.isascii() and any(ch.isupper() or ch.isdigit() for ch in form)


def standalone_query(message: str, history: list[tuple[str, str]], topics: Topics) -> str:
    """Rewrite an elliptical follow-up into a query that stands on its own; a message that names a subject of its
    own is searched as it is.

    `history` holds (message, standalone query) of the earlier turns, oldest first.
    """
    earlier = next(((m, q) for m, q in reversed(history) if topics.known(q)), None)
    if earlier is None:
        return message
    said, topic_query = earlier
    named = topics.known(said)
    # terms carried into that query from further back are the conversation's subject: they come first
    topic = sorted(topics.known(topic_query), key=lambda t: t in named)
    own = topics.known(message)
    core = ARTICLE.sub("", TAIL_CUES.sub("", LEAD_CUES.sub("", message)).strip())
    # the subject to swap is the newest one the user named ("从激活函数的角度" -> 激活函数), else the main topic
    focus = (named or topic)[0]
    subject = topics.surface(topic_query, focus) or focus
    # "tanh呢？": the same question about a new subject
    if _bare_subject(core, topics) and core.lower() != subject.lower():
        counterpart = _counterpart(core, topic_query)
        if counterpart is not None:  # "RBF核的gamma调大会怎样？" then "那调小呢？": the same question, the other way
            return topic_query.replace(counterpart, core, 1)
        frame = NUMBER_RE.sub(
            "", topic_query
        )  # "lr设成0.5会怎样" -> "初始化设成会怎样": values stay with their question
        return frame.replace(subject, core, 1) if subject in frame else f"{core} {frame}"
    # "为什么它能防止过拟合？": the pronoun stands for the topic
    pronoun = _pronoun_refers_back(message, topics)
    if pronoun is not None:
        pair = _pair(history, topics) if PLURAL.fullmatch(pronoun.group(0)) else None
        stand_in = pair or _topic_phrase(topic_query, topic, topics)
        return message[: pronoun.start()] + stand_in + message[pronoun.end() :]
    leans = bool(FOLLOW_CUES.search(PRONOUNS.sub(" ", message)))  # its own pronouns lean on nothing earlier
    # "今天天气怎么样", "Different question: how does PCA pick its components?": a subject of its own, no lean
    if topics.content(core) and not leans:
        return message
    # "那GAN呢？怎么训练？": a name the notes never use starts a new subject; an everyday Chinese word they never use
    # ("那计算量能省多少？") is how the question is put, not what it is about
    if any(_new_name(t, topics, core) for t in topics.content(core)):
        return core or message
    # "那怎么解决？" / "从bagging的角度呢？": carry the topic terms the message lacks
    if leans or not own:
        carried = [topics.surface(topic_query, t) or t for t in topic[: 1 if own else 3] if t not in own]
        return " ".join([core or message, *carried]) if carried else message
    return message
