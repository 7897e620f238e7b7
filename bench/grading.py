"""How well the offline grader orders answers of known quality (tests/data/graded.jsonl).

Prints the mean score per level and, per question, the share of (better, worse) pairs scored in the right
order. Aim: every pair ordered, full >= 70, empty <= 10. Run from the repository root:

    .venv/bin/python bench/grading.py [--corpus corpus] [--index DIR] [--json]
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

from tutor.config import get_settings  # noqa: E402
from tutor.embeddings import get_embeddings  # noqa: E402
from tutor.grading import Grader, grade  # noqa: E402
from tutor.index import ensure_index  # noqa: E402
from tutor.rubric import build_bank, normalize_question  # noqa: E402

DATA = ROOT / "tests" / "data" / "graded.jsonl"
PAIRS = [
    ("full", "partial"),
    ("partial", "wrong"),
    ("full", "wrong"),
    ("full", "empty"),
    ("partial", "empty"),
    ("english_full", "partial"),
]
LEVELS = ["full", "english_full", "partial", "wrong", "empty"]


def run(corpus: Path, index_dir: Path) -> dict:
    settings = get_settings(corpus_dir=corpus, index_dir=index_dir)
    index = ensure_index(settings)
    bank = build_bank(index, settings)
    by_text = {normalize_question(q.text): q for q in bank}
    grader = Grader(index, bank, get_embeddings(settings.embeddings))
    scores: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    started = time.perf_counter()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        q = by_text[normalize_question(row["question"])]
        fb, _ = grade(grader, q, row["answer"])
        scores[q.text][row["level"]].append(fb.score or 0)
    seconds = time.perf_counter() - started
    per_level = {lv: [s for q in scores.values() for s in q.get(lv, [])] for lv in LEVELS}
    ordering = {}
    for question, levels in scores.items():
        pairs = [(b, w) for better, worse in PAIRS for b in levels.get(better, []) for w in levels.get(worse, [])]
        ordering[question] = sum(b > w for b, w in pairs) / len(pairs) if pairs else None
    return {
        "answers": len(rows),
        "seconds_per_answer": round(seconds / max(len(rows), 1), 3),
        "mean_by_level": {lv: round(sum(v) / len(v), 1) for lv, v in per_level.items() if v},
        "min_full": min(per_level["full"] + per_level["english_full"]),
        "max_empty": max(per_level["empty"]),
        "max_wrong": max(per_level["wrong"]),
        "pairs_ordered": ordering,
        "scores": {q: dict(levels) for q, levels in scores.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--index", type=Path, help="index folder (default: a fresh temporary one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.corpus, args.index or Path(tmp) / "index")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    print(f"{result['answers']} graded answers, {result['seconds_per_answer']} s each")
    for level, mean in result["mean_by_level"].items():
        print(f"  mean {level:<13} {mean:5.1f}")
    print(f"  min full {result['min_full']}, max empty {result['max_empty']}, max wrong {result['max_wrong']}")
    for question, share in result["pairs_ordered"].items():
        row = " ".join(f"{lv}={result['scores'][question].get(lv)}" for lv in LEVELS)
        print(f"  {share:.0%} pairs ordered  {question[:28]}  {row}")


if __name__ == "__main__":
    main()
