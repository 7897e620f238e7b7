"""Retrieval quality and time per question on tests/data/eval.jsonl, against a naive LangChain pipeline.

    .venv/bin/python bench/retrieval.py [--set FILE]

The naive baseline: RecursiveCharacterTextSplitter(500, 50) over each file, FAISS exact search, top-1
similarity, the same embedder, no abstention. Prints both side by side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tutor.chat import Tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402
from tutor.corpus import corpus_files, source_name  # noqa: E402
from tutor.embeddings import get_embeddings  # noqa: E402
from tutor.evaluate import DEFAULT_SET, evaluate, load_set  # noqa: E402


def naive(settings: Settings, items: list[dict]) -> dict:
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50, add_start_index=True)
    chunks = []  # (source, line_start, line_end, text)
    for path in corpus_files(settings.corpus_path):
        text = path.read_text(encoding="utf-8")
        for doc in splitter.create_documents([text]):
            start = doc.metadata["start_index"]
            first = text.count("\n", 0, start) + 1
            last = first + doc.page_content.rstrip("\n").count("\n")
            chunks.append((source_name(path, settings.corpus_path), first, last, doc.page_content))
    emb = get_embeddings(settings.embeddings)
    vecs = np.asarray(emb.embed_documents([c[3] for c in chunks]), dtype=np.float32)
    index = faiss.IndexFlatIP(vecs.shape[1])
    index.add(vecs)
    hit1 = tight = n = 0
    for item in items:
        expect = item.get("expect")
        if not expect:
            continue
        n += 1
        query = " ".join(item["turns"])  # the naive pipeline has no rewrite: it searches the whole conversation
        _, ids = index.search(np.asarray([emb.embed_query(query)], dtype=np.float32), 1)
        source, first, last, _ = chunks[ids[0][0]]
        a, b = expect["lines"]
        if source == expect["source"] and first <= b and last >= a:
            hit1 += 1
            tight += (min(b, last) - max(a, first) + 1) / (last - first + 1)
    return {"chunks": len(chunks), "hit1": hit1 / n, "tightness": tight / n}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    args = parser.parse_args()
    items = load_set(args.set)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=ROOT / "corpus", index_dir=Path(tmp) / "index", fetch_links=False)
        started = time.perf_counter()
        tutor = Tutor.load(settings)
        load_s = time.perf_counter() - started
        evaluate(tutor, items[:5])  # warm up jieba and the embedder
        result = evaluate(tutor, items)
        base = naive(settings, items)
    print(f"question set: {args.set.relative_to(ROOT) if args.set.is_relative_to(ROOT) else args.set}")
    print(f"index build + load: {load_s:.2f} s\n")
    print("tutor (hybrid, structure-aware, with abstention)")
    print("\n".join("  " + line for line in result.lines()))
    print("\nnaive LangChain pipeline (500/50 splitter, FAISS top-1, same embedder, never abstains)")
    print(f"  chunks           {base['chunks']}")
    print(f"  hit@1            {base['hit1']:.3f}")
    print(f"  top hit on target {base['tightness']:.3f} of its lines")
    print("  abstention       0.000")
    if result.failures:
        print("\nmisses:")
        for f in result.failures:
            print(
                f"  {f['id']}: {f['question']} -> {f['status']} {f['top']} (expected {f['expected_status']} {f['expected']})"
            )


if __name__ == "__main__":
    main()
