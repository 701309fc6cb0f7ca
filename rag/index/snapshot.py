"""The read side of a segmented index: one manifest's live segments as an
:class:`~rag.protocols.IndexView`.

A snapshot names the segments its manifest lists and the manifest's tombstones (deleted id
ranges). Segments are opened once per :class:`~rag.index.versions.IndexStore` and shared by every
snapshot that names them, so opening the next version costs only its new segments, and what was
read from the old ones (pages of their memory-mapped vectors, their dead-row masks) stays.

Keyword search is BM25 exactly as bm25s scores it (Lucene's variant: ``idf = ln(1 + (N - df +
0.5) / (df + 0.5))``, ``k1 = 1.5``, ``b = 0.75``), with ``N``, ``df`` and the average length computed
at query time over the live rows of all segments: adding documents never rewrites old postings,
and deleted rows never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.domain import EmbedderInfo, Hit, SourceRecord, StoredChunk, collection_counts
from rag.errors import IndexMismatchError
from rag.index.format import hits_of, keyword_query_tokens
from rag.index.segment import Segment, sentence_key, source_row_record
from rag.manifest import IndexManifest
from rag.protocols import Scored

__all__ = ["IndexSnapshot", "RowScope"]

K1, B = 1.5, 0.75  # bm25s' defaults, which the format-1 keyword index used
PRUNE_MIN_CHUNKS = 1000  # keyword pruning only in indexes of at least this many chunks (a small FAQ keeps every term)


_ENTRY_CACHE = 8192  # source lookups a snapshot keeps (an ingest prefetches a few hundred at a time)


@dataclass(frozen=True)
class RowScope:
    """The rows of each segment of a snapshot a search may return (``masks``, live rows only), and
    the population its statistics count (``stats``: BM25's and the answerer's document frequencies,
    number of chunks and average length): a collection scope, maybe narrowed by a source filter."""

    ids: np.ndarray  # the scope's live chunk ids, sorted
    masks: tuple[np.ndarray, ...]
    stats: tuple[np.ndarray, ...]
    n_chunks: int
    avgdl: float

    def narrowed(self, snapshot: IndexSnapshot, allowed: np.ndarray) -> RowScope:
        """Results only among ``allowed`` ids too; the statistics stay the scope's."""
        masks = tuple(m & np.isin(s.ids, allowed) for m, s in zip(self.masks, snapshot.segments, strict=True))
        return RowScope(self.ids[np.isin(self.ids, allowed)], masks, self.stats, self.n_chunks, self.avgdl)


