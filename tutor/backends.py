"""Backends registered by name, the way simonw/llm registers its plug-ins: one registry per kind of backend.

A setting such as `TUTOR_EMBEDDINGS=sentence-transformers:BAAI/bge-small-zh-v1.5` or `TUTOR_LLM=ollama:qwen2.5:7b`
is parsed once into a `Spec` (backend name, then what follows the first colon); each backend's module registers its
names with a factory. Backend modules import their heavy libraries (torch, a LangChain chat model) only in the
factory, so registering costs nothing until a backend is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """A setting that names a backend: 'ollama:qwen2.5:7b' -> backend 'ollama', argument 'qwen2.5:7b'."""

    backend: str
    argument: str
    text: str  # as the user gave it

    @classmethod
    def parse(cls, text: str | None) -> Spec:
        backend, _, argument = (text or "").strip().partition(":")
        return cls(backend.strip().lower(), argument.strip(), text or "")


@dataclass(frozen=True)
class Backend(Generic[T]):
    name: str
    factory: Callable[..., T]  # factory(spec, *context) -> the backend's object
    label: Callable[[Spec], str] | None = None  # the backend's own name for a spec (an index records its embedder's)
    makes: str | None = None  # the class name of what the factory makes: names a made object's backend


class Registry(Generic[T]):
    """Backends of one kind by name. The package of the kind imports its backends' modules, which register."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._backends: dict[str, Backend[T]] = {}

    def register(
        self, *names: str, label: Callable[[Spec], str] | None = None, makes: str | None = None
    ) -> Callable[[Any], Any]:
        """Decorator: the factory of the backend that answers to these names (the first is its own)."""

        def add(factory: Callable[..., T]) -> Callable[..., T]:
            for name in names:
                self._backends[name] = Backend(names[0], factory, label, makes)
            return factory

        return add

    def find(self, spec: Spec) -> Backend[T] | None:
        return self._backends.get(spec.backend)

    def maker_of(self, obj: object) -> str | None:
        """The name of the backend whose factory makes objects of this one's class."""
        made = type(obj).__name__
        return next((b.name for b in self._backends.values() if b.makes == made), None)

    def names(self) -> list[str]:
        """The backends' own names, in the order they registered."""
        return list(dict.fromkeys(b.name for b in self._backends.values()))
