"""Render an evaluation report (the ``report.json`` dict) as one self-contained HTML page.

The page works offline and from ``file://``: CSS sits in one ``<style>``, the charts are inline
SVG drawn here, and a few lines of vanilla JS add the row filters and column sorting. With JS off
everything is still readable (the filter controls stay hidden because they would do nothing).
Nothing points outside the file: no CDN, font, stylesheet, image or even an SVG ``xmlns``.

All text that comes from the dataset, the documents or the model (questions, answers, passages,
sources, reasons, config values) goes through :func:`html.escape`. As a second line of defence
the page carries a Content-Security-Policy that allows only *this* style sheet and *this* script,
by their SHA-256 hashes, so a ``<script>`` that slipped through escaping would still not run.

The renderer is tolerant: every key of the report may be missing or of an unexpected type, and
it renders what exists. ``None`` and NaN are shown as "n/a", with the reason as a tooltip where
the report gives one (``rows[*].nan_reasons``). Unknown metrics are shown like known ones.
"""


from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.report_assets import CSS, JS
from eval.report_charts import axis_svg, bar_svg, histogram_svg, percentile
from eval.report_format import (
    as_list,
    as_map,
    as_number,
    csp_hash,
    esc,
    fmt_number,
    limit_text,
    ms_html,
    na_html,
    overall_passed,
    report_thresholds,
    row_failures,
    threshold_passed,
    user_text,
    value_html,
    verdict_html,
)
from eval.report_rows import rows_section

__all__ = ["render_report_html", "write_report_html"]

_bar_svg = bar_svg  # the bar renderer under its former name here (tests draw single bars through it)


# --- sections ------------------------------------------------------------------------------------


