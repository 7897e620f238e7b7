"""The first run on a book-sized notes folder (bench/book.py writes it): how soon the app gives a cited answer while
its first index builds, what it answers on the way, and the full build's time and peak RSS.

    .venv/bin/python bench/first_run.py                    # the book: >= 1 MB, >= 5,000 passages, real e5 (long)
    .venv/bin/python bench/first_run.py --min-bytes 150000 --min-passages 600     # a subset
    .venv/bin/python bench/first_run.py --code /work/main  # the same with another checkout's tutor (before/after)
    .venv/bin/python bench/first_run.py --decisions dl500  # a suite's question set on partial indexes (real e5)

app.py starts as a child process on an empty index folder. From the moment its page is up, a client asks through
the page's /ask API: one question until the first cited answer, as fast as it can; then, every --every seconds, a
question about each of the four kinds of file of the book and two that the notes do not answer, until the app says
its index is ready (and once more after). Each question gets a new conversation. Peak RSS is the child's (wait4).

--decisions SUITE (a suite of bench/retrieval.py: dl500, en-qa, ml-notes, seed) builds its notes from nothing
in-process and runs its question set through the tutor the app would have at partial sizes (keyword only, then the
part embedded so far with keyword search of the rest), so that what a small part decides (abstention, false
not_found, hit@1) can be read against the finished index.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from book import write_book  # noqa: E402

FIRST = "dropout为什么能防止过拟合？"
ON_TOPIC = [FIRST, "GAN的Loss为什么降不下去？", "TensorFlow的设计理念是什么？", "LeNet-5的模型结构是怎样的？"]
OFF_TOPIC = ["今天天气怎么样？", "How do I bake sourdough bread?"]
BUILDING = "still being built"  # tutor.web.chat_tab.respond while there is no tutor at all
READY = re.compile(r"tutor: ready, (\d+) passages indexed \(([\d.]+) s\)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ask(port: int, question: str) -> dict | None:
    """One question in a new conversation: status, cited, where the answer came from; None if not answered yet."""
    from gradio_client import Client

    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    chat, _ = client.predict(question, api_name="/ask")
    reply = "".join(part.get("text", "") for part in chat[-1]["content"])
    if BUILDING in reply:
        return None
    status = next((s for s in ("answered", "question_only", "not_found") if f"status-{s}" in reply), "?")
    if "Found by keyword search" in reply:
        origin = "keyword"
    elif "indexed so far" in reply or "已索引的部分" in reply:
        origin = "part"
    else:
        origin = "full"
    where = re.search(r'class="where">([^<›]+)', reply)
    return {
        "status": status,
        "cited": 'class="cite"' in reply,
        "origin": origin,
        "file": where[1].strip() if where else "",
    }


def run_app(corpus: Path, index: Path, env: dict, code: Path, every: float, timeout: float) -> dict:
    port = free_port()
    cmd = [sys.executable, str(code / "app.py"), "--port", str(port), "--corpus", str(corpus), "--index", str(index)]
    started = time.perf_counter()
    child = subprocess.Popen(
        cmd,
        cwd=code,
        env={**env, "PYTHONPATH": str(code)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found: dict = {"samples": [], "log": []}

    def read_log() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            found["log"].append((time.perf_counter() - started, line.rstrip()))
            match = READY.search(line)
            if match:
                found["ready"] = time.perf_counter() - started
                found["passages"] = int(match[1])

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        next_round = 0.0
        after_ready = False
        while time.perf_counter() - started < timeout:
            if child.poll() is not None:
                raise SystemExit(f"app.py exited ({child.returncode}): {found['log'][-3:]}")
            now = time.perf_counter() - started
            try:
                if "first_answer" not in found:
                    result = ask(port, FIRST)
                    found.setdefault("page", now)
                    if result and result["cited"]:
                        found["first_answer"] = time.perf_counter() - started
                        found["first"] = result
                    time.sleep(0.2)
                    continue
            except Exception as exc:  # not up yet (httpx, gradio_client and OS errors alike)
                found["last_error"] = type(exc).__name__
                time.sleep(0.3)
                continue
            if now >= next_round:
                ready = "ready" in found
                for question in ON_TOPIC + OFF_TOPIC:
                    asked = time.perf_counter()
                    result = ask(port, question)
                    seconds = time.perf_counter() - asked
                    found["samples"].append((round(now), question, result, seconds))
                next_round = now + every
                if ready:
                    after_ready = True
            if after_ready:
                break
            time.sleep(1.0)
    finally:
        child.terminate()
        _, _, usage = os.wait4(child.pid, 0)
        found["rss_mb"] = usage.ru_maxrss / 1024
    return found


def report(found: dict) -> None:
    def when(key: str) -> str:
        return f"{found[key]:.1f} s" if key in found else "not within the timeout"

    first = found.get("first") or {}
    print(f"page up {when('page')}; first cited answer {when('first_answer')}", end="")
    print(f" ({first.get('status')}, from {first.get('origin')}, {first.get('file')})" if first else "")
    print(
        f"full index ready {when('ready')} ({found.get('passages', '?')} passages); peak RSS {found['rss_mb']:.0f} MB"
    )
    print("app log (first lines, and the build's summary):")
    summary = [entry for entry in found["log"] if " chunks: " in entry[1]]
    for t, line in found["log"][:8] + summary:
        print(f"  {t:7.1f} s  {line[:160]}")
    rounds: dict[int, list] = {}
    for t, question, result, seconds in found["samples"]:
        rounds.setdefault(t, []).append((question, result, seconds))
    print("  t (s)  " + "  ".join(f"{q[:10]:<12}" for q in ON_TOPIC + OFF_TOPIC) + "  slowest")
    for t, row in rounds.items():
        cells = []
        for _, result, _ in row:
            if result is None:
                cells.append("building")
            else:
                mark = {"answered": "A", "question_only": "Q", "not_found": "-"}.get(result["status"], "?")
                cells.append(f"{mark}{'*' if result['cited'] else ''} {result['origin']}")
        print(f"  {t:5d}  " + "  ".join(f"{c:<12}" for c in cells) + f"  {max(s for *_, s in row):.1f} s")
    print("  (A answered, Q question only, - not found, * cited; from: keyword = keyword search over the part not")
    print("   embedded yet, part = the part embedded so far, full = the finished index)")


def decisions(suite: str, embeddings: str | None) -> None:
    import shutil

    from retrieval import SUITES

    from tutor.answer.chat import partial_tutor
    from tutor.config import Settings
    from tutor.index.embeddings import get_embeddings
    from tutor.index.first_run import PublishSchedule
    from tutor.index.store import build_index, load_index
    from tutor.search.evaluate import evaluate, load_set

    notes, questions = SUITES[suite]
    items = load_set(questions)
    marks = [0, 16, 48, 96, 192, 384]  # passages embedded at which the set is run
    rows = []

    def run(label: str, tutor) -> None:
        res = evaluate(tutor, items)
        rows.append((label, res.status_accuracy, res.abstention, res.false_abstention, res.hit1, res.wrong_place))
        print(f"  {rows[-1][0]:<28} " + "  ".join(f"{v:.3f}" for v in rows[-1][1:]), flush=True)

    with tempfile.TemporaryDirectory(prefix="tutor-decisions-") as tmp:
        corpus = Path(tmp) / notes.name  # sources are named from the folder's parent, as the question set names them
        shutil.copytree(notes, corpus, ignore=shutil.ignore_patterns("LICENSE", "references"))
        extra = {"embeddings": embeddings} if embeddings else {}
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index", fetch_links=False, **extra)
        embedder = get_embeddings(settings.embeddings)

        def on_partial(partial) -> None:
            done = partial.progress["passages_done"]
            if marks and done >= marks[0]:
                while marks and done >= marks[0]:
                    marks.pop(0)
                kind = "keyword only" if partial.index is None else f"{done} of {partial.progress['passages']} embedded"
                run(kind, partial_tutor(settings, partial, embedder))

        print("  tutor on                     status  abstain  false-nf  hit@1  wrong-place")
        build_index(settings, partial=on_partial, schedule=PublishSchedule(first=0.0, every=0.0, overhead=1e9))
        from tutor.answer.chat import Tutor

        run("the finished index", Tutor(settings, load_index(settings), embedder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-bytes", type=int, default=1_000_000)
    parser.add_argument("--min-passages", type=int, default=5_000)
    parser.add_argument("--embeddings", help="TUTOR_EMBEDDINGS for the app (default: the tutor's default, e5)")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose app.py runs (default: this one)")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between rounds of questions")
    parser.add_argument("--timeout", type=float, default=7200.0)
    parser.add_argument("--decisions", metavar="SUITE", help="a suite's question set on partial indexes instead")
    args = parser.parse_args()
    if args.decisions:
        decisions(args.decisions, args.embeddings)
        return
    env = {**os.environ, "TUTOR_FETCH_LINKS": "0", "TUTOR_LLM": "none", "TUTOR_WATCH": "0", "PYTHONUNBUFFERED": "1"}
    if args.embeddings:
        env["TUTOR_EMBEDDINGS"] = args.embeddings
    with tempfile.TemporaryDirectory(prefix="tutor-first-run-") as tmp:
        corpus = Path(tmp) / "corpus"
        env["TUTOR_DATA_DIR"] = str(Path(tmp) / "data")
        files, size, passages = write_book(corpus, args.min_bytes, args.min_passages)
        print(f"book: {files} files, {size / 1e6:.2f} MB of markdown, {passages} passages (parsed); code {args.code}")
        found = run_app(corpus, Path(tmp) / "index", env, args.code.resolve(), args.every, args.timeout)
    report(found)


if __name__ == "__main__":
    main()
