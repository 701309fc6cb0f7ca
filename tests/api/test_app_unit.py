"""Fast unit tests of the app in-process (FastAPI's TestClient) with a scripted chat model and the
hash embedder: the language-model edge cases of the HTTP path. The real server, embedder and
model are exercised in test_http.py, test_clients.py and test_browser.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from api.app import create_app, get_pipeline
from api.state import Pipeline
from rag.cli.factory import Factory, build_ingestor
from rag.langchain_adapters import ChatModelGenerator
from rag.settings import Settings
from tests.conftest import HashEmbedder

FAQ = "提现一般需要1个工作日到账。大额提现需要人工审核,可能延长到3个工作日。\n充值在区块确认后自动到账。\n"
QUESTION = "提现需要多久?"


class _CutOff(GenericFakeChatModel):
    """Streams its first sentence, then the connection drops."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in ("提现一般需要", "1个工作日到账[1]。", "大额提现"):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        raise ConnectionError("connection reset by peer")


class _Down(GenericFakeChatModel):
    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection refused")

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raise ConnectionError("connection refused")


def _client(tmp_path: Path, model: GenericFakeChatModel, **settings: Any) -> TestClient:
    embedder = HashEmbedder()
    config = Settings(index_dir=tmp_path / "idx", generator="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="scripted", **settings)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "faq.txt").write_text(FAQ, encoding="utf-8")
    build_ingestor(config, embedder=embedder).ingest([tmp_path / "faq.txt"])
    llm = ChatModelGenerator(model, backend="openai scripted at http://127.0.0.1:9/v1", unsupported=config.unsupported)
    app = create_app(config)
    pipeline = Pipeline(config, Factory(config, embedder=embedder, llm=llm))
    app.dependency_overrides[get_pipeline] = lambda: pipeline  # no lifespan: nothing else is loaded
    return TestClient(app)


def _events(body: str) -> list[Any]:
    return [json.loads(line[6:]) if line != "data: [DONE]" else "[DONE]" for line in body.split("\n\n") if line.startswith("data: ")]


def _chat(stream: bool) -> dict[str, Any]:
    return {"model": "rag-cite", "stream": stream, "messages": [{"role": "user", "content": QUESTION}]}


def test_checked_sentences_stream_one_by_one_and_unsupported_ones_are_dropped(tmp_path: Path) -> None:
    reply = "提现一般需要1个工作日到账[1]。比特币的创始人是中本聪[1]。大额提现需要人工审核[1]。"
    model = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    with _client(tmp_path, model, unsupported="drop") as client:
        events = _events(client.post("/v1/chat/completions", json=_chat(True)).text)
    assert events[-1] == "[DONE]"
    deltas = [e["choices"][0]["delta"].get("content", "") for e in events[:-1] if isinstance(e, dict) and e["choices"]]
    sentences = [d for d in deltas if d and not d.startswith("\n\n")]
    assert sentences[0].startswith("提现一般需要1个工作日到账") and len(sentences) == 2  # one chunk per checked sentence
    assert "中本聪" not in "".join(deltas)  # the invented sentence never reached the client
    final = events[-2]
    assert final["choices"][0]["finish_reason"] == "stop" and final["rag"]["notes"]
    assert all(s["supported"] for s in final["rag"]["sentences"])


def test_a_stream_cut_off_mid_answer_ends_with_an_error_event_naming_the_backend(tmp_path: Path) -> None:
    with _client(tmp_path, _CutOff(messages=iter([]))) as client:
        response = client.post("/v1/chat/completions", json=_chat(True))
    assert response.status_code == 200  # the status line was sent before the model failed
    events = _events(response.text)
    assert events[-1] == "[DONE]" and "error" in events[-2]
    assert "openai scripted" in events[-2]["error"]["message"] and events[-2]["error"]["code"] == 502
    assert not any(isinstance(e, dict) and e.get("choices") and e["choices"][0]["finish_reason"] == "stop" for e in events)
    assert "大额提现" not in response.text.split('"error"')[0]  # the unfinished sentence was never released


def test_a_model_that_is_down_is_a_502_naming_the_backend_unless_falling_back(tmp_path: Path) -> None:
    with _client(tmp_path, _Down(messages=iter([]))) as client:
        for path, body in (("/v1/query", {"question": QUESTION}), ("/v1/chat/completions", _chat(False)), ("/v1/chat/completions", _chat(True))):
            response = client.post(path, json=body)
            assert response.status_code == 502 and "openai scripted" in response.json()["error"]["message"]
    with _client(tmp_path / "fb", _Down(messages=iter([])), fallback="extractive") as client:
        answer = client.post("/v1/query", json={"question": QUESTION}).json()
        assert answer["generator"] == "extractive" and "instead" in answer["notes"][-1] and answer["citations"]
        streamed = _events(client.post("/v1/chat/completions", json=_chat(True)).text)
        assert streamed[-2]["rag"]["generator"] == "extractive"


@pytest.mark.parametrize("messages", [[], [{"role": "system", "content": "x"}], [{"role": "user"}], [{"role": "robot", "content": "x"}]])
def test_malformed_chat_requests_are_4xx(tmp_path: Path, messages: list[Any]) -> None:
    with _client(tmp_path, GenericFakeChatModel(messages=iter([]))) as client:
        response = client.post("/v1/chat/completions", json={"model": "rag-cite", "messages": messages})
    assert response.status_code in (400, 422) and response.json()["error"]["message"]


def test_cross_origin_browsers_only_when_configured(tmp_path: Path) -> None:
    preflight = {"Origin": "https://chat.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}
    model = GenericFakeChatModel(messages=iter([]))
    with _client(tmp_path / "open", model, cors_origins=["https://chat.example.com"]) as client:
        allowed = client.options("/v1/query", headers=preflight)
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://chat.example.com"
        other = client.options("/v1/query", headers={**preflight, "Origin": "https://evil.example"})
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
        assert client.get("/health", headers={"Origin": "https://chat.example.com"}).headers["access-control-allow-origin"] == "https://chat.example.com"
    with _client(tmp_path / "closed", GenericFakeChatModel(messages=iter([]))) as client:
        assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": "https://chat.example.com"}).headers
        assert client.options("/v1/query", headers=preflight).status_code == 405
    assert Settings.model_validate({"cors_origins": "https://a.example, https://b.example"}).cors_origins == ["https://a.example", "https://b.example"]


def test_a_fallback_after_a_cut_off_stream_sends_its_own_whole_answer(tmp_path: Path) -> None:
    with _client(tmp_path, _CutOff(messages=iter([])), fallback="extractive") as client:
        events = _events(client.post("/v1/chat/completions", json=_chat(True)).text)
    content = "".join(e["choices"][0]["delta"].get("content", "") for e in events if isinstance(e, dict) and e.get("choices"))
    final = events[-2]["rag"]
    assert final["generator"] == "extractive" and "instead" in final["notes"][-1]
    # the model's one released sentence, then the fallback's whole answer that the sources belong to
    assert content.startswith("提现一般需要1个工作日到账。[1]\n\n" + final["answer"] + "\n\n**来源:**")


def test_text_that_is_not_unicode_is_a_422_everywhere(tmp_path: Path) -> None:
    bodies = [
        b'{"messages": [{"role": "user", "content": "a\\ud800b"}]}',
        b'{"model": "\\ud800", "messages": [{"role": "user", "content": "ok"}]}',
        b'{"stream": true, "messages": [{"role": "user", "content": [{"type": "text", "text": "x\\udc00"}]}]}',
    ]
    with _client(tmp_path, GenericFakeChatModel(messages=iter([]))) as client:
        for body in bodies:
            response = client.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 422 and "surrogate" in response.json()["error"]["message"], body


def test_backend_urls_lose_their_secrets_in_messages() -> None:
    from rag.cli.factory import redacted_url

    assert redacted_url("http://user:pw@127.0.0.1:9/v1?api-key=x") == "http://127.0.0.1:9/v1"
    assert redacted_url("http://[::1]:8080/v1") == "http://[::1]:8080/v1"
    settings = Settings(generator="openai", llm_base_url="http://user:pw@127.0.0.1:9/v1?key=s3cret", llm_model="m")
    llm = Factory(settings).llm()
    assert llm is not None
    backend = llm.backend
    assert "pw" not in backend and "s3cret" not in backend and "127.0.0.1:9" in backend
