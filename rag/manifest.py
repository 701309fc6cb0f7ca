"""What a committed index version says about itself: :class:`IndexManifest`.

Written by the index writer as ``manifest.json`` beside the version's files, read back (and
validated) when the version is opened, shown by ``rag info``. A leaf of the core: it knows the
embedder record and the format version, nothing about how an index stores its parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rag.domain import EmbedderInfo
from rag.errors import IndexFormatError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "IndexManifest", "KeywordRecord", "ManifestCounts"]

FORMAT_NAME = "rag-index"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class KeywordRecord:
    """How the keyword index was built: its backend and the tokeniser's rules (by name)."""

    backend: str
    tokenizer: str

    def to_dict(self) -> dict[str, str]:
        return {"backend": self.backend, "tokenizer": self.tokenizer}


@dataclass(frozen=True, slots=True)
class ManifestCounts:
    sources: int
    chunks: int

    def to_dict(self) -> dict[str, int]:
        return {"sources": self.sources, "chunks": self.chunks}


@dataclass(frozen=True, slots=True)
class IndexManifest:
    """One version's record: its name and predecessor, when it was made, the embedder and chunker
    it was built with, how its vector and keyword indexes were built, its counts and the sha256
    of every file in it. ``keyword`` is None for versions written before it was recorded."""

    version: str
    embedder: EmbedderInfo
    chunker: Mapping[str, Any]
    created_at: str
    committed_at: str
    previous: str | None = None
    vectors: Mapping[str, str] = field(default_factory=dict)
    keyword: KeywordRecord | None = None
    counts: ManifestCounts | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The ``manifest.json`` object (key order as written since format version 1)."""
        data: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "version": self.version,
            "previous": self.previous,
            "created_at": self.created_at,
            "committed_at": self.committed_at,
            "embedder": {
                "backend": self.embedder.backend,
                "model": self.embedder.model,
                "dim": self.embedder.dim,
                "normalized": self.embedder.normalized,
            },
            "chunker": dict(self.chunker),
            "faiss": dict(self.vectors),
        }
        if self.keyword is not None:
            data["keyword"] = self.keyword.to_dict()
        if self.counts is not None:
            data["counts"] = self.counts.to_dict()
        data["files"] = dict(self.files)
        return data

    @classmethod
    def from_dict(cls, data: object, where: str = "manifest") -> IndexManifest:
        """Validate a parsed ``manifest.json``; :class:`IndexFormatError` names what is wrong.

        A format version newer than this release reads is refused with "upgrade rag"."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise IndexFormatError(f"{where} is not a rag index manifest")
        found = data.get("format_version")
        if not isinstance(found, int) or found > FORMAT_VERSION:
            raise IndexFormatError(f"{where} has format version {found}, newer than this rag reads ({FORMAT_VERSION}): upgrade rag")
        try:
            embedder = data["embedder"]
            keyword = data.get("keyword")
            counts = data.get("counts")
            return cls(
                format_version=found,
                version=str(data["version"]),
                previous=None if data.get("previous") is None else str(data["previous"]),
                created_at=str(data.get("created_at", "")),
                committed_at=str(data.get("committed_at", "")),
                embedder=EmbedderInfo(
                    backend=str(embedder["backend"]),
                    model=str(embedder["model"]),
                    dim=int(embedder["dim"]),
                    normalized=bool(embedder["normalized"]),
                ),
                chunker=dict(data.get("chunker", {})),
                vectors={str(k): str(v) for k, v in dict(data.get("faiss", {})).items()},
                keyword=None if keyword is None else KeywordRecord(str(keyword["backend"]), str(keyword["tokenizer"])),
                counts=None if counts is None else ManifestCounts(int(counts["sources"]), int(counts["chunks"])),
                files={str(k): str(v) for k, v in dict(data.get("files", {})).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexFormatError(f"{where} is damaged: {type(exc).__name__}: {exc}") from exc
