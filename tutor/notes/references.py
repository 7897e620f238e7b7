"""Linked references: find the http(s) links in the notes, fetch each article once, store its text, record every state.

Stored copies live in `<corpus>/references/<slug>.md` (YAML front matter + markdown body); the state of every link
is in `<corpus>/references/references.json`. Fetched pages are data only: their text is stored, never interpreted.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import io
import ipaddress
import json
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import httpcore
import httpx
import yaml

from tutor.config import Settings
from tutor.notes.corpus import write_text_atomic
from tutor.urls import URL_RE

USER_AGENT = "tutor/0.1 (+offline study tutor; reference fetcher)"
TEXT_TYPES = {"text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf"}
NOTE_SUFFIXES = {".md", ".txt"}
RefStatus = Literal["fetched", "cached", "failed", "refused"]

_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")  # trafilatura's markdown escapes; we store text verbatim


@dataclass(frozen=True)
class Link:
    url: str
    source: str  # path relative to corpus_dir.parent, e.g. "corpus/dl-interview-notes.md"
    line: int  # 1-based


@dataclass
class RefResult:
    url: str
    status: RefStatus
    reason: str | None = None
    file: str | None = None  # relative to corpus_dir.parent, e.g. "corpus/references/<slug>.md"
    title: str | None = None
    linked_from: list[str] = field(default_factory=list)  # ["source:line", ...]
    fetched_at: str | None = None
    seconds: float = 0.0  # fetch + extract time of this run (0 when served from the cache)


@dataclass
class RefSummary:
    fetched: int = 0
    cached: int = 0
    failed: int = 0  # refused links count here too
    results: list[RefResult] = field(default_factory=list)

    def summary_line(self) -> str:
        stale = sum(1 for r in self.results if r.status == "cached" and r.reason)
        extra = f" ({stale} refresh failed, cached copy kept)" if stale else ""
        return f"references: {self.fetched} fetched, {self.cached} from cache, {self.failed} failed{extra}"


class FetchError(Exception):
    """A link that could not (or may not) be fetched; `reason` is the short text recorded for it."""

    def __init__(self, reason: str, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.refused = reason, refused


def find_links(corpus_dir: Path) -> list[Link]:
    """Every http(s) URL in the .md/.txt notes (not the stored references), in file and line order."""
    links: list[Link] = []
    ref_dir = corpus_dir / "references"
    for path in sorted(p for p in corpus_dir.rglob("*") if p.suffix.lower() in NOTE_SUFFIXES and p.is_file()):
        if ref_dir in path.parents:  # stored articles are not notes: their links are not followed
            continue
        source = path.relative_to(corpus_dir.parent).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), start=1):
            links += [Link(m.group(0), source, n) for m in URL_RE.finditer(line)]  # the parser's links, alike
    return links


def sync_references(
    corpus_dir: Path,
    settings: Settings,
    refresh: bool = False,
    *,
    timeout: tuple[float, float] = (5.0, 15.0),
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
    client: httpx.Client | None = None,
) -> RefSummary:
    """Fetch (or reuse) every linked article and record its state; never raises for a bad link.

    A stored copy is reused without network unless `refresh`. When a refresh fails (or is refused), the good copy
    is kept byte-identical and the link is reported as status "cached" with reason "refresh failed: <reason>".
    """
    ref_dir = corpus_dir / "references"
    grouped: dict[str, list[str]] = {}
    for link in find_links(corpus_dir):
        grouped.setdefault(link.url, []).append(f"{link.source}:{link.line}")
    summary = RefSummary()
    http = client or make_client(settings)
    fetch = partial(fetch_url, settings=settings, timeout=timeout, max_bytes=max_bytes, max_redirects=max_redirects)
    try:
        for url, linked_from in grouped.items():
            try:
                result = _sync_one(url, linked_from, ref_dir, refresh, partial(fetch, client=http))
            except OSError as e:  # a full disk or a read-only corpus is reported per link, like a network error
                result = RefResult(url, "failed", f"could not store the article: {e}", linked_from=linked_from)
            summary.results.append(result)
            summary.fetched += result.status == "fetched"
            summary.cached += result.status == "cached"
            summary.failed += result.status in ("failed", "refused")
    finally:
        if client is None:
            http.close()
    if summary.results or ref_dir.exists():
        ref_dir.mkdir(parents=True, exist_ok=True)
        states = json.dumps([asdict(r) for r in summary.results], ensure_ascii=False, indent=2)
        write_text_atomic(ref_dir / "references.json", states + "\n")
    return summary


def _sync_one(url: str, linked_from: list[str], ref_dir: Path, refresh: bool, fetch: Callable) -> RefResult:
    path = ref_dir / f"{slug_for(url)}.md"
    rel = path.relative_to(ref_dir.parent.parent).as_posix()
    meta = _cached_meta(path, url)
    if meta is not None and not refresh:
        if meta.get("linked_from") != linked_from:  # the notes moved: keep the body, update where it is linked from
            _write_reference(path, {**meta, "linked_from": linked_from}, read_reference(path)[1])
        return RefResult(url, "cached", None, rel, meta.get("title"), linked_from, meta.get("fetched_at"))
    start = time.perf_counter()
    try:
        final_url, ctype, charset, body = fetch(url)
        title, text = extract_document(body, ctype, charset, final_url)
    except FetchError as e:
        secs = round(time.perf_counter() - start, 3)
        if meta is not None:  # a failed refresh never touches the good copy
            reason = f"refresh failed: {e.reason}"
            return RefResult(url, "cached", reason, rel, meta.get("title"), linked_from, meta.get("fetched_at"), secs)
        return RefResult(url, "refused" if e.refused else "failed", e.reason, None, None, linked_from, None, secs)
    body_md = f"# {title or url}\n\n{text}\n"
    fetched_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    digest = "sha256:" + hashlib.sha256(body_md.encode("utf-8")).hexdigest()
    meta = {"url": url, "title": title, "fetched_at": fetched_at, "content_hash": digest, "linked_from": linked_from}
    ref_dir.mkdir(parents=True, exist_ok=True)
    _write_reference(path, meta, body_md)
    return RefResult(url, "fetched", None, rel, title, linked_from, fetched_at, round(time.perf_counter() - start, 3))


def slug_for(url: str) -> str:
    """Readable ascii slug of host + path, truncated, plus 8 hex of sha1(url) so distinct URLs never collide."""
    u = httpx.URL(url) if url.lower().startswith(("http://", "https://")) else None
    readable = (u.raw_host.decode("ascii", "replace") + u.path) if u else url
    slug = re.sub(r"[^a-z0-9]+", "-", readable.lower()).strip("-")[:60].strip("-") or "link"
    return f"{slug}-{hashlib.sha1(url.encode('utf-8')).hexdigest()[:8]}"


def _cached_meta(path: Path, url: str) -> dict | None:
    if not path.is_file():
        return None
    meta, body, _ = read_reference(path)
    return meta if meta.get("url") == url and body.strip() else None


def _write_reference(path: Path, meta: dict, body: str) -> None:
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    write_text_atomic(path, f"---\n{front}---\n{body}")


def make_client(settings: Settings) -> httpx.Client:
    """The client `fetch_url` should get: every connection it opens goes to an address `_resolve` has just checked."""
    transport = _checked_transport(settings.allow_private_links)
    return httpx.Client(transport=transport, follow_redirects=False, headers={"User-Agent": USER_AGENT})


def _checked_transport(allow_private: bool) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    # httpx has no public hook for httpcore's network backend: swap in a pool that uses ours, with httpx's TLS context
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), keepalive_expiry=5.0, network_backend=_CheckedBackend(allow_private)
    )
    return transport


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves the host once, checks every address, then connects to a checked IP itself, so a DNS answer that
    changes between the check and the connect (DNS rebinding) cannot reach a private address. The TLS server name,
    certificate check and Host header still use the hostname: httpcore takes them from the URL, not from here."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in _resolve(host, port, self._allow_private):
            try:  # an IP literal: connecting to it never asks DNS again
                return self._tcp.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        raise error


def _resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """The host's addresses in resolver order; FetchError if DNS fails or, unless allowed, any address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError(f"offline or DNS failure: {host}: {e}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if allow_private:
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # ::ffff:127.0.0.1 is loopback too
            ip = ip.ipv4_mapped
        flags = (ip.is_loopback, ip.is_private, ip.is_link_local, ip.is_reserved, ip.is_multicast, ip.is_unspecified)
        if any(flags) or not ip.is_global:
            hint = "(set TUTOR_ALLOW_PRIVATE_LINKS=1 to allow)"
            raise FetchError(f"refused: {host} is a private or loopback address {hint}", refused=True)
    return addresses


