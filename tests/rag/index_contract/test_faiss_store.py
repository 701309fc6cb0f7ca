"""The segmented store (rag/index) against the index contract: one segment per commit as `rag ingest` writes it, one per source with merges as the index grows, and one per source never merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.index import MergePolicy
from rag.index.ann import AnnConfig
from rag.protocols import IndexView
from rag.store import IndexStore
from tests.conftest import HashEmbedder
from tests.rag.index_contract.contract import IndexContract, chunks_of


class FaissStoreBackend:
    """One writer session per commit, as ``rag ingest`` does."""

    def __init__(self, root: Path) -> None:
        self.embedder = HashEmbedder()
        self.store = IndexStore(root)
        self._staged: list[tuple[str, str | None]] = []

    def put(self, path: str, text: str) -> None:
        self._staged.append((path, text))

    def remove(self, path: str) -> None:
        self._staged.append((path, None))

    def commit(self) -> str:
        with self.store.writer(self.embedder.info, {"contract": 1}) as writer:
            for path, text in self._staged:
                if text is None:
                    writer.remove_source(path)
                    continue
                document, chunks = chunks_of(path, text)
                writer.put_source(document, chunks, self.embedder.embed_passages([c.embed_text for c in chunks]))
            version = writer.commit()
        self._staged.clear()
        assert version is not None
        return version

    def open(self) -> IndexView:
        return self.store.open(self.embedder.info)


class TestFaissStore(IndexContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> FaissStoreBackend:
        return FaissStoreBackend(tmp_path / "index")


class SegmentPerSourceBackend(FaissStoreBackend):
    """Every staged change its own commit, so a view spans many segments; merges two at a time."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.store = IndexStore(root, merge_policy=MergePolicy(factor=2, floor=1))

    def commit(self) -> str:
        staged, version = list(self._staged), ""
        for item in staged:
            self._staged = [item]
            version = super().commit()
        return version


class TestSegmentsMergedAsTheyGrow(IndexContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> SegmentPerSourceBackend:
        return SegmentPerSourceBackend(tmp_path / "index")


class TestSegmentsNeverMerged(IndexContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> SegmentPerSourceBackend:
        backend = SegmentPerSourceBackend(tmp_path / "index")
        backend.store.merge_policy = MergePolicy(factor=1000, deleted_share=1.0)
        return backend


class TestSegmentsWithGraphs(IndexContract):
    """Every segment gets an HNSW graph (``ann_min_rows`` 1), searched for 1x the candidates: a
    search asking for no more rows than a segment keeps walks its graph (tombstones and filters as
    selectors); the contract's tiny segments answer larger asks by exact scans."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> SegmentPerSourceBackend:
        backend = SegmentPerSourceBackend(tmp_path / "index")
        backend.store = IndexStore(tmp_path / "index", merge_policy=MergePolicy(factor=2, floor=1), ann=AnnConfig(min_rows=1, exact_below=0.0, rerank=1))
        return backend
