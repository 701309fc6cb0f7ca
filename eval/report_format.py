"""Tolerant value accessors, HTML escaping and formatting, and threshold verdicts for the report page.

Every helper accepts whatever the report holds (missing keys, wrong types, NaN) and never raises.
All user text goes through :func:`esc` (``html.escape``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "as_list",
    "as_map",
    "as_number",
    "csp_hash",
    "esc",
    "fmt_number",
    "is_missing",
    "lang_attr",
    "limit_text",
    "ms_html",
    "na_html",
    "overall_passed",
    "report_thresholds",
    "row_failures",
    "threshold_passed",
    "to_json",
    "user_text",
    "value_html",
    "verdict_html",
]

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")


# --- small tolerant accessors --------------------------------------------------------------------


def as_map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def as_number(value: object) -> float | None:
    """A finite number, or None for None, NaN, infinities, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and value.strip().lower() in {"nan", "null", "none", ""}


def esc(value: object) -> str:
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def lang_attr(text: str) -> str:
    """``lang`` for a piece of user text, so browsers pick CJK glyph forms for Han characters."""
    if _KANA.search(text):
        return ' lang="ja"'
    if _HANGUL.search(text):
        return ' lang="ko"'
    if _HAN.search(text):
        return ' lang="zh"'
    return ""


def user_text(value: object, tag: str = "span", cls: str = "text") -> str:
    text = "" if value is None else str(value)
    lang = lang_attr(text)
    if not cls and not lang and tag == "span":
        return esc(text)
    class_attr = f' class="{cls}"' if cls else ""
    return f"<{tag}{class_attr}{lang}>{esc(text)}</{tag}>"


def fmt_number(number: float) -> str:
    if abs(number) <= 1:
        return f"{number:.3f}"
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    if abs(number) < 1000:
        return f"{number:.2f}".rstrip("0").rstrip(".")
    return f"{number:,.0f}"


def na_html(reason: object = None) -> str:
    title = f' title="{esc(reason)}"' if reason else ' title="not available"'
    return f'<span class="na"{title}>n/a</span>'


def value_html(value: object, reason: object = None, *, metric: bool = False) -> str:
    """A value as HTML: numbers formatted, missing ones as "n/a" with a reason.

    Integers print as integers (counts, sizes) unless ``metric`` says the value is a score, where
    ``1`` means ``1.000``.
    """
    if isinstance(value, int) and not isinstance(value, bool) and not metric:
        return f"{value:,}"
    number = as_number(value)
    if number is not None:
        return esc(fmt_number(number))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_missing(value):
        return na_html(reason)
    if isinstance(value, (Mapping, list, tuple)):
        return f"<code>{esc(to_json(value))}</code>"
    return user_text(value)


def to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)


def ms_html(value: object) -> str:
    number = as_number(value)
    return na_html() if number is None else f"{esc(f'{number:,.1f}')}&nbsp;ms"


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# --- thresholds ----------------------------------------------------------------------------------


def report_thresholds(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in as_list(report.get("thresholds")) if isinstance(t, Mapping)]


def threshold_passed(threshold: Mapping[str, Any]) -> bool | None:
    passed = threshold.get("passed")
    if isinstance(passed, bool):
        return passed
    value, low, high = (as_number(threshold.get(k)) for k in ("value", "minimum", "maximum"))
    if value is None or (low is None and high is None):
        return None
    return (low is None or value >= low) and (high is None or value <= high)


def overall_passed(report: Mapping[str, Any], thresholds: Sequence[Mapping[str, Any]]) -> bool | None:
    """The verdict for the badge; None (no badge) when the report sets no thresholds."""
    if not thresholds:
        return None
    passed = report.get("passed")
    if isinstance(passed, bool):
        return passed
    return all(threshold_passed(t) is True for t in thresholds)


def limit_text(threshold: Mapping[str, Any]) -> str:
    parts = []
    low, high = as_number(threshold.get("minimum")), as_number(threshold.get("maximum"))
    if low is not None:
        parts.append(f"&ge;&nbsp;{esc(fmt_number(low))}")
    if high is not None:
        parts.append(f"&le;&nbsp;{esc(fmt_number(high))}")
    return ", ".join(parts) if parts else na_html("no limit given")


def verdict_html(passed: bool | None) -> str:
    if passed is None:
        return na_html("not judged")
    return '<span class="pass-txt">&#10003; pass</span>' if passed else '<span class="fail-txt">&#10007; fail</span>'


def row_failures(row: Mapping[str, Any]) -> list[str]:
    """The row's failure reasons, as non-empty strings (one string counts as one reason)."""
    raw = row.get("failures")
    items = [raw] if isinstance(raw, str) else as_list(raw)
    return [str(item) for item in items if item is not None and str(item).strip()]
