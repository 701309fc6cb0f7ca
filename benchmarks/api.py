"""HTTP API throughput: ``rag serve``'s ``POST /v1/query`` against the plain FastAPI endpoint a
user would write around the LangChain recipe, at 1, 4, 16 and 64 concurrent clients on loopback.

The two servers, each one uvicorn process with one worker, started by this script:

- ours     ``rag serve --index DIR --log-level warning`` with default settings (generator
           extractive, top_k 5) and ``RAG_EMBED_THREADS=2``: hybrid retrieval (dense + BM25),
           sentence selection, abstention, citations with character offsets.
- recipe   this file run as ``--serve-recipe``: FastAPI + uvicorn around a LangChain
           ``langchain_community.vectorstores.FAISS`` store, queried with the same model and
           prefixes (``rag.langchain_adapters.EmbedderEmbeddings`` over
           ``rag.embedders.E5Embedder(threads=2)``). ``POST /query`` with ``{"question"}``
           returns ``similarity_search(question, k=5)``: the five documents' texts and metadata,
           no answer (what a user gets without an LLM). The endpoint is a plain ``def``, which
           FastAPI runs in its thread pool, as it runs ours. Its store is, by default, built by
           this script from our index's chunk texts and the vectors our index holds for them
           (written as ``chunks.json`` + ``vectors.npy``, no pickle) and put into a FAISS store
           by the server at start-up with ``FAISS.from_embeddings`` (no embedding): the two
           servers then search the same 516 chunks with the same vectors and only the serving
           path differs. ``--recipe-splitter`` has the recipe split the passage files itself
           (``RecursiveCharacterTextSplitter``, 500 characters, overlap 50, the separators of
           benchmarks/ingest.py) and embed them at start-up (``FAISS.from_documents``, ~1 min
           more on 2 cores).

Corpus: every paragraph of XQuAD zh and XQuAD en (240 + 240, ``../shared/data/xquad``), one .txt
file per paragraph, ingested by ``rag ingest``. Questions: the unique XQuAD questions of both
languages, shuffled with a fixed seed and taken alternately zh / en.

Method: one driver process (asyncio + ``httpx.AsyncClient``, keep-alive, as many connections as
clients); both servers are up for the whole run, so machine noise hits both. Warm-up first
(``--warmup`` untimed requests per server at 16 clients). Then a bounded schedule: at each level
c clients loop over a shared list of questions, one request at a time, until it is used up;
``--requests N`` requests at c=1 and 2N at c=4, c=16 and c=64, split into ``--rounds`` rounds whose
level order rotates (1-4-16, 4-16-1, 16-1-4, 1-4-16, ...) and within which the server that goes first
alternates. Each question is asked once in that first pass, and both servers get the same
questions in the same order. The whole schedule then runs again with the same questions
("repeat").

Why two passes: ours keeps the sentence vectors of the passages it has read (an LRU of 4,096
sentences; this corpus has about 2,500), so a question about a passage it has not read yet costs
embedding that passage's sentences, and one about a passage it has read costs little. The first
pass shows a fresh server, or a corpus much larger than the cache (its cost falls from round to
round as the cache fills: printed); the repeat pass shows a server that has read every passage.
The recipe does the same work in both passes (a query embedding and a FAISS search), so its two
passes also show the run's noise.

Reported per pass, server and level: requests/s (200 responses / the level's wall time, summed
over the rounds), p50 and p95 latency (nearest rank, over the 200 responses; from sending the
request to the parsed JSON body), errors (any non-200 status, timeout or connection error: none
is retried, all are counted and printed), the server's CPU time per request (user + system of
all its threads, from /proc, OpenMP spin-waits included) and the driver's own CPU time per
request. Ratios are ours / recipe. The driver, both servers and their embedder threads share
the machine's cores (2 where this was written): the wall-clock figures include that contention.

Run from the repository root (needs the ``bench`` extra: langchain-community, langchain-text-splitters)::

    .venv/bin/python benchmarks/api.py                      # ~3 min on 2 cores (~50 s of it rag ingest)
    .venv/bin/python benchmarks/api.py --requests 30        # a quick look, ~2 min
    .venv/bin/python benchmarks/api.py --json               # the figures as JSON on stdout (progress on stderr)
    .venv/bin/python benchmarks/api.py --serve-recipe --corpus DIR --port 8001   # the baseline server alone

Options: ``--data DIR`` (default ``../shared/data``), ``--requests N`` (default 120),
``--rounds N`` (default 6), ``--warmup N`` (default 32), ``--timeout S`` (default 60),
``--seed N``, ``--recipe-splitter``, ``--omp-passive``, ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and this file (api.py) would shadow
# the ``api`` package (and benchmarks/ingest.py the ``ingest`` package): look packages up from the
# repository root instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
from eval.stats import percentile  # noqa: E402  (linear between ranks, as numpy.quantile)

THREADS = 2  # E5Embedder threads, both servers
TOP_K = 5
LC_CHUNK_SIZE, LC_OVERLAP = 500, 50
LC_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "?", ".", " ", ""]  # as benchmarks/ingest.py
LEVELS = (1, 4, 16, 64)
SERVERS = ("ours", "recipe")
DEFAULT_REQUESTS = 120
RAG_BIN = Path(sys.executable).parent / "rag"


# -- the baseline: the plain FastAPI endpoint around the LangChain recipe ----------------------


class Question(BaseModel):
    """The recipe's request body (module level: FastAPI must resolve the annotation)."""

    question: str


