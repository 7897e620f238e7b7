"""Terms the notes define themselves (批归一化（BN）, Stochastic Gradient Descent (SGD)) and the user's own
(`<notes>/.tutor/aliases.yaml`): the groups an index adds to the shipped glossary (`Analyzer.with_terms`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tutor.terms import jieba_tokenizer, variant_key
from tutor.text import CJK_RE, glossary, normalize, stopwords

# 批归一化（BN）, 批归一化（Batch Normalization，简称 BN）: Latin names inside the brackets, each may follow a short
# Chinese lead-in (简称, 下面都写, 又称)
CJK_BEFORE_PAREN = re.compile(r"([\u3400-\u9fff]{2,})\s*\(\s*([a-z][^()\n]{0,80}?)\s*\)")
PAREN_NAME = re.compile(r"^(?:[\u3400-\u9fff]{1,6}\s*)?([a-z][a-z0-9 .\-_/+]*)$")
LATIN_BEFORE_CJK = re.compile(r"([a-z][a-z0-9\-]*(?: [a-z0-9\-]+){0,4})\s*\(\s*([\u3400-\u9fff]{2,8})\s*\)")
EXPANSION_ABBR = re.compile(r"((?:[a-z][a-z]+[ \-]){1,5}[a-z][a-z]+)\s*\(\s*([a-z][a-z0-9]{1,9})\s*\)")
ABBR_EXPANSION = re.compile(r"\b([a-z][a-z0-9]{1,9})\s*\(\s*((?:[a-z][a-z]+[ \-]){1,5}[a-z][a-z]+)\s*\)")
FUNCTION_CHARS = re.compile(r".*[的是和与或及了在为用将把对从由即指称叫之中、，]")
MAX_CJK_TERM = 8
LATIN_WORD = re.compile(r"[a-z][a-z0-9_]*")  # an identifier ("pe_input") is one word


def _initials_match(abbr: str, words: list[str]) -> list[str] | None:
    """The trailing words whose initials spell the abbreviation (SGD <- stochastic gradient descent)."""
    letters = re.sub(r"\d", "", abbr)
    n = len(letters)
    if n < 2 or len(words) < n:
        return None
    tail = words[-n:]
    return tail if "".join(w[0] for w in tail) == letters else None


def _cjk_term(run: str) -> str | None:
    term = FUNCTION_CHARS.sub("", run)
    if len(term) > MAX_CJK_TERM:
        words = jieba_tokenizer().lcut(term)
        kept: list[str] = []
        while words and sum(map(len, kept)) + len(words[-1]) <= MAX_CJK_TERM:
            kept.insert(0, words.pop())
        term = "".join(kept)
    return term if len(term) >= 2 else None


def mine_terms(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Term pairs the notes define: 批归一化（BN）, 学习率(learning rate), Batch Normalization (BN), lr (learning rate).

    Returns canonical -> variants; groups that share a variant are merged."""
    pairs: list[tuple[str, ...]] = []
    stop = stopwords()
    used: set[str] = set()  # every Latin word the notes use
    for raw in texts:
        text = normalize(raw)
        used.update(LATIN_WORD.findall(text))
        if "(" not in text:
            continue
        for cjk, latin in CJK_BEFORE_PAREN.findall(text):
            term = _cjk_term(cjk)
            pieces = (PAREN_NAME.match(p.strip()) for p in re.split(r"[,，;、]", latin))
            names = [m.group(1).strip(" .-_/") for m in pieces if m]
            names = [n for n in names if 2 <= len(n) <= 40 and len(n.split()) <= 5 and n not in stop]
            if term and names:
                pairs.append((term, *names))
        for latin, cjk in LATIN_BEFORE_CJK.findall(text):
            words = [w for w in latin.split() if w not in stop]
            if words and len(cjk) >= 2:
                pairs.append((cjk, " ".join(words[-3:])))
        for expansion, abbr in EXPANSION_ABBR.findall(text):
            initials = _initials_match(abbr, re.split(r"[ \-]", expansion))
            if initials:
                pairs.append((abbr, " ".join(initials)))
        for abbr, expansion in ABBR_EXPANSION.findall(text):
            initials = _initials_match(abbr, re.split(r"[ \-]", expansion))
            if initials and len(initials) == len(re.split(r"[ \-]", expansion)):
                pairs.append((abbr, " ".join(initials)))
    return _merge_groups(pairs + _acronyms(pairs, used | set(stop)))


def _acronyms(pairs: list[tuple[str, ...]], taken: set[str]) -> list[tuple[str, ...]]:
    """The initials of a name the notes define in three to five words (多头注意力（Multi-Head Attention） -> MHA), when only
    that one name has them, the notes never write them as a word, and the glossary gives them no other meaning: a
    question may abbreviate what the notes spell out."""
    known = {variant_key(v) for canonical, variants in glossary().items() for v in (canonical, *variants)}
    names: dict[str, set[str]] = {}
    defined = {variant_key(v) for group in pairs for v in group if re.fullmatch(r"[a-z][a-z0-9]{1,9}", v)}
    for group in pairs:
        for name in group:
            parts = [w for w in re.split(r"[ \-_]+", name.strip()) if w]
            # three words at least: two letters are too often a word or another name ("hi", "al", "dc")
            if 3 <= len(parts) <= 5 and all(re.fullmatch(r"[a-z][a-z0-9]*", w) for w in parts):
                names.setdefault("".join(w[0] for w in parts), set()).add(" ".join(parts))
    return [
        (acronym, next(iter(spelled)))
        for acronym, spelled in names.items()
        if len(spelled) == 1 and acronym not in taken and acronym not in known and acronym not in defined
    ]


def _merge_groups(pairs: list[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in pairs:
        keys = [variant_key(v) for v in group if variant_key(v)]
        for other in keys[1:]:
            parent[find(other)] = find(keys[0])
    groups: dict[str, list[str]] = {}
    for key in parent:
        groups.setdefault(find(key), []).append(key)
    out = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        cjk = [m for m in members if CJK_RE.search(m)]
        canonical = min(cjk, key=len) if cjk else min(members, key=len).replace(" ", "")
        out[canonical] = tuple(sorted(m for m in members if m != canonical))
    return out


def user_terms(corpus_dir: Path) -> dict[str, tuple[str, ...]]:
    """The user's own terms: `<notes>/.tutor/aliases.yaml`, a list of lists of variants or a mapping
    term -> [variants]. A file that cannot be read is reported, not fatal."""
    path = corpus_dir / ".tutor" / "aliases.yaml"
    if not path.is_file():
        return {}
    import yaml  # deferred: only for folders that have the file

    data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    groups: list[tuple[str, ...]] = []
    if isinstance(data, dict):
        groups = [(str(k), *(str(v) for v in (vs if isinstance(vs, list) else [vs]))) for k, vs in data.items()]
    elif isinstance(data, list):
        groups = [tuple(str(v) for v in g) for g in data if isinstance(g, list) and len(g) >= 2]
    else:
        raise ValueError(f"{path}: expected a list of lists of terms, or a mapping term -> [variants]")
    return {g[0]: tuple(g[1:]) for g in groups}
