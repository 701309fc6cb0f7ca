"""A local GGUF model, run in this process by llama.cpp (``xllamacpp``, prebuilt wheels).

xllamacpp's ``Server`` loads the model in-process and answers the OpenAI chat protocol on a
loopback port; the generator then talks to it exactly as to any OpenAI-compatible server (one
code path for both backends). The port is chosen free, bound to 127.0.0.1 only, and the server
stops with :meth:`LocalGGUFServer.close` or when the object is collected.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

from rag.errors import GenerationError, MissingDependencyError

__all__ = ["LocalGGUFServer"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalGGUFServer:
    """A GGUF model served on ``http://127.0.0.1:<port>/v1`` from inside this process."""

    _lock = threading.Lock()

    def __init__(self, path: Path, *, context: int = 4096, threads: int | None = None, port: int | None = None) -> None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise GenerationError(f"gguf: no model file at {path}")
        try:
            import xllamacpp
        except ImportError as exc:
            raise MissingDependencyError("xllamacpp", "the gguf generator", install="pip install 'rag-cite[local]'") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context
        params.n_parallel = 1
        params.cpuparams.n_threads = threads or max(1, os.cpu_count() or 1)
        params.cpuparams_batch.n_threads = params.cpuparams.n_threads
        params.hostnames = ["127.0.0.1"]
        # A key only this process knows: other local users cannot borrow the loopback port.
        self.api_key = secrets.token_hex(16)
        params.api_keys = [self.api_key]
        params.verbosity = -1  # llama.cpp logs nothing but errors (it writes to our stderr)
        self.port = port or _free_port()
        params.port = self.port
        self.path = path
        try:
            with self._lock:
                self._server: Any = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp raises plain RuntimeErrors for unreadable models
            raise GenerationError(f"gguf: cannot load {path}: {exc}") from exc

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model_name(self) -> str:
        return str(self.path)

    def close(self) -> None:
        """Stop serving (xllamacpp stops the server when its object goes; idempotent)."""
        self._server = None

    def __enter__(self) -> LocalGGUFServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
