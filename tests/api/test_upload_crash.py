"""Uploads and deletes that survive a crash: a real ``rag serve`` is killed (SIGKILL) at file-system
steps of a multi-file upload (one file replacing an earlier upload, two new) and of a delete, and
at wall-clock moments during the upload. After each kill a restarted server recovers: the upload
folder holds exactly the files the committed index holds, byte for byte (same content hash), no
staging folder is left, and the upload then completes when repeated.

Steps are counted by tests/tools/killable_rag.py (every rename, replace, fsync, mkdir, unlink,
rmdir, ...): a run without a kill records them, and kill points are spread over the steps after
the server was ready.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rag.store import IndexStore
from tests.conftest import SAMPLE
from tests.tools.server import free_port

pytestmark = pytest.mark.e2e

KILLABLE = Path(__file__).parents[1] / "tools" / "killable_rag.py"
FIRST = ("refunds.md", "退款在三个工作日内到账。Refunds arrive within three working days.\n".encode())
UPLOAD = [
    ("refunds.md", "退款现在在一个工作日内到账。Refunds now arrive within one working day.\n".encode()),
    ("limits.txt", "每日提现上限为五万元。The daily withdrawal limit is 50,000 yuan.\n".encode()),
    ("hours.txt", "客服周末也在线。Support also answers at weekends.\n".encode()),
]
MAX_STEP_POINTS = 14


class Server:
    def __init__(self, root: Path, kill_at: int = 0, step_log: Path | None = None) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env["KILL_AT"] = str(kill_at)
        if step_log is not None:
            env["STEP_LOG"] = str(step_log)
        self.log = root / f"server-{self.port}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(KILLABLE), "serve", "--index", str(root / "index"), "--port", str(self.port), "--log-level", "warning"],
                stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120) -> bool:
        """True once /ready answers; False when the process died first (killed while starting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(self.base + "/ready", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"rag serve did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def upload(base: str, files: list[tuple[str, bytes]]) -> httpx.Response:
    return httpx.post(base + "/v1/documents", files=[("files", (n, io.BytesIO(d))) for n, d in files], timeout=120)


def work(base: str, marks: list[int] | None = None, log: Path | None = None) -> None:
    """The upload, then a delete of one of its files (either may be cut short by the kill); with
    ``marks``, the step count where the delete begins is noted from ``log``."""
    try:
        done = upload(base, UPLOAD)
        if marks is not None and log is not None:
            marks.append(len(log.read_text().split()))
        if done.status_code == 201:
            doc = next(d for d in done.json()["documents"] if d["name"] == "hours.txt")
            httpx.delete(f"{base}/v1/documents/{doc['id']}", timeout=120)
    except httpx.HTTPError:
        pass  # the server was killed under the request


def agrees(root: Path) -> None:
    """The upload folder holds exactly what the committed index holds, byte for byte."""
    uploads = root / "index-uploads"
    with IndexStore(root / "index").open() as view:
        held = {s.path: s.content_hash for s in view.sources() if Path(s.path).parent == uploads.resolve()}
    on_disk = {str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest() for p in uploads.iterdir() if p.is_file()}
    assert on_disk == held
    assert not (root / ".index-uploads-staging").exists(), "no staging leftovers"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An index of the sample FAQ plus one earlier upload (refunds.md), built in a work folder
    and kept aside: sources are stored by absolute path, so each run restores it in place."""
    base = tmp_path_factory.mktemp("uploads-crash")
    work_root, kept = base / "work", base / "kept"
    from tests.conftest import run_rag

    assert run_rag("ingest", str(SAMPLE), "--index", str(work_root / "index")).returncode == 0
    server = Server(work_root)
    try:
        assert server.wait_ready()
        assert upload(server.base, [FIRST]).status_code == 201
    finally:
        server.stop()
    agrees(work_root)
    shutil.copytree(work_root, kept, ignore=shutil.ignore_patterns("server-*.log"))
    return work_root, kept


def fresh(pristine: tuple[Path, Path]) -> Path:
    work_root, kept = pristine
    shutil.rmtree(work_root)
    shutil.copytree(kept, work_root)
    return work_root


def recovered(root: Path) -> None:
    """Restart without a kill: the folder agrees with the index, and the upload completes."""
    server = Server(root)
    try:
        assert server.wait_ready(), server.log.read_text()
        agrees(root)
        again = upload(server.base, UPLOAD)
        assert again.status_code == 201, again.text
        agrees(root)
        assert {d["name"] for d in again.json()["documents"]} == {n for n, _ in UPLOAD}
    finally:
        server.stop()
    for name, data in UPLOAD:
        assert (root / "index-uploads" / name).read_bytes() == data


def test_kill_at_file_system_steps_of_an_upload_and_a_delete(pristine: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    server = Server(fresh(pristine), step_log=log)
    assert server.wait_ready()
    marks = [len(log.read_text().split())]  # steps taken while starting
    work(server.base, marks, log)
    marks.append(len(log.read_text().split()))  # ... after the upload, after the delete
    server.stop()
    steps = log.read_text().split()
    start, middle, end = marks
    assert middle - start > 10 and end - middle > 4, f"the upload and the delete take file-system steps: {marks}"

    def spread(lo: int, hi: int, n: int) -> list[int]:
        """``n`` steps of (lo, hi], the renames and replaces first (where the state changes)."""
        moves = [k for k in range(lo + 1, hi + 1) if steps[k - 1].startswith(("replace:before", "rename:before"))]
        rest = list(range(lo + 1, hi + 1, max(1, (hi - lo) // max(1, n - len(moves)))))
        return sorted(set(moves[:n] + rest))[:n]

    points = spread(start, middle, MAX_STEP_POINTS - 5) + spread(middle, end, 5)
    for point in points:
        root = fresh(pristine)
        server = Server(root, kill_at=point)
        if server.wait_ready():
            work(server.base)
        server.process.wait(timeout=60)
        assert server.process.returncode == -signal.SIGKILL, f"step {point} ({steps[point - 1]}) was never reached"
        recovered(root)


def test_kill_at_wall_clock_moments_of_an_upload(pristine: tuple[Path, Path]) -> None:
    for delay in (0.05, 0.3, 0.8):
        root = fresh(pristine)
        server = Server(root)
        assert server.wait_ready()
        timer = __import__("threading").Timer(delay, server.process.kill)
        timer.start()
        work(server.base)
        timer.join()
        server.process.wait(timeout=60)
        recovered(root)
