"""Candidate words' query vectors computed at ingest (ingest.words): a question in another script
than the corpus (English over the Chinese FAQ) reads them instead of embedding each passage's
words at its first read; a deleted source's words go with it at the next merge."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import ingest.pipeline as pipeline_module
from ingest.pipeline import Ingestor
from ingest.transfer import import_rows
from ingest.words import new_word_vectors
from rag.cli.factory import build_ingestor
from rag.domain import Chunk, Document, sha256_hex
from rag.embedders import E5Embedder
from rag.index import MergePolicy
from rag.index.builder import sentence_key
from rag.index.merge import optimize
from rag.service import QAService
from rag.settings import load_settings
from rag.store import IndexStore
from rag.text.terms import WORD_KEY, question_terms, word_inputs
from tests.conftest import SAMPLE, HashEmbedder
from tests.rag.test_segments import CHUNKER

ZH_A = "提现申请在两个工作日内处理。大额提现需要人工审核。"
ZH_B = "充值通常在十分钟内到账。提现手续费按笔收取。"
ZH_C = "审核通过后资金立即到账。"


class Counting:
    """An embedder that records what it was asked to embed as queries."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.info = inner.info  # type: ignore[attr-defined]
        self.queries: list[list[str]] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)  # type: ignore[attr-defined,no-any-return]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.append(list(texts))
        return self.inner.embed_queries(texts)  # type: ignore[attr-defined,no-any-return]


