"""``rag eval``, ``rag eval compare`` and ``rag check`` as a user runs them: the real command, the
real e5 embedder, a real index built from the dataset's inline corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, run_rag

pytestmark = [pytest.mark.e2e, pytest.mark.model]

ENGLISH_DOC = (
    "Withdrawals are processed within one business day. Deposits in bitcoin need three network "
    "confirmations before they are credited. The support team answers by live chat and by email."
)


def _dataset(path: Path, rows: list[dict[str, object]]) -> Path:
    header = {
        "rag_eval": 1,
        "name": "mini",
        "corpus": {
            "documents": [
                {"name": "faq.zh.txt", "text": SAMPLE.read_text(encoding="utf-8")},
                {"name": "support.en.txt", "text": ENGLISH_DOC},
            ]
        },
    }
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [header, *rows]) + "\n", encoding="utf-8")
    return path


ROWS: list[dict[str, object]] = [
    {"id": "c03", "user_input": "优秀的客服团队应该通过哪些方式响应用户?", "reference": ["在线聊天、电子邮件还是电话"], "reference_sources": ["faq.zh.txt"]},
    {"id": "c05", "user_input": "客服可以解答哪些常见的技术问题?", "reference": ["如何提现"], "reference_sources": ["faq.zh.txt"]},
    {"id": "e01", "user_input": "How many confirmations does a bitcoin deposit need?", "reference": ["three network confirmations", "three"], "reference_sources": ["support.en.txt"]},
    {"id": "u01", "user_input": "比特币的总量上限是多少?", "answerable": False},
    {"id": "u02", "user_input": "Coinbase是哪一年成立的?", "answerable": False},
]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("eval")
    dataset = _dataset(root / "mini.jsonl", ROWS)
    result = run_rag(
        "eval", str(dataset), "--index", str(root / "idx"), "--out", str(root / "out"),
        "--fail-under", "ndcg@10=0.5,abstention_accuracy=0.6", cwd=root, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Corpus ingested" in result.stdout and "PASS ndcg@10" in result.stdout
    report = json.loads((root / "out" / "report.json").read_text(encoding="utf-8"))
    return root, dataset, report


def test_report_json_has_every_row_metric_config_and_version(evaluated: tuple[Path, Path, dict[str, object]]) -> None:
    _root, _dataset_path, report = evaluated
    rows = report["rows"]
    assert isinstance(rows, list) and [r["id"] for r in rows] == [r["id"] for r in ROWS]
    summary = report["summary"]
    assert isinstance(summary, dict)
    for metric in ("hit@1", "ndcg@10", "f1", "faithfulness", "citation_recall", "citation_precision", "abstention_accuracy"):
        assert metric in summary
        value = summary[metric]["value"]
        assert value is None or 0.0 <= value <= 1.0
    assert summary["ndcg@10"]["n"] == 3 and summary["abstain_on_unanswerable"]["n"] == 2
    assert report["config"]["generator"] == "extractive" and "e5" in report["config"]["embedder"]
    assert "faiss-cpu" in report["versions"] and report["passed"] is True
    for row in rows:
        assert row["latency_ms"] > 0
        if row["answerable"]:
            assert row["metrics"]["ndcg@10"] is not None
            if not row["abstained"]:  # every citation is exactly the stored text
                for c in row["citations"]:
                    assert c["text"] and c["end"] > c["start"]
                assert all(s["supported"] in (True, False) for s in row["statements"])
        else:
            assert row["metrics"]["ndcg@10"] is None and row["nan_reasons"]["ndcg@10"] == "unanswerable question"
            assert row["metrics"]["abstain_on_unanswerable"] in (0.0, 1.0)
        if row["abstained"]:
            assert row["metrics"]["faithfulness"] is None and row["nan_reasons"]["faithfulness"] == "abstained"
    english = next(r for r in rows if r["id"] == "e01")
    assert not english["abstained"] and english["metrics"]["answer_contains"] == 1.0
    assert english["retrieved"][0] == {"source": english["retrieved"][0]["source"], "rank": 1, "relevant": True}


def test_report_html_is_offline_and_shows_the_questions(evaluated: tuple[Path, Path, dict[str, object]]) -> None:
    root, _dataset_path, _report = evaluated
    html = (root / "out" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "优秀的客服团队" in html
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)


def test_fail_under_exits_3_and_compare_shows_what_changed(evaluated: tuple[Path, Path, dict[str, object]]) -> None:
    root, dataset, _report = evaluated
    strict = run_rag(
        "eval", "run", str(dataset), "--index", str(root / "idx"), "--out", str(root / "out-k1"),
        "-k", "1", "--fail-under", "hit@1=1.0,exact_match=0.9", "--json", cwd=root, timeout=600,
    )
    assert strict.returncode == 3, strict.stdout + strict.stderr
    summary = json.loads(strict.stdout)
    assert summary["passed"] is False
    failed = {t["metric"] for t in summary["thresholds"] if not t["passed"]}
    assert "exact_match" in failed  # extractive answers quote whole sentences: never an exact span
    compared = run_rag("eval", "compare", str(root / "out" / "report.json"), str(root / "out-k1" / "report.json"), "--json")
    assert compared.returncode == 0, compared.stderr
    data = json.loads(compared.stdout)
    assert data["same_dataset"] is True
    assert {m["metric"] for m in data["metrics"]} >= {"ndcg@10", "faithfulness"}
    text = run_rag("eval", "compare", str(root / "out" / "report.json"), str(root / "out-k1" / "report.json")).stdout
    assert "metric" in text and "before" in text


def test_eval_scores_faithfulness_with_the_nli_judge(evaluated: tuple[Path, Path, dict[str, object]]) -> None:
    from tests.tools.tiny_nli import tiny_nli

    root, dataset, _report = evaluated
    model = tiny_nli(root / "nli-refuses", labels={0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}, favour=0)
    result = run_rag("eval", "run", str(dataset), "--index", str(root / "idx"), "--out", str(root / "out-nli"),
                     "--judge", "nli", "--judge-model", str(model), cwd=root, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((root / "out-nli" / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["judge"] == "nli nli-refuses"
    answered = [r for r in report["rows"] if not r["abstained"]]
    assert answered and all(r["metrics"]["faithfulness"] == 0.0 for r in answered)  # the judge refuses every statement
    assert all("nli nli-refuses" in s["reason"] for r in answered for s in r["statements"])


def test_bad_thresholds_and_datasets_give_one_line_errors(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path / "d.jsonl", ROWS[:1])
    percent = run_rag("eval", str(dataset), "--fail-under", "faithfulness=90")
    assert percent.returncode == 1 and "0.90" in percent.stderr and "Traceback" not in percent.stderr
    unknown = run_rag("eval", str(dataset), "--fail-under", "faithfullness=0.9")
    assert unknown.returncode == 1 and "faithfulness" in unknown.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"user_input": "q"}\n{"user_input": \n', encoding="utf-8")
    result = run_rag("eval", str(broken))
    assert result.returncode == 1 and "line 2" in result.stderr and "Traceback" not in result.stderr
    missing = run_rag("eval", str(tmp_path / "nope.jsonl"))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr


def test_import_squad_then_evaluate_retrieval_only_rows(tmp_path: Path) -> None:
    sample = Path(__file__).parent / "data" / "xquad.zh.sample.json"
    out = tmp_path / "xq.jsonl"
    result = run_rag("eval", "import", "squad", str(sample), "-o", str(out), "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert "3 rows" in result.stdout
    lines = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["rag_eval"] == 1 and len(lines) == 4


def test_check_scores_an_answer_statement_by_statement(tmp_path: Path) -> None:
    context = tmp_path / "support.txt"
    context.write_text(ENGLISH_DOC, encoding="utf-8")
    good = run_rag("check", "--context", str(context), "--answer", "Withdrawals are processed within one business day [1].", "--json")
    assert good.returncode == 0, good.stderr
    data = json.loads(good.stdout)
    assert data["faithfulness"] == 1.0 and data["statements"][0]["supported_by_citations"] is True
    bad = run_rag(
        "check", "--context", str(context), "--question", "How long do withdrawals take?",
        "--answer", "Withdrawals are processed within one business day. Deposits need twelve confirmations on Ethereum.",
    )
    assert bad.returncode == 3, bad.stdout + bad.stderr
    assert "✓ 1." in bad.stdout and "✗ 2." in bad.stdout and "0.50" in bad.stdout
