"""The one pattern for a web address in notes, answers and fetched articles: the parser records links with it,
the fetcher fetches what it finds, the renderer links it, so all three agree on where an address ends.

An address runs to whitespace, a quote, a bracket or a CJK/full-width punctuation mark. Parentheses stay in it
only in balanced pairs (https://en.wikipedia.org/wiki/Dropout_(neural_networks)), so "(see https://x.org/a)"
ends before its ")"; and it never ends in a sentence's punctuation (".,;:!?") or in a markdown "*".
"""

from __future__ import annotations

import re

_CHAR = r"[^\s<>\"'`()\[\]{}|\\^（）【】「」《》〈〉，。；：！？、“”‘’]"
_PARENS = rf"\((?:{_CHAR}|\({_CHAR}*\))*\)"  # a balanced pair, one more pair nested in it at most
URL_PATTERN = rf"https?://(?:{_CHAR}|{_PARENS})+(?<![.,;:!?*])"
URL_RE = re.compile(URL_PATTERN, re.IGNORECASE)
WEB_SCHEME_RE = re.compile(r"https?://", re.IGNORECASE)


def is_web_url(url: str) -> bool:
    """Only http(s) addresses become links or are fetched: never javascript:, data:, file: or a relative path."""
    return WEB_SCHEME_RE.match(url) is not None
