"""`Tutor` (the loaded index + retriever, shared) and `ChatSession` (one conversation's history).

Follow-ups are rewritten into a standalone query without an LLM (tutor/answer/follow_up.py). With a language model
configured (TUTOR_LLM), the model rewrites them and writes the answer (tutor/answer/llm.py); the offline rewrite and
answer remain the fallback. While a first build is on its way (tutor/index/first_run.py), a `partial_tutor` answers
from the part embedded so far and looks for the rest by keyword (`while_indexing`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace

from tutor.answer.answerer import Answerer
from tutor.answer.follow_up import Topics, standalone_query
from tutor.answer.suggest import suggestions_for
from tutor.answer.verify import Verifier, text_pieces
from tutor.config import Settings, wants_llm
from tutor.index.embeddings import get_embeddings
from tutor.index.first_run import KeywordQueries, Partial
from tutor.index.store import Index, ensure_index
from tutor.search.retriever import Retrieval, Retriever
from tutor.text import is_chinese
from tutor.types import Answer, Chunk, Turn

MAX_INPUT_CHARS = 200_000  # beyond this even trimming is not worth the memory; refuse politely


class InputError(ValueError):
    """A message the tutor cannot take; the text says what to do instead."""


def clean_message(message: str | None, limit: int) -> tuple[str, tuple[str, ...]]:
    """Strip control characters and lone surrogates; trim very long input with a notice."""
    if message is None or not str(message).strip():
        raise InputError("Please type a question: the message is empty. / 请输入一个问题。")
    text = str(message)
    if len(text) > MAX_INPUT_CHARS:
        text = text[:MAX_INPUT_CHARS]
    text = re.sub(r"[\ud800-\udfff]", "\ufffd", text)
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InputError("Please type a question: the message has no readable text. / 请输入一个问题。")
    notices: tuple[str, ...] = ()
    if len(text) > limit:
        notices = (f"Your question has {len(text):,} characters; only the first {limit:,} were searched.",)
        text = text[:limit].rstrip()
    return text, notices


class Tutor:
    """The loaded index, retriever and answerer; one per process, shared by every session."""

    def __init__(
        self, settings: Settings, index: Index, embedder=None, chat_model=None, query_embedder=None, pending=None
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder or get_embeddings(settings.embeddings)
        self.retriever = Retriever(index, query_embedder or self.embedder)
        # on a partial index (a first build on its way): a keyword-only tutor of the passages not in it yet
        self.pending: Tutor | None = pending
        self.answerer = Answerer(
            settings.corpus_path.parent,
            index.analyzer,
            weight=self.retriever.bm25.weight,
            unit=self.retriever.unit,
            section_chunks=self.section_chunks,
        )
        self.verifier = Verifier(self.embedder)
        self.vocabulary = set(self.retriever.bm25.term_ids)
        # a term the headings use names a subject of these notes, however many passages hold it
        headed = {t for section in index.sections for t in index.terms(section.title)}
        common = self.retriever.bm25.common_terms(Topics.COMMON_SHARE) - headed
        self.topics = Topics(index.analyzer, self.vocabulary, common)
        self.llm_problem: str | None = None  # a notice on every answer when TUTOR_LLM cannot be used
        self._models: dict[str, object] = {}
        if chat_model is None and wants_llm(settings.llm):
            # LangChain's chat-model stack (~0.5 s to import) only when a model is configured
            from tutor.answer import llm

            try:
                chat_model = llm.get_chat_model(settings.llm, settings)
            except llm.LLMConfigError as exc:
                self.llm_problem = llm.NOT_SET_UP.format(reason=exc)
        self.chat_model = chat_model

    def section_chunks(self, section_id: str) -> list[Chunk]:
        return [self.index.chunks[i] for i in self.index.chunks_by_section.get(section_id, [])]

    @classmethod
    def load(cls, settings: Settings, say: Callable[[str], None] | None = None, **build_kw) -> Tutor:
        embedder = get_embeddings(settings.embeddings)  # first: a model loads in the background meanwhile
        return cls(settings, ensure_index(settings, say=say, **build_kw), embedder)

    def model_for(self, chat_model=None):
        """None: the default model (TUTOR_LLM); a LangChain chat model; or a spec such as 'none' or 'openai:<m>'."""
        if chat_model is None:
            return self.chat_model
        if isinstance(chat_model, str):
            if not wants_llm(chat_model):
                return None
            if chat_model not in self._models:
                from tutor.answer.llm import get_chat_model  # deferred like in __init__: only for a named model

                self._models[chat_model] = get_chat_model(chat_model, self.settings)
            return self._models[chat_model]
        return chat_model

    def ask(self, message: str, history: list[Turn] | None = None, chat_model=None) -> Answer:
        *_, answer = self.stream(message, history, chat_model)
        assert isinstance(answer, Answer)  # stream() always ends with the Answer
        return answer

    def stream(self, message: str, history: list[Turn] | None = None, chat_model=None) -> Iterator[str | Answer]:
        """With a model: pieces of its answer as it writes, then the final `Answer`. Offline: only the `Answer`."""
        question, notices = clean_message(message, self.settings.max_question_chars)
        model = self.model_for(chat_model)
        if model is None and chat_model is None and self.llm_problem:
            notices = (*notices, self.llm_problem)
        earlier = [(t.question, t.answer.query) for t in history or []]
        query = standalone_query(question, earlier, self.topics)
        grounded = None
        if model is not None:
            from tutor.answer.llm import GroundedAnswerer  # deferred like in __init__: only when answering with a model

            grounded = GroundedAnswerer(model, self.verifier, self.answerer.root, self.settings)
            query = grounded.rewrite(question, earlier, query)
        retrieval = self.retriever.search(query, k=self.settings.top_k)
        if grounded is None and retrieval.status == "not_found" and query != question and self.topics.known(question):
            # "那batch size呢" names a subject of its own: if the borrowed frame finds nothing, the message may
            as_typed = self.retriever.search(question, k=self.settings.top_k)
            if as_typed.status != "not_found":
                query, retrieval = question, as_typed
        answering = self
        if self.index.partial:
            answering, retrieval, notice = while_indexing(self, query, retrieval)
            notices = notices if retrieval.status == "not_found" else (*notices, notice)
        answer = answering.answerer.answer(question, retrieval, notices)
        if answer.status != "not_found":
            answer = replace(answer, suggestions=suggestions_for(answering.index, retrieval.section, question))
        elif self.index.partial:
            answer = replace(answer, answer=not_yet(question, self.index.partial))
        if grounded is None:
            yield answer
        else:
            yield from grounded.stream(question, retrieval, answer)


class ChatSession:
    """One conversation: its history and the standalone query of each turn."""

    def __init__(self, tutor: Tutor, chat_model=None) -> None:
        self.tutor = tutor
        self.chat_model = chat_model  # None: the tutor's default; else a chat model or a spec ('none' = offline)
        self.turns: list[Turn] = []

    @property
    def model(self):
        """The chat model this session answers with, or None when it answers offline."""
        return self.tutor.model_for(self.chat_model)

    def ask(self, message: str) -> Answer:
        answer = self.tutor.ask(message, self.turns, self.chat_model)
        self.turns.append(Turn(answer.question, answer))
        return answer

    def stream(self, message: str) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are ready, then the finished `Answer` (always last).

        With a model the pieces are its checked text as it arrives; if it fails midway the final `Answer` is the
        offline one (with a notice), so a UI shows the final `Answer` in place of the pieces.
        """
        answer: Answer | None = None
        streamed = False
        for item in self.tutor.stream(message, self.turns, self.chat_model):
            if isinstance(item, Answer):
                answer = item
            else:
                streamed = True
                yield item
        assert answer is not None
        self.turns.append(Turn(answer.question, answer))
        if not streamed:
            yield from text_pieces(answer.answer)
        yield answer

    def reset(self) -> None:
        self.turns.clear()


