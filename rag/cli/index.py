"""Index commands: ``rag ingest``, ``remove``, ``info``, ``verify`` and ``search``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from rag.cli.common import (
    Context,
    collection_name,
    collection_option,
    fail,
    finish_merges,
    index_option,
    json_option,
    print_json,
    print_report,
    printable,
    run_ingest,
    wait_option,
)
from rag.domain import collection_counts

__all__ = ["info", "ingest", "remove", "search", "verify"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@index_option
@click.option("--collection", default=None, callback=lambda _c, _p, v: None if v is None else collection_name(v),
              help="The collection the files go into (API keys may be scoped to collections); a file indexed before in another one moves. "
              "Without it, indexed files stay in theirs and new ones go into 'default'.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default=None,
              help="Where files are parsed and embedded: local (this process; the default) or ray (a Ray cluster, writing here; "
              "needs pip install 'ray[data]'; docs/scale.md). Setting ingest_engine.")
@click.option("--ray-address", default=None, help="The Ray cluster for --engine ray ('auto', 'host:6379', 'ray://host:10001'); default: start a local one on this machine's CPUs. Setting ray_address.")
@click.option("--sync", is_flag=True, help="Also remove indexed sources under PATHS whose files no longer exist.")
@click.option("--follow-links", is_flag=True, help="Follow symbolic links that lead out of PATHS (by default they are skipped and reported).")
@click.option("--chunk-size", type=int, default=None, help="Target chunk size in units (a CJK character, or a word plus one per 7 letters); default 320.")
@click.option("--chunk-overlap", type=int, default=None, help="Overlap between chunks of a section, in units; default 48.")
@click.option("--max-file-mb", type=float, default=None, help="Refuse files larger than this, unread; default 25.")
@click.option("--json-text-field", default=None, help="Field holding the text in .json/.jsonl records; default 'text'.")
@wait_option
@json_option
@click.pass_obj
def ingest(
    obj: Context,
    paths: tuple[Path, ...],
    index_dir: Path | None,
    collection: str | None,
    engine: str | None,
    ray_address: str | None,
    sync: bool,
    follow_links: bool,
    chunk_size: int | None,
    chunk_overlap: int | None,
    max_file_mb: float | None,
    json_text_field: str | None,
    wait_s: float | None,
    as_json: bool,
) -> None:
    """Ingest files and folders (recursively) into an index.

    Reads .txt .md .html .pdf .docx .json .jsonl in UTF-8, GBK/GB18030 or Big5.
    Unchanged files (same content hash) are skipped, changed ones replace their
    chunks. Files that cannot be read are reported one per line and the rest goes on:
    FIFOs, sockets and devices are never opened, symbolic link loops are skipped, and
    PDF/DOCX files are parsed in a subprocess with a memory and time budget (settings
    parse_memory_mb, parse_timeout_s; zip packages are checked for bombs first).
    Exits 1 when no file at all could be ingested.
    """
    factory = obj.factory(
        index_dir=index_dir,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        max_file_mb=max_file_mb,
        json_text_field=json_text_field,
        writer_wait_s=wait_s,
        ingest_engine=engine,
        ray_address=ray_address,
    )
    settings = factory.settings
    report = run_ingest(factory, list(paths), sync, as_json, follow_links=follow_links, collection=collection)
    if as_json:
        print_json({"index": str(settings.index_dir), **report.to_dict()})
    else:
        print_report(report, settings.index_dir)
    ingested = report.files_added + report.files_updated + report.files_unchanged + report.files_removed
    if report.skipped and ingested == 0:
        sys.exit(1)
    if report.interrupted:
        sys.exit(130)


@click.command()
@click.argument("sources", nargs=-1, required=True)
@index_option
@wait_option
@json_option
@click.pass_obj
def remove(obj: Context, sources: tuple[str, ...], index_dir: Path | None, wait_s: float | None, as_json: bool) -> None:
    """Remove sources (by path, folder or source id) and all their chunks from the index."""
    factory = obj.factory(index_dir=index_dir, writer_wait_s=wait_s)
    settings = factory.settings
    if not factory.store().exists():
        from rag.errors import IndexNotFoundError

        raise IndexNotFoundError(f"no index at {settings.index_dir}")
    ingestor = factory.ingestor()
    report = ingestor.remove(list(sources))
    finish_merges(ingestor.store, quiet=as_json)
    if as_json:
        print_json({"index": str(settings.index_dir), **report.to_dict()})
    else:
        print_report(report, settings.index_dir, verb="Removed from")
    if report.skipped and report.files_removed == 0:
        sys.exit(1)


@click.command()
@index_option
@click.option("--sources", "list_sources", is_flag=True, help="Also list every source with its chunk count.")
@json_option
@click.pass_obj
def info(obj: Context, index_dir: Path | None, list_sources: bool, as_json: bool) -> None:
    """Show what an index holds: version and format, embedder, chunker, sources and chunks, its
    segments and their disk use by part."""
    factory = obj.factory(index_dir=index_dir)
    settings = factory.settings
    snapshot = factory.snapshot(check_embedder=False)
    with snapshot:
        manifest = snapshot.manifest.to_dict()
        sources = snapshot.sources()
        data = {
            "index": str(settings.index_dir),
            "version": snapshot.version,
            "format_version": manifest["format_version"],
            "embedder": manifest["embedder"],
            "chunker": manifest["chunker"],
            "keyword": manifest.get("keyword"),
            "sources": len(sources),
            "chunks": snapshot.n_chunks,
            "collections": collection_counts(sources),
            "committed_at": manifest["committed_at"],
        }
        if manifest["format_version"] >= 2:
            from rag.index.segment import disk_usage

            disk: dict[str, int] = {}
            for record in snapshot.manifest.segments:
                for part, size in disk_usage(factory.store().segments_dir / record.name).items():
                    disk[part] = disk.get(part, 0) + size
            data["segments"] = [{"name": r.name, "chunks": r.rows, "sources": r.sources, "graph": dict(r.ann) if r.ann else None} for r in snapshot.manifest.segments]
            data["deleted_ranges"] = len(snapshot.manifest.deleted)
            data["disk_bytes"] = disk
        if list_sources:
            data["source_list"] = [{"source_id": s.source_id, "path": s.path, "kind": s.kind, "chunks": s.n_chunks, "characters": s.size, "collection": s.collection} for s in sources]
    if as_json:
        print_json(data)
        return
    e = data["embedder"]
    click.echo(f"index     {data['index']} (version {data['version']}, format {data['format_version']}, committed {data['committed_at']})")
    click.echo(f"embedder  {e['backend']}:{e['model']} (dim {e['dim']})")
    click.echo(f"chunker   {data['chunker']}")
    click.echo(f"contents  {data['sources']} source(s), {data['chunks']} chunk(s)")
    click.echo("collections " + ", ".join(f"{name} ({n} source(s))" for name, n in data["collections"].items()) if data["collections"] else "collections none")
    if "segments" in data:
        stored = sum(s["chunks"] for s in data["segments"])
        click.echo(f"segments  {len(data['segments'])} ({stored} chunk rows stored, {stored - data['chunks']} of them deleted until merged)")
        graphs = [s for s in data["segments"] if s["graph"]]
        flat = len(data["segments"]) - len(graphs)
        searched = f"{len(graphs)} with an HNSW graph ({sum(s['chunks'] for s in graphs)} rows)" + (f", {flat} scanned exactly" if flat else "") if graphs else "all scanned exactly (no segment has a graph)"
        click.echo(f"dense     {searched}")
        click.echo("disk      " + ", ".join(f"{part} {size / 1e6:.2f} MB" for part, size in data["disk_bytes"].items()))
    else:
        click.echo("segments  none: format 1, migrated to segments at the next write")
    if list_sources:
        for s in data["source_list"]:
            click.echo(f"  {s['source_id']}  {s['chunks']:>5} chunks  {s['kind']:<8} [{s['collection']}] {printable(s['path'])}")


@click.command()
@index_option
@json_option
@click.pass_obj
def verify(obj: Context, index_dir: Path | None, as_json: bool) -> None:
    """Check that the committed index version is whole: every segment's checksums, its vectors, chunk rows, keyword postings and source text agree, and the manifest's counts match."""
    factory = obj.factory(index_dir=index_dir)
    settings = factory.settings
    snapshot = factory.snapshot(check_embedder=False)
    with snapshot:
        problems = snapshot.verify()
        summary = {"index": str(settings.index_dir), "version": snapshot.version, "chunks": snapshot.n_chunks, "problems": problems}
    if as_json:
        print_json(summary)
    elif problems:
        for p in problems:
            click.echo(f"problem: {p}")
    else:
        click.echo(f"ok: {settings.index_dir} version {summary['version']}, {summary['chunks']} chunks, all parts agree")
    if problems:
        sys.exit(1)


@click.command()
@click.argument("query")
@index_option
@click.option("-k", "top_k", type=click.IntRange(1, 100), default=5, show_default=True, help="Hits per retriever.")
@collection_option
@json_option
@click.pass_obj
def search(obj: Context, query: str, index_dir: Path | None, top_k: int, collections: tuple[str, ...], as_json: bool) -> None:
    """Show the raw dense and keyword hits for QUERY (no answer: see the chunks retrieval sees)."""
    if not query.strip():
        fail("the query is empty")
    factory = obj.factory(index_dir=index_dir)
    snapshot, embedder = factory.snapshot(collections=collections or None), factory.embedder()
    with snapshot:
        from rag.index.format import hits_of

        dense = hits_of(snapshot, snapshot.dense_scores(embedder.embed_queries([query])[0], top_k))
        keyword = hits_of(snapshot, snapshot.keyword_scores(query, top_k))

    def rows(hits: list[Any]) -> list[dict[str, Any]]:
        return [{"rank": h.rank, "score": round(h.score, 4), "source": h.chunk.path, "start": h.chunk.start, "end": h.chunk.end, "page": h.chunk.page, "text": h.chunk.text} for h in hits]

    if as_json:
        print_json({"query": query, "dense": rows(dense), "keyword": rows(keyword)})
        return
    for title, hits in (("dense", dense), ("keyword (BM25)", keyword)):
        click.echo(f"{title}:")
        if not hits:
            click.echo("  (no hits)")
        for h in hits:
            snippet = h.chunk.text.replace("\n", " ")
            click.echo(f"  {h.rank}. {h.score:.3f}  {printable(Path(h.chunk.path).name)}:{h.chunk.start}-{h.chunk.end}  {printable(snippet[:70])}")

