"""What the command modules share: the settings context, common options, ingest with progress
bars, and how reports and answers are printed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from rag.cli.factory import Factory
    from rag.domain import Answer
    from rag.service import QAService
    from rag.settings import Settings
    from rag.store import IndexStore

__all__ = [
    "collection_name",
    "collection_option",
    "Context",
    "fail",
    "generation_options",
    "index_option",
    "json_option",
    "print_answer",
    "print_json",
    "print_report",
    "print_streamed",
    "printable",
    "run_ingest",
]

F = TypeVar("F", bound=Callable[..., Any])


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters and invisible format characters
    (bidirectional overrides such as U+202E, zero-width marks) shown as escapes (``\\u202e``), so a
    file name cannot rewrite the line it is printed on."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}") for ch in text)


class Context:
    """The group's options (config file, embedder), from which each command reads its settings."""

    def __init__(self, config: Path | None, overrides: dict[str, Any]) -> None:
        self.config = config
        self.overrides = overrides

    def settings(self, **more: Any) -> Settings:
        from rag.settings import load_settings

        return load_settings(self.config, **{**self.overrides, **more})

    def factory(self, **more: Any) -> Factory:
        """A :class:`~rag.cli.factory.Factory` over the settings with ``more`` applied."""
        from rag.cli.factory import Factory

        return Factory(self.settings(**more))


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"rag: error: {message}", err=True)
    sys.exit(code)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


index_option = click.option(
    "--index",
    "index_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Index directory (default: setting index_dir, ./rag-index).",
)
wait_option = click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(0, 86400),
    metavar="SECONDS",
    default=None,
    help="If another process is writing to the index, wait up to SECONDS for it to finish, saying so (default: setting writer_wait_s, 60; 0: fail at once).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout, no progress bar.")


def generation_options(command: F) -> F:
    """--generator, --llm-base-url, --llm-model, --gguf, --unsupported, --fallback (ask, chat, serve)."""
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


def print_report(report: IngestReport, index_dir: Path, verb: str = "Ingested") -> None:
    version = report.version or "none"
    click.echo(f"{verb} into {index_dir} (version {version}) in {report.seconds:.1f} s")
    click.echo(
        f"  files:  {report.files_seen} seen, {report.files_added} added, {report.files_updated} updated, "
        f"{report.files_unchanged} unchanged, {report.files_removed} removed"
    )
    click.echo(
        f"  chunks: {report.chunks_added} added, {report.chunks_removed} removed, "
        f"{report.chunks_unchanged} unchanged ({report.chunks_embedded} embedded"
        + (f", and {report.sentences_embedded} of their sentences" if report.sentences_embedded else "")
        + (f", {report.words_embedded} words new to the index)" if report.words_embedded else ")")
    )
    if report.skipped:
        click.echo(f"  skipped {len(report.skipped)} file(s):")
        for item in report.skipped:
            click.echo(f"    {printable(item.path)}: {printable(item.reason)}")
    if report.interrupted:
        click.echo("  interrupted: finished files were committed; run the same command again to continue")


def run_ingest(factory: Factory, paths: list[Path], sync: bool, as_json: bool, *, follow_links: bool = False, collection: str | None = None) -> IngestReport:
    """Ingest ``paths`` into ``collection`` with two progress bars on a terminal (files, embedded chunks)."""
    from tqdm import tqdm

    ingestor = factory.ingestor()
    ingestor.collection = collection
    quiet = True if as_json else None  # None: tqdm draws only on a terminal
    files_bar = tqdm(total=0, unit="file", desc="files", disable=quiet, file=sys.stderr, dynamic_ncols=True, position=0)
    chunks_bar = tqdm(unit="chunk", desc="embedded", disable=quiet, file=sys.stderr, dynamic_ncols=True, position=1)

    def progress(done: int, total: int, report: IngestReport) -> None:
        if files_bar.total != total:
            files_bar.total = total
        files_bar.set_postfix(skipped=len(report.skipped), refresh=False)
        files_bar.update(done - files_bar.n)

    def embedded(n: int) -> None:
        chunks_bar.update(n)

    try:
        if factory.settings.ingest_engine == "ray":
            report = factory.ray_ingest(ingestor, paths, sync=sync, follow_links=follow_links, progress=progress, embedded=embedded)
        else:
            report = ingestor.ingest(paths, sync=sync, follow_links=follow_links, progress=progress, embedded=embedded)
    finally:
        files_bar.close()
        chunks_bar.close()
    finish_merges(ingestor.store, quiet=as_json)
    return report


def finish_merges(store: IndexStore, quiet: bool = False) -> None:
    """Wait for the background merge a command's commits started (its files are committed and
    searchable already; the merge only folds segments, and the next command would redo it)."""

    def told(segments: int, rows: int) -> None:
        if not quiet:
            click.echo(f"rag: merging {segments} segments ({rows:,} chunks) in the background; the new files are committed and searchable (Ctrl-C is safe)", err=True)

    store.merger.wait(on_wait=told)


def print_answer(answer: Answer, *, text_shown: bool = False, explain: bool = False) -> None:
    if not text_shown:
        click.echo(answer.text)
    for note in answer.notes:
        click.echo(f"  note: {note}", err=True)
    if explain:
        print_explanation(answer)
    if answer.abstained:
        if not (explain and answer.explanation):  # the explanation's first line is the reason
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
        click.echo(f"  [{c.marker}] {printable(c.source)}:{c.start}-{c.end}{page}")
        click.echo(f"      “{quote}”")


def print_explanation(answer: Answer) -> None:
    """``--explain``: why each sentence was chosen, or why the answer was refused."""
    if answer.explanation:
        click.echo("\nWhy:")
        for line in answer.explanation:
            click.echo(f"  {line}")


def print_streamed(service: QAService, question: str, **kwargs: Any) -> Answer | None:
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
            print_answer(answer, text_shown=shown and not answer.abstained)
    return answer


def collection_name(value: str) -> str:
    """A --collection value, checked (click's error when it cannot name a collection)."""
    from rag.domain import check_collection

    try:
        return check_collection(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _collections(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(collection_name(v) for v in values)


collection_option = click.option(
    "--collection", "collections", multiple=True, callback=_collections,
    help="Only search these collections (repeatable); by default every one.",
)
