"""LLM answers end to end: the real small GGUF model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M, see
tests/tools/gguf_model.py) served on loopback by xllamacpp, reached through the OpenAI protocol
by LangChain's ChatOpenAI inside the real ``rag`` command. Assertions are on structure, on
citations resolving to real passages and on the checker's verdicts, never on the small model's
wording. Failures (server down, timeout, HTTP 500, a malformed stream) use tiny local servers."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.local_llm import LocalGGUFServer
from tests.conftest import SAMPLE, run_rag
from tests.tools.gguf_model import fetch_test_model

pytestmark = [pytest.mark.llm, pytest.mark.e2e, pytest.mark.model]


@pytest.fixture(scope="module")
def gguf() -> Path:
    return fetch_test_model()


@pytest.fixture(scope="module")
def server(gguf: Path) -> Iterator[LocalGGUFServer]:
    with LocalGGUFServer(gguf, context=4096, threads=2) as served:
        yield served


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("llm")
    (root / "docs").mkdir()
    (root / "docs" / "faq.txt").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_rag("ingest", str(root / "docs"), "--index", str(root / "idx"), "--json")
    assert result.returncode == 0, result.stderr
    return root / "idx"


# Short replies keep these tests quick on 2 cores; the checks do not depend on length.
QUICK = {"RAG_LLM_MAX_TOKENS": "160"}


def _ask(index: Path, question: str, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = run_rag("ask", question, "--index", str(index), "--json", *args, env={**QUICK, **(env or {})}, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _check_structure(answer: dict[str, object]) -> None:
    assert isinstance(answer["generator"], str) and answer["generator"].startswith("llm:")
    for c in answer["citations"]:  # type: ignore[attr-defined]
        stored = SAMPLE.read_text(encoding="utf-8")
        assert stored[c["start"] : c["end"]] == c["text"], "a citation must be the stored text of a real passage"
    if answer["abstained"]:
        assert answer["citations"] == [] and answer["reason"]
        return
    sentences = answer["sentences"]
    assert sentences and any(s["supported"] for s in sentences)  # type: ignore[union-attr]
    markers = {c["marker"] for c in answer["citations"]}  # type: ignore[attr-defined]
    for s in sentences:  # type: ignore[union-attr]
        assert isinstance(s["supported"], bool) and 0.0 <= s["support"] <= 1.0 and s["reason"]
        assert set(s["citations"]) <= markers


def test_openai_backend_answers_with_checked_citations(index: Path, server: LocalGGUFServer) -> None:
    env = {"RAG_LLM_API_KEY": server.api_key}
    answer = _ask(index, "比特币交易客服能提供哪些服务?", "--generator", "openai", "--llm-base-url", server.base_url, "--llm-model", "qwen", env=env)
    _check_structure(answer)
    assert answer["generator"] == f"llm:openai qwen at {server.base_url}"
    assert not answer["abstained"], answer  # the answer is in the corpus, in the passage it cites
    # the small model copies or rewords the FAQ's list of services; at least one sentence is verified
    assert any(s["supported"] for s in answer["sentences"])  # type: ignore[union-attr]


def test_the_answer_path_checks_with_the_nli_judge_when_set(index: Path, server: LocalGGUFServer, tmp_path: Path) -> None:
    from tests.tools.tiny_nli import tiny_nli

    model = tiny_nli(tmp_path / "refuses", labels={0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}, favour=0)
    env = {"RAG_LLM_API_KEY": server.api_key, "RAG_JUDGE": "nli", "RAG_JUDGE_MODEL": str(model)}
    answer = _ask(index, "比特币交易客服能提供哪些服务?", "--generator", "openai", "--llm-base-url", server.base_url, "--llm-model", "qwen", env=env)
    # a judge that refuses everything: every sentence checked by it, none supported, so the answer abstains
    assert answer["abstained"], answer
    sentences = answer.get("sentences") or []
    assert sentences and all(not s["supported"] and "nli refuses" in s["reason"] for s in sentences)  # type: ignore[union-attr]


def test_unsupported_sentences_never_reach_the_reader_with_drop(index: Path, server: LocalGGUFServer) -> None:
    env = {"RAG_LLM_API_KEY": server.api_key}
    answer = _ask(index, "比特币的总量上限是多少?", "--generator", "openai", "--llm-base-url", server.base_url, "--llm-model", "qwen",
                  "--unsupported", "drop", env=env)
    _check_structure(answer)
    assert all(s["supported"] for s in answer.get("sentences", []))  # type: ignore[union-attr]


def test_gguf_backend_in_process_and_streaming(index: Path, gguf: Path) -> None:
    result = run_rag("ask", "比特币交易客服能提供哪些服务?", "--index", str(index), "--generator", "gguf", "--gguf", str(gguf), "--stream", env=QUICK, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Sources:" in result.stdout or "文档中没有找到" in result.stdout
    assert result.stderr.strip() == "" or "note:" in result.stderr  # llama.cpp's own log stays quiet


# -- failures: a clear error naming the backend, --fallback extractive answers anyway, nothing hangs --


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "500":
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "model crashed"}}')
        elif self.mode == "garbage":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"this is not json")
        elif self.mode == "garbage-stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"choices": [{"delta": {"content": "Withdrawals take"}}]}\n\ndata: {broken\n\n')
        else:  # hang: accept and answer nothing until the test is over
            self.server.stop.wait(30)  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"mode": request.param})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.stop = threading.Event()  # type: ignore[attr-defined]
    httpd.daemon_threads = False  # server_close() joins the request threads: no socket left open
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.stop.set()  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


def _fails(index: Path, base_url: str, *extra: str) -> str:
    result = run_rag("ask", "提现需要多久?", "--index", str(index), "--generator", "openai", "--llm-base-url", base_url,
                     "--llm-model", "m", *extra, env={"RAG_LLM_RETRIES": "0", "RAG_LLM_TIMEOUT": "3"}, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith("rag: error: the language model openai m at " + base_url)
    return line


def test_server_down(index: Path) -> None:
    assert "cannot be reached" in _fails(index, f"http://127.0.0.1:{_free_port()}/v1")


@pytest.mark.parametrize("fake_server", ["500"], indirect=True)
def test_http_500(index: Path, fake_server: str) -> None:
    assert "HTTP 500" in _fails(index, fake_server)


@pytest.mark.parametrize("fake_server", ["hang"], indirect=True)
def test_timeout_does_not_hang(index: Path, fake_server: str) -> None:
    assert "timed out" in _fails(index, fake_server)


@pytest.mark.parametrize("fake_server", ["garbage"], indirect=True)
def test_malformed_reply(index: Path, fake_server: str) -> None:
    assert "failed" in _fails(index, fake_server) or "HTTP" in _fails(index, fake_server)


@pytest.mark.parametrize("fake_server", ["garbage-stream"], indirect=True)
def test_malformed_stream(index: Path, fake_server: str) -> None:
    result = run_rag("ask", "提现需要多久?", "--index", str(index), "--generator", "openai", "--llm-base-url", fake_server,
                     "--llm-model", "m", "--stream", env={"RAG_LLM_RETRIES": "0", "RAG_LLM_TIMEOUT": "3"}, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().startswith("rag: error: the language model openai m at " + fake_server)
    assert "Withdrawals take" not in result.stdout  # nothing unchecked was shown before the failure


def test_fallback_extractive_answers_anyway(index: Path) -> None:
    result = run_rag("ask", "比特币交易客服能提供哪些服务?", "--index", str(index), "--generator", "openai", "--llm-base-url",
                     f"http://127.0.0.1:{_free_port()}/v1", "--llm-model", "m", "--fallback", "extractive", "--json",
                     env={"RAG_LLM_RETRIES": "0"}, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["generator"] == "extractive" and not answer["abstained"] and answer["citations"]
    assert "cannot be reached" in answer["notes"][0] and "answered by extractive instead" in answer["notes"][0]


def test_rag_check_with_the_llm_judge(server: LocalGGUFServer, tmp_path: Path) -> None:
    # The small model's verdict is not asserted (either is possible); that the command reports it
    # consistently is: the exit status (0 all supported, 3 not), the score and the reason agree with it.
    context = tmp_path / "faq.txt"
    context.write_text(SAMPLE.read_text(encoding="utf-8")[:600], encoding="utf-8")
    answer = "比特币交易客服是专门为加密货币交易提供支持和服务的客服团队。"
    result = run_rag("check", "--context", str(context), "--answer", answer, "--json",
                     "--judge", "llm", "--generator", "openai", "--llm-base-url", server.base_url, "--llm-model", "qwen",
                     env={**QUICK, "RAG_LLM_API_KEY": server.api_key}, timeout=300)
    assert result.returncode in (0, 3), result.stdout + result.stderr  # not a crash (1) or a usage error (2)
    data = json.loads(result.stdout)
    assert set(data) == {"faithfulness", "reason", "judge", "statements", "skipped"}
    assert data["judge"] == f"llm:openai qwen at {server.base_url}"
    assert data["reason"] is None  # a score was computed (it is n/a only for no statements or an abstention)
    (statement,) = data["statements"]
    assert set(statement) == {"text", "citations", "supported", "score", "reason", "supported_by_citations"}
    assert statement["text"] == answer
    assert statement["citations"] == [] and statement["supported_by_citations"] is None  # no [n] markers: nothing cited
    supported = statement["supported"]
    assert isinstance(supported, bool)
    assert statement["score"] == (1.0 if supported else 0.0)
    assert data["faithfulness"] == statement["score"]  # one statement: its score is the answer's
    assert result.returncode == (0 if supported else 3), (result.returncode, statement)
    reason = statement["reason"]
    if reason.startswith("the judge gave no verdict: "):
        assert supported is False  # a reply with neither word counts as not supported
    else:
        verdict = "supported" if supported else "not supported"
        assert reason.startswith(f"{verdict} (judge openai qwen at {server.base_url})"), reason
