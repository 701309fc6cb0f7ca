"""Retrieval: dense (FAISS), keyword (BM25 with Chinese word segmentation) and their fusion.

Fusion is not blind. Plain reciprocal-rank fusion gives a retriever that knows nothing (an
English-only model on Chinese text) as much say as one that knows the answer, and drags it
down (MODELS.md: 96 -> 57 nDCG@10). Here each retriever's scores are standardised over its
own candidate list (z-scores), so a retriever is heard in proportion to how far its best
candidates stand out from the rest, and then weighted; a retriever whose top candidate does
not stand out from its list (``min_confidence``) is dropped for that query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from rag.domain import Hit, Passage
from rag.protocols import Embedder
from rag.store import IndexSnapshot

__all__ = ["Retriever", "DenseRetriever", "KeywordRetriever", "HybridRetriever", "FusionConfig", "fuse"]


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages most likely to answer a query, optionally only in some sources."""

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]: ...


def _allowed(snapshot: IndexSnapshot, sources: Sequence[str] | None) -> np.ndarray | None:
    return None if sources is None else snapshot.vector_ids_of_sources(sources)


def _check_top_k(top_k: int) -> None:
    if top_k <= 0:
        raise ValueError(f"top_k must be positive, got {top_k}")


class DenseRetriever:
    """Nearest chunks to the query's embedding."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder) -> None:
        self.snapshot = snapshot
        self.embedder = embedder

    def hits(self, query: str, k: int, sources: Sequence[str] | None = None) -> list[Hit]:
        vector = self.embedder.embed_queries([query])[0]
        return self.snapshot.dense_search(vector, k, _allowed(self.snapshot, sources))

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]:
        _check_top_k(top_k)
        return [Passage(h.chunk, h.score, h.rank, dense_score=h.score, dense_rank=h.rank) for h in self.hits(query, top_k, sources)]


class KeywordRetriever:
    """BM25 over rjieba-segmented Chinese and lower-cased words of other scripts."""

    def __init__(self, snapshot: IndexSnapshot) -> None:
        self.snapshot = snapshot

    def hits(self, query: str, k: int, sources: Sequence[str] | None = None) -> list[Hit]:
        return self.snapshot.keyword_search(query, k, _allowed(self.snapshot, sources))

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]:
        _check_top_k(top_k)
        return [
            Passage(h.chunk, h.score, h.rank, keyword_score=h.score, keyword_rank=h.rank)
            for h in self.hits(query, top_k, sources)
        ]


@dataclass(frozen=True, slots=True)
class FusionConfig:
    """How dense and keyword results are combined (see the module docstring)."""

    method: Literal["zscore", "rrf"] = "zscore"
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    candidates: int = 50  # per retriever
    min_confidence: float = 0.0  # a retriever whose top z-score is below this is ignored for the query
    rrf_k: int = 60

    def __post_init__(self) -> None:
        if self.method not in ("zscore", "rrf"):
            raise ValueError(f"fusion method must be 'zscore' or 'rrf', got {self.method!r}")
        if self.dense_weight < 0 or self.keyword_weight < 0 or self.dense_weight + self.keyword_weight == 0:
            raise ValueError("fusion weights must be >= 0 and not both 0")
        if self.candidates <= 0:
            raise ValueError(f"candidates must be positive, got {self.candidates}")
        if self.rrf_k <= 0:
            raise ValueError(f"rrf_k must be positive, got {self.rrf_k}")


def _zscores(hits: list[Hit]) -> dict[int, float]:
    if not hits:
        return {}
    scores = np.asarray([h.score for h in hits], dtype=np.float64)
    std = float(scores.std())
    if len(hits) == 1 or std == 0.0:
        return {hits[0].chunk.vector_id: 1.0} | {h.chunk.vector_id: 0.0 for h in hits[1:]}
    mean = float(scores.mean())
    return {h.chunk.vector_id: (h.score - mean) / std for h in hits}


def fuse(dense: list[Hit], keyword: list[Hit], config: FusionConfig) -> list[Passage]:
    """Combine two ranked hit lists into one ranked list of passages (all candidates, best first)."""
    chunks = {h.chunk.vector_id: h.chunk for h in [*dense, *keyword]}
    by_dense = {h.chunk.vector_id: h for h in dense}
    by_keyword = {h.chunk.vector_id: h for h in keyword}
    fused: dict[int, float] = dict.fromkeys(chunks, 0.0)
    if config.method == "rrf":
        for weight, hits in ((config.dense_weight, dense), (config.keyword_weight, keyword)):
            for h in hits:
                fused[h.chunk.vector_id] += weight / (config.rrf_k + h.rank)
    else:
        for weight, hits in ((config.dense_weight, dense), (config.keyword_weight, keyword)):
            z = _zscores(hits)
            if not z or max(z.values()) < config.min_confidence:
                continue
            floor = min(z.values())  # a candidate this retriever did not return scores as its worst
            for vector_id in fused:
                fused[vector_id] += weight * z.get(vector_id, floor)
    order = sorted(fused, key=lambda v: (-fused[v], by_dense[v].rank if v in by_dense else 10**9, v))
    return [
        Passage(
            chunks[v],
            fused[v],
            rank,
            dense_score=by_dense[v].score if v in by_dense else None,
            dense_rank=by_dense[v].rank if v in by_dense else None,
            keyword_score=by_keyword[v].score if v in by_keyword else None,
            keyword_rank=by_keyword[v].rank if v in by_keyword else None,
        )
        for rank, v in enumerate(order, start=1)
    ]


class HybridRetriever:
    """Dense and keyword retrieval, fused per :class:`FusionConfig`."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, config: FusionConfig | None = None) -> None:
        self.dense = DenseRetriever(snapshot, embedder)
        self.keyword = KeywordRetriever(snapshot)
        self.config = config or FusionConfig()

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]:
        _check_top_k(top_k)
        k = max(top_k, self.config.candidates)
        dense = self.dense.hits(query, k, sources) if self.config.dense_weight > 0 else []
        keyword = self.keyword.hits(query, k, sources) if self.config.keyword_weight > 0 else []
        return fuse(dense, keyword, self.config)[:top_k]
