"""Optional language-model answers: backends, grounded generation with checked citations, streaming, fallback.

`TUTOR_LLM=none` (the default) never imports an LLM client. `openai:<model>` talks to any OpenAI-compatible
endpoint, `ollama:<model>` to an Ollama server (the backends: tutor/answer/chat_models/). Whatever goes wrong with the model, the user gets the offline
extractive answer and a one-line notice; the API key never appears in a notice, log or repr.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
from langchain_core.exceptions import ModelConnectionError, ModelTimeoutError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from tutor.answer import prompts
from tutor.answer.chat_models import LLMConfigError as LLMConfigError  # where callers have always found it
from tutor.answer.chat_models import backend_of, make_chat_model
from tutor.answer.verify import MARKER, CitationStream, Verifier, text_pieces
from tutor.config import Settings, get_settings
from tutor.search.retriever import Retrieval
from tutor.text import is_chinese
from tutor.types import Answer, Chunk

log = logging.getLogger(__name__)

MAX_PASSAGES = 6
PASSAGE_MARGIN = 0.08  # a hit from a sibling sub-section joins the passages when this close to the top score
REWRITE_TURNS = 4  # earlier turns the follow-up rewriter sees
MAX_LINE_CHARS = 300  # a rewritten query or a follow-up question longer than this is not one line

FAILED = "The language model failed ({reason}); showing the answer from your notes."
UNSUPPORTED = "The language model's answer cited nothing your notes support; showing the answer from your notes."
NOT_SET_UP = "The language model is not set up ({reason}); showing the answer from your notes."
HTTP_HINTS = {
    401: "check the API key",
    403: "the key may not use this model",
    404: "check the model name and the base URL",
    429: "rate limited, try again later",
}
LINE_PREFIX = re.compile(
    r"^\s*(?:standalone (?:query|question)|query|follow-up(?: question)?|追问|问题)\s*[:：]\s*", re.I
)


class LLMOutputError(Exception):
    """The model replied, but with nothing usable."""


def get_chat_model(spec: str | None = None, settings: Settings | None = None) -> BaseChatModel | None:
    """The chat model for a `TUTOR_LLM` value (`settings.llm` when `spec` is None); None for 'none'."""
    settings = settings or get_settings()
    return make_chat_model(settings.llm if spec is None else spec, settings)


def model_label(chat_model: BaseChatModel) -> str:
    """'openai:<model>' / 'ollama:<model>': what `Answer.generator` says."""
    name = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    backend = backend_of(chat_model)
    return f"{backend}:{name}" if isinstance(name, str) and name else backend


def _timeout_of(chat_model: BaseChatModel) -> float | None:
    """The model's own timeout (ChatOpenAI, ChatOllama), for the notice."""
    timeout = getattr(chat_model, "request_timeout", None)
    if timeout is None:
        timeout = (getattr(chat_model, "client_kwargs", None) or {}).get("timeout")
    return float(timeout) if isinstance(timeout, int | float) else None


def failure_reason(exc: BaseException, timeout: float | None = None) -> str:
    """A few words for the user; never the exception's text, which can echo the key or the prompt."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        return f"HTTP {status}: " + HTTP_HINTS.get(status, "the server failed" if status >= 500 else "request refused")
    if isinstance(exc, ModelTimeoutError | httpx.TimeoutException | TimeoutError):
        return f"no reply within {timeout:g} s" if timeout else "no reply in time"
    if isinstance(exc, ModelConnectionError | httpx.TransportError | ConnectionError):
        return "cannot reach the server"
    if isinstance(exc, LLMOutputError):
        return str(exc)
    if isinstance(exc, ValueError | TypeError | KeyError):
        return "malformed reply"
    return f"unexpected {type(exc).__name__}"


def answer_passages(retrieval: Retrieval, limit: int = MAX_PASSAGES) -> list[Chunk]:
    """The top section's passages, plus close ones from its sibling sub-sections, in reading order."""
    top = retrieval.hits[0]

    def belongs(hit) -> bool:
        c = hit.chunk
        if c.section_id == top.chunk.section_id:
            return c.kind != "link" or hit is top
        same_parent = c.heading_path[:2] == top.chunk.heading_path[:2]
        return c.kind in ("body", "reference") and same_parent and hit.score >= top.score - PASSAGE_MARGIN

    picked = [h for h in retrieval.hits if belongs(h)][:limit]
    return [h.chunk for h in sorted(picked, key=lambda h: (h.chunk.source, h.chunk.line_start))]


