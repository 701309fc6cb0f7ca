"""Recall of the HNSW segments on real vectors, and retrieval quality with them, at scale.

Vectors: real e5 vectors (benchmarks/real_vectors.py, cached) of every passage and sentence of
../shared/data (CMRC2018, XQuAD, HaluEval knowledge), OCNLI's sentences and HaluEval's questions
and answers: every distinct text of those kinds the shared data holds. Each text is one chunk of
an index built by ``rag import``'s code (commits of 200 sources, the tiered merges and graphs of
the default settings, as a large import leaves them), beside the same rows imported with graphs
off (exact scans).

Queries (the reporting split; the graph's parameters were chosen on another: 30k sentences and
300 XQuAD questions, BENCHMARKS.md "Second round"): XQuAD en/zh questions other than those 300
and CMRC2018 dev questions, embedded as queries. Reported at several index sizes (random subsets
that always hold the queries' gold passages):

- recall@10 and recall@50 of the index's dense search (graphs, every segment, merged by score)
  against exact inner-product search over the same vectors;
- nDCG@10 of dense-only and of the default hybrid retrieval with graphs and with exact scans (a
  retrieved text is relevant when it is the question's gold context or one of its sentences);
- dense search p50 per query, both ways.

    .venv/bin/python benchmarks/ann_recall.py [--sizes 10000 30000 0] [--queries 600]   (0: all)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import real_vectors  # noqa: E402
import scale  # noqa: E402


def queries(data: Path, n: int) -> list[tuple[str, str]]:
    """(question, gold context) pairs of the reporting split."""
    xquad: list[tuple[str, str]] = []
    tuning: set[str] = set()
    for lang in ("en", "zh"):
        firsts = []
        for article in json.loads((data / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                for k, qa in enumerate(paragraph["qas"]):
                    (firsts if k == 0 else xquad).append((qa["question"], paragraph["context"].strip()))  # as real_vectors stores it
        tuning.update(q for q, _ in firsts)  # the tuning questions were drawn from these: none is asked here
    xquad = [(q, c) for q, c in xquad if q not in tuning]
    cmrc = []
    for article in json.loads((data / "cmrc2018" / "cmrc2018_dev.json").read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            cmrc.extend((qa["question"], paragraph["context"].strip()) for qa in paragraph["qas"])
    rnd = random.Random(13)
    return rnd.sample(xquad, n // 2) + rnd.sample(cmrc, n - n // 2)


def write_parquet(path: Path, texts: list[str], vectors: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("source", pa.string()), ("text", pa.string()), ("vector", pa.list_(pa.float32(), scale.DIM))], metadata={"embedder": scale.E5_NAME})
    table = pa.table(
        {"source": [f"/real/t{n:06d}.txt" for n in range(len(texts))], "text": texts,
         "vector": pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1)), scale.DIM)},
        schema=schema,
    )  # fmt: skip
    pq.write_table(table, path)


def build(root: Path, rows: Path, ann_min_rows: int) -> tuple[Any, float]:
    from ingest.transfer import import_rows
    from rag.index.ann import AnnConfig
    from rag.store import IndexStore

    store = IndexStore(root, ann=AnnConfig(min_rows=ann_min_rows))
    started = time.perf_counter()
    import_rows(store, [rows], chunker=scale.CHUNKER)
    store.merger.wait()
    return IndexStore(root, ann=AnnConfig(min_rows=ann_min_rows)), time.perf_counter() - started


def ndcg(ranked: list[str], relevant: set[str]) -> float:
    dcg = sum(1.0 / math.log2(r + 2) for r, t in enumerate(ranked[:10]) if t in relevant)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(10, len(relevant))))
    return dcg / ideal if ideal else 0.0


def measure(texts: list[str], vectors: np.ndarray, asked: list[tuple[str, str]], qv: np.ndarray, e5: Any, work: Path) -> dict[str, Any]:
    from rag.retrieval import DenseRetriever, HybridRetriever

    rows = work / "rows.parquet"
    write_parquet(rows, texts, vectors)
    graph_store, graph_s = build(work / "graph", rows, 5_000)
    exact_store, exact_s = build(work / "exact", rows, 0)
    position = {t: n for n, t in enumerate(texts)}
    exact_top = np.argsort(-(qv @ vectors.T), axis=1)[:, :50]
    out: dict[str, Any] = {"vectors": len(texts), "import_with_graphs_s": graph_s, "import_exact_s": exact_s}
    sentence_of: dict[str, list[str]] = {}
    with graph_store.open() as graph, exact_store.open() as exact:
        out["segments"] = [(s.record.rows, s.graph is not None) for s in graph.segments]
        text_of = {c.vector_id: c.text for c in graph.chunks()}
        r10, r50, times = [], [], {"graph": [], "exact": []}
        for i in range(len(asked)):
            for label, view in (("graph", graph), ("exact", exact)):
                t = time.perf_counter()
                found = view.dense_scores(qv[i], 50)
                times[label].append(time.perf_counter() - t)
                if label == "graph":
                    got = [position[text_of[c]] for c, _ in found]
                    truth = exact_top[i].tolist()
                    r10.append(len(set(got[:10]) & set(truth[:10])) / 10)
                    r50.append(len(set(got) & set(truth)) / 50)
        out.update(recall_at_10=statistics.mean(r10), recall_at_50=statistics.mean(r50),
                   dense_p50_ms={k: 1e3 * statistics.median(v) for k, v in times.items()})  # fmt: skip
        for (question, _), vector in zip(asked, qv, strict=True):
            e5._queries._vectors[question] = vector  # the retrievers find the question embedded
        corpus = set(texts)
        for _, context in asked:
            if context not in sentence_of:
                sentence_of[context] = [s for s in scale._SPLIT.split(context) if s.strip() in corpus]
        for label, view in (("graph", graph), ("exact", exact)):
            for method, retriever in (("dense", DenseRetriever(view, e5)), ("hybrid", HybridRetriever.over(view, e5))):
                scores = []
                for question, context in asked:
                    ranked = list(dict.fromkeys(p.chunk.text for p in retriever.retrieve(question, 20)))
                    scores.append(ndcg(ranked, {context, *(s.strip() for s in sentence_of[context])}))
                out[f"ndcg_{method}_{label}"] = 100 * statistics.mean(scores)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=real_vectors.DEFAULT_CACHE)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 0])
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from rag.embedders import E5Embedder

    got = real_vectors.load_or_embed(args.data, cache=args.cache)
    first: dict[str, int] = {}  # a text of two kinds (a one-sentence passage) is one vector
    for n, t in enumerate(t for kind in real_vectors.KINDS for t in got[kind][0]):
        first.setdefault(t, n)
    texts = list(first)
    vectors = np.concatenate([got[kind][1] for kind in real_vectors.KINDS])[np.asarray(list(first.values()))]
    index_of = {t: n for n, t in enumerate(texts)}
    asked = queries(args.data, args.queries)
    e5 = E5Embedder(threads=2, query_cache=10**6)
    qv = e5.embed_queries([q for q, _ in asked])
    gold = {c for _, c in asked}
    results = []
    for size in args.sizes:
        n = len(texts) if size <= 0 or size >= len(texts) else size
        rnd = np.random.default_rng(n)
        must = np.asarray(sorted(index_of[c] for c in gold), dtype=np.int64)  # every gold context is a text of the corpus
        others = np.setdiff1d(np.arange(len(texts)), must)
        picked = np.sort(np.concatenate([must, rnd.choice(others, n - len(must), replace=False)])) if n < len(texts) else np.arange(len(texts))
        with tempfile.TemporaryDirectory(prefix="rag-bench-ann-") as tmp:
            result = measure([texts[i] for i in picked], vectors[picked], asked, qv, e5, Path(tmp))
        results.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{len(texts)} real vectors ({', '.join(f'{k} {len(got[k][0])}' for k in real_vectors.KINDS)}); {len(asked)} queries")
    print("| vectors | segments (rows, graph) | recall@10 | recall@50 | dense p50 graph / exact (ms) | nDCG@10 dense graph / exact | nDCG@10 hybrid graph / exact |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['vectors']:,} | {r['segments']} | {r['recall_at_10']:.3f} | {r['recall_at_50']:.3f} | {r['dense_p50_ms']['graph']:.2f} / {r['dense_p50_ms']['exact']:.2f} | "
              f"{r['ndcg_dense_graph']:.2f} / {r['ndcg_dense_exact']:.2f} | {r['ndcg_hybrid_graph']:.2f} / {r['ndcg_hybrid_exact']:.2f} |")


if __name__ == "__main__":
    main()
