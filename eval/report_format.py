"""HTML escaping and value formatting for the report page, and the threshold verdict cells.

The report itself is typed (:mod:`eval.report`); :func:`value_html` still takes any value, since
``config`` and ``versions`` are free-form. All user text goes through :func:`esc` (``html.escape``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from collections.abc import Mapping

from eval.report import ThresholdOutcome

__all__ = [
    "as_number",
    "csp_hash",
    "esc",
    "fmt_number",
    "is_missing",
    "lang_attr",
    "limit_text",
    "ms_html",
    "na_html",
    "to_json",
    "user_text",
    "value_html",
    "verdict_html",
]

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")


# --- values ---------------------------------------------------------------------------------------


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


def limit_text(threshold: ThresholdOutcome) -> str:
    """The gate's limit as HTML (``>= 0.900``)."""
    return f"&ge;&nbsp;{esc(fmt_number(threshold.minimum))}"


def verdict_html(passed: bool | None) -> str:
    if passed is None:
        return na_html("not judged")
    return '<span class="pass-txt">&#10003; pass</span>' if passed else '<span class="fail-txt">&#10007; fail</span>'
