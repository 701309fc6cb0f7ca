"""A strong judge for users who have one: a Hugging Face NLI (or hallucination-detection)
cross-encoder, run through sentence-transformers' :class:`~sentence_transformers.CrossEncoder`.

For each statement the passage windows most likely to hold it are preselected (one or two
consecutive sentences, ranked by the share of the statement's terms they hold, as the offline
judge reads them); a window longer than the model takes is cut into pieces that fit. The model
reads (window, statement) as (premise, hypothesis) and the best window decides:

- a model with labels (``config.id2label``): the label whose name says *entailment* (or
  ``supported``/``consistent``/``faithful``) is support; neutral and contradiction are not. The
  support score is the softmax probability of that label; supported when it is at least
  ``threshold`` (0.5).
- a model with one output (a consistency score): the sigmoid of it is the support score,
  supported at ``threshold`` or above; when its label names hallucination (``hallucinated``,
  ``unsupported``, ``inconsistent``, ``unfaithful``) the score is read the other way (one minus it).

Nothing is downloaded here: ``model`` is a name the local Hugging Face cache already holds, or a
folder. The model is loaded once, on the first statement, and runs on the CPU unless ``device``
says otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.checking.windows import best_verdicts, ranked_windows, trivial_verdicts
from rag.domain import StatementVerdict
from rag.errors import ConfigError

__all__ = ["SUPPORT_LABELS", "CrossEncoderJudge"]

# A label is support when one of its words is one of these, and none negates it ("not_entailment",
# "non-entailment" are not support; "unsupported", "inconsistent" are other words).
SUPPORT_LABELS = ("entailment", "entailed", "entails", "entail", "supported", "support", "supports", "consistent", "faithful")
_NEGATIONS = frozenset({"not", "non", "no"})
# A one-output model whose label names hallucination scores the opposite of support.
_HALLUCINATION = ("hallucinat", "unsupported", "inconsistent", "unfaithful")


def _is_support(label: str) -> bool:
    words = set(re.findall(r"[a-z]+", label.lower()))
    return bool(words & set(SUPPORT_LABELS)) and not words & _NEGATIONS


@dataclass
class CrossEncoderJudge:
    """A :class:`rag.protocols.Judge` over an NLI cross-encoder (see the module docstring)."""

    model: str | Path
    threshold: float = 0.5
    windows_per_statement: int = 3
    batch_size: int = 16
    device: str = "cpu"
    name: str = field(default="", init=True)
    _encoder: Any = field(default=None, init=False, repr=False)
    _support: int | None = field(default=None, init=False, repr=False)  # the support label's index; None: one output
    _inverted: bool = field(default=False, init=False, repr=False)  # a one-output model that scores hallucination

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"the nli judge's threshold must be between 0 and 1, got {self.threshold}")
        if not self.name:
            self.name = f"nli {Path(str(self.model)).name or self.model}"

    # -- the model ---------------------------------------------------------------------------

    def _load(self) -> Any:
        if self._encoder is not None:
            return self._encoder
        from sentence_transformers import CrossEncoder

        try:
            encoder = CrossEncoder(str(self.model), device=self.device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot load the nli judge model {str(self.model)!r}: {exc}".rstrip()
                + " (give a folder holding a Hugging Face sequence-classification model, or a name already in the local cache)"
            ) from None
        labels = {int(k): str(v) for k, v in (encoder.model.config.id2label or {}).items()}
        outputs = int(encoder.model.config.num_labels)
        if outputs == 1:
            self._support = None
            self._inverted = any(word in " ".join(labels.values()).lower() for word in _HALLUCINATION)
        else:
            found = [i for i, label in sorted(labels.items()) if _is_support(label)]
            if not found:
                raise ConfigError(
                    f"the nli judge model {str(self.model)!r} has labels {sorted(labels.values())}: none says entailment "
                    f"(one of {', '.join(SUPPORT_LABELS)}), so its verdicts cannot be read"
                )
            self._support = found[0]
        self._encoder = encoder
        return encoder

    def _budget(self, encoder: Any, statement: str) -> int:
        """How many tokens of premise fit beside the statement."""
        limit = int(getattr(encoder, "max_seq_length", None) or getattr(encoder, "max_length", None) or encoder.tokenizer.model_max_length or 512)
        limit = min(limit, 4096)
        return max(16, limit - len(encoder.tokenizer.tokenize(statement)) - 4)

    def _pieces(self, encoder: Any, text: str, budget: int) -> list[tuple[int, int]]:
        """The window cut into spans of at most ``budget`` tokens (at spaces where it can)."""
        tokens = len(encoder.tokenizer.tokenize(text))
        if tokens <= budget:
            return [(0, len(text))]
        parts = math.ceil(tokens / budget)
        size = math.ceil(len(text) / parts)
        spans, start = [], 0
        while start < len(text):
            end = min(len(text), start + size)
            if end < len(text):
                space = text.rfind(" ", start + size // 2, end)
                end = space if space > start else end
            spans.append((start, end))
            start = end
        return spans

    # -- judging -----------------------------------------------------------------------------

    def judge(self, statements: Sequence[str], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]:
        if (trivial := trivial_verdicts(statements, passages)) is not None:
            return trivial
        encoder = self._load()
        pairs: list[tuple[str, str]] = []
        owners: list[tuple[int, int, int, int]] = []  # (statement, passage, start, end) per pair
        for n, statement in enumerate(statements):
            budget = self._budget(encoder, statement)
            for index, start, end, _ in ranked_windows(statement, passages, question)[: self.windows_per_statement]:
                window = passages[index][start:end]
                for a, b in self._pieces(encoder, window, budget):
                    pairs.append((window[a:b], statement))
                    owners.append((n, index, start + a, start + b))
        scores = self._scores(encoder, pairs)
        return best_verdicts(statements, owners, scores, self.threshold, f"{self.name}: {'entailment' if self._support is not None else 'support'}")

    def _scores(self, encoder: Any, pairs: list[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        if self._support is None:
            raw = encoder.predict(pairs, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True)
            scores = [float(v) for v in raw.reshape(-1)]  # CrossEncoder applies a sigmoid to a one-output model
            return [1.0 - v for v in scores] if self._inverted else scores
        probabilities = encoder.predict(pairs, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True, apply_softmax=True)
        return [float(row[self._support]) for row in probabilities]
