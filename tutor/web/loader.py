"""`TutorLoader`: the app's shared `Tutor`, loaded (or built) on a background thread while the page shows how far
it has got. No Gradio here: app.py starts it first, so the index loads while Gradio imports."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tutor.config import Settings
from tutor.index.eta import Eta, format_eta
from tutor.web import render
from tutor.web.assets import template

if TYPE_CHECKING:  # tutor.answer.chat pulls in the retrieval stack: the loader thread imports it
    from tutor.answer.chat import Tutor
    from tutor.index.first_run import Partial
    from tutor.index.live import Reindexer

log = logging.getLogger(__name__)

HOLD_SECONDS = 60.0  # a first build waits at most this long for the page to be served before it starts embedding


class TutorLoader:
    """The shared `Tutor`, loaded in a background thread (building the index first if it is missing or stale)
    while the page shows the progress; `echo` gets the same progress for the terminal. A first build hands over
    the part indexed so far as it goes (tutor/index/first_run.py): `tutor` answers from it while `building`."""

    def __init__(
        self,
        settings: Settings,
        tutor: Tutor | None = None,
        echo: Callable[[str], None] | None = None,
        hold: threading.Event | None = None,
    ):
        self.settings = settings
        # set once the page is served: a first build embeds nothing before (its threads would slow Gradio's start
        # on two cores), and keyword search answers meanwhile
        self.hold = hold
        self.tutor = tutor
        self.error: str | None = None
        self.step = "loading the index"
        self.done, self.total = 0, 0
        self.eta = Eta()
        self.left: float | None = None  # seconds of embedding left, once a rate is known
        self.partial: dict | None = None  # while a first build runs: files, passages and how many of each are done
        self.echo = echo or (lambda _msg: None)
        self.started = self._echoed = time.perf_counter()
        self.live: Reindexer | None = None  # re-indexes and swaps `tutor` when the notes change (tutor/index/live.py)
        self._thread: threading.Thread | None = None

    def start(self) -> TutorLoader:
        if self.tutor is None and self._thread is None:
            self._thread = threading.Thread(target=self._load, name="tutor-loader", daemon=True)
            self._thread.start()
        return self

    def _load(self) -> None:
        try:
            from tutor.answer.chat import Tutor

            tutor = Tutor.load(
                self.settings, say=self._say, progress=self._progress, warn=self._say, partial=self._partial
            )
            self.tutor, self.partial = tutor, None
            n = len(self.tutor.index.chunks)
            self.echo(f"tutor: ready, {n} passages indexed ({time.perf_counter() - self.started:.1f} s)")
        except Exception as exc:  # shown on the page; the server keeps running so the user can read it
            log.exception("loading the tutor failed")
            self.error = str(exc) or type(exc).__name__
            self.echo(f"tutor: {self.error}")

    @property
    def building(self) -> bool:
        """A first build is running and `tutor` answers from the part it has done (the reindexer waits for it)."""
        return self.partial is not None

    def _partial(self, partial: Partial) -> None:
        from tutor.answer.chat import partial_tutor
        from tutor.index.embeddings import get_embeddings

        old = self.tutor
        embedder = old.embedder if old is not None else get_embeddings(self.settings.embeddings)
        try:
            tutor = partial_tutor(self.settings, partial, embedder, old.chat_model if old is not None else None)
        except Exception:  # the build goes on; answers wait for its next part
            log.exception("loading the part indexed so far failed")
            return
        self.partial = partial.progress
        self.tutor = tutor  # the swap: one assignment, as the reindexer's
        if old is None or partial.index is None:
            self.echo(f"tutor: answering while the notes are indexed ({partial.progress['passages']} passages)")
        if partial.index is None and self.hold is not None:
            self.hold.wait(HOLD_SECONDS)

    def _say(self, message: str) -> None:
        if "building the index" in message:
            self.step = "building the index"
        self.echo(f"tutor: {message}")

    def _progress(self, done: int, total: int) -> None:
        self.step, self.done, self.total = "building the index", done, total
        self.left = self.eta.update(done, total)
        now = time.perf_counter()
        if done >= total or now - self._echoed > 2.0:  # the page shows every step; the terminal one every 2 s
            self._echoed = now
            eta = format_eta(self.left) if done < total else ""
            self.echo(f"tutor: building the index… {done}/{total} passages embedded" + (f", ETA {eta}" if eta else ""))

    def status_html(self) -> str:
        change = self.live.message if self.live is not None else None
        shown = self._status_html()
        return shown + template("index-change.html").substitute(change=render.esc(change)) if change else shown

    def _status_html(self) -> str:
        if self.error and self.tutor is not None:  # a first build failed midway: its part still answers
            return render.index_status("error", detail=f"{self.error}; answering from the part indexed so far")
        if self.tutor is not None and self.partial is not None:
            progress = self.partial
            embedded = progress["passages"] - max(self.total - self.done, 0)  # counted at each batch, not publish
            return render.index_status(
                "partial",
                done=embedded,
                total=progress["passages"],
                files=progress["files"],
                files_done=progress["files_done"],
                eta=format_eta(self.left) if self.done < self.total else "",
                detail="keyword" if self.tutor.index.manifest.get("keyword_only") else "",
            )
        if self.tutor is not None:
            index = self.tutor.index
            files = len({s.source for s in index.sections if s.url is None})
            if not index.chunks:
                return render.index_status("empty", detail=str(self.settings.corpus_path))
            return render.index_status(
                "ready", files=files, passages=len(index.chunks), when=index.manifest.get("created_at")
            )
        if self.error:
            return render.index_status("error", detail=self.error)
        eta = format_eta(self.left) if self.done < self.total else ""
        return render.index_status("building", detail=self.step, done=self.done, total=self.total, eta=eta)


def echo_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
