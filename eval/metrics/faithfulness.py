"""Faithfulness: the share of an answer's statements that the retrieved passages support.

The judging is the core's (:mod:`rag.checking`): the same checker the LLM generator runs on
every sentence before release. This module turns its result into a :class:`MetricResult`, with
every statement, its verdict, score and reason in ``steps``. An abstention has no statements:
NaN with the reason "abstained" (the abstention metric scores it instead).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from eval.metrics import MetricResult, nan
from rag.checking import FaithfulnessChecker, FaithfulnessResult, StatementVerdict

__all__ = ["faithfulness", "verdict_dict"]


def verdict_dict(verdict: StatementVerdict) -> dict[str, object]:
    """A statement's verdict as plain data (what reports show): :meth:`rag.domain.StatementVerdict.to_dict`."""
    return verdict.to_dict()


def faithfulness(
    checker: FaithfulnessChecker, answer: str, passages: Sequence[str], question: str | None = None, *, abstained: bool = False
) -> tuple[MetricResult, FaithfulnessResult]:
    """Supported statements / statements, judged against ``passages`` (what the generator was given)."""
    result = checker.check(answer, passages, question, abstained=abstained)
    steps = {"judge": result.judge, "statements": [verdict_dict(v) for v in result.verdicts]}
    if math.isnan(result.score):
        return nan("faithfulness", result.reason or "nothing to score", **steps), result
    return MetricResult("faithfulness", result.score, None, steps), result
