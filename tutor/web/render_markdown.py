"""Answer and note text -> HTML with markdown-it-py: lists, headings, code, emphasis, links, [n] citation links.

Raw HTML is never passed through (html disabled: a tag in a note or in a model's answer shows as text), links
are http(s) only and open in a new tab without access to the page, and images are not loaded. Three rules are
our own: a bare web address becomes a link (the pattern the parser and the fetcher use, tutor/urls.py), in an
answer a [n] marker becomes a link to its source block, and a $formula$ is shown as written, not read as markdown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline, emphasis
from markdown_it.token import Token

from tutor.urls import URL_RE, is_web_url
from tutor.web.assets import fragment, template

CITE_RE = re.compile(r"\[(\d{1,3})\]")
# $$…$$ or $…$ (no space inside the dollars, no digit after the closing one: "$5 and $10" is money)
MATH_RE = re.compile(r"\$\$.+?\$\$|\$(?=\S)[^$\n]*?\S\$(?!\d)|\$[^\s$]\$(?!\d)", re.DOTALL)
SCHEME_BEFORE_RE = re.compile(r"(?<![a-z0-9])https?$", re.IGNORECASE)  # "http" just before "://"
# CJK text, CJK and full-width punctuation, curly quotes: a "*" run beside them opens and closes as between letters
# what an inline rule can act on in a note line (escapes and entities are off there); a line without any is plain text
LINE_MARKUP_RE = re.compile(r"[*_`\[<~$\n\r\0]|://")
CJK_RE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u2018-\u201f]")
# filled once per link, marker or formula of a note line or an answer: %-format strings, read once
LINK = fragment("link.html", "href", "text")
LINK_OPEN = fragment("link-open.html", "href")  # markdown-it writes the text and the closing tag
CITE = fragment("cite.html", "turn", "n", "n", "n")
MATH = fragment("math.html", "formula")
LINE_BREAK = template("line-break.html").template


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def link(url: str, text: str | None = None) -> str:
    """An external link that cannot reach back into the page (http/https only)."""
    if not is_web_url(url):
        return esc(text or url)
    return LINK % (esc(url), esc(text or url))


def cite_link(n: int | str, turn: int | str) -> str:
    return CITE % (turn, n, n, n)


def inline(text: str, turn: int | str | None = None) -> str:
    """One line of a note (or a short point) with its inline markdown: **bold**, *emphasis*, `code`, links, and
    with a `turn`, [n] markers as links to that turn's sources. Block syntax ("# ", "- ", "1. ") stays as written,
    and so do backslashes and entities: the line reads as it does in the file."""
    if not LINE_MARKUP_RE.search(text):
        return esc(text)  # most note lines: nothing for markdown to do, and the same HTML nine times faster
    return str(LINE_MD.renderInline(text, {"turn": turn}))


def answer_body(text: str, turn: int | str) -> str:
    """An answer's markdown as HTML: paragraphs with their line breaks, lists, headings, code blocks, tables."""
    return str(ANSWER_MD.render(text.strip(), {"turn": turn}))


# --- the rules of our own ----------------------------------------------------------------------------------


def _bare_url(state: StateInline, silent: bool) -> bool:
    """At "://" after "http(s)": the address as far as tutor.urls.URL_RE takes it, as a link."""
    pos = state.pos
    if state.linkLevel > 0 or not state.src.startswith("://", pos):
        return False
    scheme = SCHEME_BEFORE_RE.search(state.pending)
    if scheme is None:
        return False
    found = URL_RE.match(state.src, pos - len(scheme.group(0)), state.posMax)
    if found is None:
        return False
    if not silent:
        state.pending = state.pending[: -len(scheme.group(0))]
        state.push("link_open", "a", 1).attrs = {"href": found.group(0)}
        state.push("text", "", 0).content = found.group(0)
        state.push("link_close", "a", -1)
    state.pos = found.end()
    return True


def _citation(state: StateInline, silent: bool) -> bool:
    """[n] in an answer -> a link to source block n of this turn (`env["turn"]`); in a note line it stays text."""
    turn = state.env.get("turn")
    # silent is a link label being measured: "[see [2]](url)" stays a link (with [2] as text), as in CommonMark
    if silent or turn is None or state.linkLevel > 0 or state.src[state.pos] != "[":
        return False
    found = CITE_RE.match(state.src, state.pos, state.posMax)
    if found is None:
        return False
    state.push("cite", "", 0).meta = {"n": int(found.group(1)), "turn": turn}
    state.pos = found.end()
    return True


def _math(state: StateInline, silent: bool) -> bool:
    """$…$ and $$…$$ exactly as written: "\\hat{y}_i - x_{j}" would otherwise lose its backslashes and underscores."""
    if state.src[state.pos] != "$":
        return False
    found = MATH_RE.match(state.src, state.pos, state.posMax)
    if found is None:
        return False
    if not silent:
        state.push("math", "", 0).content = found.group(0)
    state.pos = found.end()
    return True


def _emphasis(state: StateInline, silent: bool) -> bool:
    """markdown-it's emphasis rule, but a "*" run touching CJK text may open or close like one between letters:
    CommonMark's flanking rules would leave "**原因：**先归一化" unbolded, as the run sits after punctuation."""
    start, before = state.pos, len(state.delimiters)
    if not emphasis.tokenize(state, silent):
        return False
    prev = state.src[start - 1] if start > 0 else " "
    after = state.src[state.pos] if state.pos < state.posMax else " "
    if state.src[start] == "*" and (CJK_RE.match(prev) or CJK_RE.match(after)):
        for delim in state.delimiters[before:]:
            delim.open = delim.open or not after.isspace()
            delim.close = delim.close or not prev.isspace()
    return True


# --- rendering -----------------------------------------------------------------------------------------------


class _Renderer(RendererHTML):
    """HTML without the newlines markdown-it puts between block tags (code keeps its own), our escaping, and
    every link an external one (class "ext", a new tab, no opener, no referrer)."""

    def renderToken(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return str(super().renderToken(tokens, idx, options, env)).strip("\n")

    def text(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return esc(tokens[idx].content)

    def softbreak(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return LINE_BREAK if options["breaks"] else "\n"

    hardbreak = softbreak

    def link_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        href = str(tokens[idx].attrGet("href") or "")
        return LINK_OPEN % esc(href)

    def math(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return MATH % esc(tokens[idx].content)

    def cite(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return cite_link(tokens[idx].meta["n"], tokens[idx].meta["turn"])


class _Markdown(MarkdownIt):
    def __init__(self, *, block: bool) -> None:
        options = {"html": False, "xhtmlOut": False, "breaks": block}  # a note line keeps its "\n" as it is
        super().__init__("commonmark", options, renderer_cls=_Renderer)
        self.enable(["table", "strikethrough"])
        # a "[1]: https://…" line would be swallowed as a link definition and turn [1] into that link
        self.disable(["reference", "image"] + ([] if block else ["escape", "entity"]))
        self.inline.ruler.at("emphasis", _emphasis)
        self.inline.ruler.before("escape", "math", _math)
        self.inline.ruler.after("link", "citation", _citation)
        self.inline.ruler.after("text", "bare_url", _bare_url)

    def validateLink(self, url: str) -> bool:
        return is_web_url(url)


ANSWER_MD = _Markdown(block=True)
LINE_MD = _Markdown(block=False)
