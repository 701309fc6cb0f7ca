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

import base64
import hashlib
import html
import json
import math
import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["render_report_html", "write_report_html"]

_FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
)

_CSS = (
    """
:root { --ok: #2e7d32; --bad: #c62828; --muted: #5f6368; --line: #dadce0; --bg-bad: #fdecea; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { font-family: FONTS; margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 1600px;
       color: #202124; line-height: 1.45; font-size: 14px; }
h1 { font-size: 1.5rem; margin: 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.title { display: flex; align-items: center; gap: 1rem; flex-wrap: wrap; }
.badge { font-size: 1.4rem; font-weight: 700; padding: .25rem 1rem; border-radius: 6px; color: #fff;
         letter-spacing: .05em; }
.badge.pass { background: var(--ok); } .badge.fail { background: var(--bad); }
.badge.none { background: #e8eaed; color: var(--muted); font-size: 1rem; font-weight: 400; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .8rem 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
th { font-weight: 600; background: #f8f9fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted, .desc { color: var(--muted); } .desc { font-size: .85em; }
.na { color: var(--muted); font-style: italic; cursor: help; }
.pass-txt { color: var(--ok); font-weight: 600; } .fail-txt { color: var(--bad); font-weight: 600; }
table.metrics td { vertical-align: middle; }
svg { display: block; overflow: visible; } svg text { font-family: inherit; }
.latency { display: flex; gap: 2rem; flex-wrap: wrap; align-items: flex-start; }
#controls { display: flex; gap: 1.5rem; align-items: center; margin: .5rem 0; flex-wrap: wrap; }
#controls input[type=search] { padding: .25rem .4rem; min-width: 18rem; }
table.rows { width: 100%; }
table.rows th[data-sort] { cursor: pointer; user-select: none; }
table.rows th[aria-sort=ascending]::after { content: " \\25B2"; }
table.rows th[aria-sort=descending]::after { content: " \\25BC"; }
table.rows td { overflow-wrap: anywhere; }
table.rows td.q, table.rows td.a { min-width: 14rem; max-width: 28rem; }
table.rows td.c, table.rows td.s { min-width: 14rem; max-width: 26rem; }
tr.failing > td { background: var(--bg-bad); }
tr.failing > td.status { box-shadow: inset 4px 0 0 var(--bad); }
.text { white-space: pre-wrap; }
.tag { display: inline-block; font-size: .78em; padding: 0 .4em; border-radius: 3px; background: #e8eaed;
       color: #3c4043; margin: .1rem .2rem .1rem 0; white-space: nowrap; }
.tag.abstain { background: #fff3cd; color: #7a5a00; } .tag.unans { background: #e3f2fd; color: #0d47a1; }
.tag.rel { background: #e6f4ea; color: var(--ok); }
ul.plain { list-style: none; padding: 0; margin: 0; }
ul.plain > li { margin: 0 0 .35rem; }
.icon { font-weight: 700; margin-right: .25em; }
li.ok .icon { color: var(--ok); } li.bad .icon { color: var(--bad); } li.unk .icon { color: var(--muted); }
.reason { font-size: .85em; color: var(--muted); }
ul.fails { margin: 0; padding-left: 1.1em; color: var(--bad); font-weight: 600; }
blockquote { margin: .3rem 0 .3rem .4rem; padding-left: .6rem; border-left: 3px solid var(--line);
             white-space: pre-wrap; }
details > summary { cursor: pointer; }
dl.kv { display: grid; grid-template-columns: max-content max-content; gap: 0 .6rem; margin: 0;
        font-size: .9em; white-space: nowrap; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .92em; }
table.kvt td:first-child { color: var(--muted); white-space: nowrap; }
table.kvt td { overflow-wrap: anywhere; }
footer { margin-top: 2rem; }
@media print { #controls { display: none !important; } tr[hidden] { display: table-row !important; } }
""".replace("FONTS", _FONT_STACK).strip()
)

