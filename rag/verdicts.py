"""What the faithfulness checker says: an answer's statements, what it skipped, the evidence a
verdict rests on, the verdicts and their aggregate. Frozen domain objects like those of
:mod:`rag.domain` (which re-exports them); kept in their own module so each stays short."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FaithfulnessResult", "SkippedText", "Statement", "StatementVerdict", "SupportEvidence"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of an answer, without its citation markers; ``start``/``end`` locate it in the answer.

    ``lead`` counts the characters of ``text`` that only frame the claim ("根据文档，", "According
    to the passage, "): the judge checks :attr:`claim`, the rest. ``asks`` is the question the
    statement answers when it says so itself ("Who acquired Instagram: Facebook." or a question
    sentence just before it): its words are the question's, not evidence to find.
    """

    text: str
    start: int
    end: int
    markers: tuple[int, ...] = ()
    lead: int = 0
    asks: str = ""

    @property
    def claim(self) -> str:
        """What is checked: the text without its framing lead, after the question it answers when
        that question is a sentence of its own ("Who acquired Instagram?" + "Facebook.")."""
        claim = self.text[self.lead :].strip()
        return claim if not self.asks or self.asks in claim else f"{self.asks} {claim}"

    def question(self, asked: str | None) -> str | None:
        """The question to discount when judging it: the one asked and the words of the one it
        carries (not its numbers: those are part of what the statement says, and are checked)."""
        carried = re.sub(r"\d+(?:[.,:]\d+)*", " ", self.asks).strip()
        return " ".join(q for q in (asked, carried) if q) or None


@dataclass(frozen=True, slots=True)
class SkippedText:
    """A stretch of an answer that makes no claim, so is not judged: ``reason`` is ``"meta"`` (it
    announces or closes the answer: "Here is a concise summary:", "以下是要点："), ``"framing"``
    (a lead that says where the claim comes from: "根据文档，"), ``"question"`` or ``"heading"``."""

    text: str
    start: int
    end: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """As reports and ``rag check`` show it: ``{"text", "reason"}``."""
        return {"text": self.text, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class SupportEvidence:
    """What a verdict rests on: the best window of the best passage, and the features there."""

    passage: int  # index of the passage (0-based) holding the best window
    start: int  # the window's character span in that passage
    end: int
    coverage: float
    novel_coverage: float
    sentence_coverage: float
    similarity: float  # NaN without an embedder
    pair_coverage: float = 1.0
    missing_terms: tuple[str, ...] = ()
    missing_numbers: tuple[str, ...] = ()
    missing_entities: tuple[str, ...] = ()
    contradiction: str | None = None  # why the statement contradicts the window (rag.checking.cues), if it does

    def vector(self) -> np.ndarray:
        similarity = 0.0 if math.isnan(self.similarity) else self.similarity
        return np.asarray(
            [
                self.coverage,
                self.novel_coverage,
                self.sentence_coverage,
                1.0 if self.missing_numbers else 0.0,
                1.0 if self.missing_entities else 0.0,
                similarity,
                self.pair_coverage,
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True, slots=True)
class StatementVerdict:
    """A statement, whether the passages support it, how strongly (0-1) and why."""

    statement: Statement
    supported: bool
    score: float
    reason: str
    evidence: SupportEvidence | None = None

    def to_dict(self) -> dict[str, Any]:
        """A verdict as reports show it (``rows[*].statements[*]`` of ``report.json``): the
        statement's text and markers (``citations``), ``supported``, ``score`` rounded to 4
        places and ``reason``. Dropped: the statement's span and the evidence."""
        return {
            "text": self.statement.text,
            "supported": self.supported,
            "score": round(self.score, 4),
            "reason": self.reason,
            "citations": list(self.statement.markers),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatementVerdict:
        """Read :meth:`to_dict`'s shape: the statement spans its whole text (``0..len``), no evidence."""
        text = data["text"]
        return cls(Statement(text, 0, len(text), tuple(data["citations"])), data["supported"], data["score"], data["reason"])


@dataclass(frozen=True, slots=True)
class FaithfulnessResult:
    """Per-statement verdicts and the share supported (NaN with ``reason`` when there is nothing to score)."""

    verdicts: tuple[StatementVerdict, ...]
    score: float
    reason: str | None = None
    judge: str = ""
    skipped: tuple[SkippedText, ...] = ()  # what was not judged, and why

    @property
    def supported(self) -> int:
        return sum(1 for v in self.verdicts if v.supported)
