"""Text -> content terms. An `Analyzer` normalises mixed Chinese/English terms to one canonical token before jieba
sees them, so "BN", "batch normalization" and "批归一化" all match each other in BM25. Its term table is the shipped
glossary (`tutor/data/glossary.tsv`), plus, for an index, the pairs the notes define themselves (`批归一化（BN）`,
`Stochastic Gradient Descent (SGD)`) and the user's own `<notes>/.tutor/aliases.yaml` (term_mining.py).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cached_property, lru_cache
from pathlib import Path

from tutor.config import get_settings
from tutor.text import CJK_RE, URL_TERM_RE, data_lines, glossary, normalize, stopwords
from tutor.variants import VariantPattern

# the modules and word list that decide how text splits into terms: an index tokenised by other ones is rebuilt
TOKENIZER_FILES = (
    *(Path(__file__).with_name(name) for name in ("text.py", "variants.py", "terms.py")),
    Path(__file__).with_name("data") / "jieba_words.txt",
)
TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9.+\-]*[a-z0-9+]|[a-z0-9]|[\u3400-\u9fff]+")
# an English contraction's tail ("it's", "don't") is no word of its own
CONTRACTION_RE = re.compile(r"['’](?:s|t|d|m|ll|re|ve)\b")
LETTERS_DIGITS = re.compile(r"^([a-z]+)(\d+)$")
# a markdown backslash escape ("3\\*3", "learning\\_rate") reads as the character it escapes
MD_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")
SUBSCRIPT_RE = re.compile(r"(?<![a-z0-9])([a-z])_\{?(\d{1,3})\}?(?![0-9])")
# a Greek letter is the name LaTeX gives it: notes write "γ" in prose and "$\\gamma$" in formulas, and a question
# types either ("FL 里的 γ 取几")
GREEK = dict(
    zip(
        "αβγδεϵζηθϑικλμνξοπρστυφϕχψως",
        [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "epsilon",
            "epsilon",
            "zeta",
            "eta",
            "theta",
            "theta",
            "iota",
            "kappa",
            "lambda",
            "mu",
            "nu",
            "xi",
            "omicron",
            "pi",
            "rho",
            "sigma",
            "tau",
            "upsilon",
            "phi",
            "phi",
            "chi",
            "psi",
            "omega",
            "sigma",
        ],
        strict=True,
    )
)
GREEK_RE = re.compile(f"[{''.join(GREEK)}]")
# sizes written as a product: "3 * 3 * 3", "$1\times1$", "5×5" are "3x3x3", "1x1", "5x5"
TIMES = r"\s*(?:\\times|×|\*|x)\s*"
DIMENSION_RE = re.compile(rf"\$?(?<![0-9a-z.])(\d{{1,4}}(?:{TIMES}\d{{1,4}}){{1,3}})(?![0-9a-z.])\$?")


def variant_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", normalize(text)).strip()


class Analyzer:
    """Text -> content terms, with a term table: canonical term -> variants that mean the same."""

    def __init__(self, terms: Mapping[str, Iterable[str]]) -> None:
        self.terms = {c: tuple(dict.fromkeys(vs)) for c, vs in terms.items()}
        self.variants = {variant_key(v): c for c, vs in self.terms.items() for v in (c, *vs) if variant_key(v)}
        self.canonical = frozenset(self.terms)
        self.stopwords = stopwords()
        self._lookup = {k.replace(" ", ""): c for k, c in self.variants.items()}

    @cached_property
    def _by_stem(self) -> dict[str, str]:
        """Stem of a one-word Latin variant -> its term, so that another inflection meets the table: "upsample" and
        "convolutions" are the table's "upsampling" and "convolution". A stem that two terms share is left out."""
        owners: dict[str, set[str]] = {}
        for canonical, variants in self.terms.items():
            for variant in (canonical, *variants):
                word = variant.lower()
                if word.isascii() and word.isalpha() and len(word) >= 4:
                    owners.setdefault(stem(word), set()).add(canonical)
        return {root: next(iter(terms)) for root, terms in owners.items() if len(terms) == 1}

    @cached_property
    def _pattern(self) -> VariantPattern:
        return VariantPattern(self.variants)

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever `tokenize` may split text differently: the term table, the function words, the code of
        the modules that tokenise (`TOKENIZER_FILES`), jieba."""
        import jieba  # deferred: 60 ms, paid only when an index is built or loaded

        table = repr(sorted((k, v) for k, v in self.variants.items())).encode()
        words = repr(sorted(self.stopwords)).encode()
        code = b"".join(path.read_bytes() for path in TOKENIZER_FILES)
        return hashlib.sha1(code + table + words + jieba.__version__.encode()).hexdigest()[:16]

    def canonicalize(self, text: str) -> str:
        """Normalised text with every variant replaced by its canonical term, padded with spaces. A letter with a
        numeric subscript is one name, as plain text writes it: `$C_3$`, `C_{3}` and "C3" are "c3"."""
        text = GREEK_RE.sub(lambda m: f" {GREEK[m.group(0)]}", normalize(text))
        text = SUBSCRIPT_RE.sub(r"\1\2", MD_ESCAPE_RE.sub(r"\1", text))
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
        for match in TOKEN_RE.finditer(CONTRACTION_RE.sub("", self.canonicalize(URL_TERM_RE.sub(" ", text)))):
            token = match.group(0)
            if CJK_RE.match(token):
                words = [token] if token in self.canonical else jieba_tokenizer().lcut_for_search(token)
            else:
                words = _latin_forms(token)
            for word in words:
                # single Chinese characters carry little meaning on their own, unless the table made them a term; a
                # single Latin letter names a variable ("K-means的K值怎么选", "How to select K")
                if keep_stopwords or (
                    word not in self.stopwords
                    and (len(word) > 1 or word.isdigit() or word.isascii() or word in self.canonical)
                    and not self._function_pair(word)
                ):
                    if word in self.canonical or CJK_RE.match(word):
                        out.append(word)
                    else:
                        root = stem(word)
                        out.append(self._by_stem.get(root, root))
        return out

    def _function_pair(self, word: str) -> bool:
        """Two function characters that jieba joined ("是从" in "权重是从什么分布里采样的", "这会"): no content."""
        return len(word) == 2 and word not in self.canonical and all(ch in self.stopwords for ch in word)

    def surface(self, query: str, term: str) -> str | None:
        """How a canonical term is written in the query ("BN" for batchnorm), to replace or reuse it."""
        low = query.lower()
        for variant in sorted((term, *self.terms.get(term, ())), key=len, reverse=True):
            # a Latin variant is a whole word: the stem "chang" is not written in "change"
            edge = r"(?<![a-z0-9])" if variant[:1].isascii() and variant[:1].isalnum() else ""
            end = r"(?![a-z0-9])" if variant[-1:].isascii() and variant[-1:].isalnum() else ""
            found = re.search(edge + re.escape(variant.lower()) + end, low)
            if found:
                return query[found.start() : found.end()]
        # a stemmed word: "collaps" is written "collapsing" in the query
        return next((m.group(0) for m in WORD_RE.finditer(query) if stem(m.group(0).lower()) == term), None)

    def with_terms(self, extra: Mapping[str, Iterable[str]]) -> Analyzer:
        """This table plus `extra` groups: a group sharing a variant with one known term joins it."""
        merged = {c: list(vs) for c, vs in self.terms.items()}
        for canonical, variants in extra.items():
            group = [canonical, *variants]
            owners = Counter(o for v in group if (o := self.variants.get(variant_key(v))) is not None)
            # the known term that holds most of the group; on a tie the group's own canonical (listed first) wins
            target = owners.most_common(1)[0][0] if owners else canonical
            for variant in group:
                # the notes' own definition beats the general table: notes that write "逻辑回归（Logistic
                # Regression，下面都写 LR）" mean logistic regression by LR, not the table's learning rate
                key, old = variant_key(variant), self.variants.get(variant_key(variant))
                if old is not None and old != target and key != variant_key(old):
                    merged[old] = [v for v in merged[old] if variant_key(v) != key]
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
def jieba_tokenizer():
    import jieba  # deferred, with its dictionary: 60 ms, paid only when a Chinese run is tokenised

    from tutor.jieba_dict import tokenizer as lazy_tokenizer  # imports jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = lazy_tokenizer(get_settings().cache_path)  # splits as jieba.Tokenizer(), loads far less
    for word in glossary():
        if CJK_RE.search(word):
            tokenizer.add_word(word, freq=200000)
    for word in data_lines("jieba_words.txt"):
        tokenizer.add_word(word, freq=200000)
    return tokenizer


def tokenize(text: str, keep_stopwords: bool = False) -> list[str]:
    """Content terms under the shipped glossary (an index's own analyzer also knows the notes' terms)."""
    return default_analyzer().tokenize(text, keep_stopwords)


def canonicalize(text: str) -> str:
    return default_analyzer().canonicalize(text)
