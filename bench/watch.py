"""Living notes, timed with the app's own machinery (TutorLoader's reindexer and watcher, no browser):

- append:  a new section appended to a note -> the running tutor answers a question about it, citing it;
- delete:  a note deleted -> no passage of it is left and its question is no longer answered from it.

    .venv/bin/python bench/watch.py                          # the notes in corpus/, real default embedder
    .venv/bin/python bench/watch.py --corpus ../shared/corpora/dl500 --trials 5

The corpus is copied to a temporary folder first. Each time runs from just before the file is written to the first
moment the swapped-in tutor answers as expected; the re-index's own time (parse, embed, publish, load) is printed
beside it, so what remains is the watcher's wait for the folder to go quiet. Target: append <= 3 s.
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
sys.path.insert(0, str(ROOT))

from tutor.config import Settings  # noqa: E402
from tutor.notes.files import corpus_files  # noqa: E402
from tutor.web.app import TutorLoader  # noqa: E402

TERMS = ["zorblax", "quibbleprop", "flumphnorm", "glimmerdrop", "snarkpool", "wobbleinit", "krangleloss", "blorpnet"]
TIMEOUT = 60.0


def section(term: str, n: int) -> str:
    return f"\n\n## 9.{n} 什么是{term}？\n\n{term}是一种先把梯度翻转两次再更新参数的优化技巧，用来逃离鞍点。\n"


def wait_for(loader: TutorLoader, question: str, ok) -> float:
    """Seconds until `ok(answer)` holds for the live tutor (asked again each time a new tutor is swapped in)."""
    started = time.perf_counter()
    asked = None
    while time.perf_counter() - started < TIMEOUT:
        tutor = loader.tutor
        if tutor is not asked:
            asked = tutor
            if ok(tutor, tutor.ask(question)):
                return time.perf_counter() - started
        time.sleep(0.005)
    raise SystemExit(f"gave up after {TIMEOUT:.0f} s waiting for an answer to {question!r}")


def cites(source: str, first_line: int | None = None):
    def ok(_tutor, answer) -> bool:
        return answer.status == "answered" and any(
            c.source == source and (first_line is None or c.line_start >= first_line) for c in answer.citations
        )

    return ok


def gone(source: str):
    def ok(tutor, answer) -> bool:
        return all(c.source != source for c in answer.citations) and all(c.source != source for c in tutor.index.chunks)

    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--polling", action="store_true", help="watch by polling (as on some network or CI filesystems)")
    args = p.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tutor-bench-watch-"))
    try:
        shutil.copytree(args.corpus, base / "corpus")
        settings = Settings(
            corpus_dir=base / "corpus", index_dir=base / "index", data_dir=base / "data", fetch_links=False
        )
        started = time.perf_counter()
        loader = TutorLoader(settings)
        loader._load()  # on this thread: the first index is not what is measured
        from tutor.index.live import Reindexer, Watcher

        loader.live = Reindexer(loader)
        watcher = Watcher(settings.corpus_path, lambda _p: loader.live.request(), force_polling=args.polling or None)
        watcher.start().ready.wait(TIMEOUT)
        n = len(loader.tutor.index.chunks)
        print(f"corpus {args.corpus} copied: {n} passages, indexed in {time.perf_counter() - started:.1f} s")
        note = max(corpus_files(settings.corpus_path), key=lambda f: f.stat().st_size)
        source = note.relative_to(base).as_posix()
        appends, deletes, rebuilds = [], [], []
        for i in range(args.trials):
            term = TERMS[i % len(TERMS)] + ("" if i < len(TERMS) else str(i))
            first_line = note.read_text(encoding="utf-8").count("\n") + 1
            with note.open("a", encoding="utf-8") as f:
                f.write(section(term, i))
            appends.append(wait_for(loader, f"什么是{term}？", cites(source, first_line)))
            rebuilds.append(loader.live.last.seconds)
            said = loader.live.message
            extra = settings.corpus_path / f"extra-{i}.md"
            extra.write_text(f"# 附录\n{section(term + 'x', i)}", encoding="utf-8")
            wait_for(loader, f"什么是{term}x？", cites(extra.relative_to(base).as_posix()))
            extra.unlink()
            deletes.append(wait_for(loader, f"什么是{term}x？", gone(extra.relative_to(base).as_posix())))
            print(
                f"  trial {i + 1}: append cited after {appends[-1]:.2f} s (re-index {rebuilds[-1]:.2f} s, "
                f"{said}); delete gone after {deletes[-1]:.2f} s"
            )
        watcher.stop()
        loader.live.stop()
        print(
            f"append -> cited: median {statistics.median(appends):.2f} s, max {max(appends):.2f} s "
            f"(target <= 3 s: {'met' if max(appends) <= 3 else 'NOT met'}); re-index alone median "
            f"{statistics.median(rebuilds):.2f} s"
        )
        print(f"delete -> gone:  median {statistics.median(deletes):.2f} s, max {max(deletes):.2f} s")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
