"""Bounded work per request and back-pressure, against the real server (``rag serve``) on loopback:
oversized conversations refused before any model work, a per-request deadline, a bound on
requests in flight, time limits on headers and bodies, a limit on wrong keys, and a graceful
SIGTERM."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import copy_index
from tests.tools.bombs import docx_bomb, pdf_bomb
from tests.tools.server import RUNNING, rag_server

pytestmark = pytest.mark.api

KEY = "hardening-key-0123456789"
MB = 1 << 20
QUESTION = "客服可以解答哪些常见的技术问题?"


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text[:300])
    return str(response.json()["error"]["message"])


@pytest.fixture(scope="module")
def guarded(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One request in flight at a time, 1 s for headers and for a stalled body."""
    index = copy_index(sample_index, tmp_path_factory.mktemp("guarded"))
    env = {"RAG_API_KEYS": KEY, "RAG_MAX_IN_FLIGHT": "1", "RAG_HEADER_TIMEOUT_S": "1", "RAG_BODY_TIMEOUT_S": "1"}
    with rag_server(index, env=env) as base:
        yield base


@pytest.fixture
def client(guarded: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=guarded, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as c:
        yield c


def test_an_oversized_conversation_is_refused_at_once_naming_the_limit(client: httpx.Client) -> None:
    # Finding 1: a short follow-up with a 100k-character earlier turn pinned the server for minutes.
    huge = "提现到账时间取决于区块链网络的拥堵程度以及交易所的审核流程。" * 3400  # ~100k characters
    started = time.monotonic()
    message = error_of(client.post("/v1/query", json={"question": "And what about that?", "history": [{"role": "user", "content": huge}]}), 422)
    assert "max_turn_chars" in message
    chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": huge}, {"role": "assistant", "content": "…"},
                                                                  {"role": "user", "content": "And what about that?"}]})
    assert "max_turn_chars" in error_of(chat, 422)
    parts = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": [{"type": "text", "text": huge}]},
                                                                   {"role": "user", "content": "And that?"}]})
    assert "8,000" in error_of(parts, 422)
    many = [{"role": "user", "content": "充值需要多长时间?"}] * 60
    assert "max_history_turns" in error_of(client.post("/v1/query", json={"question": "那提现呢?", "history": many}), 422)
    assert "max_history_turns" in error_of(client.post("/v1/chat/completions", json={"messages": [*many, {"role": "user", "content": "那提现呢?"}]}), 422)
    # each turn under its limit, all of them over the total
    long_turns = [{"role": "user", "content": "提" * 7000}] * 5
    assert "max_history_chars" in error_of(client.post("/v1/query", json={"question": "那提现呢?", "history": long_turns}), 422)
    assert time.monotonic() - started < 10, "refused before any model work"
    # the server is still answering at once
    follow = client.post("/v1/query", json={"question": "那提现呢?", "history": [{"role": "user", "content": "充值需要多长时间?"}]})
    assert follow.status_code == 200 and "提现" in follow.json()["standalone_question"]


def test_openapi_states_the_conversation_limits(guarded: str) -> None:
    schema = httpx.get(guarded + "/openapi.json").json()["components"]["schemas"]
    assert schema["QueryRequest"]["properties"]["history"]["maxItems"] == 50
    assert schema["Turn"]["properties"]["content"]["maxLength"] == 8000
    assert schema["ChatCompletionRequest"]["properties"]["messages"]["maxItems"] == 51


