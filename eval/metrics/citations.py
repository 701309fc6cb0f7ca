"""Citation recall and precision, as the ALCE benchmark defines them (Gao et al., 2023,
"Enabling Large Language Models to Generate Text with Citations"; ``eval.py``, ``compute_autoais``),
with our checker as the judge in place of ALCE's NLI model:

- **recall**, per statement: 1 when the passages it cites, together, support it; 0 when they do
  not or when it cites nothing. Row value: the mean over statements.
- **precision**, per citation: a statement that is supported by its citations and cites more
  than one passage has each citation checked: it is *irrelevant* when it does not support the
  statement alone AND the other citations still support it without it; every other citation
  of a supported statement is precise. Citations of an unsupported statement are not precise.
  Row value: precise citations / citations (NaN when the answer cites nothing).

An abstention has no statements and no citations: both NaN with the reason "abstained".
"""

from __future__ import annotations

from collections.abc import Mapping

from eval.metrics import MetricResult, nan
from rag.checking import FaithfulnessChecker, extract_claims

__all__ = ["citation_scores"]


def citation_scores(
    checker: FaithfulnessChecker, answer: str, cited: Mapping[int, str], question: str | None = None, *, abstained: bool = False
) -> tuple[MetricResult, MetricResult]:
    """(recall, precision) of an answer whose markers ``[n]`` point into ``cited`` (marker -> passage text)."""
    if abstained:
        return nan("citation_recall", "abstained"), nan("citation_precision", "abstained")
    statements = extract_claims(answer).statements
    if not statements:
        reason = "the answer has no statements"
        return nan("citation_recall", reason), nan("citation_precision", reason)
    per_statement = []
    supported_total = 0
    precise_total = 0
    citations_total = 0
    for statement in statements:
        markers = [m for m in statement.markers if m in cited]
        dangling = [m for m in statement.markers if m not in cited]
        entry: dict[str, object] = {"text": statement.text, "citations": markers, "dangling": dangling}
        if not markers:
            entry |= {"supported": False, "reason": "cites nothing" if not dangling else "cites only markers that point nowhere"}
            per_statement.append(entry)
            citations_total += len(dangling)
            continue
        joint = checker.supports(statement, [cited[m] for m in markers], question)
        supported_total += joint.supported
        citations_total += len(markers) + len(dangling)
        precise: list[int] = []
        if joint.supported and len(markers) > 1:
            for m in markers:
                alone = checker.supports(statement, [cited[m]], question).supported
                rest = [cited[o] for o in markers if o != m]
                if alone or not checker.supports(statement, rest, question).supported:
                    precise.append(m)
        elif joint.supported:
            precise = markers
        precise_total += len(precise)
        entry |= {"supported": joint.supported, "score": round(joint.score, 4), "reason": joint.reason, "precise": precise}
        per_statement.append(entry)
    recall = MetricResult("citation_recall", supported_total / len(statements), None, {"statements": per_statement})
    if citations_total == 0:
        precision = nan("citation_precision", "the answer cites nothing", statements=per_statement)
    else:
        precision = MetricResult("citation_precision", precise_total / citations_total, None, {"statements": per_statement})
    return recall, precision
