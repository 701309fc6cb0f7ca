"""``judge = "learned"``: the lexical judge first, the learned cross-encoder for what it cannot settle.

The lexical judge (rag.checking.judges) is sure in two ways: a statement it supports is quoted or
lightly edited from one window (faithfulness 1.0 on extractive answers, fact-swap AUROC 0.995),
and a statement it rejects for a number or name the passages lack, or for a flipped negation or
opposite word (rag.checking.cues), is false in a way a reworded sentence cannot fix. What it
rejects for anything else (words not found, word pairs broken) may be a faithful paraphrase: only
those statements go to the learned judge (rag.checking.learned), which must reach its own
threshold, fixed on the tuning split (``cascade_threshold`` in the model's config.json). The
verdict keeps the span it rests on and says which judge decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.checking.judges import LexicalJudge
from rag.checking.learned import LearnedJudge
from rag.domain import StatementVerdict

__all__ = ["CascadeJudge"]


@dataclass
class CascadeJudge:
    """A :class:`rag.protocols.Judge`: :class:`LexicalJudge`, then :class:`LearnedJudge` for the
    statements the lexical one rejects without a hard reason (module docstring)."""

    learned: LearnedJudge
    lexical: LexicalJudge = field(default_factory=LexicalJudge)
    threshold: float | None = None  # default: cascade_threshold from the model's config.json
    name: str = "learned"

    def load(self) -> float:
        """Load (and check) the learned model; the learned score a reworded statement needs."""
        self.learned._load()
        if self.threshold is None:
            self.threshold = float(self.learned._config.get("cascade_threshold", self.learned.threshold or 0.5))
        return self.threshold

    def judge(self, statements: Sequence[str], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]:
        first = self.lexical.judge(statements, passages, question)
        open_ = [n for n, v in enumerate(first) if self._undecided(v)]
        if not open_:
            return first
        threshold = self.load()
        second = self.learned.judge([statements[n] for n in open_], passages, question)
        out = list(first)
        for n, verdict in zip(open_, second):
            if verdict.score >= threshold:
                e = verdict.evidence
                where = f"passage [{e.passage + 1}] chars {e.start}-{e.end}" if e is not None else "the passages"
                reason = f"supported by {where} (reworded; learned judge {verdict.score:.2f} >= {threshold:.2f})"
                out[n] = StatementVerdict(first[n].statement, True, verdict.score, reason, verdict.evidence)
            else:
                out[n] = StatementVerdict(first[n].statement, False, first[n].score,
                                          f"{first[n].reason}; learned judge {verdict.score:.2f} < {threshold:.2f}", first[n].evidence)
        return out

    @staticmethod
    def _undecided(verdict: StatementVerdict) -> bool:
        """Rejected for want of the same words only: no number or name missing, no contradiction."""
        e = verdict.evidence
        return not verdict.supported and e is not None and not (e.missing_numbers or e.missing_entities or e.contradiction)
