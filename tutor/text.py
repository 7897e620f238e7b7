"""Text helpers shared by retrieval, follow-up rewriting and grading: the shipped data files, one normal form,
the language of a text, its sentences.

Terms live in terms.py: an `Analyzer` turns text into content terms under a term table (its trie regex in
variants.py); term_mining.py finds the terms the notes and the user define.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CJK_RE = re.compile(r"[\u3400-\u9fff]")
SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*|[。！？!?；;]+")
INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
# a web address names where something is, not what it is about ("github.com/ry/tensorflow-resnet" is no ResNet answer)
URL_TERM_RE = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]（）\"'“”，。；]+", re.IGNORECASE)


def data_lines(name: str) -> list[str]:
    """Non-blank, non-comment lines of a shipped data file."""
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def glossary() -> dict[str, tuple[str, ...]]:
    """canonical term -> its variants, from tutor/data/glossary.tsv."""
    out: dict[str, tuple[str, ...]] = {}
    for line in data_lines("glossary.tsv"):
        canonical, _, variants = line.partition("\t")
        out[canonical.strip()] = tuple(v.strip() for v in variants.split("|") if v.strip())
    return out


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(w.lower() for line in data_lines("stopwords.txt") for w in line.split())


def normalize(text: str) -> str:
    """One form for one spelling: NFKC (full-width letters and brackets), lower case, no invisible characters."""
    return INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text)).lower()


def is_chinese(text: str) -> bool:
    """True when the text is mostly written in Chinese (decides the language of replies)."""
    cjk = len(CJK_RE.findall(text))
    latin = len(re.findall(r"[A-Za-z]+", text))
    return cjk > 0 and cjk >= latin


# a formula, displayed or inline: no language of its own ("$$W=W-\\alpha\\frac{dW}{\\sqrt{S_{dW}}}$$")
FORMULA_RE = re.compile(r"\$\$.*?(?:\$\$|\Z)|\$[^$\n]+\$", re.S)


def prose_chinese(text: str) -> bool | None:
    """Is the prose of a passage Chinese? None when, once its formulas are out, it holds no words to tell by."""
    prose = FORMULA_RE.sub(" ", text)
    if not CJK_RE.search(prose) and len(re.findall(r"[A-Za-z]{2,}", prose)) < 2:
        return None
    return is_chinese(prose)


def sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, punctuation kept, blank pieces dropped."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if re.match(r"^\s*(?:[-*+•]|\d+[.)、])\s+", line):
            out.append(line)
            continue
        out.extend(s.strip() for s in SENTENCE_RE.findall(line) if s.strip(" 。！？!?；;，,"))
    return out
