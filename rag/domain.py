"""Domain objects: small, frozen, and free of any framework type.

Change them with :func:`dataclasses.replace`. Ids are content hashes, so ingesting the
same bytes again produces the same ids and is a no-op.

The wire shape of an answer (``rag ask --json``, the API's ``/v1/query`` and the ``rag`` and
``citations`` fields of ``/v1/chat/completions``) is defined here, once per type: ``to_dict()``
gives it and ``from_dict()`` reads it back. :class:`Citation` and :class:`AnswerSentence` keep
every field. :class:`Passage` and :class:`Answer` drop some (see their ``to_dict``), and their
``from_dict`` fills those with defaults.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

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
    "SkippedText",
    "SupportEvidence",
    "StatementVerdict",
    "FaithfulnessResult",
    "DEFAULT_COLLECTION",
    "check_collection",
    "collection_counts",
    "sha256_hex",
    "source_id_for",
    "chunk_id_for",
]


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


DEFAULT_COLLECTION = "default"
_COLLECTION = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def check_collection(name: str) -> str:
    """``name`` when it can name a collection (1-64 of lowercase letters, digits, '.', '_', '-',
    starting with a letter or digit: a folder name that means the same on every file system);
    ValueError otherwise."""
    if not isinstance(name, str) or not _COLLECTION.fullmatch(name):
        raise ValueError(f"{name!r} cannot name a collection: use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def collection_counts(sources: Iterable[SourceRecord]) -> dict[str, int]:
    """Sources per collection, by name."""
    counts: dict[str, int] = {}
    for source in sources:
        counts[source.collection] = counts.get(source.collection, 0) + 1
    return dict(sorted(counts.items()))


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
    collection: str = "default"  # the document set it belongs to (keys may be scoped to some)

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
    """A chunk as the index holds it, with its integer id in the index (``vector_id``)."""

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
    collection: str = "default"


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
    # A fingerprint of the model's weight files ("" when unknown: a model by hub name, an index
    # written before it was recorded). Not the device: vectors do not depend on it.
    revision: str = ""

    def key(self) -> tuple[str, str, int]:
        return (self.backend, self.model, self.dim)

    def same_weights(self, other: EmbedderInfo) -> bool:
        """False only when both fingerprints are known and differ (the same name, other weights)."""
        return not self.revision or not other.revision or self.revision == other.revision

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

    def to_dict(self) -> dict[str, Any]:
        """The ``passages[*]`` object: rank, score (rounded to 4 places), source path, span and the
        retrievers' ranks. Dropped: the chunk's text, ids, ordinal, heading and page, and the
        retrievers' scores."""
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "source": self.chunk.path,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "dense_rank": self.dense_rank,
            "keyword_rank": self.keyword_rank,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Passage:
        """Read a ``passages[*]`` object. What the shape drops gets defaults: ``vector_id`` -1,
        ``chunk_id``, ``text`` and ``heading`` empty, ``ordinal`` 0, ``page`` None, no retriever
        scores; ``source_id`` is derived from the path (as ingestion does)."""
        path = data["source"]
        chunk = StoredChunk(vector_id=-1, chunk_id="", source_id=source_id_for(path), path=path, ordinal=0,
                            start=data["start"], end=data["end"], text="", heading="", page=None)
        return cls(chunk, data["score"], data["rank"], dense_rank=data.get("dense_rank"), keyword_rank=data.get("keyword_rank"))


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

    def to_dict(self) -> dict[str, Any]:
        """The ``citations[*]`` object: every field."""
        return {
            "marker": self.marker,
            "source": self.source,
            "source_id": self.source_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": self.score,
            "page": self.page,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Citation:
        """Read a ``citations[*]`` object (``page`` may be left out)."""
        return cls(data["marker"], data["source"], data["source_id"], data["start"], data["end"], data["text"], data["score"], data.get("page"))


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """One sentence of a generated answer: the passages it cites (markers), whether the checker
    found it supported by them, how strongly (0-1), and why."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    support: float
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The ``sentences[*]`` object: every field (``citations`` as a list)."""
        return {"text": self.text, "citations": list(self.citations), "supported": self.supported, "support": self.support, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerSentence:
        """Read a ``sentences[*]`` object."""
        return cls(data["text"], tuple(data["citations"]), data["supported"], data["support"], data.get("reason", ""))


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
    explanation: tuple[str, ...] = ()  # why each sentence was chosen, or why the answer was refused, in words

    def to_dict(self, *, passages: bool = False, explain: bool = False) -> dict[str, Any]:
        """The JSON shape of ``rag ask --json`` and of the API's answers.

        Always: ``question``, ``answer`` (the text), ``abstained``, ``citations``, ``language``,
        ``generator``, ``support``; ``standalone_question`` only when there is one; ``sentences``
        and ``notes`` only when not empty; ``reason`` only for an abstention (an answer's reason
        is dropped); ``passages`` and ``explanation`` only when asked (see :meth:`Passage.to_dict`
        for what a passage drops).
        """
        data: dict[str, Any] = {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "language": self.language,
            "generator": self.generator,
            **({"standalone_question": self.standalone} if self.standalone else {}),
            "support": self.support,
        }
        if self.sentences:
            data["sentences"] = [x.to_dict() for x in self.sentences]
        if self.notes:
            data["notes"] = list(self.notes)
        if self.abstained:
            data["reason"] = self.reason
        if passages:
            data["passages"] = [p.to_dict() for p in self.passages]
        if explain:
            data["explanation"] = list(self.explanation)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        """Read :meth:`to_dict`'s shape; what it left out gets the defaults (no sentences, notes
        or passages, an empty ``reason`` and ``standalone``)."""
        return cls(
            question=data["question"],
            text=data["answer"],
            abstained=data["abstained"],
            citations=tuple(Citation.from_dict(c) for c in data["citations"]),
            language=data["language"],
            generator=data["generator"],
            support=data["support"],
            reason=data.get("reason") or "",
            passages=tuple(Passage.from_dict(p) for p in data.get("passages") or ()),
            sentences=tuple(AnswerSentence.from_dict(x) for x in data.get("sentences") or ()),
            notes=tuple(data.get("notes") or ()),
            explanation=tuple(data.get("explanation") or ()),
            standalone=data.get("standalone_question") or "",
        )


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


# What the faithfulness checker says lives in rag/verdicts.py (re-exported here).
from rag.verdicts import FaithfulnessResult, SkippedText, Statement, StatementVerdict, SupportEvidence  # noqa: E402
