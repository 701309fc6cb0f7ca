"""Splitting text the way Chinese and English are really written.

Three layers, each keeping character offsets into the stored text:

1. **Sentences** (:func:`rag.text.sentences.split_sentences`, shared with answering): ends at
   ``。！？!?…``, and at a ``.`` that closes a sentence but not in ``1.`` heading numbers,
   decimals, abbreviations or initials; Chinese written with ASCII punctuation is handled.
2. **Sections**: a heading line (markdown ``#``, numbered ``1.``/``1.2``/``一、``/``第一章``,
   or a short unpunctuated title line) starts a section; the heading stays with the text
   under it, and its title travels with every chunk of the section (see ``Chunk.heading``).
3. **Chunks**: consecutive sentences of one section packed up to ``chunk_size`` units,
   overlapping by whole trailing sentences up to ``chunk_overlap`` units. A unit is one
   CJK character, or one word of another script plus one per 7 letters of a long word,
   which tracks model tokens for both (and keeps a default chunk under e5's 512 tokens).
   A sentence longer than a chunk is cut at clause punctuation, then at unit boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.domain import Chunk, Document
from rag.text.sentences import (
    CLOSERS,
    LETTERS_PER_EXTRA_UNIT,
    SOFT_BREAKS,
    STRONG_END,
    UNIT_RE,
    Span,
    count_units,
    split_sentences,
    trim,
    unit_weight,
)

__all__ = ["SentenceChunker", "split_sentences", "count_units", "Span"]

_MD_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_NUMBERED_HEADING_RE = re.compile(
    r"^\s*(?:\d{1,3}(?:\.\d{1,3})*[.、)）]?\s*(?=\S)(?!\d)|[一二三四五六七八九十百零]+[、.．]\s*|第[一二三四五六七八九十百零\d]+[章节條条部篇]\s*)"
)
_HEADING_MAX_UNITS = 60


def _heading_kind(line: str, next_line: str | None) -> bool:
    """Whether a (stripped, non-empty) line is a heading."""
    if _MD_HEADING_RE.match(line):
        return True
    units = count_units(line)
    if units == 0 or units > _HEADING_MAX_UNITS:
        return False
    has_body_after = next_line is not None and count_units(next_line) > units
    if _NUMBERED_HEADING_RE.match(line) and len(split_sentences(line)) <= 1:
        # "1. 什么是比特币交易客服?" / "4. 比特币交易客服的响应速度与服务质量的关系"
        return has_body_after or line[-1] in "?？:：" or line[-1] not in STRONG_END | {"."}
    last = line[-1]
    if last in "?？:：" and units <= 40 and has_body_after and len(split_sentences(line)) == 1:
        return True  # a question or a label on its own line, with its answer below: an FAQ entry
    if last in STRONG_END or last in ".,，;；、" or last in CLOSERS:
        return False
    return units <= 20 and has_body_after


_HEADING_MAX_CHARS = 120


def _clean_heading(line: str) -> str:
    heading = re.sub(r"^\s{0,3}#{1,6}\s+", "", line).strip()
    return heading if len(heading) <= _HEADING_MAX_CHARS else heading[: _HEADING_MAX_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Sentence:
    span: Span
    units: int


@dataclass
class _Section:
    heading: str
    sentences: list[_Sentence]


class SentenceChunker:
    """Sections of sentences packed into chunks of about ``chunk_size`` units."""

    def __init__(self, chunk_size: int = 320, chunk_overlap: int = 48) -> None:
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError(f"chunk_overlap must be >= 0 and < chunk_size ({chunk_size}), got {chunk_overlap}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap

    @property
    def config(self) -> dict[str, object]:
        return {"name": "sentence", "chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap, "unit": "cjk-char-or-word/7-letters"}

    # -- sections -----------------------------------------------------------------

    def _lines(self, text: str, start: int, end: int) -> list[Span]:
        lines = []
        pos = start
        while pos < end:
            nl = text.find("\n", pos, end)
            stop = end if nl == -1 else nl
            span = trim(text, pos, stop)
            if span:
                lines.append(span)
            pos = stop + 1
        return lines

    def _sections(self, text: str, start: int, end: int) -> list[_Section]:
        lines = self._lines(text, start, end)
        sections: list[_Section] = []
        current = _Section("", [])
        body_start: int | None = None

        def flush_body(upto: int) -> None:
            nonlocal body_start
            if body_start is not None:
                current.sentences.extend(self._sentences(text, body_start, upto))
                body_start = None

        for k, line in enumerate(lines):
            line_text = text[line.start : line.end]
            nxt = text[lines[k + 1].start : lines[k + 1].end] if k + 1 < len(lines) else None
            if _heading_kind(line_text, nxt):
                flush_body(line.start)
                if current.sentences and not (len(current.sentences) == 1 and current.heading):
                    sections.append(current)
                    current = _Section(_clean_heading(line_text), [])
                elif current.sentences:
                    # A heading directly under another heading: keep both in one section.
                    current = _Section(f"{current.heading} / {_clean_heading(line_text)}", current.sentences)
                else:
                    current = _Section(_clean_heading(line_text), [])
                current.sentences.extend(self._sentences(text, line.start, line.end))
            elif body_start is None:
                body_start = line.start
        flush_body(end)
        if current.sentences:
            sections.append(current)
        return sections

    def _sentences(self, text: str, start: int, end: int) -> list[_Sentence]:
        out: list[_Sentence] = []
        for span in split_sentences(text, start, end):
            units = count_units(text[span.start : span.end])
            if units <= self.chunk_size:
                out.append(_Sentence(span, units))
            else:
                out.extend(self._split_long(text, span))
        return out

    def _split_long(self, text: str, span: Span) -> list[_Sentence]:
        """Cut an over-long sentence at clause punctuation, else at unit boundaries."""
        pieces: list[_Sentence] = []

        def emit(lo: int, hi: int) -> None:
            piece = trim(text, lo, hi)
            if piece:
                pieces.append(_Sentence(piece, count_units(text[piece.start : piece.end])))

        piece_start = span.start
        units = 0  # units in text[piece_start : previous unit's end]
        last_soft: int | None = None  # just after the last clause mark in the current piece
        units_at_soft = 0
        scanned = span.start
        for match in UNIT_RE.finditer(text, span.start, span.end):
            for pos in range(scanned, match.start()):
                if text[pos] in SOFT_BREAKS:
                    last_soft, units_at_soft = pos + 1, units
            scanned = match.end()
            weight = unit_weight(match.group())
            if weight > self.chunk_size:
                # One "word" longer than a chunk (a hash, base64, a URL): cut it in slices.
                emit(piece_start, match.start())
                step = LETTERS_PER_EXTRA_UNIT * (self.chunk_size - 1) or 1
                starts = range(match.start(), match.end(), step)
                for lo in starts[:-1]:
                    emit(lo, lo + step)
                piece_start, last_soft = starts[-1], None
                units = unit_weight(text[piece_start : match.end()])
                continue
            if units + weight > self.chunk_size and last_soft is not None and units_at_soft >= self.chunk_size // 2:
                emit(piece_start, last_soft)  # cut after the last clause mark
                piece_start, units, last_soft = last_soft, units - units_at_soft, None
            if units + weight > self.chunk_size:
                emit(piece_start, match.start())
                piece_start, units, last_soft = match.start(), 0, None
            units += weight
        emit(piece_start, span.end)
        return pieces

    # -- packing ------------------------------------------------------------------

    def _pack(self, text: str, sentences: list[_Sentence]) -> list[tuple[int, int]]:
        """Index ranges [i, j) of sentences per chunk."""
        ranges: list[tuple[int, int]] = []
        i = 0
        n = len(sentences)
        while i < n:
            j = i + 1
            total = sentences[i].units
            while j < n and total + sentences[j].units <= self.chunk_size:
                # Units are words, and two sentences written without a space can join two
                # words into one, or split one: count the joined span itself.
                joined = count_units(text[sentences[i].span.start : sentences[j].span.end])
                if joined > self.chunk_size:
                    break
                total = joined
                j += 1
            ranges.append((i, j))
            if j >= n:
                break
            back = j
            overlap = 0
            while back - 1 > i and overlap + sentences[back - 1].units <= self.chunk_overlap:
                back -= 1
                overlap += sentences[back].units
            i = back
        return ranges

    def split(self, document: Document) -> list[Chunk]:
        text = document.text
        bounds = [0, *sorted(b for b in document.breaks if 0 < b < len(text)), len(text)]
        chunks: list[Chunk] = []
        for lo, hi in zip(bounds, bounds[1:]):
            for section in self._sections(text, lo, hi):
                for i, j in self._pack(text, section.sentences):
                    start = section.sentences[i].span.start
                    end = section.sentences[j - 1].span.end
                    chunks.append(
                        Chunk(
                            source_id=document.source_id,
                            ordinal=len(chunks),
                            start=start,
                            end=end,
                            text=text[start:end],
                            heading=section.heading,
                            page=document.page_at(start),
                        )
                    )
        return chunks
