"""An answer's statements: its sentences, with the citation markers ``[n]`` taken out of the
text and kept as each statement's citations.

The faithfulness checker (:mod:`rag.checking`), the LLM generator and the citation metrics
all split answers this way; sentences come from :mod:`rag.text.sentences` (Chinese and English).
"""

from __future__ import annotations

import re

from rag.domain import Statement
from rag.text.sentences import split_sentences

__all__ = ["MARKER_RE", "Statement", "split_statements"]

MARKER_RE = re.compile(r"\s*\[(\d{1,3})\]")
_HAS_WORD = re.compile(r"\w")


def split_statements(answer: str) -> list[Statement]:
    """The answer's sentences as statements, markers ``[n]`` moved out of the text into ``markers``.

    A marker belongs to the sentence it follows, whether it stands before or after the full
    stop (``...2017 [1].``, ``...2017.[1]``, ``...年。[1]``); ``start``/``end`` span the sentence
    with its markers. Sentences without a word (a stray marker, punctuation) are not statements.
    """
    markers = list(MARKER_RE.finditer(answer))
    masked = list(answer)
    for match in markers:
        masked[match.start() : match.end()] = " " * (match.end() - match.start())
    spans = [[span.start, span.end] for span in split_sentences("".join(masked))]
    if not spans:
        return []
    owned: list[list[int]] = [[] for _ in spans]
    for match in markers:
        index = max((i for i, (start, _) in enumerate(spans) if start <= match.start()), default=0)
        owned[index].append(int(match.group(1)))
        spans[index][1] = max(spans[index][1], match.end())
    statements = []
    for (start, end), marks in zip(spans, owned):
        text = MARKER_RE.sub("", answer[start:end]).strip()
        if _HAS_WORD.search(text):
            statements.append(Statement(text, start, end, tuple(dict.fromkeys(marks))))
    return statements
