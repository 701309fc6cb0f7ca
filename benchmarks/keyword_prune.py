"""Skipping very common query terms in keyword search (``keyword_prune_df``): its cost in
retrieval quality, and what it saves in keyword-search time on a large index.

Quality: the indexes and questions of benchmarks/retrieval.py (e5, default settings), nDCG@10 of
keyword-only and of the default hybrid retrieval at each share (1.0: no term skipped). Split:
CMRC2018 dev is the tuning set (the default share is chosen on it: the smallest share whose
nDCG@10 stays within 0.1 of no pruning, hybrid and keyword-only); XQuAD en and zh are reported
with that share, never used to choose it.

Latency (``--scale-index DIR``, an index built by benchmarks/scale.py's corpus; the directory
holds ``idx*`` and ``samples.txt``, as /tmp/prof does): keyword-search p50/p95 per share, the
questions' postings read once before timing.

    .venv/bin/python benchmarks/keyword_prune.py --cache /tmp/rag-bench-cache [--scale-index DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import retrieval  # noqa: E402  (benchmarks/retrieval.py: datasets, index builds, nDCG)

SHARES = (1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05)


def quality(data: Path, cache: Path | None) -> dict[str, dict[float, tuple[float, float]]]:
    from rag.cli.factory import build_embedder
    from rag.retrieval import HybridRetriever, KeywordRetriever
    from rag.settings import load_settings

    settings = load_settings(environ={})
    e5 = retrieval.CachedEmbedder(build_embedder(settings), "e5", cache)
    out: dict[str, dict[float, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-prune-") as tmp:
        work = Path(tmp)
        for dataset in retrieval.load_datasets(data, cmrc=True):
            pid_of = retrieval.write_passages(dataset.passages, work / "corpus" / dataset.name)
            snapshot = retrieval.build_index([work / "corpus" / dataset.name], settings, e5, work / "index" / dataset.name)
            e5.embed_queries(dataset.questions)
            e5.save()
            out[dataset.name] = {}
            snapshot.keyword_prune_min_chunks = 0  # these sets are small (251-1,558 chunks): measure the rule itself
            for share in SHARES:
                snapshot.keyword_prune_df = share
                row = []
                for retrieve in (KeywordRetriever(snapshot).retrieve, HybridRetriever.over(snapshot, e5).retrieve):
                    ranked = [retrieval.ranked_passages(retrieve, q, pid_of) for q in dataset.questions]
                    row.append(retrieval.score(dataset, ranked)[0])
                out[dataset.name][share] = (row[0], row[1])
                print(f"{dataset.name} share {share}: keyword {row[0]:.2f} hybrid {row[1]:.2f}", file=sys.stderr, flush=True)
    return out


def halueval_keyword(data: Path, n_questions: int = 2000) -> dict[float, tuple[float, float]]:
    """A second held-out set, keyword-only (no embedding needed): HaluEval QA's 10k knowledge
    passages indexed (random vectors, ``rag import``'s code), 2,000 of its questions (seeded
    sample), each with its own passage as the one relevant one: nDCG@10 and recall@1."""
    import json
    import math

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest.transfer import import_rows
    from rag.retrieval import KeywordRetriever
    from rag.store import IndexStore

    scale = _sibling("scale")
    rows = [json.loads(line) for line in (data / "halueval_qa" / "dataset_halueval_qa.jsonl").open(encoding="utf-8")]
    passages = list(dict.fromkeys(r["knowledge"] for r in rows))
    pid = {text: n for n, text in enumerate(passages)}
    rnd = random.Random(5)
    asked = rnd.sample(rows, n_questions)
    out = {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-prune-halueval-") as tmp:
        work = Path(tmp)
        schema = pa.schema([("source", pa.string()), ("text", pa.string()), ("vector", pa.list_(pa.float32(), scale.DIM))], metadata={"embedder": scale.E5_NAME})
        vectors = scale.unit(np.random.default_rng(0), len(passages))
        table = pa.table({"source": [f"/halueval/k{n:05d}.txt" for n in range(len(passages))], "text": passages,
                          "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), scale.DIM)}, schema=schema)  # fmt: skip
        pq.write_table(table, work / "rows.parquet")
        importer = IndexStore(work / "idx")
        import_rows(importer, [work / "rows.parquet"], chunker=scale.CHUNKER)
        importer.merger.wait()
        view = IndexStore(work / "idx").open()
        for share in SHARES:
            view.keyword_prune_df = share
            retrieve = KeywordRetriever(view).retrieve
            ndcg = r1 = 0.0
            for row in asked:
                ranked = list(dict.fromkeys(int(Path(p.chunk.path).stem[1:]) for p in retrieve(row["question"], 20)))[:10]
                gold = pid[row["knowledge"]]
                if gold in ranked:
                    ndcg += 1.0 / math.log2(ranked.index(gold) + 2)
                    r1 += ranked[0] == gold
            out[share] = (100 * ndcg / len(asked), 100 * r1 / len(asked))
            print(f"halueval share {share}: keyword nDCG@10 {out[share][0]:.2f}", file=sys.stderr, flush=True)
    return out


def _sibling(name: str) -> Any:
    """benchmarks/NAME.py (retrieval.py took the benchmarks folder off sys.path, so that
    benchmarks/ingest.py does not shadow the ingest package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def latency(folder: Path) -> dict[float, tuple[float, float]]:
    from rag.store import IndexStore

    index = next(folder.glob("idx*"), None)
    if index is None:
        sys.exit(f"--scale-index {folder}: no idx* index directory in it")
    samples = (folder / "samples.txt").read_text(encoding="utf-8").split("\n")
    view = IndexStore(index).open()
    rnd = random.Random(7)
    asked = list(dict.fromkeys(s[: rnd.randint(12, 40)] for s in samples[:300]))
    for q in asked:
        view.keyword_scores(q, 50)  # pages in the cache, document frequencies known
    out = {}
    for share in SHARES:
        view.keyword_prune_df = share
        times = []
        for _ in range(3):
            for q in asked:
                t = time.perf_counter()
                view.keyword_scores(q, 50)
                times.append(time.perf_counter() - t)
        times.sort()
        out[share] = (times[len(times) // 2] * 1e3, times[int(len(times) * 0.95)] * 1e3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache of benchmarks/retrieval.py")
    parser.add_argument("--scale-index", type=Path, default=None)
    args = parser.parse_args()
    found = quality(args.data, args.cache)
    print("| share | " + " | ".join(f"{name} keyword / hybrid" for name in found) + " |")
    print("|---:|" + "---:|" * len(found))
    for share in SHARES:
        print(f"| {share} | " + " | ".join(f"{found[name][share][0]:.2f} / {found[name][share][1]:.2f}" for name in found) + " |")
    held_out = halueval_keyword(args.data)
    print("\n| share | HaluEval QA keyword-only nDCG@10 / recall@1 (held out) |\n|---:|---:|")
    for share, (ndcg, r1) in held_out.items():
        print(f"| {share} | {ndcg:.2f} / {r1:.2f} |")
    if args.scale_index is not None:
        print("\n| share | keyword search p50 / p95 (ms) |\n|---:|---:|")
        for share, (p50, p95) in latency(args.scale_index).items():
            print(f"| {share} | {p50:.2f} / {p95:.2f} |")


if __name__ == "__main__":
    main()
