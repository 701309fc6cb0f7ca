"""The typed index manifest: what the writer records, read back unchanged; damage is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import IndexFormatError
from rag.index import IndexStore
from rag.manifest import IndexManifest
from tests.conftest import HashEmbedder
from tests.rag.test_store import CHUNKER, put


def committed(tmp_path: Path, hash_embedder: HashEmbedder) -> tuple[IndexStore, Path]:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "Alpha text. Beta text.")
        w.commit()
        put(w, hash_embedder, "/b.txt", "Gamma text.")
        w.commit()
    return store, store.manifests_dir / "v000002.json"


def test_the_written_manifest_reads_back_to_the_same_json(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store, path = committed(tmp_path, hash_embedder)
    raw = path.read_text(encoding="utf-8")
    manifest = store.read_manifest()
    assert json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n" == raw
    assert manifest.version == "v000002" and manifest.previous == "v000001"
    assert manifest.embedder == hash_embedder.info
    assert manifest.counts is not None and (manifest.counts.sources, manifest.counts.chunks) == (2, 2)
    assert manifest.keyword is not None
    assert manifest.keyword.backend == "segment-postings" and [s.name for s in manifest.segments] == ["s000001", "s000002"]
    assert set(manifest.segments[0].files) == {"vectors.npy", "ids.npy", "lengths.npy", "rows.sqlite", "sentences.npy", "sentence_scales.npy"}
    with store.open() as view:
        assert view.manifest == manifest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("embedder"), "is damaged: KeyError: 'embedder'"),
        (lambda m: m["embedder"].update(dim="wide"), "is damaged: ValueError"),
        (lambda m: m.update(counts={"sources": 1}), "is damaged: KeyError: 'chunks'"),
        (lambda m: m.update(format="something-else"), "is not a rag index manifest"),
    ],
)
def test_a_damaged_manifest_is_refused_with_what_is_wrong(
    tmp_path: Path, hash_embedder: HashEmbedder, change: object, message: str
) -> None:
    store, path = committed(tmp_path, hash_embedder)
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexFormatError, match=message):
        store.open()


def test_a_manifest_without_keyword_record_is_read_and_rebuilds_keywords(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store, path = committed(tmp_path, hash_embedder)
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["keyword"]
    path.write_text(json.dumps(data), encoding="utf-8")
    manifest = IndexManifest.from_dict(data)
    assert manifest.keyword is None
    with store.open() as view:
        assert view.keyword_search("Gamma", 1)[0].chunk.path == "/b.txt"
