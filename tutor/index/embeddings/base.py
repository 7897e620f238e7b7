"""What every embedder backend shares: the interface the tutor uses, its error, and the registry of backends."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from tutor.backends import Registry


class EmbedderError(Exception):
    """The configured embedder cannot be loaded; the message says what to set."""


class Embedder(Protocol):
    """What the tutor needs of an embedder: LangChain's `Embeddings` methods (any of those fits too)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


# TUTOR_EMBEDDINGS backends by name; each module of this package registers its own
EMBEDDERS: Registry[Embedder] = Registry("embedder")


def embed_queries(embedder: Any, texts: list[str]) -> np.ndarray:
    """Query vectors for many texts, one row each: in one call where the embedder has `embed_queries` (the tutor's
    backends all do: e5 embeds a whole list at once), else one `embed_query` per text (any LangChain Embeddings)."""
    batch = getattr(embedder, "embed_queries", None)
    vecs = batch(list(texts)) if batch else [embedder.embed_query(t) for t in texts]
    return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)
