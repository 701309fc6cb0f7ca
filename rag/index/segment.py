"""One immutable segment of an index: what one commit (or one merge) adds, never modified after.

Layout of a segment directory::

    segments/s000012/
      vectors.npy           float32 [rows, dim], normalised; memory-mapped when opened
      ids.npy               int64 [rows]: the chunk id of each row, ascending
      lengths.npy           int32 [rows]: keyword tokens per chunk (BM25's document length)
      rows.sqlite           sources (their text once, in pieces), chunks (offsets into that text),
                            terms (keyword postings: rows and term frequencies), sentences
      sentences.npy         int8 [n, dim] sentence vectors, computed at ingest ...
      sentence_scales.npy   ... float32 [n]: the scale of each row (vector = int8 * scale / 127)
      hnsw.faiss            segments of at least ann_min_rows rows: an HNSW graph over 8-bit codes
                            of the vectors (rag.index.ann), memory-mapped when opened

A segment holds only its own rows: corpus statistics (document frequency, average length) are
summed over the live segments at query time (:mod:`rag.index.snapshot`), so a commit never rewrites
old data. Deletes are not written here but as tombstone ranges in the manifest; a merge
(:mod:`rag.index.merge`) writes a new segment without them. Nothing is pickled: NumPy files are
loaded with ``allow_pickle=False``, the rest is SQLite.

Why our own postings and not tantivy or FTS5: the keyword part must be versioned with the
vectors and rows by the one manifest (a reader sees exactly the segments its manifest names; a
crash leaves nothing to reconcile between two engines' commits), and must score exactly as the
bm25s index it replaces (Lucene BM25, k1 = 1.5, b = 0.75, on our rjieba/word tokens). Per-segment
postings with statistics summed at query time are what Lucene and tantivy do inside; here they
are a SQLite table of term -> (rows, tfs) blobs, read on demand.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.domain import StoredChunk
from rag.index.ann import ANN_FILE, AnnConfig, AnnGraph
from rag.index.builder import PIECE, SEGMENT_SCHEMA, SOURCE_COLUMNS, ChunkRow, SegmentBuilder, SourceRow, sentence_key
from rag.index.format import ReadOnlyDatabase, file_sha256
from rag.manifest import SegmentRecord

__all__ = [
    "PIECE", "SEGMENT_SCHEMA", "ChunkRow", "Segment", "SegmentBuilder", "SourceRow",
    "disk_usage", "pages_json", "remove_tree", "sentence_key", "source_row_record",
]  # fmt: skip


class Segment:
    """One segment opened read-only. Shared by every snapshot that names it, and by threads."""

    def __init__(self, folder: Path, record: SegmentRecord, ann: AnnConfig | None = None) -> None:
        self.folder = folder
        self.record = record
        self.name = record.name
        self.ann_config = ann or AnnConfig()  # how its graph (if it has one) is searched
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        self.graph = AnnGraph(folder / ANN_FILE, record.ann, record.rows) if record.ann else None
        self.ids = np.load(folder / "ids.npy", allow_pickle=False)
        self.lengths = np.load(folder / "lengths.npy", allow_pickle=False)
        if not (len(self.vectors) == len(self.ids) == len(self.lengths) == record.rows):
            raise ValueError(f"segment {record.name} holds {len(self.ids)} rows, its manifest record {record.rows}")
        # Mapped now, not on first use: a writer may remove the directory of a segment that an
        # older snapshot still reads (open files and mappings survive that; paths do not).
        self._sentences = (
            np.load(folder / "sentences.npy", mmap_mode="r", allow_pickle=False),
            np.load(folder / "sentence_scales.npy", mmap_mode="r", allow_pickle=False),
        )
        self._db = ReadOnlyDatabase(folder / "rows.sqlite")
        self.rows_sql = self._db.rows
        self._memory_postings: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
        self.dead_cache: tuple[object, np.ndarray | None] | None = None  # (the ranges it was computed for, the mask)
        self.rows_sql("SELECT count(*) FROM chunks")
        # Segments written before collections existed hold every source in the default one.
        has_collection = any(r[1] == "collection" for r in self.rows_sql("PRAGMA table_info(sources)"))
        self._source_columns = SOURCE_COLUMNS if has_collection else SOURCE_COLUMNS.replace("collection", "'default' AS collection")

    def close(self) -> None:
        self._db.close()

    # -- keywords ----------------------------------------------------------------------

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows holding ``term`` and its frequency in each (None when no row holds it)."""
        if self._memory_postings is not None:
            return self._memory_postings.get(term)
        found = self.rows_sql("SELECT rows, tfs FROM terms WHERE term = ?", (term,))
        if not found:
            return None
        return np.frombuffer(found[0][0], dtype=np.int32), np.frombuffer(found[0][1], dtype=np.int32)

    def posting_length(self, term: str) -> int:
        """How many rows hold ``term``, dead ones included (SQLite reads a blob's length from the
        record header, not the blob)."""
        if self._memory_postings is not None:
            found = self._memory_postings.get(term)
            return 0 if found is None else len(found[0])
        row = self.rows_sql("SELECT length(rows) FROM terms WHERE term = ?", (term,))
        return int(row[0][0]) // 4 if row else 0

    def all_postings(self) -> Iterable[tuple[str, np.ndarray, np.ndarray]]:
        if self._memory_postings is not None:
            yield from ((t, r, f) for t, (r, f) in self._memory_postings.items())
            return
        for term, rows, tfs in self.rows_sql("SELECT term, rows, tfs FROM terms ORDER BY term"):
            yield term, np.frombuffer(rows, dtype=np.int32), np.frombuffer(tfs, dtype=np.int32)

    def posting_table(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Every term (in order), how many rows hold it, and all their rows and tfs concatenated
        (read in bulk: a merge regroups them in numpy)."""
        if self._memory_postings is not None:
            items = sorted(self._memory_postings.items())
            terms = [t for t, _ in items]
            rows_parts, tfs_parts = [r for _, (r, _) in items], [f for _, (_, f) in items]
        else:
            table = self.rows_sql("SELECT term, rows, tfs FROM terms ORDER BY term")
            terms = [t for t, _, _ in table]
            rows_parts = [np.frombuffer(b"".join(r for _, r, _ in table), dtype=np.int32)] if table else []
            tfs_parts = [np.frombuffer(b"".join(f for _, _, f in table), dtype=np.int32)] if table else []
            lengths = np.fromiter((len(r) // 4 for _, r, _ in table), dtype=np.int64, count=len(table))
            return terms, lengths, *_joined(rows_parts, tfs_parts)
        lengths = np.fromiter((len(r) for r in rows_parts), dtype=np.int64, count=len(rows_parts))
        return terms, lengths, *_joined(rows_parts, tfs_parts)

    def retokenise(self, tokenize: Any) -> None:
        """Replace the stored postings by ones built with today's tokeniser (an index written with
        other tokenisation rules is searched with these, in memory, until it is merged)."""
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(self.ids), dtype=np.int32)
        for row, text in enumerate(self.texts(self.ids.tolist())):
            tokens = tokenize(text)
            lengths[row] = len(tokens)
            for term, tf in Counter(tokens).items():
                rows, tfs = postings.setdefault(term, ([], []))
                rows.append(row)
                tfs.append(tf)
        self._memory_postings = {t: (np.asarray(r, dtype=np.int32), np.asarray(f, dtype=np.int32)) for t, (r, f) in postings.items()}
        self.lengths = lengths

    # -- rows --------------------------------------------------------------------------

    def rows_of(self, vector_ids: np.ndarray) -> np.ndarray:
        """The rows of these ids in this segment (-1 where it does not hold the id)."""
        pos = np.searchsorted(self.ids, vector_ids)
        pos = np.minimum(pos, max(0, len(self.ids) - 1))
        hit = (len(self.ids) > 0) & (self.ids[pos] == vector_ids) if len(self.ids) else np.zeros(len(vector_ids), dtype=bool)
        return np.where(hit, pos, -1)

    def source_rows(self, where: str = "", params: Sequence[Any] = ()) -> list[Any]:
        return self.rows_sql(f"SELECT {self._source_columns} FROM sources {where}", params)

    def text_of(self, seq: int, start: int = 0, end: int | None = None) -> str:
        if end is None:
            pieces = self.rows_sql("SELECT text FROM texts WHERE seq = ? ORDER BY piece", (seq,))
            return "".join(p[0] for p in pieces)[start:]
        first, last = start // PIECE, max(start, end - 1) // PIECE
        pieces = self.rows_sql("SELECT text FROM texts WHERE seq = ? AND piece BETWEEN ? AND ? ORDER BY piece", (seq, first, last))
        return "".join(p[0] for p in pieces)[start - first * PIECE : end - first * PIECE]

    def texts(self, vector_ids: Sequence[int]) -> list[str]:
        return [c.text for c in self.chunks(vector_ids)]

    def chunks(self, vector_ids: Sequence[int]) -> list[StoredChunk]:
        """These chunks (the ones this segment holds), in the order asked."""
        found: dict[int, StoredChunk] = {}
        ids = [int(v) for v in vector_ids]
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            marks = ",".join("?" * len(part))
            rows = self.rows_sql(
                "SELECT c.vector_id, c.chunk_id, s.source_id, s.path, c.ordinal, c.start_char, c.end_char, c.heading, c.page, c.seq"
                f" FROM chunks c JOIN sources s USING (seq) WHERE c.vector_id IN ({marks})",
                part,
            )
            for r in rows:
                found[int(r[0])] = StoredChunk(
                    vector_id=int(r[0]), chunk_id=r[1], source_id=r[2], path=r[3], ordinal=int(r[4]), start=int(r[5]),
                    end=int(r[6]), text=self.text_of(int(r[9]), int(r[5]), int(r[6])), heading=r[7], page=r[8],
                )  # fmt: skip
        return [found[i] for i in ids if i in found]

    def chunk_ids_of(self, seq: int) -> list[int]:
        return [int(r[0]) for r in self.rows_sql("SELECT vector_id FROM chunks WHERE seq = ? ORDER BY ordinal", (seq,))]

    # -- vectors -----------------------------------------------------------------------

    def dense(self, query: np.ndarray, k: int, keep: np.ndarray | None) -> list[tuple[int, float]]:
        """``(chunk id, inner product)`` of the ``k`` nearest rows among those ``keep`` marks: from
        the segment's graph when it has one (re-scored exactly), else by an exact scan."""
        if not len(self.ids):
            return []
        config = self.ann_config
        kept = len(self.ids) if keep is None else int(keep.sum())
        if self.graph is not None and kept >= max(config.exact_below * len(self.ids), k * config.rerank):
            rows = self.graph.candidates(query, k * config.rerank, config.ef_search, keep, config.max_ef)
            if len(rows) >= min(k, kept):
                return self._rescored(rows, query, k)
            # the walk found too few rows the filter keeps: scan them all instead
        if keep is not None and kept < len(self.ids) // 2:
            return self._rescored(np.flatnonzero(keep), query, k)  # only the rows the filter keeps
        scores = np.asarray(self.vectors @ query, dtype=np.float32)
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
            k = min(k, int(keep.sum()))
        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        return [(int(self.ids[r]), float(scores[r])) for r in top if scores[r] > -np.inf]

    def _rescored(self, rows: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best of ``rows`` by their exact inner product."""
        if not len(rows):
            return []
        rows = np.sort(rows)  # ascending: the mapped file is read forwards
        scores = np.asarray(self.vectors[rows] @ query, dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(self.ids[rows[i]]), float(scores[i])) for i in top]

    def vector_of_rows(self, rows: Sequence[int]) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def sentence_vectors(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        if not keys or not self.record.sentences:
            return {}
        matrix, scales = self._sentences
        out: dict[bytes, np.ndarray] = {}
        for lo in range(0, len(keys), 500):
            part = list(keys[lo : lo + 500])
            for key, row in self.rows_sql(f"SELECT DISTINCT key, row FROM sentences WHERE key IN ({','.join('?' * len(part))})", part):
                vector = matrix[int(row)].astype(np.float32) * (float(scales[int(row)]) / 127.0)
                norm = float(np.linalg.norm(vector))
                out[bytes(key)] = vector / norm if norm > 0 else vector
        return out

    def owned_keys(self, keys: Sequence[bytes], dead: Callable[[np.ndarray], np.ndarray]) -> set[bytes]:
        """Those of these keys stored here with an owner that is not deleted (no vector read)."""
        out: set[bytes] = set()
        for lo in range(0, len(keys) if self.record.sentences else 0, 500):
            part = list(keys[lo : lo + 500])
            found = self.rows_sql(f"SELECT key, owner FROM sentences WHERE key IN ({','.join('?' * len(part))})", part)
            if found:
                alive = ~dead(np.asarray([int(o) for _, o in found], dtype=np.int64))
                out.update(bytes(k) for (k, _), a in zip(found, alive.tolist(), strict=True) if a)
        return out

    def sentence_rows(self) -> list[tuple[bytes, int, int]]:
        return [(bytes(k), int(r), int(o)) for k, r, o in self.rows_sql("SELECT key, row, owner FROM sentences")]

    def sentence_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        return self._sentences

    def verify(self) -> list[str]:
        problems = []
        for name, digest in self.record.files.items():
            target = self.folder / name
            if not target.is_file():
                problems.append(f"segment {self.name}: {name} is missing")
            elif file_sha256(target) != digest:
                problems.append(f"segment {self.name}: {name} does not match its checksum in the manifest")
        rows = self.rows_sql("SELECT vector_id, row FROM chunks ORDER BY row")
        if [int(r[0]) for r in rows] != self.ids.tolist() or [int(r[1]) for r in rows] != list(range(len(self.ids))):
            problems.append(f"segment {self.name}: its chunk rows and its vectors disagree")
        for _term, term_rows, tfs in self.all_postings():
            if len(term_rows) != len(tfs) or (len(term_rows) and (term_rows.max() >= len(self.ids) or term_rows.min() < 0)):
                problems.append(f"segment {self.name}: keyword postings point outside the segment")
                break
        counted = dict(self.rows_sql("SELECT seq, count(*) FROM chunks GROUP BY seq"))
        for seq, n in self.rows_sql("SELECT seq, n_chunks FROM sources"):
            if counted.get(seq, 0) != n:
                problems.append(f"segment {self.name}: source {seq} records {n} chunks but has {counted.get(seq, 0)}")
        return problems


_PARTS = {"vectors.npy": "vectors", ANN_FILE: "vector_graph", "ids.npy": "rows", "lengths.npy": "keyword", "sentences.npy": "sentence_vectors", "sentence_scales.npy": "sentence_vectors"}
_TABLE_PARTS = {"terms": "keyword", "texts": "text", "sentences": "sentence_vectors"}


def _joined(rows: list[np.ndarray], tfs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    empty = np.empty(0, dtype=np.int32)
    return (np.concatenate(rows) if rows else empty), (np.concatenate(tfs) if tfs else empty)


def disk_usage(folder: Path) -> dict[str, int]:
    """Bytes of a segment by part: vectors, keyword (postings, lengths), rows (chunk and source
    rows, their indexes, ids), text (source text, stored once), sentence_vectors, vector_graph (0
    without a graph)."""
    usage = dict.fromkeys(("vectors", "vector_graph", "keyword", "rows", "text", "sentence_vectors"), 0)
    for path in folder.iterdir():
        if path.name in _PARTS:
            usage[_PARTS[path.name]] += path.stat().st_size
    db = sqlite3.connect(f"file:{folder / 'rows.sqlite'}?mode=ro&immutable=1", uri=True)
    try:
        for table, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            usage[_TABLE_PARTS.get(table, "rows")] += int(size)
    except sqlite3.Error:  # SQLite built without dbstat: the whole file counts as rows
        usage["rows"] += (folder / "rows.sqlite").stat().st_size
    finally:
        db.close()
    return usage


def source_row_record(row: Sequence[Any]) -> dict[str, Any]:
    """A ``sources`` row as a dict of its columns."""
    return dict(zip(SOURCE_COLUMNS.split(", "), row, strict=True))


def pages_json(pages: Sequence[tuple[int, int]]) -> str:
    return json.dumps([list(p) for p in pages])


def remove_tree(folder: Path) -> None:
    """Remove a directory by renaming it first, so a crash mid-delete never leaves half of it under its name."""
    import shutil
    import uuid

    if not folder.exists():
        return
    trash = folder.parent / f".trash-{uuid.uuid4().hex}"
    os.rename(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)
