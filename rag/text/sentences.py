"""Sentences, the way Chinese and English are written, with character offsets.

Ends at ``。！？!?…`` and full-width ``．`` in any script; at ``.`` when it closes a sentence
(followed by a space, a line end or a CJK character) but not in ``1.`` list/heading
numbers, decimals, ``e.g.``-style abbreviations or initials. Chinese written with ASCII
``,`` ``?`` ``:`` ``;`` is handled like full-width text. A line break ends a sentence
unless it is an English soft wrap. Used by chunking at ingest time and by answering and
citation checking at query time, so both see the same sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "clauses",
    "sentence_inputs",
    "CJK_RANGES",
    "CLOSERS",
    "LETTERS_PER_EXTRA_UNIT",
    "SOFT_BREAKS",
    "STRONG_END",
    "UNIT_RE",
    "Span",
    "count_units",
    "is_cjk",
    "split_sentences",
    "trim",
    "unit_weight",
]

CJK_RANGES = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0002ffff"
UNIT_RE = re.compile(rf"[{CJK_RANGES}]|[^\W{CJK_RANGES}]+")
_CJK_CHAR_RE = re.compile(rf"[{CJK_RANGES}]")
_WORD_RE = re.compile(rf"[^\W{CJK_RANGES}]+")

STRONG_END = set("。！？!?…‼⁇⁈⁉．｡")
_BREAK_RE = re.compile("[" + re.escape("".join(sorted(STRONG_END | {".", "\n"}))) + "]")  # what may end a sentence
CLOSERS = set("\"'”’」』）)]】》〉›»")
SOFT_BREAKS = set("；;，,、：:")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e cf al fig no vol pp inc ltd co corp dept approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k".split()
)

@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


LETTERS_PER_EXTRA_UNIT = 7


def unit_weight(token: str) -> int:
    """A CJK character is one unit; a word is one, plus one per 7 letters (long words are several subword tokens)."""
    return 1 if is_cjk(token[0]) else 1 + len(token) // LETTERS_PER_EXTRA_UNIT


def count_units(text: str) -> int:
    """Length in units, which track model tokens in both scripts: one per CJK character,
    one per short word of other scripts and one more per 7 letters of a long one."""
    words = _WORD_RE.findall(text)  # runs of word characters between CJK characters
    return len(_CJK_CHAR_RE.findall(text)) + len(words) + sum(len(w) // LETTERS_PER_EXTRA_UNIT for w in words if len(w) >= LETTERS_PER_EXTRA_UNIT)


def is_cjk(ch: str) -> bool:
    return bool(_CJK_CHAR_RE.match(ch))


def trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if start < end else None


def _period_ends_sentence(text: str, i: int, line_start: int) -> bool:
    """Whether the ASCII '.' at ``i`` closes a sentence."""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if nxt and not (nxt.isspace() or nxt in CLOSERS or is_cjk(nxt)):
        return False  # 3.5, example.com, e.g.x
    j = i
    while j > line_start and not text[j - 1].isspace() and text[j - 1] not in "([\"'“‘":
        j -= 1
    token = text[j:i]
    if not token:
        return True
    if text[line_start:j].strip() == "" and re.fullmatch(r"\d{1,3}(?:\.\d{1,3})*|[A-Za-z]|[ivxlcIVXLC]{1,5}", token):
        return False  # a list or heading number at the start of a line: "1.", "2.3.", "a.", "iv."
    if token.lower() in _ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isupper() and nxt == " ":
        return False  # an initial: "J. Smith"
    return True


def _soft_wrap(text: str, nl: int) -> bool:
    """An English hard-wrapped line: the break continues the sentence."""
    before = text[nl - 1] if nl > 0 else ""
    after = text[nl + 1] if nl + 1 < len(text) else ""
    if not before or not after:
        return False
    return (before.isalnum() or before in ",-–(") and not is_cjk(before) and (after.islower() or after.isdigit())


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans in ``text[start:end]``, as offsets into ``text``, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    sent_start = start
    line_start = start
    i = start
    while i < end:
        found = _BREAK_RE.search(text, i, end)  # jump to the next character that may end a sentence
        if found is None:
            break
        i = found.start()
        ch = text[i]
        cut: int | None = None
        if ch == "\n":
            if not _soft_wrap(text, i):
                cut = i
            line_start = i + 1
        elif ch in STRONG_END or (ch == "." and _period_ends_sentence(text, i, line_start)):
            j = i + 1
            while j < end and (text[j] in STRONG_END or text[j] in CLOSERS or text[j] == "."):
                j += 1
            cut = j
            i = j - 1
        if cut is not None:
            span = trim(text, sent_start, cut)
            if span:
                spans.append(span)
            sent_start = cut
        i += 1
    span = trim(text, sent_start, end)
    if span:
        spans.append(span)
    return spans




_SEMICOLON = re.compile(r"[;；]")


def clauses(text: str) -> list[tuple[int, int]]:
    """Sentences, with long ones also cut at semicolons: each clause then is a citable unit on its own."""
    out = []
    for span in split_sentences(text):
        start = span.start
        for match in _SEMICOLON.finditer(text, span.start, span.end - 1):
            if text[start : match.end()].strip():
                out.append((start, match.end()))
            start = match.end()
            while start < span.end and text[start].isspace():
                start += 1
        out.append((start, span.end))
    return out


def sentence_inputs(text: str, heading: str = "") -> list[str]:
    """What the extractive answerer embeds for each candidate clause of a chunk (its heading, a
    newline, the clause; the heading's own text is skipped): computed at ingest and stored with
    the chunk's segment, so reading a passage embeds nothing."""
    out = []
    for start, end in clauses(text):
        clause = text[start:end]
        if heading and clause in heading:
            continue
        out.append(f"{heading}\n{clause}" if heading else clause)
    return out
