"""When the extractive answerer abstains: the evidence it decides on and the fitted logistic policy.

The weights, with the sentence selector's, are fitted by ``training/answerer.py`` on questions
built from the training splits of ``../shared/data`` (the threshold on its tuning split) and live
in ``rag/answering/answerer.json`` (:data:`DEFAULT_POLICY`, :data:`DEFAULT_SELECTOR`): JSON, read
with its provenance, never unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering.selection import CANDIDATE_FEATURES, SentenceSelector
from rag.domain import Answer, AnswerSentence, Passage
from rag.numeric import logistic
from rag.text.language import abstain_message

__all__ = ["ANSWERER_FILE", "DEFAULT_POLICY", "DEFAULT_SELECTOR", "FEATURES", "AbstentionPolicy", "Evidence", "abstention", "load_answerer"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What abstention is decided on, for one question (all features in [0, 1] or small reals)."""

    coverage: float  # rarity-weighted share of the question's countable terms found in the chosen sentences + heading
    passage_coverage: float  # the same, in the whole best passage
    unseen: float  # rarity-weighted share of countable terms the index has never seen
    type_missing: float  # 1 when the question asks for a number/year/duration and the chosen sentences have none
    dense: float  # cosine of the question and the best sentence
    dense_margin: float  # how far the best sentence stands out: (best - mean) / std over candidates
    cross_lingual: float  # 1 when the question's language differs from the evidence's
    countable: float  # how many question terms could be checked (0 when none: cross-lingual questions)
    names_missing: float = 0.0  # share of the question's names and numbers the best passage lacks
    selector: float = 0.0  # the sentence selector's probability that the best sentence holds the answer
    reader: float = 0.0  # the answer reader's highest probability over the sentences it read

    def vector(self) -> np.ndarray:
        return np.asarray(
            [self.coverage, self.passage_coverage, self.unseen, self.type_missing, self.dense, self.dense_margin,
             self.cross_lingual, min(self.countable, 5.0) / 5.0, self.names_missing, self.selector, self.reader],
            dtype=np.float64,
        )


FEATURES = ("coverage", "passage_coverage", "unseen", "type_missing", "dense", "dense_margin", "cross_lingual", "countable",
            "names_missing", "selector", "reader")


@dataclass(frozen=True, slots=True)
class AbstentionPolicy:
    """A logistic model over :class:`Evidence`: answer when P(supported) >= threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    fitted_on: str = ""

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"an abstention policy needs {len(FEATURES)} weights, got {len(self.weights)}")

    def support(self, evidence: Evidence) -> float:
        return self.support_of(evidence.vector())

    def support_of(self, vector: np.ndarray) -> float:
        """P(supported) of an :meth:`Evidence.vector`."""
        return logistic(float(np.dot(self.weights, vector) + self.bias))


ANSWERER_FILE = Path(__file__).with_name("answerer.json")


def _weights(table: dict[str, Any], names: Sequence[str], what: str) -> tuple[float, ...]:
    missing = [n for n in names if n not in table]
    if missing:
        raise ValueError(f"{what}: no weight for {', '.join(missing)}")
    return tuple(float(table[n]) for n in names)


def load_answerer(path: Path = ANSWERER_FILE) -> tuple[AbstentionPolicy, SentenceSelector]:
    """The abstention policy and the sentence selector stored by ``training/answerer.py --write``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        a, s = data["abstention"], data["selector"]
        fitted_on = str(data.get("fitted_on", ""))
        policy = AbstentionPolicy(_weights(a["weights"], FEATURES, "abstention"), float(a["bias"]), float(a["threshold"]), fitted_on)
        selector = SentenceSelector(_weights(s["weights"], CANDIDATE_FEATURES, "selector"), float(s["bias"]), float(s["margin"]), fitted_on)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not an answerer file ({exc})") from exc
    return policy, selector


DEFAULT_POLICY, DEFAULT_SELECTOR = load_answerer()


def abstention(
    question: str,
    language: str,
    generator: str,
    reason: str,
    *,
    support: float = 0.0,
    passages: Sequence[Passage] = (),
    sentences: Sequence[AnswerSentence] = (),
    notes: Sequence[str] = (),
) -> Answer:
    """The one way an abstained :class:`Answer` is made: the "the documents don't say" message in
    the question's ``language``, no citations, and why (``reason``)."""
    return Answer(
        question=question,
        text=abstain_message(language),
        abstained=True,
        citations=(),
        language=language,
        generator=generator,
        support=round(support, 4),
        reason=reason,
        passages=tuple(passages),
        sentences=tuple(sentences),
        notes=tuple(notes),
    )
