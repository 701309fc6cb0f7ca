from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from eval.report import Report
from eval.report_charts import bar_svg
from eval.report_html import render_report_html, write_report_html
from tests.eval.report_fixtures import render, runner_row, synthetic_report

XSS = "<script>alert(1)</script>"

# Elements that must open and close in order; void elements and <p>/<li>/<dt>/<dd> (whose end tags
# HTML lets you omit) are left out.
CHECKED_TAGS = {
    "html", "head", "body", "main", "header", "footer", "section", "table", "thead", "tbody", "tr",
    "td", "th", "svg", "g", "details", "summary", "ul", "ol", "dl", "div", "span", "script", "style",
    "title", "label", "blockquote", "code", "q", "b", "text",
}  # fmt: skip


class TagBalance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._in = tag
        if tag in CHECKED_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <rect/>, <line/>: self-closing SVG elements

    def handle_endtag(self, tag: str) -> None:
        self._in = None
        if tag not in CHECKED_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def parse(page: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    return parser


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return synthetic_report()


@pytest.fixture(scope="module")
def page(report: dict[str, Any]) -> str:
    return render(report)


def test_renders_the_header_with_verdict_and_thresholds(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert re.search(r'<html lang="\w+', page)
    assert "xquad-zh" in page and "eval/data/xquad-zh.jsonl" in page
    assert "2026-11-25T12:00:00Z" in page and "12.3&nbsp;s" in page
    assert "e5 multilingual-e5-small-q4 (384d)" in page
    assert '<span class="badge fail">FAILED</span>' in page
    thresholds = page.split('<table class="thresholds">', 1)[1].split("</table>", 1)[0]
    assert "faithfulness" in thresholds and "&ge;&nbsp;0.900" in thresholds and "0.931" in thresholds
    assert thresholds.count("&#10003; pass") == 1 and thresholds.count("&#10007; fail") == 1


def test_badge_passes_and_is_absent_without_thresholds(report: dict[str, Any]) -> None:
    passing = {**report, "passed": True, "thresholds": report["thresholds"][:1]}
    assert '<span class="badge pass">PASSED</span>' in render(passing)
    no_thresholds = render({**report, "thresholds": [], "passed": True})
    assert "PASSED" not in no_thresholds and "no thresholds set" in no_thresholds


def test_chinese_text_is_kept_as_utf8_with_a_cjk_font_stack(page: str) -> None:
    assert "比特币交易客服的工作时间是什么？" in page  # not turned into &#...; entities
    assert '<div class="text" lang="zh">提现手续费是多少？</div>' in page
    assert '"Noto Sans CJK SC"' in page and '"Microsoft YaHei"' in page and '"PingFang SC"' in page


def test_summary_draws_one_bar_per_metric_with_ci_and_threshold(page: str, report: dict[str, Any]) -> None:
    summary = page.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    for name in report["summary"]:
        assert f'<tr data-metric="{name}">' in summary
    assert summary.count('<svg class="bar"') == len(report["summary"])

    def bar(metric: str) -> str:
        return summary.split(f'<tr data-metric="{metric}">', 1)[1].split("</tr>", 1)[0]

    faithfulness = bar("faithfulness")
    assert "<b>0.931</b>" in faithfulness and "0.900&ndash;0.960" in faithfulness
    assert '<g class="ci"' in faithfulness and 'class="threshold"' in faithfulness
    assert 'fill="#2e7d32"' in faithfulness  # above its minimum: green
    assert 'fill="#c62828"' in bar("hit@1")  # below its minimum: red
    assert 'class="threshold"' not in bar("mrr") and 'fill="#3b6ea8"' in bar("mrr")
    assert "share of statements supported by the retrieved passages" in faithfulness
    # NaN summary value: no value bar, shown as n/a; the unknown metric is shown too.
    nan_bar = bar("abstain_on_unanswerable")
    assert 'class="value"' not in nan_bar and ">n/a</span>" in nan_bar and "<b>" in nan_bar
    assert "3.25" in bar("custom_metric")


def test_bar_width_is_proportional_to_the_value() -> None:
    half = bar_svg("m", 0.5, None, [], None)
    full = bar_svg("m", 1.0, None, [], None)
    over = bar_svg("m", 7.0, None, [], None)

    def width(svg: str) -> float:
        match = re.search(r'class="value"[^>]*width="([\d.]+)"', svg)
        assert match
        return float(match.group(1))

    assert width(full) == pytest.approx(2 * width(half), abs=0.1)
    assert 'class="value"' not in over and "outside the 0-1 scale" in over  # no misleading full bar


def test_latency_histogram_counts_every_row(page: str) -> None:
    summary = page.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert '<svg class="histogram"' in summary
    counts = [int(n) for n in re.findall(r"ms: (\d+) rows?</title>", summary)]
    assert sum(counts) == 6
    assert "<dt>p50</dt><dd>38.4&nbsp;ms</dd>" in summary and "<dt>p95</dt><dd>110.1&nbsp;ms</dd>" in summary
    assert "<title>p95 110.1 ms</title>" in summary


def test_latency_percentiles_fall_back_to_row_latencies(report: dict[str, Any]) -> None:
    page = render({**report, "latency_ms": {}})
    assert "<dt>max</dt><dd>120.0&nbsp;ms</dd>" in page
    assert "<dt>p50</dt><dd>38.5&nbsp;ms</dd>" in page  # median of the six row latencies


def test_rows_table_shows_answers_citations_statements_and_failures(page: str, report: dict[str, Any]) -> None:
    table = page.split('<table class="rows" id="rows">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    rows = body.split("<tr")[1:]
    assert len(rows) == 6
    failing = [r for r in rows if r.startswith(' class="failing"')]
    assert len(failing) == sum(1 for r in report["rows"] if r["failures"]) == 2
    assert "abstained on an answerable question" in failing[1] and 'class="fails"' in failing[1]
    assert body.count('<span class="tag abstain">abstained</span>') == 2
    assert '<span class="tag unans">unanswerable</span>' in rows[3]
    # A citation: marker, source, a short quote, and the full text inside <details>.
    first = rows[0]
    full = report["rows"][0]["citations"][0]["text"]
    assert "<b>[1]</b>" in first and "docs/faq.zh.txt" in first
    assert f'<blockquote lang="zh">{full}</blockquote>' in first
    short = re.search(r"<q[^>]*>(.*?)</q>", first)
    assert short and short.group(1).endswith("…")
    columns = sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in short.group(1))
    assert 70 <= columns <= 80  # CJK characters count as two columns
    assert full.startswith(short.group(1)[:-1])
    # Statement verdicts with reasons.
    assert '<li class="bad"><span class="icon" title="not supported"' in rows[1]
    assert "数字 0.001 不在 [1] 中" in rows[1]
    assert '<li class="ok">' in rows[0] and '<li class="unk">' in rows[5] and "judge timed out" in rows[5]
    assert "retrieved (2, 1 relevant)" in first


def test_missing_values_show_na_with_the_reason(page: str) -> None:
    assert '<span class="na" title="no reference answers">n/a</span>' in page
    assert '<span class="na" title="no relevant passages labelled">n/a</span>' in page  # NaN, not None
    assert '<span class="na" title="abstained: no statements">n/a</span>' in page
    body = page.split("</style>")[1].split("<script>")[0]
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<th\b.*?</th>", "", body))  # the "NaN" column header may stay
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), "NaN leaked into the page as a number"


def test_no_external_references(page: str) -> None:
    assert not re.search(r"https?://", page)
    assert not re.search(r"(?:^|[^\w-])(?:src|href|xlink:href|action)\s*=", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    assert not re.search(r"<(?:link|img|iframe|object|embed)\b", page)


def test_js_is_inline_optional_and_allowed_by_the_csp(page: str) -> None:
    parsed = parse(page)
    assert len(parsed.scripts) == 1 and len(parsed.styles) == 1
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp
    assert "default-src 'none'" in csp.group(1)
    assert csp_hash(parsed.scripts[0]) in csp.group(1) and csp_hash(parsed.styles[0]) in csp.group(1)
    # With JS off the filter controls (which would do nothing) stay hidden; no row starts hidden.
    assert '<div id="controls" hidden>' in page
    assert 'id="only-failing"' in page and 'id="filter"' in page
    assert "<tr hidden" not in page


def test_escapes_user_text_everywhere(report: dict[str, Any]) -> None:
    evil = json.loads(json.dumps(report))
    attr = '" onmouseover="alert(2)'
    row = evil["rows"][0]
    row.update(id=XSS, user_input=XSS, answer=XSS, reference=[XSS], generator=XSS, failures=[XSS])
    row["citations"][0].update(source=XSS, text=XSS)
    row["statements"][0].update(text=XSS, reason=XSS)
    row["retrieved"][0]["source"] = XSS
    row["metrics"]["f1"] = None
    row["nan_reasons"] = {"f1": attr}
    evil["dataset"].update(name=XSS, path=XSS, sha256=attr)
    evil["summary"][XSS] = {"value": 0.5, "ci": None, "n": 1, "nan": 0, "description": XSS}
    evil["thresholds"].append({"metric": XSS, "minimum": 0.1, "value": 0.5, "passed": True, "reason": XSS})
    evil["config"][XSS] = XSS
    evil["versions"]["x"] = XSS
    evil["created"] = XSS
    page = render(evil)
    assert page.count("<script") == 1  # only ours
    assert "alert(1)" not in page.split("<script>")[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'onmouseover="' not in page and "&quot; onmouseover=&quot;alert(2)" in page
    assert not parse(page).errors


def _bare_report(**fields: Any) -> dict[str, Any]:
    """The smallest report the runner writes (no rows, no metrics), with ``fields`` replaced."""
    return {"rag_eval_report": 1, "dataset": {"path": "d.jsonl", "name": "tiny", "rows": 0, "sha256": None},
            "created": "2026-11-25T12:00:00Z", "duration_s": 0.0, "config": {}, "versions": {}, "summary": {},
            "latency_ms": {}, "thresholds": [], "passed": True, "rows": [], **fields}


REFUSED_ROW = {
    "id": "long", "user_input": "x" * 50, "answerable": True, "reference": ["y"], "error": "question too long",
    "metrics": {"f1": None}, "nan_reasons": {"f1": "question refused: question too long"},
    "failures": ["question refused: question too long"], "latency_ms": None,
}  # fmt: skip


@pytest.mark.parametrize(
    "report",
    [
        _bare_report(),
        _bare_report(summary={"f1": {"value": None, "ci": None, "n": 0, "nan": 1, "description": ""}}, rows=[REFUSED_ROW]),
        _bare_report(rows=[runner_row(id="one", latency_ms=5.0)], latency_ms={"p50": 5.0, "p95": 5.0, "mean": 5.0, "max": 5.0}),
        _bare_report(thresholds=[{"metric": "f1", "minimum": 0.5, "value": None, "passed": False, "reason": "f1 is NaN"}], passed=False),
    ],
    ids=["empty", "refused-row", "one-latency", "nan-threshold"],
)
def test_renders_the_edge_cases_the_runner_writes(report: dict[str, Any]) -> None:
    page = render(report)
    parsed = parse(page)
    assert not parsed.errors and not parsed.stack
    assert not re.search(r"https?://", page)


def test_a_refused_row_shows_no_answer_and_its_failure() -> None:
    page = render(_bare_report(rows=[REFUSED_ROW]))
    assert '<span class="na" title="no answer">n/a</span>' in page and "question refused: question too long" in page
    assert '<span class="tag abstain">' not in page and '<span class="muted">no citations</span>' in page


def test_report_dict_round_trips_and_rejects_what_the_runner_never_writes(report: dict[str, Any]) -> None:
    assert Report.from_dict(report).to_dict() == report
    refused = _bare_report(rows=[REFUSED_ROW])
    assert Report.from_dict(refused).to_dict() == refused
    with pytest.raises(ValueError, match=r"rows\[0\]\.retrieved\[0\]\.relevant should be bool"):
        Report.from_dict({**report, "rows": [{**report["rows"][0], "retrieved": [{"source": "s", "rank": 1, "relevant": None}]}]})
    with pytest.raises(ValueError, match=r"summary\['f1'\]\.n is missing"):
        Report.from_dict(_bare_report(summary={"f1": {"value": 0.5, "ci": None, "nan": 0, "description": ""}}))


def test_zero_rows_says_so(report: dict[str, Any]) -> None:
    page = render({**report, "rows": []})
    assert "No rows in this report." in page
    assert 'id="rows"' not in page and 'id="controls"' not in page
    assert '<svg class="bar"' in page  # the summary still renders


def test_counts_print_as_integers_and_scores_with_three_decimals() -> None:
    page = render(_bare_report(
        dataset={"path": "d.jsonl", "name": "tiny", "rows": 1, "sha256": None},
        summary={"f1": {"value": 1, "ci": None, "n": 1, "nan": 0, "description": ""},
                 "mrr": {"value": 0.5, "ci": None, "n": 1, "nan": 0, "description": ""}},
    ))
    assert "<dt>rows</dt><dd>1</dd>" in page
    f1 = page.split('<tr data-metric="f1">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">1</td><td class="num">0</td>' in f1
    assert "<b>1.000</b>" in f1  # a score, even written as an int
    assert "<b>0.500</b>" in page


def test_rejects_anything_but_a_report() -> None:
    with pytest.raises(TypeError, match="Report"):
        render_report_html([])  # type: ignore[arg-type]


def test_synthetic_page_is_well_formed(page: str) -> None:
    parsed = parse(page)
    assert not parsed.errors
    assert not parsed.stack
    assert page.count("<main>") == page.count("</main>") == 1


def test_write_is_atomic(tmp_path: Path, report: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "report.html"
    write_report_html(report, target)
    assert target.read_text(encoding="utf-8") == render(report)
    assert os.listdir(target.parent) == ["report.html"]
    assert target.stat().st_mode & 0o777 == 0o644

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report_html({**report, "rows": []}, target)
    assert target.read_text(encoding="utf-8") == render(report)  # the old page is whole
    assert os.listdir(target.parent) == ["report.html"]  # and no temp file is left behind


def test_write_survives_unencodable_text(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    write_report_html(Report.from_dict(_bare_report(rows=[runner_row(id="bad\ud800surrogate", latency_ms=math.pi)])), target)
    assert "bad?surrogate" in target.read_text(encoding="utf-8")
