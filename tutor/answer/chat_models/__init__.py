"""Chat-model backends for `TUTOR_LLM`, registered by name (tutor/backends.py): `openai:<model>` (openai.py) and
`ollama:<model>` (ollama.py). The spec is parsed here, once; each backend imports its LangChain integration only
when a model is made, so `TUTOR_LLM=none` never loads one.

LangChain's `init_chat_model` picks a class by the same provider names, but it lives in the `langchain` package
(which brings langgraph), not a dependency here; and each backend needs arguments of its own anyway (the key as a
SecretStr, no retries, chat completions for local servers, Ollama's client timeout).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutor.answer.chat_models import ollama, openai  # noqa: F401 (each registers its backend)
from tutor.answer.chat_models.base import CHAT_MODELS, LLMConfigError
from tutor.backends import Spec
from tutor.config import Settings, wants_llm

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["CHAT_MODELS", "LLMConfigError", "backend_of", "make_chat_model"]


def make_chat_model(text: str, settings: Settings) -> BaseChatModel | None:
    """The chat model a `TUTOR_LLM` value names, made with the settings; None for 'none'."""
    if not wants_llm(text):
        return None
    spec = Spec.parse(text)
    backend = CHAT_MODELS.find(spec)
    if backend is None or not spec.argument:
        shown = text.strip()
        raise LLMConfigError(f"TUTOR_LLM={shown!r} is not understood: use 'none', 'openai:<model>' or 'ollama:<model>'")
    from pydantic import ValidationError  # loaded with LangChain by now

    try:
        return backend.factory(spec, settings)
    except ValidationError as exc:  # its text would repeat the inputs, the key among them
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise LLMConfigError(f"invalid {backend.name} settings: {fields}") from None


def backend_of(chat_model: Any) -> str:
    """'openai' / 'ollama' for a model a backend made; LangChain's own type name for any other."""
    return CHAT_MODELS.maker_of(chat_model) or chat_model._llm_type
