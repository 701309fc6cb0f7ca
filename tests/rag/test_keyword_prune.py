"""Very common query terms are not scored by keyword search (``keyword_prune_df``), unless every
term of the query is that common; 1.0 scores every term."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.cli.factory import build_store
from rag.errors import ConfigError
from rag.settings import load_settings
from rag.store import IndexStore
from tests.conftest import HashEmbedder
from tests.rag.test_segments import add


def build(root: Path, embedder: HashEmbedder, share: float) -> IndexStore:
    store = IndexStore(root, keyword_prune_df=share)
    for n in range(10):
        words = (["common"] if n < 8 else []) + (["often"] if n % 5 else []) + [f"rare{n}", f"mid{n % 3}"]
        add(store, embedder, f"/d{n}.txt", " ".join(words) + ".")
    return store


def test_a_term_in_most_chunks_is_not_scored_unless_all_terms_are(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    pruned = build(tmp_path / "pruned", hash_embedder, 0.5)
    full = IndexStore(pruned.root, keyword_prune_df=1.0)  # the same files, every term scored
    with pruned.open() as view, full.open() as every:
        assert view.keyword_prune_df == 0.5 and every.keyword_prune_df == 1.0
        assert view.keyword_scores("common rare3 mid1", 10) == every.keyword_scores("common rare3 mid1", 10), "an index under 1,000 chunks keeps every term"
        view.keyword_prune_min_chunks = 0  # as a large index would
        assert view.keyword_scores("common rare3 mid1", 10) == view.keyword_scores("rare3 mid1", 10)
        assert every.keyword_scores("common rare3 mid1", 10) != every.keyword_scores("rare3 mid1", 10)
        # terms all that common (each in 8 of 10 chunks), or common with a term the index lacks: scored, not dropped
        assert len(view.keyword_scores("common", 10)) == 8
        assert view.keyword_scores("common often", 10) == every.keyword_scores("common often", 10)
        assert view.keyword_scores("common zzzabsent", 10) == every.keyword_scores("common zzzabsent", 10) != []
        # mid0 is in 4 of 10 chunks: under the share, scored
        assert view.keyword_scores("mid0 rare3", 10) == every.keyword_scores("mid0 rare3", 10)


def test_the_setting_reaches_the_store_and_is_checked(tmp_path: Path) -> None:
    store = build_store(load_settings(environ={"RAG_KEYWORD_PRUNE_DF": "0.3"}), tmp_path / "idx")
    assert store.keyword_prune_df == 0.3
    assert build_store(load_settings(environ={}), tmp_path / "idx").keyword_prune_df == 0.5
    with pytest.raises(ValueError, match="keyword_prune_df"):
        IndexStore(tmp_path / "idx", keyword_prune_df=0.0)
    with pytest.raises(ConfigError, match="keyword_prune_df"):
        load_settings(environ={"RAG_KEYWORD_PRUNE_DF": "1.5"})
