"""Start the real server (``rag serve``, uvicorn) in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import RAG_BIN

RUNNING: dict[str, subprocess.Popen[bytes]] = {}  # base URL -> the server process, while it runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def rag_server(index: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = (), ready: bool = True, timeout: float = 120) -> Iterator[str]:
    """``rag serve --index INDEX`` on 127.0.0.1; yields its base URL once /health answers (and,
    with ``ready``, once /ready says the index is loaded). Stopped with SIGTERM at the end."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    full_env.update(env or {})
    log = index.parent / f"server-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(RAG_BIN), "serve", "--index", str(index), "--port", str(port), "--log-level", "warning", *args],
            stdout=out, stderr=subprocess.STDOUT, env=full_env, stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"rag serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(base + ("/ready" if ready else "/health"), timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"rag serve did not start in {timeout} s:\n{log.read_text()}")
            time.sleep(0.2)
        RUNNING[base] = process
        yield base
    finally:
        RUNNING.pop(base, None)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
