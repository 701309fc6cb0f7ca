"""Real clients against /v1/chat/completions on a real server: the official ``openai`` package
(sync and async, streaming and not) and LangChain's ``ChatOpenAI``; and, with the real small GGUF
model behind the server, an LLM answer streamed sentence by sentence after checking."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import APIStatusError, AsyncOpenAI, AuthenticationError, OpenAI

from rag.text.language import ABSTAIN_MESSAGES
from tests.api.conftest import KEY, copy_index
from tests.conftest import SAMPLE
from tests.tools.server import rag_server

pytestmark = [pytest.mark.api, pytest.mark.model]

QUESTION = "客服可以解答哪些常见的技术问题?"
STORED = SAMPLE.read_text(encoding="utf-8")


def check_citations(citations: list[dict[str, Any]], content: str) -> None:
    assert citations, content
    for c in citations:
        assert STORED[c["start"] : c["end"]] == c["text"]
        assert f"[{c['marker']}]" in content


@pytest.fixture
def openai_client(server: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=server + "/v1", api_key=KEY, max_retries=0, timeout=120) as client:
        yield client


def test_models_list(openai_client: OpenAI) -> None:
    assert [m.id for m in openai_client.models.list()] == ["rag-cite"]


def test_openai_sync_non_streaming(openai_client: OpenAI) -> None:
    completion = openai_client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": QUESTION}])
    content = completion.choices[0].message.content or ""
    assert completion.choices[0].finish_reason == "stop" and "技术问题" in content
    extra = completion.model_extra or {}
    check_citations(extra["citations"], content)
    assert "**来源:**" in content and "\n1. bitcoin-exchange-support-faq.zh.txt:" in content
    assert len(extra["sources"]) == len(extra["citations"]) and extra["rag"]["abstained"] is False


def test_openai_sync_streaming_releases_sentences_then_sources(openai_client: OpenAI) -> None:
    chunks = list(openai_client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": QUESTION}], stream=True))
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(final) == 1 and final[0] is chunks[-1]
    check_citations(final[0].model_extra["citations"], content)
    events = [c.model_extra["event"] for c in chunks if (c.model_extra or {}).get("event")]
    assert [e["type"] for e in events] == ["source"] * len(final[0].model_extra["citations"])


def test_openai_errors_are_typed(server: str) -> None:
    with OpenAI(base_url=server + "/v1", api_key="wrong", max_retries=0) as bad:
        with pytest.raises(AuthenticationError):
            bad.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": QUESTION}])
    with OpenAI(base_url=server + "/v1", api_key=KEY, max_retries=0) as good:
        with pytest.raises(APIStatusError) as info:
            good.chat.completions.create(model="rag-cite", messages=[{"role": "assistant", "content": "hi"}])
        assert info.value.status_code == 400 and "last message" in str(info.value)
        with pytest.raises(APIStatusError) as info:
            good.chat.completions.create(model="rag-cite", messages=[])
        assert info.value.status_code == 422


def test_openai_async_both_ways(server: str) -> None:
    async def run() -> tuple[str, str, list[str]]:
        async with AsyncOpenAI(base_url=server + "/v1", api_key=KEY, max_retries=0) as client:
            whole = await client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": QUESTION}])
            stream = await client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": QUESTION}], stream=True)
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            many = await asyncio.gather(*[
                client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": q}])
                for q in ("比特币交易客服能提供哪些服务?", "How do I contact customer support?", "今天比特币价格是多少?")
            ])
            return whole.choices[0].message.content or "", "".join(parts), [m.choices[0].message.content or "" for m in many]

    whole, streamed, many = asyncio.run(run())
    assert whole == streamed and "[1]" in whole
    assert len(many) == 3 and "[1]" in many[0] and "[1]" in many[1]
    assert many[2] == ABSTAIN_MESSAGES["zh"]  # the price of bitcoin today is not in the documents


def test_follow_up_uses_the_history_and_ignores_our_sources_block(openai_client: OpenAI) -> None:
    first = openai_client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": "充值需要多长时间?"}])
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "充值需要多长时间?"},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "那提现呢?"}]},
    ]
    follow = openai_client.chat.completions.create(model="rag-cite", messages=messages)
    standalone = follow.model_extra["rag"].get("standalone_question", "")
    assert "提现" in standalone and "来源" not in standalone


def test_langchain_chat_openai_invoke_and_stream(server: str) -> None:
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=server + "/v1", api_key=KEY, model="rag-cite", max_retries=0, timeout=120)
    message = chat.invoke(QUESTION)
    assert "[1]" in message.content and "来源" in message.content
    streamed = "".join(str(chunk.content) for chunk in chat.stream(QUESTION))
    assert streamed == message.content


def test_housekeeping_requests_are_answered_without_retrieval(openai_client: OpenAI) -> None:
    title_prompt = (
        "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n### Output:\n"
        'JSON format: { "title": "your concise title here" }\n### Chat History:\n<chat_history>\nUSER: 提现需要多久?\n'
        "ASSISTANT: 一般在一个工作日内到账。[1]\n</chat_history>"
    )
    title = openai_client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": title_prompt}])
    assert json.loads(title.choices[0].message.content or "") == {"title": "提现需要多久"}
    assert title.model_extra["citations"] == [] and title.model_extra["rag"] is None
    tags = openai_client.chat.completions.create(
        model="rag-cite", stream=True,
        messages=[{"role": "user", "content": '### Task:\nGenerate 1-3 broad tags categorizing the main themes...\nJSON format: { "tags": ["tag1"] }\n<chat_history>\nUSER: hi\n</chat_history>'}],
    )
    assert json.loads("".join(c.choices[0].delta.content or "" for c in tags if c.choices)) == {"tags": []}


# -- with a real language model behind the server ---------------------------------------------


@pytest.mark.llm
def test_llm_answers_stream_checked_sentences_through_the_endpoint(sample_index: Path, tmp_path: Path) -> None:
    from tests.tools.gguf_model import fetch_test_model

    gguf = fetch_test_model()
    index = copy_index(sample_index, tmp_path)
    env = {"RAG_LLM_MAX_TOKENS": "160", "RAG_FALLBACK": "extractive"}
    with rag_server(index, env=env, args=("--generator", "gguf", "--gguf", str(gguf)), timeout=300) as base:
        with OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=300) as client:
            stream = client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": "比特币交易客服能提供哪些服务?"}], stream=True)
            chunks = list(stream)
        final = chunks[-1]
        rag = final.model_extra["rag"]
        assert final.choices[0].finish_reason == "stop" and rag["generator"].startswith("llm:gguf")
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        for c in rag["citations"]:
            assert STORED[c["start"] : c["end"]] == c["text"]
        if not rag["abstained"]:
            # every released sentence went through the check, and carries its verdict
            assert rag["sentences"] and all(isinstance(s["supported"], bool) for s in rag["sentences"])
            assert [s["text"] for s in rag["sentences"]][0][:10] in content
            assert re.search(r"\[\d+\]", content)
        with httpx.Client(base_url=base, timeout=300) as c:
            assert c.post("/v1/query", json={"question": "今天比特币价格是多少?"}).status_code == 200
