"""The ``rag`` command: a thin layer that parses, calls the library and prints.

This module (with rag/cli_eval.py, which holds the evaluation commands) is the one composition
root: it imports ``ingest``, ``eval`` and ``api`` inside its commands, so ``rag --help`` stays instant and the core stays free of them.
Errors of this package become one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rag.errors import RAGError

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from rag.settings import Settings

__all__ = ["main", "cli", "sample_corpus_path"]

SAMPLE_CORPUS = "bitcoin-exchange-support-faq.zh.txt"


def sample_corpus_path() -> Path:
    """The bundled sample corpus (a Chinese FAQ on crypto-exchange customer support)."""
    return Path(str(resources.files("rag") / "data" / SAMPLE_CORPUS))


class _Context:
    def __init__(self, config: Path | None, overrides: dict[str, Any]) -> None:
        self.config = config
        self.overrides = overrides

    def settings(self, **more: Any) -> Settings:
        from rag.settings import load_settings

        return load_settings(self.config, **{**self.overrides, **more})


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"rag: error: {message}", err=True)
    sys.exit(code)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


index_option = click.option(
    "--index",
    "index_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Index directory (default: setting index_dir, ./rag-index).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout, no progress bar.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar="RAG_CONFIG",
    help="TOML settings file (keys as in 'rag settings'; env: RAG_CONFIG).",
)
@click.option("--embedder", type=click.Choice(["e5", "sentence-transformers"]), default=None, help="Embedding backend (default e5: multilingual-e5-small, bundled).")
@click.option("--embedder-model", default=None, help="sentence-transformers model name or local directory.")
@click.version_option(package_name="rag-cite", prog_name="rag")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, embedder: str | None, embedder_model: str | None) -> None:
    """Question answering over your documents, with citations you can check.

    Settings come from options, then RAG_* environment variables, then --config FILE,
    then defaults ('rag settings' shows them all).

    \b
    Start here:
      rag demo                           ingest the bundled sample corpus and answer a question
      rag ingest docs/ --index my-index  ingest files and folders (incremental)
      rag ask "问题?" --index my-index    answer from the documents, with citations
      rag info --index my-index          what an index holds
      rag serve --index my-index         HTTP API, OpenAI-compatible endpoint and a web page
    """
    ctx.obj = _Context(config, {"embedder": embedder, "embedder_model": embedder_model})


def _store_and_embedder(settings: Settings) -> tuple[Any, Any]:
    from rag.embedders import embedder_from_settings
    from rag.store import IndexStore

    return IndexStore(settings.index_dir, keep_versions=settings.keep_versions), embedder_from_settings(settings)


def _ingestor(settings: Settings) -> Any:
    from ingest.pipeline import ingestor_from_settings

    return ingestor_from_settings(settings)


def _print_report(report: IngestReport, index_dir: Path, verb: str = "Ingested") -> None:
    version = report.version or "none"
    click.echo(f"{verb} into {index_dir} (version {version}) in {report.seconds:.1f} s")
    click.echo(
        f"  files:  {report.files_seen} seen, {report.files_added} added, {report.files_updated} updated, "
        f"{report.files_unchanged} unchanged, {report.files_removed} removed"
    )
    click.echo(
        f"  chunks: {report.chunks_added} added, {report.chunks_removed} removed, "
        f"{report.chunks_unchanged} unchanged ({report.chunks_embedded} embedded)"
    )
    if report.skipped:
        click.echo(f"  skipped {len(report.skipped)} file(s):")
        for item in report.skipped:
            click.echo(f"    {item.path}: {item.reason}")
    if report.interrupted:
        click.echo("  interrupted: finished files were committed; run the same command again to continue")


def _run_ingest(settings: Settings, paths: list[Path], sync: bool, as_json: bool) -> IngestReport:
    from tqdm import tqdm

    ingestor = _ingestor(settings)
    quiet = True if as_json else None  # None: tqdm draws only on a terminal
    files_bar = tqdm(total=0, unit="file", desc="files", disable=quiet, file=sys.stderr, dynamic_ncols=True, position=0)
    chunks_bar = tqdm(unit="chunk", desc="embedded", disable=quiet, file=sys.stderr, dynamic_ncols=True, position=1)

    def progress(done: int, total: int, report: IngestReport) -> None:
        if files_bar.total != total:
            files_bar.total = total
        files_bar.set_postfix(skipped=len(report.skipped), refresh=False)
        files_bar.update(done - files_bar.n)

    try:
        return ingestor.ingest(paths, sync=sync, progress=progress, embedded=chunks_bar.update)
    finally:
        files_bar.close()
        chunks_bar.close()


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@index_option
@click.option("--sync", is_flag=True, help="Also remove indexed sources under PATHS whose files no longer exist.")
@click.option("--chunk-size", type=int, default=None, help="Target chunk size in units (a CJK character, or a word plus one per 7 letters); default 320.")
@click.option("--chunk-overlap", type=int, default=None, help="Overlap between chunks of a section, in units; default 48.")
@click.option("--max-file-mb", type=float, default=None, help="Refuse files larger than this, unread; default 25.")
@click.option("--json-text-field", default=None, help="Field holding the text in .json/.jsonl records; default 'text'.")
@json_option
@click.pass_obj
def ingest(
    obj: _Context,
    paths: tuple[Path, ...],
    index_dir: Path | None,
    sync: bool,
    chunk_size: int | None,
    chunk_overlap: int | None,
    max_file_mb: float | None,
    json_text_field: str | None,
    as_json: bool,
) -> None:
    """Ingest files and folders (recursively) into an index.

    Reads .txt .md .html .pdf .docx .json .jsonl in UTF-8, GBK/GB18030 or Big5.
    Unchanged files (same content hash) are skipped, changed ones replace their
    chunks. Files that cannot be read are reported one per line and the rest goes on.
    Exits 1 when no file at all could be ingested.
    """
    settings = obj.settings(
        index_dir=index_dir,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        max_file_mb=max_file_mb,
        json_text_field=json_text_field,
    )
    report = _run_ingest(settings, list(paths), sync, as_json)
    if as_json:
        _print_json({"index": str(settings.index_dir), **report.to_dict()})
    else:
        _print_report(report, settings.index_dir)
    ingested = report.files_added + report.files_updated + report.files_unchanged + report.files_removed
    if report.skipped and ingested == 0:
        sys.exit(1)
    if report.interrupted:
        sys.exit(130)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@index_option
@json_option
@click.pass_obj
def remove(obj: _Context, sources: tuple[str, ...], index_dir: Path | None, as_json: bool) -> None:
    """Remove sources (by path, folder or source id) and all their chunks from the index."""
    settings = obj.settings(index_dir=index_dir)
    store = _store_and_embedder(settings)[0]
    if not store.exists():
        from rag.errors import IndexNotFoundError

        raise IndexNotFoundError(f"no index at {settings.index_dir}")
    report = _ingestor(settings).remove(list(sources))
    if as_json:
        _print_json({"index": str(settings.index_dir), **report.to_dict()})
    else:
        _print_report(report, settings.index_dir, verb="Removed from")
    if report.skipped and report.files_removed == 0:
        sys.exit(1)


def _open(settings: Settings, check_embedder: bool = False) -> Any:
    store, embedder = _store_and_embedder(settings)
    return store.open(embedder.info if check_embedder else None), embedder


@cli.command()
@index_option
@click.option("--sources", "list_sources", is_flag=True, help="Also list every source with its chunk count.")
@json_option
@click.pass_obj
def info(obj: _Context, index_dir: Path | None, list_sources: bool, as_json: bool) -> None:
    """Show what an index holds: version, embedder, chunker, sources and chunks."""
    settings = obj.settings(index_dir=index_dir)
    snapshot, _ = _open(settings)
    with snapshot:
        manifest = snapshot.manifest
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
            "committed_at": manifest.get("committed_at"),
        }
        if list_sources:
            data["source_list"] = [
                {"source_id": s.source_id, "path": s.path, "kind": s.kind, "chunks": s.n_chunks, "characters": s.size}
                for s in sources
            ]
    if as_json:
        _print_json(data)
        return
    e = data["embedder"]
    click.echo(f"index     {data['index']} (version {data['version']}, format {data['format_version']}, committed {data['committed_at']})")
    click.echo(f"embedder  {e['backend']}:{e['model']} (dim {e['dim']})")
    click.echo(f"chunker   {data['chunker']}")
    click.echo(f"contents  {data['sources']} source(s), {data['chunks']} chunk(s)")
    if list_sources:
        for s in data["source_list"]:
            click.echo(f"  {s['source_id']}  {s['chunks']:>5} chunks  {s['kind']:<8} {s['path']}")


@cli.command()
@index_option
@json_option
@click.pass_obj
def verify(obj: _Context, index_dir: Path | None, as_json: bool) -> None:
    """Check that the committed index version is whole: checksums, FAISS, chunk table and keyword index agree."""
    settings = obj.settings(index_dir=index_dir)
    snapshot, _ = _open(settings)
    with snapshot:
        problems = snapshot.verify()
        summary = {"index": str(settings.index_dir), "version": snapshot.version, "chunks": snapshot.n_chunks, "problems": problems}
    if as_json:
        _print_json(summary)
    elif problems:
        for p in problems:
            click.echo(f"problem: {p}")
    else:
        click.echo(f"ok: {settings.index_dir} version {summary['version']}, {summary['chunks']} chunks, all parts agree")
    if problems:
        sys.exit(1)


@cli.command()
@click.argument("query")
@index_option
@click.option("-k", "top_k", type=click.IntRange(1, 100), default=5, show_default=True, help="Hits per retriever.")
@json_option
@click.pass_obj
def search(obj: _Context, query: str, index_dir: Path | None, top_k: int, as_json: bool) -> None:
    """Show the raw dense and keyword hits for QUERY (no answer: see the chunks retrieval sees)."""
    if not query.strip():
        _fail("the query is empty")
    settings = obj.settings(index_dir=index_dir)
    snapshot, embedder = _open(settings, check_embedder=True)
    with snapshot:
        dense = snapshot.dense_search(embedder.embed_queries([query])[0], top_k)
        keyword = snapshot.keyword_search(query, top_k)
    def rows(hits: list[Any]) -> list[dict[str, Any]]:
        return [
            {"rank": h.rank, "score": round(h.score, 4), "source": h.chunk.path, "start": h.chunk.start, "end": h.chunk.end, "page": h.chunk.page, "text": h.chunk.text}
            for h in hits
        ]
    if as_json:
        _print_json({"query": query, "dense": rows(dense), "keyword": rows(keyword)})
        return
    for title, hits in (("dense", dense), ("keyword (BM25)", keyword)):
        click.echo(f"{title}:")
        if not hits:
            click.echo("  (no hits)")
        for h in hits:
            snippet = h.chunk.text.replace("\n", " ")
            click.echo(f"  {h.rank}. {h.score:.3f}  {Path(h.chunk.path).name}:{h.chunk.start}-{h.chunk.end}  {snippet[:70]}")


def _judge(settings: Settings, kind: str, *, similarity: bool = False) -> Any:
    """The faithfulness judge: offline (lexical; with the embedder's similarity if asked) or the
    configured language model (generator openai or gguf)."""
    from rag.faithfulness import LexicalJudge

    if kind == "offline":
        from rag.embedders import embedder_from_settings

        return LexicalJudge(embedder_from_settings(settings) if similarity else None)
    if settings.generator == "extractive":
        raise click.UsageError("--judge llm needs a language model: --generator openai (with --llm-base-url, --llm-model) or gguf (with --gguf)")
    from rag.compose import llm_generator
    from rag.langchain_adapters import ChatModelJudge

    generator = llm_generator(settings)
    judge = ChatModelJudge(generator.chat_model, backend=generator.backend)
    judge.generator = generator  # type: ignore[attr-defined]  # keeps a local model's server alive
    return judge


def _service(settings: Settings) -> Any:
    from rag.compose import llm_generator, qa_service

    snapshot, embedder = _open(settings, check_embedder=True)
    return qa_service(snapshot, embedder, settings, llm_generator(settings))


def _print_answer(answer: Any, *, text_shown: bool = False) -> None:
    if not text_shown:
        click.echo(answer.text)
    for note in answer.notes:
        click.echo(f"  note: {note}", err=True)
    if answer.abstained:
        click.echo(f"  ({answer.reason})")
        return
    flagged = [n for n, s in enumerate(answer.sentences, start=1) if not s.supported]
    if flagged:
        click.echo(f"\nNot supported by the sources (check before trusting): sentence(s) {', '.join(map(str, flagged))}")
        for n in flagged:
            click.echo(f"  {n}. {answer.sentences[n - 1].text}  ({answer.sentences[n - 1].reason})")
    click.echo("\nSources:")
    for c in answer.citations:
        quote = c.text.replace("\n", " ")
        quote = quote if len(quote) <= 80 else quote[:79] + "…"
        page = f", page {c.page}" if c.page else ""
        click.echo(f"  [{c.marker}] {c.source}:{c.start}-{c.end}{page}")
        click.echo(f"      “{quote}”")


def _read_questions(path: Path) -> list[str | None]:
    """One question per line, or JSONL with a "question" (or "user_input") field; None for an unreadable line."""
    questions: list[str | None] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc
    for line in lines:
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                questions.append(None)
                continue
            value = row.get("question", row.get("user_input")) if isinstance(row, dict) else None
            questions.append(value if isinstance(value, str) else None)
        else:
            questions.append(line)
    return questions


def _generation_options(command: Any) -> Any:
    """--generator, --llm-base-url, --llm-model, --gguf, --unsupported, --fallback (ask, chat)."""
    options = [
        click.option("--generator", type=click.Choice(["extractive", "openai", "gguf"]), default=None,
                     help="Who writes the answer (default: setting generator, extractive). openai: llm_base_url + llm_model; gguf: gguf_path."),
        click.option("--llm-base-url", default=None, help="OpenAI-compatible server, e.g. http://localhost:11434/v1."),
        click.option("--llm-model", default=None, help="Model name on that server."),
        click.option("--gguf", "gguf_path", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Local GGUF model file (generator gguf)."),
        click.option("--unsupported", type=click.Choice(["flag", "drop"]), default=None,
                     help="Generated sentences the sources do not support: flag them (default) or drop them."),
        click.option("--fallback", type=click.Choice(["none", "extractive"]), default=None,
                     help="When the model fails: a clear error (none, default) or an extractive answer."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _print_streamed(service: Any, question: str, **kwargs: Any) -> Any:
    """Stream one answer: checked sentences as they come, then sources and notes. Returns the answer."""
    shown = False
    answer = None
    for event in service.stream(question, **kwargs):
        if event.kind == "sentence":
            click.echo(event.text, nl=False)
            shown = True
        elif event.kind == "final" and event.answer is not None:
            answer = event.answer
            if shown:
                click.echo()
            if answer.standalone:
                click.echo(f"  (searched for: {answer.standalone})")
            _print_answer(answer, text_shown=shown and not answer.abstained)
    return answer


@cli.command()
@click.argument("question", required=False)
@index_option
@click.option("--questions", "questions_file", type=click.Path(path_type=Path, dir_okay=False), help="Answer every question in FILE (one per line, or JSONL with 'question'); prints one JSON object per line.")
@click.option("-k", "--top-k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default: setting top_k, 5).")
@click.option("--source", "sources", multiple=True, help="Only search these sources (path or source id); repeatable.")
@click.option("--passages", "show_passages", is_flag=True, help="With --json: include the retrieved passages.")
@_generation_options
@click.option("--stream", is_flag=True, help="Print each sentence as soon as it is written and checked (text output).")
@json_option
@click.pass_obj
def ask(
    obj: _Context,
    question: str | None,
    index_dir: Path | None,
    questions_file: Path | None,
    top_k: int | None,
    sources: tuple[str, ...],
    show_passages: bool,
    generator: str | None,
    llm_base_url: str | None,
    llm_model: str | None,
    gguf_path: Path | None,
    unsupported: str | None,
    fallback: str | None,
    stream: bool,
    as_json: bool,
) -> None:
    """Answer QUESTION from the indexed documents, citing the sentences it comes from.

    When the documents do not answer it, says so (in the question's language) and cites
    nothing. The default answerer needs no language model: it picks the sentences of the
    retrieved passages that answer the question. With --generator openai or gguf a language
    model writes the answer, and every sentence is checked against the passages it cites
    before it is shown (--json adds per-sentence "supported" and "support").
    """
    from rag.service import QuestionError, answer_to_dict

    if (question is None) == (questions_file is None):
        raise click.UsageError("give either a QUESTION or --questions FILE")
    settings = obj.settings(
        index_dir=index_dir, top_k=top_k, generator=generator, llm_base_url=llm_base_url, llm_model=llm_model,
        gguf_path=gguf_path, unsupported=unsupported, fallback=fallback,
    )
    only = list(sources) or None
    if questions_file is not None:
        questions = _read_questions(questions_file)
        service = _service(settings)
        for item in questions:
            if item is None:
                click.echo(json.dumps({"error": "not a question: a line that is neither text nor JSON with a 'question' field"}, ensure_ascii=False))
                continue
            try:
                click.echo(json.dumps(answer_to_dict(service.ask(item, sources=only), passages=show_passages), ensure_ascii=False))
            except QuestionError as exc:
                click.echo(json.dumps({"question": item[:200], "error": str(exc)}, ensure_ascii=False))
        return
    assert question is not None
    service = _service(settings)
    if stream and not as_json:
        _print_streamed(service, question, sources=only)
        return
    answer = service.ask(question, sources=only)
    if as_json:
        _print_json(answer_to_dict(answer, passages=show_passages))
    else:
        _print_answer(answer)


@cli.command()
@index_option
@click.option("-k", "--top-k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default: setting top_k, 5).")
@_generation_options
@click.pass_obj
def chat(
    obj: _Context,
    index_dir: Path | None,
    top_k: int | None,
    generator: str | None,
    llm_base_url: str | None,
    llm_model: str | None,
    gguf_path: Path | None,
    unsupported: str | None,
    fallback: str | None,
) -> None:
    """Ask question after question; follow-ups ("那大额的呢?", "how long does it take?") are
    rewritten into standalone questions using the conversation (by the model when one is
    configured, else by carrying the previous question's key terms) and the rewrite is shown.

    One question per line on standard input; an empty line is skipped, /reset forgets the
    conversation, /quit or end of input (Ctrl-D) ends it.
    """
    from rag.service import QuestionError

    settings = obj.settings(
        index_dir=index_dir, top_k=top_k, generator=generator, llm_base_url=llm_base_url, llm_model=llm_model,
        gguf_path=gguf_path, unsupported=unsupported, fallback=fallback,
    )
    service = _service(settings)
    interactive = sys.stdin.isatty()
    history: list[tuple[str, str]] = []
    if interactive:
        click.echo("Ask a question (/reset forgets the conversation, /quit or Ctrl-D ends).")
    while True:
        if interactive:
            click.echo("\n> ", nl=False)
        line = sys.stdin.readline()
        if not line:
            break
        question = line.strip()
        if not question:
            continue
        if question in ("/quit", "/exit"):
            break
        if question == "/reset":
            history.clear()
            continue
        if not interactive:
            click.echo(f"> {question}")
        try:
            answer = _print_streamed(service, question, history=history)
        except QuestionError as exc:
            click.echo(f"rag: {exc}", err=True)
            continue
        if answer is not None:
            history += [("user", question), ("assistant", answer.text)]


@cli.command()
@index_option
@click.option("--question", default="比特币交易客服能提供哪些服务?", show_default=True, help="What to ask after ingesting.")
@click.pass_obj
def demo(obj: _Context, index_dir: Path | None, question: str) -> None:
    """Ingest the bundled sample corpus (a Chinese FAQ) and answer a question from it, with citations."""
    settings = obj.settings(index_dir=index_dir)
    corpus = sample_corpus_path()
    click.echo(f"Sample corpus: {corpus}")
    report = _run_ingest(settings, [corpus], sync=False, as_json=False)
    _print_report(report, settings.index_dir)
    click.echo(f"\nQuestion: {question}\n")
    _print_answer(_service(settings).ask(question))


@cli.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface; set api_keys first).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@_generation_options
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info", show_default=True, help="Server log level.")
@click.pass_obj
def serve(obj: _Context, index_dir: Path | None, host: str, port: int, log_level: str, **generation: Any) -> None:
    """Serve the HTTP API, an OpenAI-compatible endpoint and a web page.

    \b
    http://HOST:PORT/                      a chat page: ask, see citations, upload documents
    POST /v1/query                         an answer with citations (as 'rag ask --json')
    POST /v1/chat/completions, /v1/models  OpenAI's protocol, for Open WebUI, LibreChat, ...
    /v1/documents                          upload (multipart), list, text, delete
    /health, /ready, /docs                 liveness, readiness, the OpenAPI docs

    Same index and settings as the other commands. Models load once, at startup; a new index
    version (an upload here, or 'rag ingest' elsewhere) is picked up by the next request. With
    the setting api_keys (env RAG_API_KEYS=key1,key2) every endpoint but the page
    (/, /static/*), the docs (/docs, /openapi.json), /health and /ready
    needs 'Authorization: Bearer KEY'.
    """
    import socket

    import uvicorn

    from api.app import create_app
    from api.state import Pipeline
    from rag.compose import llm_generator

    settings = obj.settings(index_dir=index_dir, **generation)  # generation: the options of _generation_options
    try:  # a port in use is one clear line, before the models load
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = str(exc.strerror or exc).split(" (while attempting")[0]
        raise RAGError(f"cannot listen on {host}:{port}: {reason} (choose another --host or --port)") from exc
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.api_keys:
        click.echo(f"rag: warning: listening on {host} without API keys: anyone who can reach it can read and change the index (set api_keys)", err=True)
    # Load everything before listening, so that a bad index or model is one clear line, not a traceback.
    click.echo(f"rag: loading models and the index {settings.index_dir} ...", err=True)
    pipeline = Pipeline(settings, llm=llm_generator(settings))
    try:
        pipeline.load()
    except BaseException:
        if getattr(pipeline.llm, "server", None) is not None:
            pipeline.llm.server.close()
        raise
    if not pipeline.store.exists():
        click.echo(f"rag: no index yet at {settings.index_dir}: upload documents (page or POST /v1/documents) to create it", err=True)
    click.echo(f"rag: serving {settings.index_dir} on http://{host}:{port}/ (API docs at /docs); Ctrl-C stops", err=True)
    uvicorn.run(create_app(settings, pipeline=pipeline), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


@cli.command("settings")
@click.pass_obj
def show_settings(obj: _Context) -> None:
    """Print the effective settings as TOML-style lines (usable as a --config file)."""
    from pydantic import SecretStr

    from rag.settings import Settings

    settings = obj.settings()
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr) or (isinstance(value, list) and any(isinstance(v, SecretStr) for v in value)):
            shown = f"{len(value)} set" if isinstance(value, list) else "set"
            click.echo(f"# {name} = ({shown}, not shown)    # {field.description or ''}".rstrip())
            continue
        if value is None:
            click.echo(f"# {name} = (unset)    # {field.description or ''}".rstrip())
            continue
        rendered = json.dumps(str(value) if isinstance(value, Path) else value, ensure_ascii=False)
        click.echo(f"{name} = {rendered}    # {field.description or ''}".rstrip())


def _register_eval_commands() -> None:
    from rag.cli_eval import check, eval_group

    cli.add_command(eval_group)
    cli.add_command(check)


_register_eval_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rag`` console script."""
    import logging

    # Parsers log what they repair or give up on; we report each file's outcome ourselves.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        cli.main(args=argv, prog_name="rag", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("rag: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RAGError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo("rag: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
