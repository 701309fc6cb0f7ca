"""The contract every index implementation passes: what an :class:`~rag.protocols.IndexView`
and its writer promise, whatever stores the vectors, keywords and chunks.

An implementation provides one fixture, ``backend``, returning an :class:`IndexBackend` (write
sources, remove them, commit, open the committed version), and subclasses
:class:`IndexContract`; tests/rag/index_contract/test_faiss_store.py does it for today's FAISS +
bm25s + SQLite store. Vectors come from the deterministic ``HashEmbedder`` of tests/conftest.py, so
the expected nearest chunks are known.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pytest

from rag.domain import Chunk, Document, sha256_hex
from rag.protocols import ChunkStore, CorpusStatistics, IndexView, KeywordIndex, VectorIndex
from rag.text.sentences import split_sentences
from tests.conftest import HashEmbedder

__all__ = ["IndexBackend", "IndexContract", "chunks_of"]

FAQ = "提现一般需要1个工作日到账。大额提现需要人工审核。"
FEES = "Withdrawals cost a small network fee. Deposits are free of charge."
HOURS = "客服全天在线。周末也可以联系客服。"


class IndexBackend(Protocol):
    """What the contract drives: a writer session per commit, and the committed version."""

    embedder: HashEmbedder

    def put(self, path: str, text: str) -> None:
        """Stage ``text`` as the source at ``path`` (adding it, or replacing its chunks)."""
        ...

    def remove(self, path: str) -> None: ...

    def commit(self) -> str:
        """Make what was staged visible as a new version; returns its name."""
        ...

    def open(self) -> IndexView: ...


def chunks_of(path: str, text: str) -> tuple[Document, list[Chunk]]:
    """One chunk per sentence (the contract is about the index, not the chunker)."""
    document = Document(path=path, text=text, content_hash=sha256_hex(text), kind="txt")
    chunks = [Chunk(document.source_id, n, s.start, s.end, text[s.start : s.end]) for n, s in enumerate(split_sentences(text))]
    return document, chunks


def _texts(view: IndexView, scored: list[tuple[int, float]]) -> list[str]:
    by_id = {c.vector_id: c.text for c in view.chunks(v for v, _ in scored)}
    return [by_id[v] for v, _ in scored]


class IndexContract:
    """Subclass it and provide a ``backend`` fixture."""

    def _filled(self, backend: IndexBackend) -> IndexView:
        backend.put("/docs/faq.txt", FAQ)
        backend.put("/docs/fees.txt", FEES)
        backend.commit()
        return backend.open()

    def test_a_view_plays_every_index_role(self, backend: IndexBackend) -> None:
        with self._filled(backend) as view:
            for role in (IndexView, VectorIndex, KeywordIndex, CorpusStatistics, ChunkStore):
                assert isinstance(view, role), role.__name__

    def test_added_sources_are_searchable_and_their_text_exact(self, backend: IndexBackend) -> None:
        with self._filled(backend) as view:
            assert view.n_sources == 2 and view.n_chunks == 4
            assert sorted(s.path for s in view.sources()) == ["/docs/faq.txt", "/docs/fees.txt"]
            for record in view.sources():
                text = view.source_text(record.source_id)
                assert text in (FAQ, FEES)
                for chunk in (c for c in view.chunks() if c.source_id == record.source_id):
                    assert text[chunk.start : chunk.end] == chunk.text
            query = backend.embedder.embed_queries(["大额提现需要人工审核"])[0]
            assert _texts(view, view.dense_scores(query, 1)) == ["大额提现需要人工审核。"]
            keyword = view.keyword_scores("network fee", 3)
            assert _texts(view, keyword)[0] == "Withdrawals cost a small network fee."
            assert all(a[1] >= b[1] for a, b in zip(keyword, keyword[1:]))  # best first
            assert view.keyword_scores("火星", 3) == []  # no term occurs: no hit

    def test_the_allowed_ids_filter_both_searches(self, backend: IndexBackend) -> None:
        with self._filled(backend) as view:
            allowed = view.vector_ids_of_sources(["/docs/fees.txt"])
            assert len(allowed) == 2
            query = backend.embedder.embed_queries(["提现"])[0]
            assert {v for v, _ in view.dense_scores(query, 10, allowed)} == set(allowed.tolist())
            assert {v for v, _ in view.keyword_scores("提现 fee", 10, allowed)} <= set(allowed.tolist())
            assert view.keyword_scores("提现", 10, allowed) == []  # the term is only outside the filter
            by_id = view.vector_ids_of_sources([next(s.source_id for s in view.sources() if s.path == "/docs/fees.txt")])
            assert sorted(by_id.tolist()) == sorted(allowed.tolist())
            assert len(view.vector_ids_of_sources(["/nowhere.txt"])) == 0

    def test_statistics_span_the_corpus(self, backend: IndexBackend) -> None:
        with self._filled(backend) as view:
            assert view.document_frequency("提现") == 2 and view.document_frequency("fee") == 1
            assert view.document_frequency("火星") == 0
            assert 0.0 < view.ascii_vocab_share < 1.0  # Chinese and English words
        backend.remove("/docs/fees.txt")
        backend.commit()
        with backend.open() as view:
            assert view.document_frequency("fee") == 0 and view.ascii_vocab_share < 0.5

    def test_replacing_a_source_replaces_its_chunks(self, backend: IndexBackend) -> None:
        self._filled(backend).close()
        backend.put("/docs/faq.txt", HOURS)
        backend.commit()
        with backend.open() as view:
            texts = {c.text for c in view.chunks()}
            assert "客服全天在线。" in texts and "大额提现需要人工审核。" not in texts
            assert view.n_sources == 2 and view.n_chunks == 4
            assert view.keyword_scores("审核", 5) == []
            record = next(s for s in view.sources() if s.path == "/docs/faq.txt")
            assert view.source_text(record.source_id) == HOURS

    def test_deletions_really_delete(self, backend: IndexBackend) -> None:
        self._filled(backend).close()
        backend.remove("/docs/faq.txt")
        backend.commit()
        with backend.open() as view:
            assert [s.path for s in view.sources()] == ["/docs/fees.txt"] and view.n_chunks == 2
            query = backend.embedder.embed_queries(["大额提现需要人工审核"])[0]
            assert all("提现" not in t for t in _texts(view, view.dense_scores(query, 10)))
            assert view.keyword_scores("提现", 10) == []
            assert view.verify() == []

    def test_an_open_view_keeps_its_version(self, backend: IndexBackend) -> None:
        old = self._filled(backend)
        with old:
            version = old.version
            backend.remove("/docs/faq.txt")
            backend.put("/docs/hours.txt", HOURS)
            newer = backend.commit()
            assert newer != version
            assert old.version == version and old.n_chunks == 4  # what it had when opened
            assert "大额提现需要人工审核。" in {c.text for c in old.chunks()}
            assert old.keyword_scores("提现", 5) != []
            with backend.open() as new:
                assert new.version == newer and "/docs/faq.txt" not in {s.path for s in new.sources()}

    def test_reopening_gives_the_same_answers(self, backend: IndexBackend) -> None:
        query = backend.embedder.embed_queries(["network fee"])[0]
        with self._filled(backend) as first:
            before = (first.version, first.dense_scores(query, 4), first.keyword_scores("提现 fee", 4), first.n_chunks)
        with backend.open() as again:
            after = (again.version, again.dense_scores(query, 4), again.keyword_scores("提现 fee", 4), again.n_chunks)
        assert before[0] == after[0] and before[3] == after[3]
        assert [v for v, _ in before[1]] == [v for v, _ in after[1]]
        np.testing.assert_allclose([s for _, s in before[1]], [s for _, s in after[1]], rtol=1e-6)
        assert before[2] == after[2]

    def test_an_empty_index_answers_nothing(self, backend: IndexBackend) -> None:
        self._filled(backend).close()
        backend.remove("/docs/faq.txt")
        backend.remove("/docs/fees.txt")
        backend.commit()
        with backend.open() as view:
            assert view.n_chunks == 0 and view.sources() == []
            assert view.dense_scores(backend.embedder.embed_queries(["提现"])[0], 5) == []
            assert view.keyword_scores("提现", 5) == []
            assert view.document_frequency("提现") == 0

    def test_the_view_knows_what_built_it(self, backend: IndexBackend) -> None:
        with self._filled(backend) as view:
            assert view.embedder == backend.embedder.info
            assert view.verify() == []
            assert view.manifest  # what the version says about itself


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()
