"""What the model judges share: the passage windows a statement is scored against, and the
verdicts made from the best window's score (rag.checking.nli, rag.checking.learned)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rag.checking.judges import _holds, _lexicon, _statement_terms, _windows
from rag.domain import Statement, StatementVerdict, SupportEvidence

__all__ = ["Window", "best_verdicts", "ranked_windows", "trivial_verdicts"]

Window = tuple[int, int, int, bool]  # passage index, start, end, a single sentence


def ranked_windows(statement: str, passages: Sequence[str], question: str | None) -> list[Window]:
    """Every window of one or two sentences, those holding most of the statement's terms first
    (shorter first among equals)."""
    terms = _statement_terms(statement, question or "")
    ranked: list[tuple[float, int, int, int, bool]] = []
    for index, passage in enumerate(passages):
        windows = _windows(passage)
        singles = len(windows) // 2 + 1  # _windows lists the single sentences first
        for position, (start, end) in enumerate(windows):
            lexicon = _lexicon(passage[start:end])
            share = sum(_holds(lexicon, t) for t in terms) / len(terms) if terms else 0.0
            ranked.append((-share, end - start, index, start, position < singles))
    ranked.sort()
    return [(index, start, start + length, single) for _, length, index, start, single in ranked]


def trivial_verdicts(statements: Sequence[str], passages: Sequence[str]) -> list[StatementVerdict] | None:
    """What a model judge answers without its model: nothing for no statements, unsupported for
    no passages; None when there is something to judge."""
    if not statements:
        return []
    if not passages:
        return [StatementVerdict(Statement(s, 0, len(s)), False, 0.0, "no passage to check against") for s in statements]
    return None


def best_verdicts(
    statements: Sequence[str], owners: Sequence[tuple[int, int, int, int]], scores: Sequence[float], threshold: float, what: str
) -> list[StatementVerdict]:
    """One verdict per statement from the best-scoring of its windows (``owners``: statement,
    passage, start, end per score); ``what`` names the score in the reason."""
    best: dict[int, tuple[float, int, int, int]] = {}
    for (n, index, start, end), score in zip(owners, scores):
        if n not in best or score > best[n][0]:
            best[n] = (score, index, start, end)
    verdicts = []
    for n, statement in enumerate(statements):
        score, index, start, end = best.get(n, (0.0, 0, 0, 0))
        supported = score >= threshold
        where = f"passage [{index + 1}] chars {start}-{end}"
        reason = f"supported by {where} ({what} {score:.2f})" if supported else f"not supported: best match {where} ({what} {score:.2f})"
        evidence = SupportEvidence(index, start, end, math.nan, math.nan, math.nan, math.nan, math.nan)
        verdicts.append(StatementVerdict(Statement(statement, 0, len(statement)), supported, float(score), reason, evidence))
    return verdicts
