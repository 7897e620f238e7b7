"""How search time and memory grow with the notes: synthetic corpora of 1k, 10k and 100k chunks.

    .venv/bin/python bench/growth.py [--sizes 1000,10000,100000] [--queries 60] [--work DIR]

Each corpus is generated text (Chinese/English deep-learning sentences from a Zipf-weighted vocabulary, many
files with topic and question headings, bold run-in sub-headings) indexed by the real `build_index`. The
embedder is a fast stand-in, a random projection of character bigrams (texts that share words are close,
like real embeddings), so the figures measure the search and not e5; the e5 query itself costs a constant
~30 ms on top (bench/latency.py). Each size is built in one child process and searched in another, so the
memory figures are those of a process that only loads and searches.

Printed per size: build time, index load + Retriever start-up, time per query of the full
`Retriever.search` (dense + BM25 + fusion + decision) and of `Tutor.ask` (plus answer and suggestions),
peak RSS; then exact (flat) against HNSW FAISS: time per search, HNSW build time, recall@10.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("TUTOR_BENCH_CODE") or str(ROOT))  # --compare runs the children on another copy

DIM = 384
SEED = 7


def words(text: str) -> list[str]:
    return text.split()


ZH_TERMS = words(
    "梯度消失 梯度爆炸 过拟合 欠拟合 正则化 激活函数 卷积核 池化 残差 预训练 微调 初始化 学习率 批大小 反向传播 链式求导 损失函数 交叉熵 优化器 动量 权重衰减 归一化 批归一化 层归一化 "
    "注意力 自注意力 编码器 解码器 词向量 嵌入 特征图 感受野 步长 填充 全连接层 隐藏层 神经元 门控 遗忘门 输入门 输出门 长短期记忆 循环神经网络 卷积神经网络 生成对抗网络 判别器 生成器 "
    "数据增强 早停 集成 知识蒸馏 剪枝 量化 推理 训练集 验证集 测试集 标签 噪声 偏差 方差 泛化 收敛 鞍点 局部最小值 学习率衰减 预热 梯度剪切 标签平滑 对比学习 自监督 迁移学习 多任务 "
    "召回率 准确率 精确率 混淆矩阵 损失曲面 参数量 计算量"
)
EN_TERMS = words(
    "dropout batchnorm layernorm relu sigmoid tanh gelu softmax adam sgd momentum rmsprop adagrad lstm "
    "gru rnn cnn transformer attention bert gpt resnet vgg inception mobilenet efficientnet unet yolo gan "
    "vae diffusion embedding tokenizer logits gradient backprop epoch batch kernel stride padding pooling "
    "encoder decoder overfitting regularization weight-decay warmup cosine-schedule label-smoothing mixup "
    "cutout distillation pruning fp16 int8"
)
ZH_GLUE = words(
    "的 是 在 可以 通过 使得 因为 所以 从而 一般 会 能够 需要 对于 其中 如果 那么 这种 方法 问题 网络 模型 训练"
)
EN_GLUE = words("the a is are of to in for and that this can be with by it which when model network training")
ZH_TEMPLATES = (
    "{a}{g}{b}，{g}{c}。",
    "{a}和{b}的区别在于{c}{g}{d}。",
    "为了缓解{a}，{g}使用{b}或者{c}。",
    "{a}{g}会导致{b}，因此{c}{g}{d}。",
    "在{a}中，{b}{g}{c}，{d}也很重要。",
)
EN_TEMPLATES = (
    "{a} {g} {b} so that {c} {g} stable.",
    "Using {a} with {b} {g} reduce {c}.",
    "The {a} layer {g} {b} before {c} and {d}.",
)
QUESTION_TEMPLATES = (
    "{a}为什么会导致{b}？",
    "讲一下{a}和{b}的区别",
    "How does {a} help with {b}?",
    "{a}有哪些解决方法？",
)


class Vocabulary:
    """Zipf-weighted term choice: a few very common terms (long postings lists), a long tail of rare ones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        rare = [f"{rng.choice(EN_TERMS)}-v{i}" for i in range(4000)] + [
            f"{t}{i}型" for i, t in enumerate(ZH_TERMS * 40)
        ]
        self.terms = ZH_TERMS + EN_TERMS + rare
        weights = [1 / (rank + 1) ** 1.05 for rank in range(len(self.terms))]
        total = sum(weights)
        self.cum = list(np.cumsum([w / total for w in weights]))

    def term(self) -> str:
        x = self.rng.random()
        lo, hi = 0, len(self.cum) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.cum[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        return self.terms[lo]

    def sentence(self, english: bool) -> str:
        template = self.rng.choice(EN_TEMPLATES if english else ZH_TEMPLATES)
        glue = EN_GLUE if english else ZH_GLUE
        return template.format(a=self.term(), b=self.term(), c=self.term(), d=self.term(), g=self.rng.choice(glue))

    def paragraph(self) -> str:
        english = self.rng.random() < 0.3
        text = (" " if english else "").join(self.sentence(english) for _ in range(self.rng.randint(2, 6)))
        return text[:300]

    def question(self) -> str:
        return self.rng.choice(QUESTION_TEMPLATES).format(a=self.term(), b=self.term())


def write_corpus(corpus: Path, target_chunks: int, seed: int = SEED) -> None:
    """About `target_chunks` chunks in files of ~200 chunks: topics, question headings, paragraphs, run-ins."""
    rng = random.Random(seed)
    vocab = Vocabulary(rng)
    corpus.mkdir(parents=True, exist_ok=True)
    made, n_file = 0, 0
    while made < target_chunks:
        lines: list[str] = []
        for topic in range(1, 9):
            lines += [f"# {topic}、{vocab.term()}与{vocab.term()}", ""]
            for q in range(1, 6):
                lines += [f"## {topic}.{q} {vocab.question()}", ""]
                made += 1
                for _ in range(rng.randint(0, 5)):
                    if rng.random() < 0.15:
                        lines += [f"**{vocab.term()}**", ""]  # a run-in heading: one chunk with the paragraph
                    lines += ["    " + vocab.paragraph(), ""]
                    made += 1
                if made >= target_chunks:
                    break
            if made >= target_chunks:
                break
        sub = corpus / f"part{n_file // 100:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"notes-{n_file:05d}.md").write_text("\n".join(lines), encoding="utf-8")
        n_file += 1


class BigramProjection:
    """A fast deterministic stand-in embedder: random projection of hashed character bigrams, L2-normalised."""

    name = "hash:384"

    def __init__(self, dim: int = DIM, buckets: int = 1 << 14) -> None:
        self.table = np.random.default_rng(SEED).standard_normal((buckets, dim)).astype(np.float32)
        self.buckets = buckets

    def _one(self, text: str) -> np.ndarray:
        low = text.lower()
        ids = [zlib.crc32(low[i : i + 2].encode("utf-8", "surrogatepass")) % self.buckets for i in range(len(low) - 1)]
        vec = self.table[ids or [0]].sum(axis=0)
        return vec / (np.linalg.norm(vec) or 1.0)

    def embed_documents(self, texts: list[str]) -> list[np.ndarray]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    status = Path("/proc/self/status").read_text().splitlines()
    get = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status if line.startswith(("VmRSS", "VmHWM"))}
    return get["VmRSS"], get["VmHWM"]


