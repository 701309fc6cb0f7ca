"""schemathesis against /openapi.json of a real server that has an index: every operation gets
generated valid and invalid requests; no 5xx, every response matches the schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import copy_index
from tests.tools.server import rag_server

pytestmark = [pytest.mark.api, pytest.mark.model]

ST = Path(sys.executable).parent / "st"


@pytest.mark.parametrize("keys", [True, False], ids=["with-keys", "without-keys"])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(sample_index: Path, tmp_path: Path, keys: bool) -> None:
    index = copy_index(sample_index, tmp_path)
    # no limit on wrong keys: the run sends many on purpose (tests/api/test_hardening.py tests the limit)
    env = {"RAG_API_KEYS": "schema-key", "RAG_AUTH_FAILURES_PER_MINUTE": "0"} if keys else {}
    har = tmp_path / "run.har"
    with rag_server(index, env=env) as base:
        result = subprocess.run(
            [str(ST), "run", f"{base}/openapi.json", *(["-H", "Authorization: Bearer schema-key"] if keys else []),
             # Every check but positive_data_acceptance: some schema-valid requests are rightly refused
             # (a conversation whose last message is not the user's, a multipart body without a file).
             "--checks", "all", "--exclude-checks", "positive_data_acceptance",
             "--max-examples", "25", "--seed", "1", "--workers", "1", "--no-color",
             "--report", "har", "--report-har-path", str(har)],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,  # st keeps a cache in its working directory
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    statuses = [e["response"]["status"] for e in entries]
    assert len(statuses) > 200, len(statuses)  # it really exercised the API
    assert not [s for s in statuses if s >= 500], sorted(set(statuses))  # not even 503: this server has an index
    assert {200, 415, 422} <= set(statuses)
    if keys:
        assert 401 in statuses