def add_file(store: IndexStore, embedder: object, root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")
    Ingestor(store, embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20).ingest([root / name])  # type: ignore[arg-type]


def chunk_words(store: IndexStore) -> list[str]:
    """The candidate words of every live chunk (what the answerer may ask for)."""
    with store.open() as view:
        return list(dict.fromkeys(w for c in view.chunks() for w in word_inputs(c.text, c.heading)))


def stored_words(store: IndexStore, words: Sequence[str]) -> set[str]:
    with store.open() as view:
        return {k[len(WORD_KEY) :] for k in view.sentence_vectors([WORD_KEY + w for w in words])}


def test_words_are_stored_once_with_the_source_that_brings_them(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    counting = Counting(hash_embedder)
    add_file(store, counting, tmp_path, "a.txt", ZH_A)
    words_a = chunk_words(store)
    assert "提现" in words_a and "审核" in words_a
    assert stored_words(store, words_a) == set(words_a)
    assert sorted(w for batch in counting.queries for w in batch) == sorted(words_a)  # each once
    with store.open() as view:
        vectors = view.sentence_vectors([WORD_KEY + "提现"])
    assert float(vectors[WORD_KEY + "提现"] @ hash_embedder.embed_queries(["提现"])[0]) > 0.999  # int8, rescaled
    counting.queries.clear()
    add_file(store, counting, tmp_path, "b.txt", ZH_B)
    new = [w for batch in counting.queries for w in batch]
    assert "提现" not in new and "充值" in new  # a word the index holds is not embedded again
    with store.open() as view:
        assert not view.segments[-1].rows_sql("SELECT 1 FROM sentences WHERE key = ?", (sentence_key(WORD_KEY + "提现"),))
        assert view.segments[-1].rows_sql("SELECT 1 FROM sentences WHERE key = ?", (sentence_key(WORD_KEY + "充值"),))


def test_a_deleted_sources_words_are_stored_again_by_the_next_source_and_merged_away(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    add_file(store, hash_embedder, tmp_path, "a.txt", ZH_A)  # brings 提现, 审核, 工作日 ...
    add_file(store, hash_embedder, tmp_path, "b.txt", ZH_B)  # uses 提现 without storing it again
    Ingestor(store, hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20).remove(["/" + str(tmp_path / "a.txt").lstrip("/")])  # type: ignore[arg-type]
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        held = writer.held_words([WORD_KEY + "提现", WORD_KEY + "充值"])
    assert held == {WORD_KEY + "充值"}  # 提现 is owned by a deleted source now
    counting = Counting(hash_embedder)
    add_file(store, counting, tmp_path, "c.txt", ZH_C)  # brings 审核 again
    assert "审核" in [w for batch in counting.queries for w in batch]
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        optimize(writer)
    live = chunk_words(store)
    only_a = [w for w in word_inputs(ZH_A) if w not in live]
    assert only_a and not stored_words(store, only_a)  # deletions really delete, at the merge
    assert stored_words(store, ["审核", "充值"]) == {"审核", "充值"}


def test_an_edited_source_keeps_its_words_through_a_merge(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    add_file(store, hash_embedder, tmp_path, "a.txt", ZH_A)
    counting = Counting(hash_embedder)
    add_file(store, counting, tmp_path, "a.txt", ZH_A + ZH_C)  # replaced: its old chunks go
    embedded = {w for batch in counting.queries for w in batch}
    assert "提现" not in embedded and "资金" in embedded  # the old version's vectors are copied, not embedded again
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        optimize(writer)
    assert stored_words(store, chunk_words(store)) == set(chunk_words(store))


def test_a_removal_earlier_in_the_session_does_not_count_as_holding_a_word(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx", merge_policy=MergePolicy(factor=1000))
    add_file(store, hash_embedder, tmp_path, "x.txt", ZH_A)
    (tmp_path / "x.txt").rename(tmp_path / "y.txt")  # a move, as `rag ingest --sync` sees it
    Ingestor(store, hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20).ingest([tmp_path], sync=True)  # type: ignore[arg-type]
    with store.open() as view:
        assert [s.path.rsplit("/", 1)[-1] for s in view.sources()] == ["y.txt"]
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        optimize(writer)
    assert stored_words(store, chunk_words(store)) == set(chunk_words(store))


def test_new_word_vectors_gives_each_word_to_the_first_source_that_has_it(hash_embedder: HashEmbedder) -> None:
    def chunk(text: str, n: int) -> Chunk:
        document = Document(path=f"/{n}.txt", text=text, content_hash=sha256_hex(text), kind="txt")
        return CHUNKER.split(document)[0]

    groups = [[chunk("提现申请在两个工作日内处理。", 1)], [chunk("提现手续费按笔收取。", 2)]]
    copied = np.full(64, 0.125, dtype=np.float32)
    out, embedded = new_word_vectors(
        groups, lambda keys: {WORD_KEY + "手续费"} & set(keys), lambda keys: {WORD_KEY + "收取": copied} if WORD_KEY + "收取" in keys else {}, hash_embedder.embed_queries
    )
    assert WORD_KEY + "提现" in out[0] and WORD_KEY + "提现" not in out[1]
    assert WORD_KEY + "手续费" not in out[1]  # a live chunk holds it
    assert out[1][WORD_KEY + "收取"] is copied  # a deleted one held it: copied, not embedded
    assert embedded == len(out[0]) + len(out[1]) - 1


class QuerySide(HashEmbedder):
    """Queries embedded apart from passages (as e5's "query: " prefix does)."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages([f"q {t}" for t in texts])


def test_rag_import_stores_words_only_when_asked(tmp_path: Path) -> None:
    hash_embedder = QuerySide()
    rows = tmp_path / "rows.jsonl"
    vector = hash_embedder.embed_passages([ZH_A])[0].tolist()
    rows.write_text(json.dumps({"source": "a.txt", "text": ZH_A, "vector": vector}, ensure_ascii=False) + "\n", encoding="utf-8")
    name = f"{hash_embedder.info.backend}:{hash_embedder.info.model}"
    plain = IndexStore(tmp_path / "plain")
    import_rows(plain, [rows], chunker=CHUNKER.config, embedder_name=name)
    assert chunk_words(plain) and not stored_words(plain, chunk_words(plain))
    asked = IndexStore(tmp_path / "asked")
    import_rows(asked, [rows], chunker=CHUNKER.config, embedder_name=name, sentence_embedder=hash_embedder.embed_passages, word_embedder=hash_embedder.embed_queries)
    assert stored_words(asked, chunk_words(asked)) == set(chunk_words(asked))
    with asked.open() as view:
        word = chunk_words(asked)[0]
        vector = view.sentence_vectors([WORD_KEY + word])[WORD_KEY + word]
    assert float(vector @ hash_embedder.embed_queries([word])[0]) > 0.999  # the query side, as the answerer embeds words


@pytest.mark.model
def test_an_english_first_read_embeds_no_passage_words_and_answers_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real e5 on the sample FAQ: the fixed and fresh questions get the same answers and
    citations from stored (int8) word vectors as from words embedded at reading; an English
    question's first read embeds only the question and its own terms."""
    questions = [json.loads(line)["question"] for name in ("questions.jsonl", "questions_fresh.jsonl")
                 for line in (Path(__file__).parents[1] / "data" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    e5 = E5Embedder(threads=2)
    answers = {}
    for mode in ("stored", "read"):
        root = tmp_path / mode
        root.mkdir()
        shutil.copy(SAMPLE, root / "faq.txt")
        if mode == "read":
            monkeypatch.setattr(pipeline_module, "new_word_vectors", lambda groups, *_: ([{} for _ in groups], 0))
        report = build_ingestor(load_settings(environ={}), embedder=e5, index_dir=root / "idx").ingest([root / "faq.txt"])
        assert (report.words_embedded > 100) == (mode == "stored")
        counting = Counting(e5)
        service = QAService(IndexStore(root / "idx").open(e5.info), counting)
        if mode == "stored":
            question = "How long does a bitcoin transaction take to confirm?"
            service.ask(question)
            asked = {w for batch in counting.queries for w in batch}
            assert asked and asked <= {question, *question_terms(question)}  # no passage word embedded
            with IndexStore(root / "idx").open() as view:
                assert len(view.sentence_vectors([WORD_KEY + w for w in chunk_words(IndexStore(root / "idx"))])) > 100
        answers[mode] = [(a.text, [(c.start, c.end) for c in a.citations]) for a in map(service.ask, questions)]
    assert answers["stored"] == answers["read"]
    assert sum(1 for text, cited in answers["stored"] if cited) >= 20  # most of them answered, not all refused
