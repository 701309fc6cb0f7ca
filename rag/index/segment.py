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

import hashlib
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.domain import StoredChunk
from rag.index.format import ReadOnlyDatabase, file_sha256, fsync_tree
from rag.manifest import SegmentRecord

__all__ = ["PIECE", "SEGMENT_SCHEMA", "Segment", "SegmentBuilder", "disk_usage", "sentence_key"]

PIECE = 4096  # characters of source text per stored piece (a chunk's text is read from its pieces)
SEGMENT_SCHEMA = """
CREATE TABLE sources (
    seq INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    n_chunks INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    pages TEXT NOT NULL,
    root TEXT NOT NULL
);
CREATE INDEX sources_by_path ON sources(path);
CREATE INDEX sources_by_id ON sources(source_id);
CREATE TABLE texts (seq INTEGER NOT NULL, piece INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (seq, piece)) WITHOUT ROWID;
CREATE TABLE chunks (
    vector_id INTEGER PRIMARY KEY,
    row INTEGER NOT NULL,
    chunk_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    heading TEXT NOT NULL,
    page INTEGER,
    embed_hash TEXT NOT NULL
);
CREATE INDEX chunks_by_seq ON chunks(seq, ordinal);
CREATE INDEX chunks_by_embed_hash ON chunks(embed_hash);
CREATE TABLE terms (term TEXT PRIMARY KEY, rows BLOB NOT NULL, tfs BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE sentences (key BLOB NOT NULL, row INTEGER NOT NULL, owner INTEGER NOT NULL, PRIMARY KEY (key, owner)) WITHOUT ROWID;
"""
_SOURCE_COLUMNS = "seq, source_id, path, content_hash, kind, size, n_chunks, ingested_at, pages, root"


def sentence_key(text: str) -> bytes:
    """The key a sentence vector is stored under: the first 16 bytes of the sha256 of the text embedded."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and their scales (symmetric, one scale per row)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if not len(vectors):
        return np.zeros(vectors.shape, dtype=np.int8), np.empty(0, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1)
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    return np.round(vectors / scales[:, None] * 127.0).astype(np.int8), scales


@dataclass
class SourceRow:
    """A source as a segment stores it (``seq`` is its id; its chunks take the ids after it)."""

    seq: int
    source_id: str
    path: str
    content_hash: str
    kind: str
    text: str
    n_chunks: int
    ingested_at: str
    pages: str = "[]"
    root: str = ""


@dataclass
class ChunkRow:
    vector_id: int
    chunk_id: str
    seq: int
    ordinal: int
    start: int
    end: int
    heading: str
    page: int | None
    embed_hash: str
    text: str  # the chunk text (not stored: it is the source text at start..end)


class SegmentBuilder:
    """Collects one segment's rows in memory, then writes it in one go (:meth:`write`)."""

    def __init__(self, dim: int, tokenizer: str) -> None:
        self.dim = dim
        self.tokenizer = tokenizer  # the rules the postings are built with (recorded per segment)
        self.sources: list[SourceRow] = []
        self.chunks: list[ChunkRow] = []
        self.vectors: list[np.ndarray] = []
        self.lengths: list[int] = []
        self.postings: dict[str, tuple[list[int], list[int]]] = {}
        self.posting_arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # a merge's, already as arrays
        self.sentences: dict[bytes, tuple[np.ndarray, list[int]]] = {}  # key -> (vector, the chunk ids whose sentence it is)

    def add_source(self, source: SourceRow) -> None:
        self.sources.append(source)

    def add_chunk(self, chunk: ChunkRow, vector: np.ndarray, tokens: Sequence[str] | None = None, counts: dict[str, int] | None = None) -> int:
        """Add a chunk with its vector and keyword tokens (or their counts); returns its row."""
        row = len(self.chunks)
        self.chunks.append(chunk)
        self.vectors.append(np.asarray(vector, dtype=np.float32).reshape(self.dim))
        if counts is None:
            counts = dict(Counter(tokens or ()))
            self.lengths.append(len(tokens or ()))
        else:
            self.lengths.append(sum(counts.values()))
        for term, tf in counts.items():
            rows, tfs = self.postings.setdefault(term, ([], []))
            rows.append(row)
            tfs.append(tf)
        return row

    def add_sentence(self, key: bytes, vector: np.ndarray, owner: int) -> None:
        if key not in self.sentences:
            self.sentences[key] = (np.asarray(vector, dtype=np.float32).reshape(self.dim), [owner])
        elif owner not in self.sentences[key][1]:
            self.sentences[key][1].append(owner)

    def write(self, folder: Path, name: str) -> SegmentRecord:
        """Write the segment into ``folder`` (which must not exist) and fsync it."""
        order = np.argsort([c.vector_id for c in self.chunks], kind="stable")
        if not np.array_equal(order, np.arange(len(order))):
            raise ValueError("a segment's chunks must be added in ascending id order")
        folder.mkdir(parents=True)
        ids = np.asarray([c.vector_id for c in self.chunks], dtype=np.int64)
        matrix = np.stack(self.vectors) if self.vectors else np.empty((0, self.dim), dtype=np.float32)
        np.save(folder / "vectors.npy", np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
        np.save(folder / "ids.npy", ids, allow_pickle=False)
        np.save(folder / "lengths.npy", np.asarray(self.lengths, dtype=np.int32), allow_pickle=False)
        keys = list(self.sentences)
        quantised, scales = quantise(np.stack([self.sentences[k][0] for k in keys]) if keys else np.empty((0, self.dim), dtype=np.float32))
        np.save(folder / "sentences.npy", quantised, allow_pickle=False)
        np.save(folder / "sentence_scales.npy", scales, allow_pickle=False)
        db = sqlite3.connect(folder / "rows.sqlite")
        try:
            db.execute("PRAGMA journal_mode=OFF")  # the segment directory is the unit of atomicity
            db.execute("PRAGMA synchronous=OFF")  # fsynced once, below
            db.executescript(SEGMENT_SCHEMA)
            db.executemany(
                f"INSERT INTO sources ({_SOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(s.seq, s.source_id, s.path, s.content_hash, s.kind, len(s.text), s.n_chunks, s.ingested_at, s.pages, s.root) for s in self.sources],
            )
            db.executemany(
                "INSERT INTO texts VALUES (?, ?, ?)",
                [(s.seq, n, s.text[lo : lo + PIECE]) for s in self.sources for n, lo in enumerate(range(0, max(1, len(s.text)), PIECE))],
            )
            db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(c.vector_id, row, c.chunk_id, c.seq, c.ordinal, c.start, c.end, c.heading, c.page, c.embed_hash) for row, c in enumerate(self.chunks)],
            )
            postings = {t: (np.asarray(r, dtype=np.int32), np.asarray(f, dtype=np.int32)) for t, (r, f) in self.postings.items()}
            for term, (r, f) in self.posting_arrays.items():
                if term in postings:
                    postings[term] = (np.concatenate([postings[term][0], r]), np.concatenate([postings[term][1], f]))
                else:
                    postings[term] = (r, f)
            db.executemany(
                "INSERT INTO terms VALUES (?, ?, ?)",
                ((t, np.ascontiguousarray(r, dtype=np.int32).tobytes(), np.ascontiguousarray(f, dtype=np.int32).tobytes()) for t, (r, f) in sorted(postings.items())),
            )
            db.executemany("INSERT INTO sentences VALUES (?, ?, ?)", [(k, n, owner) for n, k in enumerate(keys) for owner in self.sentences[k][1]])
            db.commit()
        finally:
            db.close()
        fsync_tree(folder)
        terms = [t for t in {**self.postings, **self.posting_arrays} if t]
        return SegmentRecord(
            name=name,
            rows=len(self.chunks),
            sources=len(self.sources),
            tokens=int(sum(self.lengths)),
            terms=len(terms),
            ascii_terms=sum(1 for t in terms if t.isascii()),
            sentences=len(keys),
            min_id=int(min([s.seq for s in self.sources] + ids.tolist(), default=0)),
            max_id=int(max([s.seq for s in self.sources] + ids.tolist(), default=0)),
            files={p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file()},
            tokenizer=self.tokenizer,
        )


