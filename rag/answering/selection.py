"""Which retrieved sentence answers the question: the features of each candidate sentence and the
learned linear ranker over them (issue 15).

The ranker is a logistic model of "this sentence holds the answer", fitted by
``training/answerer.py`` on questions built from ``../shared/data`` (XQuAD, CMRC2018, HaluEval QA
training splits); its weights live in ``rag/answering/answerer.json`` beside the abstention
policy's. It reads what the embedder and the lexical evidence say about a sentence, not the words
themselves, so it ranks sentences of any corpus.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering.answer_types import has_answer_type
from rag.text.terms import contains_term

__all__ = ["CANDIDATE_FEATURES", "QUALIFIER", "SentenceSelector", "candidate_vector"]

# A sentence that qualifies the one before it ("当然，部分高级服务可能会涉及费用" after "客服服务是免费的"):
# shown alone it says the opposite of the answer, so it never is (issue 15).
QUALIFIER = re.compile(
    r"^(of course|however|but|even so|that said|nevertheless|nonetheless|otherwise|on the other hand)\b|^(当然|但是|但|然而|不过|只是|否则|相反|反之)",
    re.IGNORECASE,
)

CANDIDATE_FEATURES = (
    "z_dense",  # the question-sentence cosine, standardised over the candidates (clipped to +-4)
    "dense",  # the cosine itself
    "lexical",  # rarity-weighted share of the question's terms in the sentence or its heading
    "text_lexical",  # the same in the sentence alone
    "type_has",  # the question asks for a number/year/duration/person and the sentence has one
    "type_lacks",  # ... and the sentence has none
    "echo",  # share of the sentence's characters that are the question's own terms (a restatement)
    "passage_rank",  # 1 / retrieval rank of its passage
    "first",  # the first sentence of its passage
    "length",  # characters / 300, at most 1
    "qualifier",  # opens with however/但是/当然...
    "asks",  # the sentence is itself a question
    "names",  # share of the question's names and numbers the sentence holds (1 when it has none)
    "passage_names",  # the same for the sentence's whole passage
    "reader",  # the answer reader's probability that it holds the answer (0 for a sentence it did not read)
)


def candidate_vector(
    *,
    z_dense: float,
    dense: float,
    lexical: float,
    text_lexical: float,
    expected: str | None,
    text: str,
    covered: Sequence[str],
    passage_rank: int,
    first: bool,
    question_names: Sequence[str],
    passage_text: str,
    reader: float = 0.0,
) -> np.ndarray:
    """One candidate's features, in the order of :data:`CANDIDATE_FEATURES`."""
    stripped = text.strip()
    size = max(1, len(stripped))
    echo = min(1.0, sum(len(t) for t in covered if contains_term(stripped, t)) / size)
    has = has_answer_type(stripped, expected) if expected else False
    if question_names:
        names = sum(contains_term(stripped, n) for n in question_names) / len(question_names)
        passage_names = sum(contains_term(passage_text, n) for n in question_names) / len(question_names)
    else:
        names = passage_names = 1.0
    return np.asarray(
        [
            max(-4.0, min(4.0, z_dense)),
            dense,
            lexical,
            text_lexical,
            float(bool(expected) and has),
            float(bool(expected) and not has),
            echo,
            1.0 / max(1, passage_rank),
            float(first),
            min(1.0, size / 300.0),
            float(bool(QUALIFIER.match(stripped))),
            float(stripped.endswith(("?", "？"))),
            names,
            passage_names,
            reader,
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class SentenceSelector:
    """A linear score over :data:`CANDIDATE_FEATURES` (a logit of "holds the answer"); sentences
    within ``margin`` of the best one may join it when they add question terms."""

    weights: tuple[float, ...]
    bias: float = 0.0
    margin: float = 0.5
    fitted_on: str = ""

    def __post_init__(self) -> None:
        if len(self.weights) != len(CANDIDATE_FEATURES):
            raise ValueError(f"a sentence selector needs {len(CANDIDATE_FEATURES)} weights, got {len(self.weights)}")

    def scores(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features @ np.asarray(self.weights) + self.bias, dtype=np.float64)

    def probability(self, score: float) -> float:
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))
