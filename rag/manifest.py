"""What a committed index version says about itself: :class:`IndexManifest`.

Written by the index writer as ``manifests/vNNNNNN.json`` (format 2: it names the live segments,
with their statistics and file checksums, and the deleted id ranges; format 1 wrote
``versions/vNNNNNN/manifest.json`` beside the version's files), read back (and validated) when
the version is opened, shown by ``rag info``. A leaf of the core: it knows the
embedder record and the format version, nothing about how an index stores its parts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rag.domain import EmbedderInfo
from rag.errors import IndexFormatError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "IndexManifest", "KeywordRecord", "ManifestCounts", "SegmentRecord"]

FORMAT_NAME = "rag-index"
# 1: one whole directory per version (FAISS + bm25s + SQLite); read, migrated at the first write.
# 2: immutable segments named by a small manifest, deletes as tombstone ranges (rag.index.segment).
FORMAT_VERSION = 2


@dataclass(frozen=True, slots=True)
class KeywordRecord:
    """How the keyword index was built: its backend and the tokeniser's rules (by name)."""

    backend: str
    tokenizer: str

    def to_dict(self) -> dict[str, str]:
        return {"backend": self.backend, "tokenizer": self.tokenizer}


@dataclass(frozen=True, slots=True)
class ManifestCounts:
    """Live sources and chunks; ``collections``: live sources per collection (None in manifests
    written before collections were recorded: read from the sources then)."""

    sources: int
    chunks: int
    collections: Mapping[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"sources": self.sources, "chunks": self.chunks}
        if self.collections is not None:
            data["collections"] = dict(sorted(self.collections.items()))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManifestCounts:
        found = data.get("collections")
        if found is not None and not isinstance(found, Mapping):
            raise ValueError("counts: 'collections' is not an object")
        collections = None if found is None else {str(k): int(v) for k, v in found.items()}
        return cls(int(data["sources"]), int(data["chunks"]), collections)

    def changed(self, removed: Iterable[str], removed_chunks: int, added: Iterable[str], added_chunks: int, known: Callable[[], Mapping[str, int]]) -> ManifestCounts:
        """The counts after sources of the collections ``removed`` went and of ``added`` came
        (one name per source); ``known`` gives the collections when this manifest did not record them."""
        collections = Counter(self.collections if self.collections is not None else known())
        gone, new = list(removed), list(added)
        collections.subtract(gone)
        collections.update(new)
        kept = {name: n for name, n in sorted(collections.items()) if n > 0}
        return ManifestCounts(self.sources - len(gone) + len(new), self.chunks - removed_chunks + added_chunks, kept)


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """One immutable segment as a manifest names it: its size, the corpus statistics it holds
    (keyword tokens, distinct terms, how many of them ASCII) and the sha256 of its files."""

    name: str
    rows: int
    sources: int
    tokens: int
    terms: int
    ascii_terms: int
    sentences: int
    min_id: int
    max_id: int
    files: Mapping[str, str] = field(default_factory=dict)
    tokenizer: str = ""  # the keyword tokeniser its postings were built with ("": the manifest's)
    ann: Mapping[str, Any] | None = None  # its vector graph (rag.index.ann: kind and parameters); None: scanned exactly

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "rows": self.rows, "sources": self.sources, "tokens": self.tokens, "terms": self.terms,
            "ascii_terms": self.ascii_terms, "sentences": self.sentences, "min_id": self.min_id, "max_id": self.max_id,
            "tokenizer": self.tokenizer, "files": dict(self.files), **({"ann": dict(self.ann)} if self.ann else {}),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentRecord:
        ints = {k: int(data[k]) for k in ("rows", "sources", "tokens", "terms", "ascii_terms", "sentences", "min_id", "max_id")}
        files = {str(k): str(v) for k, v in dict(data["files"]).items()}
        ann = data.get("ann")
        if ann is not None and not isinstance(ann, Mapping):
            raise ValueError(f"segment {data['name']}: 'ann' is not an object")
        return cls(name=str(data["name"]), files=files, tokenizer=str(data.get("tokenizer", "")), ann=dict(ann) if ann else None, **ints)


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
    # format 2: the live segments, the deleted id ranges [lo, hi), the next id and segment number
    segments: tuple[SegmentRecord, ...] = ()
    deleted: tuple[tuple[int, int], ...] = ()
    next_id: int = 0
    next_segment: int = 1

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
                **({"revision": self.embedder.revision} if self.embedder.revision else {}),
            },
            "chunker": dict(self.chunker),
            "faiss" if self.format_version < 2 else "vectors": dict(self.vectors),
        }
        if self.keyword is not None:
            data["keyword"] = self.keyword.to_dict()
        if self.counts is not None:
            data["counts"] = self.counts.to_dict()
        if self.format_version < 2:
            data["files"] = dict(self.files)
            return data
        data["next_id"] = self.next_id
        data["next_segment"] = self.next_segment
        data["deleted"] = [list(r) for r in self.deleted]
        data["segments"] = [s.to_dict() for s in self.segments]
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
                    revision=str(embedder.get("revision", "")),
                ),
                chunker=dict(data.get("chunker", {})),
                vectors={str(k): str(v) for k, v in dict(data.get("faiss") or data.get("vectors") or {}).items()},
                keyword=None if keyword is None else KeywordRecord(str(keyword["backend"]), str(keyword["tokenizer"])),
                counts=None if counts is None else ManifestCounts.from_dict(counts),
                files={str(k): str(v) for k, v in dict(data.get("files", {})).items()},
                segments=tuple(SegmentRecord.from_dict(r) for r in data.get("segments", [])),
                deleted=tuple((int(lo), int(hi)) for lo, hi in data.get("deleted", [])),
                next_id=int(data.get("next_id", 0)),
                next_segment=int(data.get("next_segment", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexFormatError(f"{where} is damaged: {type(exc).__name__}: {exc}") from exc
