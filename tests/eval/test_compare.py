"""Comparing two reports: metrics and questions that moved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.compare import CompareError, compare_reports, format_comparison, read_report
from eval.report import Report
from tests.eval.report_fixtures import runner_row


def _report(values: dict[str, float | None], rows: list[dict[str, Any]], sha: str = "x") -> Report:
    """A report as the runner writes it, with these summary values and these rows (other keys defaulted)."""
    return Report.from_dict({
        "rag_eval_report": 1,
        "dataset": {"path": "d.jsonl", "name": "d", "rows": len(rows), "sha256": sha},
        "created": "2026-11-25T12:00:00Z",
        "duration_s": 1.0,
        "config": {},
        "versions": {},
        "summary": {
            k: {"value": v, "ci": None if v is None else [v - 0.01, v + 0.01], "n": 1, "nan": 0, "description": ""}
            for k, v in values.items()
        },
        "latency_ms": {},
        "thresholds": [],
        "passed": True,
        "rows": [runner_row(**row) for row in rows],
    })


def test_metrics_and_questions_that_got_better_and_worse() -> None:
    before = _report({"ndcg@10": 0.80, "faithfulness": 0.9}, [
        {"id": "a", "metrics": {"f1": 0.5}, "failures": [], "abstained": False},
        {"id": "b", "metrics": {"f1": 0.9}, "failures": [], "abstained": False},
        {"id": "gone", "metrics": {}, "failures": []},
    ])
    after = _report({"ndcg@10": 0.90, "faithfulness": 0.9}, [
        {"id": "a", "metrics": {"f1": 0.7}, "failures": [], "abstained": False},
        {"id": "b", "metrics": {"f1": 0.2}, "failures": ["the answer contains none of the reference answers"], "abstained": False},
        {"id": "new", "metrics": {}, "failures": []},
    ])
    result = compare_reports(before, after)
    ndcg = next(m for m in result["metrics"] if m["metric"] == "ndcg@10")
    assert ndcg["delta"] == pytest.approx(0.1) and ndcg["outside_intervals"] is True
    assert next(m for m in result["metrics"] if m["metric"] == "faithfulness")["delta"] == 0
    assert [(q["id"], q["verdict"]) for q in result["questions"]] == [("b", "worse"), ("a", "better")]
    assert result["questions"][0]["failures_gained"] == ["the answer contains none of the reference answers"]
    assert result["only_before"] == ["gone"] and result["only_after"] == ["new"]
    text = format_comparison(result)
    assert "1 question(s) worse" in text and "f1 0.900→0.200" in text


def test_different_datasets_are_noted(tmp_path: Path) -> None:
    result = compare_reports(_report({}, [], sha="1"), _report({}, [], sha="2"))
    assert result["same_dataset"] is False
    assert "different dataset" in format_comparison(result)


def test_read_report_refuses_other_files(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(CompareError, match="not a report.json"):
        read_report(other)
    with pytest.raises(CompareError, match="cannot read"):
        read_report(tmp_path / "missing.json")
    other.write_text(json.dumps({"rag_eval_report": 1, "rows": []}), encoding="utf-8")
    with pytest.raises(CompareError, match=r"not a report.json written by 'rag eval': report\.\w+ is missing"):
        read_report(other)


def test_read_report_reads_what_the_runner_writes(tmp_path: Path) -> None:
    report = _report({"f1": 0.5}, [{"id": "a", "metrics": {"f1": 0.5}}])
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report.to_dict()), encoding="utf-8")
    assert read_report(path) == report