def _check_url(url: httpx.URL, settings: Settings) -> None:
    if url.scheme not in ("http", "https"):
        raise FetchError("refused: only http and https links are fetched", refused=True)
    host = url.raw_host.decode("ascii")
    if not host:
        raise FetchError("invalid URL: no host")
    if not settings.allow_private_links:  # early refusal for any client; `_CheckedBackend` re-checks at connect time
        _resolve(host, url.port or (443 if url.scheme == "https" else 80), allow_private=False)


def fetch_url(
    url: str,
    settings: Settings,
    *,
    timeout: tuple[float, float] = (5.0, 15.0),
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
    client: httpx.Client,
) -> tuple[str, str, str | None, bytes]:
    """GET one page with every hop checked; returns (final url, content type, charset, body) or raises FetchError.

    Pass a client from `make_client`: only its connections are checked at connect time (against DNS rebinding).
    """
    connect, read = timeout
    limits = httpx.Timeout(read, connect=connect)
    deadline = time.monotonic() + connect + 2 * read
    try:
        current = httpx.URL(url)
        for _hop in range(max_redirects + 1):
            _check_url(current, settings)
            with client.stream(
                "GET", current, headers={"User-Agent": USER_AGENT}, timeout=limits, follow_redirects=False
            ) as resp:
                if resp.is_redirect:  # followed by hand so that every hop is checked again
                    current = httpx.URL(urljoin(str(current), resp.headers.get("location", "")))
                    continue
                if not 200 <= resp.status_code < 300:
                    raise FetchError(f"HTTP {resp.status_code}")
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype not in TEXT_TYPES:
                    raise FetchError(f"not text (content-type {ctype or 'missing'})")
                return str(resp.url), ctype, resp.charset_encoding, _read_capped(resp, max_bytes, deadline)
        raise FetchError("too many redirects")
    except httpx.TimeoutException:
        raise FetchError("timeout") from None
    except httpx.ConnectError as e:
        raise FetchError(f"offline or DNS failure: {str(e)[:120]}") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
        raise FetchError(f"invalid URL: {e}") from None
    except httpx.HTTPError as e:
        raise FetchError(f"network error: {type(e).__name__}: {str(e)[:120]}") from None


def _read_capped(resp: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    too_big = FetchError(f"body larger than {max_bytes / 1e6:g} MB")
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    body = bytearray()
    for chunk in resp.iter_bytes():
        body += chunk[: max_bytes + 1 - len(body)]  # never hold more than max_bytes + 1
        if len(body) > max_bytes:
            raise too_big
        if time.monotonic() > deadline:  # a server that drips bytes still ends
            raise FetchError("timeout")
    return bytes(body)


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
    from pypdf import PdfReader

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


def load_reference_states(corpus_dir: Path) -> list[dict]:
    """The recorded state of every link; [] when references.json is missing or corrupt."""
    try:
        data = json.loads((corpus_dir / "references" / "references.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


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