class Segment:
    """One segment opened read-only. Shared by every snapshot that names it, and by threads."""

    def __init__(self, folder: Path, record: SegmentRecord) -> None:
        self.folder = folder
        self.record = record
        self.name = record.name
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
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

    def all_postings(self) -> Iterable[tuple[str, np.ndarray, np.ndarray]]:
        if self._memory_postings is not None:
            yield from ((t, r, f) for t, (r, f) in self._memory_postings.items())
            return
        for term, rows, tfs in self.rows_sql("SELECT term, rows, tfs FROM terms ORDER BY term"):
            yield term, np.frombuffer(rows, dtype=np.int32), np.frombuffer(tfs, dtype=np.int32)

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
        return self.rows_sql(f"SELECT {_SOURCE_COLUMNS} FROM sources {where}", params)

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
        """``(chunk id, inner product)`` of the ``k`` nearest rows among those ``keep`` marks."""
        if not len(self.ids):
            return []
        scores = np.asarray(self.vectors @ query, dtype=np.float32)
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
            k = min(k, int(keep.sum()))
        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        return [(int(self.ids[r]), float(scores[r])) for r in top if scores[r] > -np.inf]

    def vector_of_rows(self, rows: Sequence[int]) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def sentence_vectors(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        if not keys or not self.record.sentences:
            return {}
        matrix, scales = self._sentences
        out: dict[bytes, np.ndarray] = {}
        for lo in range(0, len(keys), 500):
            part = list(keys[lo : lo + 500])
            for key, row in self.rows_sql(f"SELECT key, row FROM sentences WHERE key IN ({','.join('?' * len(part))})", part):
                vector = matrix[int(row)].astype(np.float32) * (float(scales[int(row)]) / 127.0)
                norm = float(np.linalg.norm(vector))
                out[bytes(key)] = vector / norm if norm > 0 else vector
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


_PARTS = {"vectors.npy": "vectors", "ids.npy": "rows", "lengths.npy": "keyword", "sentences.npy": "sentence_vectors", "sentence_scales.npy": "sentence_vectors"}
_TABLE_PARTS = {"terms": "keyword", "texts": "text", "sentences": "sentence_vectors"}


def disk_usage(folder: Path) -> dict[str, int]:
    """Bytes of a segment by part: vectors, keyword (postings, lengths), rows (chunk and source
    rows, their indexes, ids), text (source text, stored once), sentence_vectors."""
    usage = dict.fromkeys(("vectors", "keyword", "rows", "text", "sentence_vectors"), 0)
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
    return dict(zip(_SOURCE_COLUMNS.split(", "), row, strict=True))


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