def _header(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    dataset = as_map(report.get("dataset"))
    config = as_map(report.get("config"))
    thresholds = report_thresholds(report)
    name = dataset.get("name") or dataset.get("path") or "evaluation report"
    verdict = overall_passed(report, thresholds)
    if verdict is None:
        badge = '<span class="badge none">no thresholds set</span>'
    else:
        badge = f'<span class="badge {"pass" if verdict else "fail"}">{"PASSED" if verdict else "FAILED"}</span>'

    facts: list[tuple[str, str]] = []
    if dataset.get("path") is not None:
        facts.append(("dataset", f"<code>{user_text(dataset['path'])}</code>"))
    n_rows = dataset.get("rows", len(rows) if "rows" in report else None)
    if n_rows is not None:
        facts.append(("rows", value_html(n_rows)))
    if dataset.get("sha256"):
        digest = str(dataset["sha256"])
        facts.append(("sha256", f'<code title="{esc(digest)}">{esc(digest[:16])}</code>'))
    if report.get("created") is not None:
        facts.append(("created", esc(report["created"])))
    if "duration_s" in report:
        duration = as_number(report.get("duration_s"))
        facts.append(("duration", na_html() if duration is None else f"{esc(f'{duration:,.1f}')}&nbsp;s"))
    for key in ("generator", "embedder", "retriever", "top_k"):
        if key in config:
            facts.append((key.replace("_", " "), value_html(config[key])))
    failing = sum(1 for row in rows if row_failures(row))
    if rows:
        facts.append(("failing rows", f"{failing} of {len(rows)}"))

    out = [
        "<header>",
        f'<div class="title"><h1>RAG evaluation: {user_text(name, cls="")}</h1>{badge}</div>',
        '<dl class="facts">',
        *(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts),
        "</dl>",
    ]
    if thresholds:
        out.append('<h3>Thresholds</h3><table class="thresholds"><thead><tr><th>metric</th>'
                   '<th class="num">limit</th><th class="num">value</th><th>result</th></tr></thead><tbody>')
        for t in thresholds:
            passed = threshold_passed(t)
            out.append(
                f'<tr><td>{esc(t.get("metric", "?"))}</td><td class="num">{limit_text(t)}</td>'
                f'<td class="num">{value_html(t.get("value"), metric=True)}</td><td>{verdict_html(passed)}</td></tr>'
            )
        out.append("</tbody></table>")
    out.append("</header>")
    return "\n".join(out)


def _summary_entry(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {"value": raw}


def _ci(raw: object) -> tuple[float, float] | None:
    bounds = as_list(raw)
    if len(bounds) != 2:
        return None
    low, high = as_number(bounds[0]), as_number(bounds[1])
    if low is None or high is None:
        return None
    return (min(low, high), max(low, high))


def _summary(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    summary = as_map(report.get("summary"))
    thresholds = report_thresholds(report)
    out = ['<section id="summary"><h2>Summary</h2>']
    if summary:
        out.append(
            '<table class="metrics"><thead><tr><th>metric</th>'
            f'<th>{axis_svg()}</th><th class="num">value</th><th class="num">CI</th>'
            '<th class="num" title="rows scored">n</th><th class="num" title="rows that could not be scored">NaN</th>'
            "</tr></thead><tbody>"
        )
        for name, raw in summary.items():
            entry = _summary_entry(raw)
            value, ci = as_number(entry.get("value")), _ci(entry.get("ci"))
            mine = [t for t in thresholds if str(t.get("metric")) == str(name)]
            limits = [
                (kind, limit)
                for t in mine
                for kind in ("minimum", "maximum")
                if (limit := as_number(t.get(kind))) is not None
            ]
            verdicts = [threshold_passed(t) for t in mine]
            verdict = None if not mine or None in verdicts else all(verdicts)
            description = entry.get("description")
            desc_html = f'<div class="desc">{user_text(description, cls="")}</div>' if description else ""
            ci_html = f"{esc(fmt_number(ci[0]))}&ndash;{esc(fmt_number(ci[1]))}" if ci else na_html("no interval")
            out.append(
                f'<tr data-metric="{esc(name)}"><td><b>{esc(name)}</b>{desc_html}</td>'
                f"<td>{bar_svg(str(name), value, ci, limits, verdict)}</td>"
                f'<td class="num"><b>{value_html(entry.get("value"), "no row could be scored", metric=True)}</b></td>'
                f'<td class="num">{ci_html}</td>'
                f'<td class="num">{value_html(entry.get("n")) if "n" in entry else na_html()}</td>'
                f'<td class="num">{value_html(entry.get("nan")) if "nan" in entry else na_html()}</td></tr>'
            )
        out.append("</tbody></table>")
    else:
        out.append('<p class="muted">No summary metrics in this report.</p>')

    out.append(_latency(report, rows))
    reasons = Counter(reason for row in rows for reason in row_failures(row))
    if reasons:
        out.append("<h3>Why rows failed</h3><ul>")
        out.extend(
            f'<li><span class="fail-txt">{user_text(reason, cls="")}</span>: {count}</li>'
            for reason, count in reasons.most_common()
        )
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _latency(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    stats = as_map(report.get("latency_ms"))
    latencies = [v for row in rows if (v := as_number(row.get("latency_ms"))) is not None]
    computed: dict[str, float] = {}
    if latencies:
        computed = {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "mean": sum(latencies) / len(latencies),
            "max": max(latencies),
        }
    if not stats and not latencies:
        return ""
    # The runner's own figures win; row latencies fill in what it left out.
    figures: dict[str, float | None] = {}
    for key in ("p50", "p95", "mean", "max"):
        given = as_number(stats.get(key))
        figures[key] = given if given is not None else computed.get(key)
    figures.update({k: as_number(v) for k, v in stats.items() if k not in figures})
    out = ['<h3>Latency</h3><div class="latency">']
    if latencies:
        markers = [(k, v) for k in ("p50", "p95") if (v := figures.get(k)) is not None]
        out.append(histogram_svg(latencies, markers))
    else:
        out.append('<p class="muted">No per-row latencies in this report.</p>')
    out.append('<dl class="facts">')
    out.extend(f"<dt>{esc(k)}</dt><dd>{ms_html(v)}</dd>" for k, v in figures.items())
    if latencies:
        out.append(f"<dt>rows timed</dt><dd>{len(latencies)}</dd>")
    out.append("</dl></div>")
    return "\n".join(out)


def _kv_details(title: str, mapping: Mapping[str, Any]) -> str:
    if not mapping:
        return ""
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{value_html(v)}</td></tr>" for k, v in mapping.items())
    return (
        f"<details><summary>{esc(title)} ({len(mapping)})</summary>"
        f'<table class="kvt"><tbody>{rows}</tbody></table></details>'
    )


def _footer(report: Mapping[str, Any]) -> str:
    out = ["<footer><h2>Run details</h2>"]
    config = _kv_details("config", as_map(report.get("config")))
    versions = _kv_details("versions", as_map(report.get("versions")))
    out.append(config + versions if config or versions else '<p class="muted">No config or versions recorded.</p>')
    fmt = report.get("rag_eval_report")
    if fmt is not None:
        out.append(f'<p class="desc">report format {esc(fmt)}</p>')
    out.append("</footer>")
    return "\n".join(out)


# --- public API ----------------------------------------------------------------------------------


def render_report_html(report: Mapping[str, Any]) -> str:
    """Render an evaluation report as one self-contained HTML document.

    ``report`` is the dict the eval runner writes to ``report.json``; any key may be missing.
    The result references nothing outside itself and is safe to open from disk.
    """
    if not isinstance(report, Mapping):
        raise TypeError(f"report must be a mapping, got {type(report).__name__}")
    rows = [row for row in as_list(report.get("rows")) if isinstance(row, Mapping)]
    dataset = as_map(report.get("dataset"))
    name = str(dataset.get("name") or dataset.get("path") or "evaluation report")
    thresholds = report_thresholds(report)
    verdict = overall_passed(report, thresholds)
    title = f"RAG eval: {name}" + ("" if verdict is None else f" ({'PASSED' if verdict else 'FAILED'})")
    csp = (
        f"default-src 'none'; style-src '{csp_hash(CSS)}'; script-src '{csp_hash(JS)}'; "
        "base-uri 'none'; form-action 'none'"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            _header(report, rows),
            "<main>",
            _summary(report, rows),
            rows_section(report, rows),
            "</main>",
            _footer(report),
            f"<script>{JS}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_report_html(report: Mapping[str, Any], path: Path) -> None:
    """Render ``report`` and write it to ``path`` atomically.

    The page is rendered first, then written to a temporary file in the same directory, fsynced
    and renamed over ``path``, so a reader never sees a half-written page and a failure leaves
    any previous file untouched. Missing parent directories are created.
    """
    page = render_report_html(report)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it 0600; a report is meant to be read by others
        # Lone surrogates (possible in JSON strings) cannot be encoded: write "?" rather than fail.
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as fh:
            fh.write(page)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
