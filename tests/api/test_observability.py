"""What operators and browsers see of the real server: request ids, structured access logs,
/metrics, security headers on the page and the docs, and upload names without invisible tricks."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import copy_index
from tests.tools.server import rag_server

pytestmark = pytest.mark.api

KEY = "observed-key-0123456789"


@pytest.fixture(scope="module")
def observed(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("observed")
    index = copy_index(sample_index, root)
    with rag_server(index, env={"RAG_API_KEYS": KEY}, args=("--log-level", "info")) as base:
        yield base, root


def keyed(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)


def test_every_response_carries_a_request_id_that_the_access_log_records(observed: tuple[str, Path]) -> None:
    base, root = observed
    with keyed(base) as client:
        given = client.post("/v1/query", json={"question": "客服可以解答哪些问题?"}, headers={"X-Request-ID": "trace-42.a"})
        made = client.get("/v1/documents")
        hostile = client.get("/v1/models", headers={"X-Request-ID": "x" * 500})
    assert given.headers["x-request-id"] == "trace-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"]), "an overlong id is replaced, not echoed"
    assert httpx.get(base + "/health").headers["x-request-id"]
    log = next(root.glob("server-*.log")).read_text()
    lines = [json.loads(line.split(" rag.access: ", 1)[1]) for line in log.splitlines() if " rag.access: " in line]
    entry = next(e for e in lines if e["request_id"] == "trace-42.a")
    assert entry["route"] == "/v1/query" and entry["status"] == 200 and entry["ms"] > 0 and entry["client"] == "127.0.0.1"
    assert any("[trace-42.a]" in line for line in log.splitlines()), "the request id is in the log line's prefix"


def test_metrics_are_prometheus_text_behind_the_key(observed: tuple[str, Path]) -> None:
    base, _ = observed
    assert httpx.get(base + "/metrics").status_code == 401
    with keyed(base) as client:
        client.post("/v1/query", json={"question": "提现需要多长时间?"})
        text = client.get("/metrics").text
    assert re.search(r'rag_requests_total\{method="POST",route="/v1/query",status="200"\} [1-9]', text)
    assert 'rag_request_seconds_bucket{le="0.5",route="/v1/query"}' in text
    assert re.search(r"^rag_requests_in_flight 0\.0$", text, re.M)
    assert re.search(r"^rag_index_version [1-9]", text, re.M)
    assert "rag_requests_refused_total" in text and "rag_ingested_files_total" in text


def test_the_page_and_its_files_forbid_framing_sniffing_and_inline_script(observed: tuple[str, Path]) -> None:
    base, _ = observed
    for path in ("/", "/static/app.js", "/health"):
        response = httpx.get(base + path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp, path
    docs = httpx.get(base + "/docs")
    inline = re.search(r"<script>(.*?)</script>", docs.text, re.S)
    assert inline is not None
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in docs.headers["content-security-policy"], "the docs' one inline script, allowed by its hash"


def test_upload_names_lose_invisible_characters_and_never_replace_each_other(observed: tuple[str, Path]) -> None:
    base, _ = observed
    with keyed(base) as client:
        spoof = client.post("/v1/documents", files=[("files", ("invoice\u202etxt.exe.txt", io.BytesIO("提现需要一个工作日。".encode())))])
        assert spoof.status_code == 201, spoof.text
        assert spoof.json()["documents"][0]["name"] == "invoicetxt.exe.txt"
        twins = client.post("/v1/documents", files=[("files", ("a?b.txt", io.BytesIO(b"one"))), ("files", ("a*b.txt", io.BytesIO(b"two")))])
        assert twins.status_code == 409 and "both stored as 'a_b.txt'" in twins.json()["error"]["message"]
        client.delete(f"/v1/documents/{spoof.json()['documents'][0]['id']}")


def test_sources_are_shown_by_name_never_by_their_path_on_the_server(observed: tuple[str, Path]) -> None:
    # Finding 5: every response carried the server's absolute file paths.
    base, root = observed
    with keyed(base) as client:
        listed = client.get("/v1/documents").json()["documents"]
        answer = client.post("/v1/query", json={"question": "客服可以解答哪些问题?", "passages": True}).json()
        uploaded = client.post("/v1/documents", files=[("files", ("notes.md", io.BytesIO("客服全天在线。".encode())))]).json()
        chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "客服可以解答哪些问题?"}]}).json()
        shown = [d["source"] for d in listed] + [c["source"] for c in answer["citations"]] + [p["source"] for p in answer["passages"]]
        shown += [d["source"] for d in uploaded["documents"]] + [c["source"] for c in chat["citations"]] + [c["source"] for c in chat["rag"]["citations"]]
        assert shown and all(not s.startswith("/") and str(root) not in s for s in shown), shown
        assert uploaded["documents"][0]["source"] == "notes.md"
        by_name = client.post("/v1/query", json={"question": "客服什么时候在线?", "sources": ["notes.md"]}).json()
        assert {c["source"] for c in by_name["citations"]} == {"notes.md"}, "a shown name works as a filter"
        client.delete(f"/v1/documents/{uploaded['documents'][0]['id']}")
