"""rag: the core of a retrieval-augmented question-answering pipeline.

Domain types, settings, errors, embedders and the index store live here; this package
imports none of ``ingest``, ``eval`` or ``api`` (only the CLI, ``rag.cli``, wires them).
"""

from rag.domain import Chunk, Document, EmbedderInfo, Hit, SourceRecord, StoredChunk
from rag.errors import RAGError
from rag.settings import Settings, load_settings

__all__ = [
    "Chunk",
    "Document",
    "EmbedderInfo",
    "Hit",
    "RAGError",
    "Settings",
    "SourceRecord",
    "StoredChunk",
    "load_settings",
]
