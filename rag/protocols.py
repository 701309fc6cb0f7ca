"""One Protocol per role. Implementations are plain classes named ``<Backend><Role>``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from rag.domain import Answer, Chunk, Document, EmbedderInfo, Passage

__all__ = ["Embedder", "Chunker", "Generator"]


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


@runtime_checkable
class Generator(Protocol):
    """Writes the answer to a question from retrieved passages, with citations, or abstains."""

    name: str

    def generate(self, question: str, passages: Sequence[Passage]) -> Answer: ...
