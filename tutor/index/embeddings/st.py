"""`sentence-transformers:<name or path>`: any sentence-transformers model. torch is imported only when one is made."""

from __future__ import annotations

import os

import numpy as np

from tutor.backends import Spec
from tutor.index.embeddings.base import EMBEDDERS, EmbedderError


class SentenceTransformerEmbeddings:
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


@EMBEDDERS.register("sentence-transformers", label=lambda spec: spec.text)
def sentence_transformers(spec: Spec) -> SentenceTransformerEmbeddings:
    if not spec.argument:
        raise EmbedderError("TUTOR_EMBEDDINGS=sentence-transformers:<name or path> needs a model name")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return SentenceTransformerEmbeddings(spec.argument)
