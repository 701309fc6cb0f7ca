"""Aggregate statistics against hand-computed values."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from eval.stats import (
    auroc,
    balanced_accuracy,
    best_threshold,
    bootstrap_ci,
    mean_ignoring_nan,
    percentile,
)

NAN = math.nan


def test_mean_ignoring_nan() -> None:
    assert mean_ignoring_nan([1.0, NAN, 0.0, 0.5]) == (0.5, 1)
    mean, missing = mean_ignoring_nan([NAN, NAN])
    assert math.isnan(mean) and missing == 2
    mean, missing = mean_ignoring_nan([])
    assert math.isnan(mean) and missing == 0


def test_bootstrap_needs_two_values() -> None:
    assert bootstrap_ci([]) is None
    assert bootstrap_ci([0.7]) is None
    assert bootstrap_ci([0.7, NAN, NAN]) is None


def test_bootstrap_constant_values_have_no_spread() -> None:
    assert bootstrap_ci([0.5] * 10) == (0.5, 0.5)


def test_bootstrap_two_values_span_both() -> None:
    # resample means of [0, 1] are 0, 0.5, 1 with chances 1/4, 1/2, 1/4: the 2.5% and 97.5% points are 0 and 1
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)


def test_bootstrap_matches_the_normal_approximation() -> None:
    # 400 coin flips, mean 0.5: standard error sqrt(0.25 / 400) = 0.025, 95% CI ~ 0.5 -+ 0.049
    values = [0.0, 1.0] * 200
    low, high = bootstrap_ci(values, n_resamples=2000)  # type: ignore[misc]
    assert low == pytest.approx(0.451, abs=0.012) and high == pytest.approx(0.549, abs=0.012)
    narrower = bootstrap_ci(values, n_resamples=2000, confidence=0.5)
    assert narrower is not None and low < narrower[0] < narrower[1] < high


def test_bootstrap_ignores_nan_and_is_reproducible() -> None:
    values = [0.1, 0.9, 0.4, 0.6, 0.3]
    assert bootstrap_ci(values + [NAN, NAN]) == bootstrap_ci(values)
    assert bootstrap_ci(values, seed=1) == bootstrap_ci(values, seed=1)
    assert bootstrap_ci(values, seed=1) != bootstrap_ci(values, seed=2)


def test_bootstrap_is_vectorised() -> None:
    values = np.random.default_rng(0).random(5000).tolist()
    start = time.process_time()  # CPU time: not inflated by other processes on the machine
    interval = bootstrap_ci(values, n_resamples=1000)
    assert time.process_time() - start < 1.0
    assert interval is not None and interval[0] < float(np.mean(values)) < interval[1]


def test_bootstrap_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([0.0, 1.0], confidence=95)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([0.0, 1.0], n_resamples=0)


def test_auroc_hand_computed() -> None:
    # positives 0.35, 0.8; negatives 0.1, 0.4: pairs won 0.35>0.1, 0.8>0.1, 0.8>0.4; lost 0.35<0.4 -> 3/4
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    assert auroc([0.1, 0.9], [False, True]) == 1.0
    assert auroc([0.9, 0.1], [False, True]) == 0.0


def test_auroc_ties_count_half() -> None:
    # positives 0.5, 0.9; negatives 0.5, 0.5: 0.5 ties both (1/2 + 1/2), 0.9 wins both -> 3 of 4
    assert auroc([0.5, 0.5, 0.5, 0.9], [True, False, False, True]) == 0.75
    assert auroc([0.3] * 4, [True, False, True, False]) == 0.5


def test_auroc_needs_both_classes() -> None:
    assert math.isnan(auroc([0.1, 0.2], [True, True]))
    with pytest.raises(ValueError, match="2 scores but 1 labels"):
        auroc([0.1, 0.2], [True])


def test_balanced_accuracy_hand_computed() -> None:
    # positives (0, 4) both predicted: TPR 1; negatives (1, 2, 3): 2 of 3 right: TNR 2/3 -> 5/6
    assert balanced_accuracy([True, True, False, False, True], [True, False, False, False, True]) == pytest.approx(5 / 6)
    assert balanced_accuracy([True, False], [True, True]) == 0.5  # one class: its recall
    assert math.isnan(balanced_accuracy([], []))


def test_best_threshold_maximises_balanced_accuracy() -> None:
    scores = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7]
    labels = [False, False, True, False, True, True]
    # t = 0.1: 1/2; 0.2: (1 + 1/3)/2; 0.3: (1 + 2/3)/2 = 5/6; 0.4: 2/3; 0.6: (2/3 + 1)/2 = 5/6; 0.7: 2/3
    # 0.3 and 0.6 tie at 5/6: the smaller wins
    threshold = best_threshold(scores, labels)
    assert threshold == 0.3
    assert balanced_accuracy([s >= threshold for s in scores], labels) == pytest.approx(5 / 6)
    assert best_threshold([0.9, 0.2, 0.8, 0.1], [True, False, True, False]) == 0.8


def test_best_threshold_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        best_threshold([0.1, 0.2], [False, False])


def test_percentile_interpolates_like_numpy() -> None:
    values = [120.0, 35.2, 80.4, 28.9, 19.0, 41.7]
    for q in (0.0, 0.25, 0.5, 0.95, 1.0):
        assert percentile(values, q) == pytest.approx(float(np.quantile(values, q)))
    assert percentile([7.0], 0.95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 0.5)