def recipe_app(corpus: Path | None, store: Path | None = None, threads: int = THREADS) -> Any:
    """The FastAPI app a user would write around the LangChain recipe (no LLM: the top 5 documents).

    With ``store``: ``FAISS.from_embeddings`` over texts and vectors saved beforehand (an offline
    ingest step, as ``rag ingest`` is for ours; not ``FAISS.load_local``, which unpickles).
    Without: split the .txt files of ``corpus`` and
    ``FAISS.from_documents`` them at start-up."""
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # langchain-community's sunset notices
    from fastapi import FastAPI
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.embedders import E5Embedder
    from rag.langchain_adapters import EmbedderEmbeddings

    embeddings = EmbedderEmbeddings(E5Embedder(threads=threads, query_cache=0))
    if store is not None:
        import json

        import numpy as np

        saved = json.loads((store / "chunks.json").read_text(encoding="utf-8"))
        vectors = np.load(store / "vectors.npy", allow_pickle=False)
        pairs = [(c["text"], v.tolist()) for c, v in zip(saved, vectors, strict=True)]
        vectorstore = FAISS.from_embeddings(pairs, embeddings, metadatas=[c["metadata"] for c in saved])
    else:
        assert corpus is not None
        files = sorted(corpus.rglob("*.txt"))
        docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)}) for p in files]
        splitter = RecursiveCharacterTextSplitter(chunk_size=LC_CHUNK_SIZE, chunk_overlap=LC_OVERLAP, separators=LC_SEPARATORS)
        vectorstore = FAISS.from_documents(splitter.split_documents(docs), embeddings)
    embeddings.embed_query("warm-up")  # load the model before the first request, as ours does

    app = FastAPI()

    @app.post("/query")
    def query(q: Question) -> dict[str, Any]:
        found = vectorstore.similarity_search(q.question, k=TOP_K)
        return {"documents": [{"text": d.page_content, "metadata": d.metadata} for d in found]}

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "chunks": vectorstore.index.ntotal}

    return app


def save_recipe_store(index_dir: Path, dest: Path) -> int:
    """The recipe's FAISS store over exactly our index's chunks: their texts, with the vectors our
    index holds for them (read from its index.faiss: nothing is embedded again). Returns the chunk count."""
    import json

    import faiss
    import numpy as np

    from rag.store import IndexStore

    with IndexStore(index_dir).open() as snapshot:
        chunks = snapshot.chunks()
        ours = faiss.read_index(str(snapshot.path / "index.faiss"))
    dest.mkdir(parents=True, exist_ok=True)
    saved = [{"text": c.text, "metadata": {"source": c.path, "start": c.start, "end": c.end}} for c in chunks]
    (dest / "chunks.json").write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    np.save(dest / "vectors.npy", np.stack([ours.reconstruct(c.vector_id) for c in chunks]).astype(np.float32), allow_pickle=False)
    return len(chunks)


