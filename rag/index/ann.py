"""Approximate nearest neighbours inside a segment: a FAISS HNSW graph over 8-bit scalar-quantised
codes, built when a segment is written with at least ``min_rows`` rows (merges make such
segments), opened memory-mapped, and re-scored exactly against the segment's float vectors.

Smaller segments are scanned exactly (numpy over the mapped vectors): a commit stays cheap, and a
flat scan of a few thousand rows costs well under a millisecond. Tombstones and source filters
reach the graph as an ``IDSelectorBitmap``; a filter that keeps few rows is searched exactly over
just those rows (a graph walk that must skip most nodes finds too few). The parameters a graph was
built with are recorded in its segment's manifest record; ``ef_search`` is a query-time setting.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ANN_FILE", "AnnConfig", "AnnGraph", "build_graph"]

ANN_FILE = "hnsw.faiss"
KIND = "hnsw-sq8"
_BUILD_LOCK = threading.Lock()  # faiss' OpenMP thread count is process-wide


@dataclass(frozen=True, slots=True)
class AnnConfig:
    """How segments get a graph (``min_rows`` 0 turns graphs off) and how it is searched."""

    min_rows: int = 5_000
    m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    rerank: int = 2  # graph candidates per result, re-scored exactly
    exact_below: float = 0.1  # a filter keeping less than this share of a segment is scanned exactly
    build_threads: int = 2
    search_threads: int = 1

    def wants_graph(self, rows: int) -> bool:
        return self.min_rows > 0 and rows >= self.min_rows


def build_graph(vectors: np.ndarray, config: AnnConfig, path: Path) -> dict[str, Any]:
    """Build the graph of ``vectors`` (rows in order) into ``path``; returns what the manifest records."""
    faiss = _faiss()
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexHNSWSQ(matrix.shape[1], faiss.ScalarQuantizer.QT_8bit, config.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = config.ef_construction
    with _BUILD_LOCK:
        faiss.omp_set_num_threads(config.build_threads)
        try:
            index.train(matrix)
            index.add(matrix)
        finally:
            faiss.omp_set_num_threads(config.search_threads)
    faiss.write_index(index, str(path))
    return {"kind": KIND, "m": config.m, "ef_construction": config.ef_construction, "rows": len(matrix)}


class AnnGraph:
    """A segment's graph, memory-mapped (its pages are the page cache's, not the process')."""

    def __init__(self, path: Path, record: Mapping[str, Any], rows: int, threads: int = 1) -> None:
        faiss = _faiss()
        faiss.omp_set_num_threads(threads)  # the process' FAISS threads (as search_threads sets BLAS')
        if record.get("kind") != KIND:
            raise ValueError(f"{path}: unknown graph kind {record.get('kind')!r}")
        self._faiss = faiss
        try:
            self.index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as exc:  # FAISS validates the graph as it reads it
            raise ValueError(f"{path.name} cannot be read: {str(exc).splitlines()[-1][:200]}") from exc
        if self.index.ntotal != rows:
            raise ValueError(f"{path}: the graph holds {self.index.ntotal} rows, its segment {rows}")

    def candidates(self, query: np.ndarray, n: int, ef: int, keep: np.ndarray | None) -> np.ndarray:
        """Rows of (about) the ``n`` nearest, among those ``keep`` marks."""
        params = self._faiss.SearchParametersHNSW()
        params.efSearch = max(ef, n)
        if keep is not None:
            bits = np.packbits(keep, bitorder="little")
            params.sel = self._faiss.IDSelectorBitmap(len(keep), self._faiss.swig_ptr(bits))
        _, found = self.index.search(query.reshape(1, -1), n, params=params)
        rows: np.ndarray = found[0]
        return rows[rows >= 0]


def _faiss() -> Any:
    """FAISS, imported on first use (its published type stubs lag the library: typed as Any)."""
    import faiss

    return faiss
