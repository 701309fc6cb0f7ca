"""The per-question table of the report page: one row per question with its answer, citations,
statements, metrics, failures and latency, plus the (JS-driven) filter controls."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

from eval.report import Report, Row
from eval.report_format import esc, fmt_number, lang_attr, ms_html, na_html, user_text, value_html

__all__ = ["rows_section"]

_QUOTE_COLUMNS = 80


def _short(text: str) -> str:
    """The start of ``text`` in at most ``_QUOTE_COLUMNS`` columns (CJK characters take two)."""
    flat = " ".join(text.split())
    columns = 0
    for i, char in enumerate(flat):
        columns += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if columns > _QUOTE_COLUMNS - 1:
            return flat[:i].rstrip() + "…"
    return flat


def _question_cell(row: Row) -> str:
    out = [user_text(row.user_input, tag="div")]
    if row.answerable:
        out.append('<span class="tag">answerable</span>')
    else:
        out.append('<span class="tag unans">unanswerable</span>')
    references = row.reference
    if references:
        out.append(f"<details><summary>reference ({len(references)})</summary><ul>")
        out.extend(f"<li>{user_text(r)}</li>" for r in references)
        out.append("</ul></details>")
    return "".join(out)


def _answer_cell(row: Row) -> str:
    out = []
    if row.abstained:
        out.append('<span class="tag abstain">abstained</span>')
    if row.answer:
        out.append(user_text(row.answer, tag="div"))
    elif not row.abstained:
        out.append(na_html("no answer"))
    if row.generator:
        out.append(f'<div class="desc">{esc(row.generator)}</div>')
    return "".join(out)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _citations_cell(row: Row) -> str:
    out = []
    for c in row.citations:
        text = c.text
        span = f' <span class="desc">{c.start}&ndash;{c.end}</span>'
        score = _finite(c.score)
        score_html = f'<div class="desc">score {esc(fmt_number(score))}</div>' if score is not None else ""
        out.append(
            f'<details class="cite"><summary><b>[{esc(c.marker)}]</b> '
            f'<code>{user_text(c.source, cls="")}</code>{span} '
            f'<q{lang_attr(text)}>{esc(_short(text))}</q></summary>'
            f"<blockquote{lang_attr(text)}>{esc(text)}</blockquote>{score_html}</details>"
        )
    if not row.citations:
        out.append('<span class="muted">no citations</span>')
    retrieved = row.retrieved
    if retrieved:
        relevant = sum(1 for r in retrieved if r.relevant)
        out.append(f"<details><summary>retrieved ({len(retrieved)}, {relevant} relevant)</summary><ol>")
        for r in retrieved:
            rel = ' <span class="tag rel">relevant</span>' if r.relevant else ""
            out.append(f'<li><code>{user_text(r.source, cls="")}</code>{rel}</li>')
        out.append("</ol></details>")
    return "".join(out)


def _statements_cell(row: Row) -> str:
    statements = row.statements
    if not statements:
        return '<span class="muted">&ndash;</span>'
    out = ['<ul class="plain">']
    for s in statements:
        supported = s.supported
        cls, icon, word = (
            ("ok", "&#10003;", "supported") if supported is True
            else ("bad", "&#10007;", "not supported") if supported is False
            else ("unk", "?", "not judged")
        )
        markers = "".join(f"[{esc(m)}]" for m in s.citations)
        details = []
        if s.reason:
            details.append(user_text(s.reason, cls=""))
        score = _finite(s.score)
        if score is not None:
            details.append(f"score {esc(fmt_number(score))}")
        reason = f'<div class="reason">{" &middot; ".join(details)}</div>' if details else ""
        out.append(
            f'<li class="{cls}"><span class="icon" title="{word}" aria-label="{word}">{icon}</span>'
            f'{user_text(s.text)}{f" <b>{markers}</b>" if markers else ""}{reason}</li>'
        )
    out.append("</ul>")
    return "".join(out)


def _metrics_cell(row: Row, order: Sequence[str]) -> str:
    metrics, reasons = row.metrics, row.nan_reasons
    names = [n for n in order if n in metrics] + [n for n in metrics if n not in order]
    if not names:
        return '<span class="muted">&ndash;</span>'
    items = "".join(
        f"<dt>{esc(n)}</dt><dd>{value_html(metrics[n], reasons.get(n) or 'could not be scored', metric=True)}</dd>"
        for n in names
    )
    return f'<dl class="kv">{items}</dl>'


def rows_section(report: Report) -> str:
    """The "Questions" section: the filter controls and one table row per question."""
    rows = report.rows
    out = ['<section id="questions"><h2>Questions</h2>']
    if not rows:
        out.append('<p class="muted">No rows in this report.</p></section>')
        return "\n".join(out)
    failing = sum(1 for row in rows if row.failures)
    out.append(
        '<div id="controls" hidden>'
        f'<label><input type="checkbox" id="only-failing"> show only failing rows ({failing})</label>'
        '<label>filter <input type="search" id="filter" placeholder="text in any column"></label>'
        '<span id="shown" class="muted" aria-live="polite"></span></div>'
    )
    order = list(report.summary)
    out.append(
        '<table class="rows" id="rows"><thead><tr>'
        '<th data-sort title="sort: failing first">&nbsp;</th><th data-sort>id</th><th>question</th><th>answer</th>'
        '<th>citations</th><th>statements</th><th>metrics</th><th>failures</th>'
        '<th class="num" data-sort>latency</th></tr></thead><tbody>'
    )
    for row in rows:
        failures = row.failures
        row_id = row.id
        latency = _finite(row.latency_ms)
        status = (
            '<span class="fail-txt" title="failing">&#10007;</span>' if failures
            else '<span class="pass-txt" title="no failures">&#10003;</span>'
        )
        fails = (
            '<ul class="fails">' + "".join(f"<li>{user_text(f, cls='')}</li>" for f in failures) + "</ul>"
            if failures else ""
        )
        row_class = ' class="failing"' if failures else ""
        out.append(
            f"<tr{row_class}>"
            f'<td class="status" data-v="{0 if failures else 1}">{status}</td>'
            f'<td data-v="{esc(row_id)}"><code>{esc(row_id)}</code></td>'
            f'<td class="q">{_question_cell(row)}</td>'
            f'<td class="a">{_answer_cell(row)}</td>'
            f'<td class="c">{_citations_cell(row)}</td>'
            f'<td class="s">{_statements_cell(row)}</td>'
            f"<td>{_metrics_cell(row, order)}</td>"
            f"<td>{fails}</td>"
            f'<td class="num" data-v="{"" if latency is None else f"{latency:.3f}"}">{ms_html(latency)}</td></tr>'
        )
    out.append("</tbody></table></section>")
    return "\n".join(out)
