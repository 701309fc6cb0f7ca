"""The index on disk: versioned, crash-safe, pickle-free.

Layout of an index directory::

    INDEX/
      CURRENT               the name of the committed version, e.g. "v000007" (switched atomically)
      .lock                 held (flock) by the one process writing
      versions/
        v000007/
          manifest.json     format version, embedder, chunker, tokenizer, counts, file checksums
          index.faiss       native FAISS: IndexIDMap2 over IndexFlatIP (cosine on normalised vectors)
          meta.sqlite       sources (with their stored text) and chunks, keyed by the FAISS id
          bm25/             the bm25s keyword index (JSON + .npy, loaded with allow_pickle=False)
          bm25_ids.npy      row of the keyword index -> FAISS id

A commit writes a whole new version into ``versions/.tmp-*``, fsyncs it, renames it to its
final name and only then replaces ``CURRENT`` (write to a temporary file, fsync,
``os.replace``). A reader resolves ``CURRENT`` once and opens that complete, never again
modified, version; a crash at any moment leaves either the old or the new version current.
Old versions beyond ``keep_versions`` and the leftovers of crashed writers are removed by
the next writer. Nothing here is pickled.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.domain import Chunk, Document, EmbedderInfo, Hit, SourceRecord, StoredChunk, sha256_hex
from rag.errors import (
    IndexFormatError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
)
from rag.tokenize import TOKENIZER_NAME, keyword_tokens

__all__ = ["FORMAT_VERSION", "IndexStore", "IndexSnapshot", "IndexWriter"]

FORMAT_VERSION = 1
_VERSION_RE = re.compile(r"^v(\d{6,})$")
_INDEX_ENTRIES = frozenset({"CURRENT", "CURRENT.tmp", ".lock", "versions"})
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    source_id TEXT PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    n_chunks INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL
);
CREATE TABLE chunks (
    vector_id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    source_id TEXT NOT NULL REFERENCES sources(source_id),
    ordinal INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    text TEXT NOT NULL,
    heading TEXT NOT NULL,
    page INTEGER,
    embed_hash TEXT NOT NULL
);
CREATE INDEX chunks_by_source ON chunks(source_id, ordinal);
CREATE INDEX chunks_by_embed_hash ON chunks(embed_hash);
"""
_CHUNK_COLUMNS = "c.vector_id, c.chunk_id, c.source_id, s.path, c.ordinal, c.start_char, c.end_char, c.text, c.heading, c.page"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def _file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _row_to_chunk(row: Sequence[Any]) -> StoredChunk:
    return StoredChunk(
        vector_id=int(row[0]),
        chunk_id=row[1],
        source_id=row[2],
        path=row[3],
        ordinal=int(row[4]),
        start=int(row[5]),
        end=int(row[6]),
        text=row[7],
        heading=row[8],
        page=row[9],
    )


def _embedder_dict(info: EmbedderInfo) -> dict[str, Any]:
    return {"backend": info.backend, "model": info.model, "dim": info.dim, "normalized": info.normalized}


def _embedder_from_dict(data: dict[str, Any]) -> EmbedderInfo:
    return EmbedderInfo(
        backend=str(data["backend"]), model=str(data["model"]), dim=int(data["dim"]), normalized=bool(data["normalized"])
    )


def _build_bm25(texts: Sequence[str]) -> Any:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index([keyword_tokens(t) for t in texts], show_progress=False)
    return retriever


