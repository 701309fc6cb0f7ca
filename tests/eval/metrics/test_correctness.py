"""Answer correctness against hand-computed values (SQuAD v1.1 and CMRC2018 rules)."""

from __future__ import annotations

import math

import pytest

from eval.metrics import MetricResult, nan
from eval.metrics.correctness import (
    answer_contains,
    exact_match,
    f1,
    find_lcs,
    has_cjk,
    mixed_segmentation,
    normalize_answer,
    remove_punctuation,
)

# --- the result type ---------------------------------------------------------------------


def test_metric_result_nan_needs_a_reason_and_only_nan_gets_one() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        MetricResult("f1", math.nan)
    with pytest.raises(ValueError, match="non-NaN"):
        MetricResult("f1", 0.5, "why")
    with pytest.raises(ValueError, match="outside"):
        MetricResult("f1", 1.5)
    result = nan("f1", "abstained", prediction="")
    assert result.is_nan and result.reason == "abstained" and result.steps == {"prediction": ""}
    assert not MetricResult("f1", 0.0).is_nan


# --- English: SQuAD v1.1 -----------------------------------------------------------------


def test_normalize_answer_drops_case_punctuation_articles_and_extra_spaces() -> None:
    assert normalize_answer("  The  U.S.A.,   an Ally! ") == "usa ally"


def test_english_exact_match_after_normalisation() -> None:
    result = exact_match("The Denver Broncos!", ["denver broncos"])
    assert result.value == 1.0
    assert result.steps["per_reference"][0]["normalised_prediction"] == "denver broncos"
    assert result.steps["per_reference"][0]["style"] == "squad-v1.1"
    assert exact_match("Denver Broncos won", ["Denver Broncos"]).value == 0.0


def test_english_f1_token_bag() -> None:
    # prediction tokens: cat sat on mat (4); reference: cat on mat (3); 3 shared
    # P = 3/4, R = 3/3, F1 = 2 * 0.75 * 1 / 1.75 = 6/7
    result = f1("The cat sat on a mat", ["A cat on the mat."])
    assert result.value == pytest.approx(6 / 7)
    row = result.steps["per_reference"][0]
    assert row["prediction_tokens"] == ["cat", "sat", "on", "mat"]
    assert row["reference_tokens"] == ["cat", "on", "mat"]
    assert (row["overlap_len"], row["precision"], row["recall"]) == (3, 0.75, 1.0)


def test_english_f1_counts_repeated_tokens_once_per_occurrence() -> None:
    # Counter intersection: "paris" shared once; P = 1/2, R = 1, F1 = 2/3
    assert f1("Paris, Paris", ["Paris"]).value == pytest.approx(2 / 3)


# --- Chinese: CMRC2018 -------------------------------------------------------------------


def test_cmrc_example_from_the_official_script() -> None:
    # prediction segments 光 荣 和 ωforce 开 发 (the '-' is in the script's punctuation list),
    # reference 光 荣 和 ωforce; LCS 4: P = 4/6, R = 4/4, F1 = 2 * (2/3) / (5/3) = 0.8
    result = f1("光荣和ω-force开发", ["光荣和ω-force"])
    assert result.value == pytest.approx(0.8)
    row = result.steps["per_reference"][0]
    assert row["style"] == "cmrc2018"
    assert row["prediction_tokens"] == ["光", "荣", "和", "ωforce", "开", "发"]
    assert row["reference_tokens"] == ["光", "荣", "和", "ωforce"]
    assert row["overlap"] == ["光", "荣", "和", "ωforce"]
    assert exact_match("光荣和ω-force开发", ["光荣和ω-force"]).value == 0.0


def test_cmrc_lcs_is_a_substring_not_a_subsequence() -> None:
    assert find_lcs(["北", "大"], ["北", "京", "大", "学"]) == (["北"], 1)
    # P = 1/4, R = 1/2, F1 = 2 * (1/8) / (3/4) = 1/3
    assert f1("北京大学", ["北大"]).value == pytest.approx(1 / 3)


def test_cmrc_exact_match_removes_the_script_punctuation_but_not_spaces() -> None:
    assert exact_match("《红楼梦》。", ["红楼梦"]).value == 1.0
    assert exact_match("红楼 梦", ["红楼梦"]).value == 0.0  # as in calc_em_score
    assert f1("红楼 梦", ["红楼梦"]).value == 1.0  # segmentation drops the space