class IndexSnapshot:
    """A read-only view of one committed manifest. Safe to share between threads for reading."""

    def __init__(self, path: Path, manifest: IndexManifest, segments: Sequence[Segment], keyword_prune_df: float = 0.5) -> None:
        self.path = path
        self.keyword_prune_df = keyword_prune_df  # query terms in more than this share of the chunks are not scored
        self.keyword_prune_min_chunks = PRUNE_MIN_CHUNKS  # ... in an index of at least this many live chunks
        self.manifest = manifest
        self.version = manifest.version
        self.embedder: EmbedderInfo = manifest.embedder
        self.segments = list(segments)
        self._lo = np.asarray([r[0] for r in manifest.deleted], dtype=np.int64)
        self._hi = np.asarray([r[1] for r in manifest.deleted], dtype=np.int64)
        self._dead = [self._dead_rows(s) for s in self.segments]
        self._live = [len(s.ids) - (0 if d is None else int(d.sum())) for s, d in zip(self.segments, self._dead, strict=True)]
        tokens = [int(s.lengths.sum() if d is None else s.lengths[~d].sum()) for s, d in zip(self.segments, self._dead, strict=True)]
        self._n = sum(self._live)
        self._avgdl = sum(tokens) / self._n if self._n else 0.0
        self._df: dict[str, int] = {}
        self._collections: dict[str, np.ndarray] | None = None  # collection -> its live chunk ids
        self._rows_holding: dict[str, int] = {}  # term -> rows of every segment holding it, dead ones included
        self._entries: dict[str, tuple[Segment, dict[str, object]] | None] = {}  # path -> its live source (a bounded cache)

    def close(self) -> None:
        """Nothing to release: segments are shared and closed with the store's last reference."""

    def __enter__(self) -> IndexSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tombstones ----------------------------------------------------------------------

    def is_dead(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self._lo):
            return np.zeros(len(ids), dtype=bool)
        at = np.searchsorted(self._lo, ids, side="right") - 1
        return (at >= 0) & (ids < self._hi[np.maximum(at, 0)])

    def _dead_rows(self, segment: Segment) -> np.ndarray | None:
        """The segment's deleted rows (None when none), reused while its tombstones are unchanged."""
        first = int(np.searchsorted(self._hi, segment.record.min_id, side="right"))
        last = int(np.searchsorted(self._lo, segment.record.max_id, side="right"))
        key = (tuple(self._lo[first:last].tolist()), tuple(self._hi[first:last].tolist()))
        cached = segment.dead_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        dead = self.is_dead(segment.ids) if key[0] else np.zeros(0, dtype=bool)
        mask = dead if dead.any() else None
        segment.dead_cache = (key, mask)
        return mask

    def _live_seq(self, seq: int) -> bool:
        return not bool(self.is_dead(np.asarray([seq]))[0])

    # -- counts, statistics and listings -------------------------------------------------

    @property
    def n_chunks(self) -> int:
        return self._n

    @property
    def n_sources(self) -> int:
        return self.manifest.counts.sources if self.manifest.counts is not None else len(self.sources())

    @property
    def ascii_vocab_share(self) -> float:
        """The share of keyword terms written in ASCII, from each segment's counts (exact for one
        segment; with several, terms shared by segments count once per segment)."""
        terms = sum(s.record.terms for s in self.segments)
        return sum(s.record.ascii_terms for s in self.segments) / terms if terms else 0.0

    def _live_postings(self, term: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        out = []
        for n, (segment, dead) in enumerate(zip(self.segments, self._dead, strict=True)):
            found = segment.postings(term)
            if found is None:
                continue
            rows, tfs = found
            if dead is not None:
                keep = ~dead[rows]
                rows, tfs = rows[keep], tfs[keep]
            if len(rows):
                out.append((n, rows, tfs))
        return out

    def document_frequency(self, token: str, scope: RowScope | None = None) -> int:
        if scope is not None:
            return sum(int(scope.stats[n][rows].sum()) for n, rows, _ in self._live_postings(token))
        if token not in self._df:
            self._df[token] = sum(len(rows) for _, rows, _ in self._live_postings(token))
        return self._df[token]

    def _source_entries(self, where: str = "", params: Sequence[object] = ()) -> list[tuple[Segment, dict[str, object]]]:
        out: list[tuple[Segment, dict[str, object]]] = []
        for segment in self.segments:
            rows = segment.source_rows(where, params)
            dead = self.is_dead(np.asarray([int(r[0]) for r in rows], dtype=np.int64))
            out.extend((segment, source_row_record(row)) for row, gone in zip(rows, dead, strict=True) if not gone)
        return out

    def source_entry(self, path: str) -> tuple[Segment, dict[str, object]] | None:
        """The live source at ``path``: its segment and its row."""
        entries = self._entries  # another thread may replace the cache: read one dict throughout
        if path in entries:
            return entries[path]
        return self.prefetch_sources([path])[path]

    def prefetch_sources(self, paths: Sequence[str]) -> dict[str, tuple[Segment, dict[str, object]] | None]:
        """Look up many paths at once (one query per segment, not one per path and segment): an
        ingest asks about every file it reads, and a large index has tens of segments. Returns
        what it looked up, and keeps it for :meth:`source_entry` (a bounded cache)."""
        wanted = list(dict.fromkeys(paths))
        found: dict[str, tuple[Segment, dict[str, object]]] = {}
        for lo in range(0, len(wanted), 500):
            part = wanted[lo : lo + 500]
            for segment, row in self._source_entries(f"WHERE path IN ({', '.join('?' * len(part))})", part):
                found.setdefault(str(row["path"]), (segment, row))
        result = {path: found.get(path) for path in wanted}
        if len(self._entries) + len(result) > _ENTRY_CACHE:
            self._entries = {}  # replaced, not cleared: a reader holding the old dict keeps it
        self._entries.update(result)
        return result

    def sources(self) -> list[SourceRecord]:
        entries = [r for _, r in self._source_entries()]
        entries.sort(key=lambda r: str(r["path"]))
        return [
            SourceRecord(str(r["source_id"]), str(r["path"]), str(r["content_hash"]), str(r["kind"]), int(r["size"]), int(r["n_chunks"]), str(r["ingested_at"]), str(r["collection"]))  # type: ignore[call-overload]
            for r in entries
        ]

    def source_paths(self) -> list[str]:
        return sorted(str(r["path"]) for _, r in self._source_entries())

    def source_text(self, source_id: str) -> str:
        for segment, row in self._source_entries("WHERE source_id = ?", (source_id,)):
            return segment.text_of(int(row["seq"]))  # type: ignore[call-overload]
        raise KeyError(source_id)

    def chunks(self, vector_ids: Iterable[int] | None = None) -> list[StoredChunk]:
        """Chunks by id, in the order asked (all chunks in source order when ``None``)."""
        if vector_ids is None:
            every = [c for segment, ids in self._live_ids() for c in segment.chunks(ids.tolist())]
            return sorted(every, key=lambda c: (c.path, c.ordinal))
        ids = np.asarray([int(v) for v in vector_ids], dtype=np.int64)
        ids = ids[~self.is_dead(ids)] if len(ids) else ids
        found: dict[int, StoredChunk] = {}
        for segment in self.segments:
            rows = segment.rows_of(ids)
            mine = ids[rows >= 0]
            if len(mine):
                found.update((c.vector_id, c) for c in segment.chunks(mine.tolist()))
        return [found[int(i)] for i in ids if int(i) in found]

    def _live_ids(self) -> list[tuple[Segment, np.ndarray]]:
        return [(s, s.ids if d is None else s.ids[~d]) for s, d in zip(self.segments, self._dead, strict=True)]

    def vector_ids_of_sources(self, sources: Iterable[str]) -> np.ndarray:
        """Chunk ids of these sources (each given by path or source id)."""
        wanted = list(dict.fromkeys(sources))
        if not wanted:
            return np.empty(0, dtype=np.int64)
        marks = ",".join("?" * len(wanted))
        ids: list[int] = []
        for segment, row in self._source_entries(f"WHERE path IN ({marks}) OR source_id IN ({marks})", wanted + wanted):
            ids.extend(segment.chunk_ids_of(int(row["seq"])))  # type: ignore[call-overload]
        return np.asarray(sorted(ids), dtype=np.int64)

    def chunk_vectors(self, vector_ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these live chunks, in the order asked (KeyError for one not held)."""
        ids = np.asarray(list(vector_ids), dtype=np.int64)
        out = np.zeros((len(ids), self.embedder.dim), dtype=np.float32)
        found = np.zeros(len(ids), dtype=bool)
        dead = self.is_dead(ids) if len(ids) else found
        for segment in self.segments:
            rows = segment.rows_of(ids)
            mine = (rows >= 0) & ~dead
            if mine.any():
                out[mine] = segment.vector_of_rows(rows[mine].tolist())
                found |= mine
        if not found.all():
            raise KeyError(f"no live chunk {int(ids[~found][0])}")
        return out

    def owned_sentence_keys(self, texts: Sequence[str], also_dead: Sequence[tuple[int, int]] = ()) -> set[str]:
        """Those of these texts whose stored vector a live chunk owns (merges keep it); the id
        ranges ``also_dead`` (a writer's removals not yet committed) count as deleted too."""

        def dead(ids: np.ndarray) -> np.ndarray:
            out = self.is_dead(ids)
            for lo, hi in also_dead:
                out |= (ids >= lo) & (ids < hi)
            return out

        keys = {sentence_key(t): t for t in texts}
        out: set[str] = set()
        for segment in reversed(self.segments):
            missing = [k for k in keys if keys[k] not in out]
            if not missing:
                break
            out.update(keys[k] for k in segment.owned_keys(missing, dead))
        return out

    def sentence_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these sentence texts (computed at ingest; candidate words under
        ``WORD_KEY`` + the word), for those the index has."""
        keys = {sentence_key(t): t for t in texts}
        out: dict[str, np.ndarray] = {}
        for segment in reversed(self.segments):  # newest first
            missing = [k for k in keys if keys[k] not in out]
            if not missing:
                break
            for key, vector in segment.sentence_vectors(missing).items():
                out[keys[key]] = vector
        return out

    # -- search --------------------------------------------------------------------------

    def collection_ids(self, collections: Iterable[str]) -> np.ndarray:
        """The live chunk ids of the sources in these collections, sorted (cached per collection)."""
        if self._collections is None:
            by: dict[str, list[np.ndarray]] = {}
            for _, row in self._source_entries():
                seq, n = int(str(row["seq"])), int(str(row["n_chunks"]))
                by.setdefault(str(row["collection"]), []).append(np.arange(seq + 1, seq + 1 + n, dtype=np.int64))
            self._collections = {c: np.sort(np.concatenate(parts)) for c, parts in by.items()}
        parts = [self._collections[c] for c in set(collections) if c in self._collections]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    def collection_counts(self) -> dict[str, int]:
        """Sources per collection: as the manifest records them, or counted from the sources."""
        counts = self.manifest.counts
        if counts is not None and counts.collections is not None:
            return dict(counts.collections)
        return collection_counts(self.sources())

    def row_scope(self, ids: np.ndarray) -> RowScope:
        """The rows holding these live chunk ids, segment by segment, with their statistics."""
        masks = []
        for n, segment in enumerate(self.segments):
            keep = self._keep(n, ids)
            masks.append(np.isin(segment.ids, ids) if keep is None else keep)
        tokens = sum(int(s.lengths[m].sum()) for s, m in zip(self.segments, masks, strict=True))
        n_chunks = sum(int(m.sum()) for m in masks)
        return RowScope(np.asarray(ids, dtype=np.int64), tuple(masks), tuple(masks), n_chunks, tokens / n_chunks if n_chunks else 0.0)

    def _keep(self, n: int, allowed: np.ndarray | RowScope | None) -> np.ndarray | None:
        if isinstance(allowed, RowScope):
            return allowed.masks[n]
        segment, dead = self.segments[n], self._dead[n]
        keep = None if dead is None else ~dead
        if allowed is not None:
            inside = np.isin(segment.ids, allowed)
            keep = inside if keep is None else keep & inside
        return keep

    def dense_scores(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | RowScope | None = None) -> list[Scored]:
        """``(chunk id, inner product)`` of the nearest live chunks, best first."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        if self._n == 0 or (allowed is not None and len(allowed.ids if isinstance(allowed, RowScope) else allowed) == 0):
            return []
        query = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.embedder.dim:
            raise IndexMismatchError(f"query vector has dimension {query.shape[0]}, the index {self.embedder.dim}")
        found: list[Scored] = []
        for n, segment in enumerate(self.segments):
            found.extend(segment.dense(query, k, self._keep(n, allowed)))
        found.sort(key=lambda p: (-p[1], p[0]))
        return found[:k]

    def keyword_scores(self, query: str, k: int, allowed: np.ndarray | RowScope | None = None) -> list[Scored]:
        """``(chunk id, BM25 score)`` of the best-matching live chunks (score > 0), best first."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        tokens = keyword_query_tokens(query)
        if not tokens or self._n == 0:
            return []
        scope = allowed if isinstance(allowed, RowScope) else None
        n_all, avgdl = (scope.n_chunks, scope.avgdl) if scope is not None else (self._n, self._avgdl)
        scores = [np.zeros(0)] * len(self.segments)
        for term in self._scored_terms(tokens):
            postings = self._live_postings(term)
            df = sum(len(rows) for _, rows, _ in postings) if scope is None else sum(int(scope.stats[n][rows].sum()) for n, rows, _ in postings)
            if not df:
                continue
            idf = np.log(1.0 + (n_all - df + 0.5) / (df + 0.5)) * tokens.count(term)
            for n, rows, tfs in postings:
                if not len(scores[n]):
                    scores[n] = np.zeros(len(self.segments[n].ids), dtype=np.float64)
                length = self.segments[n].lengths[rows]
                tf = tfs.astype(np.float64)
                scores[n][rows] += idf * tf / (K1 * ((1 - B) + B * length / avgdl) + tf)
        found: list[Scored] = []
        for n, segment_scores in enumerate(scores):
            if not len(segment_scores):
                continue
            keep = self._keep(n, allowed)
            if keep is not None:
                segment_scores = np.where(keep, segment_scores, 0.0)
            top = np.flatnonzero(segment_scores > 0)
            if len(top) > k:
                top = top[np.argpartition(-segment_scores[top], k - 1)[:k]]
            ids = self.segments[n].ids
            found.extend((int(ids[r]), float(segment_scores[r])) for r in top)
        found.sort(key=lambda p: (-p[1], p[0]))
        return found[:k]

    def _scored_terms(self, tokens: Sequence[str]) -> list[str]:
        """The query's distinct terms without the very common ones: in an index of at least
        ``keyword_prune_min_chunks`` chunks, a term in more than ``keyword_prune_df`` of them (a
        function word, mostly) weighs little (idf below ln 2 at a half) and lists the most rows (at
        a million chunks, hundreds of thousands), so it is not scored, unless every term the index
        holds is that common. The share is the whole index's (a source filter does not change it)
        and counts dead rows until a merge drops them; it is read from each segment's posting
        lengths (cached per snapshot), never from the postings themselves."""
        terms = list(dict.fromkeys(tokens))
        if self.keyword_prune_df >= 1.0 or len(terms) < 2 or self._n < self.keyword_prune_min_chunks:
            return terms
        limit = self.keyword_prune_df * self._n
        held = {t: self._rows_of(t) for t in terms}
        kept = [t for t in terms if 0 < held[t] <= limit]
        return kept if kept else terms

    def _rows_of(self, term: str) -> int:
        rows = self._rows_holding.get(term)
        if rows is None:
            if len(self._rows_holding) > 100_000:
                self._rows_holding.clear()
            rows = self._rows_holding[term] = sum(s.posting_length(term) for s in self.segments)
        return rows

    def hits(self, scored: Sequence[Scored]) -> list[Hit]:
        """Ranked ``(chunk id, score)`` pairs as hits carrying their chunks (rank = position)."""
        return hits_of(self, scored)

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        return self.hits(self.dense_scores(query_vector, k, allowed))

    def keyword_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        return self.hits(self.keyword_scores(query, k, allowed))

    # -- consistency ---------------------------------------------------------------------

    def verify(self, checksums: bool = True) -> list[str]:
        """Every inconsistency found between the parts of this version (empty when whole)."""
        problems: list[str] = []
        seen: set[int] = set()
        collections: dict[str, int] = {}
        for segment in self.segments:
            if checksums:
                problems.extend(segment.verify())
            overlap = seen.intersection(segment.ids.tolist())
            if overlap:
                problems.append(f"segment {segment.name} repeats {len(overlap)} chunk ids of other segments")
            seen.update(segment.ids.tolist())
            for row in segment.source_rows():
                record = source_row_record(row)
                if not self._live_seq(int(record["seq"])):
                    continue
                collections[str(record["collection"])] = collections.get(str(record["collection"]), 0) + 1
                text = segment.text_of(int(record["seq"]))
                if len(text) != int(record["size"]):
                    problems.append(f"source {record['path']} stores {len(text)} characters, its row says {record['size']}")
                for chunk in segment.chunks(segment.chunk_ids_of(int(record["seq"]))):
                    if chunk.text != text[chunk.start : chunk.end] or not 0 <= chunk.start <= chunk.end <= len(text):
                        problems.append(f"chunk {chunk.vector_id} lies outside its source's text")
        counts, n_sources = self.manifest.counts, sum(collections.values())
        if counts is not None and (counts.chunks != self._n or counts.sources != n_sources):
            problems.append(f"the manifest counts ({counts.sources} sources, {counts.chunks} chunks) differ from the segments ({n_sources}, {self._n})")
        if counts is not None and counts.collections is not None and dict(counts.collections) != dict(sorted(collections.items())):
            problems.append(f"the manifest's sources per collection {dict(counts.collections)} differ from the segments' {dict(sorted(collections.items()))}")
        return problems
