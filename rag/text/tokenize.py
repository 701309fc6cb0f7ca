"""Keyword tokens: Chinese segmented by rjieba (jieba's dictionary), other scripts as
lower-cased word runs, mixed text handled run by run.

Two functions, one per use:

- :func:`keyword_tokens`, the words of a text in order: what a person would call its terms
  (question terms for answering, term lookups in the keyword index). The keyword index
  (rag/index/format.py) is built from these today.
- :func:`bm25_tokens`, the terms a BM25 index is better built from: the same words, plus every
  pair of adjacent characters of a Chinese run (so that 发源地 in a question still meets 发源
  in a passage that rjieba cut differently), without English function words (which match
  every passage). Every word :func:`keyword_tokens` yields is among them unless it is one of
  those function words. BM25 alone, nDCG@10: CMRC2018 dev 97.66 -> 98.43, CMRC2018 trial
  97.79 -> 98.54, HaluEval QA (HotpotQA questions, first 2,000) 96.66 -> 96.89 (BENCHMARKS.md,
  "Retrieval quality and latency").

The names below are recorded in every index manifest: changing the rules means changing the
name, and the keyword index is then rebuilt from the stored chunk texts. An index built from
:func:`bm25_tokens` records ``BM25_TOKENIZER_NAME``.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["TOKENIZER_NAME", "BM25_TOKENIZER_NAME", "keyword_tokens", "bm25_tokens"]

TOKENIZER_NAME = "rjieba+words/v1"  # the rules of keyword_tokens
BM25_TOKENIZER_NAME = "rjieba+words+cjk-bigrams-en-stopwords/v2"  # the rules of bm25_tokens

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN_RE = re.compile(rf"[{_CJK}]+|[^\W{_CJK}_]+")

# English function words, dropped from BM25 terms. All of them are also function words to
# rag.answering, so every term it looks up in the keyword index is still indexed.
ENGLISH_STOPWORDS = frozenset(
    """a about all am an and any are at be been being but by can could did do does doing each for from had has
    have having he here how i if in into is it its just me my no not of on only or our over she should so some
    such than that the their them then there these they this those through to under very was we were what when
    where which who whom why will with would you your""".split()
)


@lru_cache(maxsize=1)
def _cut():  # type: ignore[no-untyped-def]
    import rjieba

    return rjieba.cut


def _is_cjk(first: str) -> bool:
    return "\u3400" <= first <= "\u9fff" or "\uf900" <= first <= "\ufaff" or first >= "\U00020000"


def _runs(text: str):  # type: ignore[no-untyped-def]
    """(run, its words) for each run of one script: rjieba words for Chinese, the lower-cased run otherwise."""
    cut = None
    for match in _RUN_RE.finditer(text):
        run = match.group()
        if _is_cjk(run[0]):
            cut = cut or _cut()
            yield run, [token for token in cut(run) if token.strip()]
        else:
            yield run, [run.lower()]


def keyword_tokens(text: str) -> list[str]:
    """Words, in text order, with punctuation and spaces dropped."""
    return [word for _run, words in _runs(text) for word in words]


def bm25_tokens(text: str) -> list[str]:
    """BM25 terms: the words of :func:`keyword_tokens` without English function words, and
    the character bigrams of each Chinese run after its words."""
    tokens: list[str] = []
    for run, words in _runs(text):
        if _is_cjk(run[0]):
            tokens.extend(words)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif words[0] not in ENGLISH_STOPWORDS:
            tokens.append(words[0])
    return tokens
