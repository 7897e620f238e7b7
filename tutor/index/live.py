"""Living notes: re-index when the notes change and swap the new `Tutor` in, while answers keep coming.

`Reindexer` rebuilds one at a time on a worker thread (build_index re-embeds only changed chunks) and replaces
`holder.tutor` in one assignment, reusing the loaded embedder: a question already being answered finishes on the
tutor it started with, the next one gets the new index. Requests that arrive during a rebuild are coalesced into
one follow-up rebuild. `Watcher` feeds it from watchfiles, judging paths with the corpus module's own filter, so
what is watched is what is indexed. `tutor watch` is the same in a terminal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tutor.config import Settings
from tutor.index.store import build_index, corpus_state, load_index
from tutor.notes.files import IGNORE_FILE, ignore_rules, is_note_path

log = logging.getLogger(__name__)

WATCH_STEP_MS = 150  # a batch of changes is handed on once the folder has been quiet this long
WATCH_DEBOUNCE_MS = 1500  # ... or after this long at most, while an editor keeps saving
IDLE_TICK_MS = 500  # the watcher wakes this often while nothing changes (to see its stop event, a vanished folder)
TUTOR_WRITES = ("references",)  # top-level folders the tutor writes itself (fetched articles)


@dataclass(frozen=True)
class Change:
    """What one re-index changed, for the status line."""

    added: int
    changed: int
    deleted: int
    passages: int  # passages of the added and changed files now, plus those of the deleted files before
    embedded: int
    seconds: float

    @property
    def files(self) -> int:
        return self.added + self.changed + self.deleted

    def summary(self) -> str:
        parts = [f"{n} {word}" for n, word in ((self.added, "new"), (self.deleted, "deleted")) if n]
        detail = f" ({', '.join(parts)})" if parts else ""
        plural = "s" if self.files != 1 else ""
        return f"re-indexed {self.files} file{plural}{detail}, {self.passages} passages, {self.seconds:.1f} s"


def describe_change(old_index, new_index, embedded: int, seconds: float) -> Change:
    before, after = old_index.manifest.get("files") or {}, new_index.manifest.get("files") or {}
    added = after.keys() - before.keys()
    deleted = before.keys() - after.keys()
    changed = {s for s in after.keys() & before.keys() if after[s] != before[s]}
    now = sum(c.source in added or c.source in changed for c in new_index.chunks)
    gone = sum(c.source in deleted for c in old_index.chunks)
    return Change(len(added), len(changed), len(deleted), now + gone, embedded, seconds)


class Reindexer:
    """Rebuilds the index of `holder.settings` and swaps a new `Tutor` into `holder.tutor` (a `TutorLoader`, or
    any object with those two attributes). `message` is the last re-index's status line; `version` goes up
    whenever what a page shows may have changed."""

    def __init__(self, holder: Any, say: Callable[[str], None] | None = None) -> None:
        self.holder = holder
        self.say = say or (lambda _msg: None)
        self.message: str | None = None
        self.last: Change | None = None
        self.version = 0
        self._cond = threading.Condition()
        self._requested = self._done = 0  # tickets: a request is served once a rebuild started after it ends
        self._worker: threading.Thread | None = None
        self._stopped = False

    def request(self) -> int:
        """Ask for a re-index (returns at once); the ticket is for `wait`."""
        with self._cond:
            self._requested += 1
            if not self._stopped and (self._worker is None or not self._worker.is_alive()):
                # one worker per burst of requests: it ends when none is left, so an idle app holds no thread
                self._worker = threading.Thread(target=self._run, name="tutor-reindex", daemon=True)
                self._worker.start()
            return self._requested

    def wait(self, ticket: int, timeout: float | None = None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._done >= ticket or self._stopped, timeout)

    def reindex_now(self, timeout: float | None = 600) -> str | None:
        """Re-index and wait for it (an upload); the status line after it."""
        self.wait(self.request(), timeout)
        return self.message

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped or self._done >= self._requested:
                    self._worker = None
                    return
                ticket = self._requested
            first_load = self.holder.tutor is None or getattr(self.holder, "building", False)
            if first_load and getattr(self.holder, "error", None) is None:
                time.sleep(0.2)  # the first load is still running; it may already see this change, but may not
                continue
            try:
                self.refresh()
            except Exception as exc:  # the previous index keeps answering; the status line says why
                log.exception("re-indexing failed")
                self._note(f"re-indexing failed ({exc or type(exc).__name__}); answering from the previous index")
            with self._cond:
                self._done = max(self._done, ticket)
                self._cond.notify_all()

    def refresh(self) -> Change | None:
        """Re-index now, on this thread, if the notes differ from what the live tutor holds; the change made."""
        from tutor.answer.chat import Tutor  # the answer stage is above this one: imported when it re-indexes

        settings: Settings = self.holder.settings
        old = self.holder.tutor
        if not settings.corpus_path.is_dir():
            self._note(f"the notes folder {settings.corpus_path} is gone; answering from the last index")
            return None
        if old is None:  # the first load failed: a change in the notes may be what fixes it
            self.holder.tutor = Tutor.load(settings)
            self.holder.error = None
            self._note(f"indexed {len(self.holder.tutor.index.chunks)} passages")
            return None
        state = corpus_state(settings)
        if state == old.index.manifest.get("files"):
            return None  # an event of a file the index does not read, or a change already indexed
        started = time.perf_counter()
        report = build_index(settings, warn=lambda w: self.say(f"tutor: {w}"), files=state)
        index = load_index(settings, check_stale=False)
        self.holder.tutor = Tutor(settings, index, old.embedder, old.chat_model)  # the swap: one assignment
        change = describe_change(old.index, index, report.embedded, time.perf_counter() - started)
        self.last = change
        self._note(change.summary(), again=True)
        return change

    def _note(self, message: str, again: bool = False) -> None:
        if message == self.message and not again:
            return  # said already (the folder is still gone)
        self.message = message
        self.version += 1
        self.say(f"tutor: {message}")


class Watcher:
    """Calls `on_change(paths)` for each batch of changes to notes under `folder`, from a daemon thread, until
    `stop()`. `ready` is set once the folder is being watched (a change before that may be missed)."""

    def __init__(
        self, folder: Path, on_change: Callable[[set[str]], object], force_polling: bool | None = None
    ) -> None:
        self.folder = Path(folder).resolve()
        self.on_change = on_change
        self.force_polling = force_polling
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rules: tuple[int | None, Any] = (None, None)  # .tutorignore's mtime and its matcher

    def start(self) -> Watcher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tutor-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wants(self, path: str) -> bool:
        """True for a change the index may care about: a note, a folder (moved or deleted whole), `.tutorignore`."""
        try:
            rel = Path(path).resolve().relative_to(self.folder)
        except ValueError:
            return False
        if rel.as_posix() == IGNORE_FILE:
            return True
        if not rel.parts or rel.parts[0] in TUTOR_WRITES:
            return False
        if not rel.suffix:  # perhaps a folder: its notes went with it (a rebuild with nothing to do is cheap)
            return not any(part.startswith(".") for part in rel.parts)
        return is_note_path(rel, self._ignore_rules())

    def _ignore_rules(self):
        try:
            stamp: int | None = (self.folder / IGNORE_FILE).stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp != self._rules[0]:
            self._rules = (stamp, ignore_rules(self.folder) if stamp is not None else None)
        return self._rules[1]

    def _run(self) -> None:
        import watchfiles

        polling = self.force_polling
        missing = False
        while not self._stop.is_set():
            if not self.folder.is_dir():
                if not missing:
                    self.on_change(set())  # the reindexer says the folder is gone; watch again once it is back
                missing = True
                self._stop.wait(1.0)
                continue
            if missing:
                self.on_change(set())  # back: whatever it holds now is re-indexed
                missing = False
            try:
                for changes in watchfiles.watch(
                    self.folder,
                    watch_filter=lambda _change, path: self.wants(path),
                    debounce=WATCH_DEBOUNCE_MS,
                    step=WATCH_STEP_MS,
                    stop_event=self._stop,
                    rust_timeout=IDLE_TICK_MS,
                    yield_on_timeout=True,
                    force_polling=polling,
                    raise_interrupt=False,
                ):
                    self.ready.set()
                    if changes:
                        self.on_change({path for _change, path in changes})
                    elif not self.folder.is_dir():
                        break
            except OSError as exc:  # e.g. the inotify watch limit: polling still works
                if polling:
                    log.exception("watching %s failed", self.folder)
                    self._stop.wait(1.0)
                else:
                    log.warning("watching %s with inotify failed (%s); polling instead", self.folder, exc)
                polling = True


def start_live(holder: Any, watch: bool, say: Callable[[str], None] | None = None) -> tuple[Reindexer, Watcher | None]:
    """The app's reindexer, and its watcher on the notes folder when `watch` is on."""
    reindexer = Reindexer(holder, say)
    watcher = None
    if watch:
        watcher = Watcher(holder.settings.corpus_path, lambda _paths: reindexer.request()).start()
    return reindexer, watcher


def cmd_watch(args, settings: Settings, stdin, stdout, stderr) -> int:
    """`tutor watch`: index once, then re-index on every change and print the status line, until Ctrl-C."""
    from tutor.answer.chat import Tutor  # as in refresh()

    def say(message: str) -> None:
        print(message, file=stderr, flush=True)

    if not settings.corpus_path.is_dir():
        print(f"no notes folder at {settings.corpus_path}: create it and put your .md notes in it", file=stderr)
        return 2
    started = time.perf_counter()
    holder = SimpleNamespace(settings=settings, tutor=Tutor.load(settings, say=say, warn=say), error=None)
    n = len(holder.tutor.index.chunks)
    print(f"indexed {n} passages ({time.perf_counter() - started:.1f} s)", file=stdout, flush=True)
    reindexer, watcher = start_live(
        holder, True, say=lambda m: print(m.removeprefix("tutor: "), file=stdout, flush=True)
    )
    assert watcher is not None  # asked for
    watcher.ready.wait(30)
    print(f"watching {settings.corpus_path} for changes (Ctrl-C to stop)", file=stdout, flush=True)
    try:
        while watcher.alive:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    watcher.stop()
    reindexer.stop()
    print("stopped watching", file=stdout, flush=True)
    return 0
