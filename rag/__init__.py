"""rag: the core of a retrieval-augmented question-answering pipeline.

Domain types, settings, errors, embedders, the index store, retrieval, answering and the
faithfulness checker live here; the core imports none of ``ingest``, ``eval`` or ``api``. Only the
CLI, ``rag.cli`` (the composition root, with its factory ``rag.cli.factory``), wires them together;
tests/test_architecture.py keeps it so.
"""

from rag.domain import Chunk, Document, EmbedderInfo, Hit, SourceRecord, StoredChunk
from rag.errors import RAGError
from rag.sample import sample_corpus_path
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
    "sample_corpus_path",
]
