"""Keys scoped to collections, through the real server: two collections answer the same question
differently, and nothing of one reaches the key of the other, on any endpoint, streaming included;
writes outside a key's scope are 403 and change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_rag
from tests.tools.server import rag_server

pytestmark = [pytest.mark.api, pytest.mark.model, pytest.mark.e2e]

HR_TEXT = "年假规定：员工每年有十五天带薪年假。请假需要提前三天申请。"
ENG_TEXT = "年假规定：员工每年有二十天带薪年假。请假需要提前一周申请。"
QUESTION = "员工每年有多少天带薪年假？"
KEYS = {"hr-key-0123456789": {"read": ["hr"], "write": ["hr"]}, "eng-key-0123456789": {"read": ["eng"], "write": []},
        "admin-key-0123456789": {"read": ["*"], "write": ["*"]}}
HR, ENG, ADMIN = (f"Bearer {k}" for k in KEYS)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("scopes")
    for collection, text in (("hr", HR_TEXT), ("eng", ENG_TEXT)):
        folder = root / collection
        folder.mkdir()
        (folder / "leave.txt").write_text(text, encoding="utf-8")
        (folder / f"{collection}-only.txt").write_text(f"{collection} 部门的内部说明：只给本部门看。", encoding="utf-8")
        result = run_rag("ingest", str(folder), "--index", str(root / "index"), "--collection", collection)
        assert result.returncode == 0, result.stderr
    env = {"RAG_API_KEYS": json.dumps(KEYS), "RAG_AUTH_FAILURES_PER_MINUTE": "0"}
    with rag_server(root / "index", env=env) as base:
        yield base


def call(base: str, key: str, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, base + path, headers={"Authorization": key}, timeout=120, **kwargs)  # type: ignore[arg-type]


def documents(base: str, key: str) -> list[dict[str, object]]:
    response = call(base, key, "GET", "/v1/documents")
    assert response.status_code == 200, response.text
    return response.json()["documents"]  # type: ignore[no-any-return]


def test_each_key_is_answered_from_its_own_collection(served: str) -> None:
    for key, mine, other in ((HR, "十五天", "二十天"), (ENG, "二十天", "十五天")):
        body = call(served, key, "POST", "/v1/query", json={"question": QUESTION, "passages": True, "explain": True}).json()
        dumped = json.dumps(body, ensure_ascii=False)
        assert mine in body["answer"] and body["citations"], body
        assert other not in dumped and ("eng-only" if key == HR else "hr-only") not in dumped
        assert all(p["source"] in {"leave.txt", ("hr" if key == HR else "eng") + "-only.txt"} for p in body["passages"])
    # a key's own filter narrows within its scope, never past it
    narrowed = call(served, HR, "POST", "/v1/query", json={"question": QUESTION, "collections": ["eng"]}).json()
    assert not narrowed["citations"] and "二十天" not in json.dumps(narrowed, ensure_ascii=False)
    both = call(served, ADMIN, "POST", "/v1/query", json={"question": QUESTION, "collections": ["eng"]}).json()
    assert "二十天" in both["answer"]
    assert call(served, HR, "POST", "/v1/query", json={"question": QUESTION, "collections": ["no such/name"]}).status_code == 422


def test_chat_completions_streamed_or_not_stay_in_scope(served: str) -> None:
    request = {"model": "rag-cite", "messages": [{"role": "user", "content": QUESTION}]}
    for key, mine, other in ((HR, "十五天", "二十天"), (ENG, "二十天", "十五天")):
        plain = call(served, key, "POST", "/v1/chat/completions", json=request)
        text = plain.text
        assert plain.status_code == 200 and mine in text and other not in text
        with httpx.stream("POST", served + "/v1/chat/completions", json=request | {"stream": True}, headers={"Authorization": key}, timeout=120) as r:
            streamed = "".join(r.iter_text())
        events = [json.loads(line[6:]) for line in streamed.splitlines() if line.startswith("data: {")]
        content = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices"))
        assert mine in content and other not in streamed and ("eng-only" if key == HR else "hr-only") not in streamed


def test_listings_text_and_counts_are_scoped(served: str) -> None:
    hr, eng, every = documents(served, HR), documents(served, ENG), documents(served, ADMIN)
    assert {d["collection"] for d in hr} == {"hr"} and {d["collection"] for d in eng} == {"eng"} and len(every) == 4
    assert {d["name"] for d in hr} == {"leave.txt", "hr-only.txt"}
    other = next(d for d in eng if d["name"] == "leave.txt")
    assert call(served, HR, "GET", f"/v1/documents/{other['id']}/text").status_code == 404  # not 403: it is not there for this key
    own = call(served, ENG, "GET", f"/v1/documents/{other['id']}/text").json()
    assert own["text"] == ENG_TEXT
    assert call(served, HR, "GET", "/metrics").status_code == 403 and call(served, ADMIN, "GET", "/metrics").status_code == 200
    ready = httpx.get(served + "/ready", timeout=30).json()
    assert "sources" not in ready and "chunks" not in ready  # no key needed here: no counts of anyone's documents


def test_writes_outside_a_scope_are_refused_and_change_nothing(served: str, tmp_path: Path) -> None:
    before = documents(served, ADMIN)
    eng_doc = next(d for d in documents(served, ENG) if d["name"] == "leave.txt")
    assert call(served, ENG, "DELETE", f"/v1/documents/{eng_doc['id']}").status_code == 403  # may read eng, not change it
    assert call(served, HR, "DELETE", f"/v1/documents/{eng_doc['id']}").status_code == 404  # cannot even see it
    files = {"files": ("new.txt", "新的规定：周五下午可以远程办公。".encode(), "text/plain")}
    assert call(served, ENG, "POST", "/v1/documents", files=files, data={"collection": "eng"}).status_code == 403
    assert call(served, HR, "POST", "/v1/documents", files=files, data={"collection": "eng"}).status_code == 403
    assert call(served, HR, "POST", "/v1/documents", files=files, data={"collection": "bad name"}).status_code == 422
    assert documents(served, ADMIN) == before
    created = call(served, HR, "POST", "/v1/documents", files=files, data={"collection": "hr"})
    assert created.status_code == 201, created.text
    assert "new.txt" in {d["name"] for d in documents(served, HR)} and "new.txt" not in {d["name"] for d in documents(served, ENG)}
    # the same name uploaded into another collection is another document, in a folder of its own
    other = call(served, ADMIN, "POST", "/v1/documents", files=files, data={"collection": "eng"})
    assert other.status_code == 201 and {d["name"] for d in documents(served, ENG)} >= {"new.txt"}
    hr_new = next(d for d in documents(served, HR) if d["name"] == "new.txt")
    assert call(served, HR, "DELETE", f"/v1/documents/{hr_new['id']}").status_code == 200
    assert "new.txt" in {d["name"] for d in documents(served, ENG)}  # the other collection's copy stays
