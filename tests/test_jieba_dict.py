"""jieba with its dictionary loaded per first character splits every text exactly as plain jieba does."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import jieba
import pytest
from conftest import NOTES

from tutor.jieba_dict import LazyTokenizer, cache_file, tokenizer, write_cache
from tutor.text import CJK_RE, glossary

TEXTS = [
    *NOTES.read_text(encoding="utf-8").splitlines(),
    "批归一化和层归一化有什么区别",
    "梯度消失是什么原因造成的？那怎么解决？",
    "南京市长江大桥的研究生命起源",
]


@pytest.fixture(scope="module")
def lazy(tmp_path_factory):
    return tokenizer(tmp_path_factory.mktemp("cache"))


def with_glossary(tok):
    for word in glossary():
        if CJK_RE.search(word):
            tok.add_word(word, freq=200000)
    return tok


def test_lazy_tokenizer_splits_exactly_like_jieba(tmp_path):
    plain = jieba.Tokenizer()
    plain.initialize()
    lazy = tokenizer(tmp_path)
    assert isinstance(lazy, LazyTokenizer) and cache_file(tmp_path).is_file()
    assert lazy.total == plain.total
    for text in TEXTS:
        assert lazy.lcut_for_search(text) == plain.lcut_for_search(text), text
        assert lazy.lcut(text) == plain.lcut(text), text
    # with the tutor's glossary added, as tutor.terms does
    with_glossary(plain)
    lazy_g = with_glossary(tokenizer(tmp_path))
    for text in TEXTS:
        assert lazy_g.lcut_for_search(text) == plain.lcut_for_search(text), text
    assert lazy_g.total == plain.total


def test_only_the_characters_seen_are_loaded(lazy):
    lazy.lcut("丢弃")
    assert {"丢", "弃"} <= lazy._loaded
    assert len(lazy.FREQ) < 10_000  # of ~500k entries


def test_parallel_first_use_splits_consistently(tmp_path):
    plain = jieba.Tokenizer()
    plain.initialize()
    want = [plain.lcut_for_search(t) for t in TEXTS]
    lazy = tokenizer(tmp_path)
    barrier = threading.Barrier(8)

    def split_all(_):
        barrier.wait()
        return [lazy.lcut_for_search(t) for t in TEXTS]

    with ThreadPoolExecutor(8) as pool:
        assert all(got == want for got in pool.map(split_all, range(8)))


def test_a_damaged_cache_is_rebuilt_and_an_unwritable_folder_falls_back_to_jieba(tmp_path):
    path = cache_file(tmp_path)
    write_cache(path)
    path.write_bytes(path.read_bytes()[:-100])  # truncated
    assert isinstance(tokenizer(tmp_path), LazyTokenizer)
    assert json.loads(path.read_bytes().split(b"\n", 1)[0])["format"]
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    plain = tokenizer(blocked / "cache")
    assert not isinstance(plain, LazyTokenizer) and plain.lcut("梯度消失") == jieba.Tokenizer().lcut("梯度消失")


def test_words_added_before_their_characters_are_read_split_as_jieba_does(tmp_path):
    lazy = with_glossary(tokenizer(tmp_path))
    assert not lazy._loaded and not lazy.FREQ  # adding the glossary read no group
    plain = with_glossary(jieba.Tokenizer())
    lazy.add_word("归一化层", freq=5)  # a prefix of it comes later: the order of additions is kept
    plain.add_word("归一化层", freq=5)
    lazy.add_word("归一", freq=7)
    plain.add_word("归一", freq=7)
    lazy.del_word("学习率")
    plain.del_word("学习率")
    assert lazy.total == plain.total
    for text in [*TEXTS, "批归一化层和归一化层", "学习率太大"]:
        assert lazy.lcut_for_search(text) == plain.lcut_for_search(text), text
    for word in ("归一化层", "归一", "归", "学习率", "批归一化"):
        assert lazy.FREQ.get(word) == plain.FREQ.get(word), word
