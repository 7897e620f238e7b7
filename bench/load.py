"""Concurrent chat and interview sessions against one app, through gradio_client threads.

    .venv/bin/python bench/load.py [--sessions 20] [--only chat|interview]

One app is launched in-process on a copy of the notes (real embedder, fresh index and data dir); both runs
(the default) go against it, chat first.

chat: each session asks its own first question, then an elliptical follow-up; the follow-up must be
rewritten against *its own* first question (a crossed history would show another topic). Prints how many
were answered, crossed histories, and p50/p95 time per question.

interview: each session starts an interview (all topics, up to 12 questions), skips to the questions the notes
answer (so every answer is really graded) and submits 2 or 3 answers that carry the session's own tag. Every
response must belong to its own interview: the feedback is about the prompt it answered (same question id and
text), the session id never changes, its own answer is shown and no other session's tag anywhere; the final
report lists exactly the questions it was shown. Afterwards the SQLite store (progress.sqlite3) must hold every
submitted answer exactly once, under its session, question id and question text: lost, duplicated, crossed
(stored under another session or question) and stray records are counted. Prints answers graded, crossed
responses, the record counts and p50/p95 time per submit.

Exits 1 when anything was unanswered, crossed, lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402

from tutor.answer.chat import Tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402
from tutor.interview.progress import DB_NAME  # noqa: E402
from tutor.web.app import build_app, launch_options  # noqa: E402

# (first question, follow-up, a word the rewritten follow-up must contain)
TOPICS = [
    ("dropout为什么能防止过拟合？", "从bagging的角度呢？", "dropout"),
    ("梯度消失是什么原因造成的？", "那怎么解决？", "梯度消失"),
    ("What causes vanishing gradients in a deep network?", "What about exploding gradients?", "exploding"),
    ("训练不收敛的时候要怎么排查？", "那权重初始化呢？", "权重初始化"),
    ("sigmoid的导数最大是多少？", "tanh呢？", "tanh"),
]

INTERVIEW_TOPIC = ""  # all topics: three questions the notes answer, each may bring follow-ups
INTERVIEW_QUESTIONS = 12  # the most the tab allows, so skipping the unanswerable ones never runs out
ANSWERS = [
    "dropout在训练时按比例随机丢掉一些神经元，防止过拟合；每次相当于一个不同的网络结构，类似bagging。",
    "梯度消失和梯度爆炸是因为网络太深，反向传播时梯度连乘；可以用梯度剪切、ReLU激活函数和残差结构解决。",
    "学习速率太低收敛很慢，太高损失难以下降；还要检查数据归一化和权重初始化，用Xavier或He初始化。",
    "1x1卷积核可以升维降维、跨通道融合信息，还能增加非线性。",
    "max pooling保留最显著的特征，average pooling保留整体的背景信息。",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def text(message: dict) -> str:
    return "".join(part["text"] for part in message["content"])


# ---------------------------------------------------------------- chat


def chat_session(url: str, i: int) -> dict:
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


def run_chat(url: str, sessions: int) -> bool:
    started = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        results = list(pool.map(lambda i: chat_session(url, i), range(sessions)))
    wall = time.perf_counter() - started
    times = [t * 1000 for r in results for t in r["times"]]
    answered = sum(r["answered"] for r in results)
    crossed = sum(not r["own_history"] for r in results)
    print(f"chat sessions         {sessions} concurrent, 2 questions each ({wall:.1f} s wall)")
    print(f"answered              {answered}/{sessions}")
    print(f"follow-up used own history {sessions - crossed}/{sessions} (crossed: {crossed})")
    print(
        f"time per question     p50 {percentile(times, 0.5):.0f} ms, p95 {percentile(times, 0.95):.0f} ms "
        "(queued behind each other, 4 at a time)"
    )
    return answered == sessions and crossed == 0


# ---------------------------------------------------------------- interview


def interview_call(client: Client, endpoint: str, *args) -> tuple[dict, str]:
    """(the data the tab's hidden JSON carries + the shown HTML, the whole response as text)."""
    raw = client.predict(*args, api_name=endpoint)
    *shown, data = raw
    question, box, message, feedback, report, chart = [v.get("value") if isinstance(v, dict) else v for v in shown]
    html = {"question": question, "message": message or "", "feedback": feedback or "", "report": report}
    return data | {"html": html, "box": box, "chart": chart}, json.dumps(raw, ensure_ascii=False, default=str)


def interview_session(url: str, i: int, tags: list[str]) -> dict:
    """Start, skip to the questions the notes answer (so every answer is really graded), submit 2 or 3 tagged
    answers, finish; every response is checked to be this session's own."""
    tag, others = tags[i], [t for k, t in enumerate(tags) if k != i]
    client = Client(url, verbose=False)
    view, raw = interview_call(client, "/interview_start", INTERVIEW_TOPIC, INTERVIEW_QUESTIONS)
    session_id = view["session_id"]
    crossed: list[str] = []  # why a response did not belong to this session

    def check(step: str) -> None:
        if view["session_id"] != session_id:
            crossed.append(f"{step}: session id {view['session_id']} instead of {session_id}")
        if any(t in raw for t in others):
            crossed.append(f"{step}: shows another session's tag")
        prompt = view["question"]
        if prompt and not prompt["follow_up"] and prompt["id"] not in mains:
            mains.append(prompt["id"])  # every main question shown is a round of the report

    mains: list[str] = []
    check("start")
    submitted: list[dict] = []
    graded, times = 0, []
    for k in range(2 + i % 2):
        while view["question"] is not None and not view["question"]["has_reference"]:
            view, raw = interview_call(client, "/interview_skip")
            check(f"skip before answer {k + 1}")
        prompt = view["question"]
        if prompt is None:
            crossed.append(f"no question waiting for answer {k + 1}: {view['html']['message']}")
            break
        answer = f"[{tag}] answer {k + 1}: {ANSWERS[(i + k) % len(ANSWERS)]}"
        submitted.append({"session_id": session_id, "question_id": prompt["id"], "question": prompt["question"],
                          "answer": answer, "follow_up": prompt["follow_up"]})  # fmt: skip
        started = time.perf_counter()
        view, raw = interview_call(client, "/interview_submit", answer)
        times.append(time.perf_counter() - started)
        fb = view["feedback"] or {}
        graded += bool(fb) and fb.get("score") is not None and view["box"] == ""
        check(f"answer {k + 1}")
        if fb.get("question_id") != prompt["id"] or fb.get("question") != prompt["question"]:
            crossed.append(f"answer {k + 1}: feedback about {fb.get('question')!r}, asked {prompt['question']!r}")
        if tag not in view["html"]["feedback"]:
            crossed.append(f"answer {k + 1}: its own answer is not shown")
    view, raw = interview_call(client, "/interview_finish")
    check("finish")
    report = view["report"] or {}
    if report.get("session_id") != session_id or [q["id"] for q in report.get("questions", [])] != mains:
        crossed.append(f"the report is not about this session's questions: {report.get('questions')}")
    return {"submitted": submitted, "graded": graded, "times": times, "crossed": crossed}


def check_records(db: Path, submitted: list[dict]) -> dict[str, int]:
    """Every submitted answer once, under its own session and question: counts of what is not."""
    key = ("session_id", "question_id", "question", "answer", "follow_up")
    want = Counter(tuple(s[k] for k in key) for s in submitted)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(f"SELECT {', '.join(key)} FROM attempts").fetchall()
    finally:
        con.close()
    have = Counter((sid, qid, q, a, bool(f)) for sid, qid, q, a, f in rows)
    by_answer = Counter(a for _sid, _qid, _q, a, _f in rows)
    answers = {s["answer"] for s in submitted}
    return {
        "submitted": sum(want.values()),
        "stored": len(rows),
        "lost": sum(1 for k in want if k not in have and by_answer[k[3]] == 0),
        "duplicated": sum(max(0, n - 1) for n in have.values()),
        # the answer is stored, but under another session / question / text (or not submitted at all)
        "crossed": sum(1 for k in have if k not in want and k[3] in answers),
        "stray": sum(1 for k in have if k[3] not in answers),
    }


def run_interview(url: str, settings: Settings, sessions: int) -> bool:
    tags = [f"S{i:02d}-{secrets.token_hex(3)}" for i in range(sessions)]
    started = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        results = list(pool.map(lambda i: interview_session(url, i, tags), range(sessions)))
    wall = time.perf_counter() - started
    submitted = [s for r in results for s in r["submitted"]]
    planned = sum(2 + i % 2 for i in range(sessions))
    graded = sum(r["graded"] for r in results)
    crossed = [c for r in results for c in r["crossed"]]
    records = check_records(settings.data_path / DB_NAME, submitted)
    times = [t * 1000 for r in results for t in r["times"]]
    print(f"interview sessions    {sessions} concurrent, 2-3 answers each ({wall:.1f} s wall)")
    print(f"answered              {graded}/{planned} answers graded, sessions complete "
          f"{sum(r['graded'] == 2 + i % 2 for i, r in enumerate(results))}/{sessions}")  # fmt: skip
    print(f"crossed responses     {len(crossed)}")
    for why in crossed[:10]:
        print(f"    {why}")
    print(f"records               {records['submitted']} submitted, {records['stored']} stored: lost "
          f"{records['lost']}, duplicated {records['duplicated']}, crossed {records['crossed']}, "
          f"stray {records['stray']}")  # fmt: skip
    print(
        f"time per submit       p50 {percentile(times, 0.5):.0f} ms, p95 {percentile(times, 0.95):.0f} ms "
        "(graded 4 at a time)"
    )
    clean = not crossed and records["submitted"] == records["stored"] == planned
    return clean and graded == planned and not (records["lost"] or records["duplicated"] or records["crossed"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--only", choices=("chat", "interview"), help="run one part (default: both)")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "corpus", Path(tmp) / "corpus", ignore=shutil.ignore_patterns("references"))
        settings = Settings(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index", data_dir=Path(tmp) / "data")
        demo = build_app(settings, Tutor.load(settings))
        demo.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                            **launch_options())  # fmt: skip
        try:
            if args.only in (None, "chat"):
                ok &= run_chat(demo.local_url, args.sessions)
            if args.only in (None, "interview"):
                ok &= run_interview(demo.local_url, settings, args.sessions)
        finally:
            demo.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
