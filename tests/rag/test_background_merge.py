"""Background merges (rag.index.merger): a large merge runs outside the commit and the writer lock;
commits and deletes made while it runs survive its publication; a result whose inputs are gone is
discarded; a dead merge's directory is cleaned up, a live one's never."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rag.index.merger as merger_module
from rag.domain import Document, sha256_hex
from rag.index import MergePolicy
from rag.index.merge import optimize
from rag.index.merger import MERGING_PREFIX
from rag.store import IndexStore
from tests.conftest import HashEmbedder
from tests.rag.test_segments import CHUNKER, add, remove, same_scores, text


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds every background merge before it builds anything, until set."""
    release = threading.Event()
    real = merger_module.merged_builder

    def held(*args: Any) -> Any:
        assert release.wait(30), "the test never released the merge"
        return real(*args)

    monkeypatch.setattr(merger_module, "merged_builder", held)
    yield release
    release.set()


def background_store(root: Path) -> IndexStore:
    # factor 3: three one-source segments make a merge; background_rows 1: every merge in the background
    return IndexStore(root, merge_policy=MergePolicy(factor=3, floor=1, background_rows=1))


def document_commit(writer: Any, embedder: HashEmbedder, path: str, body: str) -> None:
    document = Document(path=path, text=body, content_hash=sha256_hex(body), kind="txt")
    chunks = CHUNKER.split(document)
    writer.put_source(document, chunks, embedder.embed_passages([c.embed_text for c in chunks]))
    writer.commit()


def segment_names(store: IndexStore) -> list[str]:
    return [s.name for s in store.read_manifest().segments]


def test_a_commit_does_not_wait_for_a_large_merge_and_changes_made_meanwhile_survive_it(
    tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event
) -> None:
    store = background_store(tmp_path / "idx")
    plain = IndexStore(tmp_path / "plain", merge_policy=MergePolicy(factor=1000, deleted_share=1.0))
    for n in range(3):
        for s in (store, plain):
            add(s, hash_embedder, f"/d{n}.txt", text(n))
    assert store.merger.running() and store.merger.busy() == {"s000001", "s000002", "s000003"}
    assert len(segment_names(store)) == 3, "the commit published its own segment only"
    # While the merge runs: a new source, a deleted source whose rows the merge copies, a replaced one.
    for s in (store, plain):
        add(s, hash_embedder, "/new.txt", text(50))
        remove(s, hash_embedder, "/d1.txt")
        add(s, hash_embedder, "/d2.txt", text(77))
    gate.set()
    version = store.merger.wait(timeout=30)
    assert version is not None and store.read_manifest().version == version
    names = segment_names(store)
    assert not {"s000001", "s000002", "s000003"} & set(names), "the merged segment replaces its inputs"
    assert not [p for p in store.segments_dir.iterdir() if p.name.startswith(MERGING_PREFIX)]
    with store.open() as merged, plain.open() as unmerged:
        assert merged.verify() == []
        assert [s.path for s in merged.sources()] == [s.path for s in unmerged.sources()] == ["/d0.txt", "/d2.txt", "/new.txt"]
        assert merged.n_chunks == unmerged.n_chunks
        for query in ["提现申请 工作日", "Rule 1 covers", "Rule 77", "fee class 2"]:
            vector = hash_embedder.embed_queries([query])[0]
            same_scores(merged.keyword_scores(query, 5), unmerged.keyword_scores(query, 5))
            same_scores(merged.dense_scores(vector, 5), unmerged.dense_scores(vector, 5))


