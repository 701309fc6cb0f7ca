"""The chunk store of one version: sources (with their stored text) and chunks in SQLite, keyed by
chunk id, opened read-only and immutable."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.domain import SourceRecord, StoredChunk
from rag.index.format import CHUNK_COLUMNS, ReadOnlyDatabase, row_to_chunk

__all__ = ["SqliteChunkStore"]


class SqliteChunkStore(ReadOnlyDatabase):
    """Chunks, sources and their text. One connection, shared by the threads reading this version."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.rows("SELECT count(*) FROM chunks")

    @property
    def n_sources(self) -> int:
        return int(self.rows("SELECT count(*) FROM sources")[0][0])

    def sources(self) -> list[SourceRecord]:
        rows = self.rows("SELECT source_id, path, content_hash, kind, size, n_chunks, ingested_at FROM sources ORDER BY path")
        return [SourceRecord(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), r[6]) for r in rows]

    def source_text(self, source_id: str) -> str:
        rows = self.rows("SELECT text FROM sources WHERE source_id = ?", (source_id,))
        if not rows:
            raise KeyError(source_id)
        return str(rows[0][0])

    def chunks(self, vector_ids: Iterable[int] | None = None) -> list[StoredChunk]:
        """Chunks by id, in the order asked (all chunks in source order when ``None``)."""
        base = f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN sources s USING (source_id)"
        if vector_ids is None:
            return [row_to_chunk(r) for r in self.rows(base + " ORDER BY s.path, c.ordinal")]
        ids = [int(v) for v in vector_ids]
        found: dict[int, StoredChunk] = {}
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            marks = ",".join("?" * len(part))
            for row in self.rows(f"{base} WHERE c.vector_id IN ({marks})", part):
                found[int(row[0])] = row_to_chunk(row)
        return [found[i] for i in ids if i in found]

    def vector_ids_of_sources(self, sources: Iterable[str]) -> np.ndarray:
        """Chunk ids of these sources (each given by path or source id)."""
        wanted = list(dict.fromkeys(sources))
        if not wanted:
            return np.empty(0, dtype=np.int64)
        marks = ",".join("?" * len(wanted))
        rows = self.rows(
            f"SELECT c.vector_id FROM chunks c JOIN sources s USING (source_id) WHERE s.path IN ({marks}) OR s.source_id IN ({marks})",
            wanted + wanted,
        )
        return np.asarray(sorted(int(r[0]) for r in rows), dtype=np.int64)
