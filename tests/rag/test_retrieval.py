"""Hybrid retrieval (rag/retrieval.py): the fusion of dense and keyword lists, and the retrievers
over a tiny real index (real FAISS, SQLite and bm25s; vectors from the deterministic
``HashEmbedder`` of tests/conftest.py, one chunk per source so every expectation is exact)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from rag.domain import Chunk, Document, sha256_hex, source_id_for
from rag.errors import EmbedderError, IndexFormatError, IndexMismatchError
from rag.retrieval import DenseRetriever, FusionConfig, HybridRetriever, KeywordRetriever, Scored, fused_scores
from rag.store import IndexSnapshot, IndexStore
from tests.conftest import HashEmbedder

ZSCORE = FusionConfig()
RRF = FusionConfig(method="rrf")

# A retriever that knows the answer: five candidates, clearly ordered.
GOOD: list[Scored] = [(1, 5.0), (2, 4.0), (3, 3.0), (4, 2.0), (5, 1.0)]


def ids(scored: Sequence[Scored]) -> list[int]:
    return [v for v, _ in scored]


# -- fused_scores: the fusion itself ---------------------------------------------------------


@pytest.mark.parametrize("config", [ZSCORE, RRF], ids=["zscore", "rrf"])
def test_both_lists_empty_fuse_to_nothing(config: FusionConfig) -> None:
    assert fused_scores([], [], config) == []


@pytest.mark.parametrize("config", [ZSCORE, RRF], ids=["zscore", "rrf"])
def test_an_empty_list_leaves_the_other_ranking_as_it_is(config: FusionConfig) -> None:
    assert ids(fused_scores(GOOD, [], config)) == ids(GOOD)  # no keyword hit
    assert ids(fused_scores([], GOOD, config)) == ids(GOOD)  # no dense list (dense_weight 0)
    other: list[Scored] = [(5, 5.0), (4, 4.0), (3, 3.0), (2, 2.0), (1, 1.0)]  # not the id order, not the tie-break order
    assert ids(fused_scores([], other, config)) == [5, 4, 3, 2, 1]
    assert ids(fused_scores(other, [], config)) == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("flat_is", ["dense", "keyword"])
def test_an_all_equal_list_does_not_reorder_the_informed_one(flat_is: str) -> None:
    flat: list[Scored] = [(2, 0.3), (1, 0.3), (3, 0.3), (4, 0.3), (5, 0.3)]  # knows nothing; 2 happens to come first
    dense, keyword = (flat, GOOD) if flat_is == "dense" else (GOOD, flat)
    assert ids(fused_scores(dense, keyword, ZSCORE)) == ids(GOOD)


def test_a_list_whose_top_does_not_stand_out_is_ignored_with_min_confidence() -> None:
    # dense: two candidates, z = +1 / -1 (top z 1.0 < 1.5); keyword: one outlier, top z 2.0 (>= 1.5)
    dense: list[Scored] = [(9, 0.75), (8, 0.25)]
    keyword: list[Scored] = [(8, 10.0), (7, 1.0), (6, 1.0), (5, 1.0), (4, 1.0)]
    kept = fused_scores(dense, keyword, FusionConfig(min_confidence=1.5, support_top=0))
    assert ids(kept)[:1] == [8]
    assert dict(kept)[9] == pytest.approx(-0.5)  # keyword's floor only: the dense +1 is gone
    heard = dict(fused_scores(dense, keyword, FusionConfig(min_confidence=0.0, support_top=0)))
    assert heard[9] == pytest.approx(1.0 - 0.5)
    assert heard[8] == pytest.approx(-1.0 + 2.0)


# A keyword list that testifies against the dense one: one outlier among six, so its top z is
# sqrt(5) = 2.24 (>= support_min_z 2.0) and the others' -1/sqrt(5).
WITNESS: list[Scored] = [(1, 10.0), (2, 1.0), (3, 1.0), (4, 1.0), (5, 1.0), (50, 1.0)]
TOP, REST = 5**0.5, -(5**-0.5)


def test_a_dense_list_neither_supported_nor_standing_out_is_discounted() -> None:
    dense: list[Scored] = [(6, 0.75), (7, 0.25)]  # z +1 / -1 (top 1.0 < standout_z 3); neither among the keyword candidates
    fused = dict(fused_scores(dense, WITNESS, ZSCORE))
    w = ZSCORE.unsupported_weight * ZSCORE.dense_weight  # 0.5
    assert fused[6] == pytest.approx(w * 1.0 + REST)  # the keyword list scores what it did not return as its worst
    assert fused[7] == pytest.approx(w * -1.0 + REST)
    assert fused[1] == pytest.approx(w * -1.0 + TOP)  # and so does the dense list
    # support_top=0 switches the discount off: full weight
    undiscounted = dict(fused_scores(dense, WITNESS, FusionConfig(support_top=0)))
    assert undiscounted[6] == pytest.approx(1.0 + REST)
    assert undiscounted[1] == pytest.approx(-1.0 + TOP)
    # a keyword list whose top does not stand out (z 1.0 < 2.0) is no witness: full weight too
    weak: list[Scored] = [(1, 2.0), (2, 1.0)]
    assert dict(fused_scores(dense, weak, ZSCORE))[6] == pytest.approx(1.0 - 1.0)


def test_a_dense_list_half_supported_by_the_keyword_list_earns_half_the_discount_back() -> None:
    dense: list[Scored] = [(1, 0.75), (6, 0.25)]  # its best two: 1 is a keyword candidate, 6 is not
    fused = dict(fused_scores(dense, WITNESS, ZSCORE))
    w = 0.5 + 0.5 * 0.5  # unsupported_weight + (1 - unsupported_weight) * support
    assert fused[1] == pytest.approx(w * 1.0 + TOP)
    assert fused[6] == pytest.approx(w * -1.0 + REST)


def test_a_dense_top_that_stands_out_keeps_full_weight_unsupported() -> None:
    dense: list[Scored] = [(100, 1.0)] + [(200 + i, 0.0) for i in range(25)]  # top z = sqrt(25) = 5 = standout_z[1]
    fused = dict(fused_scores(dense, WITNESS, ZSCORE))
    assert fused[100] == pytest.approx(5.0 + REST)
    assert fused[200] == pytest.approx(-0.2 + REST)  # the others: z = -1/5, at full weight
    assert fused[1] == pytest.approx(-0.2 + TOP)


def test_ties_are_broken_by_dense_rank_then_vector_id() -> None:
    # zscore: 20 and 10 fuse to exactly 0.0 (+1-1 and -1+1); the dense list ranks 20 first
    dense: list[Scored] = [(20, 0.75), (10, 0.25)]
    keyword: list[Scored] = [(10, 3.0), (20, 1.0)]
    for config in (ZSCORE, RRF):  # rrf: 1/61 + 1/62 each
        fused = fused_scores(dense, keyword, config)
        assert fused[0][1] == fused[1][1]
        assert ids(fused) == [20, 10]
    # keyword-only candidates with equal scores: by vector id, whatever order the list gave
    single: list[Scored] = [(1, 0.5)]
    tied_keyword: list[Scored] = [(1, 3.0), (9, 1.0), (4, 1.0)]
    assert ids(fused_scores(single, tied_keyword, ZSCORE)) == [1, 4, 9]
    assert ids(fused_scores(single, [(1, 3.0), (4, 1.0), (9, 1.0)], ZSCORE)) == [1, 4, 9]
    assert ids(fused_scores([], [(9, 2.0), (4, 2.0), (7, 2.0)], RRF)) == [9, 4, 7]  # rrf: distinct ranks, no tie


def test_rrf_adds_weight_over_k_plus_rank_and_ignores_the_scores() -> None:
    dense: list[Scored] = [(1, 0.9), (2, 0.1)]
    keyword: list[Scored] = [(2, 7.0), (3, 6.0)]
    fused = fused_scores(dense, keyword, FusionConfig(method="rrf", rrf_k=60))
    assert ids(fused) == [2, 1, 3]
    assert dict(fused) == pytest.approx({1: 1 / 61, 2: 1 / 62 + 1 / 61, 3: 1 / 62})
    weighted = dict(fused_scores(dense, keyword, FusionConfig(method="rrf", rrf_k=10, dense_weight=2.0, keyword_weight=0.5)))
    assert weighted == pytest.approx({1: 2 / 11, 2: 2 / 12 + 0.5 / 11, 3: 0.5 / 12})
    rescaled = fused_scores([(1, 900.0), (2, -5.0)], [(2, 0.01), (3, 0.001)], FusionConfig(method="rrf"))
    assert rescaled == fused


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "sum"}, "fusion method must be 'zscore' or 'rrf'"),
        ({"dense_weight": 0.0, "keyword_weight": 0.0}, "not both 0"),
        ({"dense_weight": -1.0}, "weights must be >= 0"),
        ({"candidates": 0}, "candidates must be positive"),
        ({"rrf_k": 0}, "rrf_k must be positive"),
        ({"support_top": -1}, "support_top must be >= 0"),
        ({"unsupported_weight": 1.5}, "unsupported_weight must be between 0 and 1"),
        ({"standout_z": (5.0, 3.0)}, "standout_z must be two increasing"),
    ],
)
def test_fusion_config_refuses_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FusionConfig(**kwargs)  # type: ignore[arg-type]


# -- the retrievers over a tiny real index -------------------------------------------------

TEXTS = {
    "/a.txt": "Withdrawals take one business day.",
    "/b.txt": "Large withdrawals need a manual review.",
    "/c.txt": "Deposits arrive after six confirmations.",
    "/d.txt": "提现需要一个工作日。",
    "/e.txt": "大额提现需要人工审核。",
}
CHUNKER_CONFIG = {"name": "one-chunk-per-source"}


def _put(writer, embedder: HashEmbedder, path: str, text: str) -> None:  # type: ignore[no-untyped-def]
    doc = Document(path=path, text=text, content_hash=sha256_hex(text), kind="text")
    chunk = Chunk(doc.source_id, 0, 0, len(text), text)
    writer.put_source(doc, [chunk], embedder.embed_passages([chunk.embed_text]))


@pytest.fixture(scope="module")
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory, embedder: HashEmbedder) -> Iterator[IndexSnapshot]:
    store = IndexStore(tmp_path_factory.mktemp("retrieval") / "idx")
    with store.writer(embedder.info, CHUNKER_CONFIG) as w:
        for path, text in TEXTS.items():
            _put(w, embedder, path, text)
        w.commit()
    with store.open(embedder.info) as snap:
        yield snap


@pytest.fixture(scope="module")
def empty_snapshot(tmp_path_factory: pytest.TempPathFactory, embedder: HashEmbedder) -> Iterator[IndexSnapshot]:
    store = IndexStore(tmp_path_factory.mktemp("empty") / "idx")
    with store.writer(embedder.info, CHUNKER_CONFIG) as w:
        _put(w, embedder, "/gone.txt", "Withdrawals take one business day.")
        w.commit()
        w.remove_source("/gone.txt")
        w.commit()
    with store.open(embedder.info) as snap:
        assert snap.n_chunks == 0
        yield snap


def test_empty_index_gives_empty_lists(empty_snapshot: IndexSnapshot, embedder: HashEmbedder) -> None:
    for config in (ZSCORE, RRF):
        assert HybridRetriever.over(empty_snapshot, embedder, config).retrieve("withdrawals", 5) == []
    assert HybridRetriever.over(empty_snapshot, embedder).retrieve("withdrawals", 5, sources=["/gone.txt"]) == []
    assert DenseRetriever(empty_snapshot, embedder).retrieve("withdrawals", 5) == []
    assert KeywordRetriever(empty_snapshot).retrieve("withdrawals", 5) == []


def test_no_keyword_hit_gives_the_dense_ranking_or_nothing(snapshot: IndexSnapshot, embedder: HashEmbedder) -> None:
    query = "zebra crossing"  # no term of it is in the index
    assert KeywordRetriever(snapshot).retrieve(query, 5) == []
    assert HybridRetriever.over(snapshot, embedder, FusionConfig(dense_weight=0.0)).retrieve(query, 5) == []
    dense = DenseRetriever(snapshot, embedder).retrieve(query, 5)
    hybrid = HybridRetriever.over(snapshot, embedder).retrieve(query, 5)
    assert len(hybrid) == 5
    assert [p.chunk.vector_id for p in hybrid] == [p.chunk.vector_id for p in dense]
    assert all(p.keyword_rank is None and p.keyword_score is None for p in hybrid)
    assert [p.dense_rank for p in hybrid] == [1, 2, 3, 4, 5]


def test_without_a_dense_list_the_keyword_ranking_comes_back(snapshot: IndexSnapshot, embedder: HashEmbedder) -> None:
    keyword = KeywordRetriever(snapshot).retrieve("large withdrawals review", 5)
    assert [p.chunk.path for p in keyword] == ["/b.txt", "/a.txt"]
    hybrid = HybridRetriever.over(snapshot, embedder, FusionConfig(dense_weight=0.0)).retrieve("large withdrawals review", 5)
    assert [p.chunk.vector_id for p in hybrid] == [p.chunk.vector_id for p in keyword]
    assert [(p.keyword_rank, p.keyword_score) for p in hybrid] == [(p.rank, p.score) for p in keyword]
    assert all(p.dense_rank is None for p in hybrid)


def test_source_filter_applies_to_both_retrievers(snapshot: IndexSnapshot, embedder: HashEmbedder) -> None:
    query = "withdrawals 提现"
    everything = HybridRetriever.over(snapshot, embedder).retrieve(query, 10)
    assert {p.chunk.path for p in everything} == set(TEXTS)  # unfiltered, every source is a candidate
    for config in (ZSCORE, RRF):
        hybrid = HybridRetriever.over(snapshot, embedder, config)
        only = hybrid.retrieve(query, 10, sources=["/b.txt", "/c.txt", "/e.txt"])
        assert {p.chunk.path for p in only} == {"/b.txt", "/c.txt", "/e.txt"}
        by_path = {p.chunk.path: p for p in only}
        # the keyword list saw only the allowed sources (its ranks are among them, 1 and 2), and so did the dense one
        assert sorted(p.keyword_rank for p in only if p.keyword_rank is not None) == [1, 2]
        assert by_path["/c.txt"].keyword_rank is None  # no query term in it: dense only
        assert sorted(p.dense_rank for p in only if p.dense_rank is not None) == [1, 2, 3]
    # a source id works like a path; a source that is not there leaves nothing
    assert [p.chunk.path for p in HybridRetriever.over(snapshot, embedder).retrieve(query, 10, sources=[source_id_for("/d.txt")])] == ["/d.txt"]
    assert HybridRetriever.over(snapshot, embedder).retrieve(query, 10, sources=["/nope.txt"]) == []
    assert HybridRetriever.over(snapshot, embedder).retrieve(query, 10, sources=[]) == []


def test_passages_carry_the_fused_score_and_each_retrievers_say(snapshot: IndexSnapshot, embedder: HashEmbedder) -> None:
    query = "large withdrawals review"
    hybrid = HybridRetriever.over(snapshot, embedder).retrieve(query, 5)
    dense = {p.chunk.vector_id: p for p in DenseRetriever(snapshot, embedder).retrieve(query, 5)}
    keyword = {p.chunk.vector_id: p for p in KeywordRetriever(snapshot).retrieve(query, 5)}
    assert [p.rank for p in hybrid] == [1, 2, 3, 4, 5]
    assert [p.score for p in hybrid] == sorted((p.score for p in hybrid), reverse=True)
    assert hybrid[0].chunk.path == "/b.txt"  # the best of both lists
    for p in hybrid:
        assert (p.dense_rank, p.dense_score) == (dense[p.chunk.vector_id].rank, dense[p.chunk.vector_id].score)
        if p.chunk.vector_id in keyword:
            assert (p.keyword_rank, p.keyword_score) == (keyword[p.chunk.vector_id].rank, keyword[p.chunk.vector_id].score)
        else:
            assert p.keyword_rank is None
    d = [(v, dense[v].score) for v in sorted(dense, key=lambda v: dense[v].rank)]
    k = [(v, keyword[v].score) for v in sorted(keyword, key=lambda v: keyword[v].rank)]
    assert [(p.chunk.vector_id, p.score) for p in hybrid] == fused_scores(d, k, ZSCORE)


@pytest.mark.parametrize("top_k", [0, -1])
def test_top_k_must_be_positive(snapshot: IndexSnapshot, embedder: HashEmbedder, top_k: int) -> None:
    for retriever in (HybridRetriever.over(snapshot, embedder), DenseRetriever(snapshot, embedder), KeywordRetriever(snapshot)):
        with pytest.raises(ValueError, match=f"top_k must be positive, got {top_k}"):
            retriever.retrieve("withdrawals", top_k)


def test_top_k_bounds_the_list_and_cuts_the_same_ranking(snapshot: IndexSnapshot, embedder: HashEmbedder) -> None:
    hybrid = HybridRetriever.over(snapshot, embedder)
    full = hybrid.retrieve("withdrawals 提现", 100)
    assert len(full) == len(TEXTS)  # more than the index holds: all of it, once each
    assert len({p.chunk.vector_id for p in full}) == len(TEXTS)
    for top_k in (1, 2, 3):
        cut = hybrid.retrieve("withdrawals 提现", top_k)
        assert [(p.chunk.vector_id, p.rank) for p in cut] == [(p.chunk.vector_id, p.rank) for p in full[:top_k]]


def test_each_retriever_is_asked_for_max_of_top_k_and_candidates(
    snapshot: IndexSnapshot, embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, int]] = []
    dense_scores, keyword_scores = snapshot.dense_scores, snapshot.keyword_scores

    def spy_dense(vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        asked.append(("dense", k))
        return dense_scores(vector, k, allowed)

    def spy_keyword(query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        asked.append(("keyword", k))
        return keyword_scores(query, k, allowed)

    monkeypatch.setattr(snapshot, "dense_scores", spy_dense)
    monkeypatch.setattr(snapshot, "keyword_scores", spy_keyword)
    assert len(HybridRetriever.over(snapshot, embedder, FusionConfig(candidates=3)).retrieve("withdrawals", 1)) == 1
    assert len(HybridRetriever.over(snapshot, embedder, FusionConfig(candidates=3)).retrieve("withdrawals", 4)) == 4
    assert asked == [("dense", 3), ("keyword", 3), ("dense", 4), ("keyword", 4)]
    asked.clear()
    HybridRetriever.over(snapshot, embedder, FusionConfig(keyword_weight=0.0)).retrieve("withdrawals", 2)
    assert asked == [("dense", 50)]  # a retriever with weight 0 is not asked at all


class FailingEmbedder(HashEmbedder):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbedderError("the fake model is broken")


def test_a_failing_dense_retriever_propagates_its_error(snapshot: IndexSnapshot) -> None:
    # Today's behaviour: no fallback to the keyword list; the embedder's own typed error reaches the caller.
    with pytest.raises(EmbedderError, match="the fake model is broken"):
        HybridRetriever.over(snapshot, FailingEmbedder()).retrieve("withdrawals", 3)
    # with dense_weight 0 the embedder is never called, so the keyword list answers
    passages = HybridRetriever.over(snapshot, FailingEmbedder(), FusionConfig(dense_weight=0.0)).retrieve("withdrawals", 3)
    assert [p.chunk.path for p in passages] == ["/a.txt", "/b.txt"]
    # a query vector of another dimension than the index: the store's IndexMismatchError
    with pytest.raises(IndexMismatchError, match="query vector has dimension 32, the index 64"):
        HybridRetriever.over(snapshot, HashEmbedder(dim=32)).retrieve("withdrawals", 3)


def test_a_failing_keyword_retriever_propagates_its_error(
    snapshot: IndexSnapshot, embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = IndexFormatError("bm25 index damaged")

    def broken(query: str, k: int, allowed: np.ndarray | None = None) -> list[Scored]:
        raise error

    monkeypatch.setattr(snapshot, "keyword_scores", broken)
    with pytest.raises(IndexFormatError) as caught:
        HybridRetriever.over(snapshot, embedder).retrieve("withdrawals", 3)
    assert caught.value is error  # not wrapped, not swallowed
    # with keyword_weight 0 the keyword side is not consulted: the dense list answers alone
    assert len(HybridRetriever.over(snapshot, embedder, FusionConfig(keyword_weight=0.0)).retrieve("withdrawals", 3)) == 3

