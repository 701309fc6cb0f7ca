"""The per-question table of the report page: one row per question with its answer, citations,
statements, metrics, failures and latency, plus the (JS-driven) filter controls."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from eval.report_format import as_list, as_map, as_number, esc, fmt_number, lang_attr, ms_html, na_html, row_failures, user_text, value_html

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


def _question_cell(row: Mapping[str, Any]) -> str:
    out = [user_text(row.get("user_input", ""), tag="div")]
    answerable = row.get("answerable")
    if answerable is True:
        out.append('<span class="tag">answerable</span>')
    elif answerable is False:
        out.append('<span class="tag unans">unanswerable</span>')
    raw = row.get("reference")
    references = [raw] if isinstance(raw, str) else as_list(raw)
    if references:
        out.append(f"<details><summary>reference ({len(references)})</summary><ul>")
        out.extend(f"<li>{user_text(r)}</li>" for r in references)
        out.append("</ul></details>")
    return "".join(out)


def _answer_cell(row: Mapping[str, Any]) -> str:
    out = []
    if row.get("abstained") is True:
        out.append('<span class="tag abstain">abstained</span>')
    answer = row.get("answer")
    if answer is not None and str(answer):
        out.append(user_text(answer, tag="div"))
    elif row.get("abstained") is not True:
        out.append(na_html("no answer"))
    if row.get("generator"):
        out.append(f'<div class="desc">{esc(row["generator"])}</div>')
    return "".join(out)


def _citations_cell(row: Mapping[str, Any]) -> str:
    out = []
    citations = [c for c in as_list(row.get("citations")) if isinstance(c, Mapping)]
    for c in citations:
        text = "" if c.get("text") is None else str(c.get("text"))
        start, end = as_number(c.get("start")), as_number(c.get("end"))
        span = ""
        if start is not None and end is not None:
            span = f' <span class="desc">{int(start)}&ndash;{int(end)}</span>'
        score = as_number(c.get("score"))
        score_html = f'<div class="desc">score {esc(fmt_number(score))}</div>' if score is not None else ""
        out.append(
            f'<details class="cite"><summary><b>[{esc(c.get("marker", "?"))}]</b> '
            f'<code>{user_text(c.get("source", "?"), cls="")}</code>{span} '
            f'<q{lang_attr(text)}>{esc(_short(text))}</q></summary>'
            f"<blockquote{lang_attr(text)}>{esc(text)}</blockquote>{score_html}</details>"
        )
    if not citations:
        out.append('<span class="muted">no citations</span>')
    retrieved = [r for r in as_list(row.get("retrieved")) if isinstance(r, Mapping)]
    if retrieved:
        relevant = sum(1 for r in retrieved if r.get("relevant") is True)
        out.append(f"<details><summary>retrieved ({len(retrieved)}, {relevant} relevant)</summary><ol>")
        for r in retrieved:
            score = as_number(r.get("score"))
            rel = ' <span class="tag rel">relevant</span>' if r.get("relevant") is True else ""
            score_html = f' <span class="desc">{esc(fmt_number(score))}</span>' if score is not None else ""
            out.append(f'<li><code>{user_text(r.get("source", "?"), cls="")}</code>{score_html}{rel}</li>')
        out.append("</ol></details>")
    return "".join(out)


def _statements_cell(row: Mapping[str, Any]) -> str:
    statements = [s for s in as_list(row.get("statements")) if isinstance(s, Mapping)]
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
        markers = "".join(f"[{esc(m)}]" for m in as_list(s.get("citations")))
        details = []
        if s.get("reason"):
            details.append(user_text(s["reason"], cls=""))
        score = as_number(s.get("score"))
        if score is not None:
            details.append(f"score {esc(fmt_number(score))}")
        reason = f'<div class="reason">{" &middot; ".join(details)}</div>' if details else ""
        out.append(
            f'<li class="{cls}"><span class="icon" title="{word}" aria-label="{word}">{icon}</span>'
            f'{user_text(s.get("text", ""))}{f" <b>{markers}</b>" if markers else ""}{reason}</li>'
        )
    out.append("</ul>")
    return "".join(out)


def _metrics_cell(row: Mapping[str, Any], order: Sequence[str]) -> str:
    metrics = as_map(row.get("metrics"))
    reasons = as_map(row.get("nan_reasons"))
    names = [n for n in order if n in metrics] + [n for n in metrics if n not in order]
    if not names:
        return '<span class="muted">&ndash;</span>'
    items = "".join(
        f"<dt>{esc(n)}</dt><dd>{value_html(metrics[n], reasons.get(n) or 'could not be scored', metric=True)}</dd>"
        for n in names
    )
    return f'<dl class="kv">{items}</dl>'


def rows_section(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    out = ['<section id="questions"><h2>Questions</h2>']
    if not rows:
        out.append('<p class="muted">No rows in this report.</p></section>')
        return "\n".join(out)
    failing = sum(1 for row in rows if row_failures(row))
    out.append(
        '<div id="controls" hidden>'
        f'<label><input type="checkbox" id="only-failing"> show only failing rows ({failing})</label>'
        '<label>filter <input type="search" id="filter" placeholder="text in any column"></label>'
        '<span id="shown" class="muted" aria-live="polite"></span></div>'
    )
    order = [str(k) for k in as_map(report.get("summary"))]
    out.append(
        '<table class="rows" id="rows"><thead><tr>'
        '<th data-sort title="sort: failing first">&nbsp;</th><th data-sort>id</th><th>question</th><th>answer</th>'
        '<th>citations</th><th>statements</th><th>metrics</th><th>failures</th>'
        '<th class="num" data-sort>latency</th></tr></thead><tbody>'
    )
    for index, row in enumerate(rows):
        failures = row_failures(row)
        row_id = row.get("id", index + 1)
        latency = as_number(row.get("latency_ms"))
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
