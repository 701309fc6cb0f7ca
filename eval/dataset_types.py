"""The domain of an evaluation dataset: the format's constants and the frozen dataclasses
(:class:`InlineDocument`, :class:`CorpusSpec`, :class:`EvalRow`, :class:`EvalDataset`).

Each dataclass checks itself on construction and raises :class:`DatasetError` when it is not valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import DatasetError

__all__ = [
    "DOCUMENT_SUFFIXES",
    "EXTENSION_PREFIX",
    "FORMAT_VERSION",
    "HEADER_KEY",
    "MANIFEST_SUFFIX",
    "CorpusSpec",
    "EvalDataset",
    "EvalRow",
    "InlineDocument",
    "document_name_problem",
]

FORMAT_VERSION = 1
HEADER_KEY = "rag_eval"
MANIFEST_SUFFIX = ".corpus.json"
DOCUMENT_SUFFIXES = (".txt", ".md")
EXTENSION_PREFIX = "x_"


def document_name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a corpus document's file name, or None when nothing is."""
    if not name:
        return "is empty"
    if "/" in name or "\\" in name or ":" in name:
        return "must be a plain file name (no path separators or ':')"
    if ".." in name or name.startswith("."):
        return "must not contain '..' or start with '.'"
    if any(ord(ch) < 32 for ch in name):
        return "must not contain control characters"
    if not name.lower().endswith(DOCUMENT_SUFFIXES):
        return f"must end in {' or '.join(DOCUMENT_SUFFIXES)}"
    return None


@dataclass(frozen=True, slots=True)
class InlineDocument:
    """A corpus document carried inside the dataset: written to ``name`` before ingesting."""

    name: str
    text: str

    def __post_init__(self) -> None:
        problem = document_name_problem(self.name)
        if problem:
            raise DatasetError(f'document name "{self.name}" {problem}')
        if not self.text.strip():
            raise DatasetError(f'document "{self.name}" has no text')


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """Where the corpus of a dataset is: files and folders (``paths``) or inline ``documents``.

    Exactly one of the two is non-empty. ``origin`` says where the spec came from, for messages.
    """

    paths: tuple[Path, ...] = ()
    documents: tuple[InlineDocument, ...] = ()
    origin: str = ""

    def __post_init__(self) -> None:
        if bool(self.paths) == bool(self.documents):
            raise DatasetError('a corpus needs either "paths" or "documents" (exactly one, not empty)')
        seen: dict[str, str] = {}
        for doc in self.documents:
            # casefolded: two names differing only in case collide on macOS and Windows disks
            key = doc.name.casefold()
            if key in seen:
                raise DatasetError(f'document name "{doc.name}" is used twice (also "{seen[key]}")')
            seen[key] = doc.name


@dataclass(frozen=True, slots=True)
class EvalRow:
    """One question, what counts as a right answer, and where the answer is.

    ``reference`` holds the acceptable answers (empty when only retrieval is judged, and
    always empty when ``answerable`` is false). ``reference_sources`` names corpus documents.
    ``extras`` keeps the row's ``x_`` keys so a rewrite does not lose them.
    """

    id: str
    user_input: str
    reference: tuple[str, ...] = ()
    reference_contexts: tuple[str, ...] = ()
    reference_sources: tuple[str, ...] = ()
    answerable: bool = True
    language: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise DatasetError('"id" is empty')
        if not self.user_input.strip():
            raise DatasetError('"user_input" is empty')
        for name in ("reference", "reference_contexts", "reference_sources"):
            values = getattr(self, name)
            if isinstance(values, str):
                raise DatasetError(f'"{name}" must be a sequence of strings, not one string')
            values = tuple(values)
            object.__setattr__(self, name, values)  # lists given by callers become tuples
            for i, value in enumerate(values):
                if not value.strip():
                    raise DatasetError(f'"{name}[{i}]" is empty')
        if not self.answerable and self.reference:
            raise DatasetError('"answerable" is false but "reference" is not empty')
        for key in self.extras:
            if not key.startswith(EXTENSION_PREFIX):
                raise DatasetError(f'extra key "{key}" must start with "{EXTENSION_PREFIX}"')


@dataclass(frozen=True, slots=True)
class EvalDataset:
    """A loaded dataset. ``header`` is the first line as written ({} when there is none);
    ``corpus`` is None when neither the file, a manifest nor the caller names one."""

    path: Path
    name: str
    rows: tuple[EvalRow, ...]
    corpus: CorpusSpec | None
    header: Mapping[str, Any]

    def __len__(self) -> int:
        return len(self.rows)
