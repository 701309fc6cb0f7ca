"""The ``rag`` command: the one composition root, a thin layer that parses, builds, calls and prints.

One module per command family: :mod:`rag.cli.index` (ingest, remove, info, verify, search),
:mod:`rag.cli.transfer` (import, export, optimize),
:mod:`rag.cli.answer` (ask, chat, demo), :mod:`rag.cli.serve` (serve), :mod:`rag.cli.evaluate`
(eval), check.py (check); :mod:`rag.cli.factory` builds every object from settings. Only this package imports
``ingest``, ``eval`` and ``api``, inside its commands, so ``rag --help`` stays instant and the
core stays free of them. Errors of this project (``RAGError``) become one line on stderr and a
non-zero exit status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rag.cli.answer import ask, chat, demo
from rag.cli.check import check
from rag.cli.common import Context, fail
from rag.cli.evaluate import eval_group
from rag.cli.index import info, ingest, remove, search, verify
from rag.cli.serve import serve
from rag.cli.transfer import export, import_, optimize
from rag.errors import RAGError
from rag.sample import sample_corpus_path

__all__ = ["cli", "main", "sample_corpus_path"]  # sample_corpus_path: re-exported from rag.sample for older imports


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
    ctx.obj = Context(config, {"embedder": embedder, "embedder_model": embedder_model})


@cli.command("settings")
@click.pass_obj
def show_settings(obj: Context) -> None:
    """Print the effective settings as TOML-style lines (usable as a --config file)."""
    from pydantic import SecretStr

    from rag.access import ApiKey
    from rag.settings import Settings

    settings = obj.settings()
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, list) and any(isinstance(v, ApiKey) for v in value):
            scoped = sum(1 for v in value if not v.scope.everything)
            click.echo(f"# {name} = ({len(value)} set, {scoped} of them scoped to collections, not shown)    # {field.description or ''}".rstrip())
            continue
        if isinstance(value, SecretStr) or (isinstance(value, list) and any(isinstance(v, SecretStr) for v in value)):
            shown = f"{len(value)} set" if isinstance(value, list) else "set"
            click.echo(f"# {name} = ({shown}, not shown)    # {field.description or ''}".rstrip())
            continue
        if value is None:
            click.echo(f"# {name} = (unset)    # {field.description or ''}".rstrip())
            continue
        rendered = json.dumps(str(value) if isinstance(value, Path) else value, ensure_ascii=False)
        click.echo(f"{name} = {rendered}    # {field.description or ''}".rstrip())


for command in (ingest, import_, export, remove, optimize, info, verify, search, ask, chat, demo, serve, eval_group, check):
    cli.add_command(command)


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
        fail(str(exc))
    except KeyboardInterrupt:
        click.echo("rag: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
