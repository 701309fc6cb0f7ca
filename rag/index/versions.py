"""The index on disk: versioned, crash-safe, pickle-free.

Layout of an index directory::

    INDEX/
      CURRENT               the name of the committed version, e.g. "v000007" (switched atomically)
      .lock                 held (flock) by the one process writing
      versions/
        v000007/
          manifest.json     format version, embedder, chunker, tokenizer, counts, file checksums
          index.faiss       native FAISS: IndexIDMap2 over IndexFlatIP (cosine on normalised vectors)
          meta.sqlite       sources (with their stored text) and chunks, keyed by the FAISS id
          bm25/             the bm25s keyword index (JSON + .npy, loaded with allow_pickle=False)
          bm25_ids.npy      row of the keyword index -> FAISS id

A commit writes a whole new version into ``versions/.tmp-*``, fsyncs it, renames it to its
final name and only then replaces ``CURRENT`` (write to a temporary file, fsync,
``os.replace``). A reader resolves ``CURRENT`` once and opens that complete, never again
modified, version; a crash at any moment leaves either the old or the new version current.
Old versions beyond ``keep_versions`` and the leftovers of crashed writers are removed by
the next writer. Nothing here is pickled.

This module holds :class:`IndexStore` (versions, ``CURRENT``, the lock, opening); the read
side is :class:`rag.index.view.IndexSnapshot` (over the version's FAISS vectors, bm25s keywords
and SQLite chunk store, one module each), the write side :class:`rag.index.writer.IndexWriter`,
and what a version directory holds (schema, manifest fields, checksums, the keyword
tokeniser) :mod:`rag.index.format`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.domain import EmbedderInfo
from rag.errors import (
    IndexFormatError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
)
from rag.index.format import VERSION_RE, is_index_entry
from rag.index.view import IndexSnapshot
from rag.index.writer import IndexWriter
from rag.manifest import IndexManifest

__all__ = ["IndexStore"]


class IndexStore:
    """An index directory: opens the committed version, and hands out the single writer."""

    def __init__(self, root: Path, keep_versions: int = 2) -> None:
        if keep_versions < 1:
            raise ValueError(f"keep_versions must be >= 1, got {keep_versions}")
        self.root = Path(root)
        self.keep_versions = keep_versions

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def current_version(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexFormatError(f"cannot read {self.root / 'CURRENT'}: {exc}") from exc
        if not VERSION_RE.match(name):
            raise IndexFormatError(f"{self.root / 'CURRENT'} names no version ('{name[:40]}')")
        return name

    def exists(self) -> bool:
        return self.current_version() is not None

    def read_manifest(self, version: str | None = None) -> IndexManifest:
        version = version or self.current_version()
        if version is None:
            raise IndexNotFoundError(self._missing_message())
        path = self.versions_dir / version / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexFormatError(f"index version {version} has no manifest ({path})") from exc
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"cannot read the manifest {path}: {exc}") from exc
        if isinstance(data, dict) and data.get("format") == "rag-index" and isinstance(data.get("format_version"), int):
            where = f"index {self.root}"  # "index X has format version N, newer than ...: upgrade rag"
        else:
            where = str(path)
        return IndexManifest.from_dict(data, where)

    def _missing_message(self) -> str:
        return f"no index at {self.root}: create one with 'rag ingest PATH --index {self.root}'"

    def check_embedder(self, manifest: IndexManifest, embedder: EmbedderInfo) -> None:
        built = manifest.embedder
        if built.key() != embedder.key():
            raise IndexMismatchError(
                f"index {self.root} was built with {built.describe()}, but the configured embedder is {embedder.describe()}: configure the same embedder, or use another --index directory"
            )

    def open(self, embedder: EmbedderInfo | None = None) -> IndexSnapshot:
        """Open the committed version (checked against ``embedder`` when given)."""
        for _attempt in range(3):
            version = self.current_version()
            if version is None:
                raise IndexNotFoundError(self._missing_message())
            manifest = self.read_manifest(version)
            if embedder is not None:
                self.check_embedder(manifest, embedder)
            try:
                return IndexSnapshot(self.versions_dir / version, manifest)
            except IndexFormatError:
                # A writer may have removed this version between our reading CURRENT and
                # opening it; CURRENT then names a newer one.
                if self.current_version() == version:
                    raise
        raise IndexStoreError(f"index {self.root} keeps changing under us; try again")

    @contextlib.contextmanager
    def writer(self, embedder: EmbedderInfo, chunker: dict[str, Any]) -> Iterator[IndexWriter]:
        """The one writer: holds the index lock until the block ends. Uncommitted work is discarded."""
        if self.root.is_dir() and self.current_version() is None:
            foreign = sorted(p.name for p in self.root.iterdir() if not is_index_entry(p.name))
            if foreign:
                raise IndexFormatError(
                    f"{self.root} is not a rag index but holds other files ({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}): choose an empty or new --index directory"
                )
        elif self.root.exists() and not self.root.is_dir():
            raise IndexFormatError(f"{self.root} is a file, not an index directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IndexStoreError(f"cannot write to the index directory {self.root}: {exc.strerror or exc}") from exc
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IndexLockedError(f"another process is writing to the index {self.root}; try again when it ends") from exc
            writer = IndexWriter(self, embedder, chunker)
            try:
                yield writer
            finally:
                writer.discard()
        finally:
            os.close(lock_fd)

    # -- housekeeping (called with the lock held) -------------------------------------

    def _version_numbers(self) -> list[int]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.versions_dir.iterdir() if (m := VERSION_RE.match(p.name)))

    def _collect_garbage(self) -> None:
        """Remove crashed writers' leftovers, uncommitted versions and versions past ``keep_versions``."""
        if not self.versions_dir.is_dir():
            return
        current = self.current_version()
        current_n = int(current[1:]) if current else -1
        for path in self.versions_dir.iterdir():
            if path.name.startswith(".tmp-") or path.name.startswith(".trash-"):
                shutil.rmtree(path, ignore_errors=True)
        committed = [n for n in self._version_numbers() if n <= current_n]
        stale = [n for n in self._version_numbers() if n > current_n]  # renamed, never made current
        stale += committed[: max(0, len(committed) - self.keep_versions)]
        for n in stale:
            path = self.versions_dir / f"v{n:06d}"
            # Rename first so that a crash mid-delete never leaves a half version under a real name.
            trash = self.versions_dir / f".trash-{uuid.uuid4().hex}"
            os.rename(path, trash)
            shutil.rmtree(trash, ignore_errors=True)
        for path in self.root.iterdir():
            if path.name != "CURRENT" and is_index_entry(path.name) and path.name.endswith(".tmp"):
                path.unlink()  # a crashed writer's CURRENT, never renamed into place
