"""Time per question (warm, in-process and through `tutor chat --json`), memory, and the cold `tutor ask`.

    .venv/bin/python bench/latency.py [--repeat 5] [--set FILE]
    .venv/bin/python bench/latency.py --baseline ../tutor-before   # also an older checkout, side by side
    .venv/bin/python bench/latency.py --rss-of SECONDS -- CMD ...   # peak RSS of any command (e.g. app.py)
    .venv/bin/python bench/latency.py --pause 0.1   # a reader's think time before each question

Every conversation of the question set is asked in a fresh session (follow-ups after their earlier turns),
`--repeat` times. Figures are medians/percentiles over all messages; the machine may be shared, so compare
runs side by side rather than across days: every chat process (tutor, its variants, the naive LangChain
pipeline of bench/naive_chat.py, a --baseline checkout) is asked the same message in turn, in an order that
rotates every conversation, and the cold `tutor ask` runs alternate between this checkout and the baseline.
Targets (issue 12): warm `tutor chat` per question <= 1.15x the naive pipeline; cold `tutor ask` <= 0.9 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tutor.search.evaluate import DEFAULT_SET, load_set  # noqa: E402

PYTHON = sys.executable


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[pos]


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of a live process, from /proc/<pid>/status (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_of(cmd: list[str], seconds: float | None = None, env: dict | None = None) -> float:
    """Peak RSS (MB) of a command: until it exits, or `seconds` after start (then it is terminated).

    Children are not counted; a server such as app.py is measured after it has started and warmed up.
    """
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    deadline = time.monotonic() + seconds if seconds else None
    while proc.poll() is None:
        try:
            peak = max(peak, vm_hwm_mb(proc.pid))
        except (OSError, ValueError):
            break
        if deadline and time.monotonic() > deadline:
            proc.terminate()
            proc.wait(timeout=10)
            break
        time.sleep(0.05)
    return peak


def conversations(items: list[dict]) -> list[list[str]]:
    return [list(item["turns"]) for item in items]


def in_process(settings, convs: list[list[str]], repeat: int) -> dict:
    from tutor.answer.chat import ChatSession, Tutor

    started = time.perf_counter()
    tutor = Tutor.load(settings)
    load_s = time.perf_counter() - started
    for turns in convs[:5]:  # warm jieba, the embedder and the file cache
        session = ChatSession(tutor)
        for message in turns:
            session.ask(message)
    ask_ms: list[float] = []
    search_ms: list[float] = []
    for _ in range(repeat):
        for turns in convs:
            session = ChatSession(tutor)
            for message in turns:
                t0 = time.perf_counter()
                answer = session.ask(message)
                ask_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                tutor.retriever.search(answer.query)
                search_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "load_s": load_s,
        "ask_ms": ask_ms,
        "search_ms": search_ms,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


class ChatProcess:
    """A chat process (`tutor chat --json` or the naive pipeline) fed one message per line; each response time
    is taken here, in the parent."""

    def __init__(self, cmd: list[str], env: dict, cwd: Path = ROOT) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.errors: list[str] = []
        threading.Thread(target=lambda: self.errors.extend(self.proc.stderr), daemon=True).start()
        self.ms: list[float] = []

    def ask(self, message: str) -> float:
        t0 = time.perf_counter()
        self.proc.stdin.write(message + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"tutor chat ended early: {''.join(self.errors)[-2000:]}")
        json.loads(line)
        return (time.perf_counter() - t0) * 1000

    def conversation(self, turns: list[str], record: bool, pause: float = 0.0) -> None:
        self.proc.stdin.write("/reset\n")  # prints nothing
        for message in turns:
            time.sleep(pause)  # a reader's think time: the machine idles before the question, as it does for a user
            ms = self.ask(message)
            if record:
                self.ms.append(ms)

    def close(self) -> tuple[float, int]:
        rss = vm_hwm_mb(self.proc.pid)  # read before stdin closes: the process ends then
        self.proc.stdin.close()
        return rss, self.proc.wait(timeout=60)


def tutor_chat(args: list[str]) -> list[str]:
    return [PYTHON, "-m", "tutor.cli", "chat", "--json", *args]


def chat_subprocesses(
    convs: list[list[str]], repeat: int, configs: dict[str, tuple[list[str], dict, Path]], pause: float = 0.0
) -> dict:
    """One chat process per configuration (command, environment, folder), asked the same messages in turn, so
    they share the machine's load."""
    procs = {name: ChatProcess(cmd, env, cwd) for name, (cmd, env, cwd) in configs.items()}
    out = {}
    for name, chat in procs.items():
        first = chat.ask(convs[0][0])  # includes loading the index and the embedder
        out[name] = {"first_ms": first, "ready_s": time.perf_counter() - chat.started}
    order = list(procs.values())
    for rep in range(repeat + 1):  # the first pass warms up
        for turns in convs:
            # the order turns by one each conversation: the process asked right after another meets what that one
            # leaves on the cores (the naive pipeline's OpenMP threads busy-wait ~10 ms after every answer), and no
            # process should always be the one that does
            order = order[1:] + order[:1]
            for chat in order:
                chat.conversation(turns, record=rep > 0, pause=pause)
    for name, chat in procs.items():
        rss, code = chat.close()
        out[name] |= {"ms": chat.ms, "peak_rss_mb": rss, "exit": code}
    return out


