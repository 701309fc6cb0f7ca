"""Render an evaluation report (the ``report.json`` dict) as one self-contained HTML page.

The page works offline and from ``file://``: CSS sits in one ``<style>``, the charts are inline
SVG drawn here, and a few lines of vanilla JS add the row filters and column sorting. With JS off
everything is still readable (the filter controls stay hidden because they would do nothing).
Nothing points outside the file: no CDN, font, stylesheet, image or even an SVG ``xmlns``.

All text that comes from the dataset, the documents or the model (questions, answers, passages,
sources, reasons, config values) goes through :func:`html.escape`. As a second line of defence
the page carries a Content-Security-Policy that allows only *this* style sheet and *this* script,
by their SHA-256 hashes, so a ``<script>`` that slipped through escaping would still not run.

The page renders an :class:`eval.report.Report` (a ``report.json`` dict is read with
:meth:`~eval.report.Report.from_dict` first). ``None`` and NaN are shown as "n/a", with the reason
as a tooltip where the report gives one (``rows[*].nan_reasons``). Unknown metrics are shown like
known ones.
"""


from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.report import Latency, Report
from eval.report_assets import CSS, JS
from eval.report_charts import axis_svg, bar_svg, histogram_svg
from eval.report_format import csp_hash, esc, fmt_number, limit_text, ms_html, na_html, user_text, value_html, verdict_html
from eval.report_rows import rows_section
from rag.files import atomic_write

__all__ = ["render_report_html", "write_report_html"]

_bar_svg = bar_svg  # the bar renderer under its former name here (tests draw single bars through it)


# --- sections ------------------------------------------------------------------------------------


def _verdict(report: Report) -> bool | None:
    """The verdict for the badge; None (no badge) when the report sets no thresholds."""
    return report.passed if report.thresholds else None


def _header(report: Report) -> str:
    dataset, config, thresholds, rows = report.dataset, report.config, report.thresholds, report.rows
    name = dataset.name or dataset.path or "evaluation report"
    verdict = _verdict(report)
    if verdict is None:
        badge = '<span class="badge none">no thresholds set</span>'
    else:
        badge = f'<span class="badge {"pass" if verdict else "fail"}">{"PASSED" if verdict else "FAILED"}</span>'

    facts: list[tuple[str, str]] = [("dataset", f"<code>{user_text(dataset.path)}</code>"), ("rows", value_html(dataset.rows))]
    if dataset.sha256:
        facts.append(("sha256", f'<code title="{esc(dataset.sha256)}">{esc(dataset.sha256[:16])}</code>'))
    facts.append(("created", esc(report.created)))
    facts.append(("duration", f"{esc(f'{report.duration_s:,.1f}')}&nbsp;s"))
    for key in ("generator", "embedder", "retriever", "top_k"):
        if key in config:
            facts.append((key.replace("_", " "), value_html(config[key])))
    failing = sum(1 for row in rows if row.failures)
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
            out.append(
                f'<tr><td>{esc(t.metric)}</td><td class="num">{limit_text(t)}</td>'
                f'<td class="num">{value_html(t.value, metric=True)}</td><td>{verdict_html(t.passed)}</td></tr>'
            )
        out.append("</tbody></table>")
    out.append("</header>")
    return "\n".join(out)


def _summary(report: Report) -> str:
    out = ['<section id="summary"><h2>Summary</h2>']
    if report.summary:
        out.append(
            '<table class="metrics"><thead><tr><th>metric</th>'
            f'<th>{axis_svg()}</th><th class="num">value</th><th class="num">CI</th>'
            '<th class="num" title="rows scored">n</th><th class="num" title="rows that could not be scored">NaN</th>'
            "</tr></thead><tbody>"
        )
        for name, entry in report.summary.items():
            value, ci = entry.value, entry.ci
            mine = [t for t in report.thresholds if t.metric == name]
            limits = [("minimum", t.minimum) for t in mine]
            verdict = all(t.passed for t in mine) if mine else None
            desc_html = f'<div class="desc">{user_text(entry.description, cls="")}</div>' if entry.description else ""
            ci_html = f"{esc(fmt_number(ci[0]))}&ndash;{esc(fmt_number(ci[1]))}" if ci else na_html("no interval")
            out.append(
                f'<tr data-metric="{esc(name)}"><td><b>{esc(name)}</b>{desc_html}</td>'
                f"<td>{bar_svg(name, value, ci, limits, verdict)}</td>"
                f'<td class="num"><b>{value_html(value, "no row could be scored", metric=True)}</b></td>'
                f'<td class="num">{ci_html}</td>'
                f'<td class="num">{value_html(entry.n)}</td>'
                f'<td class="num">{value_html(entry.nan)}</td></tr>'
            )
        out.append("</tbody></table>")
    else:
        out.append('<p class="muted">No summary metrics in this report.</p>')

    out.append(_latency(report))
    reasons = Counter(reason for row in report.rows for reason in row.failures)
    if reasons:
        out.append("<h3>Why rows failed</h3><ul>")
        out.extend(
            f'<li><span class="fail-txt">{user_text(reason, cls="")}</span>: {count}</li>'
            for reason, count in reasons.most_common()
        )
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _latency(report: Report) -> str:
    latencies = [row.latency_ms for row in report.rows if row.latency_ms is not None]
    # The runner's own figures; a report without them (none timed) gets them from the rows.
    stats = report.latency_ms or Latency.of(latencies)
    if stats is None:
        return ""
    figures = stats.to_dict()
    out = ['<h3>Latency</h3><div class="latency">']
    if latencies:
        out.append(histogram_svg(latencies, [("p50", stats.p50), ("p95", stats.p95)]))
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


def _footer(report: Report) -> str:
    out = ["<footer><h2>Run details</h2>"]
    config = _kv_details("config", report.config)
    versions = _kv_details("versions", report.versions)
    out.append(config + versions if config or versions else '<p class="muted">No config or versions recorded.</p>')
    out.append(f'<p class="desc">report format {esc(report.rag_eval_report)}</p>')
    out.append("</footer>")
    return "\n".join(out)


# --- public API ----------------------------------------------------------------------------------


def render_report_html(report: Report) -> str:
    """Render an evaluation report as one self-contained HTML document.

    The result references nothing outside itself and is safe to open from disk.
    """
    if not isinstance(report, Report):
        raise TypeError(f"report must be an eval.report.Report, got {type(report).__name__}")
    name = report.dataset.name or report.dataset.path or "evaluation report"
    verdict = _verdict(report)
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
            _header(report),
            "<main>",
            _summary(report),
            rows_section(report),
            "</main>",
            _footer(report),
            f"<script>{JS}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_report_html(report: Report | Mapping[str, Any], path: Path) -> None:
    """Render ``report`` and write it to ``path`` atomically.

    ``report`` may also be the ``report.json`` dict (what :func:`eval.runner.build_report` returns),
    read with :meth:`Report.from_dict`.

    The page is rendered first, then written to a temporary file in the same directory, fsynced
    and renamed over ``path``, so a reader never sees a half-written page and a failure leaves
    any previous file untouched. Missing parent directories are created.
    """
    page = render_report_html(report if isinstance(report, Report) else Report.from_dict(report))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0644 whatever the umask: a report is meant to be read by others. Lone surrogates (possible
    # in JSON strings) cannot be encoded: write "?" rather than fail.
    atomic_write(path, page, errors="replace", mode=0o644)
