"""Text helpers shared by retrieval, follow-up rewriting and grading: terms, tokens, sentences.

An `Analyzer` turns text into content terms. Mixed Chinese/English terms are normalised to one canonical token
before jieba sees them, so "BN", "batch normalization" and "批归一化" all match each other in BM25. Its term table
is the shipped glossary (`tutor/data/glossary.tsv`), plus, for an index, the pairs the notes define themselves
(`批归一化（BN）`, `Stochastic Gradient Descent (SGD)`) and the user's own `<notes>/.tutor/aliases.yaml`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property, lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9.+\-]*[a-z0-9+]|[a-z0-9]|[\u3400-\u9fff]+")
CJK_RE = re.compile(r"[\u3400-\u9fff]")
SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*|[。！？!?；;]+")
INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
LETTERS_DIGITS = re.compile(r"^([a-z]+)(\d+)$")
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


# a markdown backslash escape ("3\\*3", "learning\\_rate") reads as the character it escapes
MD_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")
SUBSCRIPT_RE = re.compile(r"(?<![a-z0-9])([a-z])_\{?(\d{1,3})\}?(?![0-9])")
# sizes written as a product: "3 * 3 * 3", "$1\times1$", "5×5" are "3x3x3", "1x1", "5x5"
TIMES = r"\s*(?:\\times|×|\*|x)\s*"
DIMENSION_RE = re.compile(rf"\$?(?<![0-9a-z.])(\d{{1,4}}(?:{TIMES}\d{{1,4}}){{1,3}})(?![0-9a-z.])\$?")


def normalize(text: str) -> str:
    """One form for one spelling: NFKC (full-width letters and brackets), lower case, no invisible characters."""
    return INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text)).lower()


# a variant that starts with a Latin letter or digit must start a word
VARIANT_START = r"(?:(?<![a-z0-9])|(?![a-z0-9]))"


def _variant_trie(variants: Iterable[str]) -> dict:
    trie: dict = {}
    for variant in set(variants):
        node = trie
        for ch in variant:
            node = node.setdefault(ch, {})
        node[""] = variant  # a variant ends here
    return trie


def _alternatives(node: dict) -> list[tuple[str, str]]:
    """(child, regex) of a trie node's branches in the order the regex tries them: its children in order, then
    ending here (""), tried last so that the longest variant wins."""
    branches = []
    for ch, child in sorted(node.items()):
        if ch:
            branches.append((ch, (r"[\s_\-]?" if ch == " " else re.escape(ch)) + _emit(child)))
    if "" in node:
        variant = node[""]
        branches.append(("", r"(?![a-z0-9])" if re.search(r"[a-z0-9]$", variant) else ""))
    return branches


def _emit(node: dict) -> str:
    branches = [regex for _, regex in _alternatives(node)]
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


class VariantPattern:
    """The longest variant at each position, as a trie-shaped regex: `sub` works as `re.sub` with it would.

    A flat alternation of ~400 variants costs ~0.2 ms per call even on short text, which made tokenizing
    100k chunks take minutes; the trie lets the regex engine reject a position after one character.
    Latin variants must stand as words ("bn" not inside "bnorm"); CJK variants match anywhere. A space inside a
    variant also matches "_", "-" or nothing, so "Learning_Rate" and "learning-rate" are "learning rate".

    The whole table as one regex takes ~0.25 s to compile, at every start, mostly for words a question never
    holds, so it is compiled in pieces, each the first time a text needs it. At a position only the root's branch
    for the character there can match (they begin with distinct characters, none with a space), and in it only
    three of its alternatives, in this order: a space (which may match nothing), the next character of the text,
    and ending there. Each is compiled alone, and a search for where a variant may start finds where to try them.
    """

    def __init__(self, variants: Iterable[str]) -> None:
        self._trie = _variant_trie(variants)
        self._pieces: dict[tuple[str, str], re.Pattern[str]] = {}
        self._whole: re.Pattern[str] | None = None
        if not self._trie or " " in self._trie:  # no table, or a variant that may start with nothing: one regex
            self._whole = re.compile(VARIANT_START + _emit(self._trie), re.DOTALL)
        else:
            chars = "".join(re.escape(ch) for ch in sorted(self._trie))
            self._starts = re.compile(f"{VARIANT_START}[{chars}]", re.DOTALL)

    def _piece(self, first: str, second: str) -> re.Pattern[str]:
        """The alternative of the root's branch `first` that goes on with `second` (a space: any separator or
        none; "": the variant `first` ends there)."""
        pattern = self._pieces.get((first, second))
        if pattern is None:  # two threads may both compile it: the same pattern either way
            regex = dict(_alternatives({second: self._trie[first][second]}))[second]
            pattern = self._pieces[(first, second)] = re.compile(re.escape(first) + regex, re.DOTALL)
        return pattern

    def _match(self, text: str, at: int) -> re.Match[str] | None:
        first = text[at]
        node = self._trie[first]
        after = text[at + 1 : at + 2]
        seconds = (" ", after, "") if after not in (" ", "") else (" ", "")  # each alternative once
        for second in seconds:
            if second in node:
                match = self._piece(first, second).match(text, at)
                if match is not None:
                    return match
        return None

    def sub(self, repl: Callable[[re.Match[str]], str], text: str) -> str:
        if self._whole is not None:
            return self._whole.sub(repl, text)
        out: list[str] = []
        done = 0  # text[:done] is in out
        search = self._starts.search
        found = search(text)
        while found is not None:
            at = found.start()
            match = self._match(text, at)
            if match is None:
                found = search(text, at + 1)
                continue
            out.append(text[done:at])
            out.append(repl(match))
            done = match.end()  # never empty: it holds the character at `at`
            found = search(text, done)
        out.append(text[done:])
        return "".join(out)


def _variant_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", normalize(text)).strip()


class Analyzer:
    """Text -> content terms, with a term table: canonical term -> variants that mean the same."""

    def __init__(self, terms: Mapping[str, Iterable[str]]) -> None:
        self.terms = {c: tuple(dict.fromkeys(vs)) for c, vs in terms.items()}
        self.variants = {_variant_key(v): c for c, vs in self.terms.items() for v in (c, *vs) if _variant_key(v)}
        self.canonical = frozenset(self.terms)
        self.stopwords = stopwords()
        self._lookup = {k.replace(" ", ""): c for k, c in self.variants.items()}

    @cached_property
    def _pattern(self) -> VariantPattern:
        return VariantPattern(self.variants)

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever `tokenize` may split text differently: the term table, the function words, this module,
        jieba."""
        import jieba

        table = repr(sorted((k, v) for k, v in self.variants.items())).encode()
        words = repr(sorted(self.stopwords)).encode()
        return hashlib.sha1(Path(__file__).read_bytes() + table + words + jieba.__version__.encode()).hexdigest()[:16]

    def canonicalize(self, text: str) -> str:
        """Normalised text with every variant replaced by its canonical term, padded with spaces. A letter with a
        numeric subscript is one name, as plain text writes it: `$C_3$`, `C_{3}` and "C3" are "c3"."""
        text = SUBSCRIPT_RE.sub(r"\1\2", MD_ESCAPE_RE.sub(r"\1", normalize(text)))
        text = DIMENSION_RE.sub(lambda m: re.sub(TIMES, "x", m.group(1)), text)
        return self._pattern.sub(lambda m: f" {self._canonical_of(m.group(0))} ", text)

    def _canonical_of(self, matched: str) -> str:
        return self.variants.get(matched) or self._lookup.get(re.sub(r"[\s_\-]+", "", matched), matched)

    def translate(self, text: str, to_chinese: bool) -> str:
        """The text with every known term written in the other language, for dense search across languages:
        "k-means 对异常值敏感吗" -> "kmeans 对 outliers sensitive 吗" for English notes. A term with no form in that
        language stays as written. The embedder reads a mixed sentence well; it reads "异常值" against "outlier"
        much worse."""

        def other(match: re.Match[str]) -> str:
            canonical = self._canonical_of(match.group(0))
            forms = (
                (canonical, *self.terms.get(canonical, ()))
                if to_chinese
                else (*self.terms.get(canonical, ()), canonical)
            )
            wanted = next((f for f in forms if bool(CJK_RE.search(f)) == to_chinese), None)
            return f" {wanted} " if wanted else match.group(0)

        return re.sub(r"\s+", " ", self._pattern.sub(other, normalize(text))).strip()

    def tokenize(self, text: str, keep_stopwords: bool = False) -> list[str]:
        """Content terms: canonical terms, jieba words for Chinese runs, lower-case Latin words."""
        out: list[str] = []
        for match in TOKEN_RE.finditer(self.canonicalize(URL_TERM_RE.sub(" ", text))):
            token = match.group(0)
            if CJK_RE.match(token):
                words = [token] if token in self.canonical else _jieba().lcut_for_search(token)
            else:
                words = _latin_forms(token)
            for word in words:
                # single Chinese characters carry little meaning on their own, unless the table made them a term
                if keep_stopwords or (
                    word not in self.stopwords and (len(word) > 1 or word.isdigit() or word in self.canonical)
                ):
                    out.append(word if word in self.canonical or CJK_RE.match(word) else stem(word))
        return out

    def surface(self, query: str, term: str) -> str | None:
        """How a canonical term is written in the query ("BN" for batchnorm), to replace or reuse it."""
        low = query.lower()
        for variant in sorted((term, *self.terms.get(term, ())), key=len, reverse=True):
            at = low.find(variant.lower())
            if at >= 0:
                return query[at : at + len(variant)]
        # a stemmed word: "collaps" is written "collapsing" in the query
        return next((m.group(0) for m in WORD_RE.finditer(query) if stem(m.group(0).lower()) == term), None)

    def with_terms(self, extra: Mapping[str, Iterable[str]]) -> Analyzer:
        """This table plus `extra` groups: a group sharing a variant with one known term joins it."""
        merged = {c: list(vs) for c, vs in self.terms.items()}
        for canonical, variants in extra.items():
            group = [canonical, *variants]
            owners = Counter(o for v in group if (o := self.variants.get(_variant_key(v))) is not None)
            # the known term that holds most of the group; on a tie the group's own canonical (listed first) wins
            target = owners.most_common(1)[0][0] if owners else canonical
            for variant in group:
                # the notes' own definition beats the general table: notes that write "逻辑回归（Logistic
                # Regression，下面都写 LR）" mean logistic regression by LR, not the table's learning rate
                key, old = _variant_key(variant), self.variants.get(_variant_key(variant))
                if old is not None and old != target and key != _variant_key(old):
                    merged[old] = [v for v in merged[old] if _variant_key(v) != key]
            merged.setdefault(target, []).extend(v for v in group if v != target)
        return Analyzer(merged)


