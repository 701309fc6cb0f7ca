"""Aggregate statistics for evaluation results: means that skip NaN, bootstrap confidence
intervals, and the figures for judging a score as a classifier (AUROC, balanced accuracy, the
best threshold).

NaN is a per-sample "could not be scored" (see ``eval.metrics.MetricResult``): means and
intervals leave those samples out and report how many there were, never count them as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["auroc", "balanced_accuracy", "best_threshold", "bootstrap_ci", "mean_ignoring_nan", "percentile"]

_BOOTSTRAP_BLOCK = 200  # resamples drawn at once: bounds memory at 200 x n indices


def _floats(values: Sequence[float]) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _paired(scores: Sequence[float], labels: Sequence[bool], what: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    s = _floats(scores)
    y = np.asarray(labels, dtype=bool).reshape(-1)
    if len(s) != len(y):
        raise ValueError(f"{what}: {len(s)} scores but {len(y)} labels")
    if np.isnan(s).any():
        raise ValueError(f"{what}: scores contain NaN; drop the unscored samples first")
    return s, y


def mean_ignoring_nan(values: Sequence[float]) -> tuple[float, int]:
    """The mean of the non-NaN values and how many NaN values were left out.

    The mean is NaN when no value is left (all NaN, or none given).
    """
    x = _floats(values)
    missing = np.isnan(x)
    kept = x[~missing]
    mean = float(kept.mean()) if kept.size else math.nan
    return mean, int(missing.sum())


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, interpolating linearly between the two nearest ranks.

    The same as ``numpy.quantile``'s default ("linear") method, in plain Python floats. ``values``
    must not be empty.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bootstrap_ci(
    values: Sequence[float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap confidence interval of the mean, NaN values left out.

    Draws ``n_resamples`` samples of the same size with replacement (numpy's ``default_rng(seed)``,
    so the interval is reproducible), takes each mean, and returns the ``(1 - confidence) / 2``
    and ``(1 + confidence) / 2`` quantiles of those means. None when fewer than 2 values are not
    NaN, since one value says nothing about spread.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    x = _floats(values)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, _BOOTSTRAP_BLOCK):
        stop = min(start + _BOOTSTRAP_BLOCK, n_resamples)
        means[start:stop] = x[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance a random positive scores above a random negative.

    Computed as the Mann-Whitney U statistic over (positives x negatives), a tie counting half:
    U = (sum of the positives' ranks - n_pos (n_pos + 1) / 2), ranks averaged over ties, and
    AUROC = U / (n_pos n_neg). NaN when either class is missing, since it is then undefined.
    """
    s, y = _paired(scores, labels, "auroc")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    # the average 1-based rank of each distinct score: the ranks before it, plus the middle of its own
    average_rank = np.cumsum(counts) - counts + (counts + 1) / 2.0
    rank_sum = float(average_rank[inverse][y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def balanced_accuracy(predictions: Sequence[bool], labels: Sequence[bool]) -> float:
    """The mean of the recall on positives (TPR) and the recall on negatives (TNR).

    When the labels hold only one class, the recall of that class alone (as scikit-learn does);
    NaN when there are no labels.
    """
    p = np.asarray(predictions, dtype=bool).reshape(-1)
    y = np.asarray(labels, dtype=bool).reshape(-1)
    if len(p) != len(y):
        raise ValueError(f"balanced_accuracy: {len(p)} predictions but {len(y)} labels")
    recalls = [float((p[y == cls] == cls).mean()) for cls in (True, False) if (y == cls).any()]
    return sum(recalls) / len(recalls) if recalls else math.nan


def best_threshold(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The threshold that maximises balanced accuracy when predicting ``score >= threshold``.

    Every distinct score is tried (each gives a different split); on a tie the smallest wins.
    Both classes must be present, otherwise any threshold is as good as another.
    """
    s, y = _paired(scores, labels, "best_threshold")
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    if pos.size == 0 or neg.size == 0:
        raise ValueError("best_threshold needs both positive and negative labels")
    candidates = np.unique(s)
    tpr = (pos.size - np.searchsorted(pos, candidates, side="left")) / pos.size  # positives >= t
    tnr = np.searchsorted(neg, candidates, side="left") / neg.size  # negatives < t
    return float(candidates[int(np.argmax((tpr + tnr) / 2.0))])
