"""The faithfulness checker: statements, the offline judge's evidence and verdicts, and the real
e5 embedder as its similarity feature."""

from __future__ import annotations

import math

import pytest

from rag.checking import (
    DEFAULT_SUPPORT_POLICY,
    FEATURES,
    FaithfulnessChecker,
    LexicalJudge,
    Statement,
    SupportPolicy,
    split_statements,
)

PASSAGE_ZH = "币安于2017年在上海成立，创始人是赵长鹏。提现一般需要1个工作日。客服全天在线。"
PASSAGE_EN = (
    "Arthur's Magazine (1844-1846) was an American literary periodical published in Philadelphia. "
    "First for Women is a woman's magazine published by Bauer Media Group in the USA."
)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("币安成立于2017年。[1]提现需要一天。[2]", [("币安成立于2017年。", (1,)), ("提现需要一天。", (2,))]),
        ("Founded in 2017.[1] Withdrawals take a day.[2]", [("Founded in 2017.", (1,)), ("Withdrawals take a day.", (2,))]),
        ("Founded in 2017 [1]. It takes a day [2][3].", [("Founded in 2017.", (1,)), ("It takes a day.", (2, 3))]),
        ("No markers here. None at all", [("No markers here.", ()), ("None at all", ())]),
        ("[1]", []),
        ("", []),
    ],
)
def test_split_statements_keeps_markers_with_the_sentence_they_follow(answer: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    statements = split_statements(answer)
    assert [(s.text, s.markers) for s in statements] == expected
    for s in statements:  # offsets cover the sentence and its markers
        assert s.text.rstrip("。.") in answer[s.start : s.end].replace("[1]", "").replace("[2]", "").replace("[3]", "").replace(" .", ".")


def test_verbatim_and_partial_statements_are_supported_with_the_window_named() -> None:
    checker = FaithfulnessChecker(LexicalJudge())
    result = checker.check("币安于2017年在上海成立。提现一般需要1个工作日[1]。", [PASSAGE_ZH])
    assert result.score == 1.0
    first = result.verdicts[0]
    assert first.supported and first.evidence is not None
    assert PASSAGE_ZH[first.evidence.start : first.evidence.end].startswith("币安于2017年")
    assert "supported by passage [1]" in first.reason


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("币安于2018年在上海成立。", "number '2018'"),  # a number swapped
        ("币安于2017年在北京成立。", "'北京'"),  # a place swapped
        ("Arthur's Magazine was published in Boston.", "'boston'"),
        ("Arthur's Magazine was published by Bauer Media Group.", "not supported"),  # every word is in the passage, not together
    ],
)
def test_swapped_facts_are_not_supported_and_the_reason_says_what_is_missing(statement: str, problem: str) -> None:
    verdict = FaithfulnessChecker(LexicalJudge()).check(statement, [PASSAGE_ZH, PASSAGE_EN]).verdicts[0]
    assert not verdict.supported, verdict
    assert problem in verdict.reason


def test_question_words_do_not_count_as_evidence() -> None:
    judge = LexicalJudge()
    question = "Which magazine was started first, Arthur's Magazine or First for Women?"
    right = judge.evidence("Arthur's Magazine was started first.", [PASSAGE_EN], question)
    made_up = judge.evidence("Arthur's Magazine was started first by John Smith in Boston.", [PASSAGE_EN], question)
    assert right is not None and made_up is not None
    assert made_up.novel_coverage < right.novel_coverage
    assert made_up.missing_entities


def test_abstentions_and_empty_answers_are_nan_with_a_reason() -> None:
    checker = FaithfulnessChecker(LexicalJudge())
    abstained = checker.check("文档中没有找到这个问题的答案。", [PASSAGE_ZH], abstained=True)
    assert math.isnan(abstained.score) and abstained.reason == "abstained" and abstained.verdicts == ()
    empty = checker.check("  [1] ", [PASSAGE_ZH])
    assert math.isnan(empty.score) and empty.reason == "the answer has no statements"
    no_passages = checker.check("Something is claimed.", [])
    assert no_passages.score == 0.0 and no_passages.verdicts[0].reason == "no passage to check against"


