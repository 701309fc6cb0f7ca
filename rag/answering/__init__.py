"""Answering a question from retrieved passages.

- :mod:`rag.answering.extractive`: answers without a language model, the sentences of the
  passages that answer, each cited (:class:`ExtractiveGenerator`);
- :mod:`rag.answering.answer_types`: what kind of answer a question asks for;
- :mod:`rag.answering.policy`: when to abstain (:class:`AbstentionPolicy`, fitted);
- :mod:`rag.answering.generation`: a language model's reply, checked sentence by sentence
  before release (the model-independent half of the LLM path).
"""

from __future__ import annotations

from rag.answering.answer_types import expected_answer_type, has_answer_type
from rag.answering.extractive import ExtractiveGenerator
from rag.answering.policy import DEFAULT_POLICY, FEATURES, AbstentionPolicy, Evidence, abstention

__all__ = [
    "DEFAULT_POLICY",
    "FEATURES",
    "AbstentionPolicy",
    "Evidence",
    "ExtractiveGenerator",
    "abstention",
    "expected_answer_type",
    "has_answer_type",
]
