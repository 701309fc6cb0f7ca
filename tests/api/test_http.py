"""The HTTP API over the real server (uvicorn in a subprocess), the real embedder and a real index."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import KEY, copy_index, uploads_of
from tests.tools.server import rag_server

pytestmark = [pytest.mark.api, pytest.mark.model]

ANSWERABLE = "客服可以解答哪些常见的技术问题?"
UNANSWERABLE = "今天比特币价格是多少?"


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == status and body["error"]["message"]
    return str(body["error"]["message"])


def test_health_ready_docs_and_page_need_no_key(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as anonymous:
        assert anonymous.get("/health").json() == {"status": "ok"}
        ready = anonymous.get("/ready").json()
        assert ready["status"] == "ready" and ready["sources"] == 1 and ready["chunks"] > 0
        assert "swagger" in anonymous.get("/docs").text.lower()
        schema = anonymous.get("/openapi.json").json()
        assert {"/v1/query", "/v1/documents", "/v1/chat/completions", "/v1/models"} <= set(schema["paths"])
        page = anonymous.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "/static/app.js" in page.text and "http" not in page.text.split("<body>")[1].replace("http-equiv", "")
        assert anonymous.get("/static/app.js").status_code == 200


def test_every_other_endpoint_needs_a_valid_key(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as anonymous:
        for method, path, body in [
            ("POST", "/v1/query", {"question": ANSWERABLE}),
            ("GET", "/v1/documents", None),
            ("GET", "/v1/models", None),
            ("POST", "/v1/chat/completions", {"model": "rag-cite", "messages": [{"role": "user", "content": "hi"}]}),
            ("DELETE", "/v1/documents/abc", None),
        ]:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
                response = anonymous.request(method, path, json=body, headers=headers)
                assert "API key" in error_of(response, 401), (method, path, headers)
                assert response.headers["www-authenticate"] == "Bearer"
        assert anonymous.get("/v1/models", headers={"Authorization": "Bearer other-key"}).status_code == 200
        # refused before the body is read: malformed or oversized bodies without a key are 401, not 400/413
        assert error_of(anonymous.post("/v1/query", content=b"{bad", headers={"Content-Type": "application/json"}), 401)
        big = iter([b"x" * (1 << 20)] * 8)
        assert error_of(anonymous.post("/v1/documents", content=big, headers={"Content-Type": "multipart/form-data; boundary=b"}), 401)
        for path in ("/v1/documents/", "/static/../v1/documents", "/v1/models?x=/health"):
            assert anonymous.get(path, follow_redirects=True).status_code in (401, 404), path
        assert anonymous.head("/health").status_code == 200 and anonymous.head("/").status_code == 200
        docs = anonymous.get("/docs").text
        assert "/static-docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        assert anonymous.get("/static-docs/swagger-ui-bundle.js").status_code == 200
        assert anonymous.get("/redoc").status_code == 401  # not offered (ReDoc loads a logo from its CDN): an unknown, keyed path


def test_query_answers_with_citations_that_resolve_to_the_stored_text(client: httpx.Client) -> None:
    response = client.post("/v1/query", json={"question": ANSWERABLE, "passages": True})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["abstained"] is False and answer["generator"] == "extractive" and answer["citations"]
    assert "技术问题" in answer["answer"] and answer["passages"][0]["rank"] == 1
    for citation in answer["citations"]:
        assert f"[{citation['marker']}]" in answer["answer"]
        text = client.get(f"/v1/documents/{citation['source_id']}/text").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["text"]


def test_query_explains_on_request(client: httpx.Client) -> None:
    plain = client.post("/v1/query", json={"question": ANSWERABLE}).json()
    assert "explanation" not in plain
    answered = client.post("/v1/query", json={"question": ANSWERABLE, "explain": True}).json()
    assert [line[:4] for line in answered["explanation"][:-1]] == [f"[{c['marker']}] " for c in answered["citations"]]
    assert answered["explanation"][-1].startswith("answered: ")
    refused = client.post("/v1/query", json={"question": UNANSWERABLE, "explain": True}).json()
    assert refused["abstained"] and refused["explanation"][0] == f"refused: {refused['reason']}"
    assert "explain" in error_of(client.post("/v1/query", json={"question": ANSWERABLE, "explain": "yes"}), 422)


def test_query_abstains_and_follows_up(client: httpx.Client) -> None:
    refused = client.post("/v1/query", json={"question": UNANSWERABLE}).json()
    assert refused["abstained"] is True and refused["citations"] == [] and refused["reason"]
    follow = client.post(
        "/v1/query",
        json={"question": "那提现呢?", "history": [{"role": "user", "content": "充值需要多长时间?"}, {"role": "assistant", "content": "..."}]},
    ).json()
    assert follow["standalone_question"] != "那提现呢?" and "提现" in follow["standalone_question"]


def test_bad_queries_get_clear_4xx_errors(client: httpx.Client) -> None:
    assert "empty" in error_of(client.post("/v1/query", json={"question": "   "}), 422)
    assert "2000 characters (setting max_question_chars)" in error_of(client.post("/v1/query", json={"question": "比" * 100_000}), 422)
    assert "limit of 20 (setting max_top_k)" in error_of(client.post("/v1/query", json={"question": ANSWERABLE, "top_k": 99}), 422)
    assert "top_k" in error_of(client.post("/v1/query", json={"question": ANSWERABLE, "top_k": 0}), 422)
    assert "question" in error_of(client.post("/v1/query", json={}), 422)
    assert "extra" in error_of(client.post("/v1/query", json={"question": "x", "bogus": 1}), 422).lower()
    assert "not valid JSON" in error_of(client.post("/v1/query", content=b'{"question": ', headers={"Content-Type": "application/json"}), 400)
    assert error_of(client.post("/v1/query", content=b"\xff\xfe", headers={"Content-Type": "application/json"}), 400)
    surrogate = client.post("/v1/query", content=b'{"question": "a\\ud800b"}', headers={"Content-Type": "application/json"})
    assert "unicode" in error_of(surrogate, 422).lower()
    assert "no such endpoint" in error_of(client.get("/v1/nothing"), 404)
    assert error_of(client.put("/v1/query", json={}), 405)
    assert "no document" in error_of(client.get("/v1/documents/nope/text"), 404)
    assert "no document" in error_of(client.delete("/v1/documents/nope"), 404)
    too_big = client.post("/v1/query", content=b"x" * (4 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert "max_request_mb" in error_of(too_big, 413)


def upload(client: httpx.Client, *files: tuple[str, bytes]) -> httpx.Response:
    return client.post("/v1/documents", files=[("files", (name, io.BytesIO(data))) for name, data in files])


def test_upload_list_read_update_and_delete(client: httpx.Client) -> None:
    text = "The refund desk answers within 48 hours. 退款服务台在四十八小时内答复。\n"
    added = upload(client, ("refunds.md", text.encode()))
    assert added.status_code == 201, added.text
    doc = added.json()["documents"][0]
    assert doc["name"] == "refunds.md" and doc["status"] == "added" and doc["chunks"] >= 1
    listed = {d["id"]: d for d in client.get("/v1/documents").json()["documents"]}
    assert doc["id"] in listed and len(listed) == 2
    assert client.get(f"/v1/documents/{doc['id']}/text").json()["text"].strip() == text.strip()
    answer = client.post("/v1/query", json={"question": "How fast does the refund desk answer?"}).json()
    assert not answer["abstained"] and any(c["source_id"] == doc["id"] for c in answer["citations"])

    only = client.post("/v1/query", json={"question": "退款服务台多久答复?", "sources": [doc["id"]]}).json()
    assert only["citations"] and {c["source_id"] for c in only["citations"]} == {doc["id"]}
    elsewhere = client.post("/v1/query", json={"question": "退款服务台多久答复?", "sources": ["no-such-source"]}).json()
    assert elsewhere["abstained"] and elsewhere["citations"] == []

    assert upload(client, ("refunds.md", text.encode())).json()["documents"][0]["status"] == "unchanged"
    updated = upload(client, ("refunds.md", (text + "Refunds go back to the card used.\n").encode())).json()
    assert updated["documents"][0]["status"] == "updated" and updated["documents"][0]["id"] == doc["id"]

    stored = uploads_of(client) / doc["source"]
    assert doc["source"] == "refunds.md"  # its upload name, not its path on the server
    on_disk = stored.read_bytes()
    assert "empty" in error_of(upload(client, ("refunds.md", b"")), 422)  # a bad new version changes nothing
    assert stored.read_bytes() == on_disk
    assert "card used" in client.get(f"/v1/documents/{doc['id']}/text").json()["text"]

    deleted = client.delete(f"/v1/documents/{doc['id']}")
    assert deleted.status_code == 200 and deleted.json()["chunks_removed"] >= 1
    assert doc["id"] not in {d["id"] for d in client.get("/v1/documents").json()["documents"]}
    assert not stored.exists()  # the uploaded file is gone too
    after = client.post("/v1/query", json={"question": "How fast does the refund desk answer?"}).json()
    assert all(c["source_id"] != doc["id"] for c in after["citations"])


def test_bad_uploads_are_refused_and_change_nothing(client: httpx.Client) -> None:
    before = client.get("/v1/documents").json()
    assert ".pdf" in error_of(upload(client, ("tool.exe", b"MZ\x90\x00")), 415)
    assert "max_file_mb" in error_of(upload(client, ("big.txt", b"a " * 600_000)), 413)
    assert "max_request_mb" in error_of(upload(client, *[(f"part{i}.txt", b"b " * 400_000) for i in range(5)]), 413)
    assert "empty" in error_of(upload(client, ("empty.txt", b"")), 422)
    assert "pdf" in error_of(upload(client, ("broken.pdf", b"%PDF-1.7\nnot really a pdf")), 422).lower()
    assert error_of(upload(client, ("binary.txt", bytes(range(256)) * 50)), 422)
    assert "name" in error_of(upload(client, ("..", b"hello")), 400)
    assert "are both stored as 'a.txt'" in error_of(upload(client, ("a.txt", b"one"), ("a.txt", b"two")), 409)
    assert error_of(client.post("/v1/documents", data={"x": "1"}), 422)
    assert error_of(client.post("/v1/documents", json={"files": []}), 422)
    assert client.get("/v1/documents").json() == before


def test_another_name_reduced_onto_an_earlier_upload_is_a_409(client: httpx.Client) -> None:
    first = upload(client, ("twin.txt", "第一份文件。The first file.".encode()))
    assert first.status_code == 201
    clash = upload(client, ("folder/twin.txt", "另一份同名文件。Another file of that name.".encode()))
    assert "an earlier upload of another name" in error_of(clash, 409)
    assert (uploads_of(client) / "twin.txt").read_text(encoding="utf-8") == "第一份文件。The first file."
    again = upload(client, ("twin.txt", "第一份文件的新版本。A new version.".encode()))  # the same name: a replacement, said so
    assert again.status_code == 201 and again.json()["documents"][0]["status"] == "updated"
    assert client.delete(f"/v1/documents/{again.json()['documents'][0]['id']}").status_code == 200


def test_upload_names_never_escape_the_upload_folder(client: httpx.Client) -> None:
    response = upload(client, ("../../../../tmp/escape.txt", "越狱的文件名。A file name that tries to escape.".encode()),
                      ("..\\..\\win.txt", b"Backslashes are not separators here."))
    assert response.status_code == 201, response.text
    docs = response.json()["documents"]
    assert {d["name"] for d in docs} == {"escape.txt", "win.txt"}
    uploads = uploads_of(client)
    assert all(d["source"] == d["name"] and (uploads / d["name"]).is_file() for d in docs)
    assert sorted(p.name for p in uploads.iterdir() if p.name in ("escape.txt", "win.txt")) == ["escape.txt", "win.txt"]
    for d in docs:
        client.delete(f"/v1/documents/{d['id']}")


def test_long_chinese_file_names_are_shortened_to_fit_the_file_system(client: httpx.Client) -> None:
    response = upload(client, ("文" * 100 + ".txt", "一个名字很长的文件。".encode()))
    assert response.status_code == 201, response.text
    doc = response.json()["documents"][0]
    assert doc["name"].endswith("文.txt") and len(doc["name"].encode()) <= 200
    client.delete(f"/v1/documents/{doc['id']}")


def test_a_mixed_upload_ingests_the_good_files_and_reports_the_bad(client: httpx.Client) -> None:
    response = upload(client, ("good.txt", "提现通常在一个工作日内到账。".encode()), ("bad.pdf", b"%PDF-garbage"))
    assert response.status_code == 201
    body = response.json()
    assert [d["name"] for d in body["documents"]] == ["good.txt"] and body["skipped"][0]["name"] == "bad.pdf"
    client.delete(f"/v1/documents/{body['documents'][0]['id']}")


def test_queries_keep_working_while_documents_are_ingested(client: httpx.Client, server: str) -> None:
    """Queries during ingestion see the last committed version: never an error, never half a version."""
    results: list[tuple[int, int]] = []
    stop = threading.Event()

    def ask() -> None:
        with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as c:
            while not stop.is_set():
                r = c.post("/v1/query", json={"question": ANSWERABLE})
                results.append((r.status_code, len(r.json().get("citations", []))))
                stop.wait(0.2)  # 3 askers at <= 15 requests/s together: under the per-key rate limit (1200/min)

    askers = [threading.Thread(target=ask) for _ in range(3)]
    for t in askers:
        t.start()
    try:
        ids = []
        for i in range(3):
            text = "\n".join(f"第{i}号公告的第{j}条:平台维护期间暂停充值和提现服务。" for j in range(40))
            r = upload(client, (f"notice-{i}.txt", text.encode()))
            assert r.status_code == 201, r.text
            ids.append(r.json()["documents"][0]["id"])
        versions = client.get("/ready").json()["index_version"]
    finally:
        stop.set()
        for t in askers:
            t.join()
    assert len(results) >= 3 and all(status == 200 and n > 0 for status, n in results), [r for r in results if r[0] != 200 or r[1] == 0][:5]
    assert len(client.get("/v1/documents").json()["documents"]) == 4 and versions
    for doc_id in ids:
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 200


def test_without_an_index_the_server_is_live_not_ready_and_an_upload_creates_it(tmp_path: Path) -> None:
    with rag_server(tmp_path / "new-index", ready=False) as base, httpx.Client(base_url=base, timeout=120) as c:
        assert c.get("/health").status_code == 200
        assert "no index yet" in error_of(c.get("/ready"), 503)
        assert "no index yet" in error_of(c.post("/v1/query", json={"question": ANSWERABLE}), 503)
        chat = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": ANSWERABLE}]})
        assert error_of(chat, 503)
        assert c.get("/v1/documents").json() == {"documents": [], "index_version": None}
        r = upload(c, ("faq.txt", "客服可以协助用户完成账户注册和身份验证。".encode()))
        assert r.status_code == 201, r.text
        assert c.get("/ready").json()["sources"] == 1
        answer = c.post("/v1/query", json={"question": "客服可以协助完成什么?"}).json()
        assert not answer["abstained"] and answer["citations"][0]["text"].startswith("客服可以协助")
        assert (tmp_path / "new-index-uploads" / "faq.txt").exists()
        assert sorted(p.name for p in tmp_path.iterdir() if "new-index" in p.name) == ["new-index", "new-index-uploads"]  # no staging left


def test_the_server_picks_up_a_version_committed_by_another_process(sample_index: Path, tmp_path: Path) -> None:
    from tests.conftest import run_rag

    index = copy_index(sample_index, tmp_path)
    extra = tmp_path / "extra.txt"
    extra.write_text("Night shifts at the exchange end at six in the morning.\n", encoding="utf-8")
    with rag_server(index) as base, httpx.Client(base_url=base, timeout=120) as c:
        before = c.get("/ready").json()
        assert run_rag("ingest", str(extra), "--index", str(index)).returncode == 0
        after = c.get("/ready").json()
        assert after["index_version"] != before["index_version"] and after["sources"] == before["sources"] + 1
        answer = c.post("/v1/query", json={"question": "When do night shifts end?"}).json()
        assert any(c_["source"].endswith("extra.txt") and not c_["source"].startswith("/") for c_ in answer["citations"])


def test_openapi_documents_error_bodies_and_limits(server: str) -> None:
    schema = httpx.get(server + "/openapi.json").json()
    query = schema["paths"]["/v1/query"]["post"]
    assert {"200", "401", "422", "503"} <= set(query["responses"])
    assert query["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert json.dumps(schema).count("max_top_k") >= 1


def test_serve_refuses_a_bad_setup_in_one_line_before_listening(sample_index: Path) -> None:
    from tests.conftest import run_rag

    mismatch = run_rag("--embedder", "sentence-transformers", "--embedder-model", "all-MiniLM-L6-v2", "serve", "--index", str(sample_index), timeout=120)
    assert mismatch.returncode == 1 and "Traceback" not in mismatch.stderr
    assert mismatch.stderr.strip().splitlines()[-1].startswith("rag: error: index") and "embedder" in mismatch.stderr
    missing_model = run_rag("serve", "--index", str(sample_index), "--generator", "gguf", "--gguf", "/nonexistent.gguf", timeout=120)
    assert missing_model.returncode == 1 and "rag: error: gguf: no model file" in missing_model.stderr
    no_index_yet = run_rag("serve", "--index", str(sample_index.parent / "not-yet"), "--generator", "gguf", "--gguf", "/nonexistent.gguf", timeout=120)
    assert no_index_yet.returncode == 1 and "rag: error: gguf: no model file" in no_index_yet.stderr  # also before the first upload
    bad_setting = run_rag("serve", "--index", str(sample_index), env={"RAG_MAX_TOP_K": "0"}, timeout=60)
    assert bad_setting.returncode == 1 and "max_top_k" in bad_setting.stderr and "Traceback" not in bad_setting.stderr


def test_a_writer_in_another_process_is_a_409_and_chunked_bodies_are_bounded(client: httpx.Client) -> None:
    import fcntl
    import os

    ready = upload(client, ("probe.txt", "探针文件。A probe file.".encode()))
    assert ready.status_code == 201
    doc = ready.json()["documents"][0]
    uploads = uploads_of(client)
    index = uploads.parent / uploads.name.removesuffix("-uploads")
    fd = os.open(index / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as 'rag ingest' in another process holds it
        before = (uploads / doc["source"]).read_bytes()
        refused = upload(client, ("probe.txt", "新的内容。New content.".encode()), ("later.txt", b"Later."))
        assert "another process is writing" in error_of(refused, 409)
        assert int(refused.headers["Retry-After"]) >= 1 and "--wait" not in refused.text  # uploads never wait, even with writer_wait_s set
        # the upload folder is as it was: still what the index holds, nothing half-uploaded
        assert (uploads / doc["source"]).read_bytes() == before and not (uploads / "later.txt").exists()
        assert "another process" in error_of(client.delete(f"/v1/documents/{doc['id']}"), 409)
        assert client.post("/v1/query", json={"question": ANSWERABLE}).status_code == 200  # readers never wait
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 200

    def chunked() -> Iterator[bytes]:  # no Content-Length: the server counts
        for _ in range(64):
            yield b" " * (64 * 1024)

    response = client.post("/v1/query", content=chunked(), headers={"Content-Type": "application/json"})
    assert "max_request_mb" in error_of(response, 413)


def test_serve_on_a_port_in_use_is_one_line(server: str, sample_index: Path) -> None:
    from tests.conftest import run_rag

    port = server.rsplit(":", 1)[1]
    busy = run_rag("serve", "--index", str(sample_index), "--port", port, timeout=60)
    assert busy.returncode == 1 and busy.stderr.strip() == f"rag: error: cannot listen on 127.0.0.1:{port}: Address already in use (choose another --host or --port)"
