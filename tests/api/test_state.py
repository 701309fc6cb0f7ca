"""api/state.py: the server's shared pipeline over components built by the factory (fast: a fake
embedder, the real index store and ingestor), and the upload file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.state import Pipeline, document_dict, safe_filename
from rag.cli.factory import Factory
from rag.errors import GenerationError, NotReadyError, UploadError
from rag.settings import Settings
from tests.conftest import HashEmbedder

FAQ = "提现一般需要1个工作日到账。大额提现需要人工审核。\n"


class RecordingFactory(Factory):
    closed = 0

    def close(self) -> None:
        RecordingFactory.closed += 1
        super().close()


def _pipeline(tmp_path: Path) -> Pipeline:
    settings = Settings(index_dir=tmp_path / "idx")
    return Pipeline(settings, RecordingFactory(settings, embedder=HashEmbedder()))


def _staged(tmp_path: Path, pipeline: Pipeline, name: str, text: str | bytes) -> tuple[str, Path]:
    staging = pipeline.staging_dir()
    path = staging / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return name, path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("notes.md", "notes.md"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x.txt", "x.txt"),
        (".hidden.txt", "hidden.txt"),
        ("a:b*c?.txt", "a_b_c_.txt"),
        ("报告.pdf", "报告.pdf"),
    ],
)
def test_safe_filename_keeps_the_last_component(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


def test_safe_filename_cuts_long_names_to_200_bytes_and_keeps_the_suffix() -> None:
    name = safe_filename("中" * 120 + ".txt")
    assert len(name.encode()) <= 200 and name.endswith(".txt") and name.startswith("中")


@pytest.mark.parametrize("given", [None, "", "..", "/", "."])
def test_unusable_names_are_upload_errors(given: str | None) -> None:
    with pytest.raises(UploadError) as info:
        safe_filename(given)
    assert str(info.value) == f"unusable file name {given!r}: give the file a name such as notes.md"


def test_load_builds_the_language_model_before_there_is_an_index(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "idx", generator="gguf", gguf_path=tmp_path / "missing.gguf")
    pipeline = Pipeline(settings, Factory(settings, embedder=HashEmbedder()))
    with pytest.raises(GenerationError, match="gguf: no model file at"):
        pipeline.load()
    assert not pipeline.loaded


def test_no_index_yet_is_not_ready_and_uploads_create_it(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    pipeline.load()  # no index: loading still succeeds, so documents can be uploaded
    assert pipeline.loaded
    with pytest.raises(NotReadyError, match="no index yet"):
        pipeline.service()
    result = pipeline.ingest_uploads([_staged(tmp_path, pipeline, "faq.txt", FAQ)])
    assert [d["status"] for d in result.documents] == ["added"] and result.index_version is not None
    assert (pipeline.uploads / "faq.txt").read_text(encoding="utf-8") == FAQ
    service = pipeline.service()
    assert service.snapshot.version == result.index_version
    assert pipeline.status()["chunks"] == service.snapshot.n_chunks > 0


def test_statuses_and_the_switch_to_a_new_version(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    first = pipeline.ingest_uploads([_staged(tmp_path, pipeline, "faq.txt", FAQ)])
    before = pipeline.service()
    same = pipeline.ingest_uploads([_staged(tmp_path, pipeline, "faq.txt", FAQ)])
    assert [d["status"] for d in same.documents] == ["unchanged"]
    changed = pipeline.ingest_uploads([_staged(tmp_path, pipeline, "faq.txt", FAQ + "客服全天在线。\n")])
    assert [d["status"] for d in changed.documents] == ["updated"] and changed.index_version != first.index_version
    after = pipeline.service()
    assert after is not before and after.snapshot.version == changed.index_version
    assert pipeline.service() is after  # same version: the same service


def test_an_unreadable_upload_puts_the_earlier_file_back(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    pipeline.ingest_uploads([_staged(tmp_path, pipeline, "faq.txt", FAQ)])
    result = pipeline.ingest_uploads([_staged(tmp_path, pipeline, "faq.txt", b"\x00\x01\x02binary\xff" * 50)])
    assert result.documents == [] and [s["name"] for s in result.skipped] == ["faq.txt"]
    assert (pipeline.uploads / "faq.txt").read_text(encoding="utf-8") == FAQ  # the earlier upload, as the index has it
    assert [document_dict(s, pipeline.names())["name"] for s in pipeline.snapshot().sources()] == ["faq.txt"]


def test_delete_removes_the_source_and_its_uploaded_file(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    added = pipeline.ingest_uploads([_staged(tmp_path, pipeline, "faq.txt", FAQ)]).documents[0]
    with pytest.raises(KeyError):
        pipeline.delete("no-such-id")
    gone = pipeline.delete(added["id"])
    assert gone["id"] == added["id"] and gone["chunks_removed"] == added["chunks"]
    assert not (pipeline.uploads / "faq.txt").exists()
    assert pipeline.snapshot().sources() == []


def test_discard_removes_the_staging_folder(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    staging = pipeline.staging_dir()
    (staging / "x.txt").write_text("x", encoding="utf-8")
    pipeline.discard(staging)
    assert not staging.exists() and not staging.parent.exists()


def test_close_closes_the_components(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    before = RecordingFactory.closed
    pipeline.close()
    assert RecordingFactory.closed == before + 1


def test_recovery_settles_every_journaled_name_by_what_the_index_holds(tmp_path: Path) -> None:
    """What a killed server can leave: each case rebuilt by hand, then one recovery pass."""
    import os

    from api.state import write_journal

    pipeline = _pipeline(tmp_path)
    uploads = pipeline.uploads
    name, temp = _staged(tmp_path, pipeline, "kept.txt", FAQ)
    pipeline.ingest_uploads([(name, temp)])
    _, temp = _staged(tmp_path, pipeline, "gone.txt", "将被删除的文件。")
    pipeline.ingest_uploads([("gone.txt", temp)])
    pipeline.discard(temp.parent)
    for live in list(pipeline._live_staging):
        pipeline.discard(live)
    indexed_kept = (uploads / "kept.txt").read_bytes()

    # 1. an upload replacing kept.txt and adding new.txt, killed after the moves, before the commit
    crashed = pipeline._staging_root / "crashed-upload"
    crashed.mkdir(parents=True)
    write_journal(crashed, {"put": ["kept.txt", "new.txt"]}, {})
    os.replace(uploads / "kept.txt", crashed / ".previous-kept.txt")
    (uploads / "kept.txt").write_text("未提交的新内容。", encoding="utf-8")
    (uploads / "new.txt").write_text("从未提交的文件。", encoding="utf-8")
    # 2. a delete of gone.txt killed after setting the file aside, before the commit
    deleting = pipeline._staging_root / "crashed-delete"
    deleting.mkdir()
    write_journal(deleting, {"delete": ["gone.txt"]}, {})
    os.replace(uploads / "gone.txt", deleting / ".previous-gone.txt")
    # 3. a request killed before its journal: only staged bytes; 4. a live request of this process
    (pipeline._staging_root / "no-journal").mkdir()
    (pipeline._staging_root / "no-journal" / "x.txt").write_text("x", encoding="utf-8")
    live = pipeline.staging_dir()

    done = pipeline.recover()
    assert (uploads / "kept.txt").read_bytes() == indexed_kept, done
    assert not (uploads / "new.txt").exists()
    assert (uploads / "gone.txt").read_text(encoding="utf-8") == "将被删除的文件。"
    assert sorted(p.name for p in pipeline._staging_root.iterdir()) == [live.name], "only the live request's folder stays"
    held = {Path(s.path).name for s in pipeline.snapshot().sources()}
    assert held == {p.name for p in uploads.iterdir()} == {"kept.txt", "gone.txt"}


def test_a_delete_that_committed_before_the_kill_drops_the_set_aside_copy(tmp_path: Path) -> None:
    from api.state import write_journal

    pipeline = _pipeline(tmp_path)
    name, temp = _staged(tmp_path, pipeline, "gone.txt", FAQ)
    result = pipeline.ingest_uploads([(name, temp)])
    pipeline.discard(temp.parent)
    deleting = pipeline._staging_root / "crashed-delete"
    deleting.mkdir(parents=True)
    write_journal(deleting, {"delete": ["gone.txt"]}, {})
    (pipeline.uploads / "gone.txt").rename(deleting / ".previous-gone.txt")
    pipeline._ingestor().remove([str((pipeline.uploads / "gone.txt").resolve())])  # the removal committed
    pipeline.recover()
    assert result.documents and not (pipeline.uploads / "gone.txt").exists()
    assert not pipeline._staging_root.exists()


def test_recovery_settles_a_killed_upload_into_a_collections_folder(tmp_path: Path) -> None:
    """The journal names each file's full path, so a collection's folder under .collections/ is
    settled like the upload folder: the indexed file put back, an uncommitted new one removed."""
    import os

    from api.state import write_journal

    pipeline = _pipeline(tmp_path)
    name, temp = _staged(tmp_path, pipeline, "leave.txt", FAQ)
    pipeline.ingest_uploads([(name, temp)], collection="hr")
    for live in list(pipeline._live_staging):
        pipeline.discard(live)
    folder = pipeline.upload_folder("hr")
    assert folder == pipeline.uploads / ".collections" / "hr"
    indexed = (folder / "leave.txt").read_bytes()
    crashed = pipeline._staging_root / "crashed-upload"
    crashed.mkdir(parents=True)
    write_journal(crashed, {"put": ["leave.txt", "new.txt"]}, {n: str((folder / n).resolve()) for n in ("leave.txt", "new.txt")})
    os.replace(folder / "leave.txt", crashed / ".previous-leave.txt")
    (folder / "leave.txt").write_text("未提交的新内容。", encoding="utf-8")
    (folder / "new.txt").write_text("从未提交的文件。", encoding="utf-8")
    pipeline.recover()
    assert (folder / "leave.txt").read_bytes() == indexed and not (folder / "new.txt").exists()
    assert not (pipeline.uploads / "new.txt").exists() and not pipeline._staging_root.exists()
    assert [(s.collection, Path(s.path).name) for s in pipeline.snapshot().sources()] == [("hr", "leave.txt")]
