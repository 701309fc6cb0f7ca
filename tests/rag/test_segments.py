"""Segments: a commit writes only what it adds, merges fold segments and drop deleted rows,
readers share the segments they have open, sentence vectors are stored (int8) with their chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.chunking import SentenceChunker
from rag.domain import Document, sha256_hex
from rag.index import MergePolicy
from rag.index.merge import optimize
from rag.store import IndexStore
from rag.text.sentences import sentence_inputs
from tests.conftest import HashEmbedder

CHUNKER = SentenceChunker(chunk_size=12, chunk_overlap=0)


def add(store: IndexStore, embedder: HashEmbedder, path: str, text: str, *, sentences: bool = False) -> str | None:
    with store.writer(embedder.info, CHUNKER.config) as writer:
        document = Document(path=path, text=text, content_hash=sha256_hex(text), kind="txt")
        chunks = CHUNKER.split(document)
        stored = None
        if sentences:
            texts = [t for c in chunks for t in sentence_inputs(c.text, c.heading)]
            stored = dict(zip(texts, embedder.embed_passages(texts), strict=True))
        writer.put_source(document, chunks, embedder.embed_passages([c.embed_text for c in chunks]), stored)
        return writer.commit()


def remove(store: IndexStore, embedder: HashEmbedder, path: str) -> None:
    with store.writer(embedder.info, CHUNKER.config) as writer:
        writer.remove_source(path)
        writer.commit()


def same_scores(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> None:
    """The same ranking up to float noise (BLAS sums in another order; ties may swap)."""
    np.testing.assert_allclose([s for _, s in a], [s for _, s in b], rtol=1e-5)
    common = dict(a).keys() & dict(b).keys()
    assert len(common) >= len(a) - 2 and all(abs(dict(a)[i] - dict(b)[i]) < 1e-5 for i in common)


def text(n: int) -> str:
    return f"第{n}条规定：提现申请{n}在{n % 5 + 1}个工作日内处理。Rule {n} covers fee class {n % 3}."


def test_a_commit_writes_only_what_it_adds(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    for n in range(5):
        add(store, hash_embedder, f"/d{n}.txt", text(n))
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.segments_dir.rglob("*") if p.is_file()}
    add(store, hash_embedder, "/new.txt", text(99))
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.segments_dir.rglob("*") if p.is_file()}
    assert all(after[p] == before[p] for p in before), "old segments are never rewritten"
    assert {p.parent.name for p in set(after) - set(before)} == {"s000006"}


def test_tiered_merges_bound_the_segments_and_keep_every_answer(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    merging = IndexStore(tmp_path / "merging", merge_policy=MergePolicy(factor=3, floor=1))
    plain = IndexStore(tmp_path / "plain", merge_policy=MergePolicy(factor=1000, deleted_share=1.0))
    for n in range(30):
        for store in (merging, plain):
            add(store, hash_embedder, f"/d{n}.txt", text(n))
    for n in range(0, 30, 4):
        for store in (merging, plain):
            remove(store, hash_embedder, f"/d{n}.txt")
    with merging.open() as merged, plain.open() as unmerged:
        assert len(unmerged.segments) == 22 and len(merged.segments) <= 8  # a segment whose sources all went is dropped
        assert merged.verify() == [] and merged.n_chunks == unmerged.n_chunks
        assert [s.path for s in merged.sources()] == [s.path for s in unmerged.sources()]
        for query in ["提现申请 工作日", "fee class 2", "Rule 17"]:
            vector = hash_embedder.embed_queries([query])[0]
            for a, b in ((merged.keyword_scores(query, 5), unmerged.keyword_scores(query, 5)), (merged.dense_scores(vector, 5), unmerged.dense_scores(vector, 5))):
                same_scores(a, b)


def test_deleted_rows_are_dropped_by_a_merge_and_optimize_folds_everything(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000, deleted_share=0.5))
    for n in range(4):
        add(store, hash_embedder, f"/d{n}.txt", text(n))
    add(store, hash_embedder, "/d0.txt", text(100))  # the first segment's only source is replaced: it is dropped
    with store.open() as view:
        assert [s.name for s in view.segments] == ["s000002", "s000003", "s000004", "s000005"]
        query = hash_embedder.embed_queries(["Rule 2"])[0]
        before = (view.keyword_scores("提现 Rule 2", 8), view.dense_scores(query, 8), [c.text for c in view.chunks()])
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        assert optimize(writer) is not None
        assert optimize(writer) is None  # already one segment
    with store.open() as view:
        assert len(view.segments) == 1 and view.manifest.deleted == () and view.verify() == []
        after = (view.keyword_scores("提现 Rule 2", 8), view.dense_scores(query, 8), [c.text for c in view.chunks()])
        assert after[2] == before[2]
        for a, b in zip(after[:2], before[:2], strict=True):
            same_scores(a, b)


def test_readers_share_the_segments_they_have_open(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    for n in range(3):
        add(store, hash_embedder, f"/d{n}.txt", text(n))
    first = store.open()
    add(store, hash_embedder, "/d9.txt", text(9))
    second = store.open()
    assert [id(s) for s in second.segments[:3]] == [id(s) for s in first.segments], "only the new segment was opened"
    assert first.n_chunks < second.n_chunks and "/d9.txt" not in {s.path for s in first.sources()}


def test_sentence_vectors_are_stored_int8_and_read_back(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    body = "提现一般需要1个工作日到账。大额提现需要人工审核；审核通过后到账。"
    add(store, hash_embedder, "/a.txt", body, sentences=True)
    with store.open() as view:
        texts = list(dict.fromkeys(t for c in view.chunks() for t in sentence_inputs(c.text, c.heading)))
        stored = view.sentence_vectors([*texts, "not a stored sentence"])
        assert set(stored) == set(texts)
        exact = hash_embedder.embed_passages(texts)
        for t, vector in zip(texts, exact, strict=True):
            assert float(stored[t] @ vector) > 0.999  # int8 with a scale per vector
        assert view.manifest.segments[0].sentences == len(set(texts))
        assert (view.segments[0].folder / "sentences.npy").stat().st_size < 4 * len(texts) * hash_embedder.info.dim


def test_known_vectors_come_from_any_segment_and_never_from_deleted_rows(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    add(store, hash_embedder, "/a.txt", "Alpha sentence here.")
    add(store, hash_embedder, "/b.txt", "Beta sentence here.")
    remove(store, hash_embedder, "/a.txt")
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        found = writer.known_vectors([sha256_hex("Alpha sentence here."), sha256_hex("Beta sentence here.")])
    assert list(found) == [sha256_hex("Beta sentence here.")]
    np.testing.assert_allclose(found[sha256_hex("Beta sentence here.")], hash_embedder.embed_passages(["Beta sentence here."])[0], rtol=1e-6)


def test_a_source_needs_a_chunk(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    import pytest

    with IndexStore(tmp_path / "idx").writer(hash_embedder.info, CHUNKER.config) as writer:
        with pytest.raises(ValueError, match="needs at least one chunk"):
            writer.put_source(Document(path="/empty.txt", text="", content_hash=sha256_hex(""), kind="txt"), [], np.empty((0, hash_embedder.dim), np.float32))


def test_a_merge_keeps_a_sentence_vector_while_any_chunk_with_that_sentence_lives(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    shared = "大额提现需要人工审核。"
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:  # one segment, two sources sharing a sentence
        for path, text in (("/a.txt", shared), ("/b.txt", shared)):
            document = Document(path=path, text=text, content_hash=sha256_hex(path + text), kind="txt")
            chunks = CHUNKER.split(document)
            texts = [t for c in chunks for t in sentence_inputs(c.text, c.heading)]
            writer.put_source(document, chunks, hash_embedder.embed_passages([c.embed_text for c in chunks]), dict(zip(texts, hash_embedder.embed_passages(texts), strict=True)))
        writer.commit()
    remove(store, hash_embedder, "/a.txt")  # the sentence's first owner goes; half the segment is deleted: rewritten
    with store.open() as view:
        assert [s.path for s in view.sources()] == ["/b.txt"] and view.manifest.deleted == () and view.segments[0].name == "s000002"
        assert set(view.sentence_vectors([shared])) == {shared}


def test_a_crashed_first_commit_or_migration_leaves_nothing_in_the_way(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    import shutil

    from tests.rag.test_migration import CHUNKER as FORMAT1_CHUNKER
    from tests.rag.test_migration import FORMAT1

    shutil.copytree(FORMAT1, tmp_path / "idx")
    store = IndexStore(tmp_path / "idx")
    (store.segments_dir / "s000001").mkdir(parents=True)  # a migration killed after its segment's rename
    (store.manifests_dir).mkdir()
    (store.manifests_dir / "v000003.json").write_text("{}")  # ... or after its manifest, before CURRENT
    with store.writer(hash_embedder.info, FORMAT1_CHUNKER.config):
        pass
    with store.open() as view:
        assert view.version == "v000003" and view.verify() == [] and view.n_sources == 3


def test_source_lookups_in_bulk_agree_with_single_ones(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "index", merge_policy=MergePolicy(factor=1000, deleted_share=1.0))
    for i in range(6):  # six segments
        add(store, hash_embedder, f"/d/{i}.txt", f"第{i}份文件的内容。")
    remove(store, hash_embedder, "/d/2.txt")
    paths = [f"/d/{i}.txt" for i in range(8)]
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        single = [writer.source_info(p) for p in paths]
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        writer.prefetch_sources(paths)
        assert [writer.source_info(p) for p in paths] == single
        assert single[2] is None and single[6] is None and single[0] is not None
        writer.remove_source("/d/0.txt")  # the writer's own changes still win over the looked-up base
        assert writer.source_info("/d/0.txt") is None