def settings_at(work: Path):
    from tutor.config import Settings

    return Settings(corpus_dir=work / "corpus", index_dir=work / "index", fetch_links=False, embeddings="hash:384")


def child_build(work: Path, size: int) -> dict:
    import tutor.index.build as index_mod

    index_mod.get_embeddings = lambda spec: BigramProjection()  # noqa: ARG005 - the stand-in for e5
    t0 = time.perf_counter()
    write_corpus(work / "corpus", size)
    gen_s = time.perf_counter() - t0
    report = index_mod.build_index(settings_at(work))
    return {
        "generate_s": gen_s,
        "build_s": report.seconds,
        "chunks": report.chunks,
        "files": report.files,
        "build_peak_mb": rss_mb()[1],
    }


def _queries(n: int) -> list[str]:
    rng = random.Random(SEED + 1)
    vocab = Vocabulary(rng)
    common = ["网络模型的训练方法是什么？", "what is the model network training", "模型训练的问题"]
    return common + [vocab.question() for _ in range(n - len(common))]


def _timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def child_query(work: Path, n_queries: int, ann: bool) -> dict:
    from tutor.answer.chat import Tutor
    from tutor.index.store import load_index
    from tutor.search.retriever import Retriever

    embedder = BigramProjection()
    settings = settings_at(work)
    base_mb = rss_mb()[0]
    t0 = time.perf_counter()
    index = load_index(settings)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    retriever = Retriever(index, embedder)
    init_s = time.perf_counter() - t0
    loaded_mb = rss_mb()[0]
    queries = _queries(n_queries)
    for q in queries[:5]:
        retriever.search(q)
    search_ms = _timed(retriever.search, queries)
    vecs = {q: embedder.embed_query(q) for q in queries}
    dense_ms = _timed(lambda q: index.search(vecs[q], 64), queries)
    tutor = Tutor(settings, index, embedder=embedder)
    tutor.retriever = retriever
    tutor.ask(queries[0])
    ask_ms = _timed(tutor.ask, queries)
    out = {
        "chunks": len(index.chunks),
        "faiss": index.manifest.get("faiss"),
        "load_s": load_s,
        "retriever_init_s": init_s,
        "index_mb": loaded_mb - base_mb,
        "search_p50": statistics.median(search_ms),
        "search_p95": _p(search_ms, 95),
        "dense_p50": statistics.median(dense_ms),
        "ask_p50": statistics.median(ask_ms),
        "ask_p95": _p(ask_ms, 95),
        "peak_mb": rss_mb()[1],  # before e5 is loaded below: the index and the search alone
    }
    # the e5 query embedding the stand-in skipped, timed on the same questions and added per question
    from tutor.index.embeddings import get_embeddings

    e5 = get_embeddings("e5-small-q4")
    e5.embed_query(queries[0])
    e5_ms = _timed(e5.embed_query, queries)
    total = [a + e for a, e in zip(ask_ms, e5_ms, strict=True)]
    out |= {"e5_p50": statistics.median(e5_ms), "total_p50": statistics.median(total), "total_p95": _p(total, 95)}
    if ann:
        out |= compare_ann(index, [vecs[q] for q in queries])
    return out


