"""The index on disk, one module per job.

- :mod:`rag.index.versions`: :class:`IndexStore`, manifests, the atomic ``CURRENT`` switch, the
  writer's lock, opening a version, garbage collection (the layout is drawn there);
- :mod:`rag.index.segment`: one immutable segment (vectors, keyword postings, chunk rows, source
  text once, sentence vectors);
- :mod:`rag.index.snapshot`: :class:`IndexSnapshot`, one manifest's live segments as a
  :class:`~rag.protocols.IndexView`, with keyword statistics computed at query time;
- :mod:`rag.index.writer`: :class:`IndexWriter`, staging a commit and publishing manifests;
- :mod:`rag.index.merge`: the tiered merge policy and ``rag optimize``;
- :mod:`rag.index.legacy` (over :mod:`~rag.index.faiss_vectors`, :mod:`~rag.index.bm25_keywords`,
  :mod:`~rag.index.sqlite_chunks`) reads format 1, which :mod:`rag.index.migrate` migrates;
- :mod:`rag.index.format`: helpers the parts share (checksums, fsync, the keyword tokeniser).

Another backend (segments, Milvus) implements the protocols of :mod:`rag.protocols` and passes the
contract suite in tests/rag/index_contract.
"""

from rag.index.format import FORMAT_VERSION
from rag.index.legacy import LegacySnapshot
from rag.index.merge import MergePolicy
from rag.index.snapshot import IndexSnapshot
from rag.index.versions import IndexStore
from rag.index.writer import IndexWriter

__all__ = ["FORMAT_VERSION", "IndexSnapshot", "IndexStore", "IndexWriter", "LegacySnapshot", "MergePolicy"]
