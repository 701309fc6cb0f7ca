"""Compare two evaluation reports: what got better and what got worse.

Per metric: both point estimates, the change, and whether the change is outside both bootstrap
intervals (a rough "this is not noise" flag, not a test). Per question (rows matched by ``id``):
every metric that changed, abstentions that appeared or went away, failures gained or lost.
Rows present in only one report are listed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.report import Report, ReportFormatError, Summary
from rag.errors import CompareError

__all__ = ["CompareError", "compare_reports", "format_comparison", "read_report"]


def read_report(path: Path) -> Report:
    """Load a ``report.json`` written by ``rag eval``; :class:`CompareError` for anything else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompareError(f"cannot read report {path}: {exc}") from exc
    if not isinstance(data, dict) or "rag_eval_report" not in data or not isinstance(data.get("rows"), list):
        raise CompareError(f"{path} is not a report.json written by 'rag eval'")
    try:
        return Report.from_dict(data)
    except ReportFormatError as exc:
        raise CompareError(f"{path} is not a report.json written by 'rag eval': {exc}") from exc


def _metric_change(name: str, a: Summary | None, b: Summary | None) -> dict[str, Any]:
    va = None if a is None else a.value
    vb = None if b is None else b.value
    delta = None if va is None or vb is None else round(vb - va, 6)
    clear = False
    if delta and a and b and a.ci and b.ci and va is not None and vb is not None:
        clear = vb > a.ci[1] and va < b.ci[0] if delta > 0 else vb < a.ci[0] and va > b.ci[1]
    return {"metric": name, "before": va, "after": vb, "delta": delta, "outside_intervals": clear}


def compare_reports(before: Report, after: Report) -> dict[str, Any]:
    """The comparison as plain data (what ``rag eval compare --json`` prints)."""
    sa, sb = before.summary, after.summary
    metrics = [_metric_change(n, sa.get(n), sb.get(n)) for n in list(dict.fromkeys([*sa, *sb]))]
    rows_a = {r.id: r for r in before.rows}
    rows_b = {r.id: r for r in after.rows}
    questions: list[dict[str, Any]] = []
    for row_id in rows_a.keys() & rows_b.keys():
        a, b = rows_a[row_id], rows_b[row_id]
        changed = {}
        for name in dict.fromkeys([*a.metrics, *b.metrics]):
            va, vb = a.metrics.get(name), b.metrics.get(name)
            if va != vb:
                changed[name] = {"before": va, "after": vb}
        gained = [f for f in b.failures if f not in a.failures]
        lost = [f for f in a.failures if f not in b.failures]
        if changed or gained or lost or a.abstained != b.abstained:
            better = sum(1 for c in changed.values() if c["before"] is not None and c["after"] is not None and c["after"] > c["before"])
            worse = sum(1 for c in changed.values() if c["before"] is not None and c["after"] is not None and c["after"] < c["before"])
            questions.append({
                "id": row_id,
                "user_input": b.user_input,
                "verdict": "better" if better > worse else "worse" if worse > better else "changed",
                "metrics": changed,
                "abstained": {"before": a.abstained, "after": b.abstained},
                "failures_gained": gained,
                "failures_fixed": lost,
            })
    questions.sort(key=lambda q: ({"worse": 0, "changed": 1, "better": 2}[q["verdict"]], str(q["id"])))
    return {
        "before": {"dataset": before.dataset.to_dict(), "created": before.created, "config": dict(before.config)},
        "after": {"dataset": after.dataset.to_dict(), "created": after.created, "config": dict(after.config)},
        "same_dataset": before.dataset.sha256 == after.dataset.sha256,
        "metrics": metrics,
        "questions": questions,
        "only_before": sorted(rows_a.keys() - rows_b.keys()),
        "only_after": sorted(rows_b.keys() - rows_a.keys()),
    }


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def format_comparison(result: Mapping[str, Any], max_questions: int = 20) -> str:
    """The comparison for people: metrics table, then the questions that got worse and better."""
    lines = []
    if not result["same_dataset"]:
        lines.append("note: the two reports were made on different dataset files")
    lines.append(f"{'metric':24} {'before':>7} {'after':>7} {'change':>8}")
    for m in result["metrics"]:
        delta = "" if m["delta"] is None else f"{m['delta']:+.3f}"
        flag = "  *" if m["outside_intervals"] else ""
        lines.append(f"{m['metric']:24} {_fmt(m['before']):>7} {_fmt(m['after']):>7} {delta:>8}{flag}")
    lines.append("(* the change lies outside both bootstrap intervals)")
    for verdict in ("worse", "better", "changed"):
        group = [q for q in result["questions"] if q["verdict"] == verdict]
        if not group:
            continue
        lines.append(f"\n{len(group)} question(s) {verdict}:")
        for q in group[:max_questions]:
            moves = ", ".join(f"{k} {_fmt(v['before']).strip()}→{_fmt(v['after']).strip()}" for k, v in q["metrics"].items())
            lines.append(f"  {q['id']}: {q['user_input'][:60]}")
            if moves:
                lines.append(f"      {moves}")
            for f in q["failures_gained"]:
                lines.append(f"      + {f}")
            for f in q["failures_fixed"]:
                lines.append(f"      - {f}")
        if len(group) > max_questions:
            lines.append(f"  ... and {len(group) - max_questions} more (--json lists all)")
    for key, label in (("only_before", "only in BEFORE"), ("only_after", "only in AFTER")):
        if result[key]:
            lines.append(f"\n{len(result[key])} row(s) {label}: {', '.join(map(str, result[key][:10]))}")
    return "\n".join(lines)
