"""The offline judge's fitted verdict: a logistic :class:`SupportPolicy` over the support
features of :class:`rag.domain.SupportEvidence` (:data:`FEATURES`, in that order)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.domain import SupportEvidence
from rag.numeric import logistic

__all__ = ["DEFAULT_SUPPORT_POLICY", "FEATURES", "SIMILARITY_SUPPORT_POLICY", "SupportPolicy", "contradicted_score"]


FEATURES = ("coverage", "novel_coverage", "sentence_coverage", "missing_numbers", "missing_entities", "similarity", "pair_coverage")


@dataclass(frozen=True, slots=True)
class SupportPolicy:
    """Logistic weights over :data:`FEATURES` (with and without an embedder) and the verdict threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"a support policy needs {len(FEATURES)} weights, got {len(self.weights)}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {self.threshold}")

    def score(self, evidence: SupportEvidence) -> float:
        return logistic(float(np.dot(np.asarray(self.weights), evidence.vector())) + self.bias, limit=30.0)


def contradicted_score(score: float, threshold: float) -> float:
    """A statement that contradicts its window (rag.checking.cues) keeps half its score, and stays
    below the threshold whatever its coverage."""
    return max(0.0, min(0.5 * score, threshold - 1e-3))


# Fitted by benchmarks/checker.py --per-set 300 on its tuning split (fact-swapped CMRC2018 trial
# and XQuAD en sentences, HaluEval QA rows 0-4,999, the even-article half of the hand-written
# paraphrases), each feature's weight kept on the side it can only push; reported on the rest
# (BENCHMARKS.md, "Faithfulness checker"). The default judge needs no model.
DEFAULT_SUPPORT_POLICY = SupportPolicy(weights=(0.059, 0.0, 1.432, -4.967, -1.042, 0.0, 2.839), bias=-2.764, threshold=0.811)
# The same fit with the embedder's similarity as a feature (a judge given an embedder uses it):
# no better on the reporting split.
SIMILARITY_SUPPORT_POLICY = SupportPolicy(weights=(0.0, 0.0, 1.435, -4.981, -1.056, 1.09, 2.811), bias=-3.715, threshold=0.795)
