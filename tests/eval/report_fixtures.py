"""Report fixtures shaped exactly as ``eval.runner`` writes ``report.json`` (shared by the report tests)."""

from __future__ import annotations

import json
from typing import Any

from eval.report import Report
from eval.report_html import render_report_html

__all__ = ["ROW_DEFAULTS", "render", "runner_row", "statement", "synthetic_report"]


def statement(text: str, supported: bool | None, reason: str, cites: list[int], score: float | None) -> dict[str, Any]:
    return {"text": text, "supported": supported, "score": score, "reason": reason, "citations": cites}


# A row's keys in the order the runner writes them, with the values of an answered row by default.
ROW_DEFAULTS: dict[str, Any] = {
    "id": "", "user_input": "", "answerable": True, "reference": [], "reference_sources": [], "answer": "",
    "abstained": False, "abstain_reason": None, "generator": "extractive", "support": 0.0, "citations": [],
    "retrieved": [], "statements": [], "metrics": {}, "nan_reasons": {}, "steps": {}, "failures": [], "latency_ms": None,
}  # fmt: skip


def runner_row(**fields: Any) -> dict[str, Any]:
    """A row as ``eval.runner.score_row`` writes it: every key, in its order."""
    unknown = set(fields) - set(ROW_DEFAULTS)
    assert not unknown, f"the runner never writes {unknown}"
    return {key: fields.get(key, default) for key, default in ROW_DEFAULTS.items()}


def render(report: dict[str, Any]) -> str:
    """The page for a ``report.json`` dict (read into a :class:`Report` first)."""
    return render_report_html(Report.from_dict(report))