def serve_recipe(corpus: Path, store: Path | None, port: int) -> None:
    import uvicorn

    uvicorn.run(recipe_app(corpus, store), host="127.0.0.1", port=port, log_level="warning")


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(omp_passive: bool) -> dict[str, str]:
    """The environment without any RAG_* setting (defaults only), plus the embedder threads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_EMBED_THREADS=str(THREADS), RAG_GENERATOR="extractive")
    if omp_passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    path: str  # the query endpoint
    log: Path
    startup_s: float = 0.0

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads), from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def started(name: str, command: list[str], path: str, ready: str, port: int, env: dict[str, str], logs: Path, timeout: float = 600) -> Iterator[Server]:
    """Start a server process and yield it once ``ready`` answers 200; always stopped at the end."""
    import httpx

    log = logs / f"{name}.log"
    t0 = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    server = Server(name, process, f"http://127.0.0.1:{port}", path, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the {name} server exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(server.base + ready, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {name} server was not ready in {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.25)
        server.startup_s = time.perf_counter() - t0
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- corpus and questions -----------------------------------------------------------------


def load_xquad(data: Path, lang: str) -> tuple[list[str], list[str]]:
    """Paragraphs (file order, identical texts once) and unique non-empty questions of one file."""
    squad = json.loads((data / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    paragraphs: dict[str, None] = {}
    questions: dict[str, None] = {}
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            paragraphs[paragraph["context"]] = None
            for qa in paragraph["qas"]:
                if qa["question"].strip():
                    questions[qa["question"].strip()] = None
    return list(paragraphs), list(questions)


def write_corpus(data: Path, dest: Path, seed: int) -> tuple[dict[str, int], list[str]]:
    """One .txt per paragraph under ``dest/{zh,en}``; returns paragraph counts and the question list."""
    counts: dict[str, int] = {}
    by_lang: dict[str, list[str]] = {}
    for lang in ("zh", "en"):
        paragraphs, questions = load_xquad(data, lang)
        (dest / lang).mkdir(parents=True)
        for n, text in enumerate(paragraphs):
            (dest / lang / f"p{n:04d}.txt").write_text(text, encoding="utf-8")
        counts[lang] = len(paragraphs)
        random.Random(f"{seed}-{lang}").shuffle(questions)
        by_lang[lang] = questions
    mixed = [q for pair in zip(by_lang["zh"], by_lang["en"]) for q in pair]
    return counts, mixed


# -- the load --------------------------------------------------------------------------------


@dataclass
class Block:
    """One server at one concurrency level in one round of one pass: the raw measurements."""

    server: str
    clients: int
    round: int
    phase: str
    requests: int
    latencies_ms: list[float]
    errors: dict[str, int]
    abstained: int
    wall_s: float
    refused_ms: list[float]  # 503/429 answers (back-pressure): how long a refusal took
    server_cpu_s: float
    client_cpu_s: float


@dataclass
class Run:
    """One server at one concurrency level in one pass, over all the rounds."""

    phase: str
    server: str
    clients: int
    requests: int
    ok: int
    errors: int
    wall_s: float
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    server_cpu_ms_per_request: float
    client_cpu_ms_per_request: float
    requests_per_s_by_round: list[float]
    abstained: int | None = None  # ours: 200 answers that abstained
    error_kinds: dict[str, int] = field(default_factory=dict)
    refused: int = 0  # 503 (busy, past the deadline) or 429: refused at once, not an error
    refused_share: float = 0.0
    refused_p95_ms: float | None = None


async def send_all(server: Server, questions: Sequence[str], clients: int, timeout: float) -> tuple[list[float], Counter[str], int, float, list[float]]:
    """``clients`` workers send the questions (each once) until none is left; returns the latencies
    of the 200 responses (ms), the errors by kind, how many answers abstained, the wall time, and
    the latencies of refusals (503/429: the server's back-pressure; the question is not retried)."""
    import httpx

    pending = iter(questions)
    latencies: list[float] = []
    refused: list[float] = []
    errors: Counter[str] = Counter()
    abstained = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.base, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            nonlocal abstained
            for question in pending:  # one iterator shared by the workers: each question is sent once
                t0 = time.perf_counter()
                try:
                    response = await client.post(server.path, json={"question": question})
                    body = response.json() if response.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as exc:  # ValueError: a 200 whose body is not JSON
                    errors[type(exc).__name__] += 1
                    continue
                elapsed = 1000 * (time.perf_counter() - t0)
                if response.status_code in (429, 503):
                    refused.append(elapsed)
                    continue
                if response.status_code != 200:
                    errors[f"HTTP {response.status_code}"] += 1
                    continue
                latencies.append(elapsed)
                abstained += bool(body.get("abstained"))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, errors, abstained, wall, refused


def measure(server: Server, questions: Sequence[str], clients: int, timeout: float, round_: int = 0, phase: str = "warm-up") -> Block:
    cpu0, client0 = server.cpu_seconds(), time.process_time()
    latencies, errors, abstained, wall, refused = asyncio.run(send_all(server, questions, clients, timeout))
    return Block(server.name, clients, round_, phase, len(questions), latencies, dict(errors), abstained, wall, refused,
                 server.cpu_seconds() - cpu0, time.process_time() - client0)


def summarise(blocks: Sequence[Block]) -> Run:
    b0 = blocks[0]
    latencies = [x for b in blocks for x in b.latencies_ms]
    n = sum(b.requests for b in blocks)
    wall = sum(b.wall_s for b in blocks)
    errors: Counter[str] = Counter()
    for b in blocks:
        errors.update(b.errors)
    nan = float("nan")
    return Run(
        phase=b0.phase,
        server=b0.server,
        clients=b0.clients,
        requests=n,
        ok=len(latencies),
        errors=sum(errors.values()),
        wall_s=round(wall, 2),
        requests_per_s=round(len(latencies) / wall, 2),
        p50_ms=round(statistics.median(latencies), 1) if latencies else nan,
        p95_ms=round(percentile(latencies, 0.95), 1) if latencies else nan,
        p99_ms=round(percentile(latencies, 0.99), 1) if latencies else nan,
        mean_ms=round(statistics.fmean(latencies), 1) if latencies else nan,
        max_ms=round(max(latencies), 1) if latencies else nan,
        server_cpu_ms_per_request=round(1000 * sum(b.server_cpu_s for b in blocks) / n, 1),
        client_cpu_ms_per_request=round(1000 * sum(b.client_cpu_s for b in blocks) / n, 2),
        requests_per_s_by_round=[round(len(b.latencies_ms) / b.wall_s, 2) for b in sorted(blocks, key=lambda b: b.round)],
        abstained=sum(b.abstained for b in blocks) if b0.server == "ours" else None,
        error_kinds=dict(errors),
        refused=len(refused := [x for b in blocks for x in b.refused_ms]),
        refused_share=round(len(refused) / n, 3),
        refused_p95_ms=round(percentile(refused, 0.95), 1) if refused else None,
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- output --------------------------------------------------------------------------------


PHASES = {
    "first pass": "every question new, on fresh servers: ours reads passages for the first time, its cache fills "
                  "over the first rounds, so the levels are not strictly comparable with each other",
    "repeat": "the same questions again, same schedule: every passage already read (ours' sentence vectors cached)",
}


def ratios(runs: Sequence[Run]) -> list[dict[str, Any]]:
    out = []
    for phase in PHASES:
        for c in LEVELS:
            ours = next((r for r in runs if r.phase == phase and r.server == "ours" and r.clients == c), None)
            recipe = next((r for r in runs if r.phase == phase and r.server == "recipe" and r.clients == c), None)
            if ours is None or recipe is None or not ours.ok or not recipe.ok:
                continue
            out.append({
                "phase": phase,
                "clients": c,
                "requests_per_s": round(ours.requests_per_s / recipe.requests_per_s, 3),
                "p50": round(ours.p50_ms / recipe.p50_ms, 2),
                "p95": round(ours.p95_ms / recipe.p95_ms, 2),
                "server_cpu_per_request": round(ours.server_cpu_ms_per_request / recipe.server_cpu_ms_per_request, 2),
            })
    return out


def print_table(runs: Sequence[Run], setup: dict[str, Any]) -> None:
    print(f"\nCorpus: {setup['corpus']}")
    print(f"ours:   {setup['ours']}")
    print(f"recipe: {setup['recipe']}")
    print(f"Load:   {setup['load']}")
    for phase, what in PHASES.items():
        print(f"\n{phase}: {what}")
        print(f"{'server':<7} {'clients':>7} {'requests':>8} {'errors':>6} {'refused':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>7} {'refusal p95':>11} {'server CPU ms/req':>17} {'client CPU ms/req':>17}   req/s by round")
        for r in (r for r in runs if r.phase == phase):
            refusal = f"{r.refused_p95_ms:.1f}" if r.refused_p95_ms is not None else "-"
            print(f"{r.server:<7} {r.clients:>7} {r.requests:>8} {r.errors:>6} {r.refused_share:>7.1%} {r.requests_per_s:>7.1f} {r.p50_ms:>7.1f} "
                  f"{r.p95_ms:>7.1f} {r.p99_ms:>7.1f} {r.max_ms:>7.1f} {refusal:>11} {r.server_cpu_ms_per_request:>17.1f} {r.client_cpu_ms_per_request:>17.2f}   "
                  + " ".join(f"{x:.1f}" for x in r.requests_per_s_by_round))
    print(f"\n{'ours / recipe':<25} {'req/s':>7} {'p50':>7} {'p95':>7} {'server CPU/req':>15}")
    for x in ratios(runs):
        print(f"{x['phase'] + ', c=' + str(x['clients']):<25} {x['requests_per_s']:>6.3f}x {x['p50']:>6.2f}x {x['p95']:>6.2f}x "
              f"{x['server_cpu_per_request']:>14.2f}x")
    failed = [r for r in runs if r.errors]
    if failed:
        print("\nERRORS: " + "; ".join(f"{r.server} {r.phase} c={r.clients}: {r.error_kinds}" for r in failed))
    else:
        print("\nErrors: none (every request answered 200).")
    answered = sum(r.ok for r in runs if r.server == "ours")
    print(f"Ours abstained on {sum(r.abstained or 0 for r in runs)} of {answered} answers (a 200 saying the documents do not answer it).")
    print(f"Ours, server CPU ms per request by round of the first pass (its sentence-vector cache fills): {setup['ours_cpu_ms_by_round']}")
    print(f"Start-up: rag ingest {setup['ingest_s']:.1f} s, then ours ready in {setup['startup_s']['ours']:.1f} s; "
          f"recipe ready in {setup['startup_s']['recipe']:.1f} s ({setup['recipe_build']}).")
    print(f"OMP_WAIT_POLICY: {setup['omp_wait_policy']}. Server CPU counts all of a server's threads (OpenMP spin-waits included).")
    print(f"Note: {setup['note']}")
    print(f"Total {setup['seconds']:.0f} s.")


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description="HTTP throughput and latency of `rag serve` POST /v1/query (extractive) against a plain FastAPI "
        "endpoint around the LangChain FAISS recipe (same e5 embedder), at 1, 4, 16 and 64 concurrent clients on loopback; 503/429 answers (back-pressure) are counted as refused, apart from errors.",
        epilog="Run from the repository root: .venv/bin/python benchmarks/api.py  (~3 min on 2 cores; needs the bench extra). "
        "The first pass asks every question once; the repeat pass asks them again (ours has then read every passage). "
        "Any non-200 response, timeout or connection error is counted and printed as an error.",
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder, with xquad/xquad.{zh,en}.json (default: ../shared/data)")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, metavar="N",
                        help=f"requests per server at 1 client; 2N at 4, 16 and 64 clients; split over the rounds (default {DEFAULT_REQUESTS})")
    parser.add_argument("--rounds", type=int, default=6, help="rounds over the three levels, in a rotated order, so that a cache warming over the run does not favour one level (default 6)")
    parser.add_argument("--warmup", type=int, default=32, metavar="N", help="untimed requests per server at 16 clients before the first round (default 32)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S", help="per-request timeout in seconds; a timeout counts as an error (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the question order (default 0)")
    parser.add_argument("--recipe-splitter", action="store_true",
                        help="the recipe splits the passages itself (RecursiveCharacterTextSplitter 500/50) and embeds them at start-up "
                        "(FAISS.from_documents; ~1 min more) instead of loading a store of our index's chunks and vectors")
    parser.add_argument("--omp-passive", action="store_true", help="run both servers with OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep instead of spin)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--server-code", type=Path, default=None, metavar="DIR",
                        help="run our server from another checkout (PYTHONPATH=DIR), e.g. 'git worktree add /tmp/old REV', to compare before and after")
    alone = parser.add_argument_group("the baseline server alone (what the benchmark starts in a subprocess)")
    alone.add_argument("--serve-recipe", action="store_true", help="serve the LangChain recipe (POST /query {\"question\"}) on 127.0.0.1:--port, and nothing else")
    alone.add_argument("--corpus", type=Path, help="--serve-recipe: a folder of .txt files to split and embed at start-up")
    alone.add_argument("--store", type=Path, help="--serve-recipe: chunk texts and vectors (chunks.json, vectors.npy) saved beforehand, used instead of --corpus")
    alone.add_argument("--port", type=int, default=8001, help="--serve-recipe: the port (default 8001)")
    args = parser.parse_args()

    if args.serve_recipe:
        if not ((args.store and args.store.is_dir()) or (args.corpus and args.corpus.is_dir())):
            sys.exit("benchmarks/api.py --serve-recipe: pass --store DIR (saved chunk texts and vectors) or --corpus DIR (a folder of .txt files)")
        serve_recipe(args.corpus, args.store, args.port)
        return

    missing = [str(args.data / "xquad" / f"xquad.{lang}.json") for lang in ("zh", "en") if not (args.data / "xquad" / f"xquad.{lang}.json").is_file()]
    if missing:
        sys.exit(f"benchmarks/api.py: missing {', '.join(missing)}: pass --data DIR (the shared data folder, with xquad/)")
    if args.rounds < 1 or args.requests < args.rounds or args.warmup < 0 or args.timeout <= 0:
        sys.exit("benchmarks/api.py: needs --rounds >= 1, --requests >= --rounds, --warmup >= 0 and --timeout > 0")
    if not RAG_BIN.is_file():
        sys.exit(f"benchmarks/api.py: no `rag` command at {RAG_BIN}: run with the project's venv (.venv/bin/python)")
    try:
        import warnings

        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import httpx
        import langchain_community  # noqa: F401
        import langchain_text_splitters  # noqa: F401
    except ImportError as exc:
        sys.exit(f"benchmarks/api.py: {exc}: needs httpx and the bench extra (langchain-community, langchain-text-splitters)")
    # A SIGTERM to the driver unwinds through the finally blocks that stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    t_start = time.perf_counter()
    per_level = {c: args.requests if c == 1 else 2 * args.requests for c in LEVELS}
    # Each level's requests split over the rounds (the first rounds take any remainder).
    per_round = {c: [n // args.rounds + (r < n % args.rounds) for r in range(args.rounds)] for c, n in per_level.items()}
    env = clean_env(args.omp_passive)
    with tempfile.TemporaryDirectory(prefix="rag-bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        corpus_dir, index_dir, store_dir = tmp / "corpus", tmp / "index", tmp / "recipe-store"
        paragraphs, questions = write_corpus(args.data, corpus_dir, args.seed)
        need = 2 * args.warmup + sum(per_level.values())
        if need > len(questions):
            sys.exit(f"benchmarks/api.py: {need} distinct questions needed, {len(questions)} available: lower --requests")

        log(f"rag ingest: {sum(paragraphs.values())} paragraphs ...")
        t0 = time.perf_counter()
        done = subprocess.run([str(RAG_BIN), "ingest", str(corpus_dir), "--index", str(index_dir), "--json"],
                              env=env, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        ingest_s = time.perf_counter() - t0
        if done.returncode != 0:
            sys.exit(f"benchmarks/api.py: rag ingest failed ({done.returncode}):\n{done.stderr[-3000:]}")
        log(f"rag ingest: {ingest_s:.1f} s")

        ours_port, recipe_port = free_port(), free_port()
        ours_cmd = [str(RAG_BIN), "serve", "--index", str(index_dir), "--port", str(ours_port), "--log-level", "warning"]
        recipe_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-recipe", "--port", str(recipe_port)]
        if args.recipe_splitter:
            recipe_cmd += ["--corpus", str(corpus_dir)]
            recipe_build = f"split by RecursiveCharacterTextSplitter({LC_CHUNK_SIZE}, {LC_OVERLAP}) and embedded at start-up"
        else:
            save_recipe_store(index_dir, store_dir)
            recipe_cmd += ["--store", str(store_dir)]
            recipe_build = "FAISS.from_embeddings over our index's chunk texts and vectors, saved beforehand (no pickle)"
        blocks: list[Block] = []
        # One after the other, so that neither start-up competes with the other for the cores.
        with started("recipe", recipe_cmd, "/query", "/health", recipe_port, env, tmp) as recipe_server:
            log(f"recipe server ready in {recipe_server.startup_s:.1f} s")
            ours_env = env | ({"PYTHONPATH": str(args.server_code.resolve())} if args.server_code else {})
            with started("ours", ours_cmd, "/v1/query", "/ready", ours_port, ours_env, tmp) as ours_server:
                log(f"our server ready in {ours_server.startup_s:.1f} s")
                servers = {"ours": ours_server, "recipe": recipe_server}
                chunks = {"ours": httpx.get(ours_server.base + "/ready", timeout=5).json().get("chunks"),
                          "recipe": httpx.get(recipe_server.base + "/health", timeout=5).json().get("chunks")}
                cursor = 0

                def take(n: int) -> list[str]:
                    nonlocal cursor
                    cursor += n
                    return questions[cursor - n : cursor]

                for name in SERVERS:  # warm-up: each server its own questions
                    if args.warmup:
                        warm = measure(servers[name], take(args.warmup), min(16, args.warmup), args.timeout)
                        log(f"warm-up {name}: {args.warmup} requests at {min(16, args.warmup)} clients, "
                            f"{len(warm.latencies_ms) / warm.wall_s:.1f} req/s, errors {warm.errors or 0}")
                # The schedule: rounds over the levels in a rotated order, the questions of each block
                # new; the repeat pass runs the same schedule with the same questions.
                schedule = [(r, c, take(per_round[c][r])) for r in range(args.rounds)
                            for c in LEVELS[r % len(LEVELS):] + LEVELS[: r % len(LEVELS)]]
                for phase in PHASES:
                    for block_no, (r, clients, level_qs) in enumerate(schedule):
                        for name in SERVERS if block_no % 2 == 0 else SERVERS[::-1]:
                            b = measure(servers[name], level_qs, clients, args.timeout, r, phase)
                            blocks.append(b)
                            log(f"{phase}, round {r + 1}, c={clients:<2} {name:<6} {len(b.latencies_ms) / b.wall_s:6.1f} req/s  "
                                f"p50 {statistics.median(b.latencies_ms) if b.latencies_ms else float('nan'):7.1f} ms  "
                                f"errors {sum(b.errors.values())}  ({b.wall_s:.1f} s)")

    runs = [summarise([b for b in blocks if b.phase == phase and b.server == name and b.clients == c])
            for phase in PHASES for c in LEVELS for name in SERVERS]
    first = [b for b in blocks if b.server == "ours" and b.phase == "first pass"]
    ours_cpu_by_round = [
        round(1000 * sum(b.server_cpu_s for b in first if b.round == r) / sum(b.requests for b in first if b.round == r), 1)
        for r in range(args.rounds)
    ]
    setup = {
        "corpus": f"XQuAD zh {paragraphs['zh']} + en {paragraphs['en']} paragraphs, one .txt each; "
                  f"ours {chunks['ours']} chunks (rag ingest, default chunking), recipe {chunks['recipe']} chunks"
                  + (f" (RecursiveCharacterTextSplitter {LC_CHUNK_SIZE}/{LC_OVERLAP})" if args.recipe_splitter else " (the same chunks and vectors)"),
        "ours": ("" if not args.server_code else f"[code from {args.server_code}] ") + f"rag serve, POST /v1/query: hybrid retrieval, top {TOP_K}, extractive answer with citations; E5Embedder threads {THREADS}",
        "recipe": f"FastAPI + uvicorn, POST /query: FAISS similarity_search(k={TOP_K}), texts + metadata; same E5Embedder threads {THREADS}",
        "load": f"httpx.AsyncClient on loopback, per server {per_level[1]} requests at 1 client, {per_level[4]} at 4, {per_level[16]} at 16, {per_level[64]} at 64, "
                f"in {args.rounds} round(s) (level order rotated, server order alternated); each request a distinct XQuAD question "
                "(zh/en alternating), the same ones for both servers; then the whole schedule again (repeat)",
        "note": f"the driver and both servers share this machine's {os.cpu_count()} cores; wall-clock figures include the "
                "client's own CPU time and the contention",
        "recipe_build": recipe_build,
        "ingest_s": round(ingest_s, 1),
        "startup_s": {"ours": round(ours_server.startup_s, 1), "recipe": round(recipe_server.startup_s, 1)},
        "ours_cpu_ms_by_round": ours_cpu_by_round,
        "omp_wait_policy": env.get("OMP_WAIT_POLICY", "(unset: libgomp default)"),
        "cpu_count": os.cpu_count(),
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    if args.json:
        print(json.dumps({"setup": setup, "runs": [asdict(r) for r in runs], "ratios_ours_over_recipe": ratios(runs)},
                         ensure_ascii=False, indent=2))
        return
    print_table(runs, setup)


if __name__ == "__main__":
    main()
