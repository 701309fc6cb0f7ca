"""HNSW graphs inside segments (rag/index/ann.py): built when a segment reaches ``min_rows``,
recorded in the manifest, memory-mapped when opened, re-scored exactly, and blind to deleted and
filtered-out rows. Real FAISS and real segments; vectors are seeded random unit vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexFormatError
from rag.index import MergePolicy
from rag.index.ann import ANN_FILE, AnnConfig
from rag.index.merge import optimize
from rag.index.segment import disk_usage
from rag.index.snapshot import IndexSnapshot
from rag.store import IndexStore
from tests.conftest import HashEmbedder
from tests.rag.index_contract.contract import chunks_of

DIM = HashEmbedder().dim
CHUNKER = {"test": 1}


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def built(tmp_path: Path) -> tuple[IndexStore, dict[int, np.ndarray]]:
    """600 one-chunk sources in 4 commits, folded by `rag optimize` into one segment with a graph."""
    store = IndexStore(tmp_path / "index", merge_policy=MergePolicy(factor=1000, deleted_share=1.0), ann=AnnConfig(min_rows=500))
    rng = np.random.default_rng(7)
    info = HashEmbedder().info
    for batch in range(4):
        with store.writer(info, CHUNKER) as writer:
            for i in range(batch * 150, (batch + 1) * 150):
                document, chunks = chunks_of(f"/docs/d{i:04d}.txt", f"第{i}号文档。Document number {i}.")
                writer.put_source(document, chunks[:1] if len(chunks) > 1 else chunks, _unit(rng, 1))
            writer.commit()
    with store.open(info) as view:
        assert isinstance(view, IndexSnapshot)
        assert all(s.graph is None for s in view.segments), "150-row segments stay flat (below min_rows)"
    with store.writer(info, CHUNKER) as writer:
        optimize(writer)
    with store.open(info) as view:
        assert isinstance(view, IndexSnapshot)
        vectors = {int(i): view.segments[0].vectors[r].copy() for r, i in enumerate(view.segments[0].ids)}
    return store, vectors


def _exact(vectors: dict[int, np.ndarray], query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[int]:
    ids = [i for i in vectors if allowed is None or i in allowed]
    scores = np.asarray([float(vectors[i] @ query) for i in ids])
    return [ids[j] for j in np.argsort(-scores, kind="stable")[:k]]


def test_a_merged_segment_gets_a_graph_recorded_in_its_manifest(built: tuple[IndexStore, dict[int, np.ndarray]]) -> None:
    store, _ = built
    record = store.read_manifest().segments[0]
    assert record.ann == {"kind": "hnsw-sq8", "m": 32, "ef_construction": 200, "rows": 600}
    assert ANN_FILE in record.files, "the graph file is checksummed with the segment's other files"
    assert (store.segments_dir / record.name / ANN_FILE).is_file()
    usage = disk_usage(store.segments_dir / record.name)
    assert usage["vector_graph"] == (store.segments_dir / record.name / ANN_FILE).stat().st_size > 0
    with store.open(HashEmbedder().info) as view:
        assert view.verify() == []


def test_graph_search_finds_the_exact_neighbours_with_exact_scores(built: tuple[IndexStore, dict[int, np.ndarray]]) -> None:
    store, vectors = built
    rng = np.random.default_rng(11)
    with store.open(HashEmbedder().info) as view:
        assert isinstance(view, IndexSnapshot) and view.segments[0].graph is not None
        recalls = []
        for query in _unit(rng, 40):
            found = view.dense_scores(query, 10)
            for chunk_id, score in found:
                assert score == pytest.approx(float(vectors[chunk_id] @ query), abs=1e-5), "re-scored against the float vectors"
            assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
            recalls.append(len({i for i, _ in found} & set(_exact(vectors, query, 10))) / 10)
    assert np.mean(recalls) >= 0.95


def test_deleted_rows_never_come_back_from_the_graph(built: tuple[IndexStore, dict[int, np.ndarray]]) -> None:
    store, vectors = built
    info = HashEmbedder().info
    with store.writer(info, CHUNKER) as writer:
        for i in range(0, 600, 3):  # a third of the sources: tombstones, the graph is not rebuilt
            writer.remove_source(f"/docs/d{i:04d}.txt")
        writer.commit()
    rng = np.random.default_rng(5)
    with store.open(info) as view:
        assert isinstance(view, IndexSnapshot) and view.segments[0].graph is not None
        live = {c.vector_id for c in view.chunks()}
        assert len(live) == 400
        for query in _unit(rng, 20):
            found = [i for i, _ in view.dense_scores(query, 20)]
            assert len(found) == 20 and set(found) <= live
            assert len(set(found) & set(_exact(vectors, query, 20, live))) >= 17


def test_filters_reach_inside_the_graph_and_narrow_ones_are_scanned_exactly(built: tuple[IndexStore, dict[int, np.ndarray]]) -> None:
    store, vectors = built
    rng = np.random.default_rng(3)
    ids = np.asarray(sorted(vectors), dtype=np.int64)
    with store.open(HashEmbedder().info) as view:
        wide = ids[rng.random(len(ids)) < 0.5]  # half: the graph with a selector
        narrow = ids[:12]  # 2 %: an exact scan of those rows
        for query in _unit(rng, 10):
            found = [i for i, _ in view.dense_scores(query, 10, wide)]
            assert len(found) == 10 and set(found) <= set(wide.tolist())
            assert [i for i, _ in view.dense_scores(query, 5, narrow)] == _exact(vectors, query, 5, set(narrow.tolist()))


def test_a_filter_keeping_a_fifth_of_a_graph_segment_keeps_recall(built: tuple[IndexStore, dict[int, np.ndarray]]) -> None:
    store, vectors = built
    rng = np.random.default_rng(9)
    ids = np.asarray(sorted(vectors), dtype=np.int64)
    allowed = ids[rng.random(len(ids)) < 0.25]
    with store.open(HashEmbedder().info) as view:
        assert isinstance(view, IndexSnapshot)
        assert len(allowed) >= view.segments[0].ann_config.exact_below * len(ids), "this share walks the graph"
        recalls = []
        for query in _unit(rng, 20):
            found = [i for i, _ in view.dense_scores(query, 10, allowed)]
            assert len(found) == 10 and set(found) <= set(allowed.tolist())
            recalls.append(len(set(found) & set(_exact(vectors, query, 10, set(allowed.tolist())))) / 10)
    assert np.mean(recalls) >= 0.95


def test_a_walk_that_finds_too_few_rows_falls_back_to_an_exact_scan(built: tuple[IndexStore, dict[int, np.ndarray]], monkeypatch: pytest.MonkeyPatch) -> None:
    store, vectors = built
    query = _unit(np.random.default_rng(2), 1)[0]
    with store.open(HashEmbedder().info) as view:
        assert isinstance(view, IndexSnapshot) and view.segments[0].graph is not None
        monkeypatch.setattr(type(view.segments[0].graph), "candidates", lambda *a, **k: np.empty(0, dtype=np.int64))
        assert [i for i, _ in view.dense_scores(query, 10)] == _exact(vectors, query, 10)


def test_a_damaged_graph_is_reported(built: tuple[IndexStore, dict[int, np.ndarray]]) -> None:
    store, _ = built
    record = store.read_manifest().segments[0]
    path = store.segments_dir / record.name / ANN_FILE
    original = path.read_bytes()
    data = bytearray(original)
    data[-10] ^= 0xFF  # inside the codes: readable, wrong
    path.write_bytes(bytes(data))
    with IndexStore(store.root).open(HashEmbedder().info) as view:
        assert any(ANN_FILE in p and "checksum" in p for p in view.verify())
    data = bytearray(original)
    data[len(data) // 3] ^= 0xFF  # inside the graph's links: FAISS refuses it as it reads
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=f"segment {record.name}.*{ANN_FILE}"):
        IndexStore(store.root).open(HashEmbedder().info)


def test_graphs_can_be_turned_off(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index", ann=AnnConfig(min_rows=0))
    rng = np.random.default_rng(1)
    with store.writer(HashEmbedder().info, CHUNKER) as writer:
        for i in range(50):
            document, chunks = chunks_of(f"/d{i}.txt", f"文档{i}。")
            writer.put_source(document, chunks, _unit(rng, len(chunks)))
        writer.commit()
        optimize(writer)
    assert all(r.ann is None for r in store.read_manifest().segments)


def test_the_settings_defaults_are_the_graph_defaults() -> None:
    from rag.settings import Settings

    settings, config = Settings(), AnnConfig()
    assert (settings.ann_min_rows, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search) == (
        config.min_rows, config.m, config.ef_construction, config.ef_search,
    )  # fmt: skip
