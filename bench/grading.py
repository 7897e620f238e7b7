"""How well the offline grader orders answers of known quality, per notes folder.

Each set is JSONL of {"question", "level", "answer", "kind"?}: levels full, english_full (a strong answer in English
to Chinese notes), chinese_full (the same the other way, for English notes), partial, wrong, empty;
kinds heading (a question the notes pose), narrow (one point inside a longer section) and unanswerable (the notes
do not answer it: it must come back ungraded). The answers were written before the grader was tuned, by someone
who had not read its code. Questions are graded as `tutor grade` grades them: a reworded one goes through the
retriever. Prints, per suite, the mean score per level, the share of (better, worse) pairs scored in the right
order, per kind, and how many unanswerable questions were left ungraded. Run from the repository root:

    .venv/bin/python bench/grading.py                     # every suite
    .venv/bin/python bench/grading.py --suite dl500 --misses
    .venv/bin/python bench/grading.py --corpus DIR --set FILE.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads stall every embed call on a busy box

from tutor.config import Settings  # noqa: E402
from tutor.interview.free_form import FreeFormGrader  # noqa: E402

SUITES = {
    "project": (ROOT / "corpus", ROOT / "tests" / "data" / "graded.jsonl"),
    "seed": (ROOT / "corpus", ROOT / "bench" / "data" / "graded-seed.jsonl"),
    "dl500": (ROOT.parent / "shared" / "corpora" / "dl500", ROOT / "bench" / "data" / "graded-dl500.jsonl"),
    "ml-notes": (ROOT / "bench" / "corpora" / "ml-notes", ROOT / "bench" / "data" / "graded-ml-notes.jsonl"),
    "fresh": (ROOT / "bench" / "corpora" / "en-qa", ROOT / "bench" / "data" / "graded-fresh.jsonl"),
    # held out: written by someone who had not read the grader, measured once before tuning (its .README)
    "fresh-notes": (ROOT / "bench" / "corpora" / "fresh-notes", ROOT / "bench" / "data" / "graded-fresh-notes.jsonl"),
    # held out: notes by new authors, written without reading the grader, measured once before tuning (its .README)
    "graded-4": (ROOT / "bench" / "corpora" / "graded-4", ROOT / "bench" / "data" / "graded-4.jsonl"),
    # held out: notes by new authors, written without reading the grader, measured once before tuning (its .README)
    "graded-5": (ROOT / "bench" / "corpora" / "graded-5", ROOT / "bench" / "data" / "graded-5.jsonl"),
    # held out: notes by new authors, written without reading the grader, measured once before tuning (its .README)
    "graded-6": (ROOT / "bench" / "corpora" / "graded-6", ROOT / "bench" / "data" / "graded-6.jsonl"),
    # held out: notes by new authors, written without reading the grader, measured once before tuning (its .README)
    "graded-7": (ROOT / "bench" / "corpora" / "graded-7", ROOT / "bench" / "data" / "graded-7.jsonl"),
    # held out: notes by new authors, written without reading the grader, measured once before tuning (its .README)
    "graded-8": (ROOT / "bench" / "corpora" / "graded-8", ROOT / "bench" / "data" / "graded-8.jsonl"),
    # held out: notes by new authors, written without reading the grader, measured once before tuning (its .README)
    "graded-9": (ROOT / "bench" / "corpora" / "graded-9", ROOT / "bench" / "data" / "graded-9.jsonl"),
    # a chatty Chinese Transformer series under numbered ### headings; an English learner's answers to an interview book
    # chapter as bold `**N.**` questions, `* i.` sub-questions and `->` answers; held out, first run in its .README
    "graded-10": (ROOT / "bench" / "corpora" / "graded-10", ROOT / "bench" / "data" / "graded-10.jsonl"),
    # a Chinese blog post answering 45 ML interview questions under bold `####` headings; English `###` question notes
    # on optimizers, activations, losses, LR and SVM; held out, first run in its .README
    "graded-11": (ROOT / "bench" / "corpora" / "graded-11", ROOT / "bench" / "data" / "graded-11.jsonl"),
}


def missing_files(corpus: Path, qset: Path) -> list[str]:
    """Notes files a set's answers are about that are not in the folder (some are kept out of git for their
    licence; bench/corpora/fresh-notes/README.md says where to get them)."""
    rows = [json.loads(line) for line in qset.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted({r["file"] for r in rows if r.get("file") and not (corpus / r["file"]).is_file()})


PAIRS = [
    ("full", "partial"),
    ("partial", "wrong"),
    ("full", "wrong"),
    ("full", "empty"),
    ("partial", "empty"),
    ("english_full", "partial"),
    ("english_full", "wrong"),
    ("chinese_full", "partial"),
    ("chinese_full", "wrong"),
]
LEVELS = ["full", "english_full", "chinese_full", "partial", "wrong", "empty"]


def run(corpus: Path, qset: Path, index_dir: Path, embedder: str) -> dict:
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, fetch_links=False, embeddings=embedder)
    grader = FreeFormGrader(settings)
    rows = [json.loads(line) for line in qset.read_text(encoding="utf-8").splitlines() if line.strip()]
    scores: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    kind_of: dict[str, str] = {}
    matched: dict[str, str] = {}
    unanswerable = {"n": 0, "ungraded": 0}
    started = time.perf_counter()
    for row in rows:
        result = grader.grade(row["question"], row["answer"])
        kind = row.get("kind") or "heading"
        if kind == "unanswerable" or row.get("note"):
            unanswerable["n"] += 1
            unanswerable["ungraded"] += result.get("score") is None
            continue
        kind_of[row["question"]] = kind
        matched[row["question"]] = result.get("matched_question") or ""
        scores[row["question"]][row["level"]].append(result.get("score") or 0)
    seconds = time.perf_counter() - started
    ordering: dict[str, float | None] = {}
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for question, levels in scores.items():
        pairs = [(b, w) for better, worse in PAIRS for b in levels.get(better, []) for w in levels.get(worse, [])]
        ordering[question] = sum(b > w for b, w in pairs) / len(pairs) if pairs else None
        by_kind[kind_of[question]][0] += sum(b > w for b, w in pairs)
        by_kind[kind_of[question]][1] += len(pairs)
    all_pairs = [sum(v[0] for v in by_kind.values()), sum(v[1] for v in by_kind.values())]
    means = {}
    for kind in sorted(set(kind_of.values())):
        means[kind] = {
            lv: round(sum(s) / len(s), 1)
            for lv in LEVELS
            if (s := [x for q, levels in scores.items() if kind_of[q] == kind for x in levels.get(lv, [])])
        }
    return {
        "answers": len(rows),
        "seconds_per_answer": round(seconds / max(len(rows), 1), 3),
        "pairs_ordered": round(all_pairs[0] / max(all_pairs[1], 1), 3),
        "pairs_ordered_by_kind": {k: round(v[0] / max(v[1], 1), 3) for k, v in by_kind.items()},
        "mean_by_kind_and_level": means,
        "unanswerable_ungraded": f"{unanswerable['ungraded']}/{unanswerable['n']}",
        "per_question": {q: {"ordered": ordering[q], "matched": matched[q], **dict(scores[q])} for q in scores},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(SUITES), action="append", help="default: every suite found")
    parser.add_argument("--corpus", type=Path, help="a notes folder (with --set)")
    parser.add_argument("--set", type=Path, help="a graded answer set (JSONL)")
    parser.add_argument("--embedder", default="e5-small-q4")
    parser.add_argument("--keep-index", type=Path, help="keep each index in this folder and reuse it")
    parser.add_argument("--misses", action="store_true", help="list every question with a pair out of order")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args()
    if args.corpus and args.set:
        suites = {args.set.stem: (args.corpus, args.set)}
    else:
        names = args.suite or [n for n, (c, q) in SUITES.items() if c.is_dir() and q.is_file()]
        suites = {}
        for n in names:
            if missing := missing_files(*SUITES[n]):
                print(f"skipping {n}: its notes lack {', '.join(missing)}", file=sys.stderr)
            else:
                suites[n] = SUITES[n]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (corpus, qset) in suites.items():
            index_dir = (args.keep_index or Path(tmp)) / f"{name}-{args.embedder.replace(':', '_').split('/')[-1]}"
            result = results[name] = run(corpus, qset, index_dir, args.embedder)
            print(f"\n=== {name}: {corpus.name}/ with {qset.name} ===")
            print(f"  {result['answers']} answers, {result['seconds_per_answer']} s each")
            print(f"  pairs in the right order  {result['pairs_ordered']:.3f}  {result['pairs_ordered_by_kind']}")
            for kind, means in result["mean_by_kind_and_level"].items():
                print(f"  mean {kind:<8} " + "  ".join(f"{lv} {m:5.1f}" for lv, m in means.items()))
            print(f"  unanswerable left ungraded  {result['unanswerable_ungraded']}")
            if args.misses:
                for question, row in result["per_question"].items():
                    if row["ordered"] is not None and row["ordered"] < 1:
                        levels = " ".join(f"{lv}={row.get(lv)}" for lv in LEVELS)
                        via = f" (graded as {row['matched'][:30]!r})" if row["matched"] else ""
                        print(f"    {row['ordered']:.0%} {question[:40]!r}{via}  {levels}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
