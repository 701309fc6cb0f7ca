"""The logistic regression the calibration scripts fit (numpy, L2, gradient descent).

Shared by benchmarks/calibrate_abstention.py (the extractive answerer's abstention policy) and
benchmarks/checker.py (the faithfulness checker's support policy).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit"]


def fit(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None = None,
    l2: float = 0.1,
    steps: int = 4000,
    rate: float = 0.5,
    signs: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Weights and bias of a logistic regression in which every group and, within it, each label
    weighs the same (one group when ``groups`` is None: plain class balance). ``signs`` (+1, -1
    or 0 per feature) keeps each weight on the side where its feature can only help, hurt, or
    either: correlated features then cannot cancel out into weights no one could explain."""
    groups = np.zeros(len(y), dtype=int) if groups is None else groups
    balance = np.zeros(len(y))
    names = np.unique(groups)
    for name in names:
        for label in (0, 1):
            mask = (groups == name) & (y == label)
            balance[mask] = 1.0 / (2 * len(names) * max(1, mask.sum()))
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * balance
        w -= rate * (x.T @ g + l2 * w / len(y))
        b -= rate * g.sum()
        if signs is not None:
            w = np.where(signs > 0, np.maximum(w, 0.0), np.where(signs < 0, np.minimum(w, 0.0), w))
    return w, b
