"""Retrieval metrics against hand-computed values, and how the relevance list is built."""

from __future__ import annotations

import math

import pytest

from eval.metrics.retrieval import (
    context_overlaps,
    dedupe_by_source,
    hit_at_k,
    mrr,
    ndcg_at_k,
    relevance_of,
    source_basename,
)

F, T = False, True


def test_ndcg_hand_computed() -> None:
    # gold at ranks 2 and 4 of 2 gold items:
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    # ideal = 1/log2(2) + 1/log2(3) = 1.63093; nDCG = 0.65092
    result = ndcg_at_k([F, T, F, T], n_gold=2, k=10)
    assert result.value == pytest.approx(0.65092, abs=1e-5)
    assert result.steps["dcg"] == pytest.approx(1 / math.log2(3) + 1 / math.log2(5))
    assert result.steps["ideal_dcg"] == pytest.approx(1 + 1 / math.log2(3))
    assert [g["rank"] for g in result.steps["gains"]] == [2, 4]
    assert result.steps["relevant"] == [F, T, F, T] and result.steps["first_relevant_rank"] == 2


def test_ndcg_cuts_at_k_and_the_ideal_has_min_of_gold_and_k_items() -> None:
    # k = 2: only rank 2 counts, DCG = 0.63093; ideal of min(3, 2) = 2 items = 1.63093
    assert ndcg_at_k([F, T, F, T], n_gold=3, k=2).value == pytest.approx(0.38685, abs=1e-5)
    assert ndcg_at_k([F] * 10 + [T], n_gold=1, k=10).value == 0.0
    assert ndcg_at_k([T], n_gold=1).value == 1.0


def test_ndcg_is_capped_when_more_items_are_relevant_than_there_are_gold() -> None:
    result = ndcg_at_k([T, T], n_gold=1)  # two chunks of the one gold source
    assert result.value == 1.0 and result.steps["capped"] is True


def test_mrr_and_hit_hand_computed() -> None:
    assert mrr([F, F, T, T], n_gold=2).value == pytest.approx(1 / 3)
    assert mrr([F] * 10 + [T], n_gold=1).value == pytest.approx(1 / 11)
    assert mrr([F, F], n_gold=1).value == 0.0
    assert mrr([F, F], n_gold=1).steps["first_relevant_rank"] is None
    assert hit_at_k([F, T], n_gold=1, k=1).value == 0.0
    assert hit_at_k([F, T], n_gold=1, k=2).value == 1.0
    assert hit_at_k([F, T], n_gold=1, k=2).name == "hit@2"


@pytest.mark.parametrize(
    "result",
    [hit_at_k([F, F], 0, 5), mrr([F, F], 0), ndcg_at_k([F, F], 0)],
    ids=["hit", "mrr", "ndcg"],
)
def test_no_gold_is_nan_with_a_reason(result: object) -> None:
    assert math.isnan(result.value) and result.reason == "no gold passages"  # type: ignore[attr-defined]
    assert result.steps["relevant"] == [F, F]  # type: ignore[attr-defined]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="k must be > 0"):
        ndcg_at_k([T], 1, k=0)
    with pytest.raises(ValueError, match="n_gold"):
        mrr([T], -1)


def test_relevance_by_source_file_name() -> None:
    retrieved = [("docs/a.txt", "x"), ("b.txt", "y"), ("C:\\data\\a.txt", "z"), ("docs/a.txt.bak", "w")]
    assert relevance_of(retrieved, ["/corpus/a.txt"], []) == [T, F, T, F]
    assert source_basename("C:\\data\\a.txt") == "a.txt" and source_basename("x/y/") == "y"


def test_reference_sources_win_over_contexts() -> None:
    assert relevance_of([("b.txt", "the gold text")], ["a.txt"], ["the gold text"]) == [F]


def test_relevance_by_context_overlap() -> None:
    context = "北京是中国的首都，也是全国的政治和文化中心。"
    retrieved = [
        ("x.txt", "北京是 中国的\n首都"),  # inside the context, whitespace ignored
        ("y.txt", "第一章。" + context + "第二章。"),  # contains the context
        ("z.txt", "政治和文化中心。上海是经济中心"),  # 8 of its 15 characters in common: >= 50%
        ("w.txt", "文化中心。上海是全国的经济中心"),  # 5 of 15: < 50%
        ("v.txt", "   "),  # empty text overlaps nothing
    ]
    assert relevance_of(retrieved, [], [context]) == [T, T, T, F, F]
    assert relevance_of(retrieved, [], []) == [F] * 5


def test_context_overlap_threshold_is_half_the_shorter_text() -> None:
    assert context_overlaps("ABCDEFGH", "0123ABCD")  # 4 of 8
    assert not context_overlaps("ABCDEFGH", "0123ABC")  # 3 of 7 < 3.5
    assert context_overlaps("ABCDEFGH", "0123ABC", min_overlap=0.4)


def test_context_overlap_is_fast_on_2kb_texts() -> None:
    a = "".join(chr(0x4E00 + (i * 7919) % 3000) for i in range(2000))
    b = "".join(chr(0x4E00 + (i * 104729) % 3001) for i in range(2000))
    assert not context_overlaps(a, b)
    assert context_overlaps(a, b[:900] + a[500:1600])


def test_dedupe_keeps_the_first_chunk_of_each_source() -> None:
    retrieved = [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("b", "5")]
    assert dedupe_by_source(retrieved) == [("a", "1"), ("b", "2"), ("c", "4")]
    # source-level ranking: one gold source found twice counts once
    relevant = relevance_of(dedupe_by_source([("g.txt", "1"), ("g.txt", "2"), ("o.txt", "3")]), ["g.txt"], [])
    assert relevant == [T, F] and ndcg_at_k(relevant, n_gold=1).value == 1.0
