"""The errors this project raises, in one small tree.

    RAGError                      base: the CLI prints its message on one line, the API a JSON error
    ├── ConfigError               a setting has a bad value, or a config file is unreadable
    ├── MissingDependencyError    an optional package is not installed (says which pip install fixes it)
    ├── EmbedderError             an embedding model cannot be loaded or run
    ├── IngestError               one source cannot be ingested (the batch goes on without it)
    │   ├── UnsupportedFileError     no loader for this kind of file
    │   ├── FileTooLargeError        over the configured size limit
    │   ├── EmptyDocumentError       no text: an empty file, a scanned PDF with no text layer
    │   ├── DecodeError              bytes that are not text in any supported encoding, or binary data
    │   ├── CorruptFileError         a damaged or password-protected PDF or DOCX, malformed JSON
    │   └── UploadError              an uploaded file that cannot be taken (an unusable file name)
    ├── IndexStoreError           the index directory cannot be opened or written
    │   ├── IndexNotFoundError       no index at that path yet
    │   │   └── NotReadyError           a server asked before its first index exists
    │   ├── IndexMismatchError       built with another embedder (or dimension) than the one configured
    │   ├── IndexFormatError         a format version this release cannot read, or a damaged manifest
    │   └── IndexLockedError         another process is writing to the index
    ├── QuestionError             a question that cannot be asked: empty, over a length limit (the
    │                             question, a turn, the history), top_k < 1
    ├── WorkStoppedError          a request's work was stopped at a stage boundary
    │   ├── DeadlineExceededError    past the per-request deadline (setting request_timeout_s)
    │   └── ClientGoneError          the client disconnected: nothing more is done for it
    ├── GenerationError           the language model failed: server down, timeout, HTTP error, a
    │                             malformed reply or stream (the message names the backend)
    └── EvalError                 the evaluation harness cannot go on
        ├── DatasetError             a dataset (or an importer's input) is missing, malformed or inconsistent
        ├── CompareError             a file that is not an evaluation report
        └── ThresholdError           a --fail-under minimum that cannot be read

Library errors are wrapped with ``raise ... from exc`` so the cause stays visible in
tracebacks while the message stays one readable line. What each error means to an HTTP client
(its status) is decided in one place, ``api/errors.py``; the CLI prints ``rag: error: MESSAGE``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "RAGError",
    "ConfigError",
    "MissingDependencyError",
    "EmbedderError",
    "IngestError",
    "UnsupportedFileError",
    "FileTooLargeError",
    "EmptyDocumentError",
    "DecodeError",
    "CorruptFileError",
    "UploadError",
    "IndexStoreError",
    "IndexNotFoundError",
    "NotReadyError",
    "IndexMismatchError",
    "IndexFormatError",
    "IndexLockedError",
    "QuestionError",
    "WorkStoppedError",
    "DeadlineExceededError",
    "ClientGoneError",
    "GenerationError",
    "EvalError",
    "DatasetError",
    "CompareError",
    "ThresholdError",
]


class RAGError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(RAGError):
    pass


class MissingDependencyError(RAGError):
    """``purpose`` needs ``package``; ``install`` is what to run (default ``pip install PACKAGE``)."""

    def __init__(self, package: str, purpose: str, *, install: str | None = None) -> None:
        self.package = package
        self.install = install or f"pip install {package}"
        super().__init__(f"{purpose} needs the '{package}' package: {self.install}")


class EmbedderError(RAGError):
    pass


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


class UploadError(IngestError):
    """An uploaded file that cannot be taken; ``path`` is the name the client gave, ``reason``
    the whole message (it names the file itself)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)
        self.args = (reason,)


class IndexStoreError(RAGError):
    pass


class IndexNotFoundError(IndexStoreError):
    pass


class NotReadyError(IndexNotFoundError):
    """No index yet where a server expects one: questions wait for the first upload or ingest."""


class IndexMismatchError(IndexStoreError):
    pass


class IndexFormatError(IndexStoreError):
    pass


class IndexLockedError(IndexStoreError):
    pass


class QuestionError(RAGError):
    """A question the service refuses before retrieval: empty, too long, a bad ``top_k``."""


class WorkStoppedError(RAGError):
    """A request's work stopped before its next stage (see :class:`rag.deadline.Deadline`)."""


class DeadlineExceededError(WorkStoppedError):
    """The request ran past its deadline; a retry later may succeed."""


class ClientGoneError(WorkStoppedError):
    """The client went away; the work for it stopped."""


class GenerationError(RAGError):
    """The language model could not answer; the message names the backend and what went wrong."""


class EvalError(RAGError):
    """The evaluation harness cannot go on."""


class DatasetError(EvalError):
    """A dataset file (or an importer's input) is missing, malformed or inconsistent.

    ``reason`` is the bare problem; ``path`` and ``line`` say where, when known.
    """

    def __init__(self, reason: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        where = self.path or ""
        if line is not None:
            where = f"{where} line {line}" if where else f"line {line}"
        super().__init__(f"{where}: {reason}" if where else reason)

    def at(self, path: Path | str, line: int | None = None, *, prefix: str = "") -> DatasetError:
        """The same problem, located in ``path`` (at ``line``), optionally under a field ``prefix``."""
        return DatasetError(f"{prefix}{self.reason}", path=path, line=line)


class CompareError(EvalError):
    """A file that is not an evaluation report."""


class ThresholdError(EvalError):
    """A ``--fail-under`` specification that cannot be read: the message says how to write it."""
