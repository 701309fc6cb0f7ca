"""Merging segments, as Lucene's and tantivy's tiered/log merge policies do.

Segments are grouped in tiers by their live rows (tier 0 holds segments of up to ``floor`` rows,
tier ``t`` >= 1 those of more than ``floor * factor**(t-1)`` and up to ``floor * factor**t``); when a tier holds ``factor`` segments they
are folded into one of the next tier, so a corpus of ``n`` rows has ``O(factor * log n)`` segments
and every row is rewritten ``O(log n)`` times over the index's life. A segment whose deleted
share reaches ``deleted_share`` is rewritten without its dead rows; one with no live row is
dropped. After each commit the writer plans one merge: one of fewer than ``background_rows`` live
rows (no vector graph to build) runs inside the commit (:func:`merge_step`); a larger one runs in
the background, outside the writer lock (:mod:`rag.index.merger`), so a commit's own work stays
that of what it adds. ``rag optimize`` (:func:`optimize`) folds everything into one segment.

A merge reads the inputs' rows, vectors, postings and sentence vectors as stored (nothing is
embedded or tokenised again), writes the merged segment and publishes a manifest that names it
instead of its inputs: a crash at any moment leaves the previous manifest current and an
unreferenced segment for the next writer to remove.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.index.format import TOKENIZER_NAME
from rag.index.segment import ChunkRow, SegmentBuilder, SourceRow, source_row_record

if TYPE_CHECKING:
    from rag.index.snapshot import IndexSnapshot
    from rag.index.writer import IndexWriter

__all__ = ["MergePolicy", "merge_step", "merged_builder", "optimize"]


class MergePolicy:
    """Which segments to merge next (tiers of ``factor`` segments; rewrites past ``deleted_share``)."""

    def __init__(self, factor: int = 10, floor: int = 1000, deleted_share: float = 0.3, background_rows: int = 5000) -> None:
        if factor < 2:
            raise ValueError(f"factor must be >= 2, got {factor}")
        if floor < 1:
            raise ValueError(f"floor must be >= 1, got {floor}")
        if not 0 < deleted_share <= 1:
            raise ValueError(f"deleted_share must be in (0, 1], got {deleted_share}")
        self.factor = factor
        self.floor = floor
        self.deleted_share = deleted_share
        self.background_rows = background_rows  # merges of at least this many live rows run in the background

    def tier(self, live: int) -> int:
        """0 up to ``floor`` live rows, then one tier per power of ``factor`` above it: (floor,
        floor*factor] is tier 1. (Flooring the logarithm instead put every segment under
        floor*factor in tier 0, where each small merge rewrote the largest of them again.)"""
        if live <= self.floor:
            return 0
        return max(1, math.ceil(math.log(live / self.floor, self.factor) - 1e-9))

    def plan(self, snapshot: IndexSnapshot, busy: frozenset[str] = frozenset()) -> list[int]:
        """Indices (into ``snapshot.segments``) of the segments to merge next, none of those named in
        ``busy`` (a background merge is rewriting them); empty for none."""
        live = snapshot._live
        free = [n for n, segment in enumerate(snapshot.segments) if segment.name not in busy]
        empty = [n for n in free if live[n] == 0]
        if empty:
            return empty
        tiers: dict[int, list[int]] = {}
        for n in free:
            tiers.setdefault(self.tier(live[n]), []).append(n)
        for tier in sorted(tiers):
            members = tiers[tier]
            if len(members) >= self.factor:
                return sorted(members, key=lambda n: live[n])[: self.factor]
        for n in free:
            segment = snapshot.segments[n]
            if len(segment.ids) and 1 - live[n] / len(segment.ids) >= self.deleted_share:
                return [n]
        return []

    def in_background(self, snapshot: IndexSnapshot, chosen: Sequence[int]) -> bool:
        """Whether merging ``chosen`` is large enough to run outside the commit."""
        return sum(snapshot._live[n] for n in chosen) >= self.background_rows


def merge_step(writer: IndexWriter, policy: MergePolicy | None = None, chosen: Sequence[int] | None = None) -> str | None:
    """One merge inside the writer's session (``chosen``, or the policy's plan); returns the new
    version's name (None when there is nothing to merge)."""
    snapshot = writer.base
    if snapshot is None:
        return None
    if chosen is None:
        chosen = (policy or MergePolicy()).plan(snapshot)
    return _merge(writer, snapshot, chosen) if chosen else None


def optimize(writer: IndexWriter) -> str | None:
    """Fold every segment into one without deleted rows; None when it already is one."""
    snapshot = writer.base
    if snapshot is None or not snapshot.segments:
        return None
    if len(snapshot.segments) == 1 and snapshot._dead[0] is None:
        return None
    return _merge(writer, snapshot, list(range(len(snapshot.segments))))


def _merge(writer: IndexWriter, snapshot: IndexSnapshot, chosen: Sequence[int]) -> str | None:
    """Merge ``chosen`` inside the writer's session, published as a background merge is
    (:meth:`IndexWriter.publish_merged`)."""
    builder = merged_builder(snapshot, chosen, writer.embedder.dim)
    folder, record = None, None
    if builder is not None:
        writer.store.segments_dir.mkdir(parents=True, exist_ok=True)
        folder = writer.store.segments_dir / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            record = builder.write(folder, "merging", writer.store.ann)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    try:
        return writer.publish_merged(frozenset(snapshot.segments[n].name for n in chosen), record, folder)
    finally:
        if folder is not None and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)  # not published (it is renamed away when it is)


