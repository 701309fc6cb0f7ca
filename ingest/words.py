"""Query vectors of the chunks' candidate words, computed at ingest for the extractive answerer.

When a question term is in a script the index hardly uses (an English question over a Chinese
corpus), the answerer asks whether a candidate sentence holds a translation of it by comparing
the term's vector with the vectors of the sentence's words (:func:`rag.text.terms.word_inputs`).
Those are computed here, once per word new to the index, and stored beside the sentence vectors
(under :data:`rag.text.terms.WORD_KEY` + the word), so a first read embeds none of them; a word
whose vector is not stored (an index written before, an import without ``--sentence-vectors``,
or a word whose first chunk was deleted and merged away) is embedded when it is first read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from rag.domain import Chunk
from rag.text.terms import WORD_KEY, word_inputs

__all__ = ["new_word_vectors"]


def new_word_vectors(
    groups: Sequence[Sequence[Chunk]],
    held: Callable[[Sequence[str]], Collection[str]],
    stored: Callable[[Sequence[str]], Mapping[str, np.ndarray]],
    embed_queries: Callable[[Sequence[str]], np.ndarray],
    batch: int = 256,
) -> tuple[list[dict[str, np.ndarray]], int]:
    """For each group of chunks (one source each), the vectors of its candidate words that no
    chunk staying in the index owns (``held``: which of these keys one does), each word in the
    first group that has it: copied from ``stored`` (those a deleted or replaced source owned),
    the rest embedded; and how many words were embedded."""
    keys_of = [list(dict.fromkeys(WORD_KEY + w for c in chunks for w in word_inputs(c.text, c.heading))) for chunks in groups]
    wanted = list(dict.fromkeys(k for keys in keys_of for k in keys))
    have = held(wanted) if wanted else set()
    rest = [k for k in wanted if k not in have]
    vectors = dict(stored(rest)) if rest else {}
    missing = [k for k in rest if k not in vectors]
    for lo in range(0, len(missing), batch):
        part = missing[lo : lo + batch]
        vectors.update(zip(part, embed_queries([k[len(WORD_KEY) :] for k in part]), strict=True))
    out = []
    for keys in keys_of:
        out.append({k: vectors.pop(k) for k in keys if k in vectors})
    return out, len(missing)
