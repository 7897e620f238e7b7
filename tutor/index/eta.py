"""How long the embedding of a build has left, for `tutor index` and the app's status line.

`build_index` reports `progress(done, total)` once before the first batch and after each; the rate is
measured from that first report, so loading the model and parsing the notes do not count against it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TextIO

LINE_STEPS = 10  # without a terminal, a line at every tenth of the passages...
LINE_SECONDS = 15.0  # ...or after this long without one, whichever comes first


def format_eta(seconds: float | None) -> str:
    """ "40 s", "3 min 20 s", "12 min", "1 h 05 min"; "" when it is not known yet."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    whole = math.ceil(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 10:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if minutes < 60:
        return f"{minutes + (secs >= 30)} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Eta:
    """Seconds left from the mean rate since the first report; a report that goes back, or another total,
    starts a new run."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.total = -1
        self.first_done = self.last_done = 0
        self.started = 0.0

    def update(self, done: int, total: int) -> float | None:
        now = self.clock()
        if total != self.total or done < self.last_done:
            self.total, self.first_done, self.started = total, done, now
        self.last_done = done
        if done >= total:
            return 0.0
        moved, spent = done - self.first_done, now - self.started
        if moved <= 0 or spent <= 0:
            return None
        return (total - done) * spent / moved

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started


class ProgressLines:
    """`progress(done, total)` for a stream that is not a terminal (a log, a pipe, CI): plain lines such as
    "embedded 300/1100 passages, ETA 40 s", at each tenth and at least every LINE_SECONDS, then the total time."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.eta = Eta(clock)
        self.clock = clock
        self.step = -1
        self.printed = 0.0

    def __call__(self, done: int, total: int) -> None:
        left = self.eta.update(done, total)
        step = done * LINE_STEPS // max(total, 1)
        now = self.clock()
        if done >= total:
            line = f"embedded {done}/{total} passages in {format_eta(self.eta.elapsed) or '0 s'}"
        elif done == 0:
            line = f"embedding {total} passages"
        elif step > self.step or now - self.printed >= LINE_SECONDS:
            eta = format_eta(left)
            line = f"embedded {done}/{total} passages" + (f", ETA {eta}" if eta else "")
        else:
            return
        self.step, self.printed = step, now
        print(line, file=self.stream, flush=True)


class ProgressBar:
    """`progress(done, total)` as a tqdm bar on a terminal (rate and ETA are tqdm's own)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bar
        if bar is None or bar.total != total or done < bar.n:
            self.close()
            bar = self.bar = tqdm(total=total, desc="embedding", unit=" passages", file=self.stream, dynamic_ncols=True)
        bar.update(done - bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_printer(stream: TextIO) -> Callable[[int, int], None]:
    """A tqdm bar when `stream` is a terminal, plain periodic lines otherwise."""
    isatty = getattr(stream, "isatty", None)
    return ProgressBar(stream) if isatty is not None and isatty() else ProgressLines(stream)
