"""A real server over a real index of the bundled sample corpus, shared by the API tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAMPLE, run_rag
from tests.tools.server import RUNNING, rag_server

KEY = "test-key-0123456789"


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the sample corpus, built once by the real ``rag ingest``; tests copy it."""
    root = tmp_path_factory.mktemp("api-index")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    result = run_rag("ingest", str(corpus), "--index", str(root / "index"))
    assert result.returncode == 0, result.stderr
    return root / "index"


def copy_index(sample_index: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    target = into / "index"
    shutil.copytree(sample_index, target)
    return target


@pytest.fixture(scope="session")
def server(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server most API tests talk to: API keys on, uploads limited to 1 MB per file and 3 MB per request."""
    index = copy_index(sample_index, tmp_path_factory.mktemp("served"))
    env = {"RAG_API_KEYS": f"other-key,{KEY}", "RAG_MAX_FILE_MB": "1", "RAG_MAX_REQUEST_MB": "3", "RAG_MAX_QUESTION_CHARS": "2000",
           "RAG_AUTH_FAILURES_PER_MINUTE": "0"}  # these tests send wrong keys on purpose; test_hardening.py tests that limit
    with rag_server(index, env=env) as base:
        yield base


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as c:
        yield c


def uploads_of(client: httpx.Client) -> Path:
    """The upload folder of the server ``client`` talks to (the API shows upload names, not paths)."""
    args = [str(a) for a in RUNNING[str(client.base_url).rstrip("/")].args]  # type: ignore[union-attr]
    index = Path(args[args.index("--index") + 1])
    return index.parent / f"{index.name}-uploads"
