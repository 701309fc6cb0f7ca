"""Traditional and Simplified Chinese: a question written in one script meets a corpus written in
the other (私鑰 asked, 私钥 indexed). OpenCC's own dictionaries (Apache-2.0) convert; which
variant a question is retrieved and answered in is the one whose words the index knows best.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from rag.text.tokenize import keyword_tokens

__all__ = ["in_index_script", "preload", "script_variants"]

_CJK_START = 0x3400


@lru_cache(maxsize=2)
def _converter(config: str) -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC(config).convert


def preload() -> None:
    """Load the converters and the segmenter's dictionary now (~0.1 s), so that a server's first
    Chinese question does not pay for them (``rag serve`` calls it at start-up)."""
    _converter("t2s")
    _converter("s2t")
    keyword_tokens("预热分词词典：扁尾海蛇属")  # its first unknown word loads the HMM tables too
    from rag.text.terms import names

    names("扁尾海蛇属的词性 Warm-up")  # rjieba's tagger loads its HMM tables at its first unknown word (~19 ms)


def script_variants(text: str) -> list[str]:
    """``text``, then its Simplified and its Traditional forms where they differ from it."""
    if not any(ord(ch) >= _CJK_START for ch in text):
        return [text]
    return list(dict.fromkeys([text, _converter("t2s")(text), _converter("s2t")(text)]))


def in_index_script(text: str, document_frequency: Callable[[str], int]) -> str:
    """The variant of ``text`` (as written, Simplified, Traditional) with the most Chinese words the
    index holds; ``text`` itself on a tie, so a question already in the corpus' script is untouched."""
    variants = script_variants(text)
    if len(variants) == 1:
        return text

    def known(variant: str) -> int:
        return sum(1 for t in keyword_tokens(variant) if not t.isascii() and document_frequency(t) > 0)

    best = max(variants, key=known)
    return best if known(best) > known(text) else text