def test_beyond_the_requests_in_flight_the_server_says_busy_at_once(client: httpx.Client, guarded: str) -> None:
    # Finding 4: requests queued without bound instead of being refused early.
    results: list[httpx.Response] = []

    def ask() -> None:
        with httpx.Client(base_url=guarded, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as c:
            results.append(c.post("/v1/query", json={"question": QUESTION, "top_k": 20, "passages": True}))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert 200 in statuses and 503 in statuses, statuses
    busy = next(r for r in results if r.status_code == 503)
    assert busy.headers["Retry-After"] == "1" and "max_in_flight" in busy.json()["error"]["message"]
    assert set(statuses) == {200, 503}
    assert client.get("/health").status_code == 200  # not counted: health checks always answer


def test_headers_that_never_finish_lose_their_connection(guarded: str) -> None:
    port = int(guarded.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /v1/query HTTP/1.1\r\nHost: x\r\n")  # and no more
        started = time.monotonic()
        assert sock.recv(1024) == b"", "the server closes the connection"
        assert time.monotonic() - started < 5


def test_a_body_shorter_than_its_length_is_answered_408_and_dropped(guarded: str) -> None:
    port = int(guarded.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"question\": ")
        started = time.monotonic()
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert b"stopped arriving" in reply
        assert time.monotonic() - started < 5


@pytest.fixture(scope="module")
def strict(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A deadline nothing can meet, and three wrong keys a minute per address."""
    index = copy_index(sample_index, tmp_path_factory.mktemp("strict"))
    env = {"RAG_API_KEYS": KEY, "RAG_REQUEST_TIMEOUT_S": "0.001", "RAG_AUTH_FAILURES_PER_MINUTE": "3"}
    with rag_server(index, env=env) as base:
        yield base


def test_past_the_deadline_the_answer_is_503_with_retry_after(strict: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    late = httpx.post(strict + "/v1/query", json={"question": QUESTION}, headers=headers, timeout=60)
    message = error_of(late, 503)
    assert "request_timeout_s" in message and "stopped before" in message
    assert late.headers["Retry-After"] == "1" and late.json()["error"]["type"] == "timeout"
    # a question not asked before: its embedding (never cached) takes far longer than 1 ms, so the
    # check before answering is always past the deadline
    chat = httpx.post(strict + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "大额提现需要审核多久?"}]}, headers=headers, timeout=60)
    assert "request_timeout_s" in error_of(chat, 503)


def test_wrong_keys_are_slowed_down_with_429(strict: str) -> None:
    # Finding 4: 300 wrong keys in 0.3 s got 300 x 401 and no 429. (Run last against this server:
    # it blocks the test's address.)
    statuses = [httpx.get(strict + "/v1/documents", headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(6)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429, 429], statuses
    blocked = httpx.get(strict + "/v1/documents", headers={"Authorization": "Bearer guess-again"})
    assert int(blocked.headers["Retry-After"]) >= 1 and "wrong API key" in blocked.json()["error"]["message"]
    assert httpx.get(strict + "/health").status_code == 200  # the public endpoints still answer


def test_sigterm_lets_the_request_in_flight_finish(sample_index: Path, tmp_path: Path) -> None:
    index = copy_index(sample_index, tmp_path)
    with rag_server(index, env={"RAG_BODY_TIMEOUT_S": "5"}) as base:
        process = RUNNING[base]
        outcome: list[httpx.Response] = []

        def slow_body() -> Iterator[bytes]:
            yield b'{"question": "'
            process.send_signal(signal.SIGTERM)  # while the body is still arriving
            time.sleep(1.0)
            yield QUESTION.encode() + b'"}'

        def ask() -> None:
            outcome.append(httpx.post(base + "/v1/query", content=slow_body(), headers={"Content-Type": "application/json"}, timeout=30))

        thread = threading.Thread(target=ask)
        thread.start()
        thread.join(30)
        assert outcome and outcome[0].status_code == 200, outcome and outcome[0].text
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
        with pytest.raises(httpx.ConnectError):
            httpx.get(base + "/health", timeout=2)


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_hostile_uploads_are_refused_within_a_memory_budget_and_the_good_file_is_taken(client: httpx.Client, guarded: str, tmp_path: Path) -> None:
    # Findings 2 and 3: a DOCX bomb took the server to 2.4 GB; a PDF bomb answered 500 and lost the good files beside it.
    bombs = [pdf_bomb(tmp_path / "bomb.pdf"), docx_bomb(tmp_path / "image-bomb.docx"), docx_bomb(tmp_path / "xml-bomb.docx", member="word/document.xml")]
    assert client.post("/v1/query", json={"question": QUESTION}).status_code == 200  # warm: the idle peak includes a question
    pid = RUNNING[guarded].pid
    idle = peak_rss(pid)
    files = [("files", ("good.txt", "大额提现需要人工审核，一般在两个工作日内完成。".encode()))]
    files += [("files", (b.name, b.read_bytes())) for b in bombs]
    response = client.post("/v1/documents", files=files)
    assert response.status_code == 201, response.text
    body = response.json()
    assert [d["name"] for d in body["documents"]] == ["good.txt"]
    reasons = {s["name"]: s["reason"] for s in body["skipped"]}
    assert "decompression bomb" in reasons["bomb.pdf"]
    assert "zip bomb" in reasons["image-bomb.docx"] and "zip bomb" in reasons["xml-bomb.docx"]
    grown = peak_rss(pid) - idle
    assert grown < 300 * MB, f"the server's peak memory grew {grown / MB:.0f} MB"
    client.delete(f"/v1/documents/{body['documents'][0]['id']}")
