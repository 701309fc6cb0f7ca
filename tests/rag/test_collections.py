"""Collections and scoped views: a source belongs to one collection; a view scoped to some
collections searches, counts and scores as an index holding only their sources would."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from rag.access import ApiKey, Scope
from rag.errors import ConfigError
from rag.index import MergePolicy
from rag.index.merge import optimize
from rag.index.scoped import ScopedView
from rag.index.snapshot import IndexSnapshot
from rag.settings import load_settings
from rag.store import IndexStore
from tests.conftest import HashEmbedder
from tests.rag.test_segments import CHUNKER

HR = {"leave.txt": "年假规定：员工每年有十五天年假。请假需要提前申请。", "pay.txt": "工资每月十日发放。加班费按小时计算。"}
ENG = {"leave.txt": "年假规定：工程师每年有二十天年假。年假年假年假。", "deploy.txt": "部署需要两人审核。回滚在十分钟内完成。"}


def ingest(store: IndexStore, embedder: HashEmbedder, root: Path, files: dict[str, str], collection: str) -> None:
    folder = root / collection
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    Ingestor(store, embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20, collection=collection).ingest([folder])  # type: ignore[arg-type]


def open_snapshot(store: IndexStore) -> IndexSnapshot:
    view = store.open()
    assert isinstance(view, IndexSnapshot)
    return view


@pytest.fixture
def both(tmp_path: Path, hash_embedder: HashEmbedder) -> IndexStore:
    store = IndexStore(tmp_path / "both", merge_policy=MergePolicy(factor=1000))
    ingest(store, hash_embedder, tmp_path / "files", HR, "hr")
    ingest(store, hash_embedder, tmp_path / "files", ENG, "eng")
    return store


def test_sources_carry_their_collection_and_a_scope_sees_only_its_own(both: IndexStore, hash_embedder: HashEmbedder) -> None:
    snapshot = open_snapshot(both)
    assert snapshot.collection_counts() == {"eng": 2, "hr": 2}
    view = ScopedView(snapshot, ["hr"])
    assert {s.collection for s in view.sources()} == {"hr"} and view.n_sources == 2
    assert view.n_chunks == sum(s.n_chunks for s in view.sources()) < snapshot.n_chunks
    hr_ids = set(view.vector_ids_of_sources([s.path for s in snapshot.sources()]).tolist())
    assert {c.path for c in view.chunks(sorted(hr_ids))} == {s.path for s in view.sources()}
    assert not view.chunks([c.vector_id for c in snapshot.chunks() if "/eng/" in c.path])  # other collections' chunks are not there
    other = next(s for s in snapshot.sources() if s.collection == "eng")
    with pytest.raises(KeyError):
        view.source_text(other.source_id)
    query = hash_embedder.embed_queries(["年假规定"])[0]
    for found in (view.dense_scores(query, 10), view.keyword_scores("年假", 10)):
        assert found and {c.path for c in view.chunks([i for i, _ in found])} <= {s.path for s in view.sources()}


def test_scoped_statistics_are_those_of_an_index_of_the_scope_alone(tmp_path: Path, both: IndexStore, hash_embedder: HashEmbedder) -> None:
    alone = IndexStore(tmp_path / "alone")
    ingest(alone, hash_embedder, tmp_path / "files", HR, "hr")
    view, only = ScopedView(open_snapshot(both), ["hr"]), open_snapshot(alone)
    for term in ("年假", "工资", "工程师"):
        assert view.document_frequency(term) == only.document_frequency(term)
    assert view.document_frequency("工程师") == 0 < open_snapshot(both).document_frequency("工程师")

    def by_text(store_view: ScopedView | IndexSnapshot, scores: list[tuple[int, float]]) -> list[tuple[str, float]]:
        texts = {c.vector_id: c.text for c in store_view.chunks([i for i, _ in scores])}
        return sorted((texts[i], round(s, 6)) for i, s in scores)

    for query in ("年假规定", "工资 加班费", "年假 十五天"):
        # BM25 over the scope's document frequencies, chunk count and lengths: ENG's "年假年假年假" changes nothing
        assert by_text(view, view.keyword_scores(query, 10)) == by_text(only, only.keyword_scores(query, 10))


def test_a_source_moved_to_another_collection_is_replaced(tmp_path: Path, both: IndexStore, hash_embedder: HashEmbedder) -> None:
    ingest(both, hash_embedder, tmp_path / "files", {"deploy.txt": ENG["deploy.txt"]}, "hr")  # same text, another folder: another source
    (tmp_path / "files" / "eng" / "deploy.txt").write_text(ENG["deploy.txt"], encoding="utf-8")
    report = Ingestor(both, hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20, collection="ops").ingest([tmp_path / "files" / "eng" / "deploy.txt"])  # type: ignore[arg-type]
    assert report.files_updated == 1 and report.chunks_embedded == 0  # moved, its vectors reused
    snapshot = open_snapshot(both)
    assert {s.path.rsplit("/", 2)[-2] + "/" + s.path.rsplit("/", 1)[-1]: s.collection for s in snapshot.sources()}["eng/deploy.txt"] == "ops"
    with both.writer(hash_embedder.info, CHUNKER.config) as writer:
        optimize(writer)  # a merge keeps each source's collection
    assert open_snapshot(both).collection_counts() == {"eng": 1, "hr": 3, "ops": 1}


def test_bad_collection_names_are_refused(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    for bad in ("", "has space", "../up", "-dash", "x" * 65):
        with pytest.raises(ValueError, match="cannot name a collection"):
            Ingestor(IndexStore(tmp_path / "idx"), hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1, collection=bad)  # type: ignore[arg-type]


def test_api_keys_flat_json_and_tables(tmp_path: Path) -> None:
    flat = load_settings(environ={"RAG_API_KEYS": "k1, k2"})
    assert [k.key.get_secret_value() for k in flat.api_keys] == ["k1", "k2"] and all(k.scope == Scope() for k in flat.api_keys)
    scoped = load_settings(environ={"RAG_API_KEYS": '{"hr-key": {"read": ["hr"], "write": []}, "all": {"read": ["*"]}}'})
    hr, every = scoped.api_keys
    assert hr.scope == Scope(frozenset({"hr"}), frozenset()) and not hr.scope.can_write("hr") and hr.scope.can_read("hr") and not hr.scope.can_read("eng")
    assert every.scope.read is None and every.scope.write == frozenset() and not every.scope.everything  # naming only read: writes nothing
    config = tmp_path / "rag.toml"
    config.write_text('[api_keys."k-hr"]\nread = ["hr", "shared"]\nwrite = ["hr"]\n', encoding="utf-8")
    (key,) = load_settings(config_file=config, environ={}).api_keys
    assert key == ApiKey(key="k-hr", read=("hr", "shared"), write=("hr",)) and key.scope.readable(["shared", "eng"]) == frozenset({"shared"})
    assert "k-hr" not in repr(load_settings(config_file=config, environ={}))  # never printed
    for bad, message in (('{"k": {"read": ["h r"]}}', "cannot name a collection"), ('{"k": ["hr"]}', "a table"), ("{not json", "not valid JSON"),
                         ('{"k": {"reads": ["hr"]}}', "reads")):
        with pytest.raises(ConfigError, match=message):
            load_settings(environ={"RAG_API_KEYS": bad})


def test_a_source_filter_inside_a_scope_narrows_results_not_statistics(tmp_path: Path, both: IndexStore, hash_embedder: HashEmbedder) -> None:
    snapshot = open_snapshot(both)
    view = ScopedView(snapshot, ["hr"])
    hr_leave = next(s.path for s in view.sources() if s.path.endswith("leave.txt"))
    eng_leave = next(s.path for s in snapshot.sources() if s.collection == "eng" and s.path.endswith("leave.txt"))
    found = view.keyword_scores("年假", 10, view.vector_ids_of_sources([hr_leave, eng_leave]))
    assert found and {c.path for c in view.chunks([i for i, _ in found])} == {hr_leave}  # the other collection's source: not there
    alone = IndexStore(tmp_path / "alone")
    ingest(alone, hash_embedder, tmp_path / "files", HR, "hr")
    only = open_snapshot(alone)
    expected = only.keyword_scores("年假", 10, only.vector_ids_of_sources([s.path for s in only.sources() if s.path.endswith("leave.txt")]))
    assert sorted(round(x, 6) for _, x in found) == sorted(round(x, 6) for _, x in expected)  # scored with the scope's statistics
    assert not ScopedView(snapshot, ["no-such"]).keyword_scores("年假", 10) and ScopedView(snapshot, ["no-such"]).n_chunks == 0


def test_ingesting_again_without_a_collection_keeps_each_sources_own(tmp_path: Path, both: IndexStore, hash_embedder: HashEmbedder) -> None:
    (tmp_path / "files" / "hr" / "new.txt").write_text("新的规定。", encoding="utf-8")
    report = Ingestor(both, hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20).ingest([tmp_path / "files" / "hr"])  # type: ignore[arg-type]
    assert report.files_unchanged == 2 and report.files_added == 1
    assert open_snapshot(both).collection_counts() == {"default": 1, "eng": 2, "hr": 2}


def test_scoped_keys_without_write_write_nothing_and_bad_tables_are_refused() -> None:
    (reader, writer) = load_settings(environ={"RAG_API_KEYS": '{"r": {"read": ["hr"]}, "w": {"write": ["hr"]}}'}).api_keys
    assert reader.scope == Scope(frozenset({"hr"}), frozenset()) and writer.scope == Scope(frozenset({"hr"}), frozenset({"hr"}))
    (listed,) = load_settings(environ={"RAG_API_KEYS": '[{"key": "k", "read": ["hr"]}]'}).api_keys  # a JSON list of tables: the same rules
    assert listed.scope == reader.scope
    for bad in ('{"k": {"read": null}}', '{"k": {"read": 5}}', '{"": {}}', '{"k": {"key": "other"}}', "k1,k1", '{"k": {"read": ["HR"]}}'):
        with pytest.raises(ConfigError):
            load_settings(environ={"RAG_API_KEYS": bad})


def test_rag_settings_shows_how_many_keys_and_never_the_keys() -> None:
    from click.testing import CliRunner

    from rag.cli import cli

    result = CliRunner().invoke(cli, ["settings"], env={"RAG_API_KEYS": '{"secret-one": {"read": ["hr"]}, "secret-two": {}}'})
    assert result.exit_code == 0, result.output
    assert "api_keys = (2 set, 1 of them scoped to collections, not shown)" in result.output and "secret" not in result.output


def test_export_and_import_keep_each_sources_collection(tmp_path: Path, both: IndexStore, hash_embedder: HashEmbedder) -> None:
    from ingest.transfer import export_index, import_rows

    out = tmp_path / "rows.parquet"
    export_index(both, out)
    moved = IndexStore(tmp_path / "moved")
    import_rows(moved, [out], chunker=CHUNKER.config, collection="ignored-when-rows-say")
    assert open_snapshot(moved).collection_counts() == open_snapshot(both).collection_counts() == {"eng": 2, "hr": 2}


def test_a_rag_table_with_key_tables_beside_it_is_refused_not_dropped(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text('[rag]\ntop_k = 3\n\n[api_keys."k-hr"]\nread = ["hr"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[rag.api_keys\]"):
        load_settings(config_file=config, environ={})
    config.write_text('[rag]\ntop_k = 3\n\n[rag.api_keys."k-hr"]\nread = ["hr"]\n', encoding="utf-8")
    (key,) = load_settings(config_file=config, environ={}).api_keys
    assert key.scope == Scope(frozenset({"hr"}), frozenset())


def recorded(store: IndexStore) -> dict[str, int] | None:
    counts = open_snapshot(store).manifest.counts
    assert counts is not None
    return None if counts.collections is None else dict(counts.collections)


def test_the_manifest_records_sources_per_collection_through_moves_removals_and_merges(tmp_path: Path, both: IndexStore, hash_embedder: HashEmbedder) -> None:
    assert recorded(both) == {"eng": 2, "hr": 2}
    deploy = tmp_path / "files" / "eng" / "deploy.txt"
    Ingestor(both, hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20, collection="ops").ingest([deploy])  # type: ignore[arg-type]
    assert recorded(both) == {"eng": 1, "hr": 2, "ops": 1}
    Ingestor(both, hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20).remove([str(tmp_path / "files" / "hr" / "pay.txt")])  # type: ignore[arg-type]
    Ingestor(both, hash_embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20).remove([str(deploy)])  # type: ignore[arg-type]
    assert recorded(both) == {"eng": 1, "hr": 1}  # an emptied collection is not listed
    with both.writer(hash_embedder.info, CHUNKER.config) as writer:
        optimize(writer)
    snapshot = open_snapshot(both)
    assert recorded(both) == snapshot.collection_counts() == {"eng": 1, "hr": 1} and snapshot.verify() == []


def test_an_index_from_before_collections_reads_as_default_and_records_them_at_its_next_commit(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    import json
    import sqlite3

    store = IndexStore(tmp_path / "old", merge_policy=MergePolicy(factor=1000))
    ingest(store, hash_embedder, tmp_path / "files", HR, "default")
    # As the release before collections wrote it: no collection column in the segment's sources
    # table, none in the manifest's counts.
    manifest = open_snapshot(store).manifest
    with sqlite3.connect(store.segments_dir / manifest.segments[0].name / "rows.sqlite") as db:
        db.execute("ALTER TABLE sources DROP COLUMN collection")
    path = store.manifests_dir / f"{manifest.version}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["counts"]["collections"]
    path.write_text(json.dumps(data), encoding="utf-8")
    snapshot = open_snapshot(store)
    assert recorded(store) is None and snapshot.collection_counts() == {"default": 2}
    assert {s.collection for s in snapshot.sources()} == {"default"}
    assert [p for p in snapshot.verify(checksums=False) if "collection" in p] == []
    ingest(store, hash_embedder, tmp_path / "files", ENG, "eng")  # the next commit counts the old sources as default
    assert recorded(store) == open_snapshot(store).collection_counts() == {"default": 2, "eng": 2}
    assert {s.collection for s in ScopedView(open_snapshot(store), ["default"]).sources()} == {"default"}