def merged_builder(snapshot: IndexSnapshot, chosen: Sequence[int], dim: int) -> SegmentBuilder | None:
    """The live rows of the chosen segments (as ``snapshot`` sees them), rows in id order, ready to
    be written as one segment (None when none is live). Reads only through the segments' open
    handles, so it may run in another thread while writers commit."""
    live_rows = {}
    for n in chosen:
        dead = snapshot._dead[n]
        live_rows[n] = np.arange(len(snapshot.segments[n].ids)) if dead is None else np.flatnonzero(~dead)
    ids = np.concatenate([snapshot.segments[n].ids[live_rows[n]] for n in chosen])
    if not len(ids):
        return None
    inputs = np.concatenate([np.full(len(live_rows[n]), n) for n in chosen])
    rows = np.concatenate([live_rows[n] for n in chosen])
    by_id = np.argsort(ids, kind="stable")  # the merged segment's rows, in id order
    order = list(zip(ids[by_id].tolist(), inputs[by_id].tolist(), rows[by_id].tolist(), strict=True))
    remaps = {}
    for n in chosen:
        remap = np.full(len(snapshot.segments[n].ids), -1, dtype=np.int64)
        mine = inputs[by_id] == n
        remap[rows[by_id][mine]] = np.flatnonzero(mine)
        remaps[n] = remap
    builder = SegmentBuilder(dim, TOKENIZER_NAME)  # every open segment's postings follow today's rules
    columns = "vector_id, row, chunk_id, seq, ordinal, start_char, end_char, heading, page, embed_hash"
    rows_of = {n: {int(r[1]): r for r in snapshot.segments[n].rows_sql(f"SELECT {columns} FROM chunks")} for n in chosen}
    for n in chosen:
        segment = snapshot.segments[n]
        for row in segment.source_rows():
            source = source_row_record(row)
            seq = int(source["seq"])
            if snapshot._live_seq(seq):
                builder.add_source(SourceRow(
                    seq=seq, source_id=str(source["source_id"]), path=str(source["path"]), content_hash=str(source["content_hash"]),
                    kind=str(source["kind"]), text=segment.text_of(seq), n_chunks=int(source["n_chunks"]),
                    ingested_at=str(source["ingested_at"]), pages=str(source["pages"]), root=str(source["root"]), collection=str(source["collection"]),
                ))  # fmt: skip
    for _, n, r in order:
        segment = snapshot.segments[n]
        c = rows_of[n][r]
        chunk = ChunkRow(int(c[0]), c[2], int(c[3]), int(c[4]), int(c[5]), int(c[6]), c[7], c[8], c[9], "")
        builder.chunks.append(chunk)
        builder.vectors.append(np.asarray(segment.vectors[r], dtype=np.float32))
        builder.lengths.append(int(segment.lengths[r]))
    builder.posting_arrays = _merged_postings(snapshot, chosen, remaps)
    for n in chosen:
        segment = snapshot.segments[n]
        matrix, scales = segment.sentence_matrix()
        sentence_rows = segment.sentence_rows()
        owners = np.asarray([o for _, _, o in sentence_rows], dtype=np.int64)
        keep = np.flatnonzero(~snapshot.is_dead(owners))  # kept while any chunk whose sentence it is lives
        at = np.asarray([sentence_rows[i][1] for i in keep], dtype=np.int64)
        vectors = np.asarray(matrix[at], dtype=np.float32) * (np.asarray(scales[at], dtype=np.float32)[:, None] / 127.0) if len(at) else at
        for i, vector in zip(keep.tolist(), vectors, strict=True):
            builder.add_sentence(sentence_rows[i][0], vector, sentence_rows[i][2])
    return builder


def _merged_postings(snapshot: IndexSnapshot, chosen: Sequence[int], remaps: dict[int, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every input's postings with rows renumbered and deleted rows dropped, grouped by term (in numpy)."""
    terms: list[str] = []
    term_of, rows_of, tfs_of = [], [], []
    for n in chosen:
        first = len(terms)
        names_n, lengths, all_rows, all_tfs = snapshot.segments[n].posting_table()
        if not names_n:
            continue
        terms.extend(names_n)
        rows = remaps[n][all_rows]
        keep = rows >= 0
        term_of.append(np.repeat(np.arange(first, len(terms)), lengths)[keep])
        rows_of.append(rows[keep])
        tfs_of.append(all_tfs[keep])
    if not term_of:
        return {}
    names = sorted(set(terms))
    position = {term: n for n, term in enumerate(names)}
    inverse = np.fromiter(map(position.__getitem__, terms), dtype=np.int64, count=len(terms))
    term_ids = inverse[np.concatenate(term_of)]
    rows, tfs = np.concatenate(rows_of), np.concatenate(tfs_of)
    order = np.lexsort((rows, term_ids))
    term_ids, rows, tfs = term_ids[order], rows[order].astype(np.int32), tfs[order].astype(np.int32)
    bounds = np.flatnonzero(np.diff(term_ids)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(term_ids)]])
    return {str(names[term_ids[a]]): (rows[a:b], tfs[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)}
