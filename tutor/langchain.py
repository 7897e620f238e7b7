"""The tutor's retrieval as a LangChain retriever, for chains of your own.

    from tutor.langchain import TutorRetriever

    retriever = TutorRetriever.from_settings()          # the notes and index of TUTOR_CORPUS_DIR / TUTOR_INDEX_DIR
    docs = retriever.invoke("dropout为什么能防止过拟合")   # Documents, best first, with where each one is
    chain = retriever | (lambda docs: "\\n".join(d.page_content for d in docs))

Each `Document` carries the metadata a citation needs: `source`, `heading_path`, `line_start`, `line_end`, `url`
(for a fetched article), `kind`, `score`, and `status`, the tutor's relevance decision for the query as a whole
(`answered`, `question_only` or `not_found`). A not_found query still returns its nearest passages, marked so;
pass `drop_not_found=True` to get none.
"""

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from tutor.config import Settings, get_settings
from tutor.index.embeddings import get_embeddings
from tutor.index.store import ensure_index
from tutor.search.retriever import Retriever


class TutorRetriever(BaseRetriever):
    """Hybrid (dense + BM25) search over your notes, lifted to sections, with the relevance decision."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # tutor.search.retriever.Retriever
    k: int = 5
    drop_not_found: bool = False

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> "TutorRetriever":
        """Loads (building it first if missing or stale) the index of `settings` (default: the environment's)."""
        settings = settings or get_settings()
        index = ensure_index(settings)
        return cls(retriever=Retriever(index, get_embeddings(settings.embeddings)), **kwargs)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        if not query.strip():
            return []
        found = self.retriever.search(query, k=self.k)
        if found.status == "not_found" and self.drop_not_found:
            return []
        return [
            Document(
                page_content=hit.chunk.text,
                metadata={
                    "source": hit.chunk.source,
                    "heading_path": list(hit.chunk.heading_path),
                    "line_start": hit.chunk.line_start,
                    "line_end": hit.chunk.line_end,
                    "url": hit.chunk.url,
                    "kind": hit.chunk.kind,
                    "score": round(float(hit.score), 4),
                    "status": found.status,
                },
            )
            for hit in found.hits[: self.k]
        ]
