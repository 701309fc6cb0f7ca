"""Retrieval: dense (inner product; exact, or from a segment's HNSW graph re-scored exactly), keyword (BM25 with Chinese word segmentation) and their fusion.

Fusion is not blind. Plain reciprocal-rank fusion gives a retriever that knows nothing (an
English-only model on Chinese text) as much say as one that knows the answer, and drags it
down (XQuAD zh, all-MiniLM-L6-v2 + BM25: 96 for BM25 alone, 57 for RRF). Here each
retriever's scores are standardised over its own candidate list (z-scores), so a retriever is
heard in proportion to how far a candidate stands out from the rest of its list, and then
weighted, with a per-query confidence for the dense list:

- A dense list always ranks something, informed or not, and z-scores cannot tell: a model
  that does not know the language still has a top candidate about 3 standard deviations
  above its list (a relevant top stands out by 4 to 6). So the dense list keeps its full
  weight when its top stands out (``standout_z``) or when the keyword retriever also found
  its best chunks (the share of its ``support_top`` best chunks among the keyword
  candidates); with neither, its weight fades to ``unsupported_weight`` of ``dense_weight``.
- Keyword hits carry their own evidence (the query's terms occur in them), so the keyword
  list is not discounted; but it only testifies against the dense list when its own top
  stands out (``support_min_z``): a few weak term matches say nothing.
- A retriever whose top candidate does not stand out at all (``min_confidence``) can be
  dropped for the query (off by default).

The defaults were chosen on CMRC2018 (dev and trial, Chinese) and HaluEval QA (English), never
on XQuAD, which benchmarks/retrieval.py uses for reporting only (see BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rag.domain import Hit, Passage
from rag.protocols import ChunkStore, DenseIndex, Embedder, Retriever, Scored, SparseIndex

__all__ = ["Retriever", "DenseRetriever", "KeywordRetriever", "HybridRetriever", "FusionConfig", "Scored", "fused_scores"]


def _allowed(chunks: ChunkStore, sources: Sequence[str] | None) -> np.ndarray | None:
    return None if sources is None else chunks.vector_ids_of_sources(sources)


def _check_top_k(top_k: int) -> None:
    if top_k <= 0:
        raise ValueError(f"top_k must be positive, got {top_k}")


def _hits(chunks: ChunkStore, scored: Sequence[Scored]) -> list[Hit]:
    """Hits for scored ids, ranked in the given order (only these chunks are read)."""
    by_id = {c.vector_id: c for c in chunks.chunks(v for v, _ in scored)}
    return [Hit(by_id[v], s, rank) for rank, (v, s) in enumerate(scored, start=1) if v in by_id]


class DenseRetriever:
    """Nearest chunks to the query's embedding: a :class:`~rag.protocols.VectorIndex` (with the
    chunks it points at) and the embedder that wrote its vectors."""

    def __init__(self, index: DenseIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def scores(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """``(chunk id, score)`` of the nearest chunks; ``allowed``: only these ids."""
        return self.index.dense_scores(self.embedder.embed_queries([query])[0], k, allowed)

    def hits(self, query: str, k: int, sources: Sequence[str] | None = None) -> list[Hit]:
        return _hits(self.index, self.scores(query, k, _allowed(self.index, sources)))

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]:
        _check_top_k(top_k)
        return [Passage(h.chunk, h.score, h.rank, dense_score=h.score, dense_rank=h.rank) for h in self.hits(query, top_k, sources)]


class KeywordRetriever:
    """BM25 over rjieba-segmented Chinese and lower-cased words of other scripts: a
    :class:`~rag.protocols.KeywordIndex` with the chunks it points at."""

    def __init__(self, index: SparseIndex) -> None:
        self.index = index

    def scores(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """``(chunk id, BM25 score)`` of the best-matching chunks; ``allowed``: only these ids."""
        return self.index.keyword_scores(query, k, allowed)

    def hits(self, query: str, k: int, sources: Sequence[str] | None = None) -> list[Hit]:
        return _hits(self.index, self.scores(query, k, _allowed(self.index, sources)))

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
    # The dense list's per-query confidence (zscore only; support_top=0 turns it off):
    support_top: int = 5  # how many of the dense list's best chunks are looked for among the keyword candidates
    support_min_z: float = 2.0  # the keyword list's top z-score from which it counts as a witness
    unsupported_weight: float = 0.5  # share of dense_weight kept by a dense list neither supported nor standing out
    standout_z: tuple[float, float] = (3.0, 5.0)  # dense top z-score: stands out from nothing (1st) to fully (2nd)

    def __post_init__(self) -> None:
        if self.method not in ("zscore", "rrf"):
            raise ValueError(f"fusion method must be 'zscore' or 'rrf', got {self.method!r}")
        if self.dense_weight < 0 or self.keyword_weight < 0 or self.dense_weight + self.keyword_weight == 0:
            raise ValueError("fusion weights must be >= 0 and not both 0")
        if self.candidates <= 0:
            raise ValueError(f"candidates must be positive, got {self.candidates}")
        if self.rrf_k <= 0:
            raise ValueError(f"rrf_k must be positive, got {self.rrf_k}")
        if self.support_top < 0:
            raise ValueError(f"support_top must be >= 0, got {self.support_top}")
        if not 0.0 <= self.unsupported_weight <= 1.0:
            raise ValueError(f"unsupported_weight must be between 0 and 1, got {self.unsupported_weight}")
        if len(self.standout_z) != 2 or not self.standout_z[0] < self.standout_z[1]:
            raise ValueError(f"standout_z must be two increasing z-scores, got {self.standout_z!r}")




def _zscores(scored: Sequence[Scored]) -> dict[int, float]:
    """Each candidate's score standardised over the list."""
    if not scored:
        return {}
    n = len(scored)
    mean = sum(s for _, s in scored) / n
    std = (sum((s - mean) ** 2 for _, s in scored) / n) ** 0.5
    if n == 1:  # the only candidate a retriever found stands out by itself
        return {scored[0][0]: 1.0}
    if std == 0.0:  # a list that cannot tell its candidates apart says nothing about their order
        return {v: 0.0 for v, _ in scored}
    return {v: (s - mean) / std for v, s in scored}


