"""``rag check --batch``: many answers in one process, one schema-checked line per row, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from tests.conftest import run_rag

pytestmark = pytest.mark.e2e

FAQ = "提现一般需要1个工作日。大额提现需要人工审核。客服全天在线,可以通过在线聊天联系。"


class Statement(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str
    supported: bool
    score: float
    reason: str


class Skipped(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str
    reason: str


class Checked(BaseModel):
    """The output line of a well-formed row (the schema of `rag check --help`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: str | int
    supported: bool
    score: float | None
    faithfulness: float | None
    statements: list[Statement]
    skipped: list[Skipped]


class Refused(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str | int
    error: str


def lines(result_stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in result_stdout.splitlines()]


def test_batch_checks_every_row_in_order_and_reports_malformed_rows(tmp_path: Path) -> None:
    rows = [
        {"id": "good", "answer": "提现一般需要1个工作日。", "passages": [FAQ], "question": "提现要多久?"},
        {"id": "swapped", "answer": "提现一般需要5个工作日。", "passages": [FAQ]},
        {"id": 7, "answer": "", "passages": [FAQ]},  # no statements: supported, score null
        {"id": "no-passages", "answer": "客服全天在线。", "passages": []},
        {"id": "meta", "answer": "以下是文档的摘要：根据文档，客服全天在线。希望对您有帮助。", "passages": [FAQ]},
    ]
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:2]) + "\n{not json\n" + "\n".join(
        json.dumps(r, ensure_ascii=False) for r in rows[2:]) + '\n{"id": "bad", "answer": 3, "passages": []}\n[1, 2]\n'
    batch = tmp_path / "rows.jsonl"
    batch.write_text(text, encoding="utf-8")
    result = run_rag("check", "--batch", str(batch))
    assert result.returncode == 2, result.stderr  # a malformed row wins over an unsupported one
    out = lines(result.stdout)
    assert [o["id"] for o in out] == ["good", "swapped", 3, 7, "no-passages", "meta", "bad", 8]  # input order; line numbers for rows without an id
    checked = {o["id"]: Checked.model_validate(o) for o in out if "error" not in o}
    refused = [Refused.model_validate(o) for o in out if "error" in o]
    assert checked["good"].supported and checked["good"].faithfulness == 1.0 and checked["good"].score is not None
    assert not checked["swapped"].supported and checked["swapped"].faithfulness == 0.0
    assert "number '5' not there" in checked["swapped"].statements[0].reason
    assert checked[7].supported and checked[7].score is None and checked[7].faithfulness is None and checked[7].statements == []
    assert not checked["no-passages"].supported and checked["no-passages"].statements[0].reason == "no passage to check against"
    meta = checked["meta"]  # the claim is judged; the lead and the courtesy are reported, not judged
    assert meta.supported and [s.text for s in meta.statements] == ["以下是文档的摘要：根据文档，客服全天在线。"]
    assert [(s.text, s.reason) for s in meta.skipped] == [("以下是文档的摘要：根据文档，", "framing"), ("希望对您有帮助。", "meta")]
    assert [r.error for r in refused] == ["line 3: not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
                                          "line 7: 'answer' must be a string", "line 8: a row must be a JSON object"]
    assert "checking" in result.stderr  # progress on stderr, never on stdout


def test_batch_exit_status_and_usage(tmp_path: Path) -> None:
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps({"id": 1, "answer": "大额提现需要人工审核。", "passages": [FAQ]}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run_rag("check", "--batch", str(ok)).returncode == 0
    unsupported = tmp_path / "no.jsonl"
    unsupported.write_text(json.dumps({"id": 1, "answer": "大额提现不需要审核,立即到账。", "passages": [FAQ]}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run_rag("check", "--batch", str(unsupported)).returncode == 3
    both = run_rag("check", "--batch", str(ok), "--answer", "x")
    assert both.returncode == 2 and "without --context and --answer" in both.stderr
    neither = run_rag("check")
    assert neither.returncode == 2 and "--batch FILE.jsonl" in neither.stderr
    assert "no such file" in run_rag("check", "--batch", str(tmp_path / "missing.jsonl")).stderr


