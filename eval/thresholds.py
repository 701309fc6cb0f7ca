"""Quality gates: ``--fail-under faithfulness=0.9,ndcg@10=0.95`` parsed and checked against a summary.

Every threshold is a fraction in [0, 1], like the metric values themselves; a metric that could
not be computed (NaN) fails its gate, and the result says so rather than comparing NaN.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from rag.errors import ThresholdError

__all__ = ["ThresholdError", "ThresholdResult", "check_thresholds", "parse_fail_under"]


@dataclass(frozen=True)
class ThresholdResult:
    """One gate: the metric, the minimum it needed, the value it had (maybe NaN) and the verdict.

    ``reason`` states why a failing gate failed.
    """

    metric: str
    minimum: float
    value: float
    passed: bool
    reason: str | None = None


def _as_fraction(percent: float) -> str:
    fraction = percent / 100.0
    return f"{fraction:.2f}" if round(fraction, 2) == fraction else f"{fraction:g}"


def _known_list(known: Collection[str]) -> str:
    return ", ".join(sorted(known)) or "(none)"


def parse_fail_under(text: str, known: Collection[str]) -> dict[str, float]:
    """Parse ``"metric=minimum,metric=minimum"`` into a dict, whitespace tolerated.

    Each minimum must be a fraction in [0, 1] (``90`` is refused with a hint to write 0.90),
    each metric one of ``known``, each named once. Raises ``ThresholdError`` with a one-line
    message naming the offending part.
    """
    thresholds: dict[str, float] = {}
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise ThresholdError("--fail-under is empty: expected metric=minimum pairs, e.g. faithfulness=0.9,ndcg@10=0.95")
    for part in parts:
        if not part:
            continue  # a trailing or doubled comma
        name, sep, raw = part.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            raise ThresholdError(f"--fail-under: {part!r} is not metric=minimum (e.g. faithfulness=0.9)")
        if name not in known:
            raise ThresholdError(f"--fail-under: unknown metric {name!r}; known metrics: {_known_list(known)}")
        try:
            minimum = float(raw)
        except ValueError:
            raise ThresholdError(f"--fail-under: {name}={raw!r} is not a number") from None
        if math.isnan(minimum) or not 0.0 <= minimum <= 1.0:
            hint = f"; write it as a fraction, e.g. {_as_fraction(minimum)}" if 1.0 < minimum <= 100.0 else ""
            raise ThresholdError(f"--fail-under: {name}={raw} is not a fraction between 0 and 1{hint}")
        if name in thresholds:
            raise ThresholdError(f"--fail-under: {name} is given twice")
        thresholds[name] = minimum
    return thresholds


def check_thresholds(summary: Mapping[str, float], thresholds: Mapping[str, float]) -> list[ThresholdResult]:
    """Check each threshold against the summary value of its metric, in the thresholds' order.

    A gate passes when ``value >= minimum``. A NaN value fails ("could not be computed"); a
    metric missing from the summary fails too ("not in the results"), its value NaN.
    """
    results: list[ThresholdResult] = []
    for metric, minimum in thresholds.items():
        if metric not in summary:
            results.append(ThresholdResult(metric, minimum, math.nan, False, "not in the results"))
            continue
        value = float(summary[metric])
        if math.isnan(value):
            results.append(ThresholdResult(metric, minimum, value, False, "the value is NaN: could not be computed"))
        elif value >= minimum:
            results.append(ThresholdResult(metric, minimum, value, True))
        else:
            results.append(ThresholdResult(metric, minimum, value, False, f"{value:.4f} < {minimum:.4f}"))
    return results
