"""The Gradio app over HTTP with gradio_client: answers, streaming, per-session history, failing questions."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client

from tests.helpers import isolated_dirs, serve, shared_settings
from tutor.answer.chat import Tutor

QUESTION = "dropout为什么能防止过拟合？"
FOLLOW_UP = "从bagging的角度呢？"


@pytest.fixture(scope="module")
def tutor(tmp_path_factory):
    with isolated_dirs(tmp_path_factory, "app"):
        yield Tutor.load(shared_settings(tmp_path_factory))


@pytest.fixture(scope="module")
def url(tutor):
    demo = serve(tutor.settings, tutor)
    try:
        yield demo.local_url
    finally:
        demo.close()


def ask(client: Client, message: str) -> list[dict]:
    chat, textbox = client.predict(message, api_name="/ask")
    assert textbox == ""
    return chat


def text(message: dict) -> str:
    return "".join(part["text"] for part in message["content"])


def test_asking_returns_a_cited_answer_with_its_sources(url):
    chat = ask(Client(url, verbose=False), QUESTION)
    assert [m["role"] for m in chat] == ["user", "assistant"]
    answer = text(chat[1])
    assert "answered from your notes" in answer
    assert '<a class="cite" href="#src-1-1"' in answer and 'id="src-1-1"' in answer
    assert "1.3 讲一下你怎么理解dropout" in answer and '<div class="ln-row hit"><span class="ln">15</span>' in answer


def test_two_clients_never_share_a_conversation(url):
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    ask(first, QUESTION)
    alone = ask(second, FOLLOW_UP)
    assert len(alone) == 2 and "searched for" not in text(alone[1])  # no history here to rewrite against
    followed = ask(first, FOLLOW_UP)
    assert len(followed) == 4
    assert "searched for: <q>从bagging的角度 dropout</q>" in text(followed[3])
    assert 'id="src-2-1"' in text(followed[3])  # the second turn's sources have their own anchors


def test_answers_stream_in_pieces(url):
    started = time.perf_counter()
    job = Client(url, verbose=False).submit(QUESTION, api_name="/ask")
    updates = [text(chat[-1]) for chat, _ in job]
    assert "searching your notes" in updates[0]
    assert any("streaming" in u and "[1]" in u for u in updates[1:-1])
    assert "Sources" in updates[-1] and "streaming" not in updates[-1]
    assert time.perf_counter() - started < 10


def test_failing_questions_show_a_message_and_the_conversation_goes_on(url, tutor, monkeypatch):
    client = Client(url, verbose=False)
    chat = ask(client, "   ")
    assert "Please type a question" in text(chat[1])
    chat = ask(client, "为什么" * 40_000)
    assert "only the first 2,000 were searched" in text(chat[3]) and "120,000 characters in all" in text(chat[2])

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(tutor.retriever, "search", broken)
    chat = ask(client, QUESTION)
    assert "Something went wrong answering this (RuntimeError)" in text(chat[5])
    monkeypatch.undo()
    chat = ask(client, QUESTION)
    assert len(chat) == 8 and "answered from your notes" in text(chat[7])
