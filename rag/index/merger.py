"""Merges too large for a commit, run in a background thread outside the writer lock.

A merge of at least ``MergePolicy.background_rows`` live rows (one that builds a vector graph,
seconds to minutes) would hold the writer lock, and the commit that started it, for as long as it
runs. Here it is built from the snapshot the commit left, in ``segments/.merging-*``, while other
commits go on; its inputs are immutable and keep their ids, so tombstones written meanwhile still
apply to the merged rows. It is published under the writer lock, in milliseconds: by the next
commit of this process' writer if it is still writing, otherwise by the thread itself once it can
take the lock. Publishing renames the directory to the next segment name and writes a manifest
naming it instead of its inputs; if another merge (``rag optimize``) removed an input meanwhile,
the result is discarded.

Crash safety is the commit's: nothing is referenced before the manifest names it. One merge runs
at a time across processes (``.merge.lock``, flock); a writer's clean-up removes ``.merging-*``
directories only when no process holds that lock. The thread is a daemon: a process that exits
mid-merge leaves a directory for the next writer to remove, and the merge is planned again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import IndexLockedError, RAGError
from rag.index.merge import merged_builder
from rag.manifest import SegmentRecord

if TYPE_CHECKING:
    from rag.domain import EmbedderInfo
    from rag.index.snapshot import IndexSnapshot
    from rag.index.versions import IndexStore
    from rag.index.writer import IndexWriter

__all__ = ["MERGE_LOCK", "MERGING_PREFIX", "BackgroundMerger", "merge_lock_free", "merger_for"]

MERGE_LOCK = ".merge.lock"
MERGING_PREFIX = ".merging-"
PUBLISH_PATIENCE_S = 300.0  # how long a built merge waits for the writer lock before it is given up
_log = logging.getLogger(__name__)
_mergers: dict[str, BackgroundMerger] = {}
_mergers_lock = threading.Lock()


def merger_for(store: IndexStore) -> BackgroundMerger:
    """The one merger of an index directory in this process, shared by every store object opened
    on it (a server opens a store per upload): what it is merging, and its publishing lock, are
    the index's, not one object's. It holds the path only; a running merge holds the store that
    started it (its settings, its open segments) until it ends."""
    key = os.path.realpath(store.root)
    with _mergers_lock:
        merger = _mergers.get(key)
        if merger is None:
            merger = _mergers[key] = BackgroundMerger(Path(key))
        return merger


@dataclass
class _Job:
    store: IndexStore | None  # the store whose commit started it (its settings); dropped when done
    snapshot: IndexSnapshot | None  # held so its segments stay open while the merge reads them (dropped when done)
    names: frozenset[str]
    rows: int
    embedder: EmbedderInfo
    chunker: dict[str, Any]
    lock_fd: int
    folder: Path | None = None
    record: SegmentRecord | None = None
    ready: bool = False  # built (or failed: ``error``), waiting to be published
    done: bool = False  # published or discarded
    error: BaseException | None = None
    version: str | None = None  # the version that published it
    finished: threading.Event = field(default_factory=threading.Event)


class BackgroundMerger:
    """At most one background merge of one index at a time (get it with :func:`merger_for`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sessions = 0  # writer sessions of this process now open on the index (they publish at commits)
        self._state = threading.Lock()
        self._job: _Job | None = None
        self.publishing = threading.Lock()  # held while this process' merger tries or holds the writer lock
        self._thread: threading.Thread | None = None  # the latest merge's; it starts the next before it ends

    def busy(self) -> frozenset[str]:
        """The segments a running merge is rewriting (not to be planned again)."""
        with self._state:
            job = self._job
            return job.names if job is not None and not job.done else frozenset()

    def running(self) -> bool:
        with self._state:
            return self._job is not None and not self._job.done

    def start(self, writer: IndexWriter, chosen: Sequence[int]) -> bool:
        """Merge ``chosen`` (indices into the writer's base) in a thread; False when a merge is
        already running here or in another process."""
        snapshot = writer.base
        if snapshot is None or self.running():
            return False
        fd = _try_merge_lock(self.root)
        if fd is None:
            _log.info("index %s: another process is merging segments; this merge is planned again after a later commit", self.root)
            return False
        try:
            names = frozenset(snapshot.segments[n].name for n in chosen)
            job = _Job(writer.store, snapshot, names, sum(snapshot._live[n] for n in chosen), writer.embedder, dict(writer.chunker), fd)
        except BaseException:
            os.close(fd)
            raise
        thread = threading.Thread(target=self._run, args=(job, list(chosen)), name="rag-merge", daemon=True)
        with self._state:
            self._job, self._thread = job, thread
        try:
            thread.start()
        except BaseException as exc:  # no thread can start (interpreter shutdown, limits): merged later
            with self._state:
                job.error = exc
                self._finish(job)
            if not isinstance(exc, Exception):
                raise
            return False
        return True

    def publish_ready(self, writer: IndexWriter) -> str | None:
        """Publish a finished merge through ``writer`` (whose session holds the writer lock)."""
        with self._state:
            job = self._job
            if job is None or not job.ready or job.done:
                return None
            try:
                if job.error is None:
                    job.version = writer.publish_merged(job.names, job.record, job.folder)
                    if job.version is None:
                        _log.info("index %s: a background merge's inputs were merged or dropped meanwhile; its result is discarded", self.root)
            except BaseException as exc:
                job.error = exc
                raise
            finally:
                self._finish(job)
            return job.version

    def wait(self, timeout: float | None = None, on_wait: Callable[[int, int], None] | None = None) -> str | None:
        """Wait until no merge runs (each merge the thread publishes plans the next, so a backlog
        is worked off), or ``timeout`` seconds; returns the last version a merge published.
        ``on_wait(segments, rows)`` is told of each merge waited for. Never call it while holding a
        writer of this index: a merge publishes under the writer lock (after
        ``PUBLISH_PATIENCE_S`` without it, it gives up)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        version, told = None, None
        with self._state:
            if self._job is None or (self._job.done and not (self._thread is not None and self._thread.is_alive())):
                return None  # nothing runs: nothing to wait for (an earlier merge's version is not this call's)
        while True:
            with self._state:
                job, thread = self._job, self._thread
            if job is not None and not job.done and job is not told:
                if on_wait is not None:
                    on_wait(len(job.names), job.rows)
                told = job
            if thread is None or not thread.is_alive():
                if job is None or job.done:  # (a job published at a commit has no live thread)
                    return version or (job.version if job is not None else None)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return version
            if thread is not None and thread.is_alive():
                thread.join(left)
            elif job is not None:
                job.finished.wait(left)
            if job is not None and job.version is not None:
                version = job.version

    # -- the thread ------------------------------------------------------------------------

    def _run(self, job: _Job, chosen: list[int]) -> None:
        try:
            assert job.snapshot is not None and job.store is not None
            store = job.store
            segments = store.segments_dir
            if not segments.is_dir():
                raise FileNotFoundError(f"{segments} is gone (the index was removed)")
            builder = merged_builder(job.snapshot, chosen, job.embedder.dim)
            if builder is not None:
                folder = segments / f"{MERGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
                job.folder = folder
                job.record = builder.write(folder, "merging", store.ann)
        except BaseException as exc:  # noqa: BLE001 (logged; the commit that started it stands)
            job.error = exc
        with self._state:
            job.ready = True
            if job.error is not None:
                self._finish(job)
                return
        try:
            self._publish_when_free(job)
        except BaseException as exc:  # noqa: BLE001 (a thread's last resort: logged, the lock freed)
            with self._state:
                job.error = job.error or exc
                self._finish(job)

    def _publish_when_free(self, job: _Job) -> None:
        """Take the writer lock when no writer holds it, and publish (unless a writer of this
        process did meanwhile, at its commit or as its session ended); give up after
        ``PUBLISH_PATIENCE_S`` of another process holding the lock (never while a session of this
        process holds it: that one publishes)."""
        deadline = time.monotonic() + PUBLISH_PATIENCE_S
        store = job.store
        assert store is not None
        while True:
            with self._state:
                if job.done:
                    return
                if self.sessions > 0:
                    deadline = time.monotonic() + PUBLISH_PATIENCE_S
                if time.monotonic() > deadline or not (self.root / "CURRENT").exists():
                    job.error = TimeoutError(f"no writer lock for {PUBLISH_PATIENCE_S:g} s (or the index is gone): the merge is given up, and planned again after a later commit")
                    self._finish(job)
                    return
            with self.publishing:
                try:
                    with store.writer(job.embedder, job.chunker, wait=0.0, merger=True) as writer:
                        self.publish_ready(writer)
                        try:
                            store.after_commit(writer)  # the next merges, if the policy wants them (a backlog)
                        except Exception as exc:  # noqa: BLE001 (the merge stands; logged)
                            _log.warning("index %s: merged; planning the next merge failed (it is planned after a later commit): %s", self.root, exc)
                        return
                except IndexLockedError:
                    pass
                except (RAGError, OSError) as exc:
                    with self._state:
                        job.error = job.error or exc
                        self._finish(job)
                    return
            time.sleep(0.2)

    def _finish(self, job: _Job) -> None:
        """(With ``_state`` held.) The job is over: drop an unpublished result, free the lock and
        the inputs' snapshot, log a failure. Idempotent."""
        if job.done:
            return
        job.done = True
        if job.version is None and job.folder is not None:
            shutil.rmtree(job.folder, ignore_errors=True)
        fd, job.lock_fd = job.lock_fd, -1
        with contextlib.suppress(OSError):
            os.close(fd)
        job.snapshot = job.store = None  # its segments (files a clean-up may have removed) can be closed now
        if job.error is not None:
            _log.warning("index %s: a background merge of %d segments failed (it is planned again after a later commit): %s", self.root, len(job.names), job.error)
        job.finished.set()


def _try_merge_lock(root: Path) -> int | None:
    """The merge lock's descriptor, held (flock) until closed; None when another merge holds it."""
    try:
        fd = os.open(root / MERGE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as exc:
        os.close(fd)
        _log.warning("index %s: cannot lock %s (%s): no background merge", root, MERGE_LOCK, exc)
        return None
    return fd


def merge_lock_free(root: Path) -> bool:
    """Whether no process (this one included) is running a background merge of this index."""
    fd = _try_merge_lock(root)
    if fd is None:
        return not (root / MERGE_LOCK).exists()
    os.close(fd)
    return True
