"""Indexing cost: a build from scratch, a re-run with nothing changed, and the update after editing one paragraph.

    .venv/bin/python bench/indexing.py                       # the notes in corpus/, real default embedder
    .venv/bin/python bench/indexing.py --synthetic 10000     # a generated corpus (bench/growth.py), stand-in embedder
    TUTOR_BENCH_CODE=/path/to/other/checkout .venv/bin/python bench/indexing.py   # the same with another tutor/

The corpus is copied to a temporary folder, so corpus/ and index/ are never touched. The edit appends a
sentence to one paragraph; the update must re-embed exactly the chunks whose text changed, all of them in
that paragraph's section (checked, and printed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, os.environ.get("TUTOR_BENCH_CODE") or str(ROOT))  # another copy of tutor/, to compare

import tutor.index.build as index_mod  # noqa: E402
from tutor.config import Settings  # noqa: E402
from tutor.index.embeddings import embedder_name  # noqa: E402
from tutor.notes.corpus import load_corpus  # noqa: E402
from tutor.notes.files import corpus_files, source_name  # noqa: E402

EDIT = "这是一处新增的说明。"


def vec_keys(settings: Settings) -> tuple[index_mod.Index, list[str]]:
    idx = index_mod.load_index(settings, check_stale=False)
    name = embedder_name(settings.embeddings)
    return idx, [index_mod.vec_key(name, c) for c in idx.chunks]


def edit_one_paragraph(corpus: Path, round_no: int) -> tuple[Path, int]:
    """Append a sentence to the `round_no`-th indented prose line of the first file; returns (file, line)."""
    path = corpus_files(corpus)[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    prose = [i for i, line in enumerate(lines) if line[:1] in (" ", "\t") and len(line.strip()) > 20]
    at = prose[round_no % len(prose)]
    lines[at] = lines[at].rstrip() + EDIT
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, at + 1


def check_update(before: list[str], after_idx: index_mod.Index, after: list[str], source: str, line: int) -> str:
    """Which chunks are new, and whether they all sit in the edited paragraph's section."""
    old = set(before)
    new = [i for i, k in enumerate(after) if k not in old]
    owners = [
        s for s in after_idx.sections if s.source == source and s.line_start <= line <= s.line_end and s.url is None
    ]
    section = max(owners, key=lambda s: len(s.heading_path))
    in_section = set(after_idx.chunks_by_section.get(section.id, []))
    holds_edit = [i for i in new if after_idx.chunks[i].line_start <= line <= after_idx.chunks[i].line_end]
    ok = bool(new) and set(new) <= in_section and holds_edit
    return f"{len(new)} new chunk(s), {'all' if ok else 'NOT all'} in section {section.label!r} (line {line})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--synthetic", type=int, metavar="CHUNKS", help="generate a corpus of about this many chunks")
    parser.add_argument("--edits", type=int, default=3, help="incremental updates to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        if args.synthetic:
            import growth

            growth.write_corpus(corpus, args.synthetic)
            index_mod.get_embeddings = lambda spec: growth.BigramProjection()  # noqa: ARG005
            settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index", embeddings="hash:384")
            label = "synthetic corpus (bench/growth.py), stand-in embedder: the figures leave out e5's time"
        else:
            shutil.copytree(args.corpus, corpus)
            settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index")
            label = f"{args.corpus.relative_to(ROOT) if args.corpus.is_relative_to(ROOT) else args.corpus}, {settings.embeddings}"
        if not args.synthetic:
            index_mod.get_embeddings(settings.embeddings)  # load the model outside the timings

        t0 = time.perf_counter()
        load_corpus(corpus)
        parse_s = time.perf_counter() - t0
        first = index_mod.build_index(settings)
        again = index_mod.build_index(settings)
        updates = []
        for n in range(args.edits):
            _, before = vec_keys(settings)
            path, line = edit_one_paragraph(corpus, n)
            report = index_mod.build_index(settings)
            after_idx, after = vec_keys(settings)
            source = source_name(path, corpus)
            updates.append((report, check_update(before, after_idx, after, source, line)))

    print(f"corpus: {label}")
    print(f"  {first.files} files, {first.chunks} chunks; parsing alone {parse_s:.2f} s")
    print(
        f"from scratch       {first.seconds:7.2f} s   {first.chunks / first.seconds:8.1f} chunks/s   (embedded {first.embedded})"
    )
    print(f"nothing changed    {again.seconds:7.2f} s   (embedded {again.embedded}, reused {again.reused})")
    secs = [r.seconds for r, _ in updates]
    print(
        f"one paragraph edit {statistics.median(secs):7.2f} s   median of {len(secs)} ({', '.join(f'{s:.2f}' for s in secs)})"
    )
    for report, verdict in updates:
        print(f"  embedded {report.embedded}, reused {report.reused}: {verdict}")


if __name__ == "__main__":
    main()
