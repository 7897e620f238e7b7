"""What the tutor adds on top of the language model, and what its citation verifier marks.

    .venv/bin/python bench/llm_overhead.py [--repeat 10] [--delay 0.3] [--json]

A fake OpenAI-compatible server (tests/fake_openai.py) answers after a fixed delay. Time to first token is
measured for the model alone (ChatOpenAI.stream on the same grounded prompt) and through ChatSession.stream
(clean input, retrieval, passages, prompt, the model, marker checking), first turn and follow-up (which adds
the model's rewrite of the question). Then every recorded test answer goes through the verifier and the share
of citations marked verified / unverified / dropped is reported. Medians; the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from tests.fake_openai import API_KEY, RECORDED_ANSWERS, FakeOpenAI, Reply  # noqa: E402
from tutor.answer.chat import ChatSession, Tutor  # noqa: E402
from tutor.answer.llm import answer_passages, get_chat_model, grounded_messages  # noqa: E402
from tutor.answer.verify import UNVERIFIED  # noqa: E402
from tutor.config import Settings  # noqa: E402

QUESTION = "dropout为什么能防止过拟合？"
EVAL_SET = ROOT / "tests" / "data" / "eval.jsonl"


def answered_questions() -> list[str]:
    """Single-turn questions the notes answer: a new one per repetition, so nothing is measured warm."""
    rows = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["turns"][0] for r in rows if r.get("status") == "answered" and len(r["turns"]) == 1]


FOLLOW_UP = ("梯度消失的原因是什么？", "那怎么解决？")


def first_token_ms(items, started: float) -> tuple[float, float]:
    """(ms to the first non-empty piece, ms to the end) of an iterator of str/chunks."""
    first = None
    for item in items:
        text = item if isinstance(item, str) else getattr(item, "text", "")
        if first is None and text:
            first = time.perf_counter()
    return (first - started) * 1000, (time.perf_counter() - started) * 1000


def measure(tutor: Tutor, server: FakeOpenAI, repeat: int, delay: float) -> dict:
    settings = Settings(llm_base_url=server.base_url, llm_timeout=30).model_copy(
        update={"llm_api_key": SecretStr(API_KEY)}
    )
    model = get_chat_model("openai:bench-model", settings)
    reply = Reply(RECORDED_ANSWERS["good"], delay=delay, token_delay=0.005)
    questions = answered_questions()
    direct, app, app_total, direct_total, follow, offline = [], [], [], [], [], []
    for i in range(repeat):
        question = questions[i % len(questions)]
        messages = grounded_messages(question, answer_passages(tutor.retriever.search(question)))
        started = time.perf_counter()
        tutor.ask(questions[(i + 1) % len(questions)])
        offline.append((time.perf_counter() - started) * 1000)
        server.script(reply)
        started = time.perf_counter()
        ttft, total = first_token_ms(model.stream(messages), started)
        direct.append(ttft)
        direct_total.append(total)
        server.script(reply)
        started = time.perf_counter()
        ttft, total = first_token_ms(ChatSession(tutor, chat_model=model).stream(question), started)
        app.append(ttft)
        app_total.append(total)
        session = ChatSession(tutor, chat_model=model)
        server.script(Reply(RECORDED_ANSWERS["good"]), Reply("梯度消失有哪些解决方法？", delay=delay), reply)
        session.ask(FOLLOW_UP[0])
        started = time.perf_counter()
        follow.append(first_token_ms(session.stream(FOLLOW_UP[1]), started)[0])
    med = statistics.median
    return {
        "server_delay_ms": delay * 1000,
        "model_ttft_ms": round(med(direct), 1),
        "chat_session_ttft_ms": round(med(app), 1),
        "added_ttft_ms": round(med(app) - med(direct), 1),
        "model_total_ms": round(med(direct_total), 1),
        "chat_session_total_ms": round(med(app_total), 1),
        "added_total_ms": round(med(app_total) - med(direct_total), 1),
        "follow_up_ttft_ms": round(med(follow), 1),
        "offline_answer_ms": round(med(offline), 1),  # retrieval + extractive answer: most of the added TTFT
    }


def verifier_marks(tutor: Tutor, server: FakeOpenAI) -> dict:
    settings = Settings(llm_base_url=server.base_url).model_copy(update={"llm_api_key": SecretStr(API_KEY)})
    model = get_chat_model("openai:bench-model", settings)
    rows, verified, unverified, dropped = {}, 0, 0, 0
    for name, text in RECORDED_ANSWERS.items():
        server.script(text)
        question = "Why does dropout prevent overfitting?" if name == "english" else QUESTION
        answer = tutor.ask(question, chat_model=model)
        markers = len(re.findall(r"\[\d+\]", text))
        ok = sum(c.verified is True for c in answer.citations)
        bad = sum(c.verified is False for c in answer.citations)
        rows[name] = {
            "markers": markers,
            "verified": ok,
            "unverified": bad,
            "dropped": markers - ok - bad,
            "warning_marks": answer.answer.count(UNVERIFIED),
            "generator": answer.generator,
        }
        verified, unverified, dropped = verified + ok, unverified + bad, dropped + markers - ok - bad
    total = verified + unverified + dropped
    return {
        "answers": rows,
        "share_verified": round(verified / total, 3),
        "share_unverified": round(unverified / total, 3),
        "share_dropped": round(dropped / total, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds the fake model waits before answering")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as server:
        root = Path(tmp)
        (root / "corpus").mkdir()
        shutil.copy(ROOT / "corpus" / "dl-interview-notes.md", root / "corpus")
        settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index", data_dir=root / "data")
        tutor = Tutor.load(settings)
        tutor.ask(QUESTION)  # warm: embedder, jieba
        result = {"ttft": measure(tutor, server, args.repeat, args.delay), "verifier": verifier_marks(tutor, server)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for key, value in result["ttft"].items():
        print(f"{key:>24}: {value}")
    for name, row in result["verifier"]["answers"].items():
        print(f"{name:>24}: {row}")
    for key in ("share_verified", "share_unverified", "share_dropped"):
        print(f"{key:>24}: {result['verifier'][key]}")


if __name__ == "__main__":
    main()
