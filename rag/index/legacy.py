"""The read side of a format-1 index (one whole directory per version, before segments): one
committed version, opened read-only, as an :class:`~rag.protocols.IndexView`. Such an index is
read as it is and migrated to segments at its first write (:mod:`rag.index.migrate`).

:class:`LegacySnapshot` composes the version's three parts: its vector index
(:class:`~rag.index.faiss_vectors.FaissVectorIndex`), its keyword index with the corpus statistics
(:class:`~rag.index.bm25_keywords.Bm25KeywordIndex`) and its chunk store
(:class:`~rag.index.sqlite_chunks.SqliteChunkStore`), and checks that they agree
(:meth:`~IndexSnapshot.verify`). A version is never modified once committed, so a snapshot
stays valid while writers commit newer ones (see :mod:`rag.index.versions`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.domain import Hit, SourceRecord, StoredChunk
from rag.errors import IndexFormatError
from rag.index.bm25_keywords import Bm25KeywordIndex
from rag.index.faiss_vectors import FaissVectorIndex
from rag.index.format import file_sha256, hits_of, keyword_index_is_current
from rag.index.sqlite_chunks import SqliteChunkStore
from rag.manifest import IndexManifest
from rag.protocols import Scored

__all__ = ["LegacySnapshot"]


class LegacySnapshot:
    """A read-only view of one committed version. Safe to share between threads for reading.

    ``vectors``, ``keywords`` (which also holds the corpus statistics) and ``chunk_store`` are
    its parts; the view answers for all of them."""

    def __init__(self, path: Path, manifest: IndexManifest) -> None:
        self.path = path
        self.manifest = manifest
        self.version = path.name
        self.embedder = manifest.embedder
        try:
            self.vectors = FaissVectorIndex(path / "index.faiss", self.embedder.dim)
            self.chunk_store = SqliteChunkStore(path / "meta.sqlite")
            if not keyword_index_is_current(manifest):
                # Built with other tokenisation rules: rebuild the keyword index from the stored
                # chunk texts (seconds even for large indexes; no re-embedding).
                rows = self.chunk_store.rows("SELECT vector_id, text FROM chunks ORDER BY vector_id")
                self.keywords = Bm25KeywordIndex.build([(int(r[0]), str(r[1])) for r in rows])
            else:
                self.keywords = Bm25KeywordIndex.load(path / "bm25", path / "bm25_ids.npy")
        except (RuntimeError, sqlite3.Error, OSError, ValueError, KeyError) as exc:
            raise IndexFormatError(f"index version {path} is damaged: {exc}") from exc

    def close(self) -> None:
        self.chunk_store.close()

    def __enter__(self) -> LegacySnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- counts, statistics and listings -------------------------------------------------

    @property
    def n_chunks(self) -> int:
        return self.vectors.size

    @property
    def n_sources(self) -> int:
        return self.chunk_store.n_sources

    @property
    def ascii_vocab_share(self) -> float:
        return self.keywords.ascii_vocab_share

    def document_frequency(self, token: str) -> int:
        return self.keywords.document_frequency(token)

    def chunk_vectors(self, vector_ids: Sequence[int]) -> np.ndarray:
        faiss_index = self.vectors._faiss
        return np.stack([faiss_index.reconstruct(int(v), np.empty(self.embedder.dim, dtype=np.float32)) for v in vector_ids]) if vector_ids else np.empty((0, self.embedder.dim), dtype=np.float32)

    def sentence_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return {}  # format 1 stored none: the answerer embeds them

    def sources(self) -> list[SourceRecord]:
        return self.chunk_store.sources()

    def source_text(self, source_id: str) -> str:
        return self.chunk_store.source_text(source_id)

    def chunks(self, vector_ids: Iterable[int] | None = None) -> list[StoredChunk]:
        return self.chunk_store.chunks(vector_ids)

    def vector_ids_of_sources(self, sources: Iterable[str]) -> np.ndarray:
        return self.chunk_store.vector_ids_of_sources(sources)

    # -- search --------------------------------------------------------------------------

    def dense_scores(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        return self.vectors.dense_scores(query_vector, k, allowed)

    def keyword_scores(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        return self.keywords.keyword_scores(query, k, allowed)

    def hits(self, scored: Sequence[Scored]) -> list[Hit]:
        """Ranked ``(chunk id, score)`` pairs as hits carrying their chunks (rank = position)."""
        return hits_of(self, scored)

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """Nearest chunks by inner product; ``allowed`` restricts the search to those ids."""
        return self.hits(self.dense_scores(query_vector, k, allowed))

    def keyword_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """BM25 over the chunks; ``allowed`` restricts the search to those ids."""
        return self.hits(self.keyword_scores(query, k, allowed))

    # -- consistency ---------------------------------------------------------------------

    def verify(self, checksums: bool = True) -> list[str]:
        """Every inconsistency found between the parts of this version (empty when whole)."""
        problems: list[str] = []
        if checksums:
            for name, digest in self.manifest.files.items():
                target = self.path / name
                if not target.is_file():
                    problems.append(f"{name} is missing")
                elif file_sha256(target) != digest:
                    problems.append(f"{name} does not match its checksum in the manifest")
        faiss_ids = self.vectors.ids()
        rows = self.chunk_store.rows("SELECT vector_id, source_id, start_char, end_char, text FROM chunks")
        db_ids = {int(r[0]) for r in rows}
        if faiss_ids != db_ids:
            problems.append(
                f"FAISS holds {len(faiss_ids)} vectors and the chunk table {len(db_ids)} chunks; {len(faiss_ids - db_ids)} vectors have no chunk, {len(db_ids - faiss_ids)} chunks no vector"
            )
        bm25_ids = self.keywords.ids()
        if bm25_ids != db_ids:
            problems.append(f"the keyword index covers {len(bm25_ids)} chunks, the chunk table holds {len(db_ids)}")
        texts = dict(self.chunk_store.rows("SELECT source_id, text FROM sources"))
        for vector_id, source_id, start, end, text in rows:
            if source_id not in texts:
                problems.append(f"chunk {vector_id} belongs to no source")
            elif texts[source_id][start:end] != text:
                problems.append(f"chunk {vector_id} text differs from its source at {start}..{end}")
        counted = dict(self.chunk_store.rows("SELECT source_id, count(*) FROM chunks GROUP BY source_id"))
        for source_id, n in self.chunk_store.rows("SELECT source_id, n_chunks FROM sources"):
            if counted.get(source_id, 0) != n:
                problems.append(f"source {source_id} records {n} chunks but has {counted.get(source_id, 0)}")
        expected = self.manifest.counts
        if expected is not None and (expected.chunks != len(db_ids) or expected.sources != len(texts)):
            problems.append("the manifest counts differ from the tables")
        return problems
