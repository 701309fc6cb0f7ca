"""The bundled sample corpus: a Chinese FAQ on crypto-exchange customer support (rag/data/PROVENANCE)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["SAMPLE_CORPUS", "sample_corpus_path"]

SAMPLE_CORPUS = "bitcoin-exchange-support-faq.zh.txt"


def sample_corpus_path() -> Path:
    """The path of the bundled sample corpus file (what ``rag demo`` ingests)."""
    return Path(str(resources.files("rag") / "data" / SAMPLE_CORPUS))
