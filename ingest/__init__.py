"""ingest: loaders per file type, chunking, and the ingest pipeline (hash, dedupe, embed, commit).

The names below are imported when first used, so that a parser subprocess
(``python -m ingest.parse_worker``) loads only the loaders, not the index and the models."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time the names load on first use
    from ingest.chunking import SentenceChunker, split_sentences
    from ingest.loaders import load_document
    from ingest.pipeline import Ingestor, IngestReport, SkippedFile

__all__ = ["Ingestor", "IngestReport", "SentenceChunker", "SkippedFile", "load_document", "split_sentences"]

_HOME = {
    "Ingestor": "ingest.pipeline",
    "IngestReport": "ingest.pipeline",
    "SkippedFile": "ingest.pipeline",
    "SentenceChunker": "ingest.chunking",
    "split_sentences": "ingest.chunking",
    "load_document": "ingest.loaders",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