# Filters and sorts the per-question table. The controls start hidden so a page viewed with JS
# off shows no inputs that do nothing.
_JS = """
(function () {
  var table = document.getElementById('rows');
  var controls = document.getElementById('controls');
  if (!table || !controls) { return; }
  controls.hidden = false;
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var only = document.getElementById('only-failing');
  var query = document.getElementById('filter');
  var shown = document.getElementById('shown');
  function apply() {
    var q = query.value.trim().toLowerCase();
    var n = 0;
    rows.forEach(function (r) {
      var ok = (!only.checked || r.classList.contains('failing')) &&
               (!q || r.textContent.toLowerCase().indexOf(q) !== -1);
      r.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = n + ' of ' + rows.length + ' rows shown';
  }
  only.addEventListener('change', apply);
  query.addEventListener('input', apply);
  function key(row, col) {
    var cell = row.cells[col];
    return cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent.trim();
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    if (!th.hasAttribute('data-sort')) { return; }
    th.tabIndex = 0;
    function sort() {
      var col = th.cellIndex;
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      rows.sort(function (a, b) {
        var x = key(a, col), y = key(b, col);
        if (x === '' || y === '') { return (x === '') - (y === ''); }  // blanks last either way
        var nx = Number(x), ny = Number(y);
        var c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y, undefined, {numeric: true});
        return dir * c;
      });
      rows.forEach(function (r) { tbody.appendChild(r); });
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sort(); }
    });
  });
  apply();
})();
""".strip()

_OK_COLOR, _BAD_COLOR, _NEUTRAL_COLOR = "#2e7d32", "#c62828", "#3b6ea8"
_BAR_W, _BAR_H, _BAR_PAD = 260, 20, 6
_QUOTE_COLUMNS = 80

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")


