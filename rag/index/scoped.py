"""One index version as a caller scoped to some collections sees it.

:class:`ScopedView` wraps an :class:`~rag.index.snapshot.IndexSnapshot` and implements the same
roles (dense and keyword search, chunk store, corpus statistics, sentence vectors), restricted to
the chunks of the sources in the allowed collections: searches are filtered inside each segment
(a per-segment row mask, :class:`~rag.index.snapshot.RowScope`), never after the top k, and the
statistics that shape scores and answers are the scope's own: BM25's document frequencies,
number of chunks and average length, and the answerer's document frequencies and chunk count.
A service built over it (``Factory.qa_service``) answers, cites, abstains and lists from the
scope alone. What stays index-wide (docs/api.md, "What is isolated"): the share of ASCII terms in
the vocabulary (which script the answerer treats as foreign), the keyword pruning share of very
common terms, and the stored sentence and word vectors looked up by their text's hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rag.domain import EmbedderInfo, SourceRecord, StoredChunk
from rag.index.snapshot import IndexSnapshot, RowScope
from rag.manifest import IndexManifest
from rag.protocols import Scored

__all__ = ["ScopedView"]


class ScopedView:
    """``snapshot`` as seen by a caller who may read only ``collections``."""

    def __init__(self, snapshot: IndexSnapshot, collections: Iterable[str]) -> None:
        self.snapshot = snapshot
        self.collections = frozenset(collections)
        self.scope: RowScope = snapshot.row_scope(snapshot.collection_ids(self.collections))
        self._sources: list[SourceRecord] | None = None  # the scope's sources (the snapshot never changes)
        self._df: dict[str, int] = {}

    # -- identity -------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return self.snapshot.version

    @property
    def manifest(self) -> IndexManifest:
        return self.snapshot.manifest

    @property
    def embedder(self) -> EmbedderInfo:
        return self.snapshot.embedder

    def verify(self, checksums: bool = True) -> list[str]:
        return self.snapshot.verify(checksums)

    def close(self) -> None:
        """The snapshot is the store's: closing a view of it releases nothing."""

    def __enter__(self) -> ScopedView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- search ---------------------------------------------------------------------------

    def _within(self, allowed: np.ndarray | None) -> RowScope:
        return self.scope if allowed is None else self.scope.narrowed(self.snapshot, allowed)

    def dense_scores(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        return self.snapshot.dense_scores(query_vector, k, self._within(allowed))

    def keyword_scores(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        return self.snapshot.keyword_scores(query, k, self._within(allowed))

    # -- statistics -----------------------------------------------------------------------

    @property
    def n_chunks(self) -> int:
        return self.scope.n_chunks

    @property
    def ascii_vocab_share(self) -> float:
        return self.snapshot.ascii_vocab_share

    def document_frequency(self, token: str) -> int:
        if token not in self._df:
            self._df[token] = self.snapshot.document_frequency(token, self.scope)
        return self._df[token]

    def sentence_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.snapshot.sentence_vectors(texts)

    # -- chunks and sources ---------------------------------------------------------------

    def _visible(self, ids: np.ndarray) -> np.ndarray:
        return ids[np.isin(ids, self.scope.ids)] if len(ids) else ids

    @property
    def n_sources(self) -> int:
        return len(self.sources())

    def sources(self) -> list[SourceRecord]:
        if self._sources is None:
            self._sources = [s for s in self.snapshot.sources() if s.collection in self.collections]
        return list(self._sources)

    def source_paths(self) -> list[str]:
        return [s.path for s in self.sources()]

    def source_text(self, source_id: str) -> str:
        if not any(s.source_id == source_id for s in self.sources()):
            raise KeyError(source_id)
        return self.snapshot.source_text(source_id)

    def source_entry(self, path: str) -> tuple[Any, dict[str, object]] | None:
        entry = self.snapshot.source_entry(path)
        return entry if entry is not None and str(entry[1]["collection"]) in self.collections else None

    def chunks(self, vector_ids: Iterable[int] | None = None) -> list[StoredChunk]:
        if vector_ids is None:
            return self.snapshot.chunks(self.scope.ids.tolist())
        wanted = [int(v) for v in vector_ids]
        seen = set(self._visible(np.asarray(wanted, dtype=np.int64)).tolist())
        return self.snapshot.chunks([v for v in wanted if v in seen])

    def vector_ids_of_sources(self, sources: Iterable[str]) -> np.ndarray:
        return self._visible(self.snapshot.vector_ids_of_sources(sources))

    def chunk_vectors(self, vector_ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(list(vector_ids), dtype=np.int64)
        if len(self._visible(ids)) != len(ids):
            raise KeyError("a chunk outside this scope")
        return self.snapshot.chunk_vectors(vector_ids)
