"""--fail-under parsing and checking."""

from __future__ import annotations

import math

import pytest

from eval.thresholds import (
    ThresholdError,
    ThresholdResult,
    check_thresholds,
    parse_fail_under,
)
from rag.errors import RAGError

KNOWN = ["faithfulness", "ndcg@10", "f1", "answer_contains"]


def test_parse_pairs_with_whitespace() -> None:
    assert parse_fail_under(" faithfulness = 0.9 ,ndcg@10=0.95, ", KNOWN) == {"faithfulness": 0.9, "ndcg@10": 0.95}
    assert parse_fail_under("f1=0,answer_contains=1", KNOWN) == {"f1": 0.0, "answer_contains": 1.0}


def test_a_percentage_is_refused_with_the_fraction_suggested() -> None:
    with pytest.raises(ThresholdError, match=r"faithfulness=90 is not a fraction.*0\.90"):
        parse_fail_under("faithfulness=90", KNOWN)
    with pytest.raises(ThresholdError, match="not a fraction"):
        parse_fail_under("f1=-0.1", KNOWN)
    with pytest.raises(ThresholdError, match="not a fraction"):
        parse_fail_under("f1=nan", KNOWN)


def test_unknown_metric_lists_the_known_ones() -> None:
    with pytest.raises(ThresholdError, match="unknown metric 'ndcg'; known metrics: answer_contains, f1, faithfulness, ndcg@10"):
        parse_fail_under("ndcg=0.9", KNOWN)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("faithfulness", "not metric=minimum"),
        ("=0.9", "not metric=minimum"),
        ("f1=", "not metric=minimum"),
        ("f1=high", "not a number"),
        ("f1=0.5,f1=0.6", "given twice"),
        (" , ", "empty"),
    ],
)
def test_malformed_input_is_refused(text: str, message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        parse_fail_under(text, KNOWN)


def test_threshold_error_is_a_rag_error() -> None:
    assert issubclass(ThresholdError, RAGError)


def test_check_thresholds() -> None:
    summary = {"faithfulness": 0.95, "f1": 0.5, "ndcg@10": math.nan, "answer_contains": 0.8}
    thresholds = {"faithfulness": 0.9, "f1": 0.6, "ndcg@10": 0.1, "answer_contains": 0.8, "mrr": 0.5}
    results = check_thresholds(summary, thresholds)
    assert [r.metric for r in results] == ["faithfulness", "f1", "ndcg@10", "answer_contains", "mrr"]
    assert results[0] == ThresholdResult("faithfulness", 0.9, 0.95, True)
    assert results[1] == ThresholdResult("f1", 0.6, 0.5, False, "0.5000 < 0.6000")
    assert not results[2].passed and math.isnan(results[2].value) and "NaN" in (results[2].reason or "")
    assert results[3].passed  # equal to the minimum passes
    assert not results[4].passed and results[4].reason == "not in the results"
