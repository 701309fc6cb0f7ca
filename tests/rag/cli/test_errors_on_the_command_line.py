"""Errors a user can cause are one line on stderr (``rag: error: ...``), without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_rag

# The real command, in a Python where `import xllamacpp` fails as it does without rag-cite[local].
WITHOUT_XLLAMACPP = "import sys; sys.modules['xllamacpp'] = None; from rag.cli import main; main(sys.argv[1:])"


@pytest.mark.e2e
def test_gguf_without_xllamacpp_names_the_install(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    (tmp_path / "ctx.txt").write_text("提现一般需要1个工作日到账。", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_XLLAMACPP, "check", "--context", str(tmp_path / "ctx.txt"), "--answer", "一个工作日。",
         "--judge", "llm", "--generator", "gguf", "--gguf", str(tmp_path / "m.gguf")],
        capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "rag: error: the gguf generator needs the 'xllamacpp' package: pip install 'rag-cite[local]'"


@pytest.mark.e2e
def test_an_llm_judge_without_a_model_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "ctx.txt").write_text("提现一般需要1个工作日到账。", encoding="utf-8")
    result = run_rag("check", "--context", str(tmp_path / "ctx.txt"), "--answer", "一个工作日。", "--judge", "llm", timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Usage: rag check [OPTIONS]")
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: --judge llm needs a language model: --generator openai (with --llm-base-url, --llm-model) or gguf (with --gguf)"
    )