class IndexSnapshot:
    """A read-only view of one committed version. Safe to share between threads for reading."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        import faiss

        self.path = path
        self.manifest = manifest
        self.version = path.name
        self.embedder = _embedder_from_dict(manifest["embedder"])
        try:
            self._faiss = faiss.read_index(str(path / "index.faiss"))
            self._db = sqlite3.connect(
                f"file:{path / 'meta.sqlite'}?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            self._lock = threading.Lock()
            self._rows("SELECT count(*) FROM chunks")
            self._bm25: Any = None
            self._bm25_ids = np.empty(0, dtype=np.int64)
            if manifest.get("keyword", {}).get("tokenizer") != TOKENIZER_NAME:
                # Built with other tokenisation rules: rebuild the keyword index from the stored
                # chunk texts (seconds even for large indexes; no re-embedding).
                rows = self._rows("SELECT vector_id, text FROM chunks ORDER BY vector_id")
                if rows:
                    self._bm25 = _build_bm25([r[1] for r in rows])
                    self._bm25_ids = np.asarray([r[0] for r in rows], dtype=np.int64)
            elif (path / "bm25").is_dir():
                import bm25s

                self._bm25 = bm25s.BM25.load(str(path / "bm25"), allow_pickle=False)
                self._bm25_ids = np.load(path / "bm25_ids.npy", allow_pickle=False)
        except (RuntimeError, sqlite3.Error, OSError, ValueError, KeyError) as exc:
            raise IndexFormatError(f"index version {path} is damaged: {exc}") from exc

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:  # one sqlite connection, shared by the threads that read this version
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IndexSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- counts and listings -------------------------------------------------------

    @property
    def n_chunks(self) -> int:
        return int(self._faiss.ntotal)

    @property
    def n_sources(self) -> int:
        return int(self._rows("SELECT count(*) FROM sources")[0][0])

    def sources(self) -> list[SourceRecord]:
        rows = self._rows(
            "SELECT source_id, path, content_hash, kind, size, n_chunks, ingested_at FROM sources ORDER BY path"
        )
        return [SourceRecord(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), r[6]) for r in rows]

    def source_text(self, source_id: str) -> str:
        rows = self._rows("SELECT text FROM sources WHERE source_id = ?", (source_id,))
        if not rows:
            raise KeyError(source_id)
        return str(rows[0][0])

    def chunks(self, vector_ids: Iterable[int] | None = None) -> list[StoredChunk]:
        """Chunks by FAISS id, in the order asked (all chunks in source order when ``None``)."""
        base = f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN sources s USING (source_id)"
        if vector_ids is None:
            return [_row_to_chunk(r) for r in self._rows(base + " ORDER BY s.path, c.ordinal")]
        ids = [int(v) for v in vector_ids]
        found: dict[int, StoredChunk] = {}
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            marks = ",".join("?" * len(part))
            for row in self._rows(f"{base} WHERE c.vector_id IN ({marks})", part):
                found[int(row[0])] = _row_to_chunk(row)
        return [found[i] for i in ids if i in found]

    # -- search --------------------------------------------------------------------

    def vector_ids_of_sources(self, sources: Iterable[str]) -> np.ndarray:
        """FAISS ids of the chunks of these sources (each given by path or source id)."""
        wanted = list(dict.fromkeys(sources))
        marks = ",".join("?" * len(wanted))
        rows = self._rows(
            f"SELECT c.vector_id FROM chunks c JOIN sources s USING (source_id) "
            f"WHERE s.path IN ({marks}) OR s.source_id IN ({marks})",
            wanted + wanted,
        ) if wanted else []
        return np.asarray(sorted(int(r[0]) for r in rows), dtype=np.int64)

    def dense_scores(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """``(vector_id, inner product)`` of the nearest chunks, best first; ``allowed`` restricts
        the search to those FAISS ids. No chunk is read: see :meth:`hits`."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        if self.n_chunks == 0 or (allowed is not None and len(allowed) == 0):
            return []
        query = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.embedder.dim:
            raise IndexMismatchError(f"query vector has dimension {query.shape[1]}, the index {self.embedder.dim}")
        if allowed is not None:
            import faiss

            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)))
            scores, ids = self._faiss.search(query, min(k, len(allowed)), params=params)
        else:
            scores, ids = self._faiss.search(query, min(k, self.n_chunks))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def hits(self, scored: Sequence[tuple[int, float]]) -> list[Hit]:
        """Ranked ``(vector_id, score)`` pairs as hits carrying their chunks (rank = position)."""
        chunks = {c.vector_id: c for c in self.chunks(i for i, _ in scored)}
        return [Hit(chunks[i], s, rank) for rank, (i, s) in enumerate(scored, start=1) if i in chunks]

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """Nearest chunks by inner product; ``allowed`` restricts the search to those FAISS ids."""
        return self.hits(self.dense_scores(query_vector, k, allowed))

    @property
    def ascii_vocab_share(self) -> float:
        """The share of keyword-index terms written in ASCII (English and numbers vs. Chinese)."""
        if self._bm25 is None or not self._bm25.vocab_dict:
            return 0.0
        vocab = [t for t in self._bm25.vocab_dict if t]
        return sum(1 for t in vocab if t.isascii()) / max(1, len(vocab))

    def document_frequency(self, token: str) -> int:
        """In how many chunks a keyword token (see :func:`rag.tokenize.keyword_tokens`) occurs."""
        if self._bm25 is None:
            return 0
        token_id = self._bm25.vocab_dict.get(token)
        if token_id is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[token_id + 1] - indptr[token_id])

    def keyword_scores(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """``(vector_id, BM25 score)`` of the best-matching chunks (score > 0), best first;
        ``allowed`` restricts the search to those FAISS ids. No chunk is read: see :meth:`hits`."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        tokens = keyword_tokens(query)
        if self._bm25 is None or not tokens:
            return []
        vocab = self._bm25.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            scores = np.where(np.isin(self._bm25_ids, allowed), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._bm25_ids[row]), float(scores[row])) for row in top if scores[row] > 0]

    def keyword_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """BM25 over the chunks; ``allowed`` restricts the search to those FAISS ids."""
        return self.hits(self.keyword_scores(query, k, allowed))

    # -- consistency ---------------------------------------------------------------

    def verify(self, checksums: bool = True) -> list[str]:
        """Every inconsistency found between the parts of this version (empty when whole)."""
        import faiss

        problems: list[str] = []
        if checksums:
            for name, digest in self.manifest.get("files", {}).items():
                target = self.path / name
                if not target.is_file():
                    problems.append(f"{name} is missing")
                elif _file_sha256(target) != digest:
                    problems.append(f"{name} does not match its checksum in the manifest")
        faiss_ids = set(faiss.vector_to_array(self._faiss.id_map).tolist()) if self.n_chunks else set()
        rows = self._rows("SELECT vector_id, source_id, start_char, end_char, text FROM chunks")
        db_ids = {int(r[0]) for r in rows}
        if faiss_ids != db_ids:
            problems.append(
                f"FAISS holds {len(faiss_ids)} vectors and the chunk table {len(db_ids)} chunks; "
                f"{len(faiss_ids - db_ids)} vectors have no chunk, {len(db_ids - faiss_ids)} chunks no vector"
            )
        bm25_ids = set(self._bm25_ids.tolist())
        if bm25_ids != db_ids:
            problems.append(f"the keyword index covers {len(bm25_ids)} chunks, the chunk table holds {len(db_ids)}")
        texts = dict(self._rows("SELECT source_id, text FROM sources"))
        for vector_id, source_id, start, end, text in rows:
            if source_id not in texts:
                problems.append(f"chunk {vector_id} belongs to no source")
            elif texts[source_id][start:end] != text:
                problems.append(f"chunk {vector_id} text differs from its source at {start}..{end}")
        counted = dict(self._rows("SELECT source_id, count(*) FROM chunks GROUP BY source_id"))
        for source_id, n in self._rows("SELECT source_id, n_chunks FROM sources"):
            if counted.get(source_id, 0) != n:
                problems.append(f"source {source_id} records {n} chunks but has {counted.get(source_id, 0)}")
        expected = self.manifest.get("counts", {})
        if expected and (expected.get("chunks") != len(db_ids) or expected.get("sources") != len(texts)):
            problems.append("the manifest counts differ from the tables")
        return problems


class IndexStore:
    """An index directory: opens the committed version, and hands out the single writer."""

    def __init__(self, root: Path, keep_versions: int = 2) -> None:
        if keep_versions < 1:
            raise ValueError(f"keep_versions must be >= 1, got {keep_versions}")
        self.root = Path(root)
        self.keep_versions = keep_versions

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def current_version(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexFormatError(f"cannot read {self.root / 'CURRENT'}: {exc}") from exc
        if not _VERSION_RE.match(name):
            raise IndexFormatError(f"{self.root / 'CURRENT'} names no version ('{name[:40]}')")
        return name

    def exists(self) -> bool:
        return self.current_version() is not None

    def read_manifest(self, version: str | None = None) -> dict[str, Any]:
        version = version or self.current_version()
        if version is None:
            raise IndexNotFoundError(self._missing_message())
        path = self.versions_dir / version / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexFormatError(f"index version {version} has no manifest ({path})") from exc
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"cannot read the manifest {path}: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != "rag-index":
            raise IndexFormatError(f"{path} is not a rag index manifest")
        found = manifest.get("format_version")
        if not isinstance(found, int) or found > FORMAT_VERSION:
            raise IndexFormatError(
                f"index {self.root} has format version {found}, newer than this rag reads ({FORMAT_VERSION}): upgrade rag"
            )
        return manifest

    def _missing_message(self) -> str:
        return f"no index at {self.root}: create one with 'rag ingest PATH --index {self.root}'"

    def check_embedder(self, manifest: dict[str, Any], embedder: EmbedderInfo) -> None:
        built = _embedder_from_dict(manifest["embedder"])
        if built.key() != embedder.key():
            raise IndexMismatchError(
                f"index {self.root} was built with {built.describe()}, but the configured embedder is "
                f"{embedder.describe()}: configure the same embedder, or use another --index directory"
            )

    def open(self, embedder: EmbedderInfo | None = None) -> IndexSnapshot:
        """Open the committed version (checked against ``embedder`` when given)."""
        for _attempt in range(3):
            version = self.current_version()
            if version is None:
                raise IndexNotFoundError(self._missing_message())
            manifest = self.read_manifest(version)
            if embedder is not None:
                self.check_embedder(manifest, embedder)
            try:
                return IndexSnapshot(self.versions_dir / version, manifest)
            except IndexFormatError:
                # A writer may have removed this version between our reading CURRENT and
                # opening it; CURRENT then names a newer one.
                if self.current_version() == version:
                    raise
        raise IndexStoreError(f"index {self.root} keeps changing under us; try again")

    @contextlib.contextmanager
    def writer(self, embedder: EmbedderInfo, chunker: dict[str, Any]) -> Iterator[IndexWriter]:
        """The one writer: holds the index lock until the block ends. Uncommitted work is discarded."""
        if self.root.is_dir() and self.current_version() is None:
            foreign = sorted(p.name for p in self.root.iterdir() if p.name not in _INDEX_ENTRIES)
            if foreign:
                raise IndexFormatError(
                    f"{self.root} is not a rag index but holds other files ({', '.join(foreign[:3])}"
                    f"{', ...' if len(foreign) > 3 else ''}): choose an empty or new --index directory"
                )
        elif self.root.exists() and not self.root.is_dir():
            raise IndexFormatError(f"{self.root} is a file, not an index directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IndexStoreError(f"cannot write to the index directory {self.root}: {exc.strerror or exc}") from exc
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IndexLockedError(f"another process is writing to the index {self.root}; try again when it ends") from exc
            writer = IndexWriter(self, embedder, chunker)
            try:
                yield writer
            finally:
                writer.discard()
        finally:
            os.close(lock_fd)

    # -- housekeeping (called with the lock held) -------------------------------------

    def _version_numbers(self) -> list[int]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.versions_dir.iterdir() if (m := _VERSION_RE.match(p.name)))

    def _collect_garbage(self) -> None:
        """Remove crashed writers' leftovers, uncommitted versions and versions past ``keep_versions``."""
        if not self.versions_dir.is_dir():
            return
        current = self.current_version()
        current_n = int(current[1:]) if current else -1
        for path in self.versions_dir.iterdir():
            if path.name.startswith(".tmp-") or path.name.startswith(".trash-"):
                shutil.rmtree(path, ignore_errors=True)
        committed = [n for n in self._version_numbers() if n <= current_n]
        stale = [n for n in self._version_numbers() if n > current_n]  # renamed, never made current
        stale += committed[: max(0, len(committed) - self.keep_versions)]
        for n in stale:
            path = self.versions_dir / f"v{n:06d}"
            # Rename first so that a crash mid-delete never leaves a half version under a real name.
            trash = self.versions_dir / f".trash-{uuid.uuid4().hex}"
            os.rename(path, trash)
            shutil.rmtree(trash, ignore_errors=True)
        tmp = self.root / "CURRENT.tmp"
        if tmp.exists():
            tmp.unlink()


class IndexWriter:
    """Stages changes in a new version directory; :meth:`commit` makes them current atomically."""

    def __init__(self, store: IndexStore, embedder: EmbedderInfo, chunker: dict[str, Any]) -> None:
        import faiss

        self._faiss_module = faiss
        self.store = store
        self.embedder = embedder
        self.chunker = dict(chunker)
        store._collect_garbage()
        self.base_version = store.current_version()
        if self.base_version is not None:
            manifest = store.read_manifest(self.base_version)
            store.check_embedder(manifest, embedder)
            if manifest.get("chunker") != self.chunker:
                raise IndexMismatchError(
                    f"index {store.root} was built with chunker settings {manifest.get('chunker')}, "
                    f"not {self.chunker}: use the same chunk_size/chunk_overlap, another --index directory, "
                    "or rebuild this one (remove the directory and ingest again)"
                )
            self._created_at = manifest.get("created_at", _now())
            self._index = faiss.read_index(str(store.versions_dir / self.base_version / "index.faiss"))
        else:
            self._created_at = _now()
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dim))
        self._tmp: Path | None = None
        self._db: sqlite3.Connection | None = None
        self._pending_removals: list[int] = []
        self.dirty = False
        self._start_version()

    # -- staging -------------------------------------------------------------------

    def _start_version(self) -> None:
        self.store.versions_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = self.store.versions_dir / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._tmp.mkdir()
        db_path = self._tmp / "meta.sqlite"
        base = self.store.versions_dir / self.base_version / "meta.sqlite" if self.base_version else None
        if base is not None:
            shutil.copyfile(base, db_path)
        self._db = sqlite3.connect(db_path)
        self._db.execute("PRAGMA journal_mode=OFF")  # the version directory is the unit of atomicity
        self._db.execute("PRAGMA synchronous=OFF")  # fsynced once, at commit
        if base is None:
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT INTO meta VALUES ('next_vector_id', '0')")
        self.dirty = False

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "writer already closed"
        return self._db

    def source_info(self, path: str) -> tuple[str, int] | None:
        """``(content hash, number of chunks)`` of an indexed source, None when not indexed."""
        row = self.db.execute("SELECT content_hash, n_chunks FROM sources WHERE path = ?", (path,)).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def source_paths(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM sources ORDER BY path")]

    def known_vectors(self, embed_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already in the index for these embedding inputs (so unchanged text is not embedded again)."""
        wanted = list(dict.fromkeys(embed_hashes))
        found: dict[str, np.ndarray] = {}
        removed = set(self._pending_removals)
        for lo in range(0, len(wanted), 500):
            part = wanted[lo : lo + 500]
            marks = ",".join("?" * len(part))
            for embed_hash, vector_id in self.db.execute(
                f"SELECT embed_hash, vector_id FROM chunks WHERE embed_hash IN ({marks})", part
            ):
                if embed_hash not in found and vector_id not in removed:
                    found[embed_hash] = self._index.reconstruct(int(vector_id))
        return found

    def remove_source(self, path: str) -> int:
        """Drop a source and its chunks; returns how many chunks went."""
        row = self.db.execute("SELECT source_id FROM sources WHERE path = ?", (path,)).fetchone()
        if row is None:
            return 0
        ids = [int(r[0]) for r in self.db.execute("SELECT vector_id FROM chunks WHERE source_id = ?", (row[0],))]
        self.db.execute("DELETE FROM chunks WHERE source_id = ?", (row[0],))
        self.db.execute("DELETE FROM sources WHERE source_id = ?", (row[0],))
        self._pending_removals.extend(ids)
        self.dirty = True
        return len(ids)

    def put_source(self, document: Document, chunks: Sequence[Chunk], vectors: np.ndarray) -> tuple[int, int]:
        """Add or replace a source with its chunks and their vectors. Returns (chunks added, chunks removed)."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if len(chunks) and vectors.shape[1] != self.embedder.dim:
            raise IndexMismatchError(f"vectors have dimension {vectors.shape[1]}, the index {self.embedder.dim}")
        removed = self.remove_source(document.path)
        start_id = int(self.db.execute("SELECT value FROM meta WHERE key = 'next_vector_id'").fetchone()[0])
        ids = np.arange(start_id, start_id + len(chunks), dtype=np.int64)
        self.db.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                document.source_id,
                document.path,
                document.content_hash,
                document.kind,
                len(document.text),
                len(chunks),
                _now(),
                document.text,
                json.dumps(document.pages),
            ),
        )
        self.db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (int(vid), c.chunk_id, c.source_id, c.ordinal, c.start, c.end, c.text, c.heading, c.page, sha256_hex(c.embed_text))
                for vid, c in zip(ids, chunks)
            ],
        )
        self.db.execute("UPDATE meta SET value = ? WHERE key = 'next_vector_id'", (str(start_id + len(chunks)),))
        if len(chunks):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self.dirty = True
        return len(chunks), removed

    # -- commit --------------------------------------------------------------------

    def commit(self) -> str | None:
        """Write the staged version and make it current. Returns its name (None when nothing changed).

        On failure (a full disk, say) the previous version stays current.
        """
        if not self.dirty:
            return None
        try:
            return self._commit()
        except (OSError, sqlite3.Error) as exc:
            raise IndexStoreError(
                f"cannot write a new version of the index {self.store.root}: {exc}; the previous version is still current"
            ) from exc

    def _commit(self) -> str:
        assert self._tmp is not None
        faiss = self._faiss_module
        if self._pending_removals:
            self._index.remove_ids(np.asarray(self._pending_removals, dtype=np.int64))
            self._pending_removals = []
        db = self.db
        db.commit()
        rows = db.execute("SELECT vector_id, text FROM chunks ORDER BY vector_id").fetchall()
        n_sources = int(db.execute("SELECT count(*) FROM sources").fetchone()[0])
        db.close()
        self._db = None
        faiss.write_index(self._index, str(self._tmp / "index.faiss"))
        if rows:
            _build_bm25([r[1] for r in rows]).save(str(self._tmp / "bm25"), allow_pickle=False)
            np.save(self._tmp / "bm25_ids.npy", np.asarray([r[0] for r in rows], dtype=np.int64), allow_pickle=False)
        files = {
            str(p.relative_to(self._tmp)): _file_sha256(p) for p in sorted(self._tmp.rglob("*")) if p.is_file()
        }
        numbers = self.store._version_numbers()
        name = f"v{(numbers[-1] + 1 if numbers else 1):06d}"
        manifest = {
            "format": "rag-index",
            "format_version": FORMAT_VERSION,
            "version": name,
            "previous": self.base_version,
            "created_at": self._created_at,
            "committed_at": _now(),
            "embedder": _embedder_dict(self.embedder),
            "chunker": self.chunker,
            "faiss": {"index": "IDMap2,Flat", "metric": "inner_product"},
            "keyword": {"backend": "bm25s", "tokenizer": TOKENIZER_NAME},
            "counts": {"sources": n_sources, "chunks": len(rows)},
            "files": files,
        }
        (self._tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(self._tmp)
        final = self.store.versions_dir / name
        os.rename(self._tmp, final)
        _fsync_path(self.store.versions_dir)
        pointer = self.store.root / "CURRENT.tmp"
        with pointer.open("w", encoding="ascii") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(pointer, self.store.root / "CURRENT")
        _fsync_path(self.store.root)
        self._tmp = None
        self.base_version = name
        self.store._collect_garbage()
        self._start_version()
        return name

    def discard(self) -> None:
        """Drop staged, uncommitted changes (the committed version is untouched)."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
