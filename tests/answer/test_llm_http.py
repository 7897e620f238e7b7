"""LLM answers over HTTP: the real ChatOpenAI client against tests/fake_openai.py on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from pydantic import SecretStr

from tests.fake_openai import API_KEY, RECORDED_ANSWERS, FakeOpenAI, Reply
from tests.helpers import free_port
from tutor.answer import prompts
from tutor.answer.chat import ChatSession, Tutor
from tutor.answer.llm import FAILED, get_chat_model
from tutor.answer.verify import UNVERIFIED
from tutor.cli.main import main
from tutor.config import Settings
from tutor.types import Answer

DROPOUT = "dropout为什么能防止过拟合？"
MODEL = "openai:fake-model"
pytestmark = pytest.mark.usefixtures("no_llm_env")


@pytest.fixture(scope="module")
def offline(notes_tutor) -> Answer:
    """The answer from the notes alone: what every failure must fall back to."""
    return notes_tutor.ask(DROPOUT)


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as fake:
        yield fake


def model_for(server: FakeOpenAI, timeout: float = 5.0, base_url: str | None = None):
    settings = Settings(llm_base_url=base_url or server.base_url, llm_timeout=timeout)
    # llm_api_key is read from TUTOR_LLM_API_KEY / OPENAI_API_KEY only (its aliases), so set it on a copy
    return get_chat_model(MODEL, settings.model_copy(update={"llm_api_key": SecretStr(API_KEY)}))


def test_answer_streams_end_to_end_through_chat_session(tutor: Tutor, server: FakeOpenAI) -> None:
    server.script(Reply(RECORDED_ANSWERS["good"], token_delay=0.02))
    session = ChatSession(tutor, chat_model=model_for(server))
    started = time.perf_counter()
    arrivals, pieces, answer = [], [], None
    for item in session.stream(DROPOUT):
        if isinstance(item, Answer):
            answer = item
        else:
            arrivals.append(time.perf_counter() - started)
            pieces.append(item)
    assert answer.generator == MODEL and answer.notices == ()
    assert [(c.n, c.line_start, c.verified) for c in answer.citations] == [(1, 13, True), (2, 15, True), (3, 17, True)]
    assert len(pieces) > 10 and "".join(pieces).strip() == answer.answer
    assert arrivals[-1] - arrivals[0] > 0.3  # pieces came while the server was still writing
    (request,) = server.requests
    assert request.body["stream"] is True and request.body["model"] == "fake-model"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert [m["role"] for m in request.messages] == ["system", "user"]
    assert request.messages[0]["content"] == prompts.ANSWER_SYSTEM
    assert '<passage number="3">' in request.messages[1]["content"]


def test_citation_to_a_missing_passage_is_dropped(tutor: Tutor, server: FakeOpenAI) -> None:
    server.script(RECORDED_ANSWERS["out_of_range"])
    answer = tutor.ask(DROPOUT, chat_model=model_for(server))
    assert answer.generator == MODEL and "[9]" not in answer.answer and [c.n for c in answer.citations] == [1]


def test_unsupported_sentence_is_marked_unverified(tutor: Tutor, server: FakeOpenAI) -> None:
    server.script(RECORDED_ANSWERS["unsupported"])
    answer = tutor.ask(DROPOUT, chat_model=model_for(server))
    assert UNVERIFIED in answer.answer
    assert [c["verified"] for c in answer.to_dict()["citations"]] == [True, False]


def test_general_answer_uses_a_plain_completion(tutor: Tutor, server: FakeOpenAI) -> None:
    server.script("Batch normalization standardises each mini-batch, then rescales it with learned parameters.")
    answer = tutor.ask("What does batch normalization do?", chat_model=model_for(server))
    assert answer.status == "question_only" and answer.generator == MODEL
    assert answer.general_answer.startswith("Batch normalization standardises")
    assert not server.requests[0].body.get("stream")
    assert server.requests[0].messages[0]["content"] == prompts.GENERAL_SYSTEM


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=401), "HTTP 401: check the API key"),
        (Reply(status=429), "HTTP 429: rate limited, try again later"),
        (Reply(status=500), "HTTP 500: the server failed"),
        (Reply(body="{this is not json"), "malformed reply"),
        (Reply(""), "empty reply"),
    ],
)
def test_server_failures_fall_back_to_the_notes(
    tutor: Tutor, server: FakeOpenAI, offline: Answer, reply: Reply, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(reply)
    answer = tutor.ask(DROPOUT, chat_model=model_for(server))
    assert answer.generator == "extractive" and answer.citations == offline.citations
    assert answer.notices == (FAILED.format(reason=reason),)
    assert len(server.requests) == 1  # no retries
    assert API_KEY not in json.dumps(answer.to_dict(), ensure_ascii=False) and API_KEY not in caplog.text


def test_garbage_on_a_plain_completion_falls_back(tutor: Tutor, server: FakeOpenAI) -> None:
    server.script(Reply(body='{"choices": "nope"'))
    answer = tutor.ask("BN的原理是什么？", chat_model=model_for(server))
    assert answer.general_answer is None and answer.notices == (FAILED.format(reason="malformed reply"),)


def test_a_hanging_server_times_out_quickly(tutor: Tutor, server: FakeOpenAI) -> None:
    server.script(Reply(RECORDED_ANSWERS["good"], delay=10))
    started = time.perf_counter()
    answer = tutor.ask(DROPOUT, chat_model=model_for(server, timeout=0.3))
    assert time.perf_counter() - started < 3
    assert answer.generator == "extractive" and answer.notices == (FAILED.format(reason="no reply within 0.3 s"),)


def test_connection_refused_falls_back(tutor: Tutor, server: FakeOpenAI) -> None:
    port = free_port()  # nothing listens there
    answer = tutor.ask(DROPOUT, chat_model=model_for(server, base_url=f"http://127.0.0.1:{port}/v1"))
    assert answer.notices == (FAILED.format(reason="cannot reach the server"),) and answer.citations


def test_the_conversation_goes_on_after_a_failure(tutor: Tutor, server: FakeOpenAI) -> None:
    server.script(Reply(status=500), "梯度消失和梯度爆炸有哪些解决方法？", "可以使用残差结构 [1]。")
    session = ChatSession(tutor, chat_model=model_for(server))
    first = session.ask("梯度消失的原因是什么？")
    second = session.ask("那怎么解决？")
    assert first.generator == "extractive" and first.notices
    assert second.query == "梯度消失和梯度爆炸有哪些解决方法？" and len(session.turns) == 2
    assert server.requests[1].messages[0]["content"] == prompts.REWRITE_SYSTEM


def _configure(monkeypatch: pytest.MonkeyPatch, server: FakeOpenAI, tutor: Tutor) -> None:
    """`tutor chat` on the already built index of the notes, with the fake server as its model."""
    monkeypatch.setenv("TUTOR_CORPUS_DIR", str(tutor.settings.corpus_path))
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(tutor.settings.index_path))
    monkeypatch.setenv("TUTOR_LLM", MODEL)
    monkeypatch.setenv("TUTOR_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("TUTOR_LLM_API_KEY", API_KEY)


def test_cli_chat_prints_tokens_then_the_sources(
    tutor: Tutor, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, server, tutor)
    server.script(RECORDED_ANSWERS["unsupported"])
    stdout, stderr = io.StringIO(), io.StringIO()
    assert main(["chat"], stdin=io.StringIO(DROPOUT + "\n"), stdout=stdout, stderr=stderr) == 0
    out = stdout.getvalue()
    assert out.startswith(
        f"Dropout随机丢弃一部分神经元来预防过拟合 [1]。Dropout由Hinton在2012年提出，测试时需要把权重乘以保留概率 [2]。{UNVERIFIED}"
    )
    assert "[answered from your notes]" in out and "(unverified)" in out and API_KEY not in out + stderr.getvalue()


def test_cli_chat_json_stays_one_object_per_line(
    tutor: Tutor, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, server, tutor)
    server.script(RECORDED_ANSWERS["good"], Reply(status=401))
    stdout = io.StringIO()
    stdin = io.StringIO(f"{DROPOUT}\nWhat does batch normalization do?\n")
    assert main(["chat", "--json"], stdin=stdin, stdout=stdout, stderr=io.StringIO()) == 0
    first, second = (json.loads(line) for line in stdout.getvalue().splitlines())
    assert first["generator"] == MODEL and all(c["verified"] for c in first["citations"])
    assert second["generator"] == "extractive" and second["notices"] == [
        FAILED.format(reason="HTTP 401: check the API key")
    ]


def test_ollama_backend_unreachable_falls_back(tutor: Tutor, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{port}")
    answer = tutor.ask(DROPOUT, chat_model=get_chat_model("ollama:qwen2.5:7b", Settings()))
    assert answer.generator == "extractive" and answer.notices == (FAILED.format(reason="cannot reach the server"),)
