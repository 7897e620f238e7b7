"""A book-sized notes folder: the full first index (time, peak RSS, its progress lines with the ETA) and how
long the app takes to answer after it starts.

    .venv/bin/python bench/book.py                  # >= 1 MB of Chinese markdown, >= 5,000 passages, real e5
    .venv/bin/python bench/book.py --first-run      # also: start the app on no index at all, time its first answer
    .venv/bin/python bench/book.py --embeddings hash:384 --min-bytes 200000 --min-passages 1000   # a quick check

The folder is written at bench time into a temporary directory (never committed): volumes of the seed notes
(`../shared/seed/`) and the three dl500 chapters (`../shared/corpora/dl500/`), each volume varied so that no
two passages are the same text: its own title, some words replaced by near-synonyms, the sentences of a
paragraph rotated, a share of paragraphs left out. `tutor index` and `app.py` run as child processes, so the
peak RSS is theirs alone (wait4). Only the first ETA lines and the last one are printed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
SOURCES = [SHARED / "seed" / "dl-interview-notes.md", *sorted((SHARED / "corpora" / "dl500").glob("*.md"))]
QUESTION = "dropout为什么能防止过拟合？"
BUILDING = "still being built"  # tutor.web.chat_tab.respond's message while there is no index yet
SYNONYMS = {
    "可以": "能够",
    "通过": "借助",
    "提高": "提升",
    "减少": "降低",
    "方法": "办法",
    "使用": "采用",
    "因此": "所以",
    "但是": "不过",
    "非常": "十分",
    "问题": "难题",
}
VOLUME_NAMES = "甲乙丙丁戊己庚辛壬癸"


def _vary_line(line: str, rng: random.Random) -> str:
    if line.lstrip().startswith(("#", "|", "!", "$", "```", "http")) or len(line.strip()) < 20:
        return line  # headings, tables, images, formulas, links: as written
    for word, other in SYNONYMS.items():
        if word in line and rng.random() < 0.5:
            line = line.replace(word, other)
    indent = line[: len(line) - len(line.lstrip())]
    sentences = [s for s in re.split(r"(?<=[。！？；])", line.strip()) if s]
    if len(sentences) > 1:
        k = rng.randrange(1, len(sentences))
        sentences = sentences[k:] + sentences[:k]
    return indent + "".join(sentences)


def vary(text: str, volume: int, rng: random.Random) -> str:
    """One volume of a note file: its own title line, words and sentence order; ~10% of prose lines left out."""
    out, titled = [], False
    for line in text.split("\n"):
        if not titled and line.startswith("# "):
            line, titled = f"# {line[2:].strip()}（{VOLUME_NAMES[volume % 10]}{volume // 10 + 1}卷）", True
        elif line.strip() and not line.lstrip().startswith("#") and rng.random() < 0.1:
            continue
        out.append(_vary_line(line, rng))
    return "\n".join(out)


def write_book(folder: Path, min_bytes: int, min_passages: int) -> tuple[int, int, int]:
    """Volumes until the folder holds both enough bytes and enough passages: (files, bytes, passages)."""
    from tutor.notes.corpus import load_document

    rng = random.Random(12)
    texts = [(p.stem, p.read_text(encoding="utf-8")) for p in SOURCES]
    size = passages = files = volume = 0
    while size < min_bytes or passages < min_passages:
        for stem, text in texts:
            path = folder / f"卷{volume + 1:02d}" / f"{stem}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(vary(text, volume, rng), encoding="utf-8")
            size += path.stat().st_size
            passages += len(load_document(path, folder).chunks)
            files += 1
        volume += 1
    return files, size, passages


def run_index(corpus: Path, index: Path, env: dict) -> tuple[float, float, list[str], str]:
    """`tutor index` in a child: (seconds, peak RSS MB, its progress lines, its summary)."""
    cmd = [sys.executable, "-m", "tutor.cli", "index", "--no-links", "--corpus", str(corpus), "--index", str(index)]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in child.stderr:  # stdout holds one summary line: it cannot fill its pipe meanwhile
        if line.startswith("embed"):
            lines.append(f"{time.perf_counter() - started:7.1f} s  {line.rstrip()}")
            print(f"  {lines[-1]}", file=sys.stderr, flush=True)
    summary = child.stdout.read().strip()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"tutor index failed ({child.returncode})")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, lines, summary


def time_app(corpus: Path, index: Path, env: dict, timeout: float) -> dict:
    """Start app.py; seconds until the page answers HTTP and until a question gets an answer (not 'building')."""
    from gradio_client import Client

    with socket.socket() as probe:  # a free port: bound, read, released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus), "--index", str(index)]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found: dict = {}
    try:
        client = None
        while time.perf_counter() - started < timeout:
            if child.poll() is not None:
                raise SystemExit(f"app.py exited ({child.returncode})")
            try:
                client = client or Client(f"http://127.0.0.1:{port}/", verbose=False)
                found.setdefault("page", time.perf_counter() - started)
                chat, _ = client.predict(QUESTION, api_name="/ask")
                reply = "".join(part.get("text", "") for part in chat[-1]["content"])
                if BUILDING not in reply:
                    found["answer"] = time.perf_counter() - started
                    found["status"] = next((s for s in ("answered", "question_only", "not_found") if s in reply), "?")
                    break
            except Exception as exc:  # not up yet (httpx, gradio_client and OS errors alike)
                found["last_error"] = type(exc).__name__
            time.sleep(0.5)
    finally:
        child.terminate()
        _, _, usage = os.wait4(child.pid, 0)
        child.returncode = 0
        found["rss_mb"] = usage.ru_maxrss / 1024
    return found


def notes_tab_size(corpus: Path, index: Path, env: dict) -> int:
    """Bytes of the Notes tab's HTML for the built index (what the page receives once it is ready)."""
    from tutor.config import Settings
    from tutor.index.store import load_index
    from tutor.web.render import NoteFiles
    from tutor.web.render_files import render_notes_by_file

    chosen = {"embeddings": env["TUTOR_EMBEDDINGS"]} if env.get("TUTOR_EMBEDDINGS") else {}
    settings = Settings(corpus_dir=corpus, index_dir=index, fetch_links=False, **chosen)
    built = load_index(settings)
    return len(render_notes_by_file(built.sections, built.file_states, NoteFiles(corpus.parent)).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-bytes", type=int, default=1_000_000)
    parser.add_argument("--min-passages", type=int, default=5_000)
    parser.add_argument("--embeddings", help="TUTOR_EMBEDDINGS for the children (default: the tutor's default, e5)")
    parser.add_argument("--first-run", action="store_true", help="also time the app started on no index")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up on the app after this many seconds")
    args = parser.parse_args()
    env = {**os.environ, "TUTOR_FETCH_LINKS": "0", "TUTOR_LLM": "none", "PYTHONUNBUFFERED": "1"}
    if args.embeddings:
        env["TUTOR_EMBEDDINGS"] = args.embeddings
    with tempfile.TemporaryDirectory(prefix="tutor-book-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        env["TUTOR_DATA_DIR"] = str(Path(tmp) / "data")
        files, size, passages = write_book(corpus, args.min_bytes, args.min_passages)
        print(f"book: {files} files, {size / 1e6:.2f} MB of markdown, {passages} passages (parsed)", flush=True)
        first = None
        if args.first_run:
            first = time_app(corpus, Path(tmp) / "index-first", env, args.timeout)
        seconds, rss, lines, summary = run_index(corpus, index, env)
        notes_html = notes_tab_size(corpus, index, env)
        ready = time_app(corpus, index, env, args.timeout)
    print(f"full index: {seconds:.1f} s, peak RSS {rss:.0f} MB — {summary}")
    print(f"Notes tab: {notes_html / 1e6:.1f} MB of HTML (file list and every file's lines, collapsed)")
    for line in lines[:4] + (["…"] if len(lines) > 5 else []) + lines[-1:]:
        print(f"  {line}")
    for label, found in (("app, index built", ready), ("app, first run (no index)", first)):
        if found is None:
            continue
        answer = f"{found['answer']:.1f} s ({found['status']})" if "answer" in found else "no answer in time"
        print(
            f"{label}: page up {found.get('page', float('nan')):.1f} s, first answer {answer},"
            f" peak RSS {found['rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
