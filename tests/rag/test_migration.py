"""A format-1 index (tests/data/format1-index, written by the last release of format 1) is read
as it is, and migrated to segments at its first write with the same sources, chunks, vectors and
search results; the keyword scores of the segmented index are those of the bm25s index it replaces."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.chunking import SentenceChunker
from rag.domain import Document, sha256_hex
from rag.index import IndexSnapshot, LegacySnapshot
from rag.store import IndexStore
from tests.conftest import HashEmbedder

FORMAT1 = Path(__file__).parents[1] / "data" / "format1-index"
CHUNKER = SentenceChunker(chunk_size=40, chunk_overlap=0)
QUERIES = ["提现需要多久", "network fee", "客服 周末", "version two replaced", "deposits free 提现"]


@pytest.fixture
def legacy(tmp_path: Path) -> IndexStore:
    shutil.copytree(FORMAT1, tmp_path / "idx")
    return IndexStore(tmp_path / "idx", keyword_prune_df=1.0)  # BM25 exactly as bm25s: every term scored


def results(view: object, embedder: HashEmbedder) -> dict[str, object]:
    return {
        "sources": [(s.path, s.content_hash, s.n_chunks) for s in view.sources()],  # type: ignore[attr-defined]
        "chunks": [(c.path, c.ordinal, c.start, c.end, c.text, c.heading) for c in view.chunks()],  # type: ignore[attr-defined]
        "dense": [[(c.chunk.chunk_id, round(c.score, 5)) for c in view.dense_search(embedder.embed_queries([q])[0], 4)] for q in QUERIES],  # type: ignore[attr-defined]
        "keyword": [[(c.chunk.chunk_id, c.score) for c in view.keyword_search(q, 4)] for q in QUERIES],  # type: ignore[attr-defined]
        "df": [view.document_frequency(t) for t in ("提现", "fee", "客服", "火星")],  # type: ignore[attr-defined]
    }


def test_a_format1_index_is_read_as_it_is(legacy: IndexStore, hash_embedder: HashEmbedder) -> None:
    with legacy.open(hash_embedder.info) as view:
        assert isinstance(view, LegacySnapshot) and view.manifest.format_version == 1
        assert view.verify() == [] and view.n_sources == 3
        assert view.keyword_search("version two", 1)[0].chunk.path == "/docs/old.txt"
    assert not (legacy.root / "segments").exists(), "reading writes nothing"


def test_the_first_write_migrates_to_segments_with_the_same_answers(legacy: IndexStore, hash_embedder: HashEmbedder) -> None:
    with legacy.open(hash_embedder.info) as view:
        before = results(view, hash_embedder)
    with legacy.writer(hash_embedder.info, CHUNKER.config) as writer:
        assert writer.base is not None and writer.base.manifest.format_version == 2  # migrated on opening the writer
        assert writer.commit() is None  # nothing staged: the migration is its own version
    with legacy.open(hash_embedder.info) as view:
        assert isinstance(view, IndexSnapshot) and view.version == "v000003" and view.manifest.previous is None
        assert view.verify() == []
        after = results(view, hash_embedder)
    assert after["sources"] == before["sources"] and after["chunks"] == before["chunks"] and after["df"] == before["df"]
    for new, old in zip(after["dense"], before["dense"], strict=True):  # type: ignore[call-overload]
        assert sorted(new, key=lambda p: (-p[1], p[0])) == sorted(old, key=lambda p: (-p[1], p[0]))  # ties may come in another order
    for new, old in zip(after["keyword"], before["keyword"], strict=True):  # type: ignore[call-overload]
        assert [c for c, _ in new] == [c for c, _ in old]
        np.testing.assert_allclose([s for _, s in new], [s for _, s in old], rtol=1e-5)  # bm25s scores in float32
    assert not (legacy.root / "versions").exists(), "format-1 versions are removed once migrated"


def test_keyword_scores_match_bm25s_across_segments_and_deletions(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    """Statistics summed over segments at query time give the scores of one bm25s index over the live chunks."""
    import bm25s

    from rag.text.tokenize import keyword_tokens

    texts = {
        f"/d{n}.txt": text
        for n, text in enumerate([
            "提现一般需要1个工作日到账。", "大额提现需要人工审核,审核需要时间。", "Withdrawals cost a small network fee.",
            "Deposits are free; a deposit needs six confirmations.", "客服全天在线。周末也可以联系客服。", "手续费按提现金额收取。",
        ])
    }  # fmt: skip
    store = IndexStore(tmp_path / "idx", keyword_prune_df=1.0)
    for path, text in texts.items():  # one segment per source
        with store.writer(hash_embedder.info, CHUNKER.config) as writer:
            document = Document(path=path, text=text, content_hash=sha256_hex(text), kind="txt")
            chunks = CHUNKER.split(document)
            writer.put_source(document, chunks, hash_embedder.embed_passages([c.embed_text for c in chunks]))
            writer.commit()
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        writer.remove_source("/d1.txt")
        writer.commit()
    with store.open() as view:
        assert len(view.segments) == 5
        chunks = view.chunks()
        reference = bm25s.BM25()
        reference.index([keyword_tokens(c.text) for c in chunks], show_progress=False)
        for query in ["提现 审核", "network fee deposit", "客服", "提现需要多久"]:
            tokens = [t for t in keyword_tokens(query) if t in reference.vocab_dict]
            expected = np.asarray(reference.get_scores(tokens)) if tokens else np.zeros(len(chunks))
            got = dict(view.keyword_scores(query, 10))
            for chunk, score in zip(chunks, expected, strict=True):
                assert got.get(chunk.vector_id, 0.0) == pytest.approx(float(score), rel=1e-5, abs=1e-6), (query, chunk.text)