def grounded_messages(question: str, passages: list[Chunk]) -> list[BaseMessage]:
    """Instructions in the system message; passages and question only as escaped data in the human one."""
    human = prompts.ANSWER_HUMAN.format(passages=prompts.format_passages(passages), question=prompts.escape(question))
    return [SystemMessage(prompts.ANSWER_SYSTEM), HumanMessage(human)]


def _one_line(text: str) -> str | None:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    line = LINE_PREFIX.sub("", line).strip().strip("\"'“”「」`").strip()
    return line if 0 < len(line) <= MAX_LINE_CHARS else None


def rewrite_query(chat_model: BaseChatModel, message: str, history: list[tuple[str, str]]) -> str | None:
    """The follow-up as a standalone query; `history` holds (message, standalone query) of earlier turns."""
    earlier = "\n".join(f"- {prompts.escape(query)}" for _, query in history[-REWRITE_TURNS:])
    human = prompts.REWRITE_HUMAN.format(history=earlier, message=prompts.escape(message))
    return _one_line(chat_model.invoke([SystemMessage(prompts.REWRITE_SYSTEM), HumanMessage(human)]).text)


def general_answer(chat_model: BaseChatModel, question: str) -> str:
    """A general-knowledge explanation, not from the notes, so it carries no [n] markers."""
    human = prompts.GENERAL_HUMAN.format(question=prompts.escape(question))
    reply = chat_model.invoke([SystemMessage(prompts.GENERAL_SYSTEM), HumanMessage(human)]).text
    text = re.sub(r"\s*" + MARKER.pattern, "", reply).strip()
    if not text:
        raise LLMOutputError("empty reply")
    return text


class GroundedAnswerer:
    """One turn's model work: rewrite a follow-up, then stream a grounded answer, or fall back to the notes."""

    def __init__(self, chat_model: BaseChatModel, verifier: Verifier, root: Path, settings: Settings) -> None:
        self.chat_model = chat_model
        self.verifier = verifier
        self.root = root
        self.settings = settings
        self.label = model_label(chat_model)
        self.timeout = _timeout_of(chat_model) or settings.llm_timeout
        self.failure: str | None = None  # once the model failed this turn, it is not asked again

    def _fall_back(self, answer: Answer, exc: BaseException) -> Answer:
        self.failure = self.failure or failure_reason(exc, self.timeout)
        log.info("language model failed: %s", type(exc).__name__)
        return replace(answer, notices=(*answer.notices, FAILED.format(reason=self.failure)))

    def rewrite(self, message: str, history: list[tuple[str, str]], offline_query: str) -> str:
        if not history:
            return offline_query
        try:
            return rewrite_query(self.chat_model, message, history) or offline_query
        except Exception as exc:  # noqa: BLE001 (any model failure means the offline rewrite)
            self.failure = failure_reason(exc, self.timeout)
            return offline_query

    def stream(self, question: str, retrieval: Retrieval, extractive: Answer) -> Iterator[str | Answer]:
        """Pieces of the answer as the model writes them, then the final `Answer` (the offline one on failure)."""
        if self.failure:
            yield replace(extractive, notices=(*extractive.notices, FAILED.format(reason=self.failure)))
        elif extractive.status == "not_found":
            yield extractive
        elif extractive.status == "question_only":
            yield from text_pieces(extractive.answer)
            yield self._with_general(question, extractive)
        else:
            yield from self._grounded(question, retrieval, extractive)

    def _with_general(self, question: str, answer: Answer) -> Answer:
        if not self.settings.general_answers:
            return answer
        try:
            return replace(answer, general_answer=general_answer(self.chat_model, question), generator=self.label)
        except Exception as exc:  # noqa: BLE001
            return self._fall_back(answer, exc)

    def _grounded(self, question: str, retrieval: Retrieval, extractive: Answer) -> Iterator[str | Answer]:
        passages = answer_passages(retrieval)
        checked = CitationStream(passages, self.verifier, self.root)
        try:
            for chunk in self.chat_model.stream(grounded_messages(question, passages)):
                if piece := checked.feed(chunk.text):
                    yield piece
            if tail := checked.close():
                yield tail
            if not checked.text:
                raise LLMOutputError("empty reply")
        except Exception as exc:  # noqa: BLE001 (never worse than the offline answer)
            yield self._fall_back(extractive, exc)
            return
        if not any(c.verified for c in checked.citations):
            yield replace(extractive, notices=(*extractive.notices, UNSUPPORTED))
            return
        # "more" is what the extractive answer left out; the model wrote from its own passages
        yield replace(
            extractive, answer=checked.text, citations=tuple(checked.citations), generator=self.label, more=()
        )