STEM_SUFFIXES = ("ing", "ed", "es", "s")
WORD_RE = re.compile(r"[A-Za-z]+")


def stem(word: str) -> str:
    """A light English stem, so that inflections meet: collapse/collapsing -> "collaps", gradients -> "gradient",
    GANs -> "gan". Only plain alphabetic words; "loss", "bias", "focus", "axis" keep their s."""
    if len(word) < 4 or not word.isalpha() or not word.isascii():
        return word
    if len(word) == 4:  # short words only lose a plural s (gans, cnns), then a silent e below (size, as "sizes")
        word = word[:-1] if word.endswith("s") and word[-2] not in "suiya" else word
    else:
        for suffix in STEM_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                if suffix == "s" and word[-2] in "suiya":
                    return word
                # "classes" -> class, but "images" -> image
                word = word[: -len(suffix)] if suffix != "es" or word[-3] in "sxhz" else word[:-1]
                break
    return word.removesuffix("e") if len(word) > 3 else word


def _latin_forms(token: str) -> list[str]:
    """A Latin token and the parts other spellings would give: "inception-v3" also as "inceptionv3", "v3";
    "vgg16" also as "vgg", "16"."""
    if "-" in token or "." in token:
        parts = [p for p in re.split(r"[\-.]", token) if p]
        return [token.replace("-", "").replace(".", ""), *parts] if len(parts) > 1 else parts or [token]
    split = LETTERS_DIGITS.match(token)
    return [token, split.group(1), split.group(2)] if split and len(split.group(1)) > 1 else [token]


