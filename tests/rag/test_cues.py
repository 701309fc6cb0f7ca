"""Contradiction cues (rag/checking/cues.py) and the lexical judge's override: a statement that
keeps every word of its passage but flips a negation or says the opposite word is unsupported."""

from __future__ import annotations

import pytest

from rag.checking import LexicalJudge
from rag.checking.cues import contradiction

PASSAGE_ZH = "外交部发言人表示，中方支持阿方为维护国家稳定所作努力，愿同阿方加强合作。当月黄金价格上涨了百分之三。"
PASSAGE_EN = "Shares of the company rose 4 percent on Monday after the merger was approved by regulators."


@pytest.mark.parametrize(
    ("statement", "window", "opposite"),
    [
        ("中方反对阿方为维护国家稳定所作努力。", PASSAGE_ZH, ("反对", "支持")),
        ("当月黄金价格下跌了百分之三。", PASSAGE_ZH, ("下跌", "上涨")),
        ("Shares of the company fell 4 percent on Monday.", PASSAGE_EN, ("fell", "rose")),
        ("The merger was rejected by regulators.", "The merger was approved by regulators.", ("rejected", "approved")),
    ],
)
def test_the_opposite_word_is_named(statement: str, window: str, opposite: tuple[str, str]) -> None:
    found = contradiction(statement, window)
    assert found.opposite == opposite
    assert found.reason() == f"says '{opposite[0]}' where the passage says '{opposite[1]}'"


@pytest.mark.parametrize(
    ("statement", "window", "word"),
    [
        ("The merger was not approved by regulators.", PASSAGE_EN, "not"),
        ("Shares didn't rise on Monday.", PASSAGE_EN, "didn't"),
        ("中方不支持阿方所作努力。", PASSAGE_ZH, "不"),
        ("当月黄金价格没有上涨。", PASSAGE_ZH, "没有"),
        ("No account is needed to contact support.", "An account is needed to contact support.", "no"),  # a word, not an answer
    ],
)
def test_a_negation_the_passage_lacks_is_named(statement: str, window: str, word: str) -> None:
    found = contradiction(statement, window)
    assert found.negates == word
    assert found.reason() == f"negates ('{word}') where the passage does not"


@pytest.mark.parametrize(
    ("statement", "window", "question"),
    [
        (PASSAGE_EN, PASSAGE_EN, None),  # a quote
        ("中方支持阿方所作努力，愿同阿方加强合作。", PASSAGE_ZH, None),
        ("价格不断上涨，上海的交易所很忙。", "上海的交易所很忙，价格不断上涨。", None),  # 不断 is no negation, 上海 is not 上
        ("Are André Gide and Akutagawa of the same nationality: no.", "Gide was French. Akutagawa was Japanese.", None),
        ("No, support is free of charge.", "Support is free of charge.", None),
        ("Poland did not join the pact.", "Poland stayed out of the pact.", "Which country did not join the pact?"),
        ("他没有去北京。", "他没有去北京，而是去了上海。", None),  # both negate
        ("No", "Gide was French. Akutagawa was Japanese.", None),  # a bare answer
        ("用户可以上传文件，马上升级。", "用户可以下载文件，价格下降。", None),  # 以上 in 可以|上传, 上升 in 马上|升级: across words
    ],
)
def test_no_cue_where_nothing_is_flipped(statement: str, window: str, question: str | None) -> None:
    assert contradiction(statement, window, question).reason() is None


def test_the_lexical_judge_rejects_a_flipped_quote_and_says_why() -> None:
    judge = LexicalJudge()
    quoted, flipped, negated = judge.judge(
        ["中方支持阿方为维护国家稳定所作努力。", "中方反对阿方为维护国家稳定所作努力。", "The merger was not approved by regulators."],
        [PASSAGE_ZH, PASSAGE_EN],
    )
    assert quoted.supported
    assert not flipped.supported and flipped.score < judge.policy.threshold  # type: ignore[union-attr]
    assert "says '反对' where the passage says '支持'" in flipped.reason
    assert not negated.supported and "negates ('not')" in negated.reason
    assert negated.evidence is not None and negated.evidence.passage == 1  # the span it rests on is kept
