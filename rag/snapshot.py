"""The read side of an index: one committed version, opened read-only.

:class:`IndexSnapshot` holds a version's FAISS index, its SQLite tables (opened immutable) and
its keyword index, and answers listings, dense and keyword searches, and :meth:`~IndexSnapshot.verify`.
A version is never modified once committed, so a snapshot stays valid while writers commit
newer ones (see :mod:`rag.store`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.domain import Hit, SourceRecord, StoredChunk
from rag.errors import IndexFormatError, IndexMismatchError
from rag.index_format import (
    CHUNK_COLUMNS,
    build_bm25,
    embedder_from_dict,
    file_sha256,
    keyword_index_is_current,
    keyword_query_tokens,
    row_to_chunk,
)

__all__ = ["IndexSnapshot"]


class IndexSnapshot:
    """A read-only view of one committed version. Safe to share between threads for reading."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        import faiss

        self.path = path
        self.manifest = manifest
        self.version = path.name
        self.embedder = embedder_from_dict(manifest["embedder"])
        try:
            self._faiss = faiss.read_index(str(path / "index.faiss"))
            self._db = sqlite3.connect(
                f"file:{path / 'meta.sqlite'}?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            self._lock = threading.Lock()
            self._rows("SELECT count(*) FROM chunks")
            self._bm25: Any = None
            self._bm25_ids = np.empty(0, dtype=np.int64)
            if not keyword_index_is_current(manifest):
                # Built with other tokenisation rules: rebuild the keyword index from the stored
                # chunk texts (seconds even for large indexes; no re-embedding).
                rows = self._rows("SELECT vector_id, text FROM chunks ORDER BY vector_id")
                if rows:
                    self._bm25 = build_bm25([r[1] for r in rows])
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
        base = f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN sources s USING (source_id)"
        if vector_ids is None:
            return [row_to_chunk(r) for r in self._rows(base + " ORDER BY s.path, c.ordinal")]
        ids = [int(v) for v in vector_ids]
        found: dict[int, StoredChunk] = {}
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            marks = ",".join("?" * len(part))
            for row in self._rows(f"{base} WHERE c.vector_id IN ({marks})", part):
                found[int(row[0])] = row_to_chunk(row)
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

            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)))  # type: ignore[call-arg]  # faiss stubs: the wrapper takes fields as kwargs
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
        tokens = keyword_query_tokens(query)
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
                elif file_sha256(target) != digest:
                    problems.append(f"{name} does not match its checksum in the manifest")
        faiss_ids = set(faiss.vector_to_array(self._faiss.id_map).tolist()) if self.n_chunks else set()  # type: ignore[attr-defined]  # faiss stubs: read_index returns the IndexIDMap2 subclass
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
