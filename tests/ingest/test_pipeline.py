"""The ingest pipeline end to end in-process: real loaders, chunker, FAISS and SQLite; a fake embedder
for speed (tests/test_cli.py runs the same through the real command with the real model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.chunking import SentenceChunker
from ingest.pipeline import Ingestor, discover
from rag.store import IndexStore
from tests.conftest import SAMPLE, HashEmbedder


def make(tmp_path: Path, embedder: HashEmbedder, **kw: object) -> Ingestor:
    chunker = SentenceChunker(chunk_size=kw.pop("chunk_size", 320), chunk_overlap=0)  # type: ignore[arg-type]
    return Ingestor(
        IndexStore(tmp_path / "idx"),
        embedder,
        chunker,
        chunker_config=chunker.config,
        max_file_bytes=int(kw.pop("max_file_bytes", 1024 * 1024)),  # type: ignore[call-overload]
        commit_every=int(kw.pop("commit_every", 200)),  # type: ignore[call-overload]
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    shutil.copy(SAMPLE, root / "faq.txt")
    (root / "a.md").write_text("# Title\nSome English text. Another sentence.\n", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("第二个文件。内容。\n", encoding="utf-8")
    (root / ".hidden.txt").write_text("hidden files are skipped", encoding="utf-8")
    (root / "ignored.xyz").write_text("unsupported extensions in folders are not picked up", encoding="utf-8")
    return root


def test_discover_walks_folders_and_reports_missing(tmp_path: Path, docs: Path) -> None:
    files, skipped = discover([docs, tmp_path / "missing"])
    assert [f.name for f in files] == ["a.md", "faq.txt", "b.txt"]
    assert [(Path(s.path).name, s.reason) for s in skipped] == [("missing", "no such file or directory")]


def test_incremental_ingest(tmp_path: Path, docs: Path, hash_embedder: HashEmbedder) -> None:
    ingestor = make(tmp_path, hash_embedder)
    first = ingestor.ingest([docs])
    assert (first.files_added, first.files_unchanged, first.skipped) == (3, 0, [])
    assert first.chunks_added == first.chunks_embedded > 10

    again = ingestor.ingest([docs])
    assert (again.files_added, again.files_updated, again.files_unchanged) == (0, 0, 3)
    assert (again.chunks_added, again.chunks_embedded, again.chunks_unchanged) == (0, 0, first.chunks_added)
    assert again.version == first.version, "nothing changed: no new version"

    # Change one paragraph of the FAQ: only its chunk is embedded again.
    faq = docs / "faq.txt"
    faq.write_text(faq.read_text(encoding="utf-8").replace("响应速度是一个关键指标", "响应速度是最重要的指标"), encoding="utf-8")
    changed = ingestor.ingest([docs])
    assert (changed.files_updated, changed.files_unchanged) == (1, 2)
    assert changed.chunks_embedded == 1
    assert changed.chunks_removed == changed.chunks_added == 10
    with IndexStore(tmp_path / "idx").open() as snap:
        assert snap.verify() == []
        texts = [c.text for c in snap.chunks()]
        assert any("响应速度是最重要的指标" in t for t in texts)
        assert not any("响应速度是一个关键指标" in t for t in texts)


def test_sync_and_remove(tmp_path: Path, docs: Path, hash_embedder: HashEmbedder) -> None:
    ingestor = make(tmp_path, hash_embedder)
    ingestor.ingest([docs])
    (docs / "sub" / "b.txt").unlink()
    not_synced = ingestor.ingest([docs])
    assert not_synced.files_removed == 0
    synced = ingestor.ingest([docs], sync=True)
    assert (synced.files_removed, synced.chunks_removed) == (1, 1)

    removed = ingestor.remove([str(docs / "a.md"), "not-there.txt"])
    assert removed.files_removed == 1
    assert [(s.path, s.reason) for s in removed.skipped] == [("not-there.txt", "not in the index")]
    with IndexStore(tmp_path / "idx").open() as snap:
        assert [Path(s.path).name for s in snap.sources()] == ["faq.txt"]
        assert snap.keyword_search("English", 5) == []
        source_id = snap.sources()[0].source_id
    by_id = ingestor.remove([source_id])
    assert by_id.files_removed == 1
    with IndexStore(tmp_path / "idx").open() as snap:
        assert snap.n_chunks == 0 and snap.verify() == []
        assert snap.keyword_search("比特币", 5) == []


def test_bad_files_are_reported_and_the_rest_goes_on(tmp_path: Path, docs: Path, hash_embedder: HashEmbedder) -> None:
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (docs / "big.txt").write_bytes(b"x" * (2 * 1024 * 1024))
    report = make(tmp_path, hash_embedder).ingest([docs, tmp_path / "missing.txt"])
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "broken.pdf", "big.txt", "missing.txt"}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["big.txt"].startswith("2.0 MB is over the size limit of 1 MB")
    assert report.files_added == 3
    with IndexStore(tmp_path / "idx").open() as snap:
        assert snap.verify() == [] and snap.n_sources == 3


def test_a_changed_file_that_is_now_broken_keeps_its_previous_version(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    path = tmp_path / "doc.txt"
    path.write_text("good text.", encoding="utf-8")
    ingestor = make(tmp_path, hash_embedder)
    ingestor.ingest([path])
    path.write_bytes(b"")
    report = ingestor.ingest([path])
    assert [s.reason for s in report.skipped] == ["empty file (its previous version stays in the index)"]
    with IndexStore(tmp_path / "idx").open() as snap:
        assert [c.text for c in snap.chunks()] == ["good text."]


def test_commits_every_n_files(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(5):
        (root / f"{i}.txt").write_text(f"file {i} text.", encoding="utf-8")
    report = make(tmp_path, hash_embedder, commit_every=2).ingest([root])
    assert report.version == "v000003"  # after files 2, 4 and 5
    with IndexStore(tmp_path / "idx").open() as snap:
        assert snap.n_sources == 5


def test_progress_callback(tmp_path: Path, docs: Path, hash_embedder: HashEmbedder) -> None:
    seen: list[tuple[int, int]] = []
    make(tmp_path, hash_embedder).ingest([docs], progress=lambda done, total, _r: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_the_index_inside_an_ingested_folder_is_not_ingested(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "doc.txt").write_text("only this.", encoding="utf-8")
    chunker = SentenceChunker()
    ingestor = Ingestor(IndexStore(root / "idx"), hash_embedder, chunker, chunker_config=chunker.config, max_file_bytes=1 << 20)
    ingestor.ingest([root])
    second = ingestor.ingest([root])  # the index now exists under root, with .json and .sqlite files
    assert (second.files_seen, second.files_unchanged, second.skipped) == (1, 1, [])
