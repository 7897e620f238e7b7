"""jieba with its dictionary read one first character at a time, so a start-up does not load all of it.

jieba keeps word -> frequency for ~350k words (and every prefix of them) in one dict, and loading it takes
0.4-1.5 s of every start. Splitting a text only ever looks up strings that start with one of the text's own
characters, so the table is kept on disk grouped by first character (a cache file built once from jieba's own
dictionary) and a character's group is read the first time a text holds that character. The lookups, the
frequencies and the total are jieba's own, so every text splits exactly as with `jieba.Tokenizer()`.

Cache file (no pickle): one JSON header line {format, jieba, total, groups: {char: [start, end]}}, then per
first character a UTF-8 line of its words joined by tabs and a line of their frequencies joined by spaces;
offsets count from the end of the header line.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import jieba

FORMAT = 2
log = logging.getLogger(__name__)


class LazyTokenizer(jieba.Tokenizer):
    """A `jieba.Tokenizer` over the grouped cache file; every entry point that reads the table first loads the
    groups of the characters it is given."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        with path.open("rb") as f:
            header = json.loads(f.readline())
            self._data = f.read()
        if header.get("format") != FORMAT or header.get("jieba") != jieba.__version__:
            raise ValueError(f"{path} was written for another jieba or format")
        self._groups: dict[str, list[int]] = header["groups"]
        if max((end for _, end in self._groups.values()), default=0) != len(self._data):
            raise ValueError(f"{path} is truncated")
        self._loaded: set[str] = set()
        self._pending: dict[str, list[tuple[str, int]]] = {}  # first character -> words added before its group
        self._load_lock = threading.Lock()
        self.FREQ: dict[str, int] = {}
        self.total, self.initialized = int(header["total"]), True

    def _ensure(self, text) -> None:
        if not isinstance(text, str):
            return  # bytes: jieba decodes them itself; not used by the tutor
        missing = set(text) - self._loaded
        if missing:
            with self._load_lock:  # sessions tokenize in parallel threads
                for ch in missing - self._loaded:
                    span = self._groups.get(ch)
                    if span:
                        words, counts = self._data[span[0] : span[1]].decode("utf-8").split("\n")[:2]
                        self.FREQ.update(zip(words.split("\t"), map(int, counts.split(" ")), strict=True))
                    for word, freq in self._pending.pop(ch, ()):  # after its group, as if added after loading
                        self._set_word(word, freq)
                    self._loaded.add(ch)

    def cut(self, sentence, *args, **kwargs):
        self._ensure(sentence)
        return super().cut(sentence, *args, **kwargs)

    def get_DAG(self, sentence):
        self._ensure(sentence)
        return super().get_DAG(sentence)

    def tokenize(self, unicode_sentence, *args, **kwargs):
        self._ensure(unicode_sentence)
        return super().tokenize(unicode_sentence, *args, **kwargs)

    def add_word(self, word, freq=None, tag=None):
        if isinstance(word, str) and word and freq is not None and int(freq) > 0:
            # kept until its first character's group loads (a text holds that character): adding the glossary's
            # words must not load the groups of all their characters at start-up (~0.3 s). The total counts now.
            with self._load_lock:
                if word[0] not in self._loaded:
                    self.total += int(freq)
                    if tag:
                        self.user_word_tag_tab[word] = tag
                    self._pending.setdefault(word[0], []).append((word, int(freq)))
                    return None
        # the group of its first character (the word and all its prefixes) first, so loading it cannot undo this
        self._ensure(word[:1])
        return super().add_word(word, freq, tag)

    def _set_word(self, word: str, freq: int) -> None:
        """What jieba's add_word does to the table for a word of positive frequency, without the total."""
        self.FREQ[word] = freq
        for end in range(1, len(word)):
            self.FREQ.setdefault(word[:end], 0)

    def del_word(self, word):
        self._ensure(word[:1])
        return super().del_word(word)

    def suggest_freq(self, segment, tune=False):
        self._ensure(segment if isinstance(segment, str) else "".join(segment))
        return super().suggest_freq(segment, tune)


def cache_file(cache_dir: Path) -> Path:
    return cache_dir / f"jieba-{jieba.__version__}-f{FORMAT}.dict"


def write_cache(path: Path) -> None:
    """Build the grouped table from jieba's own dictionary (as jieba builds its prefix dict) and write it."""
    plain = jieba.Tokenizer()
    freq, total = plain.gen_pfdict(plain.get_dict_file())
    by_char: dict[str, list[tuple[str, int]]] = {}
    for word, count in freq.items():
        by_char.setdefault(word[0], []).append((word, count))
    groups, parts, at = {}, [], 0
    for ch in sorted(by_char):
        words, counts = zip(*by_char[ch], strict=True)
        data = ("\t".join(words) + "\n" + " ".join(map(str, counts)) + "\n").encode("utf-8")
        groups[ch] = [at, at + len(data)]
        parts.append(data)
        at += len(data)
    header = json.dumps({"format": FORMAT, "jieba": jieba.__version__, "total": total, "groups": groups})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header.encode("utf-8") + b"\n")
            f.writelines(parts)
        os.replace(tmp, path)  # two processes building at once each publish a whole file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tokenizer(cache_dir: Path) -> jieba.Tokenizer:
    """A lazily loading tokenizer (the cache file is built on first use); jieba's plain one if the cache folder
    cannot be written, so tokenizing never fails for want of a cache."""
    path = cache_file(cache_dir)
    for attempt in range(2):
        try:
            return LazyTokenizer(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if attempt:
                log.warning("jieba's dictionary cache %s is not usable (%s); loading the whole dictionary", path, exc)
                break
            try:
                write_cache(path)
            except OSError as write_exc:
                log.warning("cannot write jieba's dictionary cache in %s (%s)", cache_dir, write_exc)
                break
    plain = jieba.Tokenizer()
    plain.initialize()
    return plain
