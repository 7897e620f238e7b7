"""20 concurrent chat sessions against one app, through gradio_client threads.

    .venv/bin/python bench/load.py [--sessions 20]

Each session asks its own first question, then an elliptical follow-up; the follow-up must be
rewritten against *its own* first question (a crossed history would show another topic). Prints
how many were answered, crossed histories, and p50/p95 time per question.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402

from tutor.chat import Tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402
from tutor.ui import build_app, launch_options  # noqa: E402

# (first question, follow-up, a word the rewritten follow-up must contain)
TOPICS = [
    ("dropout为什么能防止过拟合？", "从bagging的角度呢？", "dropout"),
    ("梯度消失是什么原因造成的？", "那怎么解决？", "梯度消失"),
    ("What causes vanishing gradients in a deep network?", "What about exploding gradients?", "exploding"),
    ("训练不收敛的时候要怎么排查？", "那权重初始化呢？", "权重初始化"),
    ("sigmoid的导数最大是多少？", "tanh呢？", "tanh"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text(message: dict) -> str:
    return "".join(part["text"] for part in message["content"])


def session(url: str, i: int) -> dict:
    first, follow, must = TOPICS[i % len(TOPICS)]
    client = Client(url, verbose=False)
    times = []
    for message in (first, follow):
        started = time.perf_counter()
        chat, _ = client.predict(message, api_name="/ask")
        times.append(time.perf_counter() - started)
    last = text(chat[-1])
    searched = re.search(r"searched for: <q>(.*?)</q>", last)
    return {
        "answered": len(chat) == 4 and "Sources" in last,
        "own_history": bool(searched) and must.lower() in searched.group(1).lower(),
        "times": times,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "corpus", Path(tmp) / "corpus", ignore=shutil.ignore_patterns("references"))
        settings = Settings(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index", data_dir=Path(tmp) / "data")
        demo = build_app(settings, Tutor.load(settings))
        demo.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                            **launch_options())
        try:
            started = time.perf_counter()
            with ThreadPoolExecutor(args.sessions) as pool:
                results = list(pool.map(lambda i: session(demo.local_url, i), range(args.sessions)))
            wall = time.perf_counter() - started
        finally:
            demo.close()
    times = sorted(t * 1000 for r in results for t in r["times"])
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    print(f"sessions              {args.sessions} concurrent, 2 questions each ({wall:.1f} s wall)")
    print(f"answered              {sum(r['answered'] for r in results)}/{args.sessions}")
    print(f"follow-up used own history {sum(r['own_history'] for r in results)}/{args.sessions} (crossed: "
          f"{sum(not r['own_history'] for r in results)})")
    print(f"time per question     p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms (queued behind each other, 4 at a time)")


if __name__ == "__main__":
    main()
