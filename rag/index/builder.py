"""Writing one segment (see :mod:`rag.index.segment` for its layout): a commit's or a merge's rows
are collected in memory by a :class:`SegmentBuilder` and written in one go, fsynced, under a
temporary name that the writer renames into place."""

from __future__ import annotations

import hashlib
import sqlite3
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.index.ann import ANN_FILE, AnnConfig, build_graph
from rag.index.format import file_sha256, fsync_tree
from rag.manifest import SegmentRecord

__all__ = ["PIECE", "SEGMENT_SCHEMA", "SOURCE_COLUMNS", "ChunkRow", "SegmentBuilder", "SourceRow", "quantise", "sentence_key"]

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
    root TEXT NOT NULL,
    collection TEXT NOT NULL DEFAULT 'default'
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
SOURCE_COLUMNS = "seq, source_id, path, content_hash, kind, size, n_chunks, ingested_at, pages, root, collection"


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
    collection: str = "default"


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

    def write(self, folder: Path, name: str, ann: AnnConfig | None = None) -> SegmentRecord:
        """Write the segment into ``folder`` (which must not exist) and fsync it; with ``ann``, a
        segment of at least ``ann.min_rows`` rows also gets its vector graph."""
        order = np.argsort([c.vector_id for c in self.chunks], kind="stable")
        if not np.array_equal(order, np.arange(len(order))):
            raise ValueError("a segment's chunks must be added in ascending id order")
        folder.mkdir(parents=True)
        ids = np.asarray([c.vector_id for c in self.chunks], dtype=np.int64)
        matrix = np.stack(self.vectors) if self.vectors else np.empty((0, self.dim), dtype=np.float32)
        np.save(folder / "vectors.npy", np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
        graph = build_graph(matrix, ann, folder / ANN_FILE) if ann is not None and ann.wants_graph(len(matrix)) else None
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
                f"INSERT INTO sources ({SOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(s.seq, s.source_id, s.path, s.content_hash, s.kind, len(s.text), s.n_chunks, s.ingested_at, s.pages, s.root, s.collection) for s in self.sources],
            )
            db.executemany(
                "INSERT INTO texts VALUES (?, ?, ?)",
                [(s.seq, n, s.text[lo : lo + PIECE]) for s in self.sources for n, lo in enumerate(range(0, max(1, len(s.text)), PIECE))],
            )
            db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(c.vector_id, row, c.chunk_id, c.seq, c.ordinal, c.start, c.end, c.heading, c.page, c.embed_hash) for row, c in enumerate(self.chunks)],
            )
            blobs = {t: (_int32s(r), _int32s(f)) for t, (r, f) in self.postings.items()}
            for term, (r, f) in self.posting_arrays.items():
                r_bytes, f_bytes = np.ascontiguousarray(r, dtype=np.int32).tobytes(), np.ascontiguousarray(f, dtype=np.int32).tobytes()
                before = blobs.get(term, (b"", b""))
                blobs[term] = (before[0] + r_bytes, before[1] + f_bytes)
            db.executemany("INSERT INTO terms VALUES (?, ?, ?)", ((t, r, f) for t, (r, f) in sorted(blobs.items())))
            db.executemany("INSERT INTO sentences VALUES (?, ?, ?)", sorted((k, n, owner) for n, k in enumerate(keys) for owner in self.sentences[k][1]))  # in key order: appends to the B-tree
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
            ann=graph,
        )


def _int32s(values: list[int]) -> bytes:
    """int32 values as the bytes a postings blob holds (native order, as np.frombuffer reads them)."""
    return array("i", values).tobytes()


assert array("i").itemsize == 4, "postings blobs are int32"
