"""The report page's static assets: its CSS (with the CJK-aware font stack) and its JS.

Both are inlined into the page by :mod:`eval.report_html`, which allows exactly these two texts
through the page's Content-Security-Policy by their SHA-256 hashes.
"""

from __future__ import annotations

__all__ = ["CSS", "FONT_STACK", "JS"]

FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
)

CSS = (
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
""".replace("FONTS", FONT_STACK).strip()
)

# Filters and sorts the per-question table. The controls start hidden so a page viewed with JS
# off shows no inputs that do nothing.
JS = """
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
