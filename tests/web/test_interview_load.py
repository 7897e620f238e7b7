"""Interview sessions under load and a killed app: concurrent sessions through gradio_client never cross answers
and lose no record; `kill -9` of the real app (app.py in a subprocess) keeps every answer given, and after a
restart on the same data dir the app shows them and records new ones (bench/load.py runs the 20-session load)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, make_corpus, settings_for
from gradio_client import Client

from tests.helpers import free_port, serve
from tutor.interview.progress import DB_NAME
from tutor.web.interview_actions import NOT_READY

SESSIONS = 6
ANSWERS_EACH = 3
APP_START = 120.0  # seconds for app.py to import Gradio, build the index and answer (a slow 2-core machine)
ANSWERS = [
    "dropout在训练时按比例随机丢掉一些神经元，防止过拟合；每次相当于一个不同的网络结构，类似bagging。",
    "梯度消失和梯度爆炸是因为网络太深，反向传播时梯度连乘；可以用梯度剪切、ReLU激活函数和残差结构解决。",
    "学习速率太低收敛很慢，太高损失难以下降；还要检查数据归一化和权重初始化，用Xavier或He初始化。",
]
ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(\d+)</td><td>(\d+)</td></tr>")


class Interviewer:
    """One browser session over the API; each call returns the tab's data and its HTML."""

    def __init__(self, url: str) -> None:
        self.client = Client(url, verbose=False)
        self.mains: list[str] = []  # every main question shown, in order: the rounds the report must list
        self.responses: list[str] = []  # every response, as text

    def call(self, endpoint: str, *args) -> dict:
        raw = self.client.predict(*args, api_name=endpoint)
        *shown, data = raw
        question, box, message, fb, report, chart = [v.get("value") if isinstance(v, dict) else v for v in shown]
        html = {"question": question, "message": message or "", "feedback": fb or "", "report": report,
                "chart": chart or ""}  # fmt: skip
        self.responses.append(json.dumps(raw, ensure_ascii=False, default=str))
        prompt = data["question"]
        if prompt and not prompt["follow_up"] and prompt["id"] not in self.mains:
            self.mains.append(prompt["id"])
        return data | {"html": html, "box": box}

    def start(self) -> dict:
        return self.call("/interview_start", "", 12)  # all topics, as many questions as the tab allows

    def to_scored(self, view: dict) -> dict:
        """Skip to a prompt the notes answer, so the answer is really graded (and scored in the store)."""
        while view["question"] is not None and not view["question"]["has_reference"]:
            view = self.call("/interview_skip")
        assert view["question"] is not None, view["html"]["message"]
        return view


def stored(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute(
            "SELECT session_id, question_id, question, topic, answer, score, follow_up FROM attempts ORDER BY id"
        )
        return [dict(r) | {"follow_up": bool(r["follow_up"])} for r in rows]
    finally:
        con.close()


def record_of(session_id: str, prompt: dict, answer: str, score: int | None) -> dict:
    """The row an answer to `prompt` must leave in the store."""
    return {"session_id": session_id, "question_id": prompt["id"], "question": prompt["question"],
            "topic": prompt["topic"], "answer": answer, "score": score, "follow_up": prompt["follow_up"]}  # fmt: skip


# ---------------------------------------------------------------- concurrent sessions, one app in-process


@pytest.fixture
def app(tmp_path):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings="hash:64")
    demo = serve(settings)
    try:
        yield demo.local_url, settings
    finally:
        demo.close()


def interview(url: str, i: int, tags: list[str], together: threading.Barrier) -> dict:
    """Start together with the others, then submit each tagged answer at the same moment as the others."""
    tag, others = tags[i], [t for k, t in enumerate(tags) if k != i]
    me = Interviewer(url)
    together.wait()
    view = me.start()
    session_id = view["session_id"]
    crossed: list[str] = []

    def check(step: str) -> None:
        if view["session_id"] != session_id:
            crossed.append(f"{step}: session {view['session_id']}, not {session_id}")

    check("start")
    records = []
    for k in range(ANSWERS_EACH):
        view = me.to_scored(view)
        check(f"before answer {k + 1}")
        prompt = view["question"]
        answer = f"[{tag}] {ANSWERS[(i + k) % len(ANSWERS)]}"
        together.wait()
        view = me.call("/interview_submit", answer)
        fb = view["feedback"] or {}
        records.append(record_of(session_id, prompt, answer, fb.get("score")))
        check(f"answer {k + 1}")
        if (fb.get("question_id"), fb.get("question")) != (prompt["id"], prompt["question"]):
            crossed.append(f"answer {k + 1}: feedback on {fb.get('question')!r}, asked {prompt['question']!r}")
        if fb.get("score") is None or view["box"] != "" or tag not in view["html"]["feedback"]:
            crossed.append(f"answer {k + 1}: not graded as its own answer: {view['html']['message']}")
    view = me.call("/interview_finish")
    check("finish")
    report = view["report"] or {}
    if report.get("session_id") != session_id or [q["id"] for q in report.get("questions", [])] != me.mains:
        crossed.append(f"the report is not this session's: {report.get('questions')}")
    crossed += [f"response {k}: shows another session's answer" for k, text in enumerate(me.responses)
                if any(t in text for t in others)]  # fmt: skip
    return {"records": records, "crossed": crossed}


