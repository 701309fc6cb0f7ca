"""``rag ingest --engine ray``: parsing, chunking and embedding on a Ray cluster, writing by one writer.

The driver (the process running ``rag ingest``) finds the files and reads the index's content
hashes, as a local ingest does. Then, a window of files at a time (``window_files``):

1. **Parse** (Ray Data tasks, one CPU each): each task reads its file, hashes it, and skips it
   when the index holds that content in that collection (so an unchanged file is never parsed
   or embedded again); otherwise it extracts the text (the same loaders and parse limits as a
   local ingest, PDF/DOCX isolation included) and chunks it with the same chunker.
2. **Plan** (driver): the texts that would be embedded: chunk texts, sentences and candidate words
   whose vectors the index does not hold. Chunk texts already indexed reuse their vectors, as
   locally.
3. **Embed** (Ray Data ``map_batches`` over an actor pool: one model load per actor, the
   embedder built in the actor from the settings, ``embed_threads`` CPUs and threads per actor,
   one GPU each when ``embed_device`` names one).
4. **Write** (driver): the same staging and commits as a local ingest, file by file in the
   local order, with the vectors of step 3 looked up instead of computed. The index is the one a
   local ingest builds (the same sources, chunk ids, texts, offsets, sentence and word vectors;
   vectors equal up to the embedder's batch arithmetic), with the same incremental rules, the same
   ``commit_every`` commits and the same crash safety: a job killed as a whole loses at most
   the files since its last commit, and the next run picks up from there.

A source's identity is the path the driver gives it (as a local ingest on the driver would), so
it never depends on the worker that parsed it. Workers read the files at those paths: on a
cluster of several machines the files must be on storage every node mounts at the same place
(docs/scale.md).

Faults: Ray Data retries a parse task whose worker dies and restarts a dead embedding actor
(``max_restarts=-1``, ``max_task_retries=-1``, its defaults for actor pools); results are keyed by
text, so a batch computed twice changes nothing, and a vector that never arrives fails the window
with an error rather than a hole in the index.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ingest.discovery import discover
from ingest.pipeline import Ingestor, IngestReport, ParseSpec, prepare_source
from rag.domain import Chunk, Document, EmbedderInfo
from rag.errors import ConfigError, IngestError, MissingDependencyError
from rag.protocols import Embedder
from rag.store import IndexWriter
from rag.text.sentences import sentence_inputs
from rag.text.terms import WORD_KEY, word_inputs

__all__ = ["RayOptions", "ray_ingest"]

PASSAGE, QUERY = "passage", "query"  # how a text is embedded
_AS = {"chunk": PASSAGE, "sentence": PASSAGE, "word": QUERY}  # what it is -> how it is embedded


@dataclass(frozen=True)
class RayOptions:
    """Where and how the Ray stages run."""

    address: str | None = None  # a running cluster ("auto", "ray://host:10001", "host:6379"); None: start a local one
    actors: int | None = None  # embedding actors; None: as many as the cluster's CPUs (or GPUs) allow
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0  # -1: one GPU per actor when the cluster has GPUs, else none (embed_device auto)
    batch_size: int = 32  # texts per embedding batch
    window_files: int = 2000  # files parsed and embedded per round (the driver holds one round)
    local_cpus: int | None = None  # CPUs of the local cluster started without an address (default: all)


def _start(options: RayOptions) -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray[data]", "--engine ray") from exc
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if options.address:
            ray.init(address=options.address, **kwargs)
        else:
            ray.init(num_cpus=options.local_cpus or os.cpu_count() or 1, **kwargs)
    context = ray.data.DataContext.get_current()
    for name in ("ray.data", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(logging.WARNING)  # its INFO line per dataset is not ours to print
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled": we draw ours
    context.enable_progress_bars = False  # the command draws its own
    context.enable_operator_progress_bars = False
    context.print_on_execution_start = False
    return ray


def _actor_count(ray: Any, options: RayOptions) -> int:
    if options.actors is not None:
        return max(1, options.actors)
    resources = ray.cluster_resources()
    if options.gpus_per_actor > 0:
        return max(1, int(resources.get("GPU", 0) // options.gpus_per_actor))
    return max(1, int(resources.get("CPU", 1) // max(options.cpus_per_actor, 1e-9)))


# -- the Ray stages ----------------------------------------------------------------------------


def _parse_task(spec: ParseSpec, collection: str | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The parse stage's function: one file description in, its outcome out (JSON for its document)."""

    def parse(row: dict[str, Any]) -> dict[str, Any]:
        known = None if not row["known_hash"] else (str(row["known_hash"]), int(row["known_chunks"]), str(row["known_collection"]))
        prepared = prepare_source(Path(row["path"]), known, collection, spec)
        out = {"n": row["n"], "unchanged": -1, "reason": "", "document": ""}
        if isinstance(prepared, int):
            out["unchanged"] = prepared
        elif isinstance(prepared, str):
            out["reason"] = prepared
        else:
            out["document"] = _document_json(*prepared)
        return out

    return parse


