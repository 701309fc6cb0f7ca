"""Issue 15, the answer's sentences: a qualifier never stands without the statement it qualifies,
and the answer can say why each sentence is there, or why it refused (``--explain``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from rag.answering.extractive import ExtractiveGenerator, _Candidate
from rag.domain import Answer


def _generator(max_sentences: int) -> ExtractiveGenerator:
    return ExtractiveGenerator(embedder=SimpleNamespace(), statistics=SimpleNamespace(), max_sentences=max_sentences)  # type: ignore[arg-type]


def _sentences(*texts: str) -> list[_Candidate]:
    passage: Any = SimpleNamespace()
    out, at = [], 0
    for text in texts:
        out.append(_Candidate(passage, at, at + len(text), text, ""))
        at += len(text)
    return out


@pytest.mark.parametrize("max_sentences", [1, 2, 3])
def test_a_chosen_qualifier_brings_the_statement_it_qualifies(max_sentences: int) -> None:
    main, qualifier, other = _sentences("客服服务是免费的。", "当然,部分高级服务可能会涉及费用。", "客服全天在线。")
    chosen = _generator(max_sentences)._with_qualified([qualifier], [main, qualifier, other])
    assert chosen == [main, qualifier]  # with no room to spare, the two count as one
    assert "qualifies" in main.why


def test_the_lowest_ranked_other_sentence_makes_room() -> None:
    best, main, qualifier, weak = _sentences("客服全天在线。", "客服服务是免费的。", "但部分高级服务收费。", "用户应保持警惕。")
    for rank, c in enumerate((best, qualifier, weak, main), start=1):
        c.rank = rank
    assert _generator(3)._with_qualified([best, qualifier, weak], [best, main, qualifier, weak]) == [best, main, qualifier]


def test_sentences_that_qualify_nothing_are_left_alone() -> None:
    first, second = _sentences("However, fees may apply.", "Support is free.")
    assert _generator(3)._with_qualified([first], [first, second]) == [first]  # no statement before it
    plain, other, own = _sentences("Support is free.", "Butter is not a qualifier.", "虽然费用较低,但服务很好。")
    assert _generator(3)._with_qualified([other], [plain, other]) == [other]
    assert _generator(3)._with_qualified([own], [plain, own]) == [own]  # "although X, Y" stands on its own


def test_the_explanation_travels_only_when_asked() -> None:
    answer = Answer("q", "a", False, (), "en", "extractive", 1.0, explanation=("[1] why",))
    assert "explanation" not in answer.to_dict()
    data = answer.to_dict(explain=True)
    assert data["explanation"] == ["[1] why"]
    assert Answer.from_dict(data).explanation == ("[1] why",)


@pytest.mark.model
def test_rag_ask_explain_says_why_it_answered_and_why_it_refused(tmp_path: Path) -> None:
    from tests.conftest import SAMPLE, run_rag

    shutil.copy(SAMPLE, tmp_path / "faq.txt")
    assert run_rag("ingest", str(tmp_path / "faq.txt"), "--index", str(tmp_path / "idx")).returncode == 0
    answered = run_rag("ask", "客服可以解答哪些常见的技术问题?", "--index", str(tmp_path / "idx"), "--explain", "--json")
    data = json.loads(answered.stdout)
    assert not data["abstained"] and len(data["explanation"]) == len(data["citations"]) + 1
    assert data["explanation"][0].startswith("[1] ") and "similarity to the question" in data["explanation"][0]
    assert data["explanation"][-1].startswith("answered: the evidence scores")
    refused = run_rag("ask", "Who founded Binance?", "--index", str(tmp_path / "idx"), "--explain")
    assert "文档" in refused.stdout or "do not answer" in refused.stdout
    assert "Why:" in refused.stdout and "refused: " in refused.stdout and "closest sentence (" in refused.stdout