def _recall(exact, approx, k: int = 10) -> float:
    return float(np.mean([len(set(e[:k]) & set(a[:k])) / k for e, a in zip(exact, approx, strict=True)]))


EF_SEARCH = (64, 96, 128, 256)


def compare_ann(index, queries: list[np.ndarray], k: int = 10) -> dict:
    """Exact (flat) against HNSW on the same vectors, as the retriever searches (top 64, one query at a time):
    time per search, HNSW build time, and recall@10 of HNSW for several efSearch values."""
    import faiss

    from tutor.index.disk import HNSW_EF_SEARCH, hnsw_index
    from tutor.index.store import search_vectors
    from tutor.search.retriever import DENSE_K

    def ids(idx, qs):
        return [[i for i, _ in search_vectors(idx, v, DENSE_K)] for v in qs]

    vectors = index.faiss_index.reconstruct_n(0, index.faiss_index.ntotal)
    q = np.stack(queries).astype(np.float32)
    # queries close to a stored passage, as a question about the notes would be
    rng = np.random.default_rng(SEED)
    near = vectors[rng.integers(0, len(vectors), len(queries))] + rng.normal(0, 0.02, (len(queries), DIM))
    near = (near / np.linalg.norm(near, axis=1, keepdims=True)).astype(np.float32)
    # the worst case for a graph index: uniform random unit vectors, no cluster structure at all
    rnd = rng.standard_normal((len(vectors), DIM)).astype(np.float32)
    rnd /= np.linalg.norm(rnd, axis=1, keepdims=True)
    q_rnd = rng.standard_normal((len(queries), DIM)).astype(np.float32)
    q_rnd /= np.linalg.norm(q_rnd, axis=1, keepdims=True)
    flat, flat_rnd = faiss.IndexFlatIP(DIM), faiss.IndexFlatIP(DIM)
    flat.add(vectors)
    flat_rnd.add(rnd)
    t0 = time.perf_counter()
    hnsw = hnsw_index(vectors, DIM)
    result: dict = {"hnsw_build_s": time.perf_counter() - t0, "ef": {}}
    hnsw_rnd = hnsw_index(rnd, DIM)
    times = _timed(lambda v: search_vectors(flat, v, DENSE_K), list(q) + list(near))
    result["flat_ms"], result["flat_p95"] = statistics.median(times), _p(times, 95)
    exact = {"text": ids(flat, q), "near": ids(flat, near), "random": ids(flat_rnd, q_rnd)}
    for ef in EF_SEARCH:
        hnsw.hnsw.efSearch = hnsw_rnd.hnsw.efSearch = ef
        times = _timed(lambda v: search_vectors(hnsw, v, DENSE_K), list(q) + list(near))
        result["ef"][ef] = {
            "ms": statistics.median(times),
            "p95": _p(times, 95),
            "text": _recall(exact["text"], ids(hnsw, q), k),
            "near": _recall(exact["near"], ids(hnsw, near), k),
            "random": _recall(exact["random"], ids(hnsw_rnd, q_rnd), k),
            "default": ef == HNSW_EF_SEARCH,
        }
    return result


