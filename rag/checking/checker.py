"""The checker: an answer split into statements, each judged against its passages, aggregated."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from rag.checking.claims import extract_claims
from rag.checking.judges import LexicalJudge
from rag.domain import FaithfulnessResult, Statement, StatementVerdict
from rag.protocols import Judge

__all__ = ["FaithfulnessChecker", "check_answer"]


class FaithfulnessChecker:
    """Splits an answer into claims (:func:`rag.checking.claims.extract_claims`: meta-sentences,
    questions and headings skipped, framing leads cut off) and has a :class:`Judge` check each
    against the passages."""

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
        statements, skipped = extract_claims(answer)
        if not statements:
            reason = "the answer has no statements" if not skipped else "the answer makes no claim (only meta-sentences, questions or headings)"
            return FaithfulnessResult((), math.nan, reason, self.judge.name, tuple(skipped))
        if not passages:
            verdicts = tuple(StatementVerdict(s, False, 0.0, "no passage to check against") for s in statements)
            return FaithfulnessResult(verdicts, 0.0, None, self.judge.name, tuple(skipped))
        judged = self.judge_all(statements, passages, question)
        verdicts = tuple(_at(v, s) for v, s in zip(judged, statements))
        return FaithfulnessResult(verdicts, sum(v.supported for v in verdicts) / len(verdicts), None, self.judge.name, tuple(skipped))

    def judge_all(self, statements: Sequence[Statement], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]:
        """Each statement's claim judged, with the question it carries discounted as well; one
        judge call per distinct question (usually one)."""
        groups: dict[str | None, list[int]] = {}
        for i, statement in enumerate(statements):
            groups.setdefault(statement.question(question), []).append(i)
        out: list[StatementVerdict | None] = [None] * len(statements)
        for asked, members in groups.items():
            verdicts = self.judge.judge([statements[i].claim for i in members], passages, asked)
            if len(verdicts) != len(members):
                raise RuntimeError(f"judge {self.judge.name} returned {len(verdicts)} verdicts for {len(members)} statements")
            for i, verdict in zip(members, verdicts):
                out[i] = verdict
        return [v for v in out if v is not None]

    def supports(self, statement: str | Statement, passages: Sequence[str], question: str | None = None) -> StatementVerdict:
        """One statement against some passages (the citation metrics ask this for subsets of
        citations); a :class:`Statement` is judged by its claim, with the question it carries."""
        if isinstance(statement, Statement):
            return self.judge.judge([statement.claim], passages, statement.question(question))[0]
        return self.judge.judge([statement], passages, question)[0]

    def check_cited(
        self, answer: str, passages: Mapping[int, str], question: str | None = None
    ) -> list[tuple[Statement, StatementVerdict | None]]:
        """Each statement against the passages its markers cite (``passages`` maps marker to text);
        ``None`` for a statement that cites nothing it can be checked against."""
        out: list[tuple[Statement, StatementVerdict | None]] = []
        for statement in extract_claims(answer).statements:
            cited = [passages[m] for m in statement.markers if m in passages]
            out.append((statement, _at(self.supports(statement, cited, question), statement) if cited else None))
        return out


def _at(verdict: StatementVerdict, statement: Statement) -> StatementVerdict:
    return replace(verdict, statement=statement)


def check_answer(answer: str, passages: Sequence[str], question: str | None = None, *, judge: Judge | None = None) -> FaithfulnessResult:
    """Check ``answer`` statement by statement against ``passages`` with ``judge`` (the offline
    :class:`LexicalJudge` by default): the one-call form of :meth:`FaithfulnessChecker.check`."""
    return FaithfulnessChecker(judge).check(answer, passages, question)