def test_check_cited_uses_only_the_cited_passages() -> None:
    checker = FaithfulnessChecker(LexicalJudge())
    pairs = checker.check_cited("提现一般需要1个工作日[2]。客服全天在线。", {1: PASSAGE_EN, 2: PASSAGE_ZH})
    assert [(s.markers, v is not None and v.supported) for s, v in pairs] == [((2,), True), ((), False)]
    wrong = checker.check_cited("提现一般需要1个工作日[1]。", {1: PASSAGE_EN, 2: PASSAGE_ZH})
    assert wrong[0][1] is not None and not wrong[0][1].supported


def test_policy_validates_its_shape() -> None:
    with pytest.raises(ValueError, match="weights"):
        SupportPolicy(weights=(1.0,), bias=0.0)
    with pytest.raises(ValueError, match="threshold"):
        SupportPolicy(weights=(0.0,) * len(FEATURES), bias=0.0, threshold=1.5)
    assert len(DEFAULT_SUPPORT_POLICY.weights) == len(FEATURES)


def test_statement_is_a_frozen_value() -> None:
    statement = Statement("a", 0, 1, (1,))
    with pytest.raises(AttributeError):
        statement.text = "b"  # type: ignore[misc]


@pytest.mark.model
def test_an_embedder_adds_similarity_to_the_evidence_and_the_reason() -> None:
    from rag.embedders import E5Embedder

    checker = FaithfulnessChecker(LexicalJudge(E5Embedder()))
    quoted, contradiction = checker.check(
        "Arthur's Magazine (1844-1846) was an American literary periodical published in Philadelphia. "
        "First for Women is published by Bauer Media Group in Boston.",
        [PASSAGE_EN],
    ).verdicts
    assert quoted.evidence is not None and quoted.evidence.similarity > 0.9
    assert "similarity" in quoted.reason
    assert quoted.supported
    assert not contradiction.supported and "boston" in contradiction.reason


def test_paraphrases_are_the_known_weakness_of_the_offline_judge() -> None:
    """Documented in BENCHMARKS.md: the lexical judge checks quoted or lightly edited statements;
    a reworded true statement scores below the threshold (an LLM judge is for free-form answers).
    This test pins the behaviour so a change to it is a conscious one."""
    judge = LexicalJudge()
    quoted = judge.judge(["Arthur's Magazine (1844-1846) was an American literary periodical published in Philadelphia."], [PASSAGE_EN])[0]
    reworded = judge.judge(["Arthur's Magazine was a literary periodical from Philadelphia."], [PASSAGE_EN])[0]
    assert quoted.supported and not reworded.supported
    assert reworded.score < quoted.score


def test_check_answer_is_the_one_call_form() -> None:
    from rag.checking import check_answer

    passage = "提现一般需要1个工作日到账。大额提现需要人工审核。"
    supported = check_answer("提现一般需要1个工作日到账。", [passage])
    assert supported.score == 1.0 and supported.judge == "offline"
    changed = check_answer("提现一般需要5个工作日到账。", [passage])
    assert changed.score == 0.0 and not changed.verdicts[0].supported


def test_a_number_is_found_inside_a_date_written_with_dots() -> None:
    # issue 13: "2012.12:01" was read as the number 2012.12, so a statement's "2012" was "missing"
    passage = "Posted 2012.12:01 by the support team. The exchange opened its Shanghai office that winter."
    evidence = LexicalJudge().evidence("The support team posted it in 2012.", [passage])
    assert evidence is not None and evidence.missing_numbers == ()
    # the whole statement number is still needed: "2012.12" is not found in a passage saying only "2012"
    only_year = LexicalJudge().evidence("It was posted on 2012.12 by the support team.", ["It was posted in 2012 by the support team."])
    assert only_year is not None and only_year.missing_numbers == ("2012.12",)
