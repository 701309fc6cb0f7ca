"""One Protocol per role. Implementations are plain classes named ``<Backend><Role>``.

The models: :class:`Embedder`, :class:`Chunker`. Answering: :class:`Retriever`,
:class:`Generator` (and :class:`StreamingGenerator`, one that can release checked sentences as
they are written), :class:`Judge` (does a passage support a statement), :class:`QuestionRewriter`
(follow-ups into standalone questions).

The index, as seams another backend plugs into (today's implementation is
``rag.index.IndexSnapshot``, one manifest's immutable segments; ``rag.index.LegacySnapshot`` reads
format 1):

- :class:`VectorIndex`: a query vector to ``(chunk id, score)`` pairs, optionally only among
  allowed ids;
- :class:`KeywordIndex`: a query to ``(chunk id, score)`` pairs (the index owns its tokenizer,
  which is part of its on-disk format), same filter;
- :class:`CorpusStatistics`: chunk count, document frequency and vocabulary, computed by the
  index (a segmented index can compute them at query time);
- :class:`ChunkStore`: chunks, sources and source text by id, and the ids of some sources (the
  filter the two searches take);
- :class:`SentenceVectors`: the vectors of chunk sentences stored at ingest (the extractive
  answerer reads them instead of embedding a passage's sentences);
- :class:`IndexView`: one consistent version with all of the above, its identity and ``close()``.

Components take the narrowest protocol they use: the extractive answerer takes
:class:`CorpusStatistics`, a dense retriever a :class:`VectorIndex` that is also a
:class:`ChunkStore`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from rag.domain import Answer, AnswerEvent, Chunk, Document, EmbedderInfo, Passage, SourceRecord, StatementVerdict, StoredChunk
from rag.manifest import IndexManifest

__all__ = [
    "ChunkStore",
    "Chunker",
    "CorpusStatistics",
    "DenseIndex",
    "Embedder",
    "Generator",
    "IndexView",
    "Judge",
    "KeywordIndex",
    "QuestionRewriter",
    "Retriever",
    "Scored",
    "SentenceVectors",
    "SparseIndex",
    "StreamingGenerator",
    "Turn",
    "VectorIndex",
]

Scored = tuple[int, float]  # (chunk id, score): what an index search returns, best first
Turn = tuple[str, str]  # (role, text): role "user" or "assistant"


# -- models ---------------------------------------------------------------------------------


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors; queries and passages may be encoded differently."""

    @property
    def info(self) -> EmbedderInfo: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class Chunker(Protocol):
    """Splits a document's stored text into chunks with offsets into that text."""

    def split(self, document: Document) -> list[Chunk]: ...


# -- the index ------------------------------------------------------------------------------


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest chunks to a query vector (inner product of normalised vectors)."""

    def dense_scores(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Scored]: ...


@runtime_checkable
class KeywordIndex(Protocol):
    """Chunks matching a query's keywords (BM25 today), best first; none when no term occurs."""

    def keyword_scores(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]: ...


@runtime_checkable
class CorpusStatistics(Protocol):
    """Statistics over the whole corpus of one index version."""

    @property
    def n_chunks(self) -> int: ...

    @property
    def ascii_vocab_share(self) -> float:
        """The share of the keyword vocabulary written in ASCII (0-1): how English the corpus is."""
        ...

    def document_frequency(self, token: str) -> int:
        """In how many chunks a keyword token occurs."""
        ...


@runtime_checkable
class SentenceVectors(Protocol):
    """Vectors of chunk sentences stored at ingest (see :func:`rag.text.sentences.sentence_inputs`),
    and the query vectors of their words under ``rag.text.terms.WORD_KEY`` + the word."""

    def sentence_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those texts the index has (the others are left out)."""
        ...


@runtime_checkable
class ChunkStore(Protocol):
    """Chunks, sources and their text, by id."""

    @property
    def n_sources(self) -> int: ...

    def chunks(self, vector_ids: Iterable[int] | None = None) -> list[StoredChunk]: ...

    def sources(self) -> list[SourceRecord]: ...

    def source_text(self, source_id: str) -> str: ...

    def vector_ids_of_sources(self, sources: Iterable[str]) -> np.ndarray:
        """The chunk ids of these sources (each by path or source id): the searches' filter."""
        ...


@runtime_checkable
class DenseIndex(VectorIndex, ChunkStore, Protocol):
    """What a dense retriever reads: vectors to search and the chunks they point at."""


@runtime_checkable
class SparseIndex(KeywordIndex, ChunkStore, Protocol):
    """What a keyword retriever reads: keywords to search and the chunks they point at."""


@runtime_checkable
class IndexView(VectorIndex, KeywordIndex, CorpusStatistics, ChunkStore, Protocol):
    """One consistent, committed version of an index: everything a question needs, and nothing
    that writes. Close it (or use it as a context manager) when done."""

    @property
    def version(self) -> str: ...

    @property
    def manifest(self) -> IndexManifest:
        """What the version says about itself (embedder, chunker, counts, ...)."""
        ...

    @property
    def embedder(self) -> EmbedderInfo: ...

    def verify(self, checksums: bool = True) -> list[str]:
        """What is wrong with this version (empty when every part agrees)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> IndexView: ...

    def __exit__(self, *exc: object) -> None: ...


# -- answering ------------------------------------------------------------------------------


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages most likely to answer a query, optionally only in some sources."""

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]: ...


@runtime_checkable
class Generator(Protocol):
    """Writes the answer to a question from retrieved passages, with citations, or abstains."""

    name: str

    def generate(self, question: str, passages: Sequence[Passage]) -> Answer: ...


@runtime_checkable
class StreamingGenerator(Generator, Protocol):
    """A generator that releases each sentence once it is written and checked, then the answer."""

    def stream(self, question: str, passages: Sequence[Passage], *, raw: bool = False) -> Iterator[AnswerEvent]: ...


@runtime_checkable
class Judge(Protocol):
    """Decides whether passages support a statement."""

    name: str

    def judge(self, statements: Sequence[str], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]: ...


@runtime_checkable
class QuestionRewriter(Protocol):
    """Turns a follow-up question into a standalone one, given the conversation so far."""

    name: str

    def rewrite(self, question: str, history: Sequence[Turn]) -> str: ...