def flat_sweep(sizes: list[int], n_queries: int = 40) -> list[tuple[int, float, float]]:
    """Exact search alone (random unit vectors, top 64, one thread as in the retriever): where it gets slow."""
    import faiss

    from tutor.index.store import search_vectors
    from tutor.search.retriever import DENSE_K

    rng = np.random.default_rng(SEED)
    out = []
    for n in sizes:
        vectors = rng.standard_normal((n, DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        flat = faiss.IndexFlatIP(DIM)
        flat.add(vectors)
        del vectors
        queries = rng.standard_normal((n_queries, DIM), dtype=np.float32)
        search_vectors(flat, queries[0], DENSE_K)
        times = _timed(lambda v, flat=flat: search_vectors(flat, v, DENSE_K), list(queries))
        out.append((n, statistics.median(times), _p(times, 95)))
    return out


def run_child(args: list[str], code: Path | None = None) -> dict:
    env = {**os.environ, "TUTOR_BENCH_CODE": str(code)} if code else None
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_table(title: str, rows: list[tuple[int, dict, dict]]) -> None:
    print(title)
    print(
        "chunks   files  build s  load s  init s  faiss  index MB  peak MB  search p50/p95 ms  ask p50/p95 ms"
        "  + e5 query: p50/p95 ms"
    )
    for _, b, s in rows:
        print(
            f"{s['chunks']:>7}  {b['files'] or '-':>5}  {b['build_s']:>7.1f}  {s['load_s']:>6.2f}  {s['retriever_init_s']:>6.2f}"
            f"  {s['faiss']:>5}  {s['index_mb']:>8.0f}  {s['peak_mb']:>7.0f}  {s['search_p50']:>8.1f} / {s['search_p95']:<6.1f}"
            f"  {s['ask_p50']:>6.1f} / {s['ask_p95']:<6.1f}  {s.get('total_p50', float('nan')):>11.1f} / "
            f"{s.get('total_p95', float('nan')):.1f}"
        )
    ann_rows = [s for _, _, s in rows if "ef" in s]
    if ann_rows:
        print("\nexact vs HNSW (M=32, efConstruction=80): top-64 search of one query; recall@10 of HNSW vs exact")
        print("chunks   flat p50/p95 ms  hnsw build s  efSearch  hnsw p50/p95 ms  recall: text  near   random")
        for s in ann_rows:
            for ef, r in s["ef"].items():
                mark = "*" if r["default"] else " "
                print(
                    f"{s['chunks']:>7}  {s['flat_ms']:>6.2f} / {s['flat_p95']:<6.2f}  {s['hnsw_build_s']:>12.1f}"
                    f"  {ef:>7}{mark}  {r['ms']:>6.2f} / {r['p95']:<6.2f}  {r['text']:>12.3f}  {r['near']:.3f}"
                    f"  {r['random']:.3f}"
                )
        print("  (* the efSearch tutor/index/disk.py uses)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--ann-from", type=int, default=10_000, help="compare flat and HNSW from this size up")
    parser.add_argument("--work", type=Path, help="keep the generated corpora and indexes here (and reuse them)")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="also search with the tutor package in DIR")
    parser.add_argument(
        "--flat-sweep", default="50000,100000,200000,300000,400000", help="sizes for exact search alone ('' to skip)"
    )
    parser.add_argument("--child", choices=["build", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ann", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        print(json.dumps(child_build(args.work, args.size)))
        return
    if args.child == "query":
        print(json.dumps(child_query(args.work, args.queries, args.ann)))
        return

    sweep = flat_sweep([int(n) for n in args.flat_sweep.split(",") if n]) if args.flat_sweep else []
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tmp = None if args.work else tempfile.TemporaryDirectory()
    base = args.work or Path(tmp.name)
    rows, other = [], []
    try:
        for size in sizes:
            work = base / f"n{size}"
            if (work / "index" / "CURRENT").exists():
                built = {"build_s": float("nan"), "files": None}
            else:
                built = run_child(["--child", "build", "--work", str(work), "--size", str(size)])
            query = ["--child", "query", "--work", str(work), "--queries", str(args.queries)]
            query += ["--ann"] if size >= args.ann_from else []
            if args.compare:  # the same corpus and index, searched by both versions one after the other
                other.append((size, {"build_s": float("nan"), "files": built["files"]}, run_child(query, args.compare)))
            rows.append((size, built, run_child(query)))
            print(f"done {size}", file=sys.stderr, flush=True)
    finally:
        if tmp:
            tmp.cleanup()
    print(
        f"{os.cpu_count()} cores; {args.queries} queries per size; stand-in embedder for the index; the last"
        " column adds the e5 query embedding, timed on the same questions\n"
    )
    if other:
        print_table(f"--compare {args.compare}", other)
        print()
    print_table("this tree", rows)
    if sweep:
        from tutor.index.disk import ANN_THRESHOLD

        print(f"\nexact search alone (random vectors, top 64, one thread); ANN_THRESHOLD = {ANN_THRESHOLD:,}")
        print("vectors   p50 ms  p95 ms")
        for n, p50, p95 in sweep:
            print(f"{n:>7}  {p50:>7.1f}  {p95:>6.1f}")


if __name__ == "__main__":
    main()
