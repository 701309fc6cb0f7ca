"""Queries scoped to collections beside unscoped ones, in one process.

An index of ``--chunks`` synthetic chunks (benchmarks/scale.py's corpus: sentences of the shared
data, random unit vectors) imported as ``--collections`` collections of equal size. For the whole
index, one collection, and half of them: hybrid retrieval p50/p95 with the query vector cached
(no embedding) and a full extractive answer p50/p95 (the real e5 embeds the question), through
the service a scoped key's request gets (``Factory.qa_service(view, collections)``); and the time
to build a scope's row masks (once per index version and scope in a server).

    .venv/bin/python benchmarks/scopes.py [--chunks 100000] [--collections 10] [--questions 60]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), str(ROOT / "benchmarks")] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "benchmarks")]

import scale  # noqa: E402

from ingest.transfer import import_rows  # noqa: E402
from rag.cli.factory import Factory  # noqa: E402
from rag.embedders import E5Embedder  # noqa: E402
from rag.settings import load_settings  # noqa: E402
from rag.store import IndexStore  # noqa: E402


def _spread(rows: Path, n: int) -> None:
    """Give the sources of a rows file a ``collection`` column: c0 ... c{n-1}, in turn."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(rows)
    order = {s: i for i, s in enumerate(dict.fromkeys(table.column("source").to_pylist()))}
    names = [f"c{order[s] % n}" for s in table.column("source").to_pylist()]
    pq.write_table(table.append_column("collection", pa.array(names, pa.string())), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Latency of queries scoped to collections beside unscoped ones.")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--collections", type=int, default=10)
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    e5 = E5Embedder(threads=2)
    pool = scale.sentences(args.data)
    with tempfile.TemporaryDirectory(prefix="rag-scopes-") as tmp:
        work = Path(tmp)
        store = IndexStore(work / "index")
        started = time.perf_counter()
        rows = work / "rows.parquet"
        samples = scale.write_rows(rows, args.chunks, pool, seed=args.chunks)
        _spread(rows, args.collections)
        standin = scale.StandIn(e5.info)  # sentence and word vectors as scale.py makes them
        import_rows(store, [rows], chunker=scale.CHUNKER, sentence_embedder=standin.embed_passages, word_embedder=standin.embed_queries)
        store.merger.wait()
        print(f"built {args.chunks:,} chunks in {args.collections} collections: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        settings = load_settings(environ={"RAG_INDEX_DIR": str(store.root)})
        factory = Factory(settings, embedder=e5)
        snapshot = store.open(e5.info)
        rnd = random.Random(0)
        asked = list(dict.fromkeys(s[: rnd.randint(12, 40)] for s in rnd.sample(samples, min(args.questions, len(samples)))))
        scopes: list[tuple[str, list[str] | None]] = [
            ("whole index (no scope)", None), ("1 collection (10 %)" if args.collections == 10 else "1 collection", ["c0"]),
            (f"{args.collections // 2} collections (half)", [f"c{c}" for c in range(args.collections // 2)]),
        ]
        print("| scope | chunks seen | scope masks built (ms) | retrieval p50 / p95 (ms) | full answer p50 / p95 (ms) |")
        print("|---|---:|---:|---:|---:|")
        for name, collections in scopes:
            t = time.perf_counter()
            service = factory.qa_service(snapshot, collections)
            build_ms = (time.perf_counter() - t) * 1e3
            for q in asked:
                e5.embed_queries([q + "？"])  # cached: retrieval is timed without the embedding
            retrieval, full = [], []
            service.ask("预热：这个问题不计时？")
            for q in asked:
                t = time.perf_counter()
                service.retriever.retrieve(q + "？", settings.top_k)
                retrieval.append(time.perf_counter() - t)
                t = time.perf_counter()
                service.ask(q + " " + name[:1])  # a question not asked before: embedded
                full.append(time.perf_counter() - t)
            p = scale.percentile
            print(f"| {name} | {service.snapshot.n_chunks:,} | {build_ms:.0f} | {p(retrieval, 50) * 1e3:.1f} / {p(retrieval, 95) * 1e3:.1f} | "
                  f"{p(full, 50) * 1e3:.1f} / {p(full, 95) * 1e3:.1f} |", flush=True)
        snapshot.close()


if __name__ == "__main__":
    main()