def synthetic_report() -> dict[str, Any]:
    """A realistic report.json with 6 rows, Chinese and English, shaped as the runner writes it."""
    rows = [
        {
            "id": "zh-001",
            "user_input": "比特币交易客服的工作时间是什么？",
            "answerable": True,
            "reference": ["全天24小时"],
            "answer": "比特币交易客服全天24小时提供服务[1]。",
            "abstained": False,
            "generator": "extractive",
            "citations": [
                {"marker": 1, "source": "docs/faq.zh.txt", "start": 120, "end": 160,
                 "text": "比特币交易客服全天24小时在线，节假日照常提供服务，"
                 "用户可以通过在线聊天、邮件或电话联系我们的客服团队。",
                 "score": 0.82},
            ],
            "retrieved": [
                {"source": "docs/faq.zh.txt", "rank": 1, "relevant": True},
                {"source": "docs/fees.zh.txt", "rank": 2, "relevant": False},
            ],
            "statements": [
                statement("比特币交易客服全天24小时提供服务。", True, "所有关键词和数字都在 [1] 中找到", [1], 0.93)
            ],
            "metrics": {"hit@1": 1.0, "mrr": 1.0, "f1": 0.8, "faithfulness": 1.0, "citation_recall": 1.0},
            "nan_reasons": {},
            "failures": [],
            "latency_ms": 35.2,
        },
        {
            "id": "zh-002",
            "user_input": "提现手续费是多少？",
            "answerable": True,
            "reference": ["0.0005 BTC"],
            "answer": "提现手续费为0.001 BTC[1]。",
            "abstained": False,
            "generator": "extractive",
            "citations": [{"marker": 1, "source": "docs/fees.zh.txt", "start": 0, "end": 30,
                           "text": "充值免费，提现手续费为0.0005 BTC。", "score": 0.77}],
            "retrieved": [{"source": "docs/fees.zh.txt", "rank": 1, "relevant": True}],
            "statements": [statement("提现手续费为0.001 BTC。", False, "数字 0.001 不在 [1] 中", [1], 0.41)],
            "metrics": {"hit@1": 1.0, "mrr": 1.0, "f1": 0.5, "faithfulness": 0.0, "citation_recall": 1.0},
            "failures": ["unsupported statement", "wrong number"],
            "latency_ms": 80.4,
        },
        {
            "id": "en-001",
            "user_input": "When was the exchange founded?",
            "answerable": True,
            "reference": ["2014", "in 2014"],
            "answer": "The exchange was founded in 2014 [1].",
            "abstained": False,
            "generator": "extractive",
            "citations": [{"marker": 1, "source": "docs/about.en.txt", "start": 10, "end": 42,
                           "text": "The exchange was founded in 2014 in Hong Kong.", "score": 0.8}],
            "retrieved": [{"source": "docs/about.en.txt", "rank": 1, "relevant": True}],
            "statements": [
                statement("The exchange was founded in 2014.", True, "all key terms and numbers found in [1]", [1], 0.97)
            ],
            "metrics": {"hit@1": 1.0, "mrr": 1.0, "f1": 1.0, "faithfulness": 1.0, "citation_recall": 1.0},
            "failures": [],
            "latency_ms": 28.9,
        },
        {
            "id": "en-002",
            "user_input": "What is the CEO's favourite colour?",
            "answerable": False,
            "reference": [],
            "answer": "I cannot find this in the documents.",
            "abstained": True,
            "generator": "extractive",
            "citations": [],
            "retrieved": [{"source": "docs/about.en.txt", "rank": 1, "relevant": False}],
            "statements": [],
            "metrics": {"hit@1": None, "mrr": None, "f1": None, "faithfulness": None, "abstain_on_unanswerable": 1.0},
            "nan_reasons": {"hit@1": "no relevant passages labelled", "mrr": "no relevant passages labelled",
                            "f1": "no reference answers", "faithfulness": "abstained: no statements"},
            "failures": [],
            "latency_ms": 19.0,
        },
        {
            "id": "zh-003",
            "user_input": "如何开启两步验证？",
            "answerable": True,
            "reference": ["在安全设置中开启"],
            "answer": "",
            "abstained": True,
            "generator": "extractive",
            "citations": [],
            "retrieved": [{"source": "docs/security.zh.txt", "rank": 3, "relevant": True}],
            "statements": [],
            "metrics": {"hit@1": 0.0, "mrr": 0.333, "f1": 0.0, "faithfulness": None, "answer_on_answerable": 0.0},
            "nan_reasons": {"faithfulness": "abstained: no statements"},
            "failures": ["abstained on an answerable question"],
            "latency_ms": 120.0,
        },
        {
            "id": "en-003",
            "user_input": "Which coins can I deposit?",
            "answerable": True,
            "reference": ["BTC, ETH and USDT"],
            "answer": "You can deposit BTC and ETH [1] and USDT [2].",
            "abstained": False,
            "generator": "extractive",
            "citations": [
                {"marker": 1, "source": "docs/coins.en.txt", "start": 0, "end": 25,
                 "text": "We accept BTC and ETH.", "score": 0.7},
                {"marker": 2, "source": "docs/coins.en.txt", "start": 26, "end": 60,
                 "text": "USDT deposits open in May.", "score": 0.6},
            ],
            "retrieved": [{"source": "docs/coins.en.txt", "rank": 1, "relevant": True}],
            "statements": [
                statement("You can deposit BTC and ETH.", True, "all key terms found in [1]", [1], 0.9),
                statement("You can deposit USDT.", None, "judge timed out", [2], None),
            ],
            "metrics": {"hit@1": 1.0, "mrr": 1.0, "f1": 0.9, "faithfulness": 0.5, "citation_recall": 1.0,
                        "custom_metric": 3.25},
            "failures": [],
            "latency_ms": 41.7,
        },
    ]
    report = {
        "rag_eval_report": 1,
        "dataset": {"path": "eval/data/xquad-zh.jsonl", "name": "xquad-zh", "rows": 6, "sha256": "ab" * 32},
        "created": "2026-11-25T12:00:00Z",
        "duration_s": 12.3,
        "config": {"generator": "extractive", "embedder": "e5 multilingual-e5-small-q4 (384d)", "top_k": 5,
                   "chunk_size": 400, "hybrid": {"bm25_weight": 0.3}},
        "versions": {"rag-cite": "0.1.0", "python": "3.11.9", "faiss": "1.9.0"},
        "summary": {
            "hit@1": {"value": 0.8, "ci": [0.4, 1.0], "n": 5, "nan": 1,
                      "description": "share of questions whose first passage is relevant"},
            "mrr": {"value": 0.867, "ci": [0.6, 1.0], "n": 5, "nan": 1,
                    "description": "mean reciprocal rank of the first relevant passage"},
            "f1": {"value": 0.64, "ci": None, "n": 5, "nan": 1, "description": "token F1 against the reference answers"},
            "faithfulness": {"value": 0.931, "ci": [0.9, 0.96], "n": 4, "nan": 2,
                             "description": "share of statements supported by the retrieved passages"},
            "citation_recall": {"value": 1.0, "ci": [1.0, 1.0], "n": 4, "nan": 2, "description": ""},
            "abstain_on_unanswerable": {"value": None, "ci": None, "n": 0, "nan": 6,
                                        "description": "no unanswerable rows"},
            "custom_metric": {"value": 3.25, "ci": None, "n": 1, "nan": 5, "description": ""},
        },
        "latency_ms": {"p50": 38.4, "p95": 110.1, "mean": 54.2, "max": 120.0},
        "thresholds": [
            {"metric": "faithfulness", "minimum": 0.9, "value": 0.931, "passed": True},
            {"metric": "hit@1", "minimum": 0.85, "value": 0.8, "passed": False},
        ],
        "passed": False,
        "rows": [runner_row(**row) for row in rows],
    }
    # The file's path: the CLI writes NaN as null (allow_nan=False), json.loads reads it back.
    loaded: dict[str, Any] = json.loads(json.dumps(report, ensure_ascii=False, allow_nan=False))
    return loaded