def test_concurrent_interviews_never_cross_answers_and_lose_no_record(app):
    url, settings = app
    tags = [f"S{i:02d}-{os.urandom(3).hex()}" for i in range(SESSIONS)]
    together = threading.Barrier(SESSIONS, timeout=180)
    results: dict[int, dict] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = interview(url, i, tags, together)
        except BaseException as exc:  # reported below; the barrier is broken so the others stop too
            errors.append(exc)
            together.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert sorted(results) == list(range(SESSIONS))
    assert [c for r in results.values() for c in r["crossed"]] == []
    submitted = [rec for r in results.values() for rec in r["records"]]
    assert len(submitted) == SESSIONS * ANSWERS_EACH
    assert len({r["session_id"] for r in submitted}) == SESSIONS
    rows = stored(settings.data_path / DB_NAME)
    key = lambda r: tuple(sorted(r.items()))  # noqa: E731
    # every answer once, under its session, question and score: none lost, duplicated or crossed
    assert Counter(map(key, rows)) == Counter(map(key, submitted))


# ---------------------------------------------------------------- kill -9 of the real app, then a restart


def launch(tmp_path: Path, port: int, log: Path) -> subprocess.Popen:
    env = os.environ | {
        "TUTOR_CORPUS_DIR": str(tmp_path / "corpus"),
        "TUTOR_INDEX_DIR": str(tmp_path / "index"),
        "TUTOR_DATA_DIR": str(tmp_path / "data"),
        "TUTOR_EMBEDDINGS": "hash:64",
        "TUTOR_FETCH_LINKS": "0",
        "TUTOR_LLM": "none",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def started(proc: subprocess.Popen, url: str, log: Path) -> tuple[Interviewer, dict]:
    """A client of the app and its first interview, once the app answers and its index is loaded."""
    deadline = time.monotonic() + APP_START
    me = None
    while True:
        assert proc.poll() is None, f"the app exited ({proc.returncode}):\n{log.read_text(errors='replace')}"
        assert time.monotonic() < deadline, f"the app did not get ready:\n{log.read_text(errors='replace')}"
        try:
            me = me or Interviewer(url)
            view = me.start()
        except Exception:  # not listening yet
            time.sleep(0.5)
            continue
        if view["session_id"] is not None:
            return me, view
        assert NOT_READY in view["problems"], view["problems"]  # still loading the index: nothing else is wrong
        time.sleep(0.5)


def mastery_table(view: dict) -> dict[str, tuple[float | None, int, int]]:
    """topic -> (mastery, questions, answers) as the tab's chart shows them."""
    rows = ROW.findall(view["html"]["chart"])
    return {topic: (None if mean == "–" else float(mean), int(q), int(n)) for topic, mean, q, n in rows}


def expected_table(records: list[dict]) -> dict[str, tuple[float | None, int, int]]:
    """What ProgressStore.mastery() makes of these records: main answers only, each question's latest score."""
    latest: dict[str, dict[str, int | None]] = {}
    answers: Counter[str] = Counter()
    for r in records:
        if not r["follow_up"]:
            latest.setdefault(r["topic"], {})[r["question_id"]] = r["score"]
            answers[r["topic"]] += 1
    table = {}
    for topic, scores in latest.items():
        known = [s for s in scores.values() if s is not None]
        table[topic] = (round(sum(known) / len(known), 1) if known else None, len(scores), answers[topic])
    return table


def answer(me: Interviewer, view: dict, text: str) -> tuple[dict, dict]:
    """(the view after answering the scored prompt `view` leads to, the record the answer must leave)."""
    view = me.to_scored(view)
    prompt = view["question"]
    after = me.call("/interview_submit", text)
    fb = after["feedback"]
    assert fb and fb["question_id"] == prompt["id"] and fb["score"] is not None and after["box"] == "", after
    return after, record_of(view["session_id"], prompt, text, fb["score"])


def test_kill_9_during_an_interview_keeps_every_answer_and_the_restarted_app_goes_on(tmp_path):
    make_corpus(tmp_path)
    db = tmp_path / "data" / DB_NAME
    log = tmp_path / "app.log"
    procs: list[subprocess.Popen] = []
    try:
        port = free_port()
        procs.append(launch(tmp_path, port, log))
        me, view = started(procs[-1], f"http://127.0.0.1:{port}/", log)
        before = []
        for text in ("dropout随机丢掉神经元，相当于bagging。", "梯度连乘导致梯度消失，可以用ReLU和残差结构。"):
            view, record = answer(me, view, text)
            before.append(record)
        assert view["question"] is not None and view["report"] is None  # the next prompt waits for its answer
        procs[-1].send_signal(signal.SIGKILL)
        assert procs[-1].wait(timeout=30) == -signal.SIGKILL

        assert stored(db) == before  # the file is intact and holds both answers, nothing else

        port = free_port()
        procs.append(launch(tmp_path, port, log))
        me, view = started(procs[-1], f"http://127.0.0.1:{port}/", log)
        assert view["session_id"] != before[0]["session_id"]
        # the restarted app shows the answers given before the kill in its mastery chart and table
        assert mastery_table(view) == expected_table(before) != {}
        assert "<svg" in view["html"]["chart"]
        view, record = answer(me, view, "学习率太高损失不下降，检查数据归一化和权重初始化。")
        assert mastery_table(view) == expected_table([*before, record])
        assert stored(db) == [*before, record]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
