"""Migrating a format-1 index (one whole directory per version) to segments, at its first write.

The committed version's sources, chunks and vectors become one segment (its keyword postings are
built with today's tokeniser; nothing is embedded again; sentence vectors, which format 1 did
not store, are computed by the answerer when first read) and a format-2 manifest naming it is
published as the next version. Until then the index is read as it is
(:class:`~rag.index.legacy.LegacySnapshot`); a crash mid-migration leaves the format-1 version
current and the next writer migrates again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from rag.domain import DEFAULT_COLLECTION, sha256_hex
from rag.index.format import TOKENIZER_NAME, keyword_tokens, now
from rag.index.legacy import LegacySnapshot
from rag.index.segment import ChunkRow, SegmentBuilder, SourceRow
from rag.index.writer import IndexWriter
from rag.manifest import IndexManifest, ManifestCounts

if TYPE_CHECKING:
    from rag.index.versions import IndexStore

__all__ = ["migrate"]


def migrate(store: IndexStore, manifest: IndexManifest) -> IndexManifest:
    """Publish the format-1 version ``manifest`` names as one segment; returns the new manifest."""
    legacy = LegacySnapshot(store.versions_dir / manifest.version, manifest)
    try:
        builder = SegmentBuilder(manifest.embedder.dim, TOKENIZER_NAME)
        next_id = 0
        sources = legacy.chunk_store.rows("SELECT source_id, path, content_hash, kind, ingested_at, text, pages FROM sources ORDER BY path")
        n_chunks = 0
        for source_id, path, content_hash, kind, ingested_at, text, pages in sources:
            rows = legacy.chunk_store.rows(
                "SELECT vector_id, chunk_id, ordinal, start_char, end_char, text, heading, page, embed_hash FROM chunks WHERE source_id = ? ORDER BY ordinal",
                (source_id,),
            )
            seq = next_id
            builder.add_source(SourceRow(seq, source_id, path, content_hash, kind, text, len(rows), ingested_at or now(), pages or "[]", ""))
            for n, (vector_id, chunk_id, ordinal, start, end, chunk_text, heading, page, embed_hash) in enumerate(rows, start=1):
                vector = legacy.vectors._faiss.reconstruct(int(vector_id), np.empty(manifest.embedder.dim, dtype=np.float32))
                chunk = ChunkRow(seq + n, chunk_id, seq, ordinal, start, end, heading, page, embed_hash or sha256_hex(chunk_text), chunk_text)
                builder.add_chunk(chunk, vector, keyword_tokens(chunk_text))
            next_id = seq + 1 + len(rows)
            n_chunks += len(rows)
    finally:
        legacy.close()
    writer = IndexWriter.__new__(IndexWriter)  # only its publishing half: the lock is held by our caller
    writer.store, writer.embedder, writer.chunker = store, manifest.embedder, dict(manifest.chunker)
    writer._created_at = manifest.created_at or now()
    writer._base = None
    segments = [writer.write_segment(builder, "s000001")] if builder.chunks or builder.sources else []
    version = writer.publish(segments=segments, deleted=(), counts=ManifestCounts(len(sources), n_chunks, {DEFAULT_COLLECTION: len(sources)} if sources else {}), next_id=next_id, next_segment=2)
    return IndexManifest.from_dict(json.loads((store.manifests_dir / f"{version}.json").read_text(encoding="utf-8")), str(store.root))
