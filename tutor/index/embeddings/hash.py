"""`hash:<dim>`: a deterministic bag-of-characters embedder for tests that are not about ranking."""

from __future__ import annotations

import hashlib

import numpy as np

from tutor.backends import Spec
from tutor.index.embeddings.base import EMBEDDERS


class HashEmbeddings:
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

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]


@EMBEDDERS.register("hash", label=lambda spec: f"hash:{spec.argument or 64}")
def hash_embeddings(spec: Spec) -> HashEmbeddings:
    return HashEmbeddings(int(spec.argument) if spec.argument.isdigit() else 64)
