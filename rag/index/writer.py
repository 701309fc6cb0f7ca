"""The write side of an index: stages a new version and commits it atomically.

:class:`IndexWriter` copies the current version's tables into ``versions/.tmp-*``, takes
sources in and out, and :meth:`~IndexWriter.commit` writes the FAISS and keyword indexes and the
manifest, fsyncs the directory, renames it to its version name and only then replaces
``CURRENT``. It is handed out by :meth:`rag.index.versions.IndexStore.writer`, which holds the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.domain import Chunk, Document, EmbedderInfo, sha256_hex
from rag.errors import IndexMismatchError, IndexStoreError
from rag.files import atomic_write
from rag.index.format import (
    SCHEMA,
    build_bm25,
    file_sha256,
    fsync_path,
    fsync_tree,
    keyword_manifest,
    now,
)
from rag.manifest import IndexManifest, ManifestCounts

if TYPE_CHECKING:
    from rag.index.versions import IndexStore

__all__ = ["IndexWriter"]


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
            if dict(manifest.chunker) != self.chunker:
                raise IndexMismatchError(
                    f"index {store.root} was built with chunker settings {dict(manifest.chunker)}, "
                    f"not {self.chunker}: use the same chunk_size/chunk_overlap, another --index directory, "
                    "or rebuild this one (remove the directory and ingest again)"
                )
            self._created_at = manifest.created_at or now()
            self._index = faiss.read_index(str(store.versions_dir / self.base_version / "index.faiss"))
        else:
            self._created_at = now()
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
            self._db.executescript(SCHEMA)
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
            for embed_hash, vector_id in self.db.execute(f"SELECT embed_hash, vector_id FROM chunks WHERE embed_hash IN ({marks})", part):
                if embed_hash not in found and vector_id not in removed:
                    # Into a float32 buffer of the index's dimension, as faiss allocates without one
                    # (passing it picks the numpy overload of the stubs, not the torch one).
                    found[embed_hash] = self._index.reconstruct(int(vector_id), np.empty(self._index.d, dtype=np.float32))
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
                now(),
                document.text,
                json.dumps(document.pages),
            ),
        )
        self.db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(int(vid), c.chunk_id, c.source_id, c.ordinal, c.start, c.end, c.text, c.heading, c.page, sha256_hex(c.embed_text)) for vid, c in zip(ids, chunks)],
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
            raise IndexStoreError(f"cannot write a new version of the index {self.store.root}: {exc}; the previous version is still current") from exc

    def _commit(self) -> str:
        assert self._tmp is not None
        faiss = self._faiss_module
        if self._pending_removals:
            self._index.remove_ids(np.asarray(self._pending_removals, dtype=np.int64))  # type: ignore[arg-type]  # faiss stubs: the wrapper also takes an int64 id array
            self._pending_removals = []
        db = self.db
        db.commit()
        rows = db.execute("SELECT vector_id, text FROM chunks ORDER BY vector_id").fetchall()
        n_sources = int(db.execute("SELECT count(*) FROM sources").fetchone()[0])
        db.close()
        self._db = None
        faiss.write_index(self._index, str(self._tmp / "index.faiss"))
        if rows:
            build_bm25([r[1] for r in rows]).save(str(self._tmp / "bm25"), allow_pickle=False)
            np.save(self._tmp / "bm25_ids.npy", np.asarray([r[0] for r in rows], dtype=np.int64), allow_pickle=False)
        files = {str(p.relative_to(self._tmp)): file_sha256(p) for p in sorted(self._tmp.rglob("*")) if p.is_file()}
        numbers = self.store._version_numbers()
        name = f"v{(numbers[-1] + 1 if numbers else 1):06d}"
        manifest = IndexManifest(
            version=name,
            previous=self.base_version,
            created_at=self._created_at,
            committed_at=now(),
            embedder=self.embedder,
            chunker=self.chunker,
            vectors={"index": "IDMap2,Flat", "metric": "inner_product"},
            keyword=keyword_manifest(),
            counts=ManifestCounts(sources=n_sources, chunks=len(rows)),
            files=files,
        )
        (self._tmp / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        fsync_tree(self._tmp)
        final = self.store.versions_dir / name
        os.rename(self._tmp, final)
        fsync_path(self.store.versions_dir)
        atomic_write(self.store.root / "CURRENT", name + "\n")
        fsync_path(self.store.root)
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
