from __future__ import annotations

import pytest
from langchain_core.vectorstores import InMemoryVectorStore

from rag.embedders import E5Embedder
from rag.langchain_adapters import EmbedderEmbeddings


@pytest.mark.model
def test_e5_through_langchain_vector_store() -> None:
    store = InMemoryVectorStore(EmbedderEmbeddings(E5Embedder(threads=2)))
    store.add_texts(["提现通常在一个工作日内处理完毕。", "The Normans gave their name to Normandy.", "客服提供24小时在线服务。"])
    hits = store.similarity_search("提现需要多长时间?", k=1)
    assert hits[0].page_content == "提现通常在一个工作日内处理完毕。"
    vector = EmbedderEmbeddings(E5Embedder(threads=2)).embed_query("x")
    assert isinstance(vector, list) and len(vector) == 384 and isinstance(vector[0], float)