def partial_tutor(settings: Settings, partial: Partial, embedder, chat_model=None) -> Tutor:
    """The tutor for a first build on its way: the embedded part, with a keyword-only tutor of the rest; or,
    before anything is embedded, the keyword-only tutor of everything."""
    keyword = Tutor(settings, partial.pending, embedder, chat_model, query_embedder=KeywordQueries(embedder))
    if partial.index is None:
        return keyword
    return Tutor(settings, partial.index, embedder, chat_model, pending=keyword if partial.pending.chunks else None)


NOTICES = {
    "keyword": (
        "Found by keyword search: your notes are still being indexed ({done} of {total} passages embedded), "
        "and this part is not embedded yet. / 笔记还在索引中，这是关键词检索的结果。"
    ),
    "part": "Answered from the part of your notes indexed so far ({done} of {total} passages). / 来自已索引的部分笔记。",
}
NOT_YET = {
    "zh": "已索引的部分笔记（{total} 段中的 {done} 段）里没有找到这个问题的内容；其余笔记还在索引中，索引完成后请再问一次。",
    "en": (
        "The part of your notes indexed so far ({done} of {total} passages) doesn't cover this; the rest is still "
        "being indexed: ask again once the status line says ready."
    ),
}


def while_indexing(tutor: Tutor, query: str, retrieval: Retrieval) -> tuple[Tutor, Retrieval, str]:
    """For a tutor on a partial index: the tutor and retrieval to answer from (a question the embedded part does
    not answer is searched by keyword in the rest), and the notice that says where the answer comes from."""
    progress = tutor.index.partial or {}
    counts = {"done": f"{progress.get('passages_done', 0):,}", "total": f"{progress.get('passages', 0):,}"}
    if tutor.pending is not None:
        found = tutor.pending.retriever.search(query, k=tutor.settings.top_k)
        # the part not embedded yet may hold the answer though the embedded part holds something near it: the
        # section that shares more of the question's terms answers, as inside one index (Retriever._prefer_covering)
        if found.status != "not_found" and (retrieval.status == "not_found" or found.coverage > retrieval.coverage):
            return tutor.pending, found, NOTICES["keyword"].format(**counts)
    kind = "keyword" if tutor.index.manifest.get("keyword_only") else "part"
    return tutor, retrieval, NOTICES[kind].format(**counts)


def not_yet(question: str, progress: dict) -> str:
    """A not_found answer's text while the notes are being indexed."""
    counts = {"done": f"{progress.get('passages_done', 0):,}", "total": f"{progress.get('passages', 0):,}"}
    return NOT_YET["zh" if is_chinese(question) else "en"].format(**counts)
