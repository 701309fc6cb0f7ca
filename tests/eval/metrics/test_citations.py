"""ALCE citation recall and precision, with a scripted judge (a fake: the real judge is tested in
tests/rag/test_faithfulness.py and end to end in tests/eval/test_cli_eval.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from eval.metrics.abstention import abstention_scores
from eval.metrics.citations import citation_scores
from eval.metrics.faithfulness import faithfulness
from rag.checking import FaithfulnessChecker, Statement, StatementVerdict


class FactJudge:
    """Supports a statement when every fact it lists (words in capitals) appears in the passages."""

    name = "scripted"

    def judge(self, statements: Sequence[str], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]:
        joined = " ".join(passages)
        out = []
        for text in statements:
            facts = [w.strip(".") for w in text.split() if w.strip(".").isupper()]
            ok = all(f in joined for f in facts)
            out.append(StatementVerdict(Statement(text, 0, len(text)), ok, 1.0 if ok else 0.0, "scripted"))
        return out


CHECKER = FaithfulnessChecker(FactJudge())


def test_recall_counts_statements_supported_by_their_own_citations() -> None:
    cited = {1: "AAA", 2: "BBB", 3: "CCC"}
    recall, precision = citation_scores(CHECKER, "It is AAA [1]. It is BBB [1]. It is CCC.", cited)
    assert recall.value == 1 / 3  # the second cites the wrong passage, the third nothing
    assert precision.value == 0.5  # of the two citations, one supports its statement
    assert [s["supported"] for s in recall.steps["statements"]] == [True, False, False]


def test_precision_flags_a_citation_that_adds_nothing() -> None:
    cited = {1: "AAA", 2: "BBB", 3: "unrelated"}
    recall, precision = citation_scores(CHECKER, "It is AAA and BBB [1][2][3].", cited)
    assert recall.value == 1.0
    assert math.isclose(precision.value, 2 / 3)  # [3] neither supports alone nor is needed
    assert recall.steps["statements"][0]["precise"] == [1, 2]


def test_markers_that_point_nowhere_count_against_precision() -> None:
    recall, precision = citation_scores(CHECKER, "It is AAA [1][7].", {1: "AAA"})
    assert recall.value == 1.0 and precision.value == 0.5
    assert recall.steps["statements"][0]["dangling"] == [7]


def test_abstentions_are_nan_with_the_reason_and_scored_by_abstention() -> None:
    recall, precision = citation_scores(CHECKER, "文档中没有找到这个问题的答案。", {}, abstained=True)
    assert recall.reason == precision.reason == "abstained"
    faith, _ = faithfulness(CHECKER, "文档中没有找到这个问题的答案。", ["x"], abstained=True)
    assert faith.is_nan and faith.reason == "abstained"
    scores = abstention_scores(answerable=False, abstained=True)
    assert scores["abstention_accuracy"].value == 1.0 and scores["abstain_on_unanswerable"].value == 1.0
    assert scores["answer_on_answerable"].is_nan
    wrong = abstention_scores(answerable=True, abstained=True)
    assert wrong["abstention_accuracy"].value == 0.0 and wrong["answer_on_answerable"].value == 0.0


def test_faithfulness_shows_each_statement() -> None:
    result, _ = faithfulness(CHECKER, "It is AAA [1]. It is ZZZ.", ["AAA"])
    assert result.value == 0.5
    assert [(s["text"], s["supported"], s["citations"]) for s in result.steps["statements"]] == [
        ("It is AAA.", True, [1]),
        ("It is ZZZ.", False, []),
    ]