@lru_cache(maxsize=1)
def aspect_terms() -> frozenset[str]:
    """What a question asks about a subject, never the subject itself (tutor/data/aspects.txt), as terms."""
    words = (w for line in data_lines("aspects.txt") for w in line.split())
    return frozenset(t for w in words for t in default_analyzer().tokenize(w, keep_stopwords=True))


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    """The shipped glossary alone: for text that belongs to no index."""
    return Analyzer(glossary())


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    from tutor.config import get_settings
    from tutor.jieba_dict import tokenizer as lazy_tokenizer

    jieba.setLogLevel(logging.WARNING)
    tokenizer = lazy_tokenizer(get_settings().cache_path)  # splits as jieba.Tokenizer(), loads far less
    for word in glossary():
        if CJK_RE.search(word):
            tokenizer.add_word(word, freq=200000)
    return tokenizer


def tokenize(text: str, keep_stopwords: bool = False) -> list[str]:
    """Content terms under the shipped glossary (an index's own analyzer also knows the notes' terms)."""
    return default_analyzer().tokenize(text, keep_stopwords)


def canonicalize(text: str) -> str:
    return default_analyzer().canonicalize(text)


# --- terms the notes define themselves ---------------------------------------------------------------------------

# 批归一化（BN）, 批归一化（Batch Normalization，简称 BN）: Latin names inside the brackets, each may follow a short
# Chinese lead-in (简称, 下面都写, 又称)
CJK_BEFORE_PAREN = re.compile(r"([\u3400-\u9fff]{2,})\s*\(\s*([a-z][^()\n]{0,80}?)\s*\)")
PAREN_NAME = re.compile(r"^(?:[\u3400-\u9fff]{1,6}\s*)?([a-z][a-z0-9 .\-_/+]*)$")
LATIN_BEFORE_CJK = re.compile(r"([a-z][a-z0-9\-]*(?: [a-z0-9\-]+){0,4})\s*\(\s*([\u3400-\u9fff]{2,8})\s*\)")
EXPANSION_ABBR = re.compile(r"((?:[a-z][a-z]+[ \-]){1,5}[a-z][a-z]+)\s*\(\s*([a-z][a-z0-9]{1,9})\s*\)")
ABBR_EXPANSION = re.compile(r"\b([a-z][a-z0-9]{1,9})\s*\(\s*((?:[a-z][a-z]+[ \-]){1,5}[a-z][a-z]+)\s*\)")
FUNCTION_CHARS = re.compile(r".*[的是和与或及了在为用将把对从由即指称叫之中、，]")
MAX_CJK_TERM = 8


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
        words = _jieba().lcut(term)
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
    for raw in texts:
        text = normalize(raw)
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
    return _merge_groups(pairs)


def _merge_groups(pairs: list[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in pairs:
        keys = [_variant_key(v) for v in group if _variant_key(v)]
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
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    groups: list[tuple[str, ...]] = []
    if isinstance(data, dict):
        groups = [(str(k), *(str(v) for v in (vs if isinstance(vs, list) else [vs]))) for k, vs in data.items()]
    elif isinstance(data, list):
        groups = [tuple(str(v) for v in g) for g in data if isinstance(g, list) and len(g) >= 2]
    else:
        raise ValueError(f"{path}: expected a list of lists of terms, or a mapping term -> [variants]")
    return {g[0]: tuple(g[1:]) for g in groups}


def is_chinese(text: str) -> bool:
    """True when the text is mostly written in Chinese (decides the language of replies)."""
    cjk = len(CJK_RE.findall(text))
    latin = len(re.findall(r"[A-Za-z]+", text))
    return cjk > 0 and cjk >= latin


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
