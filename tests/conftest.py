"""Shared fixtures. Fakes here are for fast unit tests only; the real models, the real
FAISS index and the real ``rag`` command are exercised in the tests marked ``model``/``e2e``."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.domain import EmbedderInfo

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE = REPO / "rag" / "data" / "bitcoin-exchange-support-faq.zh.txt"
RAG_BIN = Path(sys.executable).parent / "rag"


class HashEmbedder:
    """Deterministic bag-of-tokens embedder (like langchain-core's DeterministicFakeEmbedding,
    but texts sharing words get similar vectors, so searches have right answers)."""

    def __init__(self, dim: int = 64, model: str = "hash-v1") -> None:
        self.dim = dim
        self.model = model
        self.calls: list[int] = []

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(backend="fake", model=self.model, dim=self.dim)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for token in re.findall(r"[\u4e00-\u9fff]|\w+", text.lower()):
            digest = hashlib.sha256(token.encode()).digest()
            vector[int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.stack([self._vector(t) for t in texts]) if texts else np.empty((0, self.dim), np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def run_rag(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real installed ``rag`` command."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    full_env.update(env or {})
    return subprocess.run(
        [str(RAG_BIN), *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL
    )


def shared_data(relative: str) -> Path:
    """A file of the shared evaluation data beside the clone (CI has it; a user's clone may not)."""
    path = SHARED / "data" / relative
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path
