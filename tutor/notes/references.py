"""Linked references: find the http(s) links in the notes, fetch each article once, store its text, record every state.

Stored copies live in `<corpus>/references/<slug>.md` (YAML front matter + markdown body); the state of every link
is in `<corpus>/references/references.json`. Fetched pages are data only: their text is stored, never interpreted.
Fetching one page is fetch.py; taking the text out of a page, or out of a stored copy, is articles.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal

import httpx
import yaml

from tutor.config import Settings
from tutor.notes.articles import FetchError, extract_document, extract_html_file, extract_pdf_file, read_reference
from tutor.notes.fetch import fetch_url, make_client
from tutor.notes.files import write_text_atomic
from tutor.urls import URL_RE

__all__ = [  # extract_* and read_reference: corpus.py and upload.py import them from here
    "FetchError",
    "Link",
    "RefResult",
    "RefSummary",
    "extract_document",
    "extract_html_file",
    "extract_pdf_file",
    "fetch_url",
    "find_links",
    "load_reference_states",
    "make_client",
    "read_reference",
    "slug_for",
    "sync_references",
]

NOTE_SUFFIXES = {".md", ".txt"}
RefStatus = Literal["fetched", "cached", "failed", "refused"]


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


def load_reference_states(corpus_dir: Path) -> list[dict]:
    """The recorded state of every link; [] when references.json is missing or corrupt."""
    try:
        data = json.loads((corpus_dir / "references" / "references.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
