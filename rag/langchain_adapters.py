"""LangChain at the edge: our components through LangChain's own interfaces.

This is the one module that imports LangChain, so a LangChain upgrade touches one file.
``EmbedderEmbeddings`` lets any LangChain vector store use our embedders (with their
query/passage handling); the retriever and the answer chain join it with the answering issue.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from rag.protocols import Embedder

__all__ = ["EmbedderEmbeddings"]


class EmbedderEmbeddings(Embeddings):
    """A LangChain ``Embeddings`` backed by one of our embedders."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()  # type: ignore[no-any-return]
