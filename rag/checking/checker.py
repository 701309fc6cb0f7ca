"""The checker: an answer split into statements, each judged against its passages, aggregated."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from rag.checking.judges import LexicalJudge
from rag.checking.statements import split_statements
from rag.domain import FaithfulnessResult, Statement, StatementVerdict
from rag.protocols import Judge

__all__ = ["FaithfulnessChecker", "check_answer"]


class FaithfulnessChecker:
    """Splits an answer into statements and has a :class:`Judge` check each against the passages."""

    def __init__(self, judge: Judge | None = None) -> None:
        self.judge = judge or LexicalJudge()

    def check(
        self,
        answer: str,
        passages: Sequence[str],
        question: str | None = None,
        *,
        abstained: bool = False,
    ) -> FaithfulnessResult:
        """Score ``answer`` against ``passages`` (all of them; see :meth:`check_cited` for the cited ones)."""
        if abstained:
            return FaithfulnessResult((), math.nan, "abstained", self.judge.name)
        statements = split_statements(answer)
        if not statements:
            return FaithfulnessResult((), math.nan, "the answer has no statements", self.judge.name)
        if not passages:
            verdicts = tuple(StatementVerdict(s, False, 0.0, "no passage to check against") for s in statements)
            return FaithfulnessResult(verdicts, 0.0, None, self.judge.name)
        judged = self.judge.judge([s.text for s in statements], passages, question)
        verdicts = tuple(_at(v, s) for v, s in zip(judged, statements))
        return FaithfulnessResult(verdicts, sum(v.supported for v in verdicts) / len(verdicts), None, self.judge.name)

    def supports(self, statement: str, passages: Sequence[str], question: str | None = None) -> StatementVerdict:
        """One statement against some passages (the citation metrics ask this for subsets of citations)."""
        return self.judge.judge([statement], passages, question)[0]

    def check_cited(
        self, answer: str, passages: Mapping[int, str], question: str | None = None
    ) -> list[tuple[Statement, StatementVerdict | None]]:
        """Each statement against the passages its markers cite (``passages`` maps marker to text);
        ``None`` for a statement that cites nothing it can be checked against."""
        out: list[tuple[Statement, StatementVerdict | None]] = []
        for statement in split_statements(answer):
            cited = [passages[m] for m in statement.markers if m in passages]
            out.append((statement, _at(self.supports(statement.text, cited, question), statement) if cited else None))
        return out


def _at(verdict: StatementVerdict, statement: Statement) -> StatementVerdict:
    return replace(verdict, statement=statement)


def check_answer(answer: str, passages: Sequence[str], question: str | None = None, *, judge: Judge | None = None) -> FaithfulnessResult:
    """Check ``answer`` statement by statement against ``passages`` with ``judge`` (the offline
    :class:`LexicalJudge` by default): the one-call form of :meth:`FaithfulnessChecker.check`."""
    return FaithfulnessChecker(judge).check(answer, passages, question)