def test_the_merge_publishes_itself_once_no_writer_holds_the_lock(tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event) -> None:
    store = background_store(tmp_path / "idx")
    for n in range(3):
        add(store, hash_embedder, f"/d{n}.txt", text(n))
    before = store.read_manifest().version
    # Another process holds the writer lock (a raw flock: a writer session of this process would
    # publish the merge itself as it ended): no publishing meanwhile.
    other = os.open(store.root / ".lock", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    gate.set()
    time.sleep(0.6)
    assert store.read_manifest().version == before
    threading.Timer(0.3, os.close, (other,)).start()  # that process ends while we wait
    assert store.merger.wait(timeout=30) is not None
    assert len(segment_names(store)) == 1 and store.read_manifest().version != before
    with store.open() as snapshot:
        assert snapshot.verify() == [] and len(snapshot.sources()) == 3


def test_a_merge_whose_inputs_were_merged_meanwhile_is_discarded(tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event) -> None:
    store = background_store(tmp_path / "idx")
    for n in range(3):
        add(store, hash_embedder, f"/d{n}.txt", text(n))
    add(store, hash_embedder, "/d3.txt", text(3))
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        optimized = optimize(writer)  # rag optimize, while the background merge waits
    gate.set()
    assert store.merger.wait(timeout=30) is None, "its inputs are gone: nothing is published"
    assert store.read_manifest().version == optimized and len(segment_names(store)) == 1
    assert not [p for p in store.segments_dir.iterdir() if p.name.startswith(MERGING_PREFIX)]
    with store.open() as snapshot:
        assert snapshot.verify() == [] and len(snapshot.sources()) == 4


def test_one_merge_at_a_time_across_processes_and_only_dead_merges_are_cleaned_up(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = background_store(tmp_path / "idx")
    add(store, hash_embedder, "/d0.txt", text(0))
    leftover = store.segments_dir / f"{MERGING_PREFIX}999999-deadbeef"
    leftover.mkdir()
    other = merger_module._try_merge_lock(store.root)  # as another process' running merge would
    assert other is not None
    try:
        for n in range(1, 3):
            add(store, hash_embedder, f"/d{n}.txt", text(n))
        assert not store.merger.running() and len(segment_names(store)) == 3, "planned again later, not run twice"
        assert leftover.is_dir(), "a live merge's directory is never removed"
    finally:
        os.close(other)
    add(store, hash_embedder, "/d3.txt", text(3))  # the merge is planned again, and the dead directory goes
    store.merger.wait(timeout=30)
    assert not leftover.exists()
    assert len(segment_names(store)) <= 2
    with store.open() as snapshot:
        assert snapshot.verify() == [] and len(snapshot.sources()) == 4


def test_a_writer_waits_for_this_process_publishing_merge_instead_of_failing(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    merging = background_store(tmp_path / "idx")
    add(merging, hash_embedder, "/d0.txt", text(0))
    store = background_store(tmp_path / "idx")  # another store object of the index, as an upload's
    store.lock_wait = 0.0  # as an upload's writer: never waits for another process
    held = threading.Event()

    def publishing() -> None:
        with merging.merger.publishing, merging.writer(hash_embedder.info, CHUNKER.config, wait=0.0, merger=True):
            held.set()
            time.sleep(0.5)

    thread = threading.Thread(target=publishing)
    thread.start()
    assert held.wait(10)
    started = time.monotonic()
    with store.writer(hash_embedder.info, CHUNKER.config):
        assert time.monotonic() - started >= 0.3
    thread.join()


def test_a_merge_built_during_a_long_session_is_published_by_its_next_commit(tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event) -> None:
    """As a long `rag ingest` does: one writer session, commits every few files; the merge one
    commit started is published by a later commit of the same session (the thread cannot take
    the lock the session holds)."""
    store = background_store(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        for n in range(3):
            document_commit(writer, hash_embedder, f"/d{n}.txt", text(n))
        assert store.merger.running()
        gate.set()
        deadline = time.monotonic() + 30
        while not store.merger._job.ready and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.05)
        before = segment_names(store)
        document_commit(writer, hash_embedder, "/d3.txt", text(3))
        assert not store.merger.running(), "the commit published the finished merge"
        after = segment_names(store)
        assert {"s000001", "s000002", "s000003"} <= set(before) and not {"s000001", "s000002", "s000003"} & set(after)
    with store.open() as snapshot:
        assert snapshot.verify() == [] and len(snapshot.sources()) == 4


def test_every_store_object_of_an_index_shares_its_merger(tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event) -> None:
    """A server opens a store per upload: a delete through another store object must still see
    the running merge (and keep its inputs), not make it be discarded."""
    first = background_store(tmp_path / "idx")
    for n in range(3):
        add(first, hash_embedder, f"/d{n}.txt", text(n))
    second = background_store(tmp_path / "idx")
    assert second.merger is first.merger and second.merger.busy() == {"s000001", "s000002", "s000003"}
    remove(second, hash_embedder, "/d1.txt")  # every row of s000002 deleted
    assert "s000002" in segment_names(second), "kept while the merge copies it"
    gate.set()
    assert first.merger.wait(timeout=30) is not None, "published, not discarded"
    with second.open() as snapshot:
        assert snapshot.verify() == [] and [s.path for s in snapshot.sources()] == ["/d0.txt", "/d2.txt"]


def test_waiting_works_off_the_backlog(tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event) -> None:
    """Commits faster than merges (a large import) leave merges to do after the last commit: each
    merge the thread publishes plans the next, and wait() returns when none is left to do."""
    store = background_store(tmp_path / "idx")
    for n in range(12):
        add(store, hash_embedder, f"/d{n}.txt", text(n))
    assert len(segment_names(store)) >= 10, "one merge at a time: the commits ran ahead"
    gate.set()
    assert store.merger.wait(timeout=60) is not None
    with store.open() as snapshot:
        assert store.merge_policy.plan(snapshot) == [], "nothing left to merge"
        assert len(snapshot.segments) <= 3 and snapshot.verify() == [] and len(snapshot.sources()) == 12


def test_wait_with_no_merge_running_returns_at_once_with_none(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = background_store(tmp_path / "idx")
    for n in range(3):
        add(store, hash_embedder, f"/d{n}.txt", text(n))
    assert store.merger.wait(timeout=30) is not None
    add(store, hash_embedder, "/d3.txt", text(3))  # starts nothing (one segment per tier)
    assert not store.merger.running()
    assert store.merger.wait(timeout=0.0) is None, "an earlier merge's version is not this wait's"


def test_a_thread_that_cannot_start_leaves_nothing_held(tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    store = background_store(tmp_path / "idx")
    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        for n in range(3):
            add(store, hash_embedder, f"/d{n}.txt", text(n))  # the commit stands
        assert not store.merger.running() and store.merger.busy() == frozenset()
        assert store.merger.wait(timeout=0.0) is None
    assert merger_module.merge_lock_free(store.root), "the merge lock was released"
    add(store, hash_embedder, "/d3.txt", text(3))  # planned again, and this time it runs
    store.merger.wait(timeout=30)
    with store.open() as snapshot:
        assert snapshot.verify() == [] and len(snapshot.sources()) == 4 and len(snapshot.segments) < 4


def test_a_merge_is_not_given_up_while_this_process_holds_the_lock(
    tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long `rag ingest` session (embedding between commits for longer than the patience)
    publishes the merge at its next commit or as it ends; the thread must not discard it."""
    monkeypatch.setattr(merger_module, "PUBLISH_PATIENCE_S", 0.2)
    store = background_store(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        for n in range(3):
            document_commit(writer, hash_embedder, f"/d{n}.txt", text(n))
        gate.set()
        time.sleep(1.0)  # five times the patience, with this session holding the lock
        assert store.merger.running(), "still waiting to be published, not given up"
    assert not store.merger.running(), "published as the session ended"
    assert len(segment_names(store)) == 1


def test_a_background_merge_drops_the_tombstones_of_rows_it_left_out(tmp_path: Path, hash_embedder: HashEmbedder, gate: threading.Event) -> None:
    """Rows dead before the merge began are not copied, so their tombstones go with it (the
    manifest does not keep every deletion forever); rows deleted while it ran keep theirs."""
    store = background_store(tmp_path / "idx")

    def commit_sources(paths: list[str]) -> None:  # one segment holding several sources
        with store.writer(hash_embedder.info, CHUNKER.config) as writer:
            for path in paths:
                body = text(int(path[2:-4]))
                document = Document(path=path, text=body, content_hash=sha256_hex(body), kind="txt")
                chunks = CHUNKER.split(document)
                writer.put_source(document, chunks, hash_embedder.embed_passages([c.embed_text for c in chunks]))
            writer.commit()

    commit_sources(["/d0.txt", "/d1.txt", "/d2.txt", "/d3.txt"])
    remove(store, hash_embedder, "/d3.txt")  # a quarter dead: under the rewrite share, the tombstone stays
    commit_sources(["/e4.txt", "/e5.txt", "/e6.txt"])
    commit_sources(["/f7.txt", "/f8.txt", "/f9.txt"])  # three segments of one tier: the merge starts, held
    assert store.merger.busy() == set(segment_names(store)) and len(store.read_manifest().deleted) == 1
    remove(store, hash_embedder, "/f7.txt")  # deleted while the merge runs: its rows are copied
    assert len(store.read_manifest().deleted) == 2
    gate.set()
    assert store.merger.wait(timeout=30) is not None
    with store.open() as snapshot:
        assert len(snapshot.segments) == 1 and snapshot.verify() == []
        assert [s.path for s in snapshot.sources()] == ["/d0.txt", "/d1.txt", "/d2.txt", "/e4.txt", "/e5.txt", "/e6.txt", "/f8.txt", "/f9.txt"]
        f7 = snapshot.manifest.deleted
    assert len(f7) == 1, "d3's tombstone went with the rows the merge left out; f7's stays (its rows were copied)"
