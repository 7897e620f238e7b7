"""The longest term variant at each position of a text, as a trie-shaped regex compiled in pieces (`VariantPattern`):
how an `Analyzer` (terms.py) finds the variants of its term table in a text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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
