"""Abstention: refusing when the documents do not answer, answering when they do.

Every row is scored, none is NaN: on an unanswerable row (``answerable: false``) a refusal is
correct (1) and an answer is wrong (0); on an answerable row an answer is correct and a refusal
wrong. So a correct "I don't know" is rewarded, and the report splits the figure in two:
``abstain_on_unanswerable`` (NaN when the dataset has no unanswerable rows) and
``answer_on_answerable``.
"""

from __future__ import annotations

from eval.metrics import MetricResult, nan

__all__ = ["abstention_scores"]


def abstention_scores(answerable: bool, abstained: bool) -> dict[str, MetricResult]:
    """``abstention_accuracy`` for every row, plus the side of the split the row belongs to."""
    correct = abstained != answerable
    steps = {"answerable": answerable, "abstained": abstained}
    out = {"abstention_accuracy": MetricResult("abstention_accuracy", float(correct), None, steps)}
    if answerable:
        out["answer_on_answerable"] = MetricResult("answer_on_answerable", float(not abstained), None, steps)
        out["abstain_on_unanswerable"] = nan("abstain_on_unanswerable", "answerable question", **steps)
    else:
        out["abstain_on_unanswerable"] = MetricResult("abstain_on_unanswerable", float(abstained), None, steps)
        out["answer_on_answerable"] = nan("answer_on_answerable", "unanswerable question", **steps)
    return out
