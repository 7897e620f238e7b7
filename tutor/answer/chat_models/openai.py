"""`openai:<model>`: any OpenAI-compatible endpoint (OpenAI's API, llama.cpp, vLLM, LM Studio, DeepSeek...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor.answer.chat_models.base import CHAT_MODELS, LLMConfigError
from tutor.backends import Spec
from tutor.config import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@CHAT_MODELS.register("openai", makes="ChatOpenAI")
def chat_openai(spec: Spec, settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI  # the OpenAI client and LangChain's chat stack: only for this backend
    from pydantic import SecretStr

    key = settings.llm_api_key
    if key is None and not settings.llm_base_url:
        raise LLMConfigError(
            "TUTOR_LLM=openai:<model> needs TUTOR_LLM_API_KEY (or OPENAI_API_KEY) for a hosted API, "
            "or TUTOR_LLM_BASE_URL for a local server"
        )
    return ChatOpenAI(
        model=spec.argument,
        base_url=settings.llm_base_url,
        # local servers ignore it; the client insists on one, as pydantic's SecretStr
        api_key=SecretStr((key.get_secret_value() if key is not None else "") or "not-needed"),
        timeout=settings.llm_timeout,
        max_retries=0,
        use_responses_api=False if settings.llm_base_url else None,  # local servers: chat completions only
    )
