"""Inline SVG charts for the report page: the 0-1 metric bars with their axis, and the latency histogram."""

from __future__ import annotations

import math
from collections.abc import Sequence

from eval.report_format import esc, fmt_number

__all__ = ["axis_svg", "bar_svg", "histogram_svg"]

_OK_COLOR, _BAD_COLOR, _NEUTRAL_COLOR = "#2e7d32", "#c62828", "#3b6ea8"
_BAR_W, _BAR_H, _BAR_PAD = 260, 20, 6


def _bar_x(fraction: float) -> float:
    return _BAR_PAD + (_BAR_W - 2 * _BAR_PAD) * min(1.0, max(0.0, fraction))


def bar_svg(
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
    label = f"{name}: {'n/a' if value is None else fmt_number(value)}"
    if off_scale:
        label += " (outside the 0-1 scale)"
    if ci is not None:
        label += f", CI {fmt_number(ci[0])} to {fmt_number(ci[1])}"
    for kind, limit in limits:
        label += f", {kind} {fmt_number(limit)}"
    out = [
        f'<svg class="bar" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{esc(label)}">',
        f"<title>{esc(label)}</title>",
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
            f"<title>{esc(kind)} {esc(fmt_number(limit))}</title></line>"
        )
    out.append("</svg>")
    return "".join(out)


def axis_svg() -> str:
    w, h = _BAR_W, 14
    out = [f'<svg class="axis" width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-hidden="true">']
    for tick, anchor in ((0.0, "start"), (0.25, "middle"), (0.5, "middle"), (0.75, "middle"), (1.0, "end")):
        x = _bar_x(tick) + (-_BAR_PAD if anchor == "start" else _BAR_PAD if anchor == "end" else 0)
        text = f"{tick:g}"
        out.append(f'<text x="{x:.1f}" y="11" font-size="10" fill="#5f6368" text-anchor="{anchor}">{text}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram_svg(latencies: Sequence[float], markers: Sequence[tuple[str, float]]) -> str:
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

    label = f"latency histogram of {len(latencies)} rows, {fmt_number(low)} to {fmt_number(high)} ms"
    out = [
        f'<svg class="histogram" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{esc(label)}">',
        f"<title>{esc(label)}</title>",
    ]
    for i, count in enumerate(counts):
        if not count:
            continue
        bar_h = ph * count / tallest
        x = left + pw * i / bins
        bin_text = f"{low + i * step:,.1f} to {low + (i + 1) * step:,.1f} ms: {count} row{'s' if count != 1 else ''}"
        out.append(
            f'<rect x="{x + 0.5:.1f}" y="{top + ph - bar_h:.1f}" width="{max(1.0, pw / bins - 1):.1f}" '
            f'height="{bar_h:.1f}" fill="{_NEUTRAL_COLOR}"><title>{esc(bin_text)}</title></rect>'
        )
    base = top + ph
    out.append(f'<line x1="{left}" y1="{base}" x2="{left + pw}" y2="{base}" stroke="#5f6368"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#5f6368"/>')
    small = 'font-size="10" fill="#5f6368"'
    out.append(f'<text x="{left - 4}" y="{top + 4}" {small} text-anchor="end">{tallest}</text>')
    out.append(f'<text x="{left - 4}" y="{base}" {small} text-anchor="end">0</text>')
    out.append(f'<text x="{left}" y="{base + 13}" {small} text-anchor="start">{esc(f"{low:,.1f}")}</text>')
    out.append(f'<text x="{left + pw}" y="{base + 13}" {small} text-anchor="end">{esc(f"{high:,.1f}")}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{base + 26}" {small} text-anchor="middle">latency (ms)</text>')
    for i, (name, value) in enumerate(markers):
        if not low <= value <= high:
            continue
        x = x_of(value)
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 2}" x2="{x:.1f}" y2="{base}" stroke="#202124" stroke-width="1.5" '
            f'stroke-dasharray="4 3"><title>{esc(name)} {esc(f"{value:,.1f}")} ms</title></line>'
        )
        out.append(f'<text x="{x:.1f}" y="{top - 5 - 9 * (i % 2)}" {small} text-anchor="middle">{esc(name)}</text>')
    out.append("</svg>")
    return "".join(out)