class ModelGrade(BaseModel):
    covered: list[bool]
    score: int = Field(ge=0, le=100)
    feedback: str = ""


def _json_object(text: str) -> dict:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match is None:
        raise ValueError("no JSON object in the reply")
    return json.loads(match.group(0))


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def grade_with_model(chat_model: BaseChatModel, question: str, key_points: list[str], answer: str) -> dict | None:
    """{"covered": [bool per key point], "score": 0-100, "feedback": str}, or None to use the offline grader.

    One retry when the reply is not valid JSON of that shape; None on a second bad reply or a model failure.
    """
    if chat_model is None or not key_points:
        return None
    human = prompts.GRADE_HUMAN.format(
        question=prompts.escape(question), key_points=prompts.numbered(key_points), answer=prompts.escape(answer)
    )
    messages: list[BaseMessage] = [
        SystemMessage(prompts.GRADE_SYSTEM.format(count=len(key_points))),
        HumanMessage(human),
    ]
    for _ in range(2):
        try:
            reply = chat_model.invoke(messages).text
        except Exception as exc:  # noqa: BLE001
            log.info("grading model failed: %s", type(exc).__name__)
            return None
        try:
            grade = ModelGrade.model_validate(_json_object(reply))
            if len(grade.covered) != len(key_points):
                raise ValueError(f"'covered' has {len(grade.covered)} entries, expected {len(key_points)}")
            return grade.model_dump()
        except ValueError as exc:  # json and pydantic errors are ValueErrors
            retry = prompts.GRADE_RETRY.format(error=_problem(exc), count=len(key_points))
            messages = [*messages, AIMessage(reply), HumanMessage(retry)]
    return None


def phrase_follow_up(chat_model: BaseChatModel, question: str, missed_points: list[str], language: str) -> str | None:
    """One follow-up question nudging toward the missed points, in `language` ('zh' or 'en'); None on failure."""
    if chat_model is None or not missed_points:
        return None
    lang = language if language in prompts.LANGUAGE_NAMES else ("zh" if is_chinese(question) else "en")
    system = prompts.FOLLOW_UP_SYSTEM.format(language_name=prompts.LANGUAGE_NAMES[lang])
    human = prompts.FOLLOW_UP_HUMAN.format(
        question=prompts.escape(question), missed_points=prompts.numbered(missed_points)
    )
    try:
        return _one_line(chat_model.invoke([SystemMessage(system), HumanMessage(human)]).text)
    except Exception as exc:  # noqa: BLE001
        log.info("follow-up model failed: %s", type(exc).__name__)
        return None
