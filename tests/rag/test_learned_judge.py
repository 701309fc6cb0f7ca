"""The learned judge (issue 14): its loader refuses unknown model files, it names the window its
verdict rests on, and the shipped model tells a faithful statement from a changed fact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.checking import FaithfulnessChecker
from rag.checking.learned import BUNDLED_JUDGE, LearnedJudge
from rag.errors import ConfigError
from rag.index.format import file_sha256

pytestmark = pytest.mark.model

PASSAGES = [
    "Instagram is a photo-sharing service. Facebook acquired Instagram in April 2012 for about one billion dollars.",
    "提现一般需要1个工作日。大额提现需要人工审核。客服全天在线，可以通过在线聊天联系。",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer judge with an untrained head, saved the way training/train_judge.py saves one."""
    import torch
    from safetensors.torch import save_file

    from rag.models.e5_file import E5_SHA256
    from rag.models.judge_model import PairClassifier

    folder = tmp_path_factory.mktemp("judge")
    torch.manual_seed(0)
    model = PairClassifier(1)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items() if not k.startswith(("encoder.pos", "encoder.token_type"))}
    save_file(state, str(folder / "judge.safetensors"))
    config = {"layers": 1, "max_tokens": 160, "base_sha256": E5_SHA256, "threshold": 0.5, "sha256": file_sha256(folder / "judge.safetensors")}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_a_saved_judge_loads_and_names_its_window(tiny: Path) -> None:
    judge = LearnedJudge(tiny)
    result = FaithfulnessChecker(judge).check("Facebook acquired Instagram in 2012. 客服全天在线。", PASSAGES)
    assert result.judge == "learned" and len(result.verdicts) == 2
    for verdict in result.verdicts:
        assert 0.0 <= verdict.score <= 1.0 and verdict.evidence is not None
        assert verdict.reason.startswith(("supported by passage [", "not supported: best match passage [")) and "learned judge" in verdict.reason
    english = result.verdicts[0].evidence
    assert english is not None and english.passage == 0 and "Facebook" in PASSAGES[0][english.start : english.end]


def test_an_unknown_model_file_is_refused(tiny: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(tiny, changed)
    data = bytearray((changed / "judge.safetensors").read_bytes())
    data[-1] ^= 1
    (changed / "judge.safetensors").write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="refusing an unknown model file"):
        LearnedJudge(changed).judge(["x"], ["y"])
    config = json.loads((tiny / "config.json").read_text(encoding="utf-8")) | {"base_sha256": "0" * 64}
    other = tmp_path / "other-base"
    shutil.copytree(tiny, other)
    (other / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ConfigError, match="another e5 file"):
        LearnedJudge(other).judge(["x"], ["y"])
    with pytest.raises(ConfigError, match="no learned judge in"):
        LearnedJudge(tmp_path / "nothing").judge(["x"], ["y"])


@pytest.mark.skipif(not (BUNDLED_JUDGE / "judge.safetensors").exists(), reason="the trained judge is not in this checkout")
def test_the_shipped_judge_credits_faithful_statements_and_catches_changed_facts() -> None:
    checker = FaithfulnessChecker(LearnedJudge())
    supported = [
        "Facebook acquired Instagram in April 2012.",
        "Facebook bought Instagram in 2012.",  # a paraphrase
        "Facebook 在2012年收购了 Instagram。",  # the passage is English
        "提现一般需要1个工作日。",
    ]
    unsupported = [
        "Facebook acquired Instagram in April 2015.",  # a number
        "Instagram acquired Facebook in April 2012.",  # roles exchanged
        "Google acquired Instagram in April 2012.",  # an entity
        "提现一般需要5个工作日。",
        "大额提现不需要人工审核。",  # a negation
    ]
    for text in supported:
        assert checker.check(text, PASSAGES).verdicts[0].supported, text
    for text in unsupported:
        assert not checker.check(text, PASSAGES).verdicts[0].supported, text


@pytest.mark.e2e
def test_rag_check_runs_a_trained_judge_given_its_folder(tiny: Path, tmp_path: Path) -> None:
    from tests.conftest import run_rag

    context = tmp_path / "p.txt"
    context.write_text(PASSAGES[0], encoding="utf-8")
    result = run_rag("check", "--context", str(context), "--answer", "Instagram was bought by Facebook.", "--judge", "learned",
                     "--judge-model", str(tiny), "--json")
    assert result.returncode in (0, 3), result.stderr
    data = json.loads(result.stdout)
    # reworded: the lexical judge cannot settle it, so the learned judge decides (rag.checking.cascade)
    assert data["judge"] == "learned" and "learned judge" in data["statements"][0]["reason"]
    if not (BUNDLED_JUDGE / "judge.safetensors").exists():
        missing = run_rag("check", "--context", str(context), "--answer", "Facebook acquired Instagram.", "--judge", "learned")
        assert missing.returncode == 1 and "no learned judge is shipped yet" in missing.stderr


def test_the_cascade_asks_the_learned_judge_only_what_the_lexical_one_cannot_settle(tiny: Path) -> None:
    from rag.checking.cascade import CascadeJudge

    calls: list[list[str]] = []

    class Counting(LearnedJudge):
        def judge(self, statements, passages, question=None):  # type: ignore[no-untyped-def]
            calls.append(list(statements))
            return super().judge(statements, passages, question)

    cascade = CascadeJudge(Counting(tiny), threshold=0.0)  # any learned score passes: what reaches it is supported
    quoted, number, flipped, reworded = cascade.judge(
        ["Facebook acquired Instagram in April 2012.", "Facebook acquired Instagram in April 2015.",
         "Facebook did not acquire Instagram in April 2012.", "Instagram was bought by Facebook."],
        PASSAGES,
    )
    assert calls == [["Instagram was bought by Facebook."]]
    assert quoted.supported and "learned judge" not in quoted.reason
    assert not number.supported and "2015" in number.reason
    assert not flipped.supported and "negates ('not')" in flipped.reason
    assert reworded.supported and "reworded; learned judge" in reworded.reason
    assert reworded.evidence is not None and reworded.evidence.passage == 0


def test_the_cascade_keeps_the_lexical_verdict_below_its_threshold(tiny: Path) -> None:
    from rag.checking.cascade import CascadeJudge

    (verdict,) = CascadeJudge(LearnedJudge(tiny), threshold=0.999).judge(["Instagram was bought by Facebook."], PASSAGES)
    assert not verdict.supported and "< 1.00" in verdict.reason and verdict.reason.startswith("not supported: best match passage [1]")
