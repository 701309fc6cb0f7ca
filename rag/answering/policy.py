"""When the extractive answerer abstains: the evidence it decides on and the fitted logistic policy.

The weights are fitted on calibration questions kept apart from the test questions
(``benchmarks/calibrate_abstention.py``) and live in :data:`DEFAULT_POLICY`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.domain import Answer, AnswerSentence, Passage
from rag.numeric import logistic
from rag.text.language import abstain_message

__all__ = ["DEFAULT_POLICY", "FEATURES", "AbstentionPolicy", "Evidence", "abstention"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What abstention is decided on, for one question (all features in [0, 1] or small reals)."""

    coverage: float  # rarity-weighted share of the question's countable terms found in the chosen sentences + heading
    passage_coverage: float  # the same, in the whole best passage
    unseen: float  # rarity-weighted share of countable terms the index has never seen
    type_missing: float  # 1 when the question asks for a number/year/duration and the chosen sentences have none
    dense: float  # cosine of the question and the best sentence
    dense_margin: float  # how far the best sentence stands out: (best - mean) / std over candidates
    cross_lingual: float  # 1 when the question's language differs from the evidence's
    countable: float  # how many question terms could be checked (0 when none: cross-lingual questions)

    def vector(self) -> np.ndarray:
        return np.asarray(
            [self.coverage, self.passage_coverage, self.unseen, self.type_missing, self.dense, self.dense_margin,
             self.cross_lingual, min(self.countable, 5.0) / 5.0],
            dtype=np.float64,
        )


FEATURES = ("coverage", "passage_coverage", "unseen", "type_missing", "dense", "dense_margin", "cross_lingual", "countable")


@dataclass(frozen=True, slots=True)
class AbstentionPolicy:
    """A logistic model over :class:`Evidence`: answer when P(supported) >= threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    fitted_on: str = ""

    def support(self, evidence: Evidence) -> float:
        return logistic(float(np.dot(self.weights, evidence.vector()) + self.bias))


# Fitted by benchmarks/calibrate_abstention.py (--per-source 25, seed 7) on 140 calibration
# questions, none of them a test question: cross-validated balanced accuracy 93.0%.
DEFAULT_POLICY = AbstentionPolicy(
    # coverage, passage_coverage, unseen, type_missing, dense, dense_margin, cross_lingual, countable
    weights=(3.982, 5.266, -2.086, -2.435, 0.586, 1.446, 0.275, 0.183),
    bias=-5.153,
    threshold=0.44,
    fitted_on="benchmarks/calibrate_abstention.py: 140 calibration questions, seed 7",
)


def abstention(
    question: str,
    language: str,
    generator: str,
    reason: str,
    *,
    support: float = 0.0,
    passages: Sequence[Passage] = (),
    sentences: Sequence[AnswerSentence] = (),
    notes: Sequence[str] = (),
) -> Answer:
    """The one way an abstained :class:`Answer` is made: the "the documents don't say" message in
    the question's ``language``, no citations, and why (``reason``)."""
    return Answer(
        question=question,
        text=abstain_message(language),
        abstained=True,
        citations=(),
        language=language,
        generator=generator,
        support=round(support, 4),
        reason=reason,
        passages=tuple(passages),
        sentences=tuple(sentences),
        notes=tuple(notes),
    )
