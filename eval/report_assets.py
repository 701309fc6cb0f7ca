"""The report page's static assets: its CSS (with the CJK-aware font stack) and its JS.

Both are package data files (``eval/static/report.css``, ``eval/static/report.js``, listed in
pyproject's ``[tool.setuptools.package-data]``), read once with :mod:`importlib.resources`.
:mod:`eval.report_html` inlines them into the page and allows exactly these two texts through the
page's Content-Security-Policy by their SHA-256 hashes. The JS filters and sorts the per-question
table; its controls start hidden, so a page viewed with JS off shows no inputs that do nothing.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["CSS", "JS", "read_asset"]


def read_asset(name: str) -> str:
    """The text of ``eval/static/NAME``, without surrounding whitespace."""
    return resources.files("eval").joinpath("static", name).read_text(encoding="utf-8").strip()


CSS = read_asset("report.css")
JS = read_asset("report.js")
