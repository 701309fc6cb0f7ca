"""The nli judge (issue 13, point 4): a Hugging Face cross-encoder through sentence-transformers,
its labels read from the model, passages cut into windows that fit it. The models are tiny and
built locally (tests/tools/tiny_nli.py): the real loading and scoring code runs, nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.checking import FaithfulnessChecker, check_answer
from rag.checking.nli import CrossEncoderJudge
from rag.errors import ConfigError
from tests.conftest import run_rag
from tests.tools.tiny_nli import tiny_nli

PASSAGE = "Instagram is a photo service. Facebook acquired Instagram in 2012."


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nli")
    upper = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}  # another order, another case
    return {
        "entails": tiny_nli(root / "entails", labels=upper, favour=2),
        "contradicts": tiny_nli(root / "contradicts", labels=upper, favour=0),
        "mnli-neutral": tiny_nli(root / "mnli-neutral", favour=2),  # MNLI order: index 2 is neutral
        "score-high": tiny_nli(root / "score-high", labels={0: "LABEL_0"}, favour=0, bias=6.0),
        "score-low": tiny_nli(root / "score-low", labels={0: "LABEL_0"}, favour=0, bias=-6.0),
        "no-entailment": tiny_nli(root / "no-entailment", labels={0: "positive", 1: "negative"}),
        "not-entailment": tiny_nli(root / "not-entailment", labels={0: "not_entailment", 1: "entailment"}, favour=0),
        "hallucination": tiny_nli(root / "hallucination", labels={0: "hallucinated"}, favour=0, bias=6.0),
    }


def test_the_entailment_label_is_found_by_name_whatever_its_position(models: dict[str, Path]) -> None:
    result = check_answer("Facebook acquired Instagram in 2012.", [PASSAGE], judge=CrossEncoderJudge(models["entails"]))
    assert result.score == 1.0 and result.judge == "nli entails"
    verdict = result.verdicts[0]
    assert verdict.score > 0.99 and "entailment 1.00" in verdict.reason and verdict.evidence is not None
    assert not check_answer("Facebook acquired Instagram in 2012.", [PASSAGE], judge=CrossEncoderJudge(models["contradicts"])).verdicts[0].supported
    neutral = check_answer("Facebook acquired Instagram in 2012.", [PASSAGE], judge=CrossEncoderJudge(models["mnli-neutral"])).verdicts[0]
    assert not neutral.supported and neutral.score < 0.01  # neutral is not support


def test_a_negated_label_is_not_support(models: dict[str, Path]) -> None:
    # found in review: "not_entailment" was read as support (a substring match)
    verdict = check_answer("Facebook acquired Instagram.", [PASSAGE], judge=CrossEncoderJudge(models["not-entailment"])).verdicts[0]
    assert not verdict.supported and verdict.score < 0.01
    hallucinated = check_answer("Facebook acquired Instagram.", [PASSAGE], judge=CrossEncoderJudge(models["hallucination"])).verdicts[0]
    assert not hallucinated.supported and hallucinated.score < 0.01  # a hallucination score is read the other way


def test_a_single_score_model_is_read_by_threshold(models: dict[str, Path]) -> None:
    high = check_answer("Facebook acquired Instagram.", [PASSAGE], judge=CrossEncoderJudge(models["score-high"])).verdicts[0]
    low = check_answer("Facebook acquired Instagram.", [PASSAGE], judge=CrossEncoderJudge(models["score-low"])).verdicts[0]
    assert high.supported and high.score > 0.99 and "support 1.00" in high.reason
    assert not low.supported and low.score < 0.01
    assert not check_answer("Facebook acquired Instagram.", [PASSAGE], judge=CrossEncoderJudge(models["score-high"], threshold=0.999)).verdicts[0].supported


def test_long_passages_are_cut_into_windows_that_fit_the_model(models: dict[str, Path]) -> None:
    long = " ".join(["the instagram service"] * 60)  # one sentence of ~180 tokens; the model takes 64
    judge = CrossEncoderJudge(models["entails"])
    verdict = FaithfulnessChecker(judge).check("Facebook acquired Instagram.", [long]).verdicts[0]
    assert verdict.supported and verdict.evidence is not None
    encoder = judge._load()
    window = long[verdict.evidence.start : verdict.evidence.end]
    assert verdict.evidence.end - verdict.evidence.start < len(long)
    assert len(encoder.tokenizer.tokenize(window)) + len(encoder.tokenizer.tokenize("Facebook acquired Instagram.")) + 3 <= 64


def test_unusable_models_are_clear_errors(models: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"labels \['negative', 'positive'\]: none says entailment"):
        check_answer("Facebook acquired Instagram.", [PASSAGE], judge=CrossEncoderJudge(models["no-entailment"]))
    with pytest.raises(ConfigError, match="cannot load the nli judge model"):
        check_answer("Facebook acquired Instagram.", [PASSAGE], judge=CrossEncoderJudge(tmp_path / "nothing-here"))


@pytest.mark.e2e
def test_rag_check_with_the_nli_judge_single_and_batch(models: dict[str, Path], tmp_path: Path) -> None:
    context = tmp_path / "p.txt"
    context.write_text(PASSAGE, encoding="utf-8")
    one = run_rag("check", "--context", str(context), "--answer", "Facebook acquired Instagram in 2012 [1].",
                  "--judge", "nli", "--judge-model", str(models["entails"]), "--json")
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["judge"] == "nli entails" and data["faithfulness"] == 1.0
    batch = tmp_path / "rows.jsonl"
    batch.write_text(json.dumps({"id": "a", "answer": "Facebook acquired Instagram.", "passages": [PASSAGE]}) + "\n", encoding="utf-8")
    refused = run_rag("check", "--batch", str(batch), "--judge", "nli", "--judge-model", str(models["contradicts"]))
    assert refused.returncode == 3, refused.stderr
    assert json.loads(refused.stdout)["statements"][0]["reason"].startswith("not supported") and "nli contradicts" in refused.stdout
    usage = run_rag("check", "--batch", str(batch), "--judge", "nli")
    assert usage.returncode == 2 and "--judge nli needs a model" in usage.stderr
