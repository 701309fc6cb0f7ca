"""The keyword index of one version: bm25s (JSON + .npy, loaded with ``allow_pickle=False``), and
the corpus statistics it knows (document frequency, vocabulary)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.format import build_bm25, keyword_query_tokens
from rag.protocols import Scored

__all__ = ["Bm25KeywordIndex"]


class Bm25KeywordIndex:
    """BM25 over the chunks' keyword tokens, keyed by chunk id."""

    def __init__(self, bm25: Any, ids: np.ndarray) -> None:
        self._bm25 = bm25
        self._ids = ids

    @classmethod
    def load(cls, folder: Path, ids_file: Path) -> Bm25KeywordIndex:
        """The index a version stored (an empty one when the version has no chunks)."""
        if not folder.is_dir():
            return cls(None, np.empty(0, dtype=np.int64))
        import bm25s

        return cls(bm25s.BM25.load(str(folder), allow_pickle=False), np.load(ids_file, allow_pickle=False))

    @classmethod
    def build(cls, rows: Sequence[tuple[int, str]]) -> Bm25KeywordIndex:
        """An index built from ``(chunk id, text)`` rows (a version written with other tokenisation rules)."""
        if not rows:
            return cls(None, np.empty(0, dtype=np.int64))
        return cls(build_bm25([text for _, text in rows]), np.asarray([v for v, _ in rows], dtype=np.int64))

    def ids(self) -> set[int]:
        """Every chunk id the index covers (for verification)."""
        return set(self._ids.tolist())

    @property
    def ascii_vocab_share(self) -> float:
        """The share of keyword-index terms written in ASCII (English and numbers vs. Chinese)."""
        if self._bm25 is None or not self._bm25.vocab_dict:
            return 0.0
        vocab = [t for t in self._bm25.vocab_dict if t]
        return sum(1 for t in vocab if t.isascii()) / max(1, len(vocab))

    def document_frequency(self, token: str) -> int:
        """In how many chunks a keyword token (see :func:`rag.text.tokenize.keyword_tokens`) occurs."""
        if self._bm25 is None:
            return 0
        token_id = self._bm25.vocab_dict.get(token)
        if token_id is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[token_id + 1] - indptr[token_id])

    def keyword_scores(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """``(chunk id, BM25 score)`` of the best-matching chunks (score > 0), best first;
        ``allowed`` restricts the search to those ids."""
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
            scores = np.where(np.isin(self._ids, allowed), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._ids[row]), float(scores[row])) for row in top if scores[row] > 0]
