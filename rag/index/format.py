"""Helpers the index's readers and writers share.

The format version, the version-name pattern, the entries of an index directory, file
checksums and fsync, hits from scored ids, the keyword tokeniser, and format 1's SQLite schema
and bm25s index (read by :mod:`rag.index.legacy`; the manifest itself is the typed
:class:`rag.manifest.IndexManifest`). The layout is described in :mod:`rag.index.versions`, a
segment's in :mod:`rag.index.segment`.

The keyword tokeniser is looked up in this module when it is used (:func:`build_bm25`,
:func:`keyword_query_tokens`, :func:`keyword_manifest`, :func:`keyword_index_is_current`), so
that the one place to swap it for a process is here (``keyword_tokens``, ``TOKENIZER_NAME``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.domain import Hit, StoredChunk
from rag.manifest import FORMAT_VERSION, IndexManifest, KeywordRecord
from rag.protocols import ChunkStore
from rag.text.tokenize import TOKENIZER_NAME, keyword_tokens

__all__ = [
    "CHUNK_COLUMNS",
    "FORMAT_VERSION",
    "INDEX_ENTRIES",
    "ReadOnlyDatabase",
    "SCHEMA",
    "TOKENIZER_NAME",
    "VERSION_RE",
    "build_bm25",
    "file_sha256",
    "fsync_path",
    "fsync_tree",
    "hits_of",
    "is_index_entry",
    "keyword_index_is_current",
    "keyword_manifest",
    "keyword_query_tokens",
    "keyword_tokens",
    "now",
    "row_to_chunk",
]

VERSION_RE = re.compile(r"^v(\d{6,})$")
INDEX_ENTRIES = frozenset({"CURRENT", "CURRENT.tmp", ".lock", ".merge.lock", "versions", "manifests", "segments"})
# rag.files.atomic_write's temporary file for CURRENT
_CURRENT_TMP_RE = re.compile(r"^\.CURRENT\.\d+\.[0-9a-f]+\.tmp$")
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    source_id TEXT PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    n_chunks INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL
);
CREATE TABLE chunks (
    vector_id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    source_id TEXT NOT NULL REFERENCES sources(source_id),
    ordinal INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    text TEXT NOT NULL,
    heading TEXT NOT NULL,
    page INTEGER,
    embed_hash TEXT NOT NULL
);
CREATE INDEX chunks_by_source ON chunks(source_id, ordinal);
CREATE INDEX chunks_by_embed_hash ON chunks(embed_hash);
"""
CHUNK_COLUMNS = "c.vector_id, c.chunk_id, c.source_id, s.path, c.ordinal, c.start_char, c.end_char, c.text, c.heading, c.page"


def is_index_entry(name: str) -> bool:
    """Whether an entry of an index directory is the index's own (anything else is foreign)."""
    return name in INDEX_ENTRIES or bool(_CURRENT_TMP_RE.match(name))


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fsync_path(Path(dirpath) / name)
        fsync_path(Path(dirpath))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ReadOnlyDatabase:
    """An immutable SQLite file opened read-only: one connection, shared by the threads reading it."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        self._db.close()


def hits_of(view: ChunkStore, scored: Sequence[tuple[int, float]]) -> list[Hit]:
    """Ranked ``(chunk id, score)`` pairs as hits carrying their chunks (rank = position)."""
    chunks = {c.vector_id: c for c in view.chunks(i for i, _ in scored)}
    return [Hit(chunks[i], s, rank) for rank, (i, s) in enumerate(scored, start=1) if i in chunks]


def row_to_chunk(row: Sequence[Any]) -> StoredChunk:
    """A row of ``SELECT {CHUNK_COLUMNS}`` as a chunk."""
    return StoredChunk(
        vector_id=int(row[0]),
        chunk_id=row[1],
        source_id=row[2],
        path=row[3],
        ordinal=int(row[4]),
        start=int(row[5]),
        end=int(row[6]),
        text=row[7],
        heading=row[8],
        page=row[9],
    )


# -- the keyword index -------------------------------------------------------------------


def build_bm25(texts: Sequence[str]) -> Any:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index([keyword_tokens(t) for t in texts], show_progress=False)
    return retriever


def keyword_query_tokens(query: str) -> list[str]:
    """A query's tokens for the keyword index (the rules the index was built with)."""
    return keyword_tokens(query)


def keyword_manifest() -> KeywordRecord:
    """The manifest's record of the keyword index."""
    return KeywordRecord(backend="segment-postings", tokenizer=TOKENIZER_NAME)  # BM25 (Lucene) at query time


def keyword_index_is_current(manifest: IndexManifest) -> bool:
    """Whether a version's keyword index was built with today's tokenisation rules."""
    return manifest.keyword is not None and manifest.keyword.tokenizer == TOKENIZER_NAME
