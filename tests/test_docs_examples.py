"""The examples in docs/ run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.model
@pytest.mark.e2e
def test_langchain_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, "docs/examples/langchain_app.py"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bitcoin-exchange-support-faq.zh.txt:")  # RagRetriever's Documents carry source and offsets
    assert "✓ 其次,客服还可以解答用户在交易过程中遇到的技术问题。  cites [1]" in result.stdout  # the chain checked the reply
