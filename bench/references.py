"""The batch-normalization question before and after fetching the article section 1.4 links to.

    .venv/bin/python bench/references.py

Serves tests/data/pages/*.html on 127.0.0.1 (no real network), points a copy of the notes' 1.4 link at
it, prints the answer and its citations before and after `sync_references`, and the fetch+extract
time per page.
"""

from __future__ import annotations

import http.server
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tutor.answer.chat import Tutor  # noqa: E402
from tutor.cli.main import render_text  # noqa: E402
from tutor.config import Settings  # noqa: E402
from tutor.notes.references import extract_document, fetch_url, sync_references  # noqa: E402

PAGES = ROOT / "tests" / "data" / "pages"
BN_URL = "https://zhuanlan.zhihu.com/p/34879333"


def serve() -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(PAGES), **k)  # noqa: E731
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    server, base = serve()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        notes = (ROOT / "corpus" / "dl-interview-notes.md").read_text(encoding="utf-8")
        (corpus / "dl-interview-notes.md").write_text(notes.replace(BN_URL, f"{base}/batchnorm.html"), encoding="utf-8")
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index", allow_private_links=True)
        question = "讲一下batch normalization"
        print("=== before fetching ===")
        print(render_text(Tutor.load(settings).ask(question)))
        summary = sync_references(corpus, settings)
        print(f"\n{summary.summary_line()}")
        print("\n=== after fetching ===")
        print(render_text(Tutor.load(settings).ask(question)))
        print("\n=== fetch + extract time per page (median of 5, warm) ===")
        with httpx.Client() as client:
            for page in sorted(p.name for p in PAGES.glob("*.html")):
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    _, ctype, charset, body = fetch_url(f"{base}/{page}", settings, client=client)
                    extract_document(body, ctype, charset)
                    times.append((time.perf_counter() - started) * 1000)
                print(f"  {page:20s} {sorted(times)[2]:7.1f} ms")
        shutil.rmtree(corpus / "references", ignore_errors=True)
    server.shutdown()


if __name__ == "__main__":
    main()