COLD_QUESTION = "什么是dropout"
HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "langchain_core",
    "httpx",
    "gradio",
    "tutor.interview.interviewer",
)


def cold_ask(trees: dict[str, tuple[list[str], Path]], env: dict, runs: int = 5) -> dict:
    """Wall time of `tutor ask --json` in a new process, per checkout (arguments, folder); runs alternate."""
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, (args, cwd) in trees.items():
            t0 = time.perf_counter()
            cmd = [PYTHON, "-m", "tutor.cli", "ask", COLD_QUESTION, "--json", *args]
            out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)
            times[name].append(time.perf_counter() - t0)
            if out.returncode:
                raise RuntimeError(out.stderr.decode()[-2000:])
    result = {}
    for name, (args, cwd) in trees.items():
        probe = (
            "import io, sys; from tutor.cli.main import main; "
            f"main(['ask', {COLD_QUESTION!r}, *{args!r}], stdout=io.StringIO(), stderr=io.StringIO()); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
        )
        loaded = subprocess.run([PYTHON, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True)
        result[name] = {"s": times[name], "heavy_modules": loaded.stdout.strip()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument(
        "--variant",
        action="append",
        metavar="KEY=VAL[,KEY=VAL]",
        help="also run `tutor chat` with these environment settings, side by side (repeatable; default: "
        "OMP_NUM_THREADS=1 and OMP_WAIT_POLICY=PASSIVE, the embedder's OpenMP settings)",
    )
    parser.add_argument("--stress", type=int, default=0, metavar="N", help="keep N busy-looping processes running")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="idle this long before each question, as a reader does (the cores and the model's threads go to sleep)",
    )
    parser.add_argument("--baseline", type=Path, metavar="DIR", help="another checkout of tutor, run side by side")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold `tutor ask` runs per checkout")
    parser.add_argument("--rss-of", type=float, metavar="SECONDS", help="measure the peak RSS of the command after --")
    parser.add_argument("cmd", nargs="*")
    args = parser.parse_args()
    if args.rss_of is not None:
        print(f"peak RSS {peak_rss_of(args.cmd, args.rss_of):.0f} MB: {' '.join(args.cmd)}")
        return

    from tutor.config import Settings
    from tutor.index.store import build_index

    load_before = os.getloadavg()[0]
    convs = conversations(load_set(args.set))
    n_messages = sum(len(c) for c in convs)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=args.corpus, index_dir=Path(tmp) / "index", fetch_links=False)
        build_index(settings)
        cli_args = ["--corpus", str(args.corpus), "--index", str(settings.index_path)]
        env = {**os.environ, "TUTOR_FETCH_LINKS": "0", "TUTOR_LLM": "none"}
        for name in ("TUTOR_EMBEDDINGS", "PYTHONPATH"):  # each checkout imports its own tutor
            env.pop(name, None)
        variants = args.variant if args.variant is not None else ["OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"]
        configs = {"default": (tutor_chat(cli_args), env, ROOT)}
        configs |= {
            v: (tutor_chat(cli_args), env | dict(kv.split("=", 1) for kv in v.split(",")), ROOT) for v in variants
        }
        trees = {"this checkout": (cli_args, ROOT)}
        if args.baseline:
            base = args.baseline.resolve()
            base_args = ["--corpus", str(args.corpus.resolve()), "--index", str(Path(tmp) / "index-baseline")]
            subprocess.run([PYTHON, "-m", "tutor.cli", "index", "--no-links", *base_args], cwd=base, env=env,
                           check=True, capture_output=True)  # fmt: skip
            configs[f"baseline {base.name}"] = (tutor_chat(base_args), env, base)
            trees[f"baseline {base.name}"] = (base_args, base)
        naive_cmd = [PYTHON, str(ROOT / "bench" / "naive_chat.py"), "--corpus", str(args.corpus.resolve())]
        configs["naive LangChain pipeline"] = (naive_cmd, env, ROOT)
        stress = [subprocess.Popen([PYTHON, "-c", "while True: pass"]) for _ in range(args.stress)]
        try:
            chats = chat_subprocesses(convs, args.repeat, configs, args.pause)
            cold = cold_ask(trees, env, args.cold_runs)
            warm = in_process(settings, convs, args.repeat)
        finally:
            for proc in stress:
                proc.kill()
                proc.wait()

    load = f"; {args.stress} busy processes running alongside" if args.stress else ""
    load += f"; {args.pause:g} s idle before each question" if args.pause else ""
    print(f"question set {args.set.name}: {len(convs)} conversations, {n_messages} messages, x{args.repeat}{load}")
    print(f"load average at start: {load_before:.1f} on {os.cpu_count()} cores")
    print("\nwarm, in-process (Tutor.ask: rewrite + search + answer + suggestions)")
    print(
        f"  per question     p50 {statistics.median(warm['ask_ms']):.1f} ms   p95 {percentile(warm['ask_ms'], 95):.1f} ms"
    )
    print(
        f"  search only      p50 {statistics.median(warm['search_ms']):.1f} ms   "
        f"p95 {percentile(warm['search_ms'], 95):.1f} ms"
    )
    print(f"  index load       {warm['load_s']:.2f} s;  peak RSS {warm['peak_rss_mb']:.0f} MB")
    print("\n`tutor chat --json` subprocesses, asked in turn (response time per line, measured by the parent)")
    for name, chat in chats.items():
        print(f"  {name}")
        print(
            f"    per question   p50 {statistics.median(chat['ms']):.1f} ms   p95 {percentile(chat['ms'], 95):.1f} ms"
        )
        print(f"    first answer   {chat['first_ms'] / 1000:.2f} s after start (loads index + embedder)")
        print(f"    peak RSS       {chat['peak_rss_mb']:.0f} MB (VmHWM);  exit code {chat['exit']}")
    naive = statistics.median(chats["naive LangChain pipeline"]["ms"])
    print("\nwarm per question against the naive LangChain pipeline (p50 / p50; target <= 1.15x)")
    for name, chat in chats.items():
        print(f"  {name:28s} {statistics.median(chat['ms']) / naive:.2f}x")
    print(f"\ncold `tutor ask {COLD_QUESTION!r} --json` (new process each time, index built; target <= 0.9 s)")
    for name, c in cold.items():
        runs = ", ".join(f"{s:.2f}" for s in c["s"])
        print(f"  {name:28s} median {statistics.median(c['s']):.2f} s  (runs: {runs})")
        print(f"  {'':28s} heavy modules loaded: {c['heavy_modules']}")


if __name__ == "__main__":
    main()