# --- small tolerant accessors --------------------------------------------------------------------


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _num(value: object) -> float | None:
    """A finite number, or None for None, NaN, infinities, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and value.strip().lower() in {"nan", "null", "none", ""}


def _e(value: object) -> str:
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def _lang_attr(text: str) -> str:
    """``lang`` for a piece of user text, so browsers pick CJK glyph forms for Han characters."""
    if _KANA.search(text):
        return ' lang="ja"'
    if _HANGUL.search(text):
        return ' lang="ko"'
    if _HAN.search(text):
        return ' lang="zh"'
    return ""


def _user_text(value: object, tag: str = "span", cls: str = "text") -> str:
    text = "" if value is None else str(value)
    lang = _lang_attr(text)
    if not cls and not lang and tag == "span":
        return _e(text)
    class_attr = f' class="{cls}"' if cls else ""
    return f"<{tag}{class_attr}{lang}>{_e(text)}</{tag}>"


def _fmt_number(number: float) -> str:
    if abs(number) <= 1:
        return f"{number:.3f}"
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    if abs(number) < 1000:
        return f"{number:.2f}".rstrip("0").rstrip(".")
    return f"{number:,.0f}"


def _na(reason: object = None) -> str:
    title = f' title="{_e(reason)}"' if reason else ' title="not available"'
    return f'<span class="na"{title}>n/a</span>'


def _value_html(value: object, reason: object = None, *, metric: bool = False) -> str:
    """A value as HTML: numbers formatted, missing ones as "n/a" with a reason.

    Integers print as integers (counts, sizes) unless ``metric`` says the value is a score, where
    ``1`` means ``1.000``.
    """
    if isinstance(value, int) and not isinstance(value, bool) and not metric:
        return f"{value:,}"
    number = _num(value)
    if number is not None:
        return _e(_fmt_number(number))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_missing(value):
        return _na(reason)
    if isinstance(value, (Mapping, list, tuple)):
        return f"<code>{_e(_json(value))}</code>"
    return _user_text(value)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)


def _ms(value: object) -> str:
    number = _num(value)
    return _na() if number is None else f"{_e(f'{number:,.1f}')}&nbsp;ms"


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# --- thresholds ----------------------------------------------------------------------------------


def _thresholds(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in _list(report.get("thresholds")) if isinstance(t, Mapping)]


def _threshold_passed(threshold: Mapping[str, Any]) -> bool | None:
    passed = threshold.get("passed")
    if isinstance(passed, bool):
        return passed
    value, low, high = (_num(threshold.get(k)) for k in ("value", "minimum", "maximum"))
    if value is None or (low is None and high is None):
        return None
    return (low is None or value >= low) and (high is None or value <= high)


def _overall_passed(report: Mapping[str, Any], thresholds: Sequence[Mapping[str, Any]]) -> bool | None:
    """The verdict for the badge; None (no badge) when the report sets no thresholds."""
    if not thresholds:
        return None
    passed = report.get("passed")
    if isinstance(passed, bool):
        return passed
    return all(_threshold_passed(t) is True for t in thresholds)


def _limit_text(threshold: Mapping[str, Any]) -> str:
    parts = []
    low, high = _num(threshold.get("minimum")), _num(threshold.get("maximum"))
    if low is not None:
        parts.append(f"&ge;&nbsp;{_e(_fmt_number(low))}")
    if high is not None:
        parts.append(f"&le;&nbsp;{_e(_fmt_number(high))}")
    return ", ".join(parts) if parts else _na("no limit given")


def _verdict_html(passed: bool | None) -> str:
    if passed is None:
        return _na("not judged")
    return '<span class="pass-txt">&#10003; pass</span>' if passed else '<span class="fail-txt">&#10007; fail</span>'


# --- charts --------------------------------------------------------------------------------------


def _bar_x(fraction: float) -> float:
    return _BAR_PAD + (_BAR_W - 2 * _BAR_PAD) * min(1.0, max(0.0, fraction))


def _bar_svg(
    name: str,
    value: float | None,
    ci: tuple[float, float] | None,
    limits: Sequence[tuple[str, float]],
    verdict: bool | None,
) -> str:
    """One horizontal 0-1 bar: the value, the CI as a whisker, each threshold as a vertical tick.

    A value outside 0-1 (an unknown metric on another scale) gets no bar rather than a full one.
    """
    w, h, top = _BAR_W, _BAR_H, 5
    off_scale = value is not None and not 0.0 <= value <= 1.0
    label = f"{name}: {'n/a' if value is None else _fmt_number(value)}"
    if off_scale:
        label += " (outside the 0-1 scale)"
    if ci is not None:
        label += f", CI {_fmt_number(ci[0])} to {_fmt_number(ci[1])}"
    for kind, limit in limits:
        label += f", {kind} {_fmt_number(limit)}"
    out = [
        f'<svg class="bar" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{_e(label)}">',
        f"<title>{_e(label)}</title>",
        f'<rect x="{_BAR_PAD}" y="{top}" width="{w - 2 * _BAR_PAD}" height="{h - 2 * top}" fill="#e8eaed" rx="2"/>',
    ]
    for tick in (0.25, 0.5, 0.75):
        x = _bar_x(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - top}" stroke="#fff" stroke-width="1"/>')
    if off_scale:
        out.append(
            f'<text x="{w / 2:.1f}" y="{h / 2 + 3.5:.1f}" font-size="10" fill="#5f6368" '
            'text-anchor="middle">outside the 0-1 scale</text>'
        )
    elif value is not None:
        color = _NEUTRAL_COLOR if verdict is None else (_OK_COLOR if verdict else _BAD_COLOR)
        width = _bar_x(value) - _BAR_PAD
        out.append(
            f'<rect class="value" x="{_BAR_PAD}" y="{top}" width="{width:.1f}" height="{h - 2 * top}" '
            f'fill="{color}" rx="2"/>'
        )
    if ci is not None:
        x1, x2, mid = _bar_x(ci[0]), _bar_x(ci[1]), h / 2
        out.append(
            f'<g class="ci" stroke="#202124" stroke-width="1.5">'
            f'<line x1="{x1:.1f}" y1="{mid}" x2="{x2:.1f}" y2="{mid}"/>'
            f'<line x1="{x1:.1f}" y1="{mid - 4}" x2="{x1:.1f}" y2="{mid + 4}"/>'
            f'<line x1="{x2:.1f}" y1="{mid - 4}" x2="{x2:.1f}" y2="{mid + 4}"/></g>'
        )
    for kind, limit in limits:
        x = _bar_x(limit)
        out.append(
            f'<line class="threshold" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{h}" stroke="#000" stroke-width="2">'
            f"<title>{_e(kind)} {_e(_fmt_number(limit))}</title></line>"
        )
    out.append("</svg>")
    return "".join(out)


def _axis_svg() -> str:
    w, h = _BAR_W, 14
    out = [f'<svg class="axis" width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-hidden="true">']
    for tick, anchor in ((0.0, "start"), (0.25, "middle"), (0.5, "middle"), (0.75, "middle"), (1.0, "end")):
        x = _bar_x(tick) + (-_BAR_PAD if anchor == "start" else _BAR_PAD if anchor == "end" else 0)
        text = f"{tick:g}"
        out.append(f'<text x="{x:.1f}" y="11" font-size="10" fill="#5f6368" text-anchor="{anchor}">{text}</text>')
    out.append("</svg>")
    return "".join(out)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _histogram_svg(latencies: Sequence[float], markers: Sequence[tuple[str, float]]) -> str:
    """Row latencies as a histogram, with the given percentiles as dashed vertical lines."""
    w, h = 480, 170
    left, right, top, bottom = 34, 14, 18, 30
    pw, ph = w - left - right, h - top - bottom
    low, high = min(latencies), max(latencies)
    if high - low < 1e-9:
        low, high, bins = low - 0.5, high + 0.5, 1
    else:
        bins = max(1, min(20, math.ceil(math.sqrt(len(latencies))) + 1))
    step = (high - low) / bins
    counts = [0] * bins
    for value in latencies:
        counts[min(bins - 1, int((value - low) / step))] += 1
    tallest = max(counts)

    def x_of(value: float) -> float:
        return left + pw * (value - low) / (high - low)

    label = f"latency histogram of {len(latencies)} rows, {_fmt_number(low)} to {_fmt_number(high)} ms"
    out = [
        f'<svg class="histogram" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{_e(label)}">',
        f"<title>{_e(label)}</title>",
    ]
    for i, count in enumerate(counts):
        if not count:
            continue
        bar_h = ph * count / tallest
        x = left + pw * i / bins
        bin_text = f"{low + i * step:,.1f} to {low + (i + 1) * step:,.1f} ms: {count} row{'s' if count != 1 else ''}"
        out.append(
            f'<rect x="{x + 0.5:.1f}" y="{top + ph - bar_h:.1f}" width="{max(1.0, pw / bins - 1):.1f}" '
            f'height="{bar_h:.1f}" fill="{_NEUTRAL_COLOR}"><title>{_e(bin_text)}</title></rect>'
        )
    base = top + ph
    out.append(f'<line x1="{left}" y1="{base}" x2="{left + pw}" y2="{base}" stroke="#5f6368"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#5f6368"/>')
    small = 'font-size="10" fill="#5f6368"'
    out.append(f'<text x="{left - 4}" y="{top + 4}" {small} text-anchor="end">{tallest}</text>')
    out.append(f'<text x="{left - 4}" y="{base}" {small} text-anchor="end">0</text>')
    out.append(f'<text x="{left}" y="{base + 13}" {small} text-anchor="start">{_e(f"{low:,.1f}")}</text>')
    out.append(f'<text x="{left + pw}" y="{base + 13}" {small} text-anchor="end">{_e(f"{high:,.1f}")}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{base + 26}" {small} text-anchor="middle">latency (ms)</text>')
    for i, (name, value) in enumerate(markers):
        if not low <= value <= high:
            continue
        x = x_of(value)
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 2}" x2="{x:.1f}" y2="{base}" stroke="#202124" stroke-width="1.5" '
            f'stroke-dasharray="4 3"><title>{_e(name)} {_e(f"{value:,.1f}")} ms</title></line>'
        )
        out.append(f'<text x="{x:.1f}" y="{top - 5 - 9 * (i % 2)}" {small} text-anchor="middle">{_e(name)}</text>')
    out.append("</svg>")
    return "".join(out)


# --- sections ------------------------------------------------------------------------------------


def _header(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    dataset = _map(report.get("dataset"))
    config = _map(report.get("config"))
    thresholds = _thresholds(report)
    name = dataset.get("name") or dataset.get("path") or "evaluation report"
    verdict = _overall_passed(report, thresholds)
    if verdict is None:
        badge = '<span class="badge none">no thresholds set</span>'
    else:
        badge = f'<span class="badge {"pass" if verdict else "fail"}">{"PASSED" if verdict else "FAILED"}</span>'

    facts: list[tuple[str, str]] = []
    if dataset.get("path") is not None:
        facts.append(("dataset", f"<code>{_user_text(dataset['path'])}</code>"))
    n_rows = dataset.get("rows", len(rows) if "rows" in report else None)
    if n_rows is not None:
        facts.append(("rows", _value_html(n_rows)))
    if dataset.get("sha256"):
        digest = str(dataset["sha256"])
        facts.append(("sha256", f'<code title="{_e(digest)}">{_e(digest[:16])}</code>'))
    if report.get("created") is not None:
        facts.append(("created", _e(report["created"])))
    if "duration_s" in report:
        duration = _num(report.get("duration_s"))
        facts.append(("duration", _na() if duration is None else f"{_e(f'{duration:,.1f}')}&nbsp;s"))
    for key in ("generator", "embedder", "retriever", "top_k"):
        if key in config:
            facts.append((key.replace("_", " "), _value_html(config[key])))
    failing = sum(1 for row in rows if _failures(row))
    if rows:
        facts.append(("failing rows", f"{failing} of {len(rows)}"))

    out = [
        "<header>",
        f'<div class="title"><h1>RAG evaluation: {_user_text(name, cls="")}</h1>{badge}</div>',
        '<dl class="facts">',
        *(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts),
        "</dl>",
    ]
    if thresholds:
        out.append('<h3>Thresholds</h3><table class="thresholds"><thead><tr><th>metric</th>'
                   '<th class="num">limit</th><th class="num">value</th><th>result</th></tr></thead><tbody>')
        for t in thresholds:
            passed = _threshold_passed(t)
            out.append(
                f'<tr><td>{_e(t.get("metric", "?"))}</td><td class="num">{_limit_text(t)}</td>'
                f'<td class="num">{_value_html(t.get("value"), metric=True)}</td><td>{_verdict_html(passed)}</td></tr>'
            )
        out.append("</tbody></table>")
    out.append("</header>")
    return "\n".join(out)


def _summary_entry(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {"value": raw}


def _ci(raw: object) -> tuple[float, float] | None:
    bounds = _list(raw)
    if len(bounds) != 2:
        return None
    low, high = _num(bounds[0]), _num(bounds[1])
    if low is None or high is None:
        return None
    return (min(low, high), max(low, high))


def _summary(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    summary = _map(report.get("summary"))
    thresholds = _thresholds(report)
    out = ['<section id="summary"><h2>Summary</h2>']
    if summary:
        out.append(
            '<table class="metrics"><thead><tr><th>metric</th>'
            f'<th>{_axis_svg()}</th><th class="num">value</th><th class="num">CI</th>'
            '<th class="num" title="rows scored">n</th><th class="num" title="rows that could not be scored">NaN</th>'
            "</tr></thead><tbody>"
        )
        for name, raw in summary.items():
            entry = _summary_entry(raw)
            value, ci = _num(entry.get("value")), _ci(entry.get("ci"))
            mine = [t for t in thresholds if str(t.get("metric")) == str(name)]
            limits = [
                (kind, limit)
                for t in mine
                for kind in ("minimum", "maximum")
                if (limit := _num(t.get(kind))) is not None
            ]
            verdicts = [_threshold_passed(t) for t in mine]
            verdict = None if not mine or None in verdicts else all(verdicts)
            description = entry.get("description")
            desc_html = f'<div class="desc">{_user_text(description, cls="")}</div>' if description else ""
            ci_html = f"{_e(_fmt_number(ci[0]))}&ndash;{_e(_fmt_number(ci[1]))}" if ci else _na("no interval")
            out.append(
                f'<tr data-metric="{_e(name)}"><td><b>{_e(name)}</b>{desc_html}</td>'
                f"<td>{_bar_svg(str(name), value, ci, limits, verdict)}</td>"
                f'<td class="num"><b>{_value_html(entry.get("value"), "no row could be scored", metric=True)}</b></td>'
                f'<td class="num">{ci_html}</td>'
                f'<td class="num">{_value_html(entry.get("n")) if "n" in entry else _na()}</td>'
                f'<td class="num">{_value_html(entry.get("nan")) if "nan" in entry else _na()}</td></tr>'
            )
        out.append("</tbody></table>")
    else:
        out.append('<p class="muted">No summary metrics in this report.</p>')

    out.append(_latency(report, rows))
    reasons = Counter(reason for row in rows for reason in _failures(row))
    if reasons:
        out.append("<h3>Why rows failed</h3><ul>")
        out.extend(
            f'<li><span class="fail-txt">{_user_text(reason, cls="")}</span>: {count}</li>'
            for reason, count in reasons.most_common()
        )
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _latency(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    stats = _map(report.get("latency_ms"))
    latencies = [v for row in rows if (v := _num(row.get("latency_ms"))) is not None]
    computed: dict[str, float] = {}
    if latencies:
        computed = {
            "p50": _percentile(latencies, 0.5),
            "p95": _percentile(latencies, 0.95),
            "mean": sum(latencies) / len(latencies),
            "max": max(latencies),
        }
    if not stats and not latencies:
        return ""
    # The runner's own figures win; row latencies fill in what it left out.
    figures: dict[str, float | None] = {}
    for key in ("p50", "p95", "mean", "max"):
        given = _num(stats.get(key))
        figures[key] = given if given is not None else computed.get(key)
    figures.update({k: _num(v) for k, v in stats.items() if k not in figures})
    out = ['<h3>Latency</h3><div class="latency">']
    if latencies:
        markers = [(k, v) for k in ("p50", "p95") if (v := figures.get(k)) is not None]
        out.append(_histogram_svg(latencies, markers))
    else:
        out.append('<p class="muted">No per-row latencies in this report.</p>')
    out.append('<dl class="facts">')
    out.extend(f"<dt>{_e(k)}</dt><dd>{_ms(v)}</dd>" for k, v in figures.items())
    if latencies:
        out.append(f"<dt>rows timed</dt><dd>{len(latencies)}</dd>")
    out.append("</dl></div>")
    return "\n".join(out)


def _failures(row: Mapping[str, Any]) -> list[str]:
    raw = row.get("failures")
    items = [raw] if isinstance(raw, str) else _list(raw)
    return [str(item) for item in items if item is not None and str(item).strip()]


def _short(text: str) -> str:
    """The start of ``text`` in at most ``_QUOTE_COLUMNS`` columns (CJK characters take two)."""
    flat = " ".join(text.split())
    columns = 0
    for i, char in enumerate(flat):
        columns += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if columns > _QUOTE_COLUMNS - 1:
            return flat[:i].rstrip() + "…"
    return flat


def _question_cell(row: Mapping[str, Any]) -> str:
    out = [_user_text(row.get("user_input", ""), tag="div")]
    answerable = row.get("answerable")
    if answerable is True:
        out.append('<span class="tag">answerable</span>')
    elif answerable is False:
        out.append('<span class="tag unans">unanswerable</span>')
    raw = row.get("reference")
    references = [raw] if isinstance(raw, str) else _list(raw)
    if references:
        out.append(f"<details><summary>reference ({len(references)})</summary><ul>")
        out.extend(f"<li>{_user_text(r)}</li>" for r in references)
        out.append("</ul></details>")
    return "".join(out)


def _answer_cell(row: Mapping[str, Any]) -> str:
    out = []
    if row.get("abstained") is True:
        out.append('<span class="tag abstain">abstained</span>')
    answer = row.get("answer")
    if answer is not None and str(answer):
        out.append(_user_text(answer, tag="div"))
    elif row.get("abstained") is not True:
        out.append(_na("no answer"))
    if row.get("generator"):
        out.append(f'<div class="desc">{_e(row["generator"])}</div>')
    return "".join(out)


def _citations_cell(row: Mapping[str, Any]) -> str:
    out = []
    citations = [c for c in _list(row.get("citations")) if isinstance(c, Mapping)]
    for c in citations:
        text = "" if c.get("text") is None else str(c.get("text"))
        start, end = _num(c.get("start")), _num(c.get("end"))
        span = ""
        if start is not None and end is not None:
            span = f' <span class="desc">{int(start)}&ndash;{int(end)}</span>'
        score = _num(c.get("score"))
        score_html = f'<div class="desc">score {_e(_fmt_number(score))}</div>' if score is not None else ""
        out.append(
            f'<details class="cite"><summary><b>[{_e(c.get("marker", "?"))}]</b> '
            f'<code>{_user_text(c.get("source", "?"), cls="")}</code>{span} '
            f'<q{_lang_attr(text)}>{_e(_short(text))}</q></summary>'
            f"<blockquote{_lang_attr(text)}>{_e(text)}</blockquote>{score_html}</details>"
        )
    if not citations:
        out.append('<span class="muted">no citations</span>')
    retrieved = [r for r in _list(row.get("retrieved")) if isinstance(r, Mapping)]
    if retrieved:
        relevant = sum(1 for r in retrieved if r.get("relevant") is True)
        out.append(f"<details><summary>retrieved ({len(retrieved)}, {relevant} relevant)</summary><ol>")
        for r in retrieved:
            score = _num(r.get("score"))
            rel = ' <span class="tag rel">relevant</span>' if r.get("relevant") is True else ""
            score_html = f' <span class="desc">{_e(_fmt_number(score))}</span>' if score is not None else ""
            out.append(f'<li><code>{_user_text(r.get("source", "?"), cls="")}</code>{score_html}{rel}</li>')
        out.append("</ol></details>")
    return "".join(out)


def _statements_cell(row: Mapping[str, Any]) -> str:
    statements = [s for s in _list(row.get("statements")) if isinstance(s, Mapping)]
    if not statements:
        return '<span class="muted">&ndash;</span>'
    out = ['<ul class="plain">']
    for s in statements:
        supported = s.get("supported")
        cls, icon, word = (
            ("ok", "&#10003;", "supported") if supported is True
            else ("bad", "&#10007;", "not supported") if supported is False
            else ("unk", "?", "not judged")
        )
        markers = "".join(f"[{_e(m)}]" for m in _list(s.get("citations")))
        details = []
        if s.get("reason"):
            details.append(_user_text(s["reason"], cls=""))
        score = _num(s.get("score"))
        if score is not None:
            details.append(f"score {_e(_fmt_number(score))}")
        reason = f'<div class="reason">{" &middot; ".join(details)}</div>' if details else ""
        out.append(
            f'<li class="{cls}"><span class="icon" title="{word}" aria-label="{word}">{icon}</span>'
            f'{_user_text(s.get("text", ""))}{f" <b>{markers}</b>" if markers else ""}{reason}</li>'
        )
    out.append("</ul>")
    return "".join(out)


def _metrics_cell(row: Mapping[str, Any], order: Sequence[str]) -> str:
    metrics = _map(row.get("metrics"))
    reasons = _map(row.get("nan_reasons"))
    names = [n for n in order if n in metrics] + [n for n in metrics if n not in order]
    if not names:
        return '<span class="muted">&ndash;</span>'
    items = "".join(
        f"<dt>{_e(n)}</dt><dd>{_value_html(metrics[n], reasons.get(n) or 'could not be scored', metric=True)}</dd>"
        for n in names
    )
    return f'<dl class="kv">{items}</dl>'


def _rows_section(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    out = ['<section id="questions"><h2>Questions</h2>']
    if not rows:
        out.append('<p class="muted">No rows in this report.</p></section>')
        return "\n".join(out)
    failing = sum(1 for row in rows if _failures(row))
    out.append(
        '<div id="controls" hidden>'
        f'<label><input type="checkbox" id="only-failing"> show only failing rows ({failing})</label>'
        '<label>filter <input type="search" id="filter" placeholder="text in any column"></label>'
        '<span id="shown" class="muted" aria-live="polite"></span></div>'
    )
    order = [str(k) for k in _map(report.get("summary"))]
    out.append(
        '<table class="rows" id="rows"><thead><tr>'
        '<th data-sort title="sort: failing first">&nbsp;</th><th data-sort>id</th><th>question</th><th>answer</th>'
        '<th>citations</th><th>statements</th><th>metrics</th><th>failures</th>'
        '<th class="num" data-sort>latency</th></tr></thead><tbody>'
    )
    for index, row in enumerate(rows):
        failures = _failures(row)
        row_id = row.get("id", index + 1)
        latency = _num(row.get("latency_ms"))
        status = (
            '<span class="fail-txt" title="failing">&#10007;</span>' if failures
            else '<span class="pass-txt" title="no failures">&#10003;</span>'
        )
        fails = (
            '<ul class="fails">' + "".join(f"<li>{_user_text(f, cls='')}</li>" for f in failures) + "</ul>"
            if failures else ""
        )
        row_class = ' class="failing"' if failures else ""
        out.append(
            f"<tr{row_class}>"
            f'<td class="status" data-v="{0 if failures else 1}">{status}</td>'
            f'<td data-v="{_e(row_id)}"><code>{_e(row_id)}</code></td>'
            f'<td class="q">{_question_cell(row)}</td>'
            f'<td class="a">{_answer_cell(row)}</td>'
            f'<td class="c">{_citations_cell(row)}</td>'
            f'<td class="s">{_statements_cell(row)}</td>'
            f"<td>{_metrics_cell(row, order)}</td>"
            f"<td>{fails}</td>"
            f'<td class="num" data-v="{"" if latency is None else f"{latency:.3f}"}">{_ms(latency)}</td></tr>'
        )
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _kv_details(title: str, mapping: Mapping[str, Any]) -> str:
    if not mapping:
        return ""
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_value_html(v)}</td></tr>" for k, v in mapping.items())
    return (
        f"<details><summary>{_e(title)} ({len(mapping)})</summary>"
        f'<table class="kvt"><tbody>{rows}</tbody></table></details>'
    )


def _footer(report: Mapping[str, Any]) -> str:
    out = ["<footer><h2>Run details</h2>"]
    config = _kv_details("config", _map(report.get("config")))
    versions = _kv_details("versions", _map(report.get("versions")))
    out.append(config + versions if config or versions else '<p class="muted">No config or versions recorded.</p>')
    fmt = report.get("rag_eval_report")
    if fmt is not None:
        out.append(f'<p class="desc">report format {_e(fmt)}</p>')
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
    rows = [row for row in _list(report.get("rows")) if isinstance(row, Mapping)]
    dataset = _map(report.get("dataset"))
    name = str(dataset.get("name") or dataset.get("path") or "evaluation report")
    thresholds = _thresholds(report)
    verdict = _overall_passed(report, thresholds)
    title = f"RAG eval: {name}" + ("" if verdict is None else f" ({'PASSED' if verdict else 'FAILED'})")
    csp = (
        f"default-src 'none'; style-src '{_csp_hash(_CSS)}'; script-src '{_csp_hash(_JS)}'; "
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
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            _header(report, rows),
            "<main>",
            _summary(report, rows),
            _rows_section(report, rows),
            "</main>",
            _footer(report),
            f"<script>{_JS}</script>",
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
