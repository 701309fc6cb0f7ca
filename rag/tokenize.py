"""Keyword tokens for BM25: Chinese segmented by rjieba (jieba's dictionary), other
scripts as lower-cased word runs, mixed text handled run by run.

The name below is recorded in every index manifest; changing the rules means changing
the name, and the keyword index is then rebuilt from the stored chunk texts.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["TOKENIZER_NAME", "keyword_tokens"]

TOKENIZER_NAME = "rjieba+words/v1"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN_RE = re.compile(rf"[{_CJK}]+|[^\W{_CJK}_]+")


@lru_cache(maxsize=1)
def _cut():  # type: ignore[no-untyped-def]
    import rjieba

    return rjieba.cut


def keyword_tokens(text: str) -> list[str]:
    """Tokens for BM25, in text order, with punctuation and spaces dropped."""
    tokens: list[str] = []
    cut = None
    for match in _RUN_RE.finditer(text):
        run = match.group()
        first = run[0]
        if "\u3400" <= first <= "\u9fff" or "\uf900" <= first <= "\ufaff" or first >= "\U00020000":
            cut = cut or _cut()
            tokens.extend(token for token in cut(run) if token.strip())
        else:
            tokens.append(run.lower())
    return tokens
