"""The vector index of one version: native FAISS (``IndexIDMap2`` over ``IndexFlatIP``), read-only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.errors import IndexMismatchError
from rag.protocols import Scored

__all__ = ["FaissVectorIndex"]


class FaissVectorIndex:
    """Inner-product search over normalised vectors, keyed by chunk id."""

    def __init__(self, path: Path, dim: int) -> None:
        import faiss

        self.dim = dim
        self._faiss = faiss.read_index(str(path))

    @property
    def size(self) -> int:
        return int(self._faiss.ntotal)

    def ids(self) -> set[int]:
        """Every chunk id that has a vector (for verification)."""
        import faiss

        if not self.size:
            return set()
        return set(faiss.vector_to_array(self._faiss.id_map).tolist())  # type: ignore[attr-defined]  # faiss stubs: read_index returns the IndexIDMap2 subclass

    def dense_scores(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """``(chunk id, inner product)`` of the nearest chunks, best first; ``allowed`` restricts
        the search to those ids."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        if self.size == 0 or (allowed is not None and len(allowed) == 0):
            return []
        query = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.dim:
            raise IndexMismatchError(f"query vector has dimension {query.shape[1]}, the index {self.dim}")
        if allowed is not None:
            import faiss

            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)))  # type: ignore[call-arg]  # faiss stubs: the wrapper takes fields as kwargs
            scores, ids = self._faiss.search(query, min(k, len(allowed)), params=params)
        else:
            scores, ids = self._faiss.search(query, min(k, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
