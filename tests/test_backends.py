"""Backends registered by name: the settings users already write name the same backends, parsed once."""

from __future__ import annotations

import pytest

from tutor.answer.chat_models import CHAT_MODELS, make_chat_model
from tutor.backends import Registry, Spec
from tutor.config import Settings
from tutor.index.embeddings import EMBEDDERS, HashEmbeddings, embed_queries, embedder_name, get_embeddings


@pytest.mark.parametrize(
    ("text", "backend", "argument"),
    [
        ("ollama:qwen2.5:7b", "ollama", "qwen2.5:7b"),  # only the first colon separates
        (" OpenAI:gpt-4o-mini ", "openai", "gpt-4o-mini"),
        ("sentence-transformers:BAAI/bge-small-zh-v1.5", "sentence-transformers", "BAAI/bge-small-zh-v1.5"),
        ("e5-small-q4", "e5-small-q4", ""),
        ("", "", ""),
    ],
)
def test_a_spec_is_a_backend_and_its_argument(text, backend, argument):
    spec = Spec.parse(text)
    assert (spec.backend, spec.argument, spec.text) == (backend, argument, text)


def test_every_backend_has_a_name_of_its_own():
    assert EMBEDDERS.names() == ["e5-small-q4", "hash", "sentence-transformers"]
    assert CHAT_MODELS.names() == ["ollama", "openai"]


@pytest.mark.parametrize(
    ("setting", "recorded"),
    [
        ("e5-small-q4", "e5-small-q4"),
        ("default", "default"),
        ("hash", "hash:64"),
        ("hash:16", "hash:16"),
        ("sentence-transformers:BAAI/bge-small-zh-v1.5", "sentence-transformers:BAAI/bge-small-zh-v1.5"),
        ("word2vec", "word2vec"),
    ],
)
def test_the_index_records_the_embedder_by_the_name_it_always_had(setting, recorded):
    assert embedder_name(setting) == recorded  # a changed name would make every existing index stale


def test_batched_queries_are_the_single_ones():
    h = get_embeddings("hash:16")
    assert isinstance(h, HashEmbeddings)
    texts = ["dropout", "batch norm", "dropout"]
    assert embed_queries(h, texts).tolist() == [h.embed_query(t) for t in texts]

    class OnlyLangChain:  # any LangChain Embeddings: one embed_query per text
        def embed_query(self, text):
            return h.embed_query(text)

    assert embed_queries(OnlyLangChain(), texts).tolist() == embed_queries(h, texts).tolist()


def test_a_new_backend_is_one_registration():
    registry: Registry[str] = Registry("greeting")

    @registry.register("hello", "hi", label=lambda spec: f"hello:{spec.argument}")
    def hello(spec: Spec) -> str:
        return f"hello {spec.argument}"

    backend = registry.find(Spec.parse("hi:you"))
    assert backend is not None and backend.name == "hello" and backend.factory(Spec.parse("hi:you")) == "hello you"
    assert registry.find(Spec.parse("bye")) is None and registry.names() == ["hello"]


def test_a_made_model_names_its_backend(monkeypatch):
    from tutor.answer.llm import model_label

    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:11999")
    model = make_chat_model("ollama:qwen2.5:7b", Settings())
    assert model_label(model) == "ollama:qwen2.5:7b"
    assert make_chat_model("none", Settings()) is None
