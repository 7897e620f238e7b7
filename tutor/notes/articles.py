"""The text of an article: a fetched page, a saved HTML file or PDF, or a stored copy of one (front matter + body).

Pages are data only: their text is taken out, never interpreted. Nothing here touches the network (fetch.py does).
"""

from __future__ import annotations

import html as html_lib
import io
import re
from pathlib import Path
from typing import Any

import yaml

_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")  # trafilatura's markdown escapes; we store text verbatim


class FetchError(Exception):
    """A link that could not (or may not) be fetched, or whose page holds no article text; `reason` is the short
    text recorded for it."""

    def __init__(self, reason: str, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.refused = reason, refused


def extract_document(body: bytes, ctype: str, charset: str | None, url: str | None = None) -> tuple[str | None, str]:
    """(title, main text without a heading that repeats the title); FetchError("no article text found") if empty."""
    try:
        if ctype == "application/pdf":
            title, text = _pdf_text(body)
        elif ctype in ("text/plain", "text/markdown"):
            title, text = None, _decode(body, charset)
        else:
            title, text = _html_text(_decode(body, charset) if charset else body, url)
    except Exception as e:  # noqa: BLE001 - a broken page must not stop indexing
        raise FetchError(f"extraction failed: {type(e).__name__}: {str(e)[:120]}") from None
    lines = text.strip().splitlines()
    if lines and title and lines[0].lstrip("# ").strip() == title:  # the article's own h1 repeats the title
        lines = lines[1:]
    if not "".join(lines).strip():
        raise FetchError("no article text found")
    return title, "\n".join(lines).strip()


def _decode(body: bytes, charset: str | None) -> str:
    for enc in filter(None, (charset, "utf-8", "gb18030")):  # gb18030: Chinese pages that do not declare a charset
        try:
            return body.decode(enc)
        except (UnicodeDecodeError, LookupError):
            pass
    return body.decode("utf-8", errors="replace")


def _html_text(html: bytes | str, url: str | None = None) -> tuple[str | None, str]:
    import trafilatura  # imported lazily: it is slow to import and only needed when a page is extracted
    from trafilatura.metadata import extract_metadata

    opts: dict[str, Any] = {"output_format": "markdown", "include_comments": False, "include_formatting": True}
    text = trafilatura.extract(html, url=url, **opts) or trafilatura.extract(html, favor_recall=True, **opts) or ""
    text = _unescape(text)
    meta = extract_metadata(html, default_url=url)
    title = meta.title if meta is not None and meta.title else None
    if not title:
        raw = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
        m = re.search(r"<title[^>]*>(.*?)</title>", raw, re.IGNORECASE | re.DOTALL)
        title = html_lib.unescape(m.group(1)) if m else None
    return (" ".join(title.split())[:300] or None) if title else None, text


def _unescape(markdown: str) -> str:
    out, in_code = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        out.append(line if in_code else _ESCAPE_RE.sub(r"\1", line))  # code blocks are never escaped
    return "\n".join(out)


def _pdf_text(data: bytes) -> tuple[str | None, str]:
    from pypdf import PdfReader  # imported lazily like trafilatura: ~0.1 s, and only PDFs need it

    reader = PdfReader(io.BytesIO(data))
    text = "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    title = reader.metadata.title if reader.metadata else None
    return (" ".join(str(title).split()) or None) if title else None, text.strip()


def extract_html_file(path: Path) -> tuple[str | None, str]:
    """(title, main text) of a saved HTML page; ValueError if it cannot be read or has no article text."""
    return _extract_file(path, "text/html")


def extract_pdf_file(path: Path) -> str:
    """Main text of a PDF; ValueError if it cannot be read or has no extractable text (e.g. a scan)."""
    return _extract_file(path, "application/pdf")[1]


def _extract_file(path: Path, ctype: str) -> tuple[str | None, str]:
    try:
        return extract_document(path.read_bytes(), ctype, None)
    except (OSError, FetchError) as e:
        raise ValueError(f"cannot extract text from {path}: {e}") from None


def read_reference(path: Path) -> tuple[dict, str, int]:
    """(front matter, body, 1-based file line where the body starts); ({}, whole text, 1) without front matter."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    if lines and lines[0].rstrip("\r\n") == "---":
        for i in range(1, len(lines)):
            if lines[i].rstrip("\r\n") == "---":
                try:
                    meta = yaml.safe_load("".join(lines[1:i]))
                except yaml.YAMLError:
                    break
                if isinstance(meta, dict):
                    return meta, "".join(lines[i + 1 :]), i + 2
                break
    return {}, text, 1
