"""`ollama:<model>`: a model an Ollama server runs (OLLAMA_HOST)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor.answer.chat_models.base import CHAT_MODELS
from tutor.backends import Spec
from tutor.config import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@CHAT_MODELS.register("ollama", makes="ChatOllama")
def chat_ollama(spec: Spec, settings: Settings) -> BaseChatModel:
    from langchain_ollama import ChatOllama  # its client and LangChain's chat stack: only for this backend

    return ChatOllama(
        model=spec.argument, base_url=settings.ollama_host, client_kwargs={"timeout": settings.llm_timeout}
    )
