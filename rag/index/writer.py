"""The write side of an index: stages what a commit adds and removes, then commits it as one new
segment and a new manifest.

:class:`IndexWriter` keeps added sources (with their vectors, keyword tokens and sentence vectors)
in memory and deletions as tombstone ranges; :meth:`~IndexWriter.commit` writes the additions as a
new segment (``segments/.tmp-*``, fsynced, renamed to its name), then the manifest naming the live
segments and every tombstone (``manifests/vNNNNNN.json``, written to a temporary file, fsynced,
renamed), and only then replaces ``CURRENT``. The cost of a commit is that of what it adds, plus a
manifest of one line per segment: old segments are never rewritten. Between commits the writer
folds small segments together (:mod:`rag.index.merge`). It is handed out by
:meth:`rag.index.versions.IndexStore.writer`, which holds the lock.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.domain import Chunk, Document, EmbedderInfo, sha256_hex
from rag.errors import IndexMismatchError, IndexStoreError
from rag.files import atomic_write
from rag.index.format import TOKENIZER_NAME, fsync_path, keyword_manifest, keyword_tokens, now
from rag.index.segment import ChunkRow, SegmentBuilder, SourceRow, pages_json, sentence_key
from rag.manifest import FORMAT_VERSION, IndexManifest, ManifestCounts, SegmentRecord
from rag.text.sentences import sentence_inputs
from rag.text.terms import WORD_KEY

if TYPE_CHECKING:
    from rag.index.snapshot import IndexSnapshot
    from rag.index.versions import IndexStore

__all__ = ["IndexWriter", "merge_ranges"]


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, non-overlapping ``[lo, hi)`` ranges covering the same ids."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


@dataclass
class _Staged:
    document: Document
    chunks: list[Chunk]
    vectors: np.ndarray
    sentences: dict[str, np.ndarray] = field(default_factory=dict)  # sentence text (or WORD_KEY + word) -> vector
    root: str = ""
    embed_hashes: list[str] = field(default_factory=list)  # sha256 of each chunk's embedding input

    def __post_init__(self) -> None:
        self.embed_hashes = [sha256_hex(c.embed_text) for c in self.chunks]


class IndexWriter:
    """Stages changes; :meth:`commit` makes them current atomically."""

    def __init__(self, store: IndexStore, embedder: EmbedderInfo, chunker: dict[str, Any]) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = dict(chunker)
        store._collect_garbage()
        manifest = store.read_manifest() if store.exists() else None
        if manifest is not None:
            store.check_embedder(manifest, embedder)
            if dict(manifest.chunker) != self.chunker:
                raise IndexMismatchError(
                    f"index {store.root} was built with chunker settings {dict(manifest.chunker)}, "
                    f"not {self.chunker}: use the same chunk_size/chunk_overlap, another --index directory, "
                    "or rebuild this one (remove the directory and ingest again)"
                )
            if manifest.format_version < FORMAT_VERSION:
                raise IndexStoreError(f"index {store.root} is in format {manifest.format_version}: open its writer through IndexStore.writer, which migrates it")
        self._created_at = manifest.created_at if manifest is not None and manifest.created_at else now()
        self._base: IndexSnapshot | None = store.open_manifest(manifest) if manifest is not None else None
        self._staged: dict[str, _Staged] = {}
        self._staged_words: dict[str, str] = {}  # a staged word vector's key -> the source staging it
        self._held_words: set[str] = set()  # word keys a live chunk of the base owns (emptied by removals)
        self._deleted: list[tuple[int, int]] = []
        self._removed: set[str] = set()
        self._removed_from: list[str] = []  # the collection of each source tombstoned in this session
        self._removed_chunks = 0
        self.dirty = False
        self.merges = True  # fold small segments together after each commit

    @property
    def base(self) -> IndexSnapshot | None:
        """The committed version this writer builds on."""
        return self._base

    @property
    def base_version(self) -> str | None:
        return None if self._base is None else self._base.version

    # -- what is there -------------------------------------------------------------------

    def source_info(self, path: str) -> tuple[str, int, str] | None:
        """``(content hash, number of chunks, collection)`` of an indexed or staged source, None when neither."""
        if path in self._staged:
            staged = self._staged[path]
            return staged.document.content_hash, len(staged.chunks), staged.document.collection
        if path in self._removed or self._base is None:
            return None
        entry = self._base.source_entry(path)
        return None if entry is None else (str(entry[1]["content_hash"]), int(entry[1]["n_chunks"]), str(entry[1]["collection"]))  # type: ignore[call-overload]

    def prefetch_sources(self, paths: Sequence[str]) -> None:
        """Look these paths up in the base version at once (see :meth:`source_info`)."""
        if self._base is not None:
            self._base.prefetch_sources(paths)  # kept by the base version; the writer's own changes still come first

    def source_paths(self) -> list[str]:
        base = [] if self._base is None else [p for p in self._base.source_paths() if p not in self._removed]
        return sorted(set(base) | set(self._staged))

    def known_vectors(self, embed_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already in the index for these embedding inputs (so unchanged text is not embedded again)."""
        wanted = list(dict.fromkeys(embed_hashes))
        found: dict[str, np.ndarray] = {}
        for staged in self._staged.values():
            for embed_hash, vector in zip(staged.embed_hashes, staged.vectors, strict=True):
                found.setdefault(embed_hash, vector)
        found = {h: found[h] for h in wanted if h in found}
        if self._base is None:
            return found
        for n, segment in enumerate(self._base.segments):
            missing = [h for h in wanted if h not in found]
            if not missing:
                break
            dead = self._base._dead[n]
            for lo in range(0, len(missing), 500):
                part = missing[lo : lo + 500]
                rows = segment.rows_sql(f"SELECT embed_hash, row FROM chunks WHERE embed_hash IN ({','.join('?' * len(part))})", part)
                live = [(h, int(r)) for h, r in rows if h not in found and (dead is None or not dead[int(r)])]
                if live:
                    vectors = segment.vector_of_rows([r for _, r in live])
                    for (h, _), v in zip(live, vectors, strict=True):
                        found.setdefault(h, v)
        return found

    def known_sentence_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Sentence vectors already stored (or staged) for these texts."""
        found: dict[str, np.ndarray] = {}
        for staged in self._staged.values():
            found.update((t, staged.sentences[t]) for t in texts if t in staged.sentences)
        missing = [t for t in texts if t not in found]
        if missing and self._base is not None:
            found.update(self._base.sentence_vectors(missing))
        return found

    def held_words(self, keys: Sequence[str], replacing: Sequence[str] = ()) -> set[str]:
        """Those candidate-word keys (``WORD_KEY`` + word) whose vector is staged, or owned by a
        chunk of the index that stays: not deleted, removed in this session, or in a source of
        ``replacing`` (about to be replaced). The others go at a merge: the next source that has
        them stores them again (:meth:`word_vectors` finds the vector to copy)."""
        going = set(replacing)
        held = {k for k in keys if k in self._staged_words and self._staged_words[k] not in going}
        if not going:  # found held before, and nothing deleted since (a removal empties the cache)
            held.update(k for k in keys if k in self._held_words)
        missing = [k for k in keys if k not in held]
        if missing and self._base is not None:
            entries = [e[1] for e in map(self._base.source_entry, going - self._removed) if e is not None]
            ranges = [*self._deleted, *((int(str(r["seq"])), int(str(r["seq"])) + 1 + int(str(r["n_chunks"]))) for r in entries)]
            found = self._base.owned_sentence_keys(missing, ranges)
            held |= found
            if not going:
                self._held_words |= found
        return held

    def word_vectors(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored or staged vectors of these word keys, whoever owns them (to copy, not embed)."""
        found = {k: self._staged[self._staged_words[k]].sentences[k] for k in keys if k in self._staged_words}
        missing = [k for k in keys if k not in found]
        if missing and self._base is not None:
            found.update(self._base.sentence_vectors(missing))
        return found

    # -- changes -------------------------------------------------------------------------

    def remove_source(self, path: str) -> int:
        """Drop a source and its chunks; returns how many chunks went."""
        if path in self._staged:
            popped = self._staged.pop(path)
            for key in popped.sentences:
                if self._staged_words.get(key) == path:
                    del self._staged_words[key]
            n = len(popped.chunks)
            if self._base is None or path in self._removed or self._base.source_entry(path) is None:
                return n
        if path in self._removed or self._base is None:
            return 0
        entry = self._base.source_entry(path)
        if entry is None:
            return 0
        row = entry[1]
        seq: int = int(str(row["seq"]))
        n_chunks: int = int(str(row["n_chunks"]))
        self._deleted.append((seq, seq + 1 + n_chunks))
        self._held_words.clear()
        self._removed.add(path)
        self._removed_from.append(str(row["collection"]))
        self._removed_chunks += n_chunks
        self.dirty = True
        return n_chunks

    def put_source(
        self,
        document: Document,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentences: Mapping[str, np.ndarray] | None = None,
        *,
        root: str = "",
    ) -> tuple[int, int]:
        """Add or replace a source with its chunks, their vectors and (optionally) the vectors of
        their sentences by text. Returns (chunks added, chunks removed)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if not chunks:
            raise ValueError(f"{document.path}: a source needs at least one chunk (its tombstone is its id range)")
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if len(chunks) and vectors.shape[1] != self.embedder.dim:
            raise IndexMismatchError(f"vectors have dimension {vectors.shape[1]}, the index {self.embedder.dim}")
        removed = self.remove_source(document.path)
        self._staged[document.path] = _Staged(document, list(chunks), vectors.reshape(len(chunks), self.embedder.dim), dict(sentences or {}), root)
        self._staged_words.update((k, document.path) for k in self._staged[document.path].sentences if k.startswith(WORD_KEY))
        self.dirty = True
        return len(chunks), removed

    # -- commit --------------------------------------------------------------------------

    def commit(self) -> str | None:
        """Write what is staged as a new segment and manifest, and make it current. Returns the
        version's name (None when nothing changed). On failure the previous version stays current."""
        if not self.dirty:
            return None
        try:
            name = self._commit()
        except OSError as exc:
            raise IndexStoreError(f"cannot write a new version of the index {self.store.root}: {exc}; the previous version is still current") from exc
        if self.merges:
            try:
                name = self.store.after_commit(self) or name
            except OSError as exc:  # the commit stands; the merge is tried again after the next one
                logging.getLogger(__name__).warning("index %s: version %s committed, but merging segments failed: %s", self.store.root, name, exc)
        return name

    def _next_ids(self) -> tuple[int, int]:
        base = self._base.manifest if self._base is not None else None
        return (base.next_id if base else 0), (base.next_segment if base else 1)

    def _commit(self) -> str:
        next_id, next_segment = self._next_ids()
        new_segments: list[SegmentRecord] = []
        if self._staged:
            builder = SegmentBuilder(self.embedder.dim, TOKENIZER_NAME)
            for path in sorted(self._staged):
                staged = self._staged[path]
                next_id = self._stage_into(builder, staged, next_id)
            name = f"s{next_segment:06d}"
            next_segment += 1
            new_segments.append(self.write_segment(builder, name))
        base = self._base.manifest if self._base is not None else None
        counts = base.counts if base is not None and base.counts is not None else ManifestCounts(0, 0, {})
        snapshot = self._base
        counts = counts.changed(
            self._removed_from, self._removed_chunks, [s.document.collection for s in self._staged.values()],
            sum(len(s.chunks) for s in self._staged.values()), known=lambda: snapshot.collection_counts() if snapshot is not None else {},
        )  # fmt: skip
        deleted = merge_ranges([*(base.deleted if base else ()), *self._deleted])
        version = self.publish(
            segments=[*self._surviving(deleted), *new_segments],
            deleted=deleted,
            counts=counts,
            next_id=next_id,
            next_segment=next_segment,
        )
        self._staged.clear()
        self._staged_words.clear()
        self._deleted.clear()
        self._removed.clear()
        self._removed_from, self._removed_chunks = [], 0
        self.dirty = False
        return version

    def _surviving(self, deleted: Sequence[tuple[int, int]]) -> list[SegmentRecord]:
        """The base's segments that keep a live row or source under ``deleted`` (others are dropped)."""
        if self._base is None:
            return []
        busy = self.store.merger.busy()  # kept, all rows dead, while a background merge copies them: its
        # tombstones must stay until the merged segment replaces it (else they are pruned, and the copy lives)
        lo = np.asarray([r[0] for r in deleted], dtype=np.int64)
        hi = np.asarray([r[1] for r in deleted], dtype=np.int64)
        out = []
        for segment in self._base.segments:
            touched = any(a < segment.record.max_id + 1 and segment.record.min_id < b for a, b in self._deleted)
            if not touched or not len(segment.ids):
                out.append(segment.record)  # no new tombstone reaches it: as live as before
                continue
            ids = segment.ids
            at = np.searchsorted(lo, ids, side="right") - 1
            dead = (at >= 0) & (ids < hi[np.maximum(at, 0)]) if len(lo) else np.zeros(len(ids), dtype=bool)
            if not dead.all() or segment.name in busy:
                out.append(segment.record)
        return out

    def _stage_into(self, builder: SegmentBuilder, staged: _Staged, next_id: int) -> int:
        document, seq = staged.document, next_id
        builder.add_source(SourceRow(
            seq=seq, source_id=document.source_id, path=document.path, content_hash=document.content_hash, kind=document.kind,
            text=document.text, n_chunks=len(staged.chunks), ingested_at=now(), pages=pages_json(document.pages), root=staged.root,
            collection=document.collection,
        ))  # fmt: skip
        for n, (chunk, vector) in enumerate(zip(staged.chunks, staged.vectors, strict=True), start=1):
            if document.text[chunk.start : chunk.end] != chunk.text:
                raise ValueError(f"chunk {chunk.ordinal} of {document.path} is not the source's text at {chunk.start}..{chunk.end}")
            embed_hash = staged.embed_hashes[n - 1]
            row = ChunkRow(seq + n, chunk.chunk_id, seq, chunk.ordinal, chunk.start, chunk.end, chunk.heading, chunk.page, embed_hash, chunk.text)
            builder.add_chunk(row, vector, keyword_tokens(chunk.text))
            for text in sentence_inputs(chunk.text, chunk.heading):
                if text in staged.sentences:
                    builder.add_sentence(sentence_key(text), staged.sentences[text], seq + n)
        for text, vector in staged.sentences.items():
            if text.startswith(WORD_KEY):  # the source's new candidate words, owned by its first chunk
                builder.add_sentence(sentence_key(text), vector, seq + 1)
        return seq + 1 + len(staged.chunks)

    def write_segment(self, builder: SegmentBuilder, name: str) -> SegmentRecord:
        """Write a segment under ``segments/.tmp-*`` and rename it into place (fsynced)."""
        folder = self.store.segments_dir
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            record = builder.write(tmp, name, self.store.ann)
            os.rename(tmp, folder / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_path(folder)
        return record

    def publish(self, *, segments: Sequence[SegmentRecord], deleted: Sequence[tuple[int, int]], counts: ManifestCounts, next_id: int, next_segment: int) -> str:
        """Write a manifest naming ``segments`` and make it current; the writer then builds on it."""
        numbers = self.store._version_numbers()
        name = f"v{(numbers[-1] + 1 if numbers else 1):06d}"
        manifest = IndexManifest(
            version=name,
            previous=self.base_version,
            created_at=self._created_at,
            committed_at=now(),
            embedder=self.embedder,
            chunker=self.chunker,
            vectors={"index": "Flat, or HNSW per segment (see each segment's 'ann')", "metric": "inner_product", "storage": "float32 .npy, memory-mapped"},
            keyword=keyword_manifest(),
            counts=counts,
            segments=tuple(sorted(segments, key=lambda s: s.min_id)),
            deleted=prune_ranges(deleted, segments),
            next_id=next_id,
            next_segment=next_segment,
        )
        self.store.manifests_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.store.manifests_dir / f"{name}.json", json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n")
        fsync_path(self.store.manifests_dir)
        atomic_write(self.store.root / "CURRENT", name + "\n")
        # The version is current from here on: what follows cannot undo it, so it is not a failure.
        self._base = self.store.open_manifest(manifest)
        try:
            fsync_path(self.store.root)
            self.store._collect_garbage()
        except OSError as exc:
            logging.getLogger(__name__).warning("index %s: version %s committed; cleaning up failed (the next writer retries): %s", self.store.root, name, exc)
        return name

    def publish_merged(self, names: frozenset[str], record: SegmentRecord | None, folder: Path | None) -> str | None:
        """Publish a background merge of the segments ``names``: its segment (built in ``folder``;
        None when nothing was live) renamed to the next segment name, and a manifest naming it
        instead of them. None, publishing nothing, when one of them is no longer in the base."""
        base = self._base
        if base is None or not names <= {s.name for s in base.segments}:
            return None
        manifest = base.manifest
        assert manifest.counts is not None
        next_segment = manifest.next_segment
        placed = None
        if record is not None and folder is not None:
            record = dataclasses.replace(record, name=f"s{next_segment:06d}")
            placed = self.store.segments_dir / record.name
            os.rename(folder, placed)
        others = [s for s in base.segments if s.name not in names]
        try:
            if placed is not None:
                fsync_path(self.store.segments_dir)
            # A tombstone stays while a segment still holds ids it covers: another segment, or the
            # merged one (a background merge copied rows deleted while it ran). Ids are never reused.
            holders = [s.ids for s in others] + ([np.load(placed / "ids.npy", allow_pickle=False)] if placed is not None else [])
            return self.publish(
                segments=[*(s.record for s in others), *([record] if record is not None else [])],
                deleted=[(lo, hi) for lo, hi in manifest.deleted if any(_holds(ids, lo, hi) for ids in holders)],
                counts=manifest.counts,
                next_id=manifest.next_id,
                next_segment=next_segment + (record is not None),
            )
        except BaseException:
            if placed is not None and record is not None and not self._named_by_current(record.name):
                shutil.rmtree(placed, ignore_errors=True)  # never published: the next commit may take its name
            raise

    def _named_by_current(self, name: str) -> bool:
        """Whether the current manifest names the segment ``name`` (True when it cannot be read:
        then nothing is removed)."""
        try:
            return name in {s.name for s in self.store.read_manifest().segments}
        except Exception:  # noqa: BLE001
            return True

    def discard(self) -> None:
        """Drop staged, uncommitted changes (the committed version is untouched)."""
        self._staged.clear()
        self._staged_words.clear()
        self._deleted.clear()
        self._removed.clear()
        self._removed_from, self._removed_chunks = [], 0
        self.dirty = False


def _holds(ids: np.ndarray, lo: int, hi: int) -> bool:
    """Whether the sorted ``ids`` hold one in ``[lo, hi)``."""
    at = int(np.searchsorted(ids, lo))
    return at < len(ids) and int(ids[at]) < hi


def prune_ranges(deleted: Sequence[tuple[int, int]], segments: Sequence[SegmentRecord]) -> tuple[tuple[int, int], ...]:
    """Keep the tombstones that still cover some segment's ids (a merge drops the rows they name)."""
    spans = sorted((s.min_id, s.max_id) for s in segments)
    return tuple((lo, hi) for lo, hi in deleted if any(a < hi and lo <= b for a, b in spans))