def _dense_confidence(dense: Sequence[Scored], z_dense: dict[int, float], z_keyword: dict[int, float], config: FusionConfig) -> float:
    """The share of ``dense_weight`` the dense list earns for this query (see the module docstring)."""
    if config.support_top == 0 or not z_dense or not z_keyword or max(z_keyword.values()) < config.support_min_z:
        return 1.0
    best = dense[: config.support_top]
    support = sum(1 for v, _ in best if v in z_keyword) / len(best)
    low, high = config.standout_z
    standout = min(1.0, max(0.0, (max(z_dense.values()) - low) / (high - low)))
    return config.unsupported_weight + (1.0 - config.unsupported_weight) * max(support, standout)


def fused_scores(dense: Sequence[Scored], keyword: Sequence[Scored], config: FusionConfig) -> list[Scored]:
    """Combine two ranked candidate lists into one ``(vector_id, fused score)`` list, best first."""
    fused: dict[int, float] = dict.fromkeys([v for v, _ in dense] + [v for v, _ in keyword], 0.0)
    if config.method == "rrf":
        for weight, scored in ((config.dense_weight, dense), (config.keyword_weight, keyword)):
            for rank, (v, _) in enumerate(scored, start=1):
                fused[v] += weight / (config.rrf_k + rank)
    else:
        z_dense, z_keyword = _zscores(dense), _zscores(keyword)
        dense_weight = config.dense_weight * _dense_confidence(dense, z_dense, z_keyword, config)
        for weight, z in ((dense_weight, z_dense), (config.keyword_weight, z_keyword)):
            if not z or weight == 0 or max(z.values()) < config.min_confidence:
                continue
            floor = min(z.values())  # a candidate this retriever did not return scores as its worst
            for v in fused:
                fused[v] += weight * z.get(v, floor)
    dense_rank = {v: rank for rank, (v, _) in enumerate(dense, start=1)}
    order = sorted(fused, key=lambda v: (-fused[v], dense_rank.get(v, 10**9), v))
    return [(v, fused[v]) for v in order]


def _passages(chunks: ChunkStore, fused: Sequence[Scored], dense: Sequence[Scored], keyword: Sequence[Scored]) -> list[Passage]:
    """Passages for the fused candidates given (their chunks are read here, and only theirs)."""
    by_dense = {v: (rank, s) for rank, (v, s) in enumerate(dense, start=1)}
    by_keyword = {v: (rank, s) for rank, (v, s) in enumerate(keyword, start=1)}
    out = []
    for hit in _hits(chunks, fused):
        d, k = by_dense.get(hit.chunk.vector_id), by_keyword.get(hit.chunk.vector_id)
        out.append(
            Passage(
                hit.chunk,
                hit.score,
                hit.rank,
                dense_score=d[1] if d is not None else None,
                dense_rank=d[0] if d is not None else None,
                keyword_score=k[1] if k is not None else None,
                keyword_rank=k[0] if k is not None else None,
            )
        )
    return out


class HybridRetriever:
    """A dense and a keyword retriever, their candidate lists fused per :class:`FusionConfig`.

    ``HybridRetriever(dense, keyword, fusion)`` fuses what its two parts return;
    :meth:`over` builds both parts over one index view (what the service does).
    """

    def __init__(self, dense: DenseRetriever, keyword: KeywordRetriever, config: FusionConfig | None = None) -> None:
        self.dense = dense
        self.keyword = keyword
        self.config = config or FusionConfig()

    @classmethod
    def over(cls, index: DenseIndex, embedder: Embedder, config: FusionConfig | None = None, *, keyword: SparseIndex | None = None) -> HybridRetriever:
        """Dense and keyword retrieval over ``index`` (an :class:`~rag.protocols.IndexView` is
        both; ``keyword`` gives the keyword side its own index)."""
        sparse = keyword if keyword is not None else index
        if not isinstance(sparse, SparseIndex):
            raise TypeError("HybridRetriever.over needs an index with keyword search (or keyword=...)")
        return cls(DenseRetriever(index, embedder), KeywordRetriever(sparse), config)

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]:
        _check_top_k(top_k)
        k = max(top_k, self.config.candidates)
        allowed = _allowed(self.keyword.index, sources)  # the sources' chunk ids, looked up once for both sides
        dense = self.dense.scores(query, k, allowed) if self.config.dense_weight > 0 else []
        keyword = self.keyword.scores(query, k, allowed) if self.config.keyword_weight > 0 else []
        fused = fused_scores(dense, keyword, self.config)
        return _passages(self.keyword.index, fused[:top_k], dense, keyword)
