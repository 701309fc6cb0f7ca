"""The errors this package raises, in one small tree.

    RAGError                      base: the CLI prints its message on one line
    ├── ConfigError               a setting has a bad value, or a config file is unreadable
    ├── EmbedderError             an embedding model cannot be loaded or run
    │   └── MissingDependencyError   an optional package is not installed (says which pip install fixes it)
    ├── IngestError               one source cannot be ingested (the batch goes on without it)
    │   ├── UnsupportedFileError     no loader for this kind of file
    │   ├── FileTooLargeError        over the configured size limit
    │   ├── EmptyDocumentError       no text: an empty file, a scanned PDF with no text layer
    │   ├── DecodeError              bytes that are not text in any supported encoding, or binary data
    │   └── CorruptFileError         a damaged or password-protected PDF or DOCX, malformed JSON
    ├── IndexStoreError           the index directory cannot be opened or written
    │   ├── IndexNotFoundError       no index at that path yet
    │   ├── IndexMismatchError       built with another embedder (or dimension) than the one configured
    │   ├── IndexFormatError         a format version this release cannot read, or a damaged manifest
    │   └── IndexLockedError         another process is writing to the index
    └── GenerationError           the language model failed: server down, timeout, HTTP error, a
                                  malformed reply or stream (the message names the backend)

Library errors are wrapped with ``raise ... from exc`` so the cause stays visible in
tracebacks while the message stays one readable line.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "RAGError",
    "ConfigError",
    "EmbedderError",
    "MissingDependencyError",
    "IngestError",
    "UnsupportedFileError",
    "FileTooLargeError",
    "EmptyDocumentError",
    "DecodeError",
    "CorruptFileError",
    "IndexStoreError",
    "IndexNotFoundError",
    "IndexMismatchError",
    "IndexFormatError",
    "IndexLockedError",
    "GenerationError",
]


class RAGError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(RAGError):
    pass


class EmbedderError(RAGError):
    pass


class MissingDependencyError(EmbedderError):
    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs the '{package}' package: pip install {package}")
        self.package = package


class IngestError(RAGError):
    """One source could not be ingested; ``path`` names it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class UnsupportedFileError(IngestError):
    pass


class FileTooLargeError(IngestError):
    pass


class EmptyDocumentError(IngestError):
    pass


class DecodeError(IngestError):
    pass


class CorruptFileError(IngestError):
    pass


class IndexStoreError(RAGError):
    pass


class IndexNotFoundError(IndexStoreError):
    pass


class IndexMismatchError(IndexStoreError):
    pass


class IndexFormatError(IndexStoreError):
    pass


class IndexLockedError(IndexStoreError):
    pass


class GenerationError(RAGError):
    """The language model could not answer; the message names the backend and what went wrong."""
