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


def test_a_failed_model_call_is_named_by_its_error_type() -> None:
    import httpx
    import openai

    from rag.langchain_adapters import _failure

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    cases = [
        (openai.APITimeoutError(request=request), "timed out"),  # a kind of APIConnectionError: timeouts win
        (openai.APIConnectionError(request=request), "cannot be reached"),
        (httpx.ReadTimeout("slow", request=request), "timed out"),
        (httpx.ConnectError("refused", request=request), "cannot be reached"),
        (ConnectionRefusedError("refused"), "cannot be reached"),
        (openai.InternalServerError("boom", response=httpx.Response(500, request=request), body=None), "answered HTTP 500"),
        (ValueError("odd reply"), "failed (ValueError)"),
    ]
    for exc, said in cases:
        message = str(_failure("openai m", exc))
        assert message.startswith(f"the language model openai m {said}: "), message
