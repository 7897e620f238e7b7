"""What every chat-model backend shares: the registry and the error a setting it cannot use gives."""

from __future__ import annotations

from typing import Any

from tutor.backends import Registry


class LLMConfigError(ValueError):
    """TUTOR_LLM and its settings do not describe a usable model; the message says what to set."""


# TUTOR_LLM backends by name; each module of this package registers its own
CHAT_MODELS: Registry[Any] = Registry("chat model")
