"""The index store, with a deterministic fake embedder (fast) and the real FAISS, SQLite and bm25s."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.chunking import SentenceChunker
from rag.domain import Document, EmbedderInfo, sha256_hex
from rag.errors import IndexFormatError, IndexLockedError, IndexMismatchError, IndexNotFoundError
from rag.store import TOKENIZER_NAME, IndexStore
from tests.conftest import HashEmbedder

CHUNKER = SentenceChunker(chunk_size=8, chunk_overlap=0)


def document(path: str, text: str) -> Document:
    return Document(path=path, text=text, content_hash=sha256_hex(text), kind="text")


def put(writer, embedder: HashEmbedder, path: str, text: str) -> None:  # type: ignore[no-untyped-def]
    doc = document(path, text)
    chunks = CHUNKER.split(doc)
    writer.put_source(doc, chunks, embedder.embed_passages([c.embed_text for c in chunks]))


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="no index at .*rag ingest"):
        IndexStore(tmp_path / "none").open()


def test_commit_open_search_and_verify(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "Bitcoin support teams answer questions. 客服团队解答。")
        put(w, hash_embedder, "/b.txt", "Withdrawals take one day. 提现需要一天。")
        assert w.commit() == "v000001"
    with store.open(hash_embedder.info) as snap:
        assert snap.verify() == []
        assert (snap.n_sources, snap.n_chunks) == (2, 4)
        dense = snap.dense_search(hash_embedder.embed_queries(["withdrawals take one day"])[0], 2)
        assert dense[0].chunk.path == "/b.txt" and dense[0].chunk.text == "Withdrawals take one day."
        keyword = snap.keyword_search("提现需要多久", 3)
        assert keyword[0].chunk.text == "提现需要一天。"
        assert snap.source_text(dense[0].chunk.source_id)[dense[0].chunk.start : dense[0].chunk.end] == dense[0].chunk.text


def test_removal_really_leaves_faiss_and_the_keyword_index(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "zebra crossing rules. 斑马线规则。")
        put(w, hash_embedder, "/b.txt", "ordinary text here.")
        w.commit()
        assert w.remove_source("/a.txt") == 2
        w.commit()
    with store.open() as snap:
        assert snap.verify() == []
        assert snap.n_chunks == 1
        assert snap.keyword_search("zebra", 5) == []
        assert snap.keyword_search("斑马线", 5) == []
        hits = snap.dense_search(hash_embedder.embed_queries(["zebra crossing rules."])[0], 5)
        assert [h.chunk.path for h in hits] == ["/b.txt"]
        assert [s.path for s in snap.sources()] == ["/b.txt"]


def test_same_paragraph_in_two_files_is_two_chunks(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "The same paragraph.")
        put(w, hash_embedder, "/b.txt", "The same paragraph.")
        w.commit()
    with store.open() as snap:
        chunks = snap.chunks()
        assert len(chunks) == 2 and len({c.chunk_id for c in chunks}) == 2


def test_readers_keep_their_version_while_a_writer_commits(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", keep_versions=1)
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "first version text.")
        w.commit()
    old = store.open()
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "second version text.")
        put(w, hash_embedder, "/b.txt", "another file.")
        w.commit()
    # keep_versions=1 removed the old manifest and its segment, yet the open snapshot still answers.
    assert not (store.manifests_dir / f"{old.version}.json").exists()
    assert [p.name for p in store.segments_dir.iterdir()] == ["s000002"]
    assert [c.text for c in old.chunks()] == ["first version text."]
    old.close()
    with store.open() as new:
        assert new.version == "v000002" and new.n_chunks == 2


def test_old_versions_and_crash_leftovers_are_cleaned(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", keep_versions=2)
    for i in range(4):
        with store.writer(hash_embedder.info, CHUNKER.config) as w:
            put(w, hash_embedder, "/a.txt", f"text number {i}.")
            w.commit()
    (store.segments_dir / ".tmp-999-dead").mkdir()  # a crashed writer's segment, never renamed
    (store.segments_dir / "s000099").mkdir()  # renamed, but no manifest names it
    (store.manifests_dir / "v000009.json").write_text("{}")  # written but never made current
    (store.manifests_dir / ".v000010.json.1.ab.tmp").write_text("{")  # never renamed into place
    with store.writer(hash_embedder.info, CHUNKER.config):
        pass
    assert sorted(p.name for p in store.manifests_dir.iterdir()) == ["v000003.json", "v000004.json"]
    assert sorted(p.name for p in store.segments_dir.iterdir()) == ["s000003", "s000004"]


def test_uncommitted_changes_are_discarded(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "committed.")
        w.commit()
    with pytest.raises(RuntimeError, match="boom"):
        with store.writer(hash_embedder.info, CHUNKER.config) as w:
            put(w, hash_embedder, "/b.txt", "never committed.")
            raise RuntimeError("boom")
    with store.open() as snap:
        assert [s.path for s in snap.sources()] == ["/a.txt"]
    assert [p.name for p in store.manifests_dir.iterdir()] == ["v000001.json"]
    assert [p.name for p in store.segments_dir.iterdir()] == ["s000001"]


def test_one_writer_at_a_time(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config):
        with pytest.raises(IndexLockedError, match="another process is writing"):
            with store.writer(hash_embedder.info, CHUNKER.config):
                pass


def test_another_embedder_is_refused(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "text.")
        w.commit()
    other = EmbedderInfo(backend="sentence-transformers", model="all-MiniLM-L6-v2", dim=384)
    with pytest.raises(IndexMismatchError, match="was built with fake:hash-v1 \\(dim 64\\), but the configured embedder is sentence-transformers:all-MiniLM-L6-v2"):
        store.open(other)
    with pytest.raises(IndexMismatchError):
        with store.writer(other, CHUNKER.config):
            pass
    with pytest.raises(IndexMismatchError, match="chunker settings"):
        with store.writer(hash_embedder.info, SentenceChunker(100, 10).config):
            pass


def test_newer_format_version_is_refused(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "text.")
        w.commit()
    manifest_path = store.manifests_dir / "v000001.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="format version 99, newer than this rag reads \\(2\\): upgrade rag"):
        store.open()


def test_verify_detects_a_damaged_file(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "text to damage.")
        w.commit()
    with (store.segments_dir / "s000001" / "lengths.npy").open("r+b") as fh:
        fh.seek(-1, 2)
        fh.write(b"\x7f")
    with store.open() as snap:
        assert any("lengths.npy does not match its checksum" in p for p in snap.verify())


def test_no_pickle_on_disk(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "some text. 一些文字。")
        w.commit()
    for path in store.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not data.startswith(b"\x80"), f"{path} looks like a pickle"
            if path.suffix == ".npy":
                np.load(path, allow_pickle=False)


def test_known_vectors_reuse(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "reusable sentence.")
        w.commit()
        found = w.known_vectors([sha256_hex("reusable sentence."), sha256_hex("unknown")])
        assert list(found) == [sha256_hex("reusable sentence.")]
        np.testing.assert_allclose(found[sha256_hex("reusable sentence.")], hash_embedder.embed_passages(["reusable sentence."])[0], rtol=1e-6)


def test_a_folder_of_other_files_is_not_taken_for_an_index(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "report.txt").write_text("mine")
    with pytest.raises(IndexFormatError, match="is not a rag index but holds other files \\(report.txt\\)"):
        with IndexStore(tmp_path / "docs").writer(hash_embedder.info, CHUNKER.config):
            pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(IndexFormatError, match="is a file, not an index directory"):
        with IndexStore(tmp_path / "file").writer(hash_embedder.info, CHUNKER.config):
            pass


def test_a_failed_commit_keeps_the_previous_version(tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from rag.errors import IndexStoreError

    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "kept.")
        w.commit()

    def disk_full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("rag.index.builder.fsync_tree", disk_full)  # the new segment's files are written, not yet durable
    with pytest.raises(IndexStoreError, match="No space left on device; the previous version is still current"):
        with store.writer(hash_embedder.info, CHUNKER.config) as w:
            put(w, hash_embedder, "/b.txt", "lost.")
            w.commit()
    monkeypatch.undo()
    assert [p.name for p in store.manifests_dir.iterdir()] == ["v000001.json"]
    assert [p.name for p in store.segments_dir.iterdir()] == ["s000001"]
    with store.open() as snap:
        assert snap.verify() == [] and [s.path for s in snap.sources()] == ["/a.txt"]


def test_keyword_index_is_rebuilt_for_other_tokenizer_rules(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "提现需要一天。")
        w.commit()
    manifest_path = store.manifests_dir / "v000001.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["segments"][0]["tokenizer"] = "older-rules/v0"  # the segment was written under other rules
    manifest_path.write_text(json.dumps(manifest))
    reader = IndexStore(tmp_path / "idx")
    with reader.open() as snap:
        assert snap.keyword_search("提现", 1)[0].chunk.text == "提现需要一天。"
        assert snap.segments[0]._memory_postings is not None  # stored postings not read: rebuilt from chunk texts
    with store.writer(hash_embedder.info, CHUNKER.config) as w:  # a newer segment does not hide the older one's rules
        put(w, hash_embedder, "/b.txt", "充值立即到账。")
        w.commit()
    with IndexStore(tmp_path / "idx").open() as snap:
        assert [s.record.tokenizer for s in snap.segments] == ["older-rules/v0", TOKENIZER_NAME]
        assert snap.segments[0]._memory_postings is not None and snap.keyword_search("提现", 1)[0].chunk.text == "提现需要一天。"


def test_search_restricted_to_sources(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "withdrawal rules here.")
        put(w, hash_embedder, "/b.txt", "withdrawal limits there.")
        w.commit()
    with store.open() as snap:
        only_b = snap.vector_ids_of_sources(["/b.txt"])
        assert len(only_b) == 1
        query = hash_embedder.embed_queries(["withdrawal rules here."])[0]
        assert [h.chunk.path for h in snap.dense_search(query, 5, only_b)] == ["/b.txt"]
        assert [h.chunk.path for h in snap.keyword_search("withdrawal", 5, only_b)] == ["/b.txt"]
        source_id = snap.sources()[0].source_id
        assert [h.chunk.path for h in snap.keyword_search("withdrawal", 5, snap.vector_ids_of_sources([source_id]))] == ["/a.txt"]
        assert snap.dense_search(query, 5, snap.vector_ids_of_sources(["/nope"])) == []


def test_the_manifest_records_the_weights_fingerprint_and_refuses_other_weights_under_the_same_name(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    from dataclasses import replace

    built = replace(hash_embedder.info, revision="sha256-sampled:aaaa")
    store = IndexStore(tmp_path / "idx")
    with store.writer(built, CHUNKER.config) as w:
        put(w, hash_embedder, "/a.txt", "text.")
        w.commit()
    assert json.loads((store.manifests_dir / "v000001.json").read_text())["embedder"]["revision"] == "sha256-sampled:aaaa"
    store.open(built).close()
    store.open(replace(built, revision="")).close()  # unknown weights (a hub name) are not refused
    with pytest.raises(IndexMismatchError, match="the same name, another model"):
        store.open(replace(built, revision="sha256-sampled:bbbb"))
    with pytest.raises(IndexMismatchError, match="the same name, another model"):
        with store.writer(replace(built, revision="sha256-sampled:bbbb"), CHUNKER.config):
            pass


def test_model_fingerprints_follow_the_weights_not_the_folder(tmp_path: Path) -> None:
    from rag.embedders import model_fingerprint

    one, two = tmp_path / "one", tmp_path / "two"
    for folder, weights in ((one, b"\x01" * 300_000), (two, b"\x01" * 300_000)):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(weights)
        (folder / "config.json").write_text("{}")
    assert model_fingerprint(one) == model_fingerprint(two) != ""
    (two / "model.safetensors").write_bytes(b"\x01" * 299_999 + b"\x02")  # the last byte changed
    assert model_fingerprint(two) != model_fingerprint(one)
    assert model_fingerprint(tmp_path / "not-there") == "" and model_fingerprint(Path("all-MiniLM-L6-v2")) == ""
