"""Metrics for the evaluation harness, one module per family, all returning ``MetricResult``.

- ``eval.metrics.correctness``: exact match, token F1 (SQuAD v1.1 or CMRC2018 style, chosen per
  reference) and answer containment.
- ``eval.metrics.retrieval``: hit@k, MRR and nDCG@k over a ranked relevance list, and how that
  list is built from retrieved chunks.

A metric scores one sample. When a sample cannot be scored (no reference answers, no gold
passages, the system abstained) the value is NaN and ``reason`` says why, instead of a made-up
number; ``steps`` always shows the work, so a surprising figure can be traced by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MetricResult", "nan"]


@dataclass(frozen=True)
class MetricResult:
    """One metric on one sample.

    ``value`` is a float in [0, 1], or ``math.nan`` when the sample cannot be scored; ``reason``
    is set exactly when ``value`` is NaN. ``steps`` holds the intermediate results (normalised
    tokens, the best-matching reference, the relevance list...), plain JSON-friendly data.
    """

    name: str
    value: float
    reason: str | None = None
    steps: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if math.isnan(self.value):
            if not self.reason:
                raise ValueError(f"{self.name}: a NaN value needs a reason")
        else:
            if self.reason is not None:
                raise ValueError(f"{self.name}: reason {self.reason!r} given for a non-NaN value {self.value}")
            if not 0.0 <= self.value <= 1.0:
                raise ValueError(f"{self.name}: value {self.value} is outside [0, 1]")

    @property
    def is_nan(self) -> bool:
        """True when the sample could not be scored (see ``reason``)."""
        return math.isnan(self.value)


def nan(name: str, reason: str, **steps: Any) -> MetricResult:
    """A NaN result for a sample that cannot be scored, with the reason and whatever steps were taken."""
    return MetricResult(name, math.nan, reason, dict(steps))