class _EmbedActor:
    """One embedding model per actor; a batch of (kind, text) rows in, their vectors out."""

    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self.embedder = factory()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        kinds, texts = [_AS[str(k)] for k in batch["kind"]], [str(t) for t in batch["text"]]
        vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
        for kind, embed in ((PASSAGE, self.embedder.embed_passages), (QUERY, self.embedder.embed_queries)):
            rows = [n for n, k in enumerate(kinds) if k == kind]
            if rows:
                for n, vector in zip(rows, embed([texts[n] for n in rows]), strict=True):
                    vectors[n] = np.asarray(vector, dtype=np.float32)
        return {"kind": np.asarray(kinds), "what": batch["kind"], "text": np.asarray(texts, dtype=object), "vector": np.stack(vectors)}


# -- documents between the stages ---------------------------------------------------------------


def _document_json(document: Document, chunks: Sequence[Chunk]) -> str:
    import json

    return json.dumps({
        "path": document.path, "text": document.text, "content_hash": document.content_hash, "kind": document.kind,
        "pages": [list(p) for p in document.pages], "breaks": list(document.breaks), "collection": document.collection,
        "chunks": [[c.ordinal, c.start, c.end, c.heading, c.page] for c in chunks],
    }, ensure_ascii=False)  # fmt: skip


def _document_from_json(data: str) -> tuple[Document, list[Chunk]]:
    import json

    raw = json.loads(data)
    document = Document(
        path=raw["path"], text=raw["text"], content_hash=raw["content_hash"], kind=raw["kind"],
        pages=tuple((int(a), int(b)) for a, b in raw["pages"]), breaks=tuple(int(b) for b in raw["breaks"]), collection=raw["collection"],
    )  # fmt: skip
    chunks = [Chunk(document.source_id, int(o), int(s), int(e), document.text[s:e], h, p) for o, s, e, h, p in raw["chunks"]]
    return document, chunks