def test_cmrc_punctuation_list_is_the_scripts() -> None:
    assert remove_punctuation(" 「Ａ」：b-c，d。 ") == "ａbcd"
    assert remove_punctuation("好……") == "好……"  # '……' is one two-char entry: never matches a char


def test_mixed_segmentation_word_tokenises_the_runs_between_chinese_characters() -> None:
    assert mixed_segmentation("2018年的 Koei Tecmo, Inc. 出品", rm_punc=True) == [
        "2018", "年", "的", "koei", "tecmo", ",", "inc", ".", "出", "品",
    ]  # fmt: skip
    assert mixed_segmentation("a-b中", rm_punc=False) == ["a", "-", "b", "中"]


def test_mixed_chinese_and_english_reference() -> None:
    # reference: iphone 15 发 布 于 2023 年 (7); prediction: 苹 果 的 iphone 15 发 布 于 2023 年 9 月 (12)
    # LCS 7: P = 7/12, R = 1, F1 = 2 * (7/12) / (19/12) = 14/19
    result = f1("苹果的iPhone 15发布于2023年9月", ["iPhone 15发布于2023年"])
    assert result.value == pytest.approx(14 / 19)
    assert result.steps["per_reference"][0]["reference_tokens"] == ["iphone", "15", "发", "布", "于", "2023", "年"]


def test_language_is_chosen_per_reference() -> None:
    assert has_cjk("光荣") and has_cjk("abc 中") and not has_cjk("Koei, ω-force")
    result = exact_match("Denver Broncos", ["丹佛野马", "the Denver Broncos"])
    assert result.value == 1.0
    assert [r["style"] for r in result.steps["per_reference"]] == ["cmrc2018", "squad-v1.1"]
    assert result.steps["best_index"] == 1 and result.steps["best_reference"] == "the Denver Broncos"


# --- several references, none, empty prediction ------------------------------------------


def test_multiple_references_take_the_maximum() -> None:
    # vs "Denver": P = 1/2, R = 1, F1 = 2/3; vs "Denver Broncos": 1.0; vs "Broncos team": 1/2
    result = f1("Denver Broncos", ["Denver", "Denver Broncos", "Broncos team"])
    assert [r["score"] for r in result.steps["per_reference"]] == pytest.approx([2 / 3, 1.0, 0.5])
    assert result.value == 1.0 and result.steps["best_index"] == 1


@pytest.mark.parametrize("metric", [exact_match, f1, answer_contains])
def test_no_references_is_nan_with_a_reason(metric: object) -> None:
    result = metric("anything", [])  # type: ignore[operator]
    assert math.isnan(result.value) and result.reason == "no reference answers"


@pytest.mark.parametrize("metric", [exact_match, f1, answer_contains])
@pytest.mark.parametrize("reference", ["Denver Broncos", "光荣和ω-force"])
def test_empty_prediction_scores_zero(metric: object, reference: str) -> None:
    result = metric("", [reference])  # type: ignore[operator]
    assert result.value == 0.0 and result.reason is None


def test_one_string_is_not_a_list_of_references() -> None:
    with pytest.raises(TypeError, match="not one string"):
        f1("abc", "abc")


# --- containment -------------------------------------------------------------------------


def test_answer_contains_english_whole_tokens() -> None:
    sentence = "In 2016 the winner was the Denver Broncos, who beat Carolina."
    assert answer_contains(sentence, ["Denver Broncos"]).value == 1.0
    assert answer_contains(sentence, ["Carolina Panthers"]).value == 0.0
    assert answer_contains("a great artist", ["art"]).value == 0.0  # whole tokens only
    assert exact_match(sentence, ["Denver Broncos"]).value == 0.0  # why EM is ~0 for sentences


def test_answer_contains_chinese_ignores_punctuation_and_spaces() -> None:
    sentence = "据报道，《光荣 和ω-force》开发了这款游戏。"
    result = answer_contains(sentence, ["东京", "光荣和ω-force"])
    assert result.value == 1.0 and result.steps["best_index"] == 1
    assert answer_contains(sentence, ["光荣和任天堂"]).value == 0.0


def test_answer_contains_a_reference_empty_after_normalisation_never_matches() -> None:
    assert answer_contains("the answer", ["The"]).value == 0.0


def test_a_latin_reference_inside_a_chinese_answer_is_scored_the_cmrc_way() -> None:
    answer = "黑豹队的防守只丢了 308分，在联赛中排名第六"
    assert answer_contains(answer, ["308"]).value == 1.0
    assert answer_contains(answer, ["309"]).value == 0.0
    assert f1(answer, ["308"]).value > 0.0
