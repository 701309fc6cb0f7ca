"""The index on disk, one module per job.

- :mod:`rag.index.versions`: :class:`IndexStore`, the versions directory, the atomic ``CURRENT``
  switch, the writer's lock, opening a version (the layout is drawn there);
- :mod:`rag.index.view`: :class:`IndexSnapshot`, one committed version as a
  :class:`~rag.protocols.IndexView`, over
- :mod:`rag.index.faiss_vectors` (the vector index), :mod:`rag.index.bm25_keywords` (the keyword
  index and corpus statistics) and :mod:`rag.index.sqlite_chunks` (the chunk store);
- :mod:`rag.index.writer`: :class:`IndexWriter`, staging a new version and committing it;
- :mod:`rag.index.format`: what a version directory holds (schema, manifest, checksums, the keyword
  tokeniser).

Another backend (segments, Milvus) implements the protocols of :mod:`rag.protocols` and passes the
contract suite in tests/rag/index_contract.
"""

from rag.index.format import FORMAT_VERSION
from rag.index.versions import IndexStore
from rag.index.view import IndexSnapshot
from rag.index.writer import IndexWriter

__all__ = ["FORMAT_VERSION", "IndexSnapshot", "IndexStore", "IndexWriter"]
