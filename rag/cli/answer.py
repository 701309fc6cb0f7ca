"""Question commands: ``rag ask``, ``rag chat`` and ``rag demo``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rag.cli.common import (
    Context,
    collection_option,
    generation_options,
    index_option,
    json_option,
    print_answer,
    print_explanation,
    print_json,
    print_report,
    print_streamed,
    run_ingest,
)
from rag.sample import sample_corpus_path

if TYPE_CHECKING:
    from rag.cli.factory import Factory
    from rag.service import QAService

__all__ = ["ask", "chat", "demo", "read_questions"]


def read_questions(path: Path) -> list[str | None]:
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


@click.command()
@click.argument("question", required=False)
@index_option
@click.option("--questions", "questions_file", type=click.Path(path_type=Path, dir_okay=False), help="Answer every question in FILE (one per line, or JSONL with 'question'); prints one JSON object per line.")
@click.option("-k", "--top-k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default: setting top_k, 5).")
@click.option("--source", "sources", multiple=True, help="Only search these sources (path or source id); repeatable.")
@collection_option
@click.option("--passages", "show_passages", is_flag=True, help="With --json: include the retrieved passages.")
@generation_options
@click.option("--stream", is_flag=True, help="Print each sentence as soon as it is written and checked (text output).")
@click.option("--explain", is_flag=True, help="Also say why each sentence was chosen, or why the answer was refused (--json: an \"explanation\" list).")
@json_option
@click.pass_obj
def ask(
    obj: Context,
    /,
    question: str | None,
    index_dir: Path | None,
    questions_file: Path | None,
    top_k: int | None,
    sources: tuple[str, ...],
    collections: tuple[str, ...],
    show_passages: bool,
    stream: bool,
    explain: bool,
    as_json: bool,
    **generation: Any,
) -> None:
    """Answer QUESTION from the indexed documents, citing the sentences it comes from.

    When the documents do not answer it, says so (in the question's language) and cites
    nothing. The default answerer needs no language model: it picks the sentences of the
    retrieved passages that answer the question. With --generator openai or gguf a language
    model writes the answer, and every sentence is checked against the passages it cites
    before it is shown (--json adds per-sentence "supported" and "support").
    """
    if (question is None) == (questions_file is None):
        raise click.UsageError("give either a QUESTION or --questions FILE")
    factory = obj.factory(index_dir=index_dir, top_k=top_k, **generation)  # generation: the options of generation_options
    with factory:
        _ask(factory, question, questions_file, list(sources) or None, show_passages, stream, as_json, explain, collections=list(collections) or None)


def _ask(
    factory: Factory, question: str | None, questions_file: Path | None, only: list[str] | None, show_passages: bool, stream: bool, as_json: bool,
    explain: bool = False, collections: list[str] | None = None,
) -> None:
    from rag.errors import QuestionError
    from rag.service import answer_to_dict

    if questions_file is not None:
        questions = read_questions(questions_file)
        service = factory.service(collections)
        for item in questions:
            if item is None:
                click.echo(json.dumps({"error": "not a question: a line that is neither text nor JSON with a 'question' field"}, ensure_ascii=False))
                continue
            try:
                click.echo(json.dumps(answer_to_dict(service.ask(item, sources=only), passages=show_passages, explain=explain), ensure_ascii=False))
            except QuestionError as exc:
                click.echo(json.dumps({"question": item[:200], "error": str(exc)}, ensure_ascii=False))
        return
    assert question is not None
    service = factory.service(collections)
    if stream and not as_json:
        streamed = print_streamed(service, question, sources=only)
        if explain and streamed is not None:
            print_explanation(streamed)
        return
    answer = service.ask(question, sources=only)
    if as_json:
        print_json(answer_to_dict(answer, passages=show_passages, explain=explain))
    else:
        print_answer(answer, explain=explain)


@click.command()
@index_option
@click.option("-k", "--top-k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default: setting top_k, 5).")
@generation_options
@click.pass_obj
def chat(
    obj: Context,
    /,
    index_dir: Path | None,
    top_k: int | None,
    **generation: Any,
) -> None:
    """Ask question after question; follow-ups ("那大额的呢?", "how long does it take?") are
    rewritten into standalone questions using the conversation (by the model when one is
    configured, else by carrying the previous question's key terms) and the rewrite is shown.

    One question per line on standard input; an empty line is skipped, /reset forgets the
    conversation, /quit or end of input (Ctrl-D) ends it.
    """
    factory = obj.factory(index_dir=index_dir, top_k=top_k, **generation)  # generation: the options of generation_options
    with factory:
        _converse(factory.service())


def _converse(service: QAService) -> None:
    from rag.errors import QuestionError

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
            answer = print_streamed(service, question, history=history)
        except QuestionError as exc:
            click.echo(f"rag: {exc}", err=True)
            continue
        if answer is not None:
            history += [("user", question), ("assistant", answer.text)]


@click.command()
@index_option
@click.option("--question", default="比特币交易客服能提供哪些服务?", show_default=True, help="What to ask after ingesting.")
@click.pass_obj
def demo(obj: Context, index_dir: Path | None, question: str) -> None:
    """Ingest the bundled sample corpus (a Chinese FAQ) and answer a question from it, with citations."""
    factory = obj.factory(index_dir=index_dir)
    corpus = sample_corpus_path()
    click.echo(f"Sample corpus: {corpus}")
    with factory:
        report = run_ingest(factory, [corpus], sync=False, as_json=False)
        print_report(report, factory.settings.index_dir)
        click.echo(f"\nQuestion: {question}\n")
        print_answer(factory.service().ask(question))
