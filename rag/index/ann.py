"""Approximate nearest neighbours inside a segment: a FAISS HNSW graph over 8-bit scalar-quantised
codes, built when a segment is written with at least ``min_rows`` rows (merges make such
segments), opened memory-mapped, and re-scored exactly against the segment's float vectors.

Smaller segments are scanned exactly (numpy over the mapped vectors): a commit stays cheap, and a
flat scan of a few thousand rows costs well under a millisecond. Tombstones and source filters
reach the graph as an ``IDSelectorBitmap``, with the walk's candidate list widened by the share
the filter keeps; a filter that keeps few rows is searched exactly over just those rows (a walk
that must skip most nodes finds too few). The parameters a graph was built with are recorded in
its segment's manifest record; ``ef_search`` is a query-time setting. A one-query search runs
in the calling thread (FAISS parallelises over queries); a build uses ``build_threads``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ANN_FILE", "AnnConfig", "AnnGraph", "build_graph"]

ANN_FILE = "hnsw.faiss"
KIND = "hnsw-sq8"


@dataclass(frozen=True, slots=True)
class AnnConfig:
    """How segments get a graph (``min_rows`` 0 turns graphs off) and how it is searched."""

    min_rows: int = 5_000
    m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    rerank: int = 2  # graph candidates per result, re-scored exactly
    exact_below: float = 0.2  # a filter keeping less than this share of a segment is scanned exactly
    max_ef: int = 1024  # the widest candidate list a filtered walk may use
    build_threads: int = 2

    def wants_graph(self, rows: int) -> bool:
        return self.min_rows > 0 and rows >= self.min_rows


def build_graph(vectors: np.ndarray, config: AnnConfig, path: Path) -> dict[str, Any]:
    """Build the graph of ``vectors`` (rows in order) into ``path``; returns what the manifest records."""
    faiss = _faiss()
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexHNSWSQ(matrix.shape[1], faiss.ScalarQuantizer.QT_8bit, config.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = config.ef_construction
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(config.build_threads)  # libgomp: for this thread's parallel regions only
    try:
        index.train(matrix)
        index.add(matrix)
    finally:
        faiss.omp_set_num_threads(before)
    faiss.write_index(index, str(path))
    return {"kind": KIND, "m": config.m, "ef_construction": config.ef_construction, "rows": len(matrix)}


class AnnGraph:
    """A segment's graph, memory-mapped (its pages are the page cache's, not the process')."""

    def __init__(self, path: Path, record: Mapping[str, Any], rows: int) -> None:
        faiss = _faiss()
        if record.get("kind") != KIND:
            raise ValueError(f"{path}: unknown graph kind {record.get('kind')!r}")
        self._faiss = faiss
        try:
            self.index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as exc:  # FAISS validates the graph as it reads it
            raise ValueError(f"{path.name} cannot be read: {str(exc).splitlines()[-1][:200]}") from exc
        if self.index.ntotal != rows:
            raise ValueError(f"{path}: the graph holds {self.index.ntotal} rows, its segment {rows}")

    def candidates(self, query: np.ndarray, n: int, ef: int, keep: np.ndarray | None, max_ef: int = 1024) -> np.ndarray:
        """Rows of (about) the ``n`` nearest, among those ``keep`` marks. With a filter the walk's
        candidate list grows by the inverse of the share it keeps (up to ``max_ef``), since only
        that share of the nodes it visits can be returned."""
        ef = max(ef, n)
        if keep is None:
            params = self._faiss.SearchParametersHNSW(efSearch=ef)
        else:
            share = max(float(keep.mean()), 1e-9)
            # The one-argument selector and keyword arguments keep Python references to the
            # bitmap and the selector for as long as ``params`` lives (the search reads both).
            selector = self._faiss.IDSelectorBitmap(np.packbits(keep, bitorder="little"))
            params = self._faiss.SearchParametersHNSW(sel=selector, efSearch=max(ef, min(max_ef, math.ceil(ef / share))))
        _, found = self.index.search(query.reshape(1, -1), n, params=params)
        rows: np.ndarray = found[0]
        return rows[rows >= 0]


def _faiss() -> Any:
    """FAISS, imported on first use (its published type stubs lag the library: typed as Any)."""
    import faiss

    return faiss
