"""The index on disk: segmented, crash-safe, pickle-free.

Layout of an index directory (format 2)::

    INDEX/
      CURRENT               the name of the committed version, e.g. "v000007" (switched atomically)
      .lock                 held (flock) by the one process writing
      manifests/
        v000007.json        format, embedder, chunker, tokenizer, counts, the live segments (with
                            their statistics and file checksums), the deleted id ranges
      segments/
        s000003/            one immutable segment per commit or merge (see rag.index.segment)
      versions/             format 1 (one whole directory per version), until its first write

A commit writes only what it adds, as a new segment (fsynced, renamed into place), then a new
manifest (temporary file, fsync, rename), and only then replaces ``CURRENT``. A reader resolves
``CURRENT`` once and opens that manifest's segments, never modified once written; a crash at any
moment leaves either the old or the new manifest current. Manifests beyond ``keep_versions``,
segments no kept manifest names, and crashed writers' leftovers are removed by the next writer.
Nothing here is pickled.

This module holds :class:`IndexStore` (manifests, ``CURRENT``, the lock, opening, the segments
shared by the snapshots it opens); the read side is :class:`rag.index.snapshot.IndexSnapshot`, the
write side :class:`rag.index.writer.IndexWriter`, merging :mod:`rag.index.merge`, a segment
:mod:`rag.index.segment`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
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
from rag.index.ann import AnnConfig
from rag.index.format import TOKENIZER_NAME, VERSION_RE, is_index_entry, keyword_tokens
from rag.index.legacy import LegacySnapshot
from rag.index.merge import MergePolicy
from rag.index.merger import MERGING_PREFIX, merge_lock_free, merger_for
from rag.index.segment import Segment, remove_tree
from rag.index.snapshot import IndexSnapshot
from rag.index.writer import IndexWriter
from rag.manifest import IndexManifest

__all__ = ["IndexStore"]


class IndexStore:
    """An index directory: opens the committed version, and hands out the single writer."""

    def __init__(
        self, root: Path, keep_versions: int = 2, merge_policy: MergePolicy | None = None, ann: AnnConfig | None = None, keyword_prune_df: float = 0.5
    ) -> None:
        if keep_versions < 1:
            raise ValueError(f"keep_versions must be >= 1, got {keep_versions}")
        self.root = Path(root)
        self.keep_versions = keep_versions
        self.merge_policy = merge_policy or MergePolicy()
        self.ann = ann or AnnConfig()  # which segments get a vector graph, and how graphs are searched
        self.lock_wait = 0.0  # seconds a writer waits for another process' lock before giving up
        self.on_lock_wait: Callable[[float], None] | None = None  # told once, with lock_wait, when a writer starts waiting
        if not 0 < keyword_prune_df <= 1:
            raise ValueError(f"keyword_prune_df must be in (0, 1], got {keyword_prune_df}")
        self.keyword_prune_df = keyword_prune_df  # query terms in more of the chunks than this share are not scored (1: every term)
        self.merger = merger_for(self)  # shared by every store of this directory in the process
        self._segments: dict[str, Segment] = {}  # opened segments, shared by the snapshots that name them
        self._segments_lock = threading.Lock()

    @property
    def versions_dir(self) -> Path:
        """Format-1 versions (read until the first write migrates them)."""
        return self.root / "versions"

    @property
    def manifests_dir(self) -> Path:
        return self.root / "manifests"

    @property
    def segments_dir(self) -> Path:
        return self.root / "segments"

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
        path = self.manifests_dir / f"{version}.json"
        if not path.exists() and (self.versions_dir / version).is_dir():
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
        if not built.same_weights(embedder):
            raise IndexMismatchError(
                f"index {self.root} was built with {built.describe()} whose weights had fingerprint {built.revision}, "
                f"but the configured model's weights have {embedder.revision}: the same name, another model; use the model the index was built with, or another --index directory"
            )

    def open(self, embedder: EmbedderInfo | None = None) -> IndexSnapshot | LegacySnapshot:
        """Open the committed version (checked against ``embedder`` when given)."""
        for _attempt in range(5):
            version = self.current_version()
            if version is None:
                raise IndexNotFoundError(self._missing_message())
            try:
                manifest = self.read_manifest(version)
                if embedder is not None:
                    self.check_embedder(manifest, embedder)
                if manifest.format_version < 2:
                    return LegacySnapshot(self.versions_dir / version, manifest)
                return self.open_manifest(manifest)
            except IndexFormatError:
                # A writer may have removed this version (or a segment it names) between our
                # reading CURRENT and opening it; CURRENT then names a newer one.
                if self.current_version() == version:
                    raise
        raise IndexStoreError(f"index {self.root} keeps changing under us; try again")

    def open_manifest(self, manifest: IndexManifest) -> IndexSnapshot:
        """A snapshot of a format-2 manifest, opening only the segments not already open."""
        with self._segments_lock:
            segments = []
            for record in manifest.segments:
                segment = self._segments.get(record.name)
                if segment is None or segment.record != record:
                    try:
                        segment = Segment(self.segments_dir / record.name, record, self.ann)
                    except (OSError, ValueError, sqlite3.Error) as exc:
                        raise IndexFormatError(f"segment {record.name} of index {self.root} is damaged or gone: {exc}") from exc
                    self._segments[record.name] = segment
                built_with = record.tokenizer or (manifest.keyword.tokenizer if manifest.keyword else "")
                if built_with != TOKENIZER_NAME and segment._memory_postings is None:
                    segment.retokenise(keyword_tokens)  # written with other tokenisation rules
                segments.append(segment)
            names = {r.name for r in manifest.segments}
            for name in [n for n in self._segments if n not in names]:
                del self._segments[name]  # older snapshots keep theirs; closed when the last one goes
            return IndexSnapshot(self.root, manifest, segments, self.keyword_prune_df)

    @contextlib.contextmanager
    def writer(self, embedder: EmbedderInfo, chunker: dict[str, Any], wait: float | None = None, merger: bool = False) -> Iterator[IndexWriter]:
        """The one writer: holds the index lock until the block ends. Uncommitted work is discarded.
        ``wait``: seconds to wait for another writer (default ``lock_wait``); ``merger``: the
        background merger's own session (rag.index.merger)."""
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
            self._lock(lock_fd, self.lock_wait if wait is None else wait, merger)
            if not merger:
                with self.merger._state:
                    self.merger.sessions += 1
            try:
                self._migrate(embedder)
                writer = IndexWriter(self, embedder, chunker)
                try:
                    yield writer
                except BaseException:
                    writer.discard()  # a failed or interrupted session publishes no merge: the merge thread does
                    raise
                writer.discard()
                if not merger and writer.base_version == self.current_version():  # (its base is what is on disk)
                    self._publish_at_exit(writer)
            finally:
                if not merger:
                    with self.merger._state:
                        self.merger.sessions -= 1
        finally:
            os.close(lock_fd)

    def _publish_at_exit(self, writer: IndexWriter) -> None:
        """A merge that finished during the session is published as it ends (the lock is still
        held; the merge's thread would otherwise take it again a moment later)."""
        try:
            if self.merger.publish_ready(writer) is not None:
                self.after_commit(writer)
        except Exception as exc:  # noqa: BLE001 (the session's own work is committed; the thread or a later commit retries)
            logging.getLogger(__name__).warning("index %s: publishing a finished background merge failed: %s", self.root, exc)

    def _lock(self, lock_fd: int, wait: float, merger: bool = False) -> None:
        """Take the writer lock, waiting up to ``wait`` seconds for another writer to end. (A
        background merge of this process publishing holds it for milliseconds: that is waited
        for, never refused.)"""
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                with contextlib.nullcontext() if merger else self.merger.publishing:
                    fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    waited = f" (waited {wait:g} s)" if wait > 0 else ""
                    hint = ", or wait longer with --wait SECONDS" if self.on_lock_wait is not None else ""
                    raise IndexLockedError(f"another process is writing to the index {self.root}{waited}; try again when it ends{hint}") from exc
            if not told and self.on_lock_wait is not None:
                self.on_lock_wait(wait)
                told = True
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    # -- housekeeping (called with the lock held) -------------------------------------

    def _migrate(self, embedder: EmbedderInfo) -> None:
        """Publish a format-1 index as segments (the first write to it does this)."""
        if not self.exists():
            return
        manifest = self.read_manifest()
        if manifest.format_version < 2:
            self.check_embedder(manifest, embedder)
            from rag.index.migrate import migrate

            self._collect_garbage()  # what a crashed migration left (its segment, its manifest)
            migrate(self, manifest)

    def after_commit(self, writer: IndexWriter) -> str | None:
        """After a commit: publish a finished background merge, then plan one merge: a small one
        runs here, a large one (``background_rows``) starts in the background. Returns the name of
        the last version published here (None when none)."""
        from rag.index.merge import merge_step

        published = self.merger.publish_ready(writer)
        base = writer.base
        if base is None:
            return published
        for _ in range(len(base.segments) + 1):  # inline merges until a large one starts or none is left
            base = writer.base
            assert base is not None
            chosen = self.merge_policy.plan(base, busy=self.merger.busy())
            if not chosen:
                break
            if self.merge_policy.in_background(base, chosen):  # (merge_background_rows: in a thread, outside the lock)
                self.merger.start(writer, chosen)  # (not when another process is merging: planned again later)
                break
            published = merge_step(writer, self.merge_policy, chosen) or published
        return published

    def _version_numbers(self) -> list[int]:
        names = [p.name for p in self.versions_dir.iterdir()] if self.versions_dir.is_dir() else []
        if self.manifests_dir.is_dir():
            names += [p.name[: -len(".json")] for p in self.manifests_dir.iterdir() if p.name.endswith(".json")]
        return sorted({int(m.group(1)) for name in names if (m := VERSION_RE.match(name))})

    def _collect_garbage(self) -> None:
        """Remove crashed writers' leftovers, uncommitted and old manifests (past ``keep_versions``),
        the segments no kept manifest names, and format-1 versions once migrated."""
        current = self.current_version()
        current_n = int(current[1:]) if current else -1
        for folder in (self.versions_dir, self.segments_dir, self.manifests_dir):
            if folder.is_dir():
                for path in folder.iterdir():
                    if path.name.startswith((".tmp-", ".trash-")):
                        shutil.rmtree(path, ignore_errors=True)
                    elif path.name.startswith(MERGING_PREFIX) and merge_lock_free(self.root):
                        shutil.rmtree(path, ignore_errors=True)  # a background merge whose process died
                    elif path.name.endswith(".tmp") and path.name.startswith("."):
                        path.unlink(missing_ok=True)  # a manifest never renamed into place
        referenced: set[str] = set()
        if self.manifests_dir.is_dir():
            numbers = sorted(int(m.group(1)) for p in self.manifests_dir.iterdir() if (m := VERSION_RE.match(p.name.removesuffix(".json"))))
            committed = [n for n in numbers if n <= current_n]
            stale = [n for n in numbers if n > current_n] + committed[: max(0, len(committed) - self.keep_versions)]
            for n in stale:
                (self.manifests_dir / f"v{n:06d}.json").unlink(missing_ok=True)
            for n in (n for n in committed if n not in stale):
                try:
                    referenced.update(s.name for s in self.read_manifest(f"v{n:06d}").segments)
                except IndexFormatError:
                    return  # a damaged manifest: remove nothing it might name
        if self.segments_dir.is_dir():  # (also when no manifest exists yet: a crashed first commit or migration)
            for path in self.segments_dir.iterdir():
                if path.name.startswith("s") and path.name not in referenced:
                    remove_tree(path)
        if current is not None and (self.manifests_dir / f"{current}.json").exists() and self.versions_dir.is_dir():
            remove_tree(self.versions_dir)  # migrated: format-1 versions are no longer read
        else:
            self._collect_legacy(current_n)
        for path in self.root.iterdir():
            if path.name != "CURRENT" and is_index_entry(path.name) and path.name.endswith(".tmp"):
                path.unlink()  # a crashed writer's CURRENT, never renamed into place

    def _collect_legacy(self, current_n: int) -> None:
        if not self.versions_dir.is_dir():
            return
        numbers = sorted(int(m.group(1)) for p in self.versions_dir.iterdir() if (m := VERSION_RE.match(p.name)))
        committed = [n for n in numbers if n <= current_n]
        stale = [n for n in numbers if n > current_n] + committed[: max(0, len(committed) - self.keep_versions)]
        for n in stale:
            remove_tree(self.versions_dir / f"v{n:06d}")
