"""Domain objects: small, frozen, and free of any framework type.

Change them with :func:`dataclasses.replace`. Ids are content hashes, so ingesting the
same bytes again produces the same ids and is a no-op.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "Document",
    "Chunk",
    "StoredChunk",
    "SourceRecord",
    "Hit",
    "Passage",
    "Citation",
    "Answer",
    "AnswerSentence",
    "EmbedderInfo",
    "AnswerEvent",
    "Statement",
    "SupportEvidence",
    "StatementVerdict",
    "FaithfulnessResult",
    "sha256_hex",
    "source_id_for",
    "chunk_id_for",
]


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def source_id_for(path: str) -> str:
    """A source is identified by where it lives: the same text in two files is two sources."""
    return sha256_hex(path)[:16]


def chunk_id_for(source_id: str, start: int, end: int, text: str) -> str:
    """Unique per source and position, and stable for the same text at the same place."""
    return sha256_hex(f"{source_id}\x00{start}\x00{end}\x00{text}")[:20]


@dataclass(frozen=True, slots=True)
class Document:
    """The text extracted from one source file, as it is stored in the index.

    ``pages`` maps a PDF page to where it starts: ``(offset, page_number)`` pairs in
    increasing offset order, page numbers from 1. ``breaks`` are offsets a chunk must not
    cross (the boundaries between the records of a JSONL file).
    """

    path: str
    text: str
    content_hash: str
    kind: str
    pages: tuple[tuple[int, int], ...] = ()
    breaks: tuple[int, ...] = ()

    @property
    def source_id(self) -> str:
        return source_id_for(self.path)

    def page_at(self, offset: int) -> int | None:
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span ``text[start:end]`` of a document's stored text.

    ``heading`` is the title of the section the span belongs to; it is given to the
    embedder with the span (so a later chunk of a long answer still knows its question)
    but is not part of the cited span.
    """

    source_id: str
    ordinal: int
    start: int
    end: int
    text: str
    heading: str = ""
    page: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"chunk span must satisfy 0 <= start < end, got {self.start}..{self.end}")
        if len(self.text) != self.end - self.start:
            raise ValueError("chunk text length must equal end - start")

    @property
    def chunk_id(self) -> str:
        return chunk_id_for(self.source_id, self.start, self.end, self.text)

    @property
    def embed_text(self) -> str:
        """What the embedder sees: the span, preceded by its heading when the span lacks it."""
        if self.heading and not self.text.startswith(self.heading):
            return f"{self.heading}\n{self.text}"
        return self.text


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as the index holds it, with the integer id FAISS knows it by."""

    vector_id: int
    chunk_id: str
    source_id: str
    path: str
    ordinal: int
    start: int
    end: int
    text: str
    heading: str
    page: int | None


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One ingested source file."""

    source_id: str
    path: str
    content_hash: str
    kind: str
    size: int
    n_chunks: int
    ingested_at: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk found by one retriever, with that retriever's score (higher is better)."""

    chunk: StoredChunk
    score: float
    rank: int


@dataclass(frozen=True, slots=True)
class EmbedderInfo:
    """What an index records about the model that built it; a mismatch refuses to open."""

    backend: str
    model: str
    dim: int
    normalized: bool = True

    def key(self) -> tuple[str, str, int]:
        return (self.backend, self.model, self.dim)

    def describe(self) -> str:
        return f"{self.backend}:{self.model} (dim {self.dim})"


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its fused score and rank, and what each retriever said of it."""

    chunk: StoredChunk
    score: float
    rank: int
    dense_score: float | None = None
    dense_rank: int | None = None
    keyword_score: float | None = None
    keyword_rank: int | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited span: ``text`` is exactly the stored text of ``source`` from ``start`` to ``end``."""

    marker: int
    source: str
    source_id: str
    start: int
    end: int
    text: str
    score: float
    page: int | None = None


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """One sentence of a generated answer: the passages it cites (markers), whether the checker
    found it supported by them, how strongly (0-1), and why."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    support: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer with its citations, or an abstention (``abstained``, no citations, a ``reason``)."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    language: str
    generator: str
    support: float
    reason: str = ""
    passages: tuple[Passage, ...] = ()
    sentences: tuple[AnswerSentence, ...] = ()  # per-sentence checks (LLM answers)
    notes: tuple[str, ...] = ()  # what the check changed: dropped sentences, markers that pointed nowhere
    standalone: str = ""  # a follow-up question rewritten to stand alone (what was retrieved and answered)


@dataclass(frozen=True, slots=True)
class AnswerEvent:
    """One step of a streamed answer.

    - ``kind="sentence"``: a checked sentence released to the reader (``sentence``, and ``text``
      as it should be shown, with its markers);
    - ``kind="final"``: the whole answer (``answer``), after the last sentence;
    - ``kind="token"``: raw model text, only with ``raw=True``; ``checked`` is False.
    """

    kind: Literal["sentence", "final", "token"]
    text: str = ""
    sentence: AnswerSentence | None = None
    answer: Answer | None = None
    checked: bool = True


# -- what the faithfulness checker says ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of an answer, without its citation markers; ``start``/``end`` locate it in the answer."""

    text: str
    start: int
    end: int
    markers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SupportEvidence:
    """What a verdict rests on: the best window of the best passage, and the features there."""

    passage: int  # index of the passage (0-based) holding the best window
    start: int  # the window's character span in that passage
    end: int
    coverage: float
    novel_coverage: float
    sentence_coverage: float
    similarity: float  # NaN without an embedder
    pair_coverage: float = 1.0
    missing_terms: tuple[str, ...] = ()
    missing_numbers: tuple[str, ...] = ()
    missing_entities: tuple[str, ...] = ()

    def vector(self) -> np.ndarray:
        similarity = 0.0 if math.isnan(self.similarity) else self.similarity
        return np.asarray(
            [
                self.coverage,
                self.novel_coverage,
                self.sentence_coverage,
                1.0 if self.missing_numbers else 0.0,
                1.0 if self.missing_entities else 0.0,
                similarity,
                self.pair_coverage,
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True, slots=True)
class StatementVerdict:
    """A statement, whether the passages support it, how strongly (0-1) and why."""

    statement: Statement
    supported: bool
    score: float
    reason: str
    evidence: SupportEvidence | None = None


@dataclass(frozen=True, slots=True)
class FaithfulnessResult:
    """Per-statement verdicts and the share supported (NaN with ``reason`` when there is nothing to score)."""

    verdicts: tuple[StatementVerdict, ...]
    score: float
    reason: str | None = None
    judge: str = ""

    @property
    def supported(self) -> int:
        return sum(1 for v in self.verdicts if v.supported)