class _Looked:
    """An embedder answering from the vectors the embedding stage computed (the writer's half of
    the ingest asks it exactly what a local ingest would ask the model)."""

    def __init__(self, info: EmbedderInfo, vectors: Mapping[tuple[str, str], np.ndarray]) -> None:
        self.info = info
        self._vectors = vectors

    def _get(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if (kind, t) not in self._vectors]
        if missing:
            raise IngestError(Path(missing[0][:80]), f"the Ray embedding stage returned no {kind} vector for this text ({len(missing)} missing)")
        if not texts:
            return np.empty((0, self.info.dim), dtype=np.float32)
        return np.stack([self._vectors[(kind, t)] for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._get(PASSAGE, texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._get(QUERY, texts)


def _plan(parsed: Sequence[tuple[Document, list[Chunk], bool]], writer: IndexWriter, ingestor: Ingestor) -> list[tuple[str, str]]:
    """(chunk, sentence or word; text) of everything the write step may ask to embed and the index does not hold: a
    superset of what it asks (it is asked file by file, and earlier files of the round add words)."""
    chunks = [c for _, cs, _ in parsed for c in cs]
    embed_texts = list(dict.fromkeys(c.embed_text for c in chunks))
    from rag.domain import sha256_hex

    known = writer.known_vectors([sha256_hex(t) for t in embed_texts])
    wanted = [("chunk", t) for t in embed_texts if sha256_hex(t) not in known]
    if ingestor.sentence_vectors:
        sentences = list(dict.fromkeys(t for c in chunks for t in sentence_inputs(c.text, c.heading)))
        held = writer.known_sentence_vectors(sentences)
        wanted += [("sentence", t) for t in sentences if t not in held]
    if ingestor.word_vectors:
        keys = list(dict.fromkeys(WORD_KEY + w for c in chunks for w in word_inputs(c.text, c.heading)))
        held_keys = writer.held_words(keys, replacing=[d.path for d, _, replaced in parsed if replaced])
        rest = [k for k in keys if k not in held_keys]
        stored = writer.word_vectors(rest)
        wanted += [("word", k[len(WORD_KEY) :]) for k in rest if k not in stored]
    return list(dict.fromkeys(wanted))


def _embed(ray: Any, wanted: Sequence[tuple[str, str]], factory: Callable[[], Embedder], options: RayOptions, embedded: Callable[[int], None] | None) -> dict[tuple[str, str], np.ndarray]:
    if not wanted:
        return {}
    dataset = ray.data.from_items([{"kind": k, "text": t} for k, t in wanted], override_num_blocks=max(1, min(len(wanted) // options.batch_size, 64)))
    out = dataset.map_batches(
        _EmbedActor, fn_constructor_args=(factory,), batch_size=options.batch_size, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=_actor_count(ray, options)), num_cpus=options.cpus_per_actor, num_gpus=options.gpus_per_actor or None,
    )  # fmt: skip
    vectors: dict[tuple[str, str], np.ndarray] = {}
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        for kind, text, vector in zip(batch["kind"], batch["text"], batch["vector"], strict=True):
            vectors[(str(kind), str(text))] = np.asarray(vector, dtype=np.float32)
        if embedded is not None:
            embedded(int(sum(1 for k in batch["what"] if str(k) == "chunk")))
    return vectors


# -- the driver ---------------------------------------------------------------------------------


def _windows(files: Sequence[Path], size: int) -> Iterator[Sequence[Path]]:
    for lo in range(0, len(files), max(1, size)):
        yield files[lo : lo + size]


def ray_ingest(
    ingestor: Ingestor,
    embedder_factory: Callable[[], Embedder],
    paths: Sequence[Path],
    options: RayOptions,
    *,
    sync: bool = False,
    follow_links: bool = False,
    progress: Callable[[int, int, IngestReport], None] | None = None,
    embedded: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest ``paths`` as :meth:`Ingestor.ingest` does, with parsing and embedding on Ray."""
    import time

    if options.batch_size <= 0 or options.window_files <= 0:
        raise ConfigError("ray batch_size and window_files must be positive")
    started = time.monotonic()
    ray = _start(options)
    if options.gpus_per_actor < 0:
        options = replace(options, gpus_per_actor=1.0 if ray.cluster_resources().get("GPU", 0) else 0.0)
    report = IngestReport()
    files, report.skipped = discover(paths, exclude=[ingestor.store.root], follow_links=follow_links)
    report.files_seen = len(files)
    parse = _parse_task(ingestor.parse_spec, ingestor.collection)
    done = 0
    with ingestor.store.writer(ingestor.embedder.info, ingestor.chunker_config) as writer:
        try:
            if sync:
                ingestor.sync_removed(writer, paths, report)
            since_commit = 0
            for window in _windows(files, options.window_files):
                writer.prefetch_sources([str(p) for p in window])
                known = [writer.source_info(str(p)) for p in window]
                rows = [
                    {"n": n, "path": str(p), "known_hash": k[0] if k else "", "known_chunks": k[1] if k else 0, "known_collection": k[2] if k else ""}
                    for n, (p, k) in enumerate(zip(window, known, strict=True))
                ]  # fmt: skip
                outcomes = sorted(ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 200))).map(parse, num_cpus=1).take_all(), key=lambda r: int(r["n"]))
                if len(outcomes) != len(rows):
                    raise IngestError(Path(str(window[0])), f"the Ray parse stage returned {len(outcomes)} of {len(rows)} files")
                items: list[tuple[Document, list[Chunk], bool] | None] = []
                for path, k, outcome in zip(window, known, outcomes, strict=True):
                    if int(outcome["unchanged"]) >= 0:
                        prepared: int | str | tuple[Document, list[Chunk]] = int(outcome["unchanged"])
                    elif outcome["reason"]:
                        prepared = str(outcome["reason"])
                    else:
                        prepared = _document_from_json(str(outcome["document"]))
                    items.append(ingestor.settle(prepared, str(path), k, report))
                parsed = [i for i in items if i is not None]
                vectors = _embed(ray, _plan(parsed, writer, ingestor), embedder_factory, options, embedded)
                looked = _Looked(writer.embedder, vectors)
                pending: list[tuple[Document, list[Chunk], bool]] = []
                for item in items:
                    done += 1
                    if item is not None:
                        pending.append(item)
                        since_commit += 1
                    if sum(len(c) for _, c, _ in pending) >= ingestor.embed_batch_chunks:
                        ingestor._flush(pending, writer, report, looked)
                    if since_commit >= ingestor.commit_every:
                        ingestor._flush(pending, writer, report, looked)
                        ingestor._commit(writer, report)
                        since_commit = 0
                    if progress is not None:
                        progress(done, len(files), report)
                ingestor._flush(pending, writer, report, looked)
            ingestor._commit(writer, report)
        except KeyboardInterrupt:
            report.interrupted = True  # as a local ingest: keep what is staged unless the writer was mid-update
            if not ingestor._busy:
                ingestor._commit(writer, report)
    report.version = report.version or ingestor.store.current_version()
    report.seconds = round(time.monotonic() - started, 3)
    logging.getLogger(__name__).info("ray ingest: %d files in %.1f s", report.files_seen, report.seconds)
    return report
