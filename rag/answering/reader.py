"""The answer reader (issue 15): a small cross-encoder that reads (question, sentence) and says how
likely the sentence holds the answer. It is the first layers of the bundled multilingual e5-small
with a trained head (rag/models/judge_model.py's network), trained by training/train_judge.py on
training/answer_pairs.py's pairs; training/export_reader.py puts its weights in ``rag/models/reader/``
with their model card, hash-checked at load. Not shipped yet: the answerer fitted with it does not
keep the fixed test (BENCHMARKS.md, issue 15), and the shipped answerer does not read it.

It reads only the few sentences the cheap scores rank first (``max_sentences``), so its cost does
not grow with the passages retrieved.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BUNDLED_READER", "AnswerReader"]

BUNDLED_READER = Path(__file__).resolve().parents[1] / "models" / "reader"


@dataclass
class AnswerReader:
    """P(the sentence holds the answer to the question), for a few sentences at a time."""

    model_dir: Path = BUNDLED_READER
    max_sentences: int = 8
    cached: int = 4096  # (question, sentence) scores kept: a question asked again is not read again
    _model: Any = field(default=None, init=False, repr=False)
    _config: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _cache: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict, init=False, repr=False)

    def load(self) -> AnswerReader:
        if self._model is None:
            from rag.models.judge_model import load_pair_classifier

            self._model, self._config = load_pair_classifier(self.model_dir, "reader.safetensors", "answer reader")
        return self

    def scores(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """One probability per sentence, in order."""
        unread = list(dict.fromkeys(s for s in sentences if (question, s) not in self._cache))
        if unread:
            model = self.load()._model
            import torch

            from rag.models.encoder import encode_pairs

            pairs = [("query: " + question, "passage: " + s) for s in unread]
            with torch.no_grad():
                ids, lengths = encode_pairs(model.encoder.file, pairs, int(self._config["max_tokens"]))
                read = model(ids, lengths).softmax(-1)[:, 1].tolist()
            for s, p in zip(unread, read, strict=True):
                self._cache[(question, s)] = float(p)
            while len(self._cache) > self.cached:
                self._cache.popitem(last=False)
        return np.asarray([self._cache[(question, s)] for s in sentences], dtype=np.float64)
