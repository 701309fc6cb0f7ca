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


def test_the_langchain_retriever_carries_the_passage_wire_shape_and_more() -> None:
    from collections.abc import Sequence

    from rag.domain import Passage, StoredChunk
    from rag.langchain_adapters import RagRetriever

    chunk = StoredChunk(
        vector_id=3, chunk_id="c3", source_id="s1", path="/docs/faq.txt", ordinal=2,
        start=10, end=22, text="提现一般需要1个工作日。", heading="提现", page=None,
    )
    passage = Passage(chunk, 0.123456789, 1, dense_rank=2, keyword_rank=1)

    class One:
        def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]:
            return [passage][:top_k]

    [document] = RagRetriever(retriever=One(), top_k=3).invoke("提现要多久?")
    assert document.page_content == "提现一般需要1个工作日。"
    shape = passage.to_dict()
    assert {k: document.metadata[k] for k in shape if k != "score"} == {k: v for k, v in shape.items() if k != "score"}
    assert document.metadata["score"] == 0.123456789  # unrounded, unlike the wire shape's 4 places
    assert (document.metadata["source_id"], document.metadata["heading"], document.metadata["chunk_id"]) == ("s1", "提现", "c3")
    assert Passage.from_dict(document.metadata).chunk.path == "/docs/faq.txt"
