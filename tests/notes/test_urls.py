"""One web-address pattern (tutor/urls.py) for the parser, the fetcher and the renderer: where an address ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Tags
from tutor.notes.markdown import parse_markdown
from tutor.notes.references import find_links
from tutor.urls import URL_RE, is_web_url
from tutor.web.render_markdown import answer_body, inline

WIKI = "https://en.wikipedia.org/wiki/Dropout_(neural_networks)"


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        (f"wiki {WIKI} here", [WIKI]),
        (f"(see {WIKI}).", [WIKI]),  # the balanced pair stays, the unbalanced ")" and the full stop go
        (f"参考：{WIKI}。下一句", [WIKI]),
        ("参考（https://zhuanlan.zhihu.com/p/34879333）。", ["https://zhuanlan.zhihu.com/p/34879333"]),
        (
            "链接https://a.example/x，还有https://b.example/y、和“https://c.example/z”",
            ["https://a.example/x", "https://b.example/y", "https://c.example/z"],
        ),
        (
            "[post](https://blog.example/a/1), and https://a.example/x.",
            ["https://blog.example/a/1", "https://a.example/x"],
        ),
        ("<https://b.example/y>; 'https://c.example/z'", ["https://b.example/y", "https://c.example/z"]),
        ("**https://bold.example/p**", ["https://bold.example/p"]),
        ("https://x.example/a_(b_(c))d) end", ["https://x.example/a_(b_(c))d"]),
        ("https://zh.wikipedia.org/wiki/神经网络，", ["https://zh.wikipedia.org/wiki/神经网络"]),
        ("HTTPS://UP.EXAMPLE/Q?a=1&b=2!", ["HTTPS://UP.EXAMPLE/Q?a=1&b=2"]),
        ("ftp://files.example/a file:///etc/passwd https:// javascript:alert(1)", []),
    ],
)
def test_where_an_address_ends(text, urls):
    assert [m.group(0) for m in URL_RE.finditer(text)] == urls


def test_only_http_and_https_are_web_addresses():
    assert is_web_url("https://x.example") and is_web_url("HTTP://x.example")
    assert not any(map(is_web_url, ["javascript:alert(1)", "data:text/html,x", "file:///etc", "/local", "ftp://x"]))


NOTE = f"""# DNN

## 1.3 dropout？

{WIKI}

## 1.4 BN？

参考（https://zhuanlan.zhihu.com/p/34879333）。见 [post](https://blog.example/a/1).
"""


def test_parser_fetcher_and_renderer_take_the_same_address(tmp_path: Path):
    sections, _ = parse_markdown(NOTE, "corpus/notes.md")
    parsed = [url for s in sections for url in s.links]
    assert parsed == [WIKI, "https://zhuanlan.zhihu.com/p/34879333", "https://blog.example/a/1"]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.md").write_text(NOTE, encoding="utf-8")
    assert [link.url for link in find_links(corpus)] == parsed
    lines = NOTE.split("\n")
    shown = [a["href"] for line in lines for t, a in Tags(inline(line)).tags if t == "a"]
    assert shown == parsed
    assert [a["href"] for t, a in Tags(answer_body(NOTE, 1)).tags if t == "a"] == parsed
