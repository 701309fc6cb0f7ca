"""The index's public names, where they have always been importable: ``IndexStore``,
``IndexSnapshot``, ``IndexWriter`` (the code is in :mod:`rag.index`, one module per job)."""

from rag.index.format import FORMAT_VERSION, TOKENIZER_NAME, keyword_tokens
from rag.index.snapshot import IndexSnapshot
from rag.index.versions import IndexStore
from rag.index.writer import IndexWriter

__all__ = ["FORMAT_VERSION", "TOKENIZER_NAME", "IndexSnapshot", "IndexStore", "IndexWriter", "keyword_tokens"]
