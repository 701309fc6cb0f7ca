"""Retrieval quality: hit@k, MRR and nDCG@k over a ranked list of relevance judgements.

The metrics take ``relevant`` (the retrieved list in rank order, True where the item is gold)
and ``n_gold`` (how many gold items exist for the question). A question with no gold items (an
unanswerable row) cannot be scored: NaN "no gold passages".

``relevance_of`` builds ``relevant`` from retrieved ``(source_name, chunk_text)`` pairs. A long
gold document is cut into several chunks, and each of them counts as relevant; the gold items
are then the distinct gold sources, so ``n_gold`` is their number and the ranking should be at
the source level too, or one source found three times would count three times. That is what
``dedupe_by_source`` is for: the runner keeps the first (best-ranked) chunk of each source before
judging relevance, as ``benchmarks/retrieval.py`` does for XQuAD and CMRC2018, where a passage
counts at the best rank any of its chunks reached. If the list still holds more relevant items
than ``n_gold``, nDCG is capped at 1.0 and its steps say so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from eval.metrics import MetricResult, nan

__all__ = [
    "context_overlaps",
    "dedupe_by_source",
    "hit_at_k",
    "mrr",
    "ndcg_at_k",
    "relevance_of",
    "source_basename",
]

NO_GOLD = "no gold passages"
MIN_OVERLAP = 0.5  # the longest common substring must cover this share of the shorter text


def _check(name: str, relevant: Sequence[bool], n_gold: int, k: int | None = None) -> None:
    if n_gold < 0:
        raise ValueError(f"{name}: n_gold must be >= 0, got {n_gold}")
    if k is not None and k <= 0:
        raise ValueError(f"{name}: k must be > 0, got {k}")
    if isinstance(relevant, str):
        raise TypeError(f"{name}: relevant must be a sequence of booleans, not a string")


def _first_rank(relevant: Sequence[bool]) -> int | None:
    return next((rank for rank, rel in enumerate(relevant, start=1) if rel), None)


def _base_steps(relevant: Sequence[bool], n_gold: int) -> dict[str, Any]:
    return {"relevant": [bool(r) for r in relevant], "n_gold": n_gold, "first_relevant_rank": _first_rank(relevant)}


def hit_at_k(relevant: Sequence[bool], n_gold: int, k: int) -> MetricResult:
    """1.0 when a gold item is among the first ``k`` retrieved, else 0.0; NaN "no gold passages" when ``n_gold`` is 0."""
    name = f"hit@{k}"
    _check(name, relevant, n_gold, k)
    steps = _base_steps(relevant, n_gold) | {"k": k}
    if n_gold == 0:
        return nan(name, NO_GOLD, **steps)
    first = steps["first_relevant_rank"]
    return MetricResult(name, 1.0 if first is not None and first <= k else 0.0, None, steps)


def mrr(relevant: Sequence[bool], n_gold: int) -> MetricResult:
    """Reciprocal rank of the first gold item (0.0 when none was retrieved); NaN "no gold passages" when ``n_gold`` is 0.

    Averaged over questions this is the mean reciprocal rank. The whole list counts: cut it to
    the depth you want before calling.
    """
    name = "mrr"
    _check(name, relevant, n_gold)
    steps = _base_steps(relevant, n_gold)
    if n_gold == 0:
        return nan(name, NO_GOLD, **steps)
    first = steps["first_relevant_rank"]
    return MetricResult(name, 0.0 if first is None else 1.0 / first, None, steps)


def ndcg_at_k(relevant: Sequence[bool], n_gold: int, k: int = 10) -> MetricResult:
    """Normalised discounted cumulative gain of the first ``k`` items, binary gains.

    DCG = sum of 1 / log2(rank + 1) over the relevant ranks <= k; the ideal DCG puts
    min(n_gold, k) relevant items first. nDCG = DCG / ideal DCG, capped at 1.0 (steps say
    ``capped``) when the list holds more relevant items than ``n_gold``, which happens with
    several chunks of one gold source: see ``dedupe_by_source``. NaN "no gold passages" when
    ``n_gold`` is 0. ``steps`` list each gain, the DCG and the ideal DCG.
    """
    name = f"ndcg@{k}"
    _check(name, relevant, n_gold, k)
    steps = _base_steps(relevant, n_gold) | {"k": k}
    if n_gold == 0:
        return nan(name, NO_GOLD, **steps)
    gains = [
        {"rank": rank, "gain": 1.0 / math.log2(rank + 1)}
        for rank, rel in enumerate(relevant[:k], start=1)
        if rel
    ]
    dcg = sum(g["gain"] for g in gains)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_gold, k) + 1))
    value = dcg / ideal
    capped = value > 1.0
    steps |= {"gains": gains, "dcg": dcg, "ideal_dcg": ideal, "capped": capped}
    return MetricResult(name, min(value, 1.0), None, steps)


def source_basename(source: str) -> str:
    """The file name at the end of a path, with either kind of separator: ``a/b\\c.txt`` -> ``c.txt``."""
    return re.split(r"[\\/]", source.rstrip("\\/"))[-1]


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _has_common_substring(a: str, b: str, length: int) -> bool:
    # A common substring of at least ``length`` exists iff one of exactly ``length`` does:
    # hash the windows of the shorter string, look the windows of the longer one up.
    if len(a) > len(b):
        a, b = b, a
    windows = {a[i : i + length] for i in range(len(a) - length + 1)}
    return any(b[j : j + length] in windows for j in range(len(b) - length + 1))


def context_overlaps(chunk: str, context: str, min_overlap: float = MIN_OVERLAP) -> bool:
    """Whether a chunk and a gold context substantially overlap, whitespace ignored.

    True when one contains the other, or when their longest common substring covers at least
    ``min_overlap`` of the shorter one (a chunk cut across the context's boundary). Empty text
    overlaps nothing. Exact and fast: hashing the fixed-length windows of the shorter text takes
    a few milliseconds for a 2 KB x 2 KB pair, where a full longest-substring search need not stop
    at the threshold.
    """
    a, b = _squeeze(chunk), _squeeze(context)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    need = max(1, math.ceil(min_overlap * min(len(a), len(b))))
    return _has_common_substring(a, b, need)


def relevance_of(
    retrieved: Sequence[tuple[str, str]],
    reference_sources: Sequence[str],
    reference_contexts: Sequence[str],
) -> list[bool]:
    """Judge each retrieved ``(source_name, chunk_text)``: True where it is gold.

    With ``reference_sources``, an item is gold when its file name (the basename of its path)
    is the file name of a reference source. Without them, it is gold when its chunk text
    overlaps a reference context (``context_overlaps``). Every chunk of a gold source counts:
    use ``dedupe_by_source`` first for a source-level ranking.
    """
    if reference_sources:
        gold = {source_basename(s) for s in reference_sources}
        return [source_basename(source) in gold for source, _ in retrieved]
    return [any(context_overlaps(text, context) for context in reference_contexts) for _, text in retrieved]


def dedupe_by_source(retrieved: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Keep the first (best-ranked) chunk of each source, in rank order.

    The ranking becomes one of sources, each at the best rank of its chunks, matching ``n_gold``
    = the number of distinct gold sources. The runner does this before ``relevance_of``, as
    ``benchmarks/retrieval.py`` does for XQuAD. It suits gold given by source; with gold given by
    context (no reference sources) a source's later chunk may be the one that overlaps, so
    judge the chunks without deduplicating there.
    """
    seen: set[str] = set()
    kept: list[tuple[str, str]] = []
    for source, text in retrieved:
        if source not in seen:
            seen.add(source)
            kept.append((source, text))
    return kept
